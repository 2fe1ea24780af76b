/* cglat serve when things break, against the real dockerd and kernel:
 *   - dockerd stopped with updates in flight, then SIGKILLed: each of them gets 502 with
 *     the reason and its files are put back; while dockerd is down updates get 502 and
 *     write nothing; dockerd started again (as scripts/setup.sh starts it), serve
 *     enforces and records again, its /events cache current (a container dockerd
 *     stopped on its restart, started again);
 *   - serve SIGKILLed under load: restarted on the same path (its stale socket
 *     replaced) it works, and kernel and Docker agree for every container;
 *   - SIGTERM with an update half received: it is finished and answered 200, exit 0,
 *     the socket removed (test_serve.c has SIGTERM with a relayed stream in flight);
 *   - a container removed while updates to it are in flight: each answered 2xx or with a
 *     Docker-style error, serve neither crashes nor hangs, 404 once it is gone, and
 *     updates to another container work.
 * dockerd is shared: the suite's .fini and a guard process start it again whatever
 * happens to the test. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "serve_it.h"

#define LABEL "serve_faults"
#define MIB (INT64_C(1) << 20)

static void clean(void)
{
	sit_serve_kill_all();
	sit_remove_labelled(LABEL);
}

static void clean_and_dockerd(void)
{
	pid_t pid = docker_daemon_pid();
	if (pid > 0)
		kill(pid, SIGCONT); /* stopped by the test: it must go on */
	if (!sit_dockerd_ensure())
		cr_log_error("dockerd does not answer after the test: start it (scripts/setup.sh)");
	clean();
}

TestSuite(serve_faults, .init = clean, .fini = clean_and_dockerd, .timeout = 600);

static void make(struct sit_ctr *c, const char *what, int i)
{
	char name[96];
	snprintf(name, sizeof(name), "cglat-sf-%s%d-%d", what, i, (int)getpid());
	sit_run(c, LABEL, name, sit_limit_opts);
}

/* One update through a new connection: its status (-1: no whole answer), body in *body. */
static int update_once(const char *sock, const char *ref, const char *json, char **body)
{
	struct dh_conn c;
	sit_conn_init(&c, sock);
	char why[512];
	int st = sit_update(&c, ref, json, body, why, sizeof(why));
	if (st < 0 && body) {
		free(*body);
		*body = strdup(why);
	}
	dh_free(&c);
	return st;
}

static bool docker_style(const char *body)
{
	return body && strncmp(body, "{\"message\":\"", 12) == 0;
}

/* Waits until the kernel's memory limit of pid is v; false after 60 s. */
static bool kernel_memory_becomes(pid_t pid, int64_t v)
{
	uint64_t until = it_mono_ns() + (uint64_t)(60e9 * it_time_scale());
	while (it_mono_ns() < until) {
		if (it_read_limit(pid, IT_MEMORY) == v)
			return true;
		usleep(10000);
	}
	return false;
}

/* ---------------------------------------------------------------- dockerd killed */

struct inflight {
	pthread_t t;
	const char *sock, *ref;
	char json[96];
	int status;
	char *body;
};

static void *inflight_main(void *arg)
{
	struct inflight *f = arg;
	f->status = update_once(f->sock, f->ref, f->json, &f->body);
	return NULL;
}

