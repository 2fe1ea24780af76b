#include "cgroup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- mountinfo ---------------------------------------------------------------------- */

/* The next line of text as a malloc'd string (NULL at the end or when memory runs out,
 * *oom telling which); *text moves past it. mountinfo lines of overlay mounts with many
 * layers run to kilobytes, so there is no fixed line length. */
static char *next_line(const char **text, bool *oom)
{
	*oom = false;
	if (**text == '\0')
		return NULL;
	size_t n = strcspn(*text, "\n");
	char *line = strndup(*text, n);
	*oom = !line;
	*text += n + ((*text)[n] == '\n');
	return line;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)). */
static void unescape_octal(char *s)
{
	char *out = s;
	for (const char *in = s; *in; out++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			*out = *in++;
		}
	}
	*out = '\0';
}

static bool copy_field(char *dst, size_t len, const char *src)
{
	if (strlen(src) >= len)
		return false;
	strcpy(dst, src);
	return true;
}

/* Super options that are not controllers. Anything "key=value" is dropped too, except
 * name=, which names a controller-less hierarchy like name=systemd. */
static bool is_controller_option(const char *opt)
{
	static const char *const not_controllers[] = {
	        "rw",
	        "ro",
	        "xattr",
	        "nsdelegate",
	        "noprefix",
	        "clone_children",
	        "cpuset_v2_mode",
	        "favordynmods",
	        "none",
	        "all",
	        "memory_localevents",
	        "memory_recursiveprot",
	        "memory_hugetlb_accounting",
	        "pids_localevents",
	};
	if (strncmp(opt, "name=", 5) == 0)
		return opt[5] != '\0';
	if (*opt == '\0' || strchr(opt, '='))
		return false;
	for (size_t i = 0; i < sizeof(not_controllers) / sizeof(not_controllers[0]); i++)
		if (strcmp(opt, not_controllers[i]) == 0)
			return false;
	return true;
}

static void controllers_of_options(const char *options, char *out, size_t len)
{
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", options);
	out[0] = '\0';
	char *save = NULL;
	for (char *opt = strtok_r(copy, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
		if (!is_controller_option(opt))
			continue;
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s", used ? "," : "", opt);
	}
}

/* Splits a line on spaces into at most max fields; returns the field count. */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *f = strtok_r(line, " ", &save); f && n < max; f = strtok_r(NULL, " ", &save))
		fields[n++] = f;
	return n;
}

static bool has_hierarchy(const struct cg_mounts *mounts, const struct cg_mount *m)
{
	for (size_t i = 0; i < mounts->count; i++)
		if (mounts->mount[i].version == m->version &&
		    strcmp(mounts->mount[i].controllers, m->controllers) == 0)
			return true;
	return false;
}

/* Parses one mountinfo line; m->version is left 0 for a mount that is not a cgroup. */
static int parse_mount_line(char *line, size_t lineno, struct cg_mount *m, struct cg_err *err)
{
	char *f[64];
	size_t n = split_fields(line, f, 64);
	size_t sep = 6; /* optional fields end with "-" */
	while (sep < n && strcmp(f[sep], "-") != 0)
		sep++;
	if (sep + 3 >= n)
		return cg_errf(
		        err,
		        "malformed mountinfo line %zu: expected \"id parent major:minor root "
		        "mountpoint options [optional fields] - fstype source super-options\"",
		        lineno);
	memset(m, 0, sizeof(*m));
	const char *fstype = f[sep + 1];
	if (strcmp(fstype, "cgroup") == 0)
		m->version = 1;
	else if (strcmp(fstype, "cgroup2") == 0)
		m->version = 2;
	else
		return 0;
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	if (!copy_field(m->root, sizeof(m->root), f[3]) ||
	    !copy_field(m->mountpoint, sizeof(m->mountpoint), f[4]))
		return cg_errf(err, "malformed mountinfo line %zu: path longer than %d bytes",
		               lineno, PATH_MAX - 1);
	if (m->version == 1 && sep + 3 < n)
		controllers_of_options(f[sep + 3], m->controllers, sizeof(m->controllers));
	return 0;
}

