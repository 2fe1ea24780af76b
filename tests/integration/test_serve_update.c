/* cglat serve's update path against the real dockerd and real containers (root; cgroup v1,
 * v2 or hybrid): serve_update_handle called in-process with the request a client would
 * send. An update is written in the kernel's files and recorded in Docker's (docker
 * inspect); what dockerd refuses is refused with dockerd's own status and message (asked
 * of dockerd itself here) and changes nothing; dockerd gone between the write and the
 * record puts the files back and answers 502; with --reply-after enforce two updates back
 * to back end with the newest values in the files and in Docker's record; a container run
 * with --cpus refuses a CPU quota as dockerd does. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker_http.h"
#include "helpers.h"
#include "serve_it.h"
#include "serve_update.h"

struct ctr {
	char id[65], name[64];
	pid_t pid;
};

static struct ctr run_container(const char *tag, const char *const extra[])
{
	struct ctr c = {0};
	it_ensure_image();
	snprintf(c.name, sizeof(c.name), "cglat-su-%s-%d", tag, (int)getpid());
	const char *argv[24] = {"docker",  "run",
	                        "-d",      "--network",
	                        "none",    "--cgroupns=host",
	                        "--label", "cglat.test=serve_update",
	                        "--name",  c.name};
	size_t n = 10;
	for (size_t i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n++] = IT_IMAGE;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_run(argv, 60, &out, &err, &status, NULL), 0);
	cr_assert_eq(it_exit_code(status), 0, "docker run failed: %s", err);
	snprintf(c.id, sizeof(c.id), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", c.id, NULL), 0);
	c.pid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(c.pid, 0);
	return c;
}

static void remove_containers(void)
{
	sit_remove_labelled("serve_update");
}

TestSuite(serve_update, .init = remove_containers, .fini = remove_containers, .timeout = 180);

/* ---- requests and answers ---- */

struct answer {
	int status;
	char *raw;
	char *body;
	bool close;
};

static struct answer handle_as(struct serve_updates *u, const char *method, const char *version,
                               const char *ref, const char *json)
{
	struct serve_request req = {0};
	char path[300], head[1024];
	snprintf(path, sizeof(path), "%s/containers/%s/update", version, ref);
	snprintf(head, sizeof(head),
	         "%s %s HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: "
	         "Docker-Client/20.10.24+dfsg1 (linux)\r\nContent-Length: %zu\r\nContent-Type: "
	         "application/json\r\n\r\n",
	         method, path, strlen(json));
	req.head = head;
	req.head_len = strlen(head);
	req.body = json;
	req.body_len = strlen(json);
	req.path = path;
	snprintf(req.container, sizeof(req.container), "%s", ref);
	req.received_ns = req.whole_ns = it_mono_ns();
	/* What serve's relay reads from that head. */
	req.post = strcmp(method, "POST") == 0;
	req.has_content_type = true;
	req.content_type = "application/json";
	struct serve_response resp;
	serve_update_handle(u, &req, &resp);
	cr_assert_not_null(resp.raw, "no answer");
	struct answer a = {.close = resp.close};
	a.raw = malloc(resp.len + 1);
	memcpy(a.raw, resp.raw, resp.len);
	a.raw[resp.len] = '\0';
	free(resp.raw);
	cr_assert_eq(sscanf(a.raw, "HTTP/1.%*d %d", &a.status), 1, "%s", a.raw);
	char *b = strstr(a.raw, "\r\n\r\n");
	cr_assert_not_null(b, "%s", a.raw);
	a.body = b + 4;
	return a;
}

static struct answer handle(struct serve_updates *u, const char *ref, const char *json)
{
	return handle_as(u, "POST", "/v1.41", ref, json);
}

/* The same request straight to dockerd: its status and body. */
static struct answer dockerd(const char *ref, const char *json)
{
	struct dh_conn c;
	dh_init(&c, SIT_DOCKER_SOCK, 5000, 60000, 1 << 20);
	char path[300];
	struct dh_request rq = sit_update_request(path, sizeof(path), ref, json);
	struct cg_err err;
	cr_assert_eq(dh_request(&c, &rq, &err), 0, "%s", err.msg);
	struct answer a = {.status = (int)c.resp.status};
	a.raw = strdup(c.resp.body ? c.resp.body : "");
	a.body = a.raw;
	dh_free(&c);
	return a;
}

