/* Helpers of the tests of cglat serve; see serve_it.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "serve_it.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "units.h"

/* ---------------------------------------------------------------- serve */

bool sit_answers(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static pid_t started[16];

static void remember(pid_t pid)
{
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
		if (started[i] <= 0) {
			started[i] = pid;
			return;
		}
}

void sit_serve_kill_all(void)
{
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++) {
		int st;
		if (started[i] > 0 && waitpid(started[i], &st, WNOHANG) == 0) {
			kill(started[i], SIGKILL);
			waitpid(started[i], &st, 0);
		}
		started[i] = 0;
	}
	/* The sockets' directory goes too, with what a killed serve left in it: it holds
	 * these tests' sockets only. */
	DIR *d = opendir(SIT_DIR);
	for (struct dirent *de; d && (de = readdir(d));) {
		size_t n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".sock") == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(SIT_DIR);
}

void sit_serve_start(struct sit_serve *s, const char *name, const char *const extra[])
{
	char sock[sizeof(s->sock)];
	mkdir(SIT_DIR, 0755);
	snprintf(sock, sizeof(sock), SIT_DIR "/%s.sock", name);
	sit_serve_start_at(s, sock, extra, 30);
}

void sit_serve_start_at(struct sit_serve *s, const char *sock, const char *const extra[],
                        int wait_s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->sock, sizeof(s->sock), "%s", sock);
	const char *argv[32] = {CGLAT_BIN, "serve", "--listen", s->sock};
	size_t n = 4;
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	cr_assert_eq(it_spawn(argv, &s->p), 0);
	s->running = true;
	remember(s->p.pid);
	uint64_t until = it_mono_ns() + (uint64_t)(wait_s * 1e9 * it_time_scale());
	while (it_mono_ns() < until) {
		if (sit_answers(s->sock))
			return;
		it_drain(&s->p);
		int st;
		if (waitpid(s->p.pid, &st, WNOHANG) == s->p.pid) {
			s->running = false;
			it_drain(&s->p);
			cr_assert_fail("cglat serve exited (status %d) before it answered: %.*s",
			               st, (int)s->p.len[1], s->p.buf[1] ? s->p.buf[1] : "");
		}
		usleep(20000);
	}
	cr_assert_fail("cglat serve does not answer on %s after %d s", s->sock, wait_s);
}

int sit_serve_stop(struct sit_serve *s, char **err)
{
	if (err)
		*err = NULL;
	if (!s->running)
		return -1;
	kill(s->p.pid, SIGTERM);
	int status = 0;
	char *e = NULL;
	it_wait(&s->p, 60, NULL, &e, &status);
	s->running = false;
	if (err)
		*err = e;
	else
		free(e);
	return it_exit_code(status);
}

void sit_serve_kill(struct sit_serve *s)
{
	if (!s->running)
		return;
	kill(s->p.pid, SIGKILL);
	int status = 0;
	it_wait(&s->p, 30, NULL, NULL, &status);
	s->running = false;
}

