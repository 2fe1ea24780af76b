/* cglat set against real containers (root, dockerd; cgroup v1, v2 or hybrid): the
 * kernel's files change, Docker's record does not, bad input changes nothing, and a
 * change that the kernel refuses half way is put back. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"

static char cid[65];
static char cname[64];
static pid_t cpid;

static void start_container(void)
{
	it_ensure_image();
	snprintf(cname, sizeof(cname), "cglat-set-%d", (int)getpid());
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "run", "-d", "--network", "none", "--cgroupns=host",
	                   "--label", "cglat.test=set", "--name", cname, IT_IMAGE, NULL);
	cr_assert_eq(rc, 0, "docker run failed: %s", err);
	snprintf(cid, sizeof(cid), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", cid, NULL), 0);
	cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);
}

static void remove_container(void)
{
	if (*cid)
		it_docker(NULL, NULL, "rm", "-f", cid, NULL);
}

TestSuite(set, .init = start_container, .fini = remove_container, .timeout = 120);

/* The text of a cgroup file of the container: "memory", "memory.limit_in_bytes" (the
 * v1 name; on v2 the file that holds the same limit is read). */
static char *file_of(const char *controller, const char *v1_file)
{
	const char *file = it_cgroup_file(v1_file);
	static char text[8][256];
	static int next;
	char dir[512], path[700];
	cr_assert_eq(it_cgroup_dir(cpid, controller, dir, sizeof(dir)), 0, "no %s cgroup",
	             controller);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *buf = text[next++ % 8];
	cr_assert_eq(it_read_text(path, buf, 256), 0, "cannot read %s", path);
	return buf;
}

/* Every file a test below might touch, as one string. */
static char *snapshot(void)
{
	return it_strf("%s %s %s %s %s %s %s", file_of("memory", "memory.limit_in_bytes"),
	               file_of("memory", "memory.memsw.limit_in_bytes"),
	               file_of("cpu", "cpu.cfs_quota_us"), file_of("cpu", "cpu.cfs_period_us"),
	               file_of("cpu", "cpu.shares"), file_of("cpuset", "cpuset.cpus"),
	               file_of("pids", "pids.max"));
}

static char *docker_view(void)
{
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f",
	                       "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
	                       "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} "
	                       "{{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
	                       cid, NULL),
	             0);
	return out;
}

static int cglat(char **out, char **err, const char *const args[])
{
	int status = 0;
	cr_assert_eq(it_cglat(args, out, err, &status, NULL), 0, "cglat timed out");
	return it_exit_code(status);
}

/* The ns figure of "wrote N files in X us (NS ns)". */
static uint64_t write_ns(const char *out)
{
	const char *p = strstr(out, "wrote ");
	cr_assert_not_null(p, "no summary line in: %s", out);
	p = strchr(p, '(');
	cr_assert_not_null(p);
	return strtoull(p + 1, NULL, 10);
}