static struct serve_updates *open_updates(enum serve_reply_after mode, const char *sock)
{
	struct serve_config cfg = {
	        .listen = "/nonexistent", .docker_sock = sock, .reply_after = mode, .verbose = 1};
	struct serve_updates *u = NULL;
	struct cg_err err;
	cr_assert_eq(serve_updates_open(&cfg, &u, &err), 0, "%s", err.msg);
	return u;
}

static char *inspect(const char *id)
{
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f",
	                       "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
	                       "{{.HostConfig.MemoryReservation}} {{.HostConfig.NanoCpus}} "
	                       "{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} "
	                       "{{.HostConfig.CpuShares}} {{.HostConfig.CpusetCpus}} "
	                       "{{.HostConfig.PidsLimit}}",
	                       id, NULL),
	             0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* A cgroup file of the container, by its v1 name (the v2 file on v2). */
static char *file_of(pid_t pid, const char *controller, const char *v1_file)
{
	static char text[8][256];
	static int next;
	char dir[512], path[800];
	cr_assert_eq(it_cgroup_dir(pid, controller, dir, sizeof(dir)), 0);
	const char *file = it_cgroup_file(v1_file);
	if (it_cgroup_v2() && !strcmp(v1_file, "memory.soft_limit_in_bytes"))
		file = "memory.low";
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *buf = text[next++ % 8];
	cr_assert_eq(it_read_text(path, buf, 256), 0, "cannot read %s", path);
	return buf;
}

static char *snapshot(pid_t pid)
{
	return it_strf("%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %s %s %s",
	               it_read_limit(pid, IT_MEMORY), it_read_limit(pid, IT_MEMORY_SWAP),
	               it_read_limit(pid, IT_CPU_QUOTA), it_read_limit(pid, IT_CPU_PERIOD),
	               file_of(pid, "cpu", "cpu.shares"), file_of(pid, "pids", "pids.max"),
	               file_of(pid, "memory", "memory.soft_limit_in_bytes"));
}

static void free_answer(struct answer *a)
{
	free(a->raw);
	a->raw = NULL;
}

/* ---- the default mode: answered after dockerd's record ---- */