int cgroup_parse_mountinfo(const char *text, struct cg_mounts *out, struct cg_err *err)
{
	out->count = 0;
	size_t lineno = 0;
	bool oom;
	for (char *line; (line = next_line(&text, &oom)); free(line)) {
		lineno++;
		struct cg_mount m;
		if (line[0] == '\0')
			continue;
		if (parse_mount_line(line, lineno, &m, err) < 0) {
			free(line);
			return -1;
		}
		if (m.version == 0 || has_hierarchy(out, &m))
			continue;
		if (out->count == CG_MAX_MOUNTS) {
			free(line);
			return cg_errf(err, "too many cgroup mounts in mountinfo (more than %d)",
			               CG_MAX_MOUNTS);
		}
		out->mount[out->count++] = m;
	}
	return oom ? cg_errf(err, "out of memory reading mountinfo") : 0;
}

/* ---- /proc/PID/cgroup ----------------------------------------------------------------- */

static int parse_membership_line(const char *line, size_t lineno, struct cg_membership *m,
                                 struct cg_err *err)
{
	const char *c1 = strchr(line, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *end = NULL;
	long id = c1 && c1 != line ? strtol(line, &end, 10) : -1;
	if (!c2 || end != c1 || id < 0 || c2[1] != '/')
		return cg_errf(err,
		               "malformed cgroup line %zu \"%s\": expected "
		               "\"hierarchy-id:controllers:/path\", like \"4:memory:/docker/<id>\"",
		               lineno, line);
	size_t clen = (size_t)(c2 - c1 - 1);
	if (clen >= sizeof(m->controllers) || strlen(c2 + 1) >= sizeof(m->path))
		return cg_errf(err, "malformed cgroup line %zu: field too long", lineno);
	m->hierarchy = (int)id;
	memcpy(m->controllers, c1 + 1, clen);
	m->controllers[clen] = '\0';
	strcpy(m->path, c2 + 1);
	return 0;
}

int cgroup_parse_proc(const char *text, struct cg_memberships *out, struct cg_err *err)
{
	out->count = 0;
	size_t lineno = 0;
	bool oom;
	for (char *line; (line = next_line(&text, &oom)); free(line)) {
		lineno++;
		if (line[0] == '\0')
			continue;
		if (out->count == CG_MAX_MEMBERSHIPS) {
			free(line);
			return cg_errf(err, "too many lines in the cgroup file (more than %d)",
			               CG_MAX_MEMBERSHIPS);
		}
		if (parse_membership_line(line, lineno, &out->entry[out->count], err) < 0) {
			free(line);
			return -1;
		}
		out->count++;
	}
	if (oom)
		return cg_errf(err, "out of memory reading the cgroup file");
	if (out->count == 0)
		return cg_errf(err, "the cgroup file is empty: expected lines like "
		                    "\"0::/docker/<id>\"");
	return 0;
}

/* ---- mode and directories ------------------------------------------------------------- */

/* True when the comma separated list holds `name` as a whole item ("cpu" is not
 * in "cpuacct,cpuset"). */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		if (!comma)
			break;
		p = comma + 1;
	}
	return false;
}

/* A v1 hierarchy that holds real controllers, not only name=systemd. */
static bool has_v1_controller(const struct cg_mount *m)
{
	char copy[sizeof(m->controllers)];
	snprintf(copy, sizeof(copy), "%s", m->controllers);
	char *save = NULL;
	for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
		if (strncmp(c, "name=", 5) != 0)
			return true;
	return false;
}

int cgroup_mode_of(const struct cg_mounts *mounts, enum cg_mode *mode, struct cg_err *err)
{
	bool v1 = false, v1_controllers = false, v2 = false;
	for (size_t i = 0; i < mounts->count; i++) {
		const struct cg_mount *m = &mounts->mount[i];
		if (m->version == 2) {
			v2 = true;
		} else {
			v1 = true;
			v1_controllers |= has_v1_controller(m);
		}
	}
	if (!v1 && !v2)
		return cg_errf(err, "no cgroup filesystem is mounted: mount cgroup2 on "
		                    "/sys/fs/cgroup (or the v1 hierarchies) and retry");
	if (v1_controllers && v2)
		*mode = CG_MODE_HYBRID;
	else if (v2)
		*mode = CG_MODE_V2; /* a controller-less name=systemd mount does not count */
	else
		*mode = CG_MODE_V1;
	return 0;
}

