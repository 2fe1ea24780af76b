/* Helpers of the tests of cglat serve (test_serve.c, test_serve_load.c,
 * test_serve_faults.c, test_serve_update.c): a serve process on a socket of its own,
 * updates sent through it with the project's Engine API client (docker_http.c) or the
 * Docker CLI, the limits as the kernel and as Docker hold them, serve's RSS and fds, and
 * dockerd killed and started again the way scripts/setup.sh starts it. */
#ifndef CGLAT_SERVE_IT_H
#define CGLAT_SERVE_IT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "docker_http.h"
#include "helpers.h"

#define SIT_DOCKER_SOCK "/var/run/docker.sock"
#define SIT_DIR "/run/cglat-test-load" /* the sockets of these tests */

/* ---- serve ---- */

struct sit_serve {
	struct it_proc p;
	char sock[108];
	bool running;
};

/* Starts `cglat serve --listen SIT_DIR/NAME.sock EXTRA...` and waits until it answers
 * (a stale socket at the path is serve's to replace), up to 30 s. */
void sit_serve_start(struct sit_serve *s, const char *name, const char *const extra[]);
/* The same on the socket path sock, waiting up to wait_s seconds (times
 * it_time_scale()). */
void sit_serve_start_at(struct sit_serve *s, const char *sock, const char *const extra[],
                        int wait_s);
/* Does a server accept a connection on the socket at path? */
bool sit_answers(const char *path);
/* SIGTERM and wait; serve's exit code (-1: it did not exit normally), stderr in *err. */
int sit_serve_stop(struct sit_serve *s, char **err);
/* SIGKILL and reap. */
void sit_serve_kill(struct sit_serve *s);
/* SIGKILL to every serve these helpers started that still runs (a test's .fini). */
void sit_serve_kill_all(void);
/* Is it still running (not exited)? */
bool sit_serve_alive(struct sit_serve *s);

/* ---- what a process holds ---- */

int64_t sit_rss_kib(pid_t pid);  /* VmRSS of /proc/PID/status */
int sit_fd_count(pid_t pid);     /* entries of /proc/PID/fd */
int sit_thread_count(pid_t pid); /* Threads: of /proc/PID/status */

/* ---- containers ---- */

struct sit_ctr {
	char name[96];
	char id[65];
	pid_t pid;
};

/* The limits the load and fault tests start their containers with (docker run options,
 * the cgroup namespace the host's): memory 256m, memory+swap 1g, CPU quota 50000 of a
 * 100000 us period, memory reservation 64m, CPU shares 512. */
extern const char *const sit_limit_opts[];

/* docker run -d (straight to dockerd) of the test image, labelled cglat.test=LABEL, with
 * extra options before the image. */
void sit_run(struct sit_ctr *c, const char *label, const char *name, const char *const extra[]);
/* The container's main pid now (0 when it is not running). */
pid_t sit_pid(const char *ref);
/* docker rm -f every container labelled cglat.test=LABEL. */
void sit_remove_labelled(const char *label);

/* ---- limits ---- */

/* The four fields the load test changes, in Docker's units. */
struct sit_limits {
	int64_t memory;      /* bytes */
	int64_t reservation; /* bytes */
	int64_t quota;       /* CPU quota, us */
	int64_t shares;      /* CpuShares */
};

/* Docker's record (GET /containers/REF/json, HostConfig) asked of dockerd itself. */
void sit_record(const char *ref, struct sit_limits *out);
/* What the kernel's files of process pid hold, in Docker's units where the file's
 * differ (v2 cpu.weight is compared as the weight the shares make: see sit_agree). */
void sit_kernel(pid_t pid, struct sit_limits *out);
/* Fails the test unless the kernel's files of pid hold want (Docker's units). */
void sit_assert_kernel(pid_t pid, const struct sit_limits *want, const char *what);

/* ---- requests ---- */

/* The request POST /v1.41/containers/REF/update with json; its path is written in path
 * (cap bytes, 256 are enough). */
struct dh_request sit_update_request(char *path, size_t cap, const char *ref, const char *json);
/* A connection to a socket (serve's or dockerd's) for update requests. */
void sit_conn_init(struct dh_conn *c, const char *sock);
/* POST /v1.41/containers/REF/update with json; the HTTP status, or -1 with the reason in
 * err (no whole answer). *body (may be NULL) takes the answer's body (malloc'd). */
int sit_update(struct dh_conn *c, const char *ref, const char *json, char **body, char *err,
               size_t cap);
/* `docker ARGS...` with DOCKER_HOST=unix://sock (NULL: dockerd); its exit code. */
int sit_docker_at(const char *sock, char **out, char **err, ...) __attribute__((sentinel));
/* GET /cglat/v1/stats of serve, parsed: the count named key (-1 when absent). */
int64_t sit_stat(const char *sock, const char *key);
/* The p50 (ns) of "received_to_enforced" or "received_to_recorded"; -1 when absent. */
int64_t sit_stat_p50(const char *sock, const char *which);

/* ---- dockerd ---- */

bool sit_dockerd_answers(void);
/* SIGKILL to dockerd, and wait until it is gone (reaped by its parent). */
void sit_dockerd_kill(void);
/* Starts dockerd as scripts/setup.sh does when none answers (a stale pid file of a killed
 * one removed), detached, and waits until it answers. true when it answers. */
bool sit_dockerd_ensure(void);
/* A guard process that starts dockerd again when this test process ends in any way
 * (even SIGKILLed on a timeout) while dockerd does not answer. */
void sit_dockerd_guard(void);

#endif