Test(serve_update, enforced_in_the_files_and_recorded_in_docker)
{
	const char *mem[] = {"--memory", "100m", NULL};
	struct ctr c = run_container("rec", mem);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, NULL);
	uint64_t t0 = it_mono_ns();
	struct answer a =
	        handle(u, c.name,
	               "{\"Memory\":157286400,\"MemorySwap\":314572800,\"CpuQuota\":50000,"
	               "\"CpuShares\":512,\"PidsLimit\":100,\"MemoryReservation\":"
	               "52428800,\"CpusetCpus\":\"0\"}");
	uint64_t t1 = it_mono_ns();
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_str_eq(a.body, "{\"Warnings\":null}\n");
	cr_assert(strstr(a.raw, "Server: Docker/"), "dockerd's own answer: %s", a.raw);
	cr_log_info("update through serve_update_handle: %.1f ms", (double)(t1 - t0) / 1e6);
	cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 150 << 20);
	if (it_docker_swap_limit())
		cr_assert_eq(it_read_limit(c.pid, IT_MEMORY_SWAP), 300 << 20);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 50000);
	cr_assert_str_eq(file_of(c.pid, "cpu", "cpu.shares"), it_cgroup_v2() ? "20" : "512");
	cr_assert_str_eq(file_of(c.pid, "pids", "pids.max"), "100");
	cr_assert_str_eq(file_of(c.pid, "memory", "memory.soft_limit_in_bytes"), "52428800");
	cr_assert_str_eq(file_of(c.pid, "cpuset", "cpuset.cpus"), "0");
	char *rec = inspect(c.id);
	cr_assert_str_eq(rec, it_docker_swap_limit()
	                              ? "157286400 314572800 52428800 0 50000 0 512 0 100"
	                              : "157286400 -1 52428800 0 50000 0 512 0 100");
	free(rec);
	free_answer(&a);

	/* By id prefix, then by full id; the second finds the container in the cache. */
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", c.id);
	a = handle(u, prefix, "{\"NanoCpus\":0,\"CpuQuota\":60000}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 60000);
	free_answer(&a);
	a = handle(u, c.id, "{\"CpuQuota\":-1}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), -1);
	free_answer(&a);
	struct su_counts n;
	su_counts(u, &n);
	cr_assert_eq(n.updates, 3);
	cr_assert_eq(n.enforced, 3);
	cr_assert_eq(n.recorded, 3);
	cr_assert_eq(n.refused + n.failed_records + n.rolled_back, 0);

	struct serve_response st;
	serve_stats_response(u, &st);
	cr_assert_not_null(st.raw);
	cr_assert(strstr(st.raw, "\"updates\":3"), "%.*s", (int)st.len, st.raw);
	cr_assert(strstr(st.raw, "\"received_to_enforced\":{\"n\":3,"), "%.*s", (int)st.len,
	          st.raw);
	cr_assert(strstr(st.raw, "\"whole_to_enforced\":{\"n\":3,"), "%.*s", (int)st.len, st.raw);
	cr_log_info("stats: %.*s", (int)st.len, st.raw);
	free(st.raw);
	serve_updates_close(u);
}

/* Someone else's `docker update` between two updates through serve, then a restart: each
 * update lands in the files of the container's cgroup as it is then (serve keeps the files
 * of a container open while its process lives, and opens them again after a restart). */
Test(serve_update, foreign_updates_and_restarts_are_followed)
{
	const char *mem[] = {"--memory", "100m", "--memory-swap", "400m", NULL};
	struct ctr c = run_container("foreign", mem);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, NULL);
	struct answer a = handle(u, c.name, "{\"Memory\":157286400}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 150 << 20);

	cr_assert_eq(it_docker(NULL, NULL, "update", "--memory", "120m", c.id, NULL), 0);
	cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 120 << 20);
	usleep(300000); /* serve hears of it on dockerd's event stream and reads it again */
	a = handle(u, c.name, "{\"Memory\":167772160}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 160 << 20);

	cr_assert_eq(it_docker(NULL, NULL, "restart", "-t", "0", c.id, NULL), 0);
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", c.id, NULL), 0);
	pid_t pid = (pid_t)atoi(out);
	free(out);
	cr_assert(pid > 0 && pid != c.pid, "a new process after the restart: %d", (int)pid);
	a = handle(u, c.name, "{\"Memory\":178257920}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	cr_assert_eq(it_read_limit(pid, IT_MEMORY), 170 << 20);
	char *rec = inspect(c.id);
	cr_assert(strncmp(rec, "178257920 ", 10) == 0, "Docker's record: %s", rec);
	free(rec);
	struct su_counts n;
	su_counts(u, &n);
	cr_assert_eq(n.enforced, 3);
	cr_assert_eq(n.refused + n.failed_records + n.rolled_back, 0);
	serve_updates_close(u);
}

/* What dockerd refuses, serve refuses with dockerd's status and words, and writes nothing. */
Test(serve_update, refused_as_dockerd_refuses_and_nothing_changes)
{
	const char *mem[] = {"--memory", "100m", NULL};
	struct ctr c = run_container("refuse", mem);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, NULL);
	char *files = snapshot(c.pid), *rec = inspect(c.id);
	/* Refusals that dockerd makes before runc, so asking dockerd itself changes nothing. */
	static const char *const bodies[] = {
	        "{\"Memory\":1000}",
	        "{\"Memory\":314572800}",
	        "{\"Memory\":314572800,\"MemorySwap\":104857600}",
	        "{\"Memory\":1.5}",
	        "{\"Memory\":\"x\"}",
	        "{\"Memory\":99999999999999999999}",
	        "{\"Memory\":",
	        "",
	        "[]",
	        "{\"Memory\":01}",
	        "{\"NanoCpus\":-1}",
	        "{\"NanoCpus\":1000000000,\"CpuQuota\":50000}",
	        "{\"CpuPeriod\":500}",
	        "{\"CpuQuota\":500}",
	        "{\"CpusetCpus\":\"999\"}",
	        "{\"CpusetCpus\":\"0-a\"}",
	        "{\"CpusetMems\":\"7\"}",
	        "{\"MemoryReservation\":1000}",
	        "{\"Memory\":104857600,\"MemoryReservation\":209715200}",
	        "{\"RestartPolicy\":{\"Name\":\"bogus\"}}",
	        "{\"PidsLimit\":\"x\"}",
	        "{\"BlkioWeight\":70000}",
	        "{\"IOMaximumBandwidth\":1}",
	        "{\"RestartPolicy\":{\"Name\":5}}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct answer want = dockerd(c.name, bodies[i]);
		struct answer got = handle(u, c.name, bodies[i]);
		cr_assert_eq(got.status, want.status, "%s: serve %d %s, dockerd %d %s", bodies[i],
		             got.status, got.body, want.status, want.body);
		cr_assert_str_eq(got.body, want.body, "%s", bodies[i]);
		free_answer(&want);
		free_answer(&got);
	}
	/* What runc refuses: dockerd would have runc write the clamped value first. */
	struct answer a = handle(u, c.name, "{\"CpuShares\":1}");
	cr_assert_eq(a.status, 500);
	if (!it_cgroup_v2()) {
		char *want = it_strf("{\"message\":\"Cannot update container %s: runc did not "
		                     "terminate successfully: exit status 1: the minimum allowed "
		                     "cpu-shares is 2\\n: unknown\"}\n",
		                     c.id);
		cr_assert_str_eq(a.body, want);
		free(want);
	}
	free_answer(&a);
	a = handle(u, c.name, "{\"NanoCpus\":1000000}"); /* a quota of 100 us */
	cr_assert_eq(a.status, 500, "%s", a.raw);
	cr_assert(strstr(a.body, "runc did not terminate successfully: exit status 1: failed to "
	                         "write \\\"100"),
	          "%s", a.body);
	free_answer(&a);
	/* An id no lookup sees. */
	a = handle(u, "../../version", "{}");
	cr_assert_eq(a.status, 404);
	cr_assert_str_eq(a.body, "{\"message\":\"No such container: ../../version\"}\n");
	free_answer(&a);
	a = handle(u, "cglat-no-such-container", "{\"Memory\":10485760}");
	cr_assert_eq(a.status, 404);
	cr_assert_str_eq(a.body, "{\"message\":\"No such container: cglat-no-such-container\"}\n");
	free_answer(&a);
	char *files_after = snapshot(c.pid), *rec_after = inspect(c.id);
	cr_assert_str_eq(files_after, files, "files changed");
	cr_assert_str_eq(rec_after, rec, "Docker's record changed");
	struct su_counts n;
	su_counts(u, &n);
	cr_assert_eq(n.enforced, 0);
	serve_updates_close(u);
	free(files);
	free(rec);
	free(files_after);
	free(rec_after);
}

Test(serve_update, cpus_container_refuses_a_quota_as_dockerd_does)
{
	const char *cpus[] = {"--cpus", "1.5", NULL};
	struct ctr c = run_container("cpus", cpus);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, NULL);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 150000);
	struct answer want = dockerd(c.name, "{\"CpuQuota\":50000}");
	cr_assert_eq(want.status, 409, "%s", want.body);
	struct answer a = handle(u, c.name, "{\"CpuQuota\":50000}");
	cr_assert_eq(a.status, 409);
	cr_assert_str_eq(a.body, want.body);
	char *msg = it_strf("{\"message\":\"Cannot update container %s: Conflicting options: CPU "
	                    "Quota cannot be updated as NanoCPUs has already been set\"}\n",
	                    c.id);
	cr_assert_str_eq(a.body, msg);
	free(msg);
	free_answer(&a);
	free_answer(&want);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 150000);
	/* --cpus itself updates. */
	a = handle(u, c.name, "{\"NanoCpus\":500000000}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 50000);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_PERIOD), 100000);
	free_answer(&a);
	char *rec = inspect(c.id);
	cr_assert(strstr(rec, " 500000000 0 0 0 "), "%s", rec);
	free(rec);
	serve_updates_close(u);
}