const char *cgroup_mode_name(enum cg_mode mode)
{
	switch (mode) {
	case CG_MODE_V1:
		return "v1";
	case CG_MODE_V2:
		return "v2";
	case CG_MODE_HYBRID:
		return "hybrid";
	}
	return "unknown";
}

const char *cgroup_controller_of(enum cg_resource res)
{
	return res == CG_RES_MEMORY ? "memory" : "cpu";
}

const char *cgroup_resource_name(enum cg_resource res)
{
	return res == CG_RES_MEMORY ? "memory" : "cpu";
}

static const struct cg_mount *find_mount(const struct cg_mounts *mounts, const char *controller)
{
	for (size_t i = 0; i < mounts->count; i++)
		if (mounts->mount[i].version == 1 &&
		    list_has(mounts->mount[i].controllers, controller))
			return &mounts->mount[i];
	for (size_t i = 0; i < mounts->count; i++)
		if (mounts->mount[i].version == 2)
			return &mounts->mount[i];
	return NULL;
}

static const struct cg_membership *find_membership(const struct cg_memberships *ms, int version,
                                                   const char *controller)
{
	for (size_t i = 0; i < ms->count; i++) {
		const struct cg_membership *m = &ms->entry[i];
		bool v2_line = m->hierarchy == 0 && m->controllers[0] == '\0';
		if (version == 2 ? v2_line : !v2_line && list_has(m->controllers, controller))
			return m;
	}
	return NULL;
}