Test(serve_faults, dockerd_killed_with_updates_in_flight)
{
	enum { N = 3 };
	it_ensure_image();
	struct sit_ctr c[N];
	struct sit_ctr idle;
	for (int i = 0; i < N; i++)
		make(&c[i], "dk", i);
	make(&idle, "dk-idle", 0);
	struct sit_serve s;
	sit_serve_start(&s, "faults-dockerd", NULL);
	char *body = NULL;
	struct sit_limits rec;
	cr_assert_eq(update_once(s.sock, idle.name, "{\"CpuQuota\":40000}", &body), 200, "%s",
	             body);
	free(body);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(update_once(s.sock, c[i].name, "{\"Memory\":209715200}", &body), 200,
		             "%s", body);
		free(body);
	}
	sit_dockerd_guard();
	pid_t dockerd = docker_daemon_pid();
	cr_assert_gt(dockerd, 0);

	/* dockerd stopped: it takes the connections but answers nothing. serve writes the
	 * files, forwards the record and waits. */
	cr_assert_eq(kill(dockerd, SIGSTOP), 0);
	struct inflight f[N];
	for (int i = 0; i < N; i++) {
		f[i] = (struct inflight){.sock = s.sock, .ref = c[i].name};
		snprintf(f[i].json, sizeof(f[i].json), "{\"Memory\":%" PRId64 "}", (300 + i) * MIB);
		cr_assert_eq(pthread_create(&f[i].t, NULL, inflight_main, &f[i]), 0);
	}
	for (int i = 0; i < N; i++)
		cr_assert(kernel_memory_becomes(c[i].pid, (300 + i) * MIB),
		          "serve did not write %s's limit while dockerd was stopped", c[i].name);
	sit_dockerd_kill(); /* SIGKILL reaches a stopped process */
	for (int i = 0; i < N; i++) {
		pthread_join(f[i].t, NULL);
		cr_expect_eq(f[i].status, 502, "update of %s in flight: %d %s", c[i].name,
		             f[i].status, f[i].body);
		cr_expect(docker_style(f[i].body) && strstr(f[i].body, "dockerd") &&
		                  strstr(f[i].body, "put back"),
		          "the 502 does not give the reason: %s", f[i].body);
		cr_expect_eq(it_read_limit(c[i].pid, IT_MEMORY), 200 * MIB,
		             "%s: the limit written for the lost update was not put back",
		             c[i].name);
		free(f[i].body);
	}

	/* dockerd down: 502 with the reason, and nothing written (serve knows that the
	 * outcome of the lost records is unknown: it asks dockerd first, and cannot). */
	int64_t enforced = sit_stat(s.sock, "enforced");
	int64_t rolled_back = sit_stat(s.sock, "rolled_back");
	for (int i = 0; i < N; i++) {
		cr_expect_eq(update_once(s.sock, c[i].name, "{\"Memory\":262144000}", &body), 502,
		             "%s", body);
		cr_expect(docker_style(body) && strstr(body, "dockerd"), "%s", body);
		free(body);
		cr_expect_eq(it_read_limit(c[i].pid, IT_MEMORY), 200 * MIB);
	}
	cr_expect_eq(sit_stat(s.sock, "enforced"), enforced,
	             "serve wrote the files of an update while dockerd was down");
	cr_expect_eq(sit_stat(s.sock, "rolled_back"), rolled_back);
	cr_assert(sit_serve_alive(&s));

	/* dockerd again: it stopped the containers on its way up (no live restore). The
	 * first update goes to a container serve knew as running and had no reason to look
	 * at again: dockerd records it (the container is stopped now), and so must serve,
	 * whether its events stream is back yet or not. */
	cr_assert(sit_dockerd_ensure(), "dockerd did not come back");
	cr_assert(sit_serve_alive(&s));
	cr_expect_eq(update_once(s.sock, idle.name, "{\"Memory\":230686720}", &body), 200,
	             "the first update after dockerd came back: %s", body);
	free(body);
	if (sit_pid(idle.name) <= 0)
		cr_assert_eq(sit_docker_at(NULL, NULL, NULL, "start", idle.name, NULL), 0);
	idle.pid = sit_pid(idle.name);
	sit_record(idle.name, &rec);
	cr_expect_eq(rec.memory, 220 * MIB);
	sit_assert_kernel(idle.pid, &rec, "a container restarted with dockerd");
	cr_expect_eq(update_once(s.sock, c[0].name, "{\"Memory\":230686720}", &body), 200,
	             "the first update after dockerd came back: %s", body);
	free(body);
	for (int i = 0; i < N; i++) {
		char *err = NULL;
		if (sit_pid(c[i].name) <= 0)
			cr_assert_eq(sit_docker_at(NULL, NULL, &err, "start", c[i].name, NULL), 0,
			             "docker start %s: %s", c[i].name, err);
		free(err);
		c[i].pid = sit_pid(c[i].name);
		cr_assert_gt(c[i].pid, 0);
	}
	sit_record(c[0].name, &rec);
	cr_expect_eq(rec.memory, 220 * MIB);
	sit_assert_kernel(c[0].pid, &rec, "after dockerd's restart");
	/* serve enforces again, in the containers' new cgroups, and records. */
	enforced = sit_stat(s.sock, "enforced");
	for (int i = 0; i < N; i++) {
		char json[96];
		snprintf(json, sizeof(json), "{\"Memory\":%" PRId64 ",\"CpuQuota\":%d}",
		         (240 + i) * MIB, 30000 + i * 1000);
		cr_expect_eq(update_once(s.sock, c[i].name, json, &body), 200, "%s", body);
		free(body);
		sit_record(c[i].name, &rec);
		cr_expect(rec.memory == (240 + i) * MIB && rec.quota == 30000 + i * 1000,
		          "%s: Docker's record %lld %lld", c[i].name, (long long)rec.memory,
		          (long long)rec.quota);
		sit_assert_kernel(c[i].pid, &rec, c[i].name);
	}
	cr_expect_eq(sit_stat(s.sock, "enforced"), enforced + N,
	             "serve left updates after dockerd's restart to dockerd instead of "
	             "enforcing them");
	char *err = NULL;
	cr_expect_eq(sit_serve_stop(&s, &err), 0, "serve: %s", err);
	free(err);
}

