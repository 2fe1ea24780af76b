/* cglat serve, the relay, against the real dockerd with the real Docker CLI as the client
 * (DOCKER_HOST=unix://SOCK): answers equal to dockerd's, streams (logs -f, events),
 * hijacked connections (run -i with stdin, exec -i), keep-alive, request bodies, bad
 * input (400, 431, 413, timeouts), the socket (mode, owner, group, stale file, a live
 * server), SIGTERM. Every test starts its own serve on a socket under /tmp or
 * /run/cglat-test-PID and owns the containers it makes (named after its pid). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <http_parser.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "serve_it.h"

#define BUSYBOX_IMAGE "cglat-serve-busybox:test"

/* ---------------------------------------------------------------- serve */

static int serve_seq;

/* Starts cglat serve --listen /tmp/cglat-serve-PID-N.sock EXTRA... and waits until it
 * answers. */
static void serve_start(struct sit_serve *s, const char *const extra[])
{
	char sock[108];
	snprintf(sock, sizeof(sock), "/tmp/cglat-serve-%d-%d.sock", (int)getpid(), ++serve_seq);
	sit_serve_start_at(s, sock, extra, 10);
}

/* Starts `docker ARGS...` through sock, stdin from the file at in_path (NULL:
 * /dev/null), its output piped back as it_spawn does. */
static void docker_spawn(const char *sock, const char *in_path, struct it_proc *p,
                         const char *const args[])
{
	char host[160];
	snprintf(host, sizeof(host), "DOCKER_HOST=unix://%s", sock);
	const char *argv[64] = {"env", host, "docker"};
	size_t n = 3;
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cr_assert_eq(it_spawn_in(argv, in_path, p), 0, "cannot start docker: %s", strerror(errno));
}

static bool still_running(pid_t pid)
{
	int st;
	return waitpid(pid, &st, WNOHANG) == 0;
}

/* Waits until the child's stdout holds text; false after timeout_s. */
static bool wait_output(struct it_proc *p, const char *text, double timeout_s)
{
	uint64_t until = it_mono_ns() + (uint64_t)(timeout_s * it_time_scale() * 1e9);
	while (it_mono_ns() < until) {
		it_drain(p);
		if (p->buf[0] && p->len[0]) {
			p->buf[0][p->len[0]] = '\0';
			if (strstr(p->buf[0], text))
				return true;
		}
		usleep(20000);
	}
	return false;
}

/* ---------------------------------------------------------------- images, containers */

/* A local image holding /bin/busybox (busybox-static), imported once. */
static void ensure_busybox_image(void)
{
	if (sit_docker_at(NULL, NULL, NULL, "image", "inspect", BUSYBOX_IMAGE, NULL) == 0)
		return;
	char dir[] = "/tmp/cglat-serve-bb-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *bin = it_strf("%s/bin", dir), *tar = it_strf("%s.tar", dir);
	cr_assert_eq(mkdir(bin, 0755), 0);
	const char *cp[] = {"cp", "/bin/busybox", bin, NULL};
	int st = 0;
	cr_assert_eq(it_run(cp, 30, NULL, NULL, &st, NULL), 0);
	cr_assert_eq(it_exit_code(st), 0, "cannot copy /bin/busybox (busybox-static)");
	const char *mk[] = {"tar", "-C", dir, "-cf", tar, "bin", NULL};
	cr_assert_eq(it_run(mk, 30, NULL, NULL, &st, NULL), 0);
	cr_assert_eq(it_exit_code(st), 0);
	char *err = NULL;
	cr_assert_eq(sit_docker_at(NULL, NULL, &err, "import", "--change",
	                           "CMD [\"/bin/busybox\", \"sh\"]", tar, BUSYBOX_IMAGE, NULL),
	             0, "docker import failed: %s", err);
	free(err);
	const char *rm[] = {"rm", "-rf", dir, tar, NULL};
	it_run(rm, 30, NULL, NULL, &st, NULL);
	free(bin);
	free(tar);
}

static char *container_name(const char *what)
{
	return it_strf("cglat-serve-%s-%d", what, (int)getpid());
}

static void remove_container(const char *name)
{
	sit_docker_at(NULL, NULL, NULL, "rm", "-f", name, NULL);
}

/* docker run -d IMAGE CMD... straight to dockerd; the name is the test's. */
static void run_detached(const char *name, const char *image, const char *cmd)
{
	remove_container(name);
	char *err = NULL;
	int rc = cmd ? sit_docker_at(NULL, NULL, &err, "run", "-d", "--network", "none", "--label",
	                             "cglat.test=serve", "--name", name, image, "/bin/busybox",
	                             "sh", "-c", cmd, NULL)
	             : sit_docker_at(NULL, NULL, &err, "run", "-d", "--network", "none", "--label",
	                             "cglat.test=serve", "--name", name, image, NULL);
	cr_assert_eq(rc, 0, "docker run %s failed: %s", image, err);
	free(err);
}

/* An idle container of the test image named after what (it prints nothing), and a serve
 * of its own; the container's name (malloc'd). */
static char *idle_container_and_serve(const char *what, struct sit_serve *s)
{
	it_ensure_image();
	char *name = container_name(what);
	run_detached(name, IT_IMAGE, NULL);
	serve_start(s, NULL);
	return name;
}

/* Starts `docker logs -f NAME` through serve's socket sock. */
static void follow_logs(const char *sock, const char *name, struct it_proc *p)
{
	const char *args[] = {"logs", "-f", name, NULL};
	docker_spawn(sock, NULL, p, args);
}