bool sit_serve_alive(struct sit_serve *s)
{
	int st;
	if (!s->running)
		return false;
	it_drain(&s->p);
	if (waitpid(s->p.pid, &st, WNOHANG) == s->p.pid) {
		s->running = false;
		cr_log_error("cglat serve ended (status %d): %.*s", st, (int)s->p.len[1],
		             s->p.buf[1] ? s->p.buf[1] : "");
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------- /proc */

static int64_t status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read %s: %s", path, strerror(errno));
	int64_t v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoll(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	cr_assert_geq(v, 0, "no %s in %s", key, path);
	return v;
}

int64_t sit_rss_kib(pid_t pid)
{
	return status_field(pid, "VmRSS");
}

int sit_thread_count(pid_t pid)
{
	return (int)status_field(pid, "Threads");
}

int sit_fd_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	cr_assert_not_null(d, "cannot read %s: %s", path, strerror(errno));
	int n = 0;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---------------------------------------------------------------- containers */

int sit_docker_at(const char *sock, char **out, char **err, ...)
{
	const char *argv[64];
	size_t n = 0;
	char host[160];
	if (sock) {
		snprintf(host, sizeof(host), "DOCKER_HOST=unix://%s", sock);
		argv[n++] = "env";
		argv[n++] = host;
	}
	argv[n++] = "docker";
	va_list ap;
	va_start(ap, err);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	int status = 0;
	if (it_run(argv, 120, out, err, &status, NULL) < 0)
		return -1;
	return it_exit_code(status);
}

pid_t sit_pid(const char *ref)
{
	char *out = NULL;
	pid_t pid = 0;
	if (sit_docker_at(NULL, &out, NULL, "inspect", "-f", "{{.State.Pid}}", ref, NULL) == 0)
		pid = (pid_t)atoi(out);
	free(out);
	return pid;
}

const char *const sit_limit_opts[] = {"--cgroupns=host",
                                      "--memory",
                                      "256m",
                                      "--memory-swap",
                                      "1g",
                                      "--cpu-period",
                                      "100000",
                                      "--cpu-quota",
                                      "50000",
                                      "--memory-reservation",
                                      "64m",
                                      "--cpu-shares",
                                      "512",
                                      NULL};

void sit_run(struct sit_ctr *c, const char *label, const char *name, const char *const extra[])
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	sit_docker_at(NULL, NULL, NULL, "rm", "-f", name, NULL);
	char lab[128];
	snprintf(lab, sizeof(lab), "cglat.test=%s", label);
	const char *argv[40] = {"docker",  "run", "-d",     "--network", "none",
	                        "--label", lab,   "--name", name};
	size_t n = 9;
	for (size_t i = 0; extra && extra[i] && n < 36; i++)
		argv[n++] = extra[i];
	argv[n++] = IT_IMAGE;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_run(argv, 120, &out, &err, &status, NULL), 0);
	cr_assert_eq(it_exit_code(status), 0, "docker run %s failed: %s", name, err);
	snprintf(c->id, sizeof(c->id), "%.64s", out);
	free(out);
	free(err);
	c->pid = sit_pid(c->id);
	cr_assert_gt(c->pid, 0, "container %s has no pid", name);
}

void sit_remove_labelled(const char *label)
{
	char filter[128], *out = NULL;
	snprintf(filter, sizeof(filter), "label=cglat.test=%s", label);
	if (sit_docker_at(NULL, &out, NULL, "ps", "-aq", "--filter", filter, NULL) == 0 && out)
		for (char *save = NULL, *id = strtok_r(out, "\n", &save); id;
		     id = strtok_r(NULL, "\n", &save))
			sit_docker_at(NULL, NULL, NULL, "rm", "-f", id, NULL);
	free(out);
}

/* ---------------------------------------------------------------- limits */

void sit_conn_init(struct dh_conn *c, const char *sock)
{
	int scale = (int)it_time_scale();
	dh_init(c, sock, 10000 * scale, 180000 * scale, 1 << 20);
}

void sit_record(const char *ref, struct sit_limits *out)
{
	struct dh_conn c;
	sit_conn_init(&c, SIT_DOCKER_SOCK);
	char path[256];
	snprintf(path, sizeof(path), "/v1.41/containers/%s/json", ref);
	struct dh_request rq = {.method = DH_GET, .path = path};
	struct cg_err err = {{0}};
	cr_assert_eq(dh_request(&c, &rq, &err), 0, "inspect %s: %s", ref, err.msg);
	cr_assert_eq(c.resp.status, 200, "inspect %s: %ld %s", ref, c.resp.status, c.resp.body);
	json_t *doc = json_loads(c.resp.body, 0, NULL);
	json_t *hc = json_object_get(doc, "HostConfig");
	cr_assert_not_null(hc, "no HostConfig for %s: %s", ref, c.resp.body);
	out->memory = json_integer_value(json_object_get(hc, "Memory"));
	out->reservation = json_integer_value(json_object_get(hc, "MemoryReservation"));
	out->quota = json_integer_value(json_object_get(hc, "CpuQuota"));
	out->shares = json_integer_value(json_object_get(hc, "CpuShares"));
	json_decref(doc);
	dh_free(&c);
}

