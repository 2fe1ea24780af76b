#include "bench_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tracer.h"

extern char **environ;

#define START_TIMEOUT_S 15
#define STOP_TIMEOUT_S 15 /* serve gives requests in flight 10 s */

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* 0 when a server accepts on path, else the errno of the connect. */
static int try_connect(const char *path, struct ucred *peer)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = rc == 0 ? 0 : errno;
	socklen_t len = sizeof(*peer);
	if (rc == 0 && peer && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, peer, &len) != 0)
		e = errno;
	close(fd);
	return e;
}

/* The first line serve wrote to its stderr, for an error message. */
static void first_log_line(int fd, char *out, size_t cap)
{
	out[0] = '\0';
	if (fd < 0)
		return;
	ssize_t n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* A file nobody else can open: O_TMPFILE where /tmp's file system has it, else a named
 * one removed at once (overlayfs before 6.6, 9p and others refuse O_TMPFILE). */
static int open_log(struct cg_err *err)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char path[] = "/tmp/cglat-serve-log-XXXXXX";
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		return cg_errf(err, "cannot make a file for cglat serve's messages in /tmp: %s",
		               strerror(errno));
	return fd;
}

static int spawn_serve(const struct bench_config *cfg, struct bench_serve *s, struct cg_err *err)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return cg_errf(err, "cannot find cglat's own executable: %s", strerror(errno));
	exe[n] = '\0';
	const char *argv[] = {exe,
	                      "serve",
	                      "--listen",
	                      s->sock,
	                      "--docker-sock",
	                      cfg->docker_sock,
	                      "--reply-after",
	                      cfg->serve_reply_enforce ? "enforce" : "record",
	                      NULL};
	if ((s->log_fd = open_log(err)) < 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, s->log_fd, 2);
	posix_spawnattr_init(&attr);
	/* Its own process group: the terminal's Ctrl-C reaches cglat alone, which then stops
	 * serve after the run; default signal handling and an empty mask in the child. */
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                        POSIX_SPAWN_SETSIGDEF);
	int rc = posix_spawn(&s->child, exe, &fa, &attr, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		s->child = 0;
		return cg_errf(err, "cannot start cglat serve (%s): %s", exe, strerror(rc));
	}
	return 0;
}

/* Until the started serve accepts, or exits, or START_TIMEOUT_S pass. */
static int wait_ready(struct bench_serve *s, struct cg_err *err)
{
	uint64_t deadline = tracer_now_ns() + (uint64_t)START_TIMEOUT_S * 1000000000u;
	for (;;) {
		int status;
		pid_t w = waitpid(s->child, &status, WNOHANG);
		if (w == s->child) {
			s->child = 0;
			char line[512];
			first_log_line(s->log_fd, line, sizeof(line));
			return cg_errf(err,
			               "cglat serve exited before it listened (status 0x%x): %s",
			               status, line[0] ? line : "no message");
		}
		struct ucred peer = {0};
		if (try_connect(s->sock, &peer) == 0) {
			s->pid = s->child;
			return 0;
		}
		if (tracer_now_ns() > deadline)
			return cg_errf(err, "cglat serve did not listen on %s within %d s", s->sock,
			               START_TIMEOUT_S);
		sleep_ms(5);
	}
}

/* A serve the user runs: whoever accepts on the socket is the process to time. */
static int find_running(const struct bench_config *cfg, struct bench_serve *s, struct cg_err *err)
{
	struct stat st;
	if (stat(cfg->serve_sock, &st) != 0)
		return cg_errf(err,
		               "--serve-sock %s: %s; start one with `sudo cglat serve --listen %s`",
		               cfg->serve_sock, strerror(errno), cfg->serve_sock);
	if (!S_ISSOCK(st.st_mode))
		return cg_errf(err, "--serve-sock %s is not a unix socket", cfg->serve_sock);
	struct ucred peer = {0};
	int e = try_connect(cfg->serve_sock, &peer);
	if (e)
		return cg_errf(err,
		               "--serve-sock %s: nothing accepts connections (%s); start one "
		               "with `sudo cglat serve --listen %s`",
		               cfg->serve_sock, strerror(e), cfg->serve_sock);
	if (peer.pid <= 0)
		return cg_errf(err,
		               "--serve-sock %s: the kernel does not say which process serves it",
		               cfg->serve_sock);
	snprintf(s->sock, sizeof(s->sock), "%s", cfg->serve_sock);
	s->pid = peer.pid;
	return 0;
}