/* ---------------------------------------------------------------- raw HTTP */

static int sock_connect(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect %s: %s", path,
	             strerror(errno));
	return fd;
}

/* Sends everything it can; false when the peer closed. */
static bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static bool send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

/* One answer read off a connection with http_parser. Bytes after it stay for the next. */
struct reader {
	int fd;
	http_parser parser;
	bool head_request;
	int status;
	bool complete, keep_alive, closed;
	char *body;
	size_t body_len;
	char ctype[128];
	char last_field[64];
	bool in_ctype;
	char left[65536];
	size_t left_len;
};

static int rd_field(http_parser *p, const char *at, size_t n)
{
	struct reader *r = p->data;
	snprintf(r->last_field, sizeof(r->last_field), "%.*s", (int)n, at);
	r->in_ctype = strcasecmp(r->last_field, "Content-Type") == 0;
	return 0;
}

static int rd_value(http_parser *p, const char *at, size_t n)
{
	struct reader *r = p->data;
	if (r->in_ctype)
		snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)n, at);
	return 0;
}

static int rd_headers(http_parser *p)
{
	struct reader *r = p->data;
	r->status = p->status_code;
	return r->head_request ? 1 : 0;
}

static int rd_body(http_parser *p, const char *at, size_t n)
{
	struct reader *r = p->data;
	r->body = realloc(r->body, r->body_len + n + 1);
	memcpy(r->body + r->body_len, at, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int rd_complete(http_parser *p)
{
	struct reader *r = p->data;
	if (p->status_code >= 100 && p->status_code < 200)
		return 0;
	r->complete = true;
	r->keep_alive = http_should_keep_alive(p);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings rd_settings = {
        .on_header_field = rd_field,
        .on_header_value = rd_value,
        .on_headers_complete = rd_headers,
        .on_body = rd_body,
        .on_message_complete = rd_complete,
};

static void reader_init(struct reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
}

/* Reads the next answer; its status, or -1 when the connection closed (or timed out)
 * before it was whole. */
static int read_answer(struct reader *r, bool head_request, double timeout_s)
{
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	r->head_request = head_request;
	r->status = 0;
	r->complete = false;
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->ctype[0] = '\0';
	uint64_t until = it_mono_ns() + (uint64_t)(timeout_s * it_time_scale() * 1e9);
	for (;;) {
		if (r->left_len) {
			size_t done =
			        http_parser_execute(&r->parser, &rd_settings, r->left, r->left_len);
			memmove(r->left, r->left + done, r->left_len - done);
			r->left_len -= done;
			if (r->complete)
				return r->status;
			if (HTTP_PARSER_ERRNO(&r->parser) != HPE_OK)
				return -1;
		}
		if (r->closed)
			return -1;
		int64_t left = (int64_t)(until - it_mono_ns());
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(left / 1000000) + 1) <= 0)
			continue;
		ssize_t n = recv(r->fd, r->left + r->left_len, sizeof(r->left) - r->left_len, 0);
		if (n <= 0) {
			r->closed = true;
			http_parser_execute(&r->parser, &rd_settings, NULL, 0);
			if (r->complete)
				return r->status;
			return -1;
		}
		r->left_len += (size_t)n;
	}
}

/* Does the peer close the connection within timeout_s (nothing else arriving)? */
static bool closes(int fd, double timeout_s)
{
	uint64_t until = it_mono_ns() + (uint64_t)(timeout_s * it_time_scale() * 1e9);
	char buf[4096];
	while (it_mono_ns() < until) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n > 0)
			return false;
	}
	return false;
}

/* An answer's body is a Docker-style error: {"message": "..."} naming what. */
static void assert_docker_error(const struct reader *r, const char *what)
{
	cr_assert(strstr(r->ctype, "application/json"), "Content-Type %s", r->ctype);
	cr_assert_not_null(r->body);
	cr_assert(strncmp(r->body, "{\"message\":\"", 12) == 0, "body %s", r->body);
	if (what)
		cr_assert(strstr(r->body, what), "body %s does not say %s", r->body, what);
}

/* One request on a new connection to sock (serve's or dockerd's); the answer's status
 * and body (malloc'd). */
static int exchange(const char *sock, const char *request, char **body)
{
	int fd = sock_connect(sock);
	cr_assert(send_str(fd, request));
	struct reader r;
	reader_init(&r, fd);
	int status = read_answer(&r, strncmp(request, "HEAD ", 5) == 0, 20);
	close(fd);
	if (body)
		*body = r.body ? r.body : strdup("");
	else
		free(r.body);
	return status;
}

/* ---------------------------------------------------------------- the suite */

TestSuite(serve, .timeout = 180);

/* docker ps, docker inspect and docker version through serve print what they print
 * straight to dockerd. */