static int64_t read_number(pid_t pid, const char *controller, const char *v1_file)
{
	char dir[512], path[800], text[128];
	cr_assert_eq(it_cgroup_dir(pid, controller, dir, sizeof(dir)), 0, "no %s cgroup for pid %d",
	             controller, (int)pid);
	snprintf(path, sizeof(path), "%s/%s", dir, it_cgroup_file(v1_file));
	cr_assert_eq(it_read_text(path, text, sizeof(text)), 0, "cannot read %s: %s", path,
	             strerror(errno));
	if (strncmp(text, "max", 3) == 0)
		return -1;
	return strtoll(text, NULL, 10);
}

void sit_kernel(pid_t pid, struct sit_limits *out)
{
	out->memory = it_read_limit(pid, IT_MEMORY);
	out->quota = it_read_limit(pid, IT_CPU_QUOTA);
	out->reservation = read_number(pid, "memory", "memory.soft_limit_in_bytes");
	out->shares = read_number(pid, "cpu", "cpu.shares"); /* cpu.weight on v2 */
}

void sit_assert_kernel(pid_t pid, const struct sit_limits *want, const char *what)
{
	struct sit_limits k;
	sit_kernel(pid, &k);
	int version = it_cgroup_v2() ? 2 : 1;
	int64_t shares = (int64_t)units_cpu_weight_file_value(version, true, (uint64_t)want->shares,
	                                                      false, 0);
	cr_assert(k.memory == want->memory && k.reservation == want->reservation &&
	                  k.quota == want->quota && k.shares == shares,
	          "%s: the kernel holds memory %lld reservation %lld quota %lld shares %lld, "
	          "expected %lld %lld %lld %lld",
	          what, (long long)k.memory, (long long)k.reservation, (long long)k.quota,
	          (long long)k.shares, (long long)want->memory, (long long)want->reservation,
	          (long long)want->quota, (long long)shares);
}

/* ---------------------------------------------------------------- requests */

struct dh_request sit_update_request(char *path, size_t cap, const char *ref, const char *json)
{
	snprintf(path, cap, "/v1.41/containers/%s/update", ref);
	return (struct dh_request){.method = DH_POST,
	                           .path = path,
	                           .content_type = "application/json",
	                           .body = json,
	                           .len = strlen(json)};
}

int sit_update(struct dh_conn *c, const char *ref, const char *json, char **body, char *err,
               size_t cap)
{
	char path[256];
	struct dh_request rq = sit_update_request(path, sizeof(path), ref, json);
	struct cg_err e = {{0}};
	if (body)
		*body = NULL;
	if (dh_request(c, &rq, &e) < 0) {
		snprintf(err, cap, "%s", e.msg);
		dh_disconnect(c);
		return -1;
	}
	if (body)
		*body = strdup(c->resp.body ? c->resp.body : "");
	return (int)c->resp.status;
}

static json_t *stats(const char *sock)
{
	struct dh_conn c;
	sit_conn_init(&c, sock);
	struct dh_request rq = {.method = DH_GET, .path = "/cglat/v1/stats"};
	struct cg_err err = {{0}};
	cr_assert_eq(dh_request(&c, &rq, &err), 0, "GET /cglat/v1/stats: %s", err.msg);
	cr_assert_eq(c.resp.status, 200);
	json_t *doc = json_loads(c.resp.body, 0, NULL);
	cr_assert_not_null(doc, "stats: %s", c.resp.body);
	dh_free(&c);
	return doc;
}

int64_t sit_stat(const char *sock, const char *key)
{
	json_t *doc = stats(sock);
	json_t *v = json_object_get(doc, key);
	int64_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(doc);
	return n;
}