/* ---- dockerd gone between the write and the record ---- */

/* A socket in front of dockerd: each connection relayed by a thread of its own, until
 * cut() closes them all and the listener (then connecting is refused). */
struct front {
	int lfd;
	char path[108];
	pthread_t thread;
	pthread_mutex_t mu;
	int fds[64];
	size_t n;
	bool cut;
};

struct pump {
	struct front *f;
	int client;
};

static void *pump_main(void *arg)
{
	struct pump *p = arg;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", SIT_DOCKER_SOCK);
	int up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (up >= 0 && connect(up, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pthread_mutex_lock(&p->f->mu);
		if (p->f->n < 64)
			p->f->fds[p->f->n++] = up;
		pthread_mutex_unlock(&p->f->mu);
		char buf[65536];
		struct pollfd pfd[2] = {{.fd = p->client, .events = POLLIN},
		                        {.fd = up, .events = POLLIN}};
		for (;;) {
			if (poll(pfd, 2, 200) < 0 && errno != EINTR)
				break;
			if (p->f->cut)
				break;
			int from = pfd[0].revents ? 0 : pfd[1].revents ? 1 : -1;
			if (from < 0)
				continue;
			ssize_t n = read(pfd[from].fd, buf, sizeof(buf));
			if (n <= 0 || send(pfd[1 - from].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
				break;
		}
	}
	if (up >= 0)
		close(up);
	shutdown(p->client, SHUT_RDWR);
	close(p->client);
	free(p);
	return NULL;
}

static void *front_main(void *arg)
{
	struct front *f = arg;
	for (;;) {
		int c = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		struct pump *p = malloc(sizeof(*p));
		p->f = f;
		p->client = c;
		pthread_t t;
		pthread_create(&t, NULL, pump_main, p);
		pthread_detach(t);
	}
}

static void front_start(struct front *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	snprintf(f->path, sizeof(f->path), "/tmp/cglat-su-front-%d.sock", (int)getpid());
	unlink(f->path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(f->lfd >= 0 && bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	          listen(f->lfd, 16) == 0);
	cr_assert_eq(pthread_create(&f->thread, NULL, front_main, f), 0);
}

/* dockerd "goes away": connections end, new ones are refused (the socket file stays). */
static void front_cut(struct front *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	f->cut = true;
	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n; i++)
		shutdown(f->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&f->mu);
	usleep(400000); /* the pumps see it */
}

Test(serve_update, dockerd_unreachable_is_502_and_the_files_are_put_back)
{
	const char *mem[] = {"--memory", "100m", NULL};
	struct ctr c = run_container("gone", mem);
	struct front f;
	front_start(&f);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, f.path);
	/* One update through the front, so the container is in the cache. */
	struct answer a = handle(u, c.name, "{\"CpuQuota\":40000}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	char *files = snapshot(c.pid), *rec = inspect(c.id);
	front_cut(&f);
	struct stat st;
	cr_assert_eq(stat(f.path, &st), 0, "the socket file stays: connecting is refused");
	a = handle(u, c.name,
	           "{\"Memory\":157286400,\"MemorySwap\":314572800,\"CpuQuota\":70000,"
	           "\"PidsLimit\":50}");
	cr_assert_eq(a.status, 502, "%s", a.raw);
	cr_log_info("502: %s", a.body);
	cr_assert(strstr(a.body, "could not record the update of container"), "%s", a.body);
	cr_assert(strstr(a.body, "the limits written were put back"), "%s", a.body);
	cr_assert(strstr(a.body, "connection refused"), "%s", a.body);
	free_answer(&a);
	char *files_after = snapshot(c.pid), *rec_after = inspect(c.id);
	cr_assert_str_eq(files_after, files, "the files were not put back");
	cr_assert_str_eq(rec_after, rec);
	struct su_counts n;
	su_counts(u, &n);
	cr_assert_eq(n.rolled_back, 1);
	cr_assert_eq(n.failed_records, 1);
	serve_updates_close(u);
	unlink(f.path);
	free(files);
	free(rec);
	free(files_after);
	free(rec_after);
}

/* ---- --reply-after enforce ---- */

Test(serve_update, enforce_mode_two_updates_end_with_the_newest_values)
{
	const char *mem[] = {"--memory", "100m", "--memory-swap", "400m", NULL};
	struct ctr c = run_container("enforce", mem);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_ENFORCE, NULL);
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = it_mono_ns();
		struct answer a1 = handle(u, c.name, "{\"Memory\":136314880,\"CpuQuota\":30000}");
		uint64_t t1 = it_mono_ns();
		struct answer a2 = handle(u, c.name,
		                          "{\"Memory\":146800640,\"CpuQuota\":40000,"
		                          "\"CpuShares\":256}");
		cr_assert_eq(a1.status, 200, "%s", a1.raw);
		cr_assert_eq(a2.status, 200, "%s", a2.raw);
		cr_assert_str_eq(a1.body, "{\"Warnings\":null}\n");
		cr_assert(strstr(a1.raw, "Api-Version: 1.41\r\nContent-Type: application/json\r\n"
		                         "Docker-Experimental: false\r\nOstype: linux\r\nServer: "
		                         "Docker/"),
		          "dockerd's headers: %s", a1.raw);
		cr_log_info("enforce mode: answered in %.0f us", (double)(t1 - t0) / 1e3);
		/* Answered before the record: the files hold it already. */
		cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 140 << 20);
		cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 40000);
		free_answer(&a1);
		free_answer(&a2);
		/* Wait for both records. */
		for (int i = 0; i < 600; i++) {
			struct su_counts n;
			su_counts(u, &n);
			if (n.pending == 0)
				break;
			usleep(10000);
		}
		cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 140 << 20, "round %d", round);
		cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 40000);
		cr_assert_str_eq(file_of(c.pid, "cpu", "cpu.shares"),
		                 it_cgroup_v2() ? "10" : "256");
		char *rec = inspect(c.id);
		cr_assert(!strncmp(rec, "146800640 419430400 0 0 40000 0 256 ", 36), "%s", rec);
		free(rec);
		/* ... and the other way round. */
		a1 = handle(u, c.name, "{\"Memory\":146800640,\"CpuQuota\":40000}");
		a2 = handle(u, c.name, "{\"Memory\":136314880,\"CpuQuota\":30000}");
		cr_assert_eq(a2.status, 200);
		free_answer(&a1);
		free_answer(&a2);
	}
	serve_updates_close(u); /* finishes the records queued */
	cr_assert_eq(it_read_limit(c.pid, IT_MEMORY), 130 << 20);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 30000);
	char *rec = inspect(c.id);
	cr_assert(!strncmp(rec, "136314880 419430400 0 0 30000 ", 30), "%s", rec);
	free(rec);
}