/* The part of path below root: "" when equal, "/rest" when under it, NULL otherwise. */
static const char *path_below(const char *path, const char *root)
{
	if (strcmp(root, "/") == 0)
		return strcmp(path, "/") == 0 ? "" : path;
	size_t n = strlen(root);
	if (strncmp(path, root, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n;
}

int cgroup_dir_of(const struct cg_mounts *mounts, const struct cg_memberships *memberships,
                  const char *controller, char *dir, size_t dir_len, int *version,
                  struct cg_err *err)
{
	const struct cg_mount *mnt = find_mount(mounts, controller);
	if (!mnt)
		return cg_errf(
		        err,
		        "no cgroup hierarchy has the %s controller: no cgroup v1 mount lists "
		        "it and cgroup2 is not mounted",
		        controller);
	const struct cg_membership *m = find_membership(memberships, mnt->version, controller);
	if (!m)
		return cg_errf(err,
		               "the process has no cgroup %s entry for the %s controller (%s is "
		               "mounted but /proc/PID/cgroup does not list it)",
		               mnt->version == 2 ? "v2 \"0::\"" : "v1", controller,
		               mnt->mountpoint);
	const char *rel = path_below(m->path, mnt->root);
	if (!rel)
		return cg_errf(err,
		               "the %s cgroup \"%s\" is outside \"%s\", the part of the hierarchy "
		               "mounted on %s: run cglat in the host's cgroup namespace",
		               controller, m->path, mnt->root, mnt->mountpoint);
	if ((size_t)snprintf(dir, dir_len, "%s%s", mnt->mountpoint, rel) >= dir_len)
		return cg_errf(err, "the %s cgroup directory path is too long", controller);
	*version = mnt->version;
	return 0;
}

/* ---- limit files and values ------------------------------------------------------------- */

const char *cgroup_limit_file(enum cg_resource res, int version)
{
	if (res == CG_RES_MEMORY)
		return version == 2 ? "memory.max" : "memory.limit_in_bytes";
	return version == 2 ? "cpu.max" : "cpu.cfs_quota_us";
}

const char *cgroup_swap_file(int version)
{
	return version == 2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
}

/* The kernel's CFS bandwidth bounds (kernel/sched/core.c): 1 ms to 1 s periods and
 * at least 1 ms of quota. */
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000
#define CFS_QUOTA_MIN 1000

static int format_cpu(int version, int64_t quota, int64_t period_us, char *buf, size_t len,
                      struct cg_err *err)
{
	if (quota >= 0 && quota < CFS_QUOTA_MIN)
		return cg_errf(err,
		               "CPU quota %" PRId64 " us is below the kernel's minimum of %d us",
		               quota, CFS_QUOTA_MIN);
	if (version == 1)
		return snprintf(buf, len, "%" PRId64, quota < 0 ? -1 : quota);
	if (period_us < CFS_PERIOD_MIN || period_us > CFS_PERIOD_MAX)
		return cg_errf(err,
		               "CPU period %" PRId64 " us is outside the kernel's range of %d "
		               "to %d us",
		               period_us, CFS_PERIOD_MIN, CFS_PERIOD_MAX);
	if (quota < 0)
		return snprintf(buf, len, "max %" PRId64, period_us);
	return snprintf(buf, len, "%" PRId64 " %" PRId64, quota, period_us);
}

int cgroup_format_limit(enum cg_resource res, int version, int64_t value, int64_t period_us,
                        char *buf, size_t len, struct cg_err *err)
{
	if (version != 1 && version != 2)
		return cg_errf(err, "unknown cgroup version %d: expected 1 or 2", version);
	int n;
	if (res == CG_RES_CPU)
		n = format_cpu(version, value, period_us, buf, len, err);
	else if (value < 0)
		n = snprintf(buf, len, "%s", version == 2 ? "max" : "-1");
	else
		n = snprintf(buf, len, "%" PRId64, value);
	if (n < 0)
		return -1;
	if ((size_t)n >= len)
		return cg_errf(err, "limit text buffer too small (%zu bytes)", len);
	return 0;
}

/* v1 stores "unlimited" memory as LONG_MAX rounded down to the page size:
 * 9223372036854771712 with 4 KiB pages, ...710272 with 64 KiB pages. */
#define V1_MEMORY_UNLIMITED_MIN (INT64_MAX - (INT64_C(1) << 20))

/* A decimal int64 filling the whole of text; -1 allowed, other negatives not. */
static bool parse_i64(const char *text, int64_t *out)
{
	const char *d = text[0] == '-' ? text + 1 : text;
	if (!isdigit((unsigned char)d[0]))
		return false;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno == ERANGE || *end != '\0' || v < -1)
		return false;
	*out = v;
	return true;
}

static int parse_memory(int version, const char *text, int64_t *value, struct cg_err *err)
{
	if (version == 2 && strcmp(text, "max") == 0) {
		*value = -1;
		return 0;
	}
	int64_t v;
	if (!parse_i64(text, &v) || (version == 2 && v < 0))
		return cg_errf(err, "invalid %s value \"%s\": expected a number of bytes%s",
		               cgroup_limit_file(CG_RES_MEMORY, version), text,
		               version == 2 ? " or \"max\"" : "");
	*value = v >= V1_MEMORY_UNLIMITED_MIN ? -1 : v;
	return 0;
}

static int parse_cpu(int version, const char *text, int64_t *value, int64_t *period_us,
                     struct cg_err *err)
{
	if (version == 1) {
		if (!parse_i64(text, value))
			return cg_errf(err,
			               "invalid cpu.cfs_quota_us value \"%s\": expected a "
			               "number of microseconds or -1",
			               text);
		return 0;
	}
	char quota[32], period[32], extra;
	int64_t q = -1, p;
	if (sscanf(text, "%31s %31s %c", quota, period, &extra) != 2 ||
	    (strcmp(quota, "max") != 0 && (!parse_i64(quota, &q) || q < 0)) ||
	    !parse_i64(period, &p) || p <= 0)
		return cg_errf(err,
		               "invalid cpu.max value \"%s\": expected \"QUOTA PERIOD\" "
		               "in microseconds, like \"50000 100000\" or \"max 100000\"",
		               text);
	*value = q;
	if (period_us)
		*period_us = p;
	return 0;
}

/* Kernel files end in a newline; values compared as text should not care. */
static void trim_trailing_space(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

int cgroup_parse_limit(enum cg_resource res, int version, const char *text, int64_t *value,
                       int64_t *period_us, struct cg_err *err)
{
	if (version != 1 && version != 2)
		return cg_errf(err, "unknown cgroup version %d: expected 1 or 2", version);
	char copy[128];
	if (strlen(text) >= sizeof(copy))
		return cg_errf(err, "invalid %s value: %zu bytes is too long for a limit",
		               cgroup_limit_file(res, version), strlen(text));
	strcpy(copy, text);
	trim_trailing_space(copy);
	if (res == CG_RES_MEMORY)
		return parse_memory(version, copy, value, err);
	return parse_cpu(version, copy, value, period_us, err);
}

/* ---- container ids ----------------------------------------------------------------------- */

static bool is_id(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

/* The id in one path component: "<id>" after "docker", "docker-<id>.scope",
 * "libpod-<id>.scope" (systemd's drivers), "libpod-<id>" (podman's cgroupfs manager, under
 * libpod_parent), or a bare "<id>" as the last component. */
static const char *id_in_component(const char *c, size_t len, const char *parent, size_t parent_len,
                                   bool last)
{
	static const char *const prefixes[] = {"docker-", "libpod-"};
	static const char scope[] = ".scope";
	if (is_id(c, len) && (last || (parent_len == 6 && strncmp(parent, "docker", 6) == 0)))
		return c;
	if (len == 7 + 64 && strncmp(c, "libpod-", 7) == 0 && is_id(c + 7, 64))
		return c + 7;
	for (size_t i = 0; i < 2; i++) {
		size_t p = strlen(prefixes[i]);
		if (len == p + 64 + strlen(scope) && strncmp(c, prefixes[i], p) == 0 &&
		    strncmp(c + p + 64, scope, strlen(scope)) == 0 && is_id(c + p, 64))
			return c + p;
	}
	return NULL;
}

bool cgroup_container_id_of_path(const char *path, char id[65])
{
	const char *found = NULL, *parent = "";
	size_t parent_len = 0;
	/* The innermost match wins: with nested containers it is the one the path is for. */
	for (const char *c = path; *c;) {
		while (*c == '/')
			c++;
		size_t len = strcspn(c, "/");
		if (len == 0)
			break;
		bool last = c[len] == '\0' || strspn(c + len, "/") == strlen(c + len);
		const char *hit = id_in_component(c, len, parent, parent_len, last);
		if (hit)
			found = hit;
		parent = c;
		parent_len = len;
		c += len;
	}
	if (!found)
		return false;
	memcpy(id, found, 64);
	id[64] = '\0';
	return true;
}

/* ---- live system -------------------------------------------------------------------------- */

/* Reads a whole file of unknown size (proc files report st_size 0). */
char *cgroup_read_all(const char *path, int *saved_errno)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*saved_errno = errno;
		return NULL;
	}
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 == cap) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
			break;
		}
		if (n == 0) {
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	*saved_errno = errno;
	close(fd);
	return buf;
}