int64_t sit_stat_p50(const char *sock, const char *which)
{
	json_t *doc = stats(sock);
	json_t *v = json_object_get(json_object_get(doc, which), "p50_ns");
	int64_t n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(doc);
	return n;
}

/* ---------------------------------------------------------------- dockerd */

bool sit_dockerd_answers(void)
{
	struct dh_conn c;
	dh_init(&c, SIT_DOCKER_SOCK, 2000, 10000, 1 << 16);
	struct dh_request rq = {.method = DH_GET, .path = "/_ping"};
	struct cg_err err;
	bool ok = dh_request(&c, &rq, &err) == 0 && c.resp.status == 200;
	dh_free(&c);
	return ok;
}

static bool is_dockerd(pid_t pid)
{
	char path[64], comm[64] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, "dockerd") == 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void sit_dockerd_kill(void)
{
	pid_t pid = docker_daemon_pid();
	cr_assert_gt(pid, 0, "no dockerd to kill");
	cr_assert_eq(kill(pid, SIGKILL), 0, "kill dockerd %d: %s", (int)pid, strerror(errno));
	for (int i = 0; i < 300 && is_dockerd(pid); i++)
		sleep_ms(100);
	cr_assert(!is_dockerd(pid), "dockerd %d is still there 30 s after SIGKILL", (int)pid);
}

/* No Criterion calls from here on: the guard process runs this too. */

static int read_pid_file(void)
{
	char text[32] = "";
	FILE *f = fopen("/var/run/docker.pid", "r");
	if (!f)
		return 0;
	if (!fgets(text, sizeof(text), f))
		text[0] = '\0';
	fclose(f);
	return atoi(text);
}

/* As scripts/setup.sh: a killed dockerd leaves its pid file, and a new one refuses to
 * start while that pid is alive, also when another process has reused it since. */
static void clear_pid_file(void)
{
	pid_t old = read_pid_file();
	if (old <= 0)
		return;
	for (int i = 0; i < 50 && is_dockerd(old); i++)
		sleep_ms(200);
	if (!is_dockerd(old))
		unlink("/var/run/docker.pid");
}

/* dockerd --bridge=none ... detached (its own session, no fd of ours but its log), as
 * `nohup dockerd ... >/var/log/cglat-dockerd.log 2>&1 &` in scripts/setup.sh. */
static void spawn_dockerd(void)
{
	pid_t mid = fork();
	if (mid < 0)
		return;
	if (mid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		int in = open("/dev/null", O_RDONLY);
		int log = open("/var/log/cglat-dockerd.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (in < 0 || log < 0)
			_exit(127);
		dup2(in, 0);
		dup2(log, 1);
		dup2(log, 2);
		/* No fd of the test's (the dockerd lock's above all) goes with it. */
		for (int fd = 3; fd < 65536; fd++)
			close(fd);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		execlp("dockerd", "dockerd", "--bridge=none", "--iptables=false",
		       "--ip6tables=false", "--containerd=/run/containerd/containerd.sock",
		       (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(mid, &st, 0);
}

bool sit_dockerd_ensure(void)
{
	if (sit_dockerd_answers())
		return true;
	pid_t running = docker_daemon_pid();
	if (running <= 0 || !is_dockerd(running)) {
		clear_pid_file();
		spawn_dockerd();
	}
	int tries = (int)(600 * it_time_scale()); /* 60 s */
	for (int i = 0; i < tries; i++) {
		if (sit_dockerd_answers())
			return true;
		sleep_ms(100);
	}
	return false;
}

void sit_dockerd_guard(void)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t g = fork();
	cr_assert_geq(g, 0, "fork: %s", strerror(errno));
	if (g == 0) {
		setsid();
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		/* The test process is gone: dockerd must answer before this guard (and the
		 * lock it inherited) goes. */
		sit_dockerd_ensure();
		_exit(0);
	}
	close(p[0]); /* p[1] stays open until this process ends */
}