/* A background record that fails (dockerd gone): the files follow Docker's record. */
Test(serve_update, enforce_mode_a_failed_record_puts_the_files_back)
{
	const char *mem[] = {"--memory", "100m", NULL};
	struct ctr c = run_container("enfgone", mem);
	struct front f;
	front_start(&f);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_ENFORCE, f.path);
	struct answer a = handle(u, c.name, "{\"CpuQuota\":40000}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	for (int i = 0; i < 600; i++) {
		struct su_counts n;
		su_counts(u, &n);
		if (n.pending == 0)
			break;
		usleep(10000);
	}
	char *files = snapshot(c.pid), *rec = inspect(c.id);
	cr_assert(strstr(rec, " 40000 "), "%s", rec);
	front_cut(&f);
	a = handle(u, c.name, "{\"CpuQuota\":70000,\"PidsLimit\":50}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_eq(it_read_limit(c.pid, IT_CPU_QUOTA), 70000, "enforced before the record");
	free_answer(&a);
	serve_updates_close(u); /* the record fails: dockerd refuses connections */
	char *after = snapshot(c.pid), *rec_after = inspect(c.id);
	cr_assert_str_eq(after, files, "the files follow Docker's record");
	cr_assert_str_eq(rec_after, rec);
	unlink(f.path);
	free(files);
	free(rec);
	free(after);
	free(rec_after);
}