Test(serve, cli_answers_equal_direct)
{
	struct sit_serve s;
	char *name = idle_container_and_serve("cli", &s);
	const char *cmds[][8] = {
	        {"version", NULL},
	        {"inspect", name, NULL},
	        {"ps", "-a", "--no-trunc", NULL},
	        {"ps", "--no-trunc", "--format", "{{json .}}", NULL},
	        {"images", "--no-trunc", NULL},
	        {"info", "--format", "{{json .}}", NULL},
	};
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		/* ps and info hold times ("Up 3 minutes", SystemTime): equal within three
		 * tries, as two direct runs are. */
		bool equal = false;
		char *via = NULL, *direct = NULL;
		for (int attempt = 0; attempt < 3 && !equal; attempt++) {
			free(via);
			free(direct);
			via = direct = NULL;
			const char *a[8] = {0};
			for (int i = 0; cmds[c][i]; i++)
				a[i] = cmds[c][i];
			int rv = sit_docker_at(s.sock, &via, NULL, a[0], a[1], a[2], a[3], a[4],
			                       NULL);
			int rd = sit_docker_at(NULL, &direct, NULL, a[0], a[1], a[2], a[3], a[4],
			                       NULL);
			cr_assert_eq(rv, 0, "docker %s through serve failed", a[0]);
			cr_assert_eq(rd, 0);
			if (strcmp(cmds[c][0], "info") == 0) {
				/* SystemTime and NGoroutines, NFd move between two calls. */
				equal = strstr(via, "\"ServerVersion\"") && strlen(via) > 100;
				continue;
			}
			equal = strcmp(via, direct) == 0;
		}
		cr_expect(equal, "docker %s through serve:\n%s\ndirect:\n%s", cmds[c][0], via,
		          direct);
		free(via);
		free(direct);
	}
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	remove_container(name);
	free(name);
}

/* docker logs -f through serve: lines as the container prints them, and the stream ends
 * when the container is removed. */
Test(serve, logs_follow_streams)
{
	ensure_busybox_image();
	char *name = container_name("logs");
	run_detached(name, BUSYBOX_IMAGE,
	             "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); "
	             "/bin/busybox sleep 0.05; done");
	struct sit_serve s;
	serve_start(&s, NULL);
	struct it_proc p;
	follow_logs(s.sock, name, &p);
	cr_assert(wait_output(&p, "line5\n", 20), "docker logs -f through serve printed: %.*s",
	          (int)p.len[0], p.buf[0] ? p.buf[0] : "");
	/* It follows: lines keep coming while the container prints. */
	cr_assert(wait_output(&p, "line30\n", 20));
	cr_assert(still_running(p.pid), "docker logs -f ended while the container runs");
	remove_container(name);
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_wait(&p, 20, &out, &err, &status), 0,
	             "docker logs -f did not end when the container was removed");
	cr_expect_eq(it_exit_code(status), 0, "docker logs -f: %s", err);
	/* Every line, in order, from the first. */
	char *expect = strdup("");
	for (int i = 0; i <= 30; i++) {
		char *e = it_strf("%sline%d\n", expect, i);
		free(expect);
		expect = e;
	}
	cr_expect(strncmp(out, expect, strlen(expect)) == 0, "docker logs -f printed:\n%.300s",
	          out);
	free(expect);
	free(out);
	free(err);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	free(name);
}

/* docker logs -f of a container that prints nothing: the stream stays open, and ends
 * when the container is removed. */
Test(serve, logs_follow_silent_container)
{
	struct sit_serve s;
	char *name = idle_container_and_serve("silent", &s);
	struct it_proc p;
	follow_logs(s.sock, name, &p);
	sleep(2);
	cr_assert(still_running(p.pid), "docker logs -f of a silent container ended");
	remove_container(name);
	int status = 0;
	char *err = NULL;
	cr_assert_eq(it_wait(&p, 20, NULL, &err, &status), 0,
	             "docker logs -f did not end when the container was removed");
	cr_expect_eq(it_exit_code(status), 0, "%s", err);
	free(err);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	free(name);
}

/* 1 MiB of text, lines of letters and digits. */
static char *make_input(const char *path, size_t size)
{
	char *data = malloc(size + 1);
	unsigned x = 12345;
	for (size_t i = 0; i < size; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (i % 64 == 63) ? '\n'
		                         : "abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) % 36];
	}
	data[size] = '\0';
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, size, f), size);
	fclose(f);
	return data;
}

/* docker run --rm -i through serve: the hijacked connection carries stdin in, stdout and
 * stderr out, the half-close at the end of stdin, and the exit code back. */
Test(serve, run_interactive_hijack)
{
	ensure_busybox_image();
	char *path = it_strf("/tmp/cglat-serve-in-%d", (int)getpid());
	size_t size = 1u << 20;
	char *data = make_input(path, size);
	struct sit_serve s;
	serve_start(&s, NULL);
	struct it_proc p;
	const char *args[] = {"run",
	                      "--rm",
	                      "-i",
	                      "--network",
	                      "none",
	                      BUSYBOX_IMAGE,
	                      "/bin/busybox",
	                      "sh",
	                      "-c",
	                      "/bin/busybox cat; echo to-stderr >&2; exit 7",
	                      NULL};
	docker_spawn(s.sock, path, &p, args);
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_wait(&p, 60, &out, &err, &status), 0, "docker run -i hung: %s", err);
	cr_expect_eq(it_exit_code(status), 7, "exit code %d, stderr %s", it_exit_code(status), err);
	cr_expect_eq(strlen(out), size, "stdout %zu bytes of %zu", strlen(out), size);
	cr_expect(strcmp(out, data) == 0, "stdout differs from stdin");
	cr_expect(strstr(err, "to-stderr"), "stderr: %s", err);
	free(out);
	free(err);
	/* The same with an answer computed from the whole of stdin. */
	const char *args2[] = {"run",         "--rm",         "-i", "--network", "none",
	                       BUSYBOX_IMAGE, "/bin/busybox", "wc", "-c",        NULL};
	docker_spawn(s.sock, path, &p, args2);
	cr_assert_eq(it_wait(&p, 60, &out, &err, &status), 0);
	cr_expect_eq(it_exit_code(status), 0, "%s", err);
	cr_expect_eq(atol(out), (long)size, "wc -c said %s", out);
	free(out);
	free(err);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	unlink(path);
	free(path);
	free(data);
}

