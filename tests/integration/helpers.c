#include "helpers.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

uint64_t it_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double mono_now(void)
{
	return (double)it_mono_ns() / 1e9;
}

double it_time_scale(void)
{
	static double scale;
	if (scale == 0) {
		const char *text = getenv("CGLAT_IT_TIME_SCALE");
		double v = text ? strtod(text, NULL) : 1;
		scale = v >= 1 && v <= 100 ? v : 1;
	}
	return scale;
}

double it_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *it_strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0, "out of memory");
	return s;
}

size_t it_count_lines(const char *text)
{
	size_t n = 0;
	bool in_line = false;
	for (const char *c = text; c && *c; c++) {
		if (*c == '\n') {
			n += in_line;
			in_line = false;
		} else {
			in_line = true;
		}
	}
	return n + in_line;
}

int it_exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ------------------------------------------------------------ processes */

int it_spawn(const char *const argv[], struct it_proc *p)
{
	return it_spawn_in(argv, NULL, p);
}

int it_spawn_in(const char *const argv[], const char *in_path, struct it_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->fd[0] = p->fd[1] = -1;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_init(&attr);
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	close(out[1]);
	close(err[1]);
	p->fd[0] = out[0];
	p->fd[1] = err[0];
	fcntl(p->fd[0], F_SETFL, O_NONBLOCK);
	fcntl(p->fd[1], F_SETFL, O_NONBLOCK);
	return 0;
fail:;
	int saved = errno;
	cr_log_error("cannot start %s: %s", argv[0], strerror(saved));
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	p->pid = -1;
	errno = saved;
	return -1;
}

/* Reads what fd i has; closes it at EOF. */
static void read_some(struct it_proc *p, int i)
{
	for (;;) {
		if (p->cap[i] - p->len[i] < 4096) {
			size_t cap = p->cap[i] ? p->cap[i] * 2 : 8192;
			char *b = realloc(p->buf[i], cap);
			cr_assert_not_null(b, "out of memory");
			p->buf[i] = b;
			p->cap[i] = cap;
		}
		ssize_t n = read(p->fd[i], p->buf[i] + p->len[i], p->cap[i] - p->len[i] - 1);
		if (n > 0) {
			p->len[i] += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			close(p->fd[i]);
			p->fd[i] = -1;
		}
		return;
	}
}

static void poll_pipes(struct it_proc *p, int timeout_ms)
{
	struct pollfd pfd[2];
	int n = 0;
	for (int i = 0; i < 2; i++)
		if (p->fd[i] >= 0)
			pfd[n++] = (struct pollfd){.fd = p->fd[i], .events = POLLIN};
	if (n == 0) {
		usleep((useconds_t)timeout_ms * 1000);
		return;
	}
	if (poll(pfd, (nfds_t)n, timeout_ms) < 0)
		return;
	for (int i = 0; i < 2; i++)
		if (p->fd[i] >= 0)
			read_some(p, i);
}

void it_drain(struct it_proc *p)
{
	poll_pipes(p, 0);
}

static char *take(struct it_proc *p, int i)
{
	char *s = p->buf[i] ? p->buf[i] : malloc(1);
	cr_assert_not_null(s, "out of memory");
	s[p->len[i]] = '\0';
	p->buf[i] = NULL;
	return s;
}

