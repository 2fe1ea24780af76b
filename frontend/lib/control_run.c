/* The cgroups of cglat run: PARENT/cglat/NAME made in each hierarchy it needs, joined by
 * the child before exec, measured after it exits, removed at the end. */
#include "cglat.h"
#include "cgroup.h"
#include "cgroup_usage.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Writes text to an existing file (create: or makes it, for a test's stand-in tree). */
static int write_file(const char *path, const char *text, bool create, struct cg_err *err)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
	              0644);
	if (fd < 0)
		return cg_errf(err, "cannot open %s: %s", path, strerror(errno));
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int e = errno;
	close(fd);
	if (n < 0 || (size_t)n != len)
		return cg_errf(err, "cannot write \"%s\" to %s: %s", text, path,
		               n < 0 ? strerror(e) : "short write");
	return 0;
}

static int join_path(char *out, size_t len, const char *dir, const char *name, struct cg_err *err)
{
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len)
		return cg_errf(err, "path %s/%s is too long", dir, name);
	return 0;
}

int cglat_check_cgroup_name(const char *name, struct cg_err *err)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= 128 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || strchr("_.-", name[i]);
	if (!ok)
		return cg_errf(err,
		               "invalid --name \"%s\": use 1 to 128 letters, digits, '_', '.' or "
		               "'-'",
		               name);
	return 0;
}

/* A new v1 cpuset cgroup has no CPUs and no memory nodes: tasks cannot join it until
 * they are copied from the parent. */
static int copy_cpuset(const char *parent, const char *dir, struct cg_err *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	for (size_t i = 0; i < 2; i++) {
		char from[PATH_MAX], to[PATH_MAX], text[4096] = "";
		if (join_path(from, sizeof(from), parent, files[i], err) < 0 ||
		    join_path(to, sizeof(to), dir, files[i], err) < 0)
			return -1;
		cgroup_read_file(to, text, sizeof(text), NULL);
		if (*text)
			continue;
		if (cgroup_read_file(from, text, sizeof(text), err) < 0 ||
		    write_file(to, *text ? text : "\n", true, err) < 0)
			return -1;
	}
	return 0;
}

/* v2: the controllers of ctl_mask that dir offers, enabled for its children. */
static int enable_v2(const char *dir, unsigned ctl_mask, unsigned need_mask, struct cg_err *err)
{
	char path[PATH_MAX], have[512] = "", want[16];
	if (join_path(path, sizeof(path), dir, "cgroup.controllers", err) < 0)
		return -1;
	cgroup_read_file(path, have, sizeof(have), NULL);
	if (join_path(path, sizeof(path), dir, "cgroup.subtree_control", err) < 0)
		return -1;
	for (int c = 0; c < CGLAT_CTL_COUNT; c++) {
		const char *name = cglat_ctl_name((enum cglat_ctl)c);
		if (!(ctl_mask & (1u << c)) || c == CGLAT_CTL_CPUACCT)
			continue;
		char padded[520];
		snprintf(padded, sizeof(padded), " %s ", have);
		snprintf(want, sizeof(want), " %s ", name);
		if (!strstr(padded, want)) {
			if (need_mask & (1u << c))
				return cg_errf(
				        err,
				        "the %s controller is not available in %s (it offers "
				        "\"%s\"): enable it there, or give a delegated --parent",
				        name, dir, have);
			continue;
		}
		snprintf(want, sizeof(want), "+%s", name);
		if (write_file(path, want, false, err) < 0 && (need_mask & (1u << c)))
			return -1;
	}
	return 0;
}

/* mkdir that reports whether it made the directory. */
static int make_dir(const char *path, bool must_be_new, bool *made, struct cg_err *err)
{
	*made = false;
	if (mkdir(path, 0755) == 0) {
		*made = true;
		return 0;
	}
	if (errno == EEXIST && !must_be_new)
		return 0;
	if (errno == EEXIST)
		return cg_errf(
		        err,
		        "cgroup %s exists already (another cglat run?): pick another --name, "
		        "or remove it with rmdir when it is empty",
		        path);
	return cg_errf(err, "cannot make cgroup %s: %s", path, strerror(errno));
}