static int read_mounts(struct cg_mounts *mounts, struct cg_err *err)
{
	int e = 0;
	char *text = cgroup_read_all("/proc/self/mountinfo", &e);
	if (!text)
		return cg_errf(err, "cannot read /proc/self/mountinfo: %s", strerror(e));
	int rc = cgroup_parse_mountinfo(text, mounts, err);
	free(text);
	return rc < 0 ? cg_err_wrap(err, "/proc/self/mountinfo") : 0;
}

int cgroup_read_file(const char *path, char *buf, size_t len, struct cg_err *err)
{
	if (len < 2)
		return cg_errf(err, "buffer of %zu bytes is too small to read %s", len, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cg_errf(err, "cannot open %s: %s", path, strerror(errno));
	ssize_t n;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (n < 0)
		return cg_errf(err, "cannot read %s: %s", path, strerror(e));
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

int cgroup_load_mounts(const char *path, struct cg_mounts *mounts, struct cg_err *err)
{
	if (!path)
		return read_mounts(mounts, err);
	int e = 0;
	char *text = cgroup_read_all(path, &e);
	if (!text)
		return cg_errf(err, "cannot read %s: %s", path, strerror(e));
	int rc = cgroup_parse_mountinfo(text, mounts, err);
	free(text);
	return rc < 0 ? cg_err_wrap(err, "%s", path) : 0;
}

int cgroup_load_memberships(const char *path, struct cg_memberships *ms, struct cg_err *err)
{
	int e = 0;
	char *text = cgroup_read_all(path, &e);
	if (!text)
		return cg_errf(err, "cannot read %s: %s", path, strerror(e));
	int rc = cgroup_parse_proc(text, ms, err);
	free(text);
	return rc < 0 ? cg_err_wrap(err, "%s", path) : 0;
}