int it_wait(struct it_proc *p, double timeout_s, char **out, char **err, int *status)
{
	double deadline = mono_now() + timeout_s * it_time_scale();
	int st = 0, rc = 0, stage = 0;
	bool reaped = false;
	while (!reaped || p->fd[0] >= 0 || p->fd[1] >= 0) {
		poll_pipes(p, 20);
		if (!reaped) {
			pid_t w = waitpid(p->pid, &st, WNOHANG);
			if (w == p->pid || (w < 0 && errno != EINTR))
				reaped = true;
		}
		if (mono_now() > deadline) {
			/* Too slow: ask, then force. A forced child cannot clean up. */
			if (stage == 0 && !reaped) {
				cr_log_error("pid %d still running after %.0f s: SIGTERM",
				             (int)p->pid, timeout_s);
				kill(p->pid, SIGTERM);
				deadline = mono_now() + 15;
			} else if (stage == 1 && !reaped) {
				kill(p->pid, SIGKILL);
				deadline = mono_now() + 5;
			} else {
				/* Reaped, but a grandchild holds the pipes open. */
				for (int i = 0; i < 2; i++)
					if (p->fd[i] >= 0) {
						close(p->fd[i]);
						p->fd[i] = -1;
					}
			}
			stage++;
			rc = -1;
		}
	}
	if (status)
		*status = st;
	char *o = take(p, 0), *e = take(p, 1);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

int it_run(const char *const argv[], double timeout_s, char **out, char **err, int *status,
           pid_t *pid)
{
	struct it_proc p;
	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	if (pid)
		*pid = -1;
	if (it_spawn(argv, &p) < 0)
		return -1;
	if (pid)
		*pid = p.pid;
	return it_wait(&p, timeout_s, out, err, status);
}

int it_cglat(const char *const args[], char **out, char **err, int *status, pid_t *pid)
{
	const char *argv[64] = {CGLAT_BIN};
	size_t n = 1;
	for (size_t i = 0; args && args[i]; i++) {
		cr_assert_lt(n, 63, "too many arguments");
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	pid_t child;
	int rc = it_run(argv, 90, out, err, status, &child);
	if (pid)
		*pid = child;
	if (rc < 0 && child > 0)
		it_remove_owned(child);
	return rc;
}

int it_docker(char **out, char **err, ...)
{
	const char *argv[64] = {"docker"};
	size_t n = 1;
	va_list ap;
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *));) {
		cr_assert_lt(n, 63, "too many arguments");
		argv[n++] = a;
	}
	va_end(ap);
	argv[n] = NULL;
	int status = 0;
	if (it_run(argv, 60, out, err, &status, NULL) < 0)
		return -1;
	return it_exit_code(status);
}

/* ----------------------------------------------------------- containers */

char *it_owned_containers(pid_t owner)
{
	char *label = it_strf("label=cglat.owner=%d", (int)owner), *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "ps", "-aq", "--no-trunc", "--filter", label, NULL);
	cr_assert_eq(rc, 0, "docker ps failed: %s", err ? err : "");
	free(label);
	free(err);
	return out;
}

char *it_created_containers(double since, double until, pid_t owner)
{
	char *s = it_strf("%.9f", since), *u = it_strf("%.9f", until);
	char *label = owner > 0 ? it_strf("label=cglat.owner=%d", (int)owner)
	                        : it_strf("label=cglat.owner");
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "events", "--since", s, "--until", u, "--filter",
	                   "type=container", "--filter", "event=create", "--filter", label,
	                   "--format", "{{.Actor.Attributes.name}}", NULL);
	cr_assert_eq(rc, 0, "docker events failed: %s", err ? err : "");
	free(s);
	free(u);
	free(label);
	free(err);
	return out;
}

void it_remove_owned(pid_t owner)
{
	char *ids = it_owned_containers(owner);
	char *save = NULL;
	for (char *id = strtok_r(ids, "\n", &save); id; id = strtok_r(NULL, "\n", &save)) {
		cr_log_warn("removing container %.12s left by pid %d", id, (int)owner);
		it_docker(NULL, NULL, "rm", "-f", id, NULL);
	}
	free(ids);
}

char *it_orphan_containers(void)
{
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "ps", "-a", "--no-trunc", "--filter", "label=cglat.owner",
	                   "--format", "{{.ID}} {{.Label \"cglat.owner\"}}", NULL);
	cr_assert_eq(rc, 0, "docker ps failed: %s", err ? err : "");
	free(err);
	char *orphans = calloc(1, strlen(out) + 1), *save = NULL;
	cr_assert_not_null(orphans);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char id[80];
		int owner = 0;
		if (sscanf(l, "%79s %d", id, &owner) < 1)
			continue;
		if (owner > 0 && (kill(owner, 0) == 0 || errno == EPERM))
			continue; /* its run is still going */
		strcat(orphans, id);
		strcat(orphans, "\n");
	}
	free(out);
	return orphans;
}

char *it_new_lines(const char *before, const char *after)
{
	char *copy = strdup(after), *res = calloc(1, strlen(after) + 1), *save = NULL;
	cr_assert(copy && res);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		bool seen = false;
		size_t len = strlen(l);
		for (const char *b = before; b && *b && !seen;) {
			size_t blen = strcspn(b, "\n");
			seen = blen == len && strncmp(b, l, len) == 0;
			b += blen + (b[blen] == '\n');
		}
		if (!seen) {
			strcat(res, l);
			strcat(res, "\n");
		}
	}
	free(copy);
	return res;
}