/* ---------------------------------------------------------------- serve killed */

struct loader {
	pthread_t t;
	const char *sock, *ref;
	int k;
	atomic_int *done;
	atomic_bool *stop;
};

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	struct dh_conn c;
	sit_conn_init(&c, l->sock);
	for (int i = 0; !atomic_load(l->stop); i++) {
		char json[128], why[256];
		snprintf(json, sizeof(json),
		         "{\"Memory\":%" PRId64 ",\"CpuQuota\":%d,\"CpuShares\":%d}",
		         (200 + (i * 7 + l->k) % 100) * MIB, 20000 + (i % 50) * 1000,
		         256 + (i % 32) * 8);
		if (sit_update(&c, l->ref, json, NULL, why, sizeof(why)) == 200)
			atomic_fetch_add(l->done, 1);
		else
			usleep(20000); /* serve is gone: try again until told to stop */
	}
	dh_free(&c);
	return NULL;
}

Test(serve_faults, serve_sigkilled_under_load_restarts_with_nothing_lost)
{
	enum { N = 4 };
	it_ensure_image();
	struct sit_ctr c[N];
	for (int i = 0; i < N; i++)
		make(&c[i], "sk", i);
	struct sit_serve s;
	sit_serve_start(&s, "faults-kill", NULL);
	atomic_int done = 0;
	atomic_bool stop = false;
	struct loader l[N];
	for (int i = 0; i < N; i++) {
		l[i] = (struct loader){
		        .sock = s.sock, .ref = c[i].name, .k = i, .done = &done, .stop = &stop};
		cr_assert_eq(pthread_create(&l[i].t, NULL, loader_main, &l[i]), 0);
	}
	uint64_t until = it_mono_ns() + (uint64_t)(120e9 * it_time_scale());
	while (atomic_load(&done) < 40 && it_mono_ns() < until)
		usleep(10000);
	cr_assert_geq(atomic_load(&done), 40, "only %d updates answered", atomic_load(&done));
	sit_serve_kill(&s);
	atomic_store(&stop, true);
	for (int i = 0; i < N; i++)
		pthread_join(l[i].t, NULL);
	struct stat st;
	cr_assert_eq(lstat(s.sock, &st), 0, "a SIGKILLed serve leaves its socket");

	/* Nothing lost: what the kernel holds is what Docker's record says. */
	for (int i = 0; i < N; i++) {
		struct sit_limits rec;
		sit_record(c[i].name, &rec);
		sit_assert_kernel(c[i].pid, &rec, c[i].name);
	}
	/* Restarted on the same path, it works: the API client and the Docker CLI. */
	sit_serve_start(&s, "faults-kill", NULL);
	for (int i = 0; i < N; i++) {
		char *body = NULL, *err = NULL;
		char json[96];
		snprintf(json, sizeof(json), "{\"Memory\":%" PRId64 "}", (330 + i) * MIB);
		cr_expect_eq(update_once(s.sock, c[i].name, json, &body), 200, "%s", body);
		free(body);
		cr_expect_eq(sit_docker_at(s.sock, NULL, &err, "update", "--cpu-quota", "45000",
		                           "--cpu-shares", "768", c[i].name, NULL),
		             0, "docker update through the restarted serve: %s", err);
		free(err);
		struct sit_limits rec, want = {.memory = (330 + i) * MIB,
		                               .reservation = 64 * MIB,
		                               .quota = 45000,
		                               .shares = 768};
		sit_record(c[i].name, &rec);
		cr_expect(memcmp(&rec, &want, sizeof(rec)) == 0, "%s: Docker's record %lld %lld",
		          c[i].name, (long long)rec.memory, (long long)rec.quota);
		sit_assert_kernel(c[i].pid, &want, c[i].name);
	}
	char *err = NULL;
	cr_expect_eq(sit_serve_stop(&s, &err), 0, "serve: %s", err);
	free(err);
}