int bench_serve_start(const struct bench_config *cfg, struct bench_serve *s, struct cg_err *err)
{
	memset(s, 0, sizeof(*s));
	s->log_fd = -1;
	int rc;
	if (cfg->serve_sock) {
		rc = find_running(cfg, s, err);
	} else {
		/* A directory of its own, which serve makes and removes. */
		snprintf(s->dir, sizeof(s->dir), "/run/cglat-bench-%d", (int)getpid());
		snprintf(s->sock, sizeof(s->sock), "%s/docker.sock", s->dir);
		rc = spawn_serve(cfg, s, err) || wait_ready(s, err) ? -1 : 0;
	}
	if (rc)
		return -1;
	snprintf(s->host, sizeof(s->host), "unix://%s", s->sock);
	dh_init(&s->stats, s->sock, 2000, 10000, 1u << 20);
	s->stats_ready = true;
	return 0;
}

/* pending_records of GET /cglat/v1/stats. */
static int pending_records(struct bench_serve *s, long long *pending, struct cg_err *err)
{
	struct dh_request rq = {.method = DH_GET, .path = "/cglat/v1/stats"};
	if (dh_request(&s->stats, &rq, err))
		return cg_err_wrap(err, "asking cglat serve for its stats");
	if (s->stats.resp.status != 200)
		return cg_errf(err, "cglat serve answered %ld to GET /cglat/v1/stats",
		               s->stats.resp.status);
	json_error_t jerr;
	json_t *doc = json_loads(s->stats.resp.body, 0, &jerr);
	json_t *p = doc ? json_object_get(doc, "pending_records") : NULL;
	int rc = json_is_integer(p) ? 0
	                            : cg_errf(err, "cglat serve's stats have no pending_records");
	if (!rc)
		*pending = (long long)json_integer_value(p);
	json_decref(doc);
	return rc;
}

int bench_serve_settle(struct bench_serve *s, double timeout_s, struct cg_err *err)
{
	uint64_t deadline = tracer_now_ns() + (uint64_t)(timeout_s * 1e9);
	for (;;) {
		long long pending = 0;
		if (pending_records(s, &pending, err))
			return -1;
		if (pending == 0)
			return 0;
		if (tracer_now_ns() > deadline)
			return cg_errf(err,
			               "cglat serve still had %lld records pending in dockerd "
			               "after %.1f s",
			               pending, timeout_s);
		sleep_ms(1);
	}
}

int bench_serve_stop(struct bench_serve *s, struct cg_err *err)
{
	if (s->stats_ready)
		dh_free(&s->stats);
	s->stats_ready = false;
	int rc = 0;
	if (s->child > 0) {
		kill(s->child, SIGTERM);
		uint64_t deadline = tracer_now_ns() + (uint64_t)STOP_TIMEOUT_S * 1000000000u;
		int status = 0;
		pid_t w;
		while ((w = waitpid(s->child, &status, WNOHANG)) == 0 && tracer_now_ns() < deadline)
			sleep_ms(5);
		if (w == 0) {
			kill(s->child, SIGKILL);
			waitpid(s->child, &status, 0);
			rc = cg_errf(err,
			             "cglat serve did not stop within %d s of SIGTERM; killed it",
			             STOP_TIMEOUT_S);
		} else if (w == s->child && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			char line[512];
			first_log_line(s->log_fd, line, sizeof(line));
			rc = cg_errf(err, "cglat serve ended with status 0x%x: %s", status,
			             line[0] ? line : "no message");
		}
		/* What a killed serve could not remove itself. */
		unlink(s->sock);
		rmdir(s->dir);
	}
	s->child = 0;
	s->pid = 0;
	if (s->log_fd >= 0)
		close(s->log_fd);
	s->log_fd = -1;
	return rc;
}