bool it_container_exists(const char *ref)
{
	char *err = NULL;
	int rc = it_docker(NULL, &err, "container", "inspect", "--format", "{{.Id}}", ref, NULL);
	bool missing = rc != 0 && err && strcasestr(err, "no such");
	cr_assert(rc == 0 || missing, "docker container inspect %s: %s", ref, err ? err : "");
	free(err);
	return rc == 0;
}

bool it_docker_swap_limit(void)
{
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "info", "--format", "{{.SwapLimit}}", NULL), 0);
	bool yes = strncmp(out, "true", 4) == 0;
	free(out);
	return yes;
}

void it_ensure_image(void)
{
	if (it_docker(NULL, NULL, "image", "inspect", IT_IMAGE, NULL) == 0)
		return;
	const char *args[] = {"-n", "1", "--paths", "direct", "--resources", "memory", NULL};
	char *err = NULL;
	int status = 0;
	it_cglat(args, NULL, &err, &status, NULL);
	cr_assert_eq(it_exit_code(status), 0, "cglat could not import %s: %s", IT_IMAGE, err);
	free(err);
	cr_assert_eq(it_docker(NULL, NULL, "image", "inspect", IT_IMAGE, NULL), 0,
	             "cglat ran but %s does not exist", IT_IMAGE);
}

/* ------------------------------------------------------------------ BPF */

bool it_ids_contain(const unsigned *ids, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* BPF program ids in the fdinfo files of /proc/PID, appended to ids. */
static size_t progs_in_fdinfo(const char *pid, unsigned *ids, size_t n, size_t max)
{
	char dir_path[64];
	snprintf(dir_path, sizeof(dir_path), "/proc/%s/fdinfo", pid);
	DIR *dir = opendir(dir_path);
	if (!dir)
		return n;
	struct dirent *e;
	while ((e = readdir(dir)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], line[128];
		snprintf(path, sizeof(path), "%s/%s", dir_path, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		unsigned id;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "prog_id: %u", &id) == 1 && !it_ids_contain(ids, n, id) &&
			    n < max)
				ids[n++] = id;
		fclose(f);
	}
	closedir(dir);
	return n;
}

size_t it_bpf_progs_of_pid(pid_t pid, unsigned *ids, size_t max)
{
	char p[32];
	snprintf(p, sizeof(p), "%d", (int)pid);
	return progs_in_fdinfo(p, ids, 0, max);
}

size_t it_bpf_progs_of_cglat(unsigned *ids, size_t max)
{
	/* The kernel keeps 15 characters of a program's name: "cglat_sys_enter",
	 * "cglat_vfs_write" (bpftool shows longer ones from BTF). */
	size_t n = it_bpf_progs_named("tracepoint__", ids, max);
	return n + it_bpf_progs_named("cglat_", ids + n, max - n);
}

bool it_bpf_prog_held(unsigned id)
{
	DIR *proc = opendir("/proc");
	cr_assert_not_null(proc);
	bool held = false;
	struct dirent *e;
	unsigned ids[512];
	while (!held && (e = readdir(proc))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		size_t n = progs_in_fdinfo(e->d_name, ids, 0, 512);
		held = it_ids_contain(ids, n, id);
	}
	closedir(proc);
	return held;
}