/* docker exec (with and without -i), docker cp both ways (tar bodies streamed through
 * serve), docker events over a time range and docker stats --no-stream. */
Test(serve, exec_cp_events_stats)
{
	ensure_busybox_image();
	char *name = container_name("exec");
	run_detached(name, BUSYBOX_IMAGE, "while true; do /bin/busybox sleep 1; done");
	struct sit_serve s;
	serve_start(&s, NULL);
	double since = it_now();
	char *out = NULL, *err = NULL;
	cr_assert_eq(sit_docker_at(s.sock, &out, &err, "exec", name, "/bin/busybox", "echo",
	                           "exec-ok", NULL),
	             0, "%s", err);
	cr_expect_str_eq(out, "exec-ok\n");
	free(out);
	free(err);

	char *path = it_strf("/tmp/cglat-serve-cp-%d", (int)getpid());
	char *data = make_input(path, 3u << 20);
	struct it_proc p;
	const char *exec_i[] = {"exec", "-i", name, "/bin/busybox", "wc", "-c", NULL};
	docker_spawn(s.sock, path, &p, exec_i);
	int status = 0;
	cr_assert_eq(it_wait(&p, 60, &out, &err, &status), 0);
	cr_expect_eq(it_exit_code(status), 0, "%s", err);
	cr_expect_eq(atol(out), 3L << 20, "exec -i wc -c: %s", out);
	free(out);
	free(err);

	char *dst = it_strf("%s:/copied", name), *back = it_strf("%s.back", path);
	cr_assert_eq(sit_docker_at(s.sock, NULL, &err, "cp", path, dst, NULL), 0, "cp in: %s", err);
	free(err);
	cr_assert_eq(sit_docker_at(s.sock, NULL, &err, "cp", dst, back, NULL), 0, "cp out: %s",
	             err);
	free(err);
	FILE *f = fopen(back, "r");
	cr_assert_not_null(f);
	char *got = malloc((3u << 20) + 1);
	size_t n = fread(got, 1, (3u << 20) + 1, f);
	fclose(f);
	cr_expect_eq(n, 3u << 20);
	cr_expect(memcmp(got, data, 3u << 20) == 0, "docker cp through serve changed the file");
	free(got);

	cr_assert_eq(sit_docker_at(s.sock, &out, &err, "stats", "--no-stream", "--format",
	                           "{{.Name}}", name, NULL),
	             0, "%s", err);
	char *line = it_strf("%s\n", name);
	cr_expect_str_eq(out, line);
	free(line);
	free(out);
	free(err);

	char *since_s = it_strf("%.3f", since), *until_s = it_strf("%.3f", it_now() + 1);
	char *filter = it_strf("container=%s", name);
	cr_assert_eq(sit_docker_at(s.sock, &out, &err, "events", "--since", since_s, "--until",
	                           until_s, "--filter", filter, "--format", "{{.Action}}", NULL),
	             0, "%s", err);
	cr_expect(strstr(out, "exec_start"), "docker events through serve: %s", out);
	cr_expect(strstr(out, "archive-path") || strstr(out, "extract-to-dir"), "%s", out);
	char *direct = NULL;
	cr_assert_eq(sit_docker_at(NULL, &direct, NULL, "events", "--since", since_s, "--until",
	                           until_s, "--filter", filter, "--format", "{{.Action}}", NULL),
	             0);
	cr_expect_str_eq(out, direct);
	free(out);
	free(err);
	free(direct);

	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	remove_container(name);
	unlink(path);
	unlink(back);
	free(since_s);
	free(until_s);
	free(filter);
	free(path);
	free(back);
	free(dst);
	free(data);
	free(name);
}

/* Several requests on one kept-alive connection, one after the other and pipelined,
 * HEAD included, and a chunked request body relayed to dockerd. */