Test(set, changes_the_kernel_files_and_docker_does_not_see_it)
{
	char *docker_before = docker_view();
	const char *args[] = {"set",          cname, "--memory",   "256m", "--cpus",   "0.5",
	                      "--cpu-shares", "512", "--pids-max", "100",  "--verify", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_log_info("cglat set: %s", out);
	/* Docker's defaults before, the values asked for after, in each version's terms:
	 * 512 shares are weight 1 + (512 - 2) * 9999 / 262142 = 20 on v2. */
	const bool v2 = it_cgroup_v2();
	const char *want[] = {v2 ? "memory.max: max -> 268435456\n"
	                         : "memory.limit_in_bytes: 9223372036854771712 -> 268435456\n",
	                      v2 ? "cpu.max: max 100000 -> 50000 100000\n"
	                         : "cpu.cfs_quota_us: -1 -> 50000\n",
	                      v2 ? "cpu.weight: 100 -> 20\n" : "cpu.shares: 1024 -> 512\n",
	                      "pids.max: max -> 100\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(out, want[i]), "no line %s in: %s", want[i], out);
	cr_assert(strstr(out, "wrote 4 files in "), "%s", out);
	cr_assert(strstr(out, ", verified"), "%s", out);
	cr_assert(strstr(err, "warning: Docker does not know about this change"), "%s", err);
	cr_assert_eq(it_count_lines(err), 1, "one warning only: %s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 256 << 20);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 50000);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_PERIOD), 100000);
	cr_assert_str_eq(file_of("cpu", "cpu.shares"), v2 ? "20" : "512");
	cr_assert_str_eq(file_of("pids", "pids.max"), "100");
	char *docker_after = docker_view();
	cr_assert_str_eq(docker_after, docker_before, "Docker's record changed");
	free(docker_before);
	free(docker_after);
	free(out);
	free(err);
}

/* The floor cglat set is held to: one write(2) each of the memory limit and the CPU
 * quota of the container, on fds kept open, with the values of iteration i. */
static uint64_t floor_ns(int i)
{
	char dir[512], mem[700], cpu[700], cpu_value[32];
	cr_assert_eq(it_cgroup_dir(cpid, "memory", dir, sizeof(dir)), 0);
	snprintf(mem, sizeof(mem), "%s/%s", dir, it_cgroup_file("memory.limit_in_bytes"));
	cr_assert_eq(it_cgroup_dir(cpid, "cpu", dir, sizeof(dir)), 0);
	snprintf(cpu, sizeof(cpu), "%s/%s", dir, it_cgroup_file("cpu.cfs_quota_us"));
	snprintf(cpu_value, sizeof(cpu_value), "%s%s", i % 2 ? "50000" : "60000",
	         it_cgroup_v2() ? " 100000" : "");
	const char *mem_value = i % 2 ? "134217728" : "135266304";
	int fm = open(mem, O_WRONLY | O_CLOEXEC), fc = open(cpu, O_WRONLY | O_CLOEXEC);
	cr_assert(fm >= 0 && fc >= 0, "cannot open %s or %s: %s", mem, cpu, strerror(errno));
	uint64_t t0 = it_mono_ns();
	ssize_t a = write(fm, mem_value, strlen(mem_value));
	uint64_t t1 = it_mono_ns();
	ssize_t b = write(fc, cpu_value, strlen(cpu_value));
	uint64_t t2 = it_mono_ns();
	cr_assert(a > 0 && b > 0, "writing %s or %s: %s", mem, cpu, strerror(errno));
	close(fm);
	close(fc);
	return (t1 - t0) + (t2 - t1);
}

/* The figure the issue asks for: memory and CPU on a running container, in microseconds,
 * held to the cost of the two writes themselves measured in the same run, so the check
 * means the same on a fast host and in a slow VM. */
Test(set, memory_and_cpu_writes_cost_about_two_writes)
{
	uint64_t best = UINT64_MAX, sum = 0, floor_best = UINT64_MAX;
	for (int i = 0; i < 10; i++) {
		const char *args[] = {"set",      cid,
		                      "--memory", i % 2 ? "128m" : "129m",
		                      "--cpus",   i % 2 ? "0.5" : "0.6",
		                      NULL};
		char *out = NULL, *err = NULL;
		cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
		uint64_t ns = write_ns(out), f = floor_ns(i);
		best = ns < best ? ns : best;
		floor_best = f < floor_best ? f : floor_best;
		sum += ns;
		free(out);
		free(err);
	}
	cr_log_info("memory+cpu writes: cglat set best %" PRIu64 " ns, mean %" PRIu64
	            " ns; two writes on open fds best %" PRIu64 " ns",
	            best, sum / 10, floor_best);
	cr_assert_lt(best, 3 * floor_best,
	             "cglat set's best of 10 is %" PRIu64 " ns, over 3x the %" PRIu64
	             " ns of two writes on open fds",
	             best, floor_best);
}

Test(set, json_and_dry_run)
{
	char *before = snapshot();
	const char *args[] = {"set",   cid,         "--memory", "64m",  "--cpu-quota",
	                      "20000", "--dry-run", "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_assert(strstr(out, "\"dry_run\": true"), "%s", out);
	char *file = it_strf("\"file\": \"%s\"", it_cgroup_file("memory.limit_in_bytes"));
	cr_assert(strstr(out, file), "no %s in: %s", file, out);
	free(file);
	cr_assert(strstr(out, it_cgroup_v2() ? "\"new\": \"20000 100000\"" : "\"new\": \"20000\""),
	          "%s", out);
	cr_assert(it_cgroup_v2()
	                  ? strstr(out, "\"mode\": \"v2\"") != NULL
	                  : strstr(out, "\"mode\": \"hybrid\"") || strstr(out, "\"mode\": \"v1\""),
	          "%s", out);
	char *after = snapshot();
	cr_assert_str_eq(after, before, "a dry run changed files");
	free(out);
	free(err);
	free(before);
	free(after);
}

Test(set, pid_and_cgroup_targets_and_nice)
{
	char pid[16], cgroup[128];
	snprintf(pid, sizeof(pid), "%d", (int)cpid);
	snprintf(cgroup, sizeof(cgroup), "docker/%s", cid);
	const char *by_pid[] = {"set", "--pid", pid, "--cpu-quota", "30000", "--nice", "7", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, by_pid), 0, "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 30000);
	cr_assert(strstr(out, "nice: 1 task -> 7\n"), "%s", out);
	cr_assert(strstr(out, "reniced 1 task"), "%s", out);
	errno = 0;
	cr_assert_eq(getpriority(PRIO_PROCESS, (id_t)cpid), 7);
	free(out);
	free(err);
	const char *by_cgroup[] = {"set", "--cgroup", cgroup, "--pids-max", "77", NULL};
	cr_assert_eq(cglat(&out, &err, by_cgroup), 0, "%s", err);
	cr_assert_str_eq(file_of("pids", "pids.max"), "77");
	cr_assert(strstr(err, "Docker does not know"), "a cgroup of a container warns too: %s",
	          err);
	free(out);
	free(err);
}

static void refused(int want_exit, const char *want_err, const char *const args[])
{
	char *out = NULL, *err = NULL;
	int rc = cglat(&out, &err, args);
	cr_assert_eq(rc, want_exit, "%s %s: exit %d, stderr: %s", args[2], args[3], rc, err);
	cr_assert(strstr(err, want_err), "%s %s: stderr: %s", args[2], args[3], err);
	cr_assert_str_eq(out, "", "output on failure: %s", out);
	free(out);
	free(err);
}

Test(set, bad_input_changes_nothing)
{
	char *before = snapshot();
	refused(1, "is below the current usage",
	        (const char *[]){"set", cid, "--memory", "4k", NULL});
	refused(2, "must be greater than 0", (const char *[]){"set", cid, "--cpus", "0", NULL});
	refused(2, "from 2 to 262144", (const char *[]){"set", cid, "--cpu-shares", "1", NULL});
	if (!it_cgroup_v2())
		refused(1, "memory.high needs cgroup v2",
		        (const char *[]){"set", cid, "--memory-high", "1g", "--memory", "512m",
		                         NULL});
	refused(1, "no such container",
	        (const char *[]){"set", "cglat-no-such-container", "--memory", "1g", NULL});
	refused(1, "below the kernel's minimum",
	        (const char *[]){"set", cid, "--cpus", "0.001", NULL});
	/* The kernel refuses the CPU list after the memory limit was written: put back. */
	char *put_back = it_strf("put back the 1 file already written (%s)",
	                         it_cgroup_file("memory.limit_in_bytes"));
	refused(1, put_back,
	        (const char *[]){"set", cid, "--memory", "300m", "--cpuset-cpus", "0-999", NULL});
	free(put_back);
	char *after = snapshot();
	cr_assert_str_eq(after, before, "files changed");
	free(before);
	free(after);
}

/* ---- what cglat set asks of dockerd ---------------------------------------------------- */

#define DOCKER_SOCK "/var/run/docker.sock"

/* A unix-socket relay between cglat and the real dockerd, run in a thread of the test:
 * bytes pass unchanged both ways, and the requests cglat writes are counted by reading
 * them with http_parser. */
struct relay {
	int lfd, stop[2];
	char path[108];
	unsigned connections, requests;
	char lines[4][300]; /* "GET /containers/x/json" */
	char url[256];
	size_t url_len;
	pthread_t thread;
};

static int relay_on_url(http_parser *p, const char *at, size_t n)
{
	struct relay *r = p->data;
	if (r->url_len + n < sizeof(r->url)) {
		memcpy(r->url + r->url_len, at, n);
		r->url_len += n;
		r->url[r->url_len] = '\0';
	}
	return 0;
}

static int relay_on_request(http_parser *p)
{
	struct relay *r = p->data;
	if (r->requests < 4)
		snprintf(r->lines[r->requests], sizeof(r->lines[0]), "%s %s",
		         http_method_str((enum http_method)p->method), r->url);
	r->requests++;
	r->url_len = 0;
	r->url[0] = '\0';
	return 0;
}

static bool send_all(int fd, const char *buf, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	return true;
}

static void relay_pump(struct relay *r, int client)
{
	static const http_parser_settings st = {.on_url = relay_on_url,
	                                        .on_message_complete = relay_on_request};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", DOCKER_SOCK);
	int up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (up < 0 || connect(up, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (up >= 0)
			close(up);
		close(client);
		return;
	}
	http_parser parser;
	http_parser_init(&parser, HTTP_REQUEST);
	parser.data = r;
	char buf[65536];
	struct pollfd pfd[3] = {{.fd = client, .events = POLLIN},
	                        {.fd = up, .events = POLLIN},
	                        {.fd = r->stop[0], .events = POLLIN}};
	for (;;) {
		int pr = poll(pfd, 3, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0 || pfd[2].revents)
			break;
		if (pfd[0].revents) {
			ssize_t n = read(client, buf, sizeof(buf));
			if (n <= 0)
				break;
			http_parser_execute(&parser, &st, buf, (size_t)n);
			if (!send_all(up, buf, (size_t)n))
				break;
		}
		if (pfd[1].revents) {
			ssize_t n = read(up, buf, sizeof(buf));
			if (n <= 0 || !send_all(client, buf, (size_t)n))
				break;
		}
	}
	close(up);
	close(client);
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = r->lfd, .events = POLLIN},
		                        {.fd = r->stop[0], .events = POLLIN}};
		int pr = poll(pfd, 2, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0 || pfd[1].revents)
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		int c = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		r->connections++;
		relay_pump(r, c);
	}
	return NULL;
}