size_t it_bpf_progs_named(const char *prefix, unsigned *ids, size_t max)
{
	const char *argv[] = {"bpftool", "-j", "prog", "list", NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	it_run(argv, 30, &out, &err, &status, NULL);
	cr_assert_eq(it_exit_code(status), 0, "bpftool prog list failed: %s", err);
	json_error_t jerr;
	json_t *list = json_loads(out, 0, &jerr);
	cr_assert(json_is_array(list), "bpftool -j prog list: not a JSON array (%s): %.200s",
	          jerr.text, out);
	size_t n = 0, i;
	json_t *prog;
	json_array_foreach(list, i, prog)
	{
		const char *name = json_string_value(json_object_get(prog, "name"));
		json_int_t id = json_integer_value(json_object_get(prog, "id"));
		if (name && strncmp(name, prefix, strlen(prefix)) == 0 && n < max)
			ids[n++] = (unsigned)id;
	}
	json_decref(list);
	free(out);
	free(err);
	return n;
}

/* --------------------------------------------------------------- cgroups */

bool it_cgroup_v2(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

int it_cgroup_dir(pid_t pid, const char *controller, char *out, size_t len)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	bool v2 = it_cgroup_v2();
	int rc = -1;
	while (rc < 0 && fgets(line, sizeof(line), f)) {
		/* "4:cpu,cpuacct:/docker/<id>" on v1, "0::/docker/<id>" on v2 */
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (v2) {
			if (c1[1] == '\0' &&
			    (size_t)snprintf(out, len, "/sys/fs/cgroup%s", c2 + 1) < len)
				rc = 0;
			continue;
		}
		char *save = NULL;
		for (char *t = strtok_r(c1 + 1, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (strcmp(t, controller) == 0) {
				if ((size_t)snprintf(out, len, "/sys/fs/cgroup/%s%s", controller,
				                     c2 + 1) < len)
					rc = 0;
				break;
			}
	}
	fclose(f);
	return rc;
}

const char *it_cgroup_file(const char *v1_name)
{
	static const char *const names[][2] = {
	        {"memory.limit_in_bytes", "memory.max"},
	        {"memory.memsw.limit_in_bytes", "memory.swap.max"},
	        {"memory.soft_limit_in_bytes", "memory.low"},
	        {"memory.usage_in_bytes", "memory.current"},
	        {"cpu.cfs_quota_us", "cpu.max"},
	        {"cpu.cfs_period_us", "cpu.max"},
	        {"cpu.shares", "cpu.weight"},
	};
	if (!it_cgroup_v2())
		return v1_name;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i][0], v1_name) == 0)
			return names[i][1];
	return v1_name;
}

/* A number of a cgroup file, or -1 for "max" and for v1's "no limit" (PAGE_COUNTER_MAX
 * pages, 9223372036854771712 with 4k pages; -1 for the quota). */
static int64_t limit_number(const char *path, const char *text)
{
	if (strncmp(text, "max", 3) == 0)
		return -1;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	cr_assert(errno == 0 && end != text, "%s holds %s, not a number", path, text);
	return v >= (1LL << 62) ? -1 : (int64_t)v;
}

int64_t it_read_limit(pid_t pid, enum it_limit which)
{
	const bool memory = which == IT_MEMORY || which == IT_MEMORY_SWAP;
	char dir[512], path[700], text[128];
	cr_assert_eq(it_cgroup_dir(pid, memory ? "memory" : "cpu", dir, sizeof(dir)), 0,
	             "no %s cgroup for pid %d", memory ? "memory" : "cpu", (int)pid);
	static const char *const v1_files[] = {"memory.limit_in_bytes",
	                                       "memory.memsw.limit_in_bytes", "cpu.cfs_quota_us",
	                                       "cpu.cfs_period_us"};
	snprintf(path, sizeof(path), "%s/%s", dir, it_cgroup_file(v1_files[which]));
	cr_assert_eq(it_read_text(path, text, sizeof(text)), 0, "cannot read %s: %s", path,
	             strerror(errno));
	if (!it_cgroup_v2())
		return limit_number(path, text);
	switch (which) {
	case IT_MEMORY:
		return limit_number(path, text);
	case IT_MEMORY_SWAP: { /* v2 limits swap alone; v1 memory and swap together */
		int64_t swap = limit_number(path, text), mem = it_read_limit(pid, IT_MEMORY);
		return swap < 0 || mem < 0 ? -1 : mem + swap;
	}
	case IT_CPU_QUOTA: /* cpu.max: "QUOTA PERIOD" or "max PERIOD" */
		return limit_number(path, text);
	case IT_CPU_PERIOD: {
		const char *sp = strchr(text, ' ');
		cr_assert_not_null(sp, "%s holds %s, not \"quota period\"", path, text);
		return limit_number(path, sp + 1);
	}
	}
	return -1;
}

int it_read_text(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(out, 1, len - 1, f);
	fclose(f);
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ CSV */

size_t it_csv_split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *c = line;
	line[strcspn(line, "\r\n")] = '\0';
	while (n < max) {
		if (*c == '"') {
			fields[n++] = ++c;
			while (*c && *c != '"')
				c++;
			if (*c)
				*c++ = '\0';
		} else {
			fields[n++] = c;
			c += strcspn(c, ",");
		}
		if (*c != ',')
			break;
		*c++ = '\0';
	}
	return n;
}