Test(serve_update, a_stopped_container_is_only_recorded)
{
	struct ctr c = run_container("stopped", NULL);
	cr_assert_eq(it_docker(NULL, NULL, "stop", "-t", "0", c.id, NULL), 0);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_ENFORCE, NULL);
	struct answer a = handle(u, c.name, "{\"CpuShares\":300,\"PidsLimit\":42}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	free_answer(&a);
	char *rec = inspect(c.id);
	cr_assert(strstr(rec, " 300 ") && strstr(rec, " 42"), "%s", rec);
	free(rec);
	serve_updates_close(u);
}

/* Below API 1.40 PidsLimit is not an update's; a method other than POST, or an API version
 * dockerd does not speak, is dockerd's to answer. */
Test(serve_update, api_versions_and_methods_as_dockerd_has_them)
{
	struct ctr c = run_container("api", NULL);
	struct serve_updates *u = open_updates(SERVE_REPLY_AFTER_RECORD, NULL);
	char *pids = strdup(file_of(c.pid, "pids", "pids.max"));
	struct answer a = handle_as(u, "POST", "/v1.39", c.name, "{\"PidsLimit\":50}");
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_str_eq(file_of(c.pid, "pids", "pids.max"), pids);
	free_answer(&a);
	a = handle_as(u, "POST", "", c.name, "{\"PidsLimit\":50}"); /* unversioned: 1.41 */
	cr_assert_eq(a.status, 200, "%s", a.raw);
	cr_assert_str_eq(file_of(c.pid, "pids", "pids.max"), "50");
	free_answer(&a);
	a = handle_as(u, "POST", "/v1.99", c.name, "{\"PidsLimit\":60}");
	cr_assert_eq(a.status, 400, "%s", a.raw);
	cr_assert(strstr(a.body, "client version 1.99 is too new"), "%s", a.body);
	free_answer(&a);
	a = handle_as(u, "GET", "/v1.41", c.name, "");
	cr_assert_eq(a.status, 404, "dockerd's answer to GET: %s", a.raw);
	free_answer(&a);
	cr_assert_str_eq(file_of(c.pid, "pids", "pids.max"), "50");
	free(pids);
	serve_updates_close(u);
}