/* One hierarchy: PARENT/cglat, then PARENT/cglat/NAME. */
static int create_in(struct cglat_cgroup *cg, int c, const char *parent_dir, const char *name,
                     unsigned ctl_mask, unsigned need_mask, struct cg_err *err)
{
	char mid[PATH_MAX];
	bool v2 = cg->version[c] == 2;
	if (join_path(mid, sizeof(mid), parent_dir, "cglat", err) < 0 ||
	    join_path(cg->dir[c], sizeof(cg->dir[c]), mid, name, err) < 0)
		return -1;
	if (v2 && enable_v2(parent_dir, ctl_mask, need_mask, err) < 0)
		return -1;
	if (make_dir(mid, false, &cg->made_parent[c], err) < 0)
		return -1;
	if (c == CGLAT_CTL_CPUSET && !v2 && copy_cpuset(parent_dir, mid, err) < 0)
		return -1;
	if (v2 && enable_v2(mid, ctl_mask, need_mask, err) < 0)
		return -1;
	if (make_dir(cg->dir[c], true, &cg->made[c], err) < 0)
		return -1;
	if (c == CGLAT_CTL_CPUSET && !v2 && copy_cpuset(mid, cg->dir[c], err) < 0)
		return -1;
	return 0;
}

int cglat_cgroup_create(const char *mountinfo, const char *parent, const char *name,
                        unsigned ctl_mask, unsigned need_mask, struct cglat_cgroup *cg,
                        struct cg_err *err)
{
	memset(cg, 0, sizeof(*cg));
	if (cglat_check_cgroup_name(name, err) < 0)
		return -1;
	struct cglat_target_spec spec = {
	        .kind = CGLAT_TARGET_CGROUP, .ref = parent ? parent : "/", .mountinfo = mountinfo};
	struct cglat_target *p = NULL;
	if (cglat_target_open(&spec, &p, err) < 0)
		return cg_err_wrap(err, "--parent");
	cg->mode = p->mode;
	const char *base = p->label + strlen("cgroup ");
	snprintf(cg->path, sizeof(cg->path), "%s/cglat/%s", strcmp(base, "/") == 0 ? "" : base,
	         name);
	int rc = 0;
	for (int c = 0; c < CGLAT_CTL_COUNT && rc == 0; c++) {
		if (!(ctl_mask & (1u << c)))
			continue;
		if (!p->has[c]) {
			if (need_mask & (1u << c))
				rc = cg_errf(err, "%s", p->why_not[c]);
			continue;
		}
		cg->has[c] = true;
		cg->version[c] = p->version[c];
		/* v2, or v1 controllers mounted together: one directory serves several. */
		int same = -1;
		for (int d = 0; d < c && same < 0; d++)
			if (cg->has[d] && strcmp(p->dir[d], p->dir[c]) == 0)
				same = d;
		if (same >= 0)
			snprintf(cg->dir[c], sizeof(cg->dir[c]), "%s", cg->dir[same]);
		else
			rc = create_in(cg, c, p->dir[c], name, ctl_mask, need_mask, err);
	}
	cglat_target_close(p);
	if (rc < 0)
		cglat_cgroup_remove(cg, 0, NULL);
	return rc;
}

int cglat_cgroup_join(const struct cglat_cgroup *cg, pid_t pid, struct cg_err *err)
{
	char text[32], path[PATH_MAX];
	snprintf(text, sizeof(text), "%d", (int)pid);
	for (int c = 0; c < CGLAT_CTL_COUNT; c++) {
		bool first = cg->has[c];
		for (int d = 0; d < c && first; d++)
			first = !(cg->has[d] && strcmp(cg->dir[d], cg->dir[c]) == 0);
		if (!first)
			continue;
		if (join_path(path, sizeof(path), cg->dir[c], "cgroup.procs", err) < 0 ||
		    write_file(path, text, false, err) < 0)
			return cg_err_wrap(err, "joining the %s cgroup", cglat_ctl_name(c));
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Exiting tasks leave their cgroup a moment after the parent reaps them. */
static int remove_dir(const char *dir, double timeout_s)
{
	for (double waited = 0;; waited += 0.01) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY || waited >= timeout_s)
			return -1;
		sleep_ms(10);
	}
}