static void relay_start(struct relay *r)
{
	static int made;
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "/tmp/cglat-test-relay-%d-%d.sock", (int)getpid(),
	         made++);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	unlink(r->path);
	r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(r->lfd >= 0 && bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                  listen(r->lfd, 8) == 0,
	          "relay socket %s: %s", r->path, strerror(errno));
	cr_assert_eq(pipe2(r->stop, O_CLOEXEC), 0);
	cr_assert_eq(pthread_create(&r->thread, NULL, relay_main, r), 0);
}

/* Stops the relay; a connection still waiting in the backlog is counted too. */
static void relay_stop(struct relay *r)
{
	cr_assert_eq(write(r->stop[1], "x", 1), 1);
	pthread_join(r->thread, NULL);
	fcntl(r->lfd, F_SETFL, O_NONBLOCK);
	for (int c; (c = accept(r->lfd, NULL, NULL)) >= 0; close(c))
		r->connections++;
	close(r->lfd);
	close(r->stop[0]);
	close(r->stop[1]);
	unlink(r->path);
	cr_log_info("relay: %u connection(s), %u request(s): %s | %s", r->connections, r->requests,
	            r->lines[0], r->lines[1]);
}

/* The handshake (GET /version, GET /info) is not made for a lookup: resolving a
 * container by name is the one request that answers it. */