Test(serve, keep_alive_many_requests)
{
	it_ensure_image();
	struct sit_serve s;
	serve_start(&s, NULL);
	int fd = sock_connect(s.sock);
	struct reader r;
	reader_init(&r, fd);
	cr_assert(send_str(fd, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"));
	cr_assert_eq(read_answer(&r, false, 20), 200);
	cr_assert_str_eq(r.body, "OK");
	cr_assert(r.keep_alive);
	cr_assert(send_str(fd, "HEAD /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"));
	cr_assert_eq(read_answer(&r, true, 20), 200);
	cr_assert(send_str(fd, "GET /version HTTP/1.1\r\nHost: docker\r\n\r\n"));
	cr_assert_eq(read_answer(&r, false, 20), 200);
	cr_assert(strstr(r.body, "\"ApiVersion\""), "%s", r.body);
	for (int i = 0; i < 20; i++) {
		cr_assert(send_str(fd,
		                   "GET /containers/json?all=1 HTTP/1.1\r\nHost: docker\r\n\r\n"));
		cr_assert_eq(read_answer(&r, false, 20), 200, "request %d", i);
		cr_assert_eq(r.body[0], '[');
	}
	/* Pipelined: three requests in one write, three answers in their order. */
	cr_assert(send_str(fd,
	                   "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n"
	                   "GET /v1.41/containers/cglat-serve-no-such-container/json HTTP/1.1\r\n"
	                   "Host: docker\r\n\r\n"
	                   "GET /version HTTP/1.1\r\nHost: docker\r\n\r\n"));
	cr_assert_eq(read_answer(&r, false, 20), 200);
	cr_assert_str_eq(r.body, "OK");
	cr_assert_eq(read_answer(&r, false, 20), 404);
	cr_assert(strstr(r.body, "No such container"), "%s", r.body);
	cr_assert_eq(read_answer(&r, false, 20), 200);
	cr_assert(strstr(r.body, "\"ApiVersion\""));
	/* A chunked body, in two chunks, to dockerd: a container made and removed. */
	char *name = container_name("chunked");
	remove_container(name);
	char *head = it_strf("POST /v1.41/containers/create?name=%s HTTP/1.1\r\nHost: docker\r\n"
	                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
	                     name);
	const char *part1 = "{\"Image\":\"" IT_IMAGE "\",\"Cmd\":[\"/idle\"],";
	const char *part2 = "\"Labels\":{\"cglat.test\":\"serve\"},\"HostConfig\":{\"NetworkMode\":"
	                    "\"none\"}}";
	char *chunks = it_strf("%zx\r\n%s\r\n%zx\r\n%s\r\n0\r\n\r\n", strlen(part1), part1,
	                       strlen(part2), part2);
	cr_assert(send_str(fd, head));
	usleep(100000);
	cr_assert(send_str(fd, chunks));
	cr_assert_eq(read_answer(&r, false, 30), 201, "%s", r.body);
	cr_assert(strstr(r.body, "\"Id\""));
	cr_assert(it_container_exists(name));
	char *del = it_strf("DELETE /v1.41/containers/%s?force=1 HTTP/1.1\r\nHost: docker\r\n\r\n",
	                    name);
	cr_assert(send_str(fd, del));
	cr_assert_eq(read_answer(&r, false, 30), 204);
	cr_assert(!it_container_exists(name));
	/* Connection: close is honoured: the answer, then the end. */
	cr_assert(send_str(fd, "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n"));
	cr_assert_eq(read_answer(&r, false, 20), 200);
	cr_assert(!r.keep_alive);
	cr_assert(closes(fd, 5));
	close(fd);
	free(r.body);
	free(head);
	free(chunks);
	free(del);
	free(name);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* Requests dockerd answers in its own way (path cleaning, unknown routes, percent
 * escapes) are relayed unchanged: the same status and body as straight to dockerd. */
Test(serve, odd_paths_answered_as_dockerd_does)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	const char *targets[] = {
	        "/containers/../version",
	        "//_ping",
	        "/v1.41/containers/./json",
	        "/v1.41/containers/..%2f..%2fetc/json",
	        "/v1.41/containers/cglat-serve-none/json",
	        "/v1.41/no/such/route",
	        "/v99.0/version",
	        "/cglat/v1/other",
	        "/containers/a%2fb/update",
	};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char *req = it_strf("GET %s HTTP/1.1\r\nHost: docker\r\n\r\n", targets[i]);
		char *via = NULL, *direct = NULL;
		int sv = exchange(s.sock, req, &via);
		int sd = exchange("/var/run/docker.sock", req, &direct);
		cr_expect_eq(sv, sd, "GET %s: %d through serve, %d from dockerd", targets[i], sv,
		             sd);
		cr_expect_str_eq(via, direct, "GET %s", targets[i]);
		free(req);
		free(via);
		free(direct);
	}
	/* An update of {id} "../x" goes to the update half, which refuses it: an error
	 * answer, Docker-style. */
	int fd = sock_connect(s.sock);
	cr_assert(send_str(fd, "POST /v1.41/containers/../x/update HTTP/1.1\r\nHost: docker\r\n"
	                       "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
	struct reader r;
	reader_init(&r, fd);
	int st = read_answer(&r, false, 20);
	cr_expect(st >= 400 && st < 500, "POST /containers/../x/update answered %d: %s", st,
	          r.body);
	close(fd);
	free(r.body);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* A request head over 64 KiB: 431 and the connection closed; one just under is
 * relayed. */
Test(serve, oversized_head_431)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	size_t big = 70000;
	char *pad = malloc(big + 1);
	memset(pad, 'a', big);
	pad[big] = '\0';
	char *req = it_strf("GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Pad: %s\r\n\r\n", pad);
	int fd = sock_connect(s.sock);
	send_all(fd, req, strlen(req));
	struct reader r;
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 431);
	assert_docker_error(&r, "64 KiB");
	cr_assert(closes(fd, 5));
	close(fd);
	free(r.body);
	free(req);
	/* Many small headers add up the same way. */
	char *many = strdup("GET /_ping HTTP/1.1\r\nHost: docker\r\n");
	for (int i = 0; i < 4000; i++) {
		char *m = it_strf("%sX-H%d: 0123456789\r\n", many, i);
		free(many);
		many = m;
	}
	fd = sock_connect(s.sock);
	send_all(fd, many, strlen(many));
	send_str(fd, "\r\n");
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 431);
	close(fd);
	free(r.body);
	free(many);
	/* 60 000 bytes: under the limit, dockerd answers. */
	pad[60000] = '\0';
	req = it_strf("GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Pad: %s\r\n\r\n", pad);
	char *body = NULL;
	cr_assert_eq(exchange(s.sock, req, &body), 200);
	cr_assert_str_eq(body, "OK");
	free(body);
	free(req);
	free(pad);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* Bytes that are not HTTP: 400 with a Docker-style body, and the connection closed. */
Test(serve, garbage_400)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	const char *bad[] = {
	        "GARBAGE\r\n\r\n",
	        "GET /_ping HTTP/1.1\r\nHost docker\r\n\r\n",
	        "GET /_ping HTTP/9.9.9\r\n\r\n",
	        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
	        ("POST /containers/create HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: "
	         "6\r\n\r\n"),
	        "POST /containers/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	        "GET /a b c HTTP/1.1\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = sock_connect(s.sock);
		send_str(fd, bad[i]);
		struct reader r;
		reader_init(&r, fd);
		cr_expect_eq(read_answer(&r, false, 20), 400, "input %zu answered %d", i, r.status);
		if (r.status == 400)
			assert_docker_error(&r, "malformed");
		cr_expect(closes(fd, 5), "input %zu: the connection stays open", i);
		close(fd);
		free(r.body);
	}
	/* serve still works. */
	cr_assert_eq(exchange(s.sock, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n", NULL), 200);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* An update body over 1 MiB: 413, announced or chunked. */
Test(serve, oversized_update_body_413)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	int fd = sock_connect(s.sock);
	send_str(fd, "POST /v1.41/containers/x/update HTTP/1.1\r\nHost: docker\r\n"
	             "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n");
	struct reader r;
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 413);
	assert_docker_error(&r, "1 MiB");
	close(fd);
	free(r.body);
	fd = sock_connect(s.sock);
	send_str(fd, "POST /containers/x/update HTTP/1.1\r\nHost: docker\r\n"
	             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
	char chunk[65536 + 16];
	int hl = snprintf(chunk, sizeof(chunk), "10000\r\n");
	memset(chunk + hl, ' ', 65536);
	memcpy(chunk + hl + 65536, "\r\n", 2);
	for (int i = 0; i < 20 && send_all(fd, chunk, (size_t)hl + 65536 + 2); i++)
		;
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 413);
	close(fd);
	free(r.body);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* A client that stops in the middle of a request is answered 408 and dropped
 * (--client-timeout 2); an idle kept-alive connection is not. */
Test(serve, slow_clients_time_out)
{
	struct sit_serve s;
	const char *extra[] = {"--client-timeout", "2", NULL};
	serve_start(&s, extra);
	/* An incomplete head. */
	int fd = sock_connect(s.sock);
	uint64_t t0 = it_mono_ns();
	send_str(fd, "GET /_ping HTTP/1.1\r\nHost: docker\r\n");
	struct reader r;
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 408);
	double took = (double)(it_mono_ns() - t0) / 1e9;
	cr_expect(took >= 1.9 && took < 6, "408 after %.1f s", took);
	assert_docker_error(&r, "sent nothing");
	cr_assert(closes(fd, 5));
	close(fd);
	free(r.body);
	/* A head that trickles in, a byte every 300 ms: the head has 2 s in all. */
	fd = sock_connect(s.sock);
	t0 = it_mono_ns();
	const char *slow =
	        "GET /_ping HTTP/1.1\r\nHost: docker\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	bool answered = false;
	for (const char *c = slow; *c && !answered; c++) {
		if (!send_all(fd, c, 1))
			break;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		answered = poll(&pfd, 1, 300) > 0;
	}
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 10), 408);
	took = (double)(it_mono_ns() - t0) / 1e9;
	cr_expect(took < 5, "the trickling head was cut after %.1f s", took);
	close(fd);
	free(r.body);
	/* An update body that stops half way. */
	fd = sock_connect(s.sock);
	send_str(fd, "POST /v1.41/containers/x/update HTTP/1.1\r\nHost: docker\r\n"
	             "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Memory\":");
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 408);
	close(fd);
	free(r.body);
	/* A relayed body that stops half way, dockerd not answering yet: its connection is
	 * closed and the client answered 408. */
	fd = sock_connect(s.sock);
	send_str(fd, "POST /v1.41/containers/create HTTP/1.1\r\nHost: docker\r\n"
	             "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"Image\":");
	reader_init(&r, fd);
	cr_assert_eq(read_answer(&r, false, 20), 408);
	cr_assert(closes(fd, 5));
	close(fd);
	free(r.body);
	/* Idle between requests for longer than the timeout: still served. */
	fd = sock_connect(s.sock);
	reader_init(&r, fd);
	send_str(fd, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
	cr_assert_eq(read_answer(&r, false, 20), 200);
	sleep(3);
	send_str(fd, "GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n");
	cr_assert_eq(read_answer(&r, false, 20), 200);
	close(fd);
	free(r.body);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

struct client_job {
	const char *sock;
	int ok;
};

static void *client_thread(void *arg)
{
	struct client_job *j = arg;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", j->sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	struct reader *r = calloc(1, sizeof(*r));
	reader_init(r, fd);
	for (int i = 0; i < 25; i++) {
		const char *req = i % 2 ? "GET /containers/json?all=1 HTTP/1.1\r\nHost: d\r\n\r\n"
		                        : "GET /version HTTP/1.1\r\nHost: d\r\n\r\n";
		if (!send_str(fd, req) || read_answer(r, false, 60) != 200)
			break;
		j->ok++;
	}
	close(fd);
	free(r->body);
	free(r);
	return NULL;
}

/* 24 clients at once, 25 requests each on kept-alive connections, and 16 docker ps
 * at the same time: every request answered. */
Test(serve, concurrent_clients)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	enum { THREADS = 24, CLIS = 16 };
	pthread_t t[THREADS];
	struct client_job jobs[THREADS];
	struct it_proc cli[CLIS];
	for (int i = 0; i < CLIS; i++) {
		const char *args[] = {"ps", "-a", "-q", NULL};
		docker_spawn(s.sock, NULL, &cli[i], args);
	}
	for (int i = 0; i < THREADS; i++) {
		jobs[i] = (struct client_job){.sock = s.sock};
		pthread_create(&t[i], NULL, client_thread, &jobs[i]);
	}
	int total = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += jobs[i].ok;
	}
	cr_expect_eq(total, THREADS * 25, "%d of %d requests answered", total, THREADS * 25);
	for (int i = 0; i < CLIS; i++) {
		int status = 0;
		char *err = NULL;
		cr_expect_eq(it_wait(&cli[i], 60, NULL, &err, &status), 0);
		cr_expect_eq(it_exit_code(status), 0, "docker ps %d: %s", i, err);
		free(err);
	}
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
}