int cglat_cgroup_remove(struct cglat_cgroup *cg, double timeout_s, struct cg_err *err)
{
	int rc = 0;
	for (int c = CGLAT_CTL_COUNT; c-- > 0;) {
		if (cg->made[c] && remove_dir(cg->dir[c], timeout_s) < 0 && rc == 0)
			rc = cg_errf(
			        err, "cannot remove cgroup %s: %s%s", cg->dir[c], strerror(errno),
			        errno == EBUSY ? " (processes the command started are still in it)"
			                       : "");
		if (cg->made[c] && rc == 0)
			cg->made[c] = false;
		if (cg->made_parent[c]) {
			/* Another cglat run may be using it: then it stays. */
			char *slash = strrchr(cg->dir[c], '/');
			if (slash) {
				*slash = '\0';
				rmdir(cg->dir[c]);
				*slash = '/';
			}
			cg->made_parent[c] = false;
		}
	}
	return rc;
}

/* ---- what the cgroup used -------------------------------------------------------------- */

/* The path of a knob's file in the cgroup, and its cgroup version. */
static bool knob_path(const struct cglat_cgroup *cg, enum cg_knob knob, char *path, size_t len,
                      int *version)
{
	for (int c = 0; c < CGLAT_CTL_COUNT; c++) {
		if (!cg->has[c] ||
		    strcmp(cgroup_knob_controller(knob, cg->version[c]), cglat_ctl_name(c)) != 0)
			continue;
		const char *file = cgroup_knob_file(knob, cg->version[c]);
		*version = cg->version[c];
		return file && join_path(path, len, cg->dir[c], file, NULL) == 0;
	}
	return false;
}

/* The text of a knob's file in the cgroup. */
static bool read_text(const struct cglat_cgroup *cg, enum cg_knob knob, char *buf, size_t len)
{
	char path[PATH_MAX];
	int v;
	return knob_path(cg, knob, path, sizeof(path), &v) &&
	       cgroup_read_file(path, buf, len, NULL) == 0;
}

static int64_t read_number(const struct cglat_cgroup *cg, enum cg_knob knob)
{
	char text[64];
	if (!read_text(cg, knob, text, sizeof(text)))
		return -1;
	char *end;
	long long n = strtoll(text, &end, 10);
	return end == text ? -1 : n;
}

void cglat_cgroup_stats(const struct cglat_cgroup *cg, struct cglat_cgroup_stats *st)
{
	char text[1024];
	int64_t oom;
	st->memory_peak = read_number(cg, CG_KNOB_MEMORY_PEAK);
	st->oom_kills = -1;
	if (read_text(cg, CG_KNOB_MEMORY_OOM, text, sizeof(text)) &&
	    cgroup_keyed_value(text, "oom_kill", &oom))
		st->oom_kills = oom;
	char usage[PATH_MAX], stat[PATH_MAX];
	int usage_v = 0, stat_v = 0;
	bool has_usage = knob_path(cg, CG_KNOB_CPU_USAGE, usage, sizeof(usage), &usage_v);
	bool has_stat = knob_path(cg, CG_KNOB_CPU_STAT, stat, sizeof(stat), &stat_v);
	struct cg_cpu_usage cpu;
	cgroup_read_cpu_usage(has_usage ? usage : NULL, usage_v, has_stat ? stat : NULL, stat_v,
	                      &cpu);
	st->cpu_ns = cpu.cpu_ns;
	st->nr_periods = cpu.nr_periods;
	st->nr_throttled = cpu.nr_throttled;
	st->throttled_ns = cpu.throttled_ns;
}
