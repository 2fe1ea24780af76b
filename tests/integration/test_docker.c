/* docker.c against the live dockerd (root): a real idle container per test, limits
 * read back from the kernel's cgroup files. Criterion runs tests in parallel, so
 * every test owns its container (named after its pid) and removes it in .fini. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "docker_http.h"
#include "helpers.h"

#define IMAGE "cglat-idle:test"
#define LABEL "cglat.test=1"
#define MIB (1024LL * 1024)

static struct docker *d;
static char cid[65];
static char cname[64];

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s: %s (build the idle_tar target)", path,
	                   strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	void *buf = malloc((size_t)n);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void open_docker(void)
{
	struct cg_err err = {0};
	cr_assert_eq(docker_open(DOCKER_DEFAULT_SOCK, &d, NULL, &err), 0, "%s", err.msg);
}

static void ensure_image(const char *image, const char *path_or_null, const char *bytes)
{
	struct cg_err err = {0};
	size_t len = bytes ? strlen(bytes) : 0;
	void *bin = path_or_null ? read_file(path_or_null, &len) : NULL;
	int rc = docker_ensure_image(d, image, bin ? bin : bytes, len, &err);
	free(bin);
	cr_assert_eq(rc, 0, "%s", err.msg);
}

static void start_container(void)
{
	struct cg_err err = {0};
	open_docker();
	ensure_image(IMAGE, CGLAT_IDLE_TAR, NULL);
	snprintf(cname, sizeof(cname), "cglat-test-%d", (int)getpid());
	cr_assert_eq(docker_run_idle(d, IMAGE, cname, LABEL, cid, &err), 0, "%s", err.msg);
}

static void remove_container(void)
{
	struct cg_err err = {0};
	if (d && cid[0] && docker_remove(d, cid, &err) < 0)
		cr_log_error("cleanup: %s", err.msg);
	docker_close(d);
	d = NULL;
}

/* A limit of the test's container as the kernel holds it (see it_read_limit). */
static int64_t read_limit(enum it_limit which)
{
	struct docker_container c;
	struct cg_err err = {0};
	cr_assert_eq(docker_inspect(d, cid, &c, &err), 0, "%s", err.msg);
	return it_read_limit(c.pid, which);
}

/* Inodes of this process's connections to dockerd (the peer is bound to the docker
 * socket). */
static size_t dockerd_connections(unsigned long *out, size_t max)
{
	DIR *dir = opendir("/proc/self/fd");
	cr_assert_not_null(dir);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) && n < max) {
		char path[300], target[64];
		struct sockaddr_un peer = {0};
		socklen_t plen = sizeof(peer);
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &out[n]) == 1 &&
		    getpeername(atoi(e->d_name), (struct sockaddr *)&peer, &plen) == 0 &&
		    peer.sun_family == AF_UNIX && strstr(peer.sun_path, "docker.sock"))
			n++;
	}
	closedir(dir);
	return n;
}