/* docker update through serve is answered, and Docker's record has the value. */
Test(serve, update_through_serve)
{
	struct sit_serve s;
	char *name = idle_container_and_serve("update", &s);
	char *out = NULL, *err = NULL;
	cr_assert_eq(sit_docker_at(s.sock, &out, &err, "update", "--memory", "96m", "--memory-swap",
	                           "192m", name, NULL),
	             0, "docker update through serve: %s", err);
	free(out);
	free(err);
	cr_assert_eq(sit_docker_at(NULL, &out, NULL, "inspect", "-f", "{{.HostConfig.Memory}}",
	                           name, NULL),
	             0);
	cr_expect_eq(atoll(out), 96LL << 20, "Docker's record: %s", out);
	free(out);
	/* GET /cglat/v1/stats is serve's own, JSON. */
	char *body = NULL;
	cr_assert_eq(exchange(s.sock, "GET /cglat/v1/stats HTTP/1.1\r\nHost: d\r\n\r\n", &body),
	             200);
	cr_expect_eq(body[0], '{', "stats: %s", body);
	free(body);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	remove_container(name);
	free(name);
}

/* The socket: mode 0660, owner root, group docker when that group exists. */
Test(serve, socket_mode_owner_group)
{
	struct sit_serve s;
	serve_start(&s, NULL);
	struct stat st;
	cr_assert_eq(lstat(s.sock, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0660, "mode %04o", (unsigned)(st.st_mode & 07777));
	cr_expect_eq(st.st_uid, 0);
	struct group *g = getgrnam("docker");
	cr_expect_eq(st.st_gid, g ? g->gr_gid : 0, "group %u", (unsigned)st.st_gid);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	cr_expect_neq(lstat(s.sock, &st), 0, "the socket is left after serve stopped");
}

/* A socket directory that does not exist is made 0755 and removed at the end. */
Test(serve, makes_and_removes_its_directory)
{
	char *dir = it_strf("/run/cglat-test-%d", (int)getpid());
	char *sock = it_strf("%s/docker.sock", dir);
	rmdir(dir);
	struct sit_serve s;
	sit_serve_start_at(&s, sock, NULL, 10);
	struct stat st;
	cr_assert_eq(lstat(dir, &st), 0);
	cr_expect(S_ISDIR(st.st_mode));
	cr_expect_eq(st.st_mode & 07777, 0755, "mode %04o", (unsigned)(st.st_mode & 07777));
	cr_expect_eq(st.st_uid, 0);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	cr_expect_neq(lstat(sock, &st), 0, "the socket is left");
	cr_expect_neq(lstat(dir, &st), 0, "the directory serve made is left");
	rmdir(dir);
	free(dir);
	free(sock);
}

/* A socket file nobody answers on (what a SIGKILLed serve leaves) is replaced. */
Test(serve, stale_socket_replaced)
{
	char *sock = it_strf("/tmp/cglat-serve-stale-%d.sock", (int)getpid());
	unlink(sock);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* the file stays, nobody listens */
	cr_assert(!sit_answers(sock));
	struct sit_serve s;
	sit_serve_start_at(&s, sock, NULL, 10);
	cr_assert_eq(exchange(sock, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n", NULL), 200);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	/* The same after a real serve is SIGKILLed. */
	sit_serve_start_at(&s, sock, NULL, 10);
	sit_serve_kill(&s);
	struct stat st;
	cr_assert_eq(lstat(sock, &st), 0, "a SIGKILLed serve leaves its socket");
	sit_serve_start_at(&s, sock, NULL, 10);
	cr_assert_eq(exchange(sock, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n", NULL), 200);
	cr_assert_eq(sit_serve_stop(&s, NULL), 0);
	free(sock);
}

/* A socket a live server answers on, a file that is no socket, dockerd's own socket:
 * serve refuses to start and leaves them. */
Test(serve, refuses_live_socket_and_other_files)
{
	char *sock = it_strf("/tmp/cglat-serve-live-%d.sock", (int)getpid());
	unlink(sock);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	const char *args[] = {"serve", "--listen", sock, NULL};
	char *err = NULL;
	int status = 0;
	it_cglat(args, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "already listening"), "%s", err);
	free(err);
	cr_expect(sit_answers(sock), "the live server's socket was touched");
	close(lfd);
	unlink(sock);

	int f = open(sock, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert_geq(f, 0);
	close(f);
	it_cglat(args, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "not a socket"), "%s", err);
	free(err);
	struct stat st;
	cr_expect(lstat(sock, &st) == 0 && S_ISREG(st.st_mode), "the file was replaced");
	unlink(sock);

	const char *own[] = {"serve", "--listen", "/var/run/docker.sock", NULL};
	it_cglat(own, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "dockerd's own socket") || strstr(err, "already listening"), "%s",
	          err);
	free(err);
	cr_expect(sit_answers("/var/run/docker.sock"));
	free(sock);
}

/* Bad dockerd sockets, bad usage and no root: refused before anything is made. */
Test(serve, checks_before_anything)
{
	char *sock = it_strf("/tmp/cglat-serve-chk-%d.sock", (int)getpid());
	struct stat st;
	const char *none[] = {"serve",         "--listen",          sock,
	                      "--docker-sock", "/nonexistent.sock", NULL};
	char *err = NULL;
	int status = 0;
	it_cglat(none, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "no Docker socket at /nonexistent.sock"), "%s", err);
	free(err);
	const char *notsock[] = {"serve", "--listen", sock, "--docker-sock", "/etc/hostname", NULL};
	it_cglat(notsock, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "not a socket"), "%s", err);
	free(err);
	cr_expect_neq(lstat(sock, &st), 0, "a socket was made although serve refused");
	const char *usage[] = {"serve", "--reply-after", "later", NULL};
	it_cglat(usage, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 2);
	cr_expect(strstr(err, "record or enforce"), "%s", err);
	free(err);
	const char *argv[] = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
	                      CGLAT_BIN, "serve",         "--listen",      sock,
	                      NULL};
	it_run(argv, 30, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1);
	cr_expect(strstr(err, "must run as root"), "%s", err);
	free(err);
	cr_expect_neq(lstat(sock, &st), 0);
	const char *help[] = {"serve", "--help", NULL};
	char *out = NULL;
	it_cglat(help, &out, NULL, &status, NULL);
	cr_expect_eq(it_exit_code(status), 0);
	cr_expect(strstr(out, "Examples:") && strstr(out, "--reply-after"), "%s", out);
	free(out);
	free(sock);
}