/* ---------------------------------------------------------------- SIGTERM */

static int raw_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", path,
	             strerror(errno));
	return fd;
}

static void send_text(int fd, const char *t)
{
	size_t n = strlen(t);
	cr_assert_eq(send(fd, t, n, MSG_NOSIGNAL), (ssize_t)n, "send: %s", strerror(errno));
}

/* Everything the peer sends until it closes (60 s at most). */
static char *read_to_close(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	uint64_t until = it_mono_ns() + (uint64_t)(60e9 * it_time_scale());
	while (it_mono_ns() < until && len + 1 < cap) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

Test(serve_faults, sigterm_finishes_an_update_half_received)
{
	it_ensure_image();
	struct sit_ctr c;
	make(&c, "term", 0);
	struct sit_serve s;
	/* -vv: each connection's story is in the message if serve does not end in time. */
	static const char *const vv[] = {"-vv", NULL};
	sit_serve_start(&s, "faults-term", vv);
	static const char json[] = "{\"Memory\":283115520,\"CpuQuota\":35000}";
	char head[512];
	snprintf(head, sizeof(head),
	         "POST /v1.41/containers/%s/update HTTP/1.1\r\nHost: docker\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         c.name, strlen(json));
	int fd = raw_connect(s.sock);
	send_text(fd, head);
	char part[32];
	snprintf(part, sizeof(part), "%.12s", json);
	send_text(fd, part);
	usleep(200000); /* serve has read the head and a part of the body */
	kill(s.p.pid, SIGTERM);
	struct stat st;
	uint64_t until = it_mono_ns() + (uint64_t)(10e9 * it_time_scale());
	while (lstat(s.sock, &st) == 0 && it_mono_ns() < until)
		usleep(20000);
	cr_expect_neq(lstat(s.sock, &st), 0, "serve still has its socket after SIGTERM");
	send_text(fd, json + 12);
	char *answer = read_to_close(fd);
	close(fd);
	cr_expect(strncmp(answer, "HTTP/1.1 200 ", 13) == 0,
	          "the update in flight at SIGTERM was answered: %s", answer);
	free(answer);
	char *err = NULL;
	cr_expect_eq(sit_serve_stop(&s, &err), 0, "serve after SIGTERM: %s", err);
	free(err);
	struct sit_limits rec;
	sit_record(c.name, &rec);
	cr_expect(rec.memory == 270 * MIB && rec.quota == 35000, "Docker's record %lld %lld",
	          (long long)rec.memory, (long long)rec.quota);
	sit_assert_kernel(c.pid, &rec, c.name);
}

/* ---------------------------------------------------------------- container removed */

struct remover_client {
	pthread_t t;
	const char *sock, *ref;
	int k;
	atomic_int *answered;
	int ok, errors, lost;
	char bad[512];
};

static void *remover_client_main(void *arg)
{
	struct remover_client *r = arg;
	struct dh_conn c;
	sit_conn_init(&c, r->sock);
	for (int i = 0; i < 400; i++) {
		char json[96], why[256], *body = NULL;
		snprintf(json, sizeof(json), "{\"Memory\":%" PRId64 ",\"CpuQuota\":%d}",
		         (200 + (i * 5 + r->k) % 100) * MIB, 20000 + (i % 40) * 1000);
		int st = sit_update(&c, r->ref, json, &body, why, sizeof(why));
		atomic_fetch_add(r->answered, 1);
		bool gone = st == 404 && body && strstr(body, "No such container");
		if (st >= 200 && st <= 299)
			r->ok++;
		else if (st > 0 && docker_style(body))
			r->errors++;
		else if (!r->lost++)
			snprintf(r->bad, sizeof(r->bad), "%d %s", st, st < 0 ? why : body);
		free(body);
		if (gone || st < 0)
			break;
	}
	dh_free(&c);
	return NULL;
}

Test(serve_faults, container_removed_with_updates_in_flight)
{
	enum { N = 4 };
	it_ensure_image();
	struct sit_ctr x, y;
	make(&x, "rmx", 0);
	make(&y, "rmy", 0);
	struct sit_serve s;
	sit_serve_start(&s, "faults-rm", NULL);
	atomic_int answered = 0;
	struct remover_client r[N];
	for (int i = 0; i < N; i++) {
		r[i] = (struct remover_client){
		        .sock = s.sock, .ref = x.name, .k = i, .answered = &answered};
		cr_assert_eq(pthread_create(&r[i].t, NULL, remover_client_main, &r[i]), 0);
	}
	uint64_t until = it_mono_ns() + (uint64_t)(60e9 * it_time_scale());
	while (atomic_load(&answered) < 12 && it_mono_ns() < until)
		usleep(5000);
	char *err = NULL;
	cr_assert_eq(sit_docker_at(NULL, NULL, &err, "rm", "-f", x.name, NULL), 0,
	             "docker rm -f: %s", err);
	free(err);
	for (int i = 0; i < N; i++) {
		pthread_join(r[i].t, NULL);
		cr_expect_eq(r[i].lost, 0,
		             "client %d: an answer that is neither 2xx nor "
		             "Docker's error: %s",
		             i, r[i].bad);
		cr_expect_gt(r[i].ok, 0);
	}
	cr_assert(sit_serve_alive(&s));
	/* Gone: Docker's answer. */
	char *body = NULL;
	cr_expect_eq(update_once(s.sock, x.name, "{\"Memory\":262144000}", &body), 404, "%s", body);
	cr_expect(docker_style(body) && strstr(body, "No such container"), "%s", body);
	free(body);
	/* Another container: enforced and recorded. */
	cr_expect_eq(
	        update_once(s.sock, y.name, "{\"Memory\":262144000,\"CpuQuota\":42000}", &body),
	        200, "%s", body);
	free(body);
	struct sit_limits rec;
	sit_record(y.name, &rec);
	cr_expect(rec.memory == 250 * MIB && rec.quota == 42000);
	sit_assert_kernel(y.pid, &rec, y.name);
	cr_expect_eq(sit_serve_stop(&s, &err), 0, "serve: %s", err);
	free(err);
}