Test(set, by_name_is_one_engine_api_request)
{
	struct relay r;
	relay_start(&r);
	const char *args[] = {"set", cname, "--memory", "200m", "--docker-sock", r.path, NULL};
	char *out = NULL, *err = NULL;
	int rc = cglat(&out, &err, args);
	relay_stop(&r);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 200 << 20);
	cr_assert_eq(r.connections, 1, "%u connections to dockerd", r.connections);
	cr_assert_eq(r.requests, 1, "%u requests: %s | %s | %s", r.requests, r.lines[0], r.lines[1],
	             r.lines[2]);
	char *want = it_strf("GET /containers/%s/json", cname);
	cr_assert_str_eq(r.lines[0], want);
	free(want);
	free(out);
	free(err);
}

/* cglat set with args in a mount namespace of its own where the relay's socket is
 * bind-mounted over dockerd's: any connection to docker.sock reaches the relay. */
static int set_behind_relay(const struct relay *r, const char *const args[], char **out, char **err)
{
	char real[PATH_MAX];
	cr_assert_not_null(realpath(DOCKER_SOCK, real), "%s: %s", DOCKER_SOCK, strerror(errno));
	const char *argv[32] = {"unshare",
	                        "-m",
	                        "sh",
	                        "-c",
	                        "mount --bind \"$0\" \"$1\" && shift && exec \"$@\"",
	                        r->path,
	                        real,
	                        CGLAT_BIN};
	size_t n = 8;
	for (size_t i = 0; args[i]; i++) {
		cr_assert_lt(n, 31);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	int status = 0;
	cr_assert_eq(it_run(argv, 90, out, err, &status, NULL), 0, "unshare ... cglat timed out");
	return it_exit_code(status);
}

Test(set, no_daemon_finds_a_name_without_dockerd)
{
	struct relay r;
	relay_start(&r);
	const char *args[] = {"set", cname, "--no-daemon", "--memory", "190m", NULL};
	char *out = NULL, *err = NULL;
	int rc = set_behind_relay(&r, args, &out, &err);
	relay_stop(&r);
	cr_assert_eq(rc, 0, "%s", err);
	cr_log_info("cglat set NAME --no-daemon: %s", out);
	cr_assert(strstr(out, "-> 199229440\n"), "%s", out);
	char *label = it_strf("container %s (%.12s)", cname, cid);
	cr_assert(strstr(err, label), "no %s in: %s", label, err);
	free(label);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 190 << 20);
	cr_assert_eq(r.connections, 0, "cglat set --no-daemon connected to docker.sock");
	free(out);
	free(err);

	/* The same namespace without --no-daemon: its one request goes through the relay,
	 * so the count above would have seen a connection. */
	relay_start(&r);
	const char *daemon[] = {"set", cname, "--memory", "180m", NULL};
	rc = set_behind_relay(&r, daemon, &out, &err);
	relay_stop(&r);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 180 << 20);
	cr_assert_eq(r.connections, 1);
	cr_assert_eq(r.requests, 1, "%s | %s", r.lines[0], r.lines[1]);
	free(out);
	free(err);

	/* A name Docker's state directory does not hold: the directory is named. */
	const char *unknown[] = {
	        "set", "cglat-no-such-container", "--no-daemon", "--memory", "100m", NULL};
	cr_assert_eq(cglat(&out, &err, unknown), 1, "%s", err);
	cr_assert(strstr(err, "no container is named \"cglat-no-such-container\" in "
	                      "/var/lib/docker/containers"),
	          "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 180 << 20);
	free(out);
	free(err);
}