/* SIGTERM: no new connections, an idle connection closed at once, a request in flight
 * (a docker run attached to its container) finishes, the socket removed, exit 0. */
Test(serve, sigterm_finishes_in_flight)
{
	ensure_busybox_image();
	struct sit_serve s;
	serve_start(&s, NULL);
	int idle = sock_connect(s.sock);
	struct reader r;
	reader_init(&r, idle);
	send_str(idle, "GET /_ping HTTP/1.1\r\nHost: d\r\n\r\n");
	cr_assert_eq(read_answer(&r, false, 20), 200);
	free(r.body);
	char *name = container_name("term");
	remove_container(name);
	struct it_proc p;
	const char *args[] = {"run",
	                      "--rm",
	                      "--name",
	                      name,
	                      "--network",
	                      "none",
	                      BUSYBOX_IMAGE,
	                      "/bin/busybox",
	                      "sh",
	                      "-c",
	                      "echo started; /bin/busybox sleep 3; echo finished",
	                      NULL};
	docker_spawn(s.sock, NULL, &p, args);
	cr_assert(wait_output(&p, "started", 30), "the container did not start");
	uint64_t t0 = it_mono_ns();
	kill(s.p.pid, SIGTERM);
	cr_expect(closes(idle, 3), "an idle connection stayed open after SIGTERM");
	close(idle);
	usleep(300000);
	cr_expect(!sit_answers(s.sock), "serve still accepts after SIGTERM");
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_wait(&p, 30, &out, &err, &status), 0);
	cr_expect_eq(it_exit_code(status), 0, "docker run in flight: %s", err);
	cr_expect(strstr(out, "finished"), "docker run in flight printed: %s", out);
	free(out);
	free(err);
	status = 0;
	it_wait(&s.p, 30, NULL, &err, &status);
	s.running = false;
	double took = (double)(it_mono_ns() - t0) / 1e9;
	cr_expect_eq(it_exit_code(status), 0, "serve after SIGTERM: %s", err);
	cr_expect(took < 10, "serve took %.1f s to stop", took);
	free(err);
	struct stat st;
	cr_expect_neq(lstat(s.sock, &st), 0, "the socket is left");
	remove_container(name);
	free(name);
}

/* SIGTERM with a stream that does not end (docker logs -f of a silent container): serve
 * waits the grace period (10 s), then closes it, and exits 0. */
Test(serve, sigterm_bounded_by_grace)
{
	struct sit_serve s;
	char *name = idle_container_and_serve("grace", &s);
	struct it_proc p;
	follow_logs(s.sock, name, &p);
	sleep(1);
	cr_assert(still_running(p.pid));
	uint64_t t0 = it_mono_ns();
	char *err = NULL;
	cr_assert_eq(sit_serve_stop(&s, &err), 0, "%s", err);
	double took = (double)(it_mono_ns() - t0) / 1e9;
	cr_expect(took > 9 && took < 20, "serve stopped after %.1f s", took);
	cr_expect(strstr(err, "still busy"), "%s", err);
	free(err);
	int status;
	cr_expect_eq(it_wait(&p, 20, NULL, NULL, &status), 0,
	             "docker logs -f did not end when serve closed it");
	remove_container(name);
	free(name);
}