static bool listed(const char *id)
{
	char ids[64][65];
	size_t n = 0;
	struct cg_err err = {0};
	cr_assert_eq(docker_list_by_label(d, LABEL, ids, 64, &n, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

TestSuite(docker_live, .init = start_container, .fini = remove_container, .timeout = 120);

Test(docker_live, inspect_shows_running_idle_container)
{
	struct docker_container c;
	struct cg_err err = {0};
	cr_assert_eq(docker_inspect(d, cname, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, cid);
	cr_assert_str_eq(c.name, cname);
	cr_assert(c.running);
	cr_assert_gt(c.pid, 0);
	cr_assert_str_eq(c.cgroupns_mode, "host");
	cr_assert_eq(c.limits.memory, 0, "no limit until the benchmark sets one");
	/* The id prefix works as a reference too. */
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", cid);
	cr_assert_eq(docker_inspect(d, prefix, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, cid);
}

Test(docker_live, update_api_reaches_the_kernel)
{
	struct cg_err err = {0};
	struct docker_update u = {.set = DOCKER_SET_MEMORY | DOCKER_SET_MEMORY_SWAP,
	                          .memory = 128 * MIB,
	                          .memory_swap = 512 * MIB};
	cr_assert_eq(docker_update_api(d, cid, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(read_limit(IT_MEMORY), 128 * MIB);
	/* Without swap limit support dockerd leaves swap unlimited. */
	const bool swap = it_docker_swap_limit();
	cr_assert_eq(read_limit(IT_MEMORY_SWAP), swap ? 512 * MIB : -1);

	u = (struct docker_update){.set = DOCKER_SET_CPU_QUOTA | DOCKER_SET_CPU_PERIOD,
	                           .cpu_quota = 50000,
	                           .cpu_period = 100000};
	cr_assert_eq(docker_update_api(d, cid, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(read_limit(IT_CPU_QUOTA), 50000);

	struct docker_container c;
	cr_assert_eq(docker_inspect(d, cid, &c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.limits.memory, 128 * MIB);
	cr_assert_eq(c.limits.memory_swap, swap ? 512 * MIB : -1);
	cr_assert_eq(c.limits.cpu_quota, 50000);
	cr_assert_eq(c.limits.cpu_period, 100000);
}

/* The one connection to dockerd that the handle opened after `before` was taken. */
static unsigned long kept_connection(const unsigned long *before, size_t nb)
{
	unsigned long now[16], found = 0;
	size_t n = dockerd_connections(now, 16), fresh = 0;
	for (size_t i = 0; i < n; i++) {
		bool old = false;
		for (size_t j = 0; j < nb; j++)
			old = old || before[j] == now[i];
		if (!old) {
			found = now[i];
			fresh++;
		}
	}
	cr_assert_eq(fresh, 1, "%zu new connections to dockerd, want the one kept open", fresh);
	return found;
}

Test(docker_live, update_api_keeps_its_connection)
{
	unsigned long before[16];
	struct docker *dd = NULL;
	struct cg_err err = {0};
	size_t nb = dockerd_connections(before, 16);
	cr_assert_eq(docker_open(NULL, &dd, NULL, &err), 0, "%s", err.msg);
	unsigned long kept = kept_connection(before, nb);
	for (int i = 0; i < 10; i++) {
		struct docker_update u = {.set = DOCKER_SET_CPU_QUOTA,
		                          .cpu_quota = 20000 + 1000 * i};
		cr_assert_eq(docker_update_api(dd, cid, &u, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(kept_connection(before, nb), kept, "the handle reconnected between updates");
	docker_close(dd);
	cr_assert_eq(read_limit(IT_CPU_QUOTA), 29000);
}

/* docker_connect's handle: no handshake, unversioned requests, the same answers. */
Test(docker_live, connect_handle_inspects_without_a_handshake)
{
	unsigned long before[16];
	struct docker *dd = NULL;
	struct docker_container c;
	struct cg_err err = {0};
	size_t nb = dockerd_connections(before, 16);
	cr_assert_eq(docker_connect(NULL, &dd, &err), 0, "%s", err.msg);
	unsigned long kept = kept_connection(before, nb);
	cr_assert_eq(docker_inspect(dd, cname, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, cid);
	cr_assert(c.running);
	cr_assert_gt(c.pid, 0);
	cr_assert_str_eq(c.cgroupns_mode, "host");
	cr_assert_eq(docker_inspect(dd, "cglat-no-such-container", &c, &err), -1);
	cr_assert(strstr(err.msg, "no such container: cglat-no-such-container"), "%s", err.msg);
	cr_assert_eq(kept_connection(before, nb), kept, "the handle reconnected");
	docker_close(dd);
}

Test(docker_live, update_cli_reaches_the_kernel)
{
	struct cg_err err = {0};
	struct docker_update u = {.set = DOCKER_SET_MEMORY | DOCKER_SET_MEMORY_SWAP,
	                          .memory = 128 * MIB,
	                          .memory_swap = 512 * MIB};
	cr_assert_eq(docker_update_api(d, cid, &u, &err), 0, "%s", err.msg);
	u = (struct docker_update){.set = DOCKER_SET_MEMORY, .memory = 256 * MIB};
	cr_assert_eq(docker_update_cli("docker", cname, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(read_limit(IT_MEMORY), 256 * MIB);
	u = (struct docker_update){.set = DOCKER_SET_CPU_QUOTA | DOCKER_SET_CPU_PERIOD,
	                           .cpu_quota = 25000,
	                           .cpu_period = 50000};
	cr_assert_eq(docker_update_cli("docker", cid, &u, &err), 0, "%s", err.msg);
	cr_assert_eq(read_limit(IT_CPU_QUOTA), 25000);
	cr_assert_eq(read_limit(IT_CPU_PERIOD), 50000);
}

Test(docker_live, update_with_bad_value_reports_dockerd)
{
	struct cg_err err = {0};
	struct docker_update u = {.set = DOCKER_SET_MEMORY, .memory = 1};
	cr_assert_eq(docker_update_api(d, cid, &u, &err), -1);
	cr_assert(strstr(err.msg, "Minimum memory limit allowed is 6MB"), "%s", err.msg);
	cr_assert(strstr(err.msg, "HTTP 400"), "%s", err.msg);
	cr_assert_eq(docker_update_cli("docker", cid, &u, &err), -1);
	cr_assert(strstr(err.msg, "docker update failed (exit 1)"), "%s", err.msg);
	cr_assert(strstr(err.msg, "Minimum memory limit allowed is 6MB"), "%s", err.msg);
}

Test(docker_live, unknown_container_is_named)
{
	struct docker_container c;
	struct cg_err err = {0};
	struct docker_update u = {.set = DOCKER_SET_CPU_QUOTA, .cpu_quota = 50000};
	cr_assert_eq(docker_inspect(d, "cglat-no-such-container", &c, &err), -1);
	cr_assert(strstr(err.msg, "no such container: cglat-no-such-container"), "%s", err.msg);
	cr_assert(strstr(err.msg, "docker ps -a"), "%s", err.msg);
	cr_assert_eq(docker_update_api(d, "cglat-no-such-container", &u, &err), -1);
	cr_assert(strstr(err.msg, "no such container"), "%s", err.msg);
	cr_assert_eq(docker_inspect(d, "../../etc", &c, &err), -1);
	cr_assert(strstr(err.msg, "invalid container reference"), "%s", err.msg);
}

Test(docker_live, remove_then_gone_from_label_list)
{
	struct docker_container c;
	struct cg_err err = {0};
	cr_assert(listed(cid), "the new container carries " LABEL);
	cr_assert_eq(docker_remove(d, cid, &err), 0, "%s", err.msg);
	cr_assert_not(listed(cid), "removed container still listed");
	cr_assert_eq(docker_remove(d, cid, &err), 0, "removing twice is fine: %s", err.msg);
	cr_assert_eq(docker_inspect(d, cid, &c, &err), -1);
	cr_assert(strstr(err.msg, "no such container"), "%s", err.msg);
	/* Nothing else of this run's may carry the label either; other suites may. */
	char ids[64][65];
	size_t n = 99;
	cr_assert_eq(docker_list_by_label(d, "cglat.test=no-such-value", ids, 64, &n, &err), 0,
	             "%s", err.msg);
	cr_assert_eq(n, 0);
}

/* ---- images, without a container of their own ---- */

static void open_only(void)
{
	open_docker();
}

static void close_only(void)
{
	docker_close(d);
	d = NULL;
}

TestSuite(docker_image, .init = open_only, .fini = close_only, .timeout = 120);

/* GET or DELETE on dockerd for checks docker.h has no call for, on a connection of
 * its own; returns the status. */
static long raw(const char *method, const char *path, char *out, size_t cap)
{
	struct dh_conn c;
	struct cg_err err = {0};
	char full[512];
	snprintf(full, sizeof(full), "/v1.41%s", path);
	dh_init(&c, DOCKER_DEFAULT_SOCK, 5000, 60000, 1u << 20);
	struct dh_request rq = {.method = strcmp(method, "DELETE") == 0 ? DH_DELETE : DH_GET,
	                        .path = full};
	cr_assert_eq(dh_request(&c, &rq, &err), 0, "%s %s: %s", method, full, err.msg);
	snprintf(out, cap, "%s", c.resp.body);
	long status = c.resp.status;
	dh_free(&c);
	return status;
}

Test(docker_image, import_sets_cmd_and_is_idempotent)
{
	char image[64], path[128], body[65536];
	snprintf(image, sizeof(image), "cglat-idle:import-%d", (int)getpid());
	ensure_image(image, CGLAT_IDLE_TAR, NULL);
	ensure_image(image, NULL, NULL); /* present now: no binary needed */
	snprintf(path, sizeof(path), "/images/%s/json", image);
	cr_assert_eq(raw("GET", path, body, sizeof(body)), 200);
	cr_assert(strstr(body, "\"Cmd\":[\"/idle\"]"), "image has no Cmd [\"/idle\"]");
	snprintf(path, sizeof(path), "/images/%s", image);
	cr_assert_eq(raw("DELETE", path, body, sizeof(body)), 200, "%s", body);
}

Test(docker_image, bad_image_name_refused)
{
	struct cg_err err = {0};
	char id[65];
	cr_assert_eq(docker_ensure_image(d, "Cglat Idle:x", "x", 1, &err), -1);
	cr_assert(strstr(err.msg, "invalid image name \"Cglat Idle:x\""), "%s", err.msg);
	cr_assert_eq(docker_run_idle(d, "../x", "n1", LABEL, id, &err), -1);
	cr_assert(strstr(err.msg, "invalid image name"), "%s", err.msg);
}

/* ---- docker_open's checks, with sockets made here ---- */

static int bound_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	unlink(path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd; /* bound, not listening: connect is refused */
}

Test(docker_handshake, reports_versions)
{
	struct docker *dd = NULL;
	struct docker_info info;
	struct cg_err err = {0};
	cr_assert_eq(docker_open(NULL, &dd, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.api_version, "1.41");
	cr_assert_str_eq(info.server_version, "20.10.24+dfsg1");
	cr_assert_str_eq(info.runtime, "runc 1.1.5+ds1");
	cr_assert_str_eq(info.cgroup_driver, "cgroupfs");
	/* What the host's cgroup mode makes of Docker: v1 on v1 and hybrid hosts. */
	cr_assert_str_eq(info.cgroup_version, it_cgroup_v2() ? "2" : "1");
	docker_close(dd);
}

Test(docker_handshake, refuses_socket_not_owned_by_root)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/cglat-test-sock-%d", (int)getpid());
	int fd = bound_socket(path);
	cr_assert_eq(chown(path, 65534, 65534), 0, "%s", strerror(errno));
	struct docker *dd = NULL;
	struct cg_err err = {0};
	int rc = docker_open(path, &dd, NULL, &err);
	unlink(path);
	close(fd);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err.msg, "owned by uid 65534, not root"), "%s", err.msg);
}

Test(docker_handshake, says_dockerd_is_not_running)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/cglat-test-sock-%d", (int)getpid());
	int fd = bound_socket(path);
	struct docker *dd = NULL;
	struct cg_err err = {0};
	int rc = docker_open(path, &dd, NULL, &err);
	unlink(path);
	close(fd);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err.msg, "dockerd is not running at /tmp/cglat-test-sock-"), "%s",
	          err.msg);
	cr_assert(strstr(err.msg, "sudo dockerd"), "%s", err.msg);
}