/* ---- --record: Docker's record follows ------------------------------------------------- */

Test(set, record_makes_docker_inspect_agree)
{
	const char *args[] = {"set",           cname,  "--memory",    "256m",
	                      "--memory-swap", "512m", "--cpu-quota", "40000",
	                      "--cpu-shares",  "256",  "--pids-max",  "80",
	                      "--record",      NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_assert(strstr(out, "recorded in Docker: POST /containers/"), "%s", out);
	cr_assert_null(strstr(err, "Docker does not know"), "no warning with --record: %s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 256 << 20);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 40000);
	cr_assert_str_eq(file_of("pids", "pids.max"), "80");
	char *view = docker_view();
	/* Memory MemorySwap NanoCpus CpuQuota CpuShares PidsLimit */
	cr_assert_str_eq(view,
	                 it_docker_swap_limit() ? "268435456 536870912 0 40000 256 80\n"
	                                        : "268435456 -1 0 40000 256 80\n",
	                 "%s", view);
	free(view);
	free(out);
	free(err);
	/* JSON says so too. */
	const char *json[] = {"set",      cname,      "--cpu-quota", "30000",
	                      "--record", "--format", "json",        NULL};
	cr_assert_eq(cglat(&out, &err, json), 0, "%s", err);
	cr_assert(strstr(out, "\"recorded\": true"), "%s", out);
	view = docker_view();
	cr_assert(strstr(view, " 30000 "), "%s", view);
	free(view);
	free(out);
	free(err);
}

Test(set, record_refused_by_dockerd_puts_the_files_back)
{
	const char *quota[] = {"set", cname, "--cpu-quota", "40000", "--record", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, quota), 0, "%s", err);
	free(out);
	free(err);
	char *before = snapshot(), *docker_before = docker_view();
	/* dockerd: "Nano CPUs cannot be updated as CPU Quota has already been set". */
	refused(1,
	        "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been "
	        "set (HTTP 409)",
	        (const char *[]){"set", cname, "--cpus", "0.5", "--record", NULL});
	refused(1, "so it was undone (put back: ",
	        (const char *[]){"set", cname, "--cpus", "0.5", "--memory", "300m", "--record",
	                         NULL});
	/* What Docker cannot hold is refused before anything is written. */
	refused(1, "--record: Docker cannot record --pids-max 0",
	        (const char *[]){"set", cname, "--pids-max", "0", "--record", NULL});
	char *after = snapshot(), *docker_after = docker_view();
	cr_assert_str_eq(after, before, "files changed");
	cr_assert_str_eq(docker_after, docker_before, "Docker's record changed");
	free(before);
	free(after);
	free(docker_before);
	free(docker_after);
}
