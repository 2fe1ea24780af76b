/* docker_http.c without dockerd: answers recorded from dockerd 20.10.24
 * (tests/fixtures/docker/http, bytes as they came off the socket) fed to the parser whole,
 * split at every byte, cut short and over the size cap; request heads and the
 * percent-encoder; and the connection's keep-alive, reconnect and timeout against a
 * local socket that replays recorded answers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <http_parser.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"
#include "docker_http.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

#define INSPECT_ID "827a7ed92d345c499cf8a97324afef580cc6c36c81ac8fa9ba7bd915b5551659"
#define SOCK "/test/docker.sock"

static char *recorded(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/docker/http/%s", FIXTURES_DIR, name);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open fixture %s", path);
	char *buf = malloc((1 << 16) + 1);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	cr_assert_gt(*len, 0, "fixture %s is empty", path);
	buf[*len] = '\0';
	return buf;
}

static struct dh_response resp;
static struct cg_err err;
static char *kept[8]; /* recorded answers a replay sends, freed after the test */
static size_t nkept;

static void reset(void)
{
	memset(&resp, 0, sizeof(resp));
	memset(&err, 0, sizeof(err));
}

static void release(void)
{
	dh_response_free(&resp);
	while (nkept)
		free(kept[--nkept]);
}

TestSuite(docker_http, .init = reset, .fini = release);

/* Feeds the answer in pieces of `step` bytes (0: whole); returns the last feed's result. */
static int feed(const char *data, size_t len, size_t step, size_t max)
{
	dh_response_start(&resp, "GET /test", max);
	int rc = 0;
	for (size_t off = 0; off < len && rc == 0;) {
		size_t n = step && step < len - off ? step : len - off;
		rc = dh_response_feed(&resp, data + off, n, SOCK, &err);
		off += n;
	}
	return rc;
}

/* ---- framing ---- */

Test(docker_http, content_length_answer)
{
	size_t len;
	char *text = recorded("version.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_eq(resp.status, 200);
	cr_assert_eq(resp.len, 794);
	cr_assert(resp.keep_alive, "dockerd keeps HTTP/1.1 connections open");
	struct docker_info info = {0};
	cr_assert_eq(docker_parse_version(resp.body, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.api_version, "1.41");
	free(text);
}

Test(docker_http, chunked_inspect_answer)
{
	size_t len;
	char *text = recorded("inspect_200.http", &len);
	cr_assert(strstr(text, "Transfer-Encoding: chunked\r\n"), "the fixture is chunked");
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_eq(resp.status, 200);
	cr_assert_eq(resp.len, 0x10eb, "the one chunk's length, without its framing");
	cr_assert_eq(strlen(resp.body), resp.len);
	cr_assert_null(strstr(resp.body, "\r\n0\r\n"), "chunk framing left in the body");
	struct docker_container c;
	cr_assert_eq(docker_parse_inspect(resp.body, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, INSPECT_ID);
	cr_assert_str_eq(c.name, "cglat-http-test");
	cr_assert(resp.keep_alive);
	free(text);
}

/* The event stream: six chunks, one JSON object (and its newline) each. */
Test(docker_http, chunked_event_stream)
{
	size_t len;
	char *text = recorded("events.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	const char *want[] = {"tag", "import", "create", "destroy", "untag", "delete"};
	const char *p = resp.body;
	for (size_t i = 0; i < 6; i++) {
		const char *nl = strchr(p, '\n');
		cr_assert_not_null(nl, "event %zu missing", i);
		json_t *ev = json_loadb(p, (size_t)(nl - p), 0, NULL);
		cr_assert_not_null(ev, "event %zu is not one JSON object: %.*s", i, (int)(nl - p),
		                   p);
		cr_assert_str_eq(json_string_value(json_object_get(ev, "status")), want[i]);
		json_decref(ev);
		p = nl + 1;
	}
	cr_assert_str_eq(p, "");
	free(text);
}

Test(docker_http, chunked_import_stream)
{
	size_t len;
	char *text = recorded("import_200.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_str_eq(resp.body,
	                 "{\"status\":\"sha256:9eccfd9930cc84f68231b2fff3e9e428ae300c0c8acb"
	                 "9286fab0af9dc38d468b\"}\r\n");
	free(text);
}

Test(docker_http, no_content_answer)
{
	size_t len;
	char *text = recorded("remove_204.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_eq(resp.status, 204);
	cr_assert_eq(resp.len, 0);
	cr_assert_str_eq(resp.body, "");
	cr_assert(resp.keep_alive);
	free(text);
}

Test(docker_http, error_answers_keep_dockerds_message)
{
	size_t len;
	char *text = recorded("inspect_404.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_eq(resp.status, 404);
	docker_error_from_body(resp.body, resp.status, &err);
	cr_assert_str_eq(err.msg, "dockerd: No such container: cglat-no-such-container (HTTP 404)");
	free(text);
	text = recorded("update_400.http", &len);
	cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s", err.msg);
	docker_error_from_body(resp.body, resp.status, &err);
	cr_assert_str_eq(err.msg, "dockerd: Minimum memory limit allowed is 6MB (HTTP 400)");
	free(text);
}

/* Every answer split in two at every byte, and fed one byte at a time, reads the same. */
Test(docker_http, split_at_every_byte)
{
	const char *names[] = {"version.http", "inspect_200.http", "inspect_404.http",
	                       "events.http", "remove_204.http"};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t len;
		char *text = recorded(names[k], &len);
		cr_assert_eq(feed(text, len, 0, 1 << 20), 1, "%s: %s", names[k], err.msg);
		char *whole = strdup(resp.body);
		long status = resp.status;
		for (size_t cut = 1; cut < len; cut++) {
			dh_response_start(&resp, "GET /test", 1 << 20);
			cr_assert_eq(dh_response_feed(&resp, text, cut, SOCK, &err), 0,
			             "%s cut at %zu: %s", names[k], cut, err.msg);
			cr_assert_eq(dh_response_feed(&resp, text + cut, len - cut, SOCK, &err), 1,
			             "%s cut at %zu: %s", names[k], cut, err.msg);
			cr_assert_eq(resp.status, status);
			cr_assert_str_eq(resp.body, whole, "%s cut at %zu", names[k], cut);
		}
		cr_assert_eq(feed(text, len, 1, 1 << 20), 1, "%s byte by byte: %s", names[k],
		             err.msg);
		cr_assert_str_eq(resp.body, whole, "%s byte by byte", names[k]);
		free(whole);
		free(text);
	}
}

Test(docker_http, body_to_the_end_of_the_connection)
{
	const char *text = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello";
	cr_assert_eq(feed(text, strlen(text), 0, 1 << 20), 0, "no length: more may come");
	cr_assert_eq(dh_response_feed(&resp, NULL, 0, SOCK, &err), 1, "%s", err.msg);
	cr_assert_str_eq(resp.body, "hello");
	cr_assert_not(resp.keep_alive);
}

Test(docker_http, bytes_after_the_answer_end_keep_alive)
{
	size_t len;
	char *text = recorded("inspect_404.http", &len);
	char *two = malloc(2 * len);
	memcpy(two, text, len);
	memcpy(two + len, text, len);
	cr_assert_eq(feed(two, 2 * len, 0, 1 << 20), 1, "%s", err.msg);
	cr_assert_eq(resp.len, 57, "only the first answer's body");
	cr_assert_not(resp.keep_alive, "unasked-for bytes: the connection is not reused");
	free(two);
	free(text);
}

/* ---- refused answers ---- */

Test(docker_http, oversized_chunked_body)
{
	size_t len;
	char *text = recorded("inspect_200.http", &len);
	cr_assert_eq(feed(text, len, 0, 4096), -1);
	cr_assert_str_eq(err.msg, "the answer to GET /test from " SOCK " is larger than 4096 "
	                          "bytes, more than dockerd sends: is it dockerd's socket?");
	/* Byte by byte: refused as the 4097th body byte comes. */
	cr_assert_eq(feed(text, len, 1, 4096), -1);
	cr_assert(strstr(err.msg, "larger than 4096 bytes"), "%s", err.msg);
	free(text);
}

Test(docker_http, oversized_content_length_refused_before_the_body)
{
	const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 68719476736\r\n\r\n";
	cr_assert_eq(feed(head, strlen(head), 0, 64u << 20), -1);
	cr_assert(strstr(err.msg, "is larger than 64 MiB"), "%s", err.msg);
}

Test(docker_http, truncated_answers)
{
	size_t len;
	char *text = recorded("inspect_200.http", &len);
	cr_assert_eq(feed(text, len / 2, 0, 1 << 20), 0);
	cr_assert_eq(dh_response_feed(&resp, NULL, 0, SOCK, &err), -1);
	cr_assert(strstr(err.msg, "dockerd at " SOCK " closed the connection in the middle of its "
	                          "answer to GET /test (HTTP 200, "),
	          "%s", err.msg);
	/* Cut in the headers. */
	cr_assert_eq(feed(text, 40, 0, 1 << 20), 0);
	cr_assert_eq(dh_response_feed(&resp, NULL, 0, SOCK, &err), -1);
	cr_assert(strstr(err.msg, "in the middle of the headers of its answer to GET /test (40 "
	                          "bytes came)"),
	          "%s", err.msg);
	/* Nothing at all. */
	dh_response_start(&resp, "GET /test", 1 << 20);
	cr_assert_eq(dh_response_feed(&resp, NULL, 0, SOCK, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd at " SOCK " closed the connection without answering "
	                          "GET /test");
	/* A Content-Length body cut short. */
	free(text);
	text = recorded("version.http", &len);
	cr_assert_eq(feed(text, len - 1, 0, 1 << 20), 0);
	cr_assert_eq(dh_response_feed(&resp, NULL, 0, SOCK, &err), -1);
	cr_assert(strstr(err.msg, "793 bytes of the body came"), "%s", err.msg);
	free(text);
}

Test(docker_http, not_http_at_all)
{
	const char *text = "SSH-2.0-OpenSSH_9.2p1\r\n";
	cr_assert_eq(feed(text, strlen(text), 0, 1 << 20), -1);
	cr_assert(strstr(err.msg, "the answer to GET /test from " SOCK " is not HTTP: "), "%s",
	          err.msg);
}

/* ---- requests ---- */

Test(docker_http, request_heads)
{
	char head[512];
	struct dh_request get = {.method = DH_GET, .path = "/containers/web/json"};
	int n = dh_format_head(&get, head, sizeof(head));
	cr_assert_str_eq(head, "GET /containers/web/json HTTP/1.1\r\nHost: localhost\r\n"
	                       "User-Agent: cglat/" CGLAT_VERSION "\r\n\r\n");
	cr_assert_eq(n, (int)strlen(head));
	struct dh_request post = {.method = DH_POST,
	                          .path = "/v1.41/containers/web/update",
	                          .content_type = "application/json",
	                          .body = "{\"Memory\":1}",
	                          .len = 12};
	dh_format_head(&post, head, sizeof(head));
	cr_assert(strstr(head, "POST /v1.41/containers/web/update HTTP/1.1\r\n") == head, "%s",
	          head);
	cr_assert(strstr(head, "\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"),
	          "%s", head);
	struct dh_request start = {.method = DH_POST, .path = "/containers/x/start"};
	dh_format_head(&start, head, sizeof(head));
	cr_assert(strstr(head, "\r\nContent-Length: 0\r\n\r\n"), "a POST says its empty body: %s",
	          head);
	struct dh_request del = {.method = DH_DELETE, .path = "/containers/x?force=1&v=1"};
	dh_format_head(&del, head, sizeof(head));
	cr_assert(strstr(head, "DELETE /containers/x?force=1&v=1 HTTP/1.1\r\n") == head, "%s",
	          head);
	cr_assert_null(strstr(head, "Content-Length"), "%s", head);
}

Test(docker_http, request_heads_refuse_what_would_split_them)
{
	char head[512];
	const char *bad[] = {"/a b", "/a\r\nX-Evil: 1", "/caf\xc3\xa9", "relative", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dh_request rq = {.method = DH_GET, .path = bad[i]};
		cr_assert_eq(dh_format_head(&rq, head, sizeof(head)), -1, "path %zu accepted", i);
	}
	struct dh_request rq = {.method = DH_GET, .path = "/containers/web/json"};
	cr_assert_eq(dh_format_head(&rq, head, 40), -1, "does not fit");
}

Test(docker_http, percent_encoding)
{
	char out[128];
	cr_assert_eq(dh_escape("CMD [\"/idle\"]", out, sizeof(out)), 25);
	cr_assert_str_eq(out, "CMD%20%5B%22%2Fidle%22%5D");
	dh_escape("{\"label\":[\"cglat.test=1\"]}", out, sizeof(out));
	cr_assert_str_eq(out, "%7B%22label%22%3A%5B%22cglat.test%3D1%22%5D%7D");
	dh_escape("cglat-idle/x_y.z~", out, sizeof(out));
	cr_assert_str_eq(out, "cglat-idle%2Fx_y.z~");
	dh_escape("a&b=c%\xff", out, sizeof(out));
	cr_assert_str_eq(out, "a%26b%3Dc%25%FF");
	cr_assert_eq(dh_escape("", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(dh_escape("abc", out, 3), -1, "no room for the NUL");
	cr_assert_eq(dh_escape("a b", out, 5), -1, "no room for %%20 and the NUL");
	cr_assert_eq(dh_escape("a b", out, 6), 5);
}

/* ---- the connection, against a local socket replaying recorded answers ---- */

enum step_kind {
	ANSWER,       /* read a request, send the answer, keep the connection */
	ANSWER_CLOSE, /* ... then close it */
	CLOSE,        /* read a request, close without answering */
	SILENT,       /* read a request, never answer; wait for the client to go */
};

struct step {
	enum step_kind kind;
	const char *answer;
	size_t len;
};

struct replay {
	int lfd;
	char path[108];
	const struct step *steps;
	size_t nsteps;
	unsigned accepted;
	unsigned requests;
	char urls[8][128];
	pthread_t thread;
};

struct req_state {
	struct replay *r;
	bool done;
	size_t url_len;
};

static int req_on_url(http_parser *p, const char *at, size_t n)
{
	struct req_state *s = p->data;
	char *url = s->r->urls[s->r->requests % 8];
	if (s->url_len + n < sizeof(s->r->urls[0])) {
		memcpy(url + s->url_len, at, n);
		s->url_len += n;
		url[s->url_len] = '\0';
	}
	return 0;
}

static int req_on_complete(http_parser *p)
{
	struct req_state *s = p->data;
	s->done = true;
	http_parser_pause(p, 1);
	return 0;
}

/* Reads one request with http_parser; false when the client closed first. */
static bool read_request(struct replay *r, int fd)
{
	static const http_parser_settings st = {.on_url = req_on_url,
	                                        .on_message_complete = req_on_complete};
	http_parser p;
	struct req_state s = {.r = r};
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &s;
	char buf[4096];
	while (!s.done) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return false;
		http_parser_execute(&p, &st, buf, (size_t)n);
	}
	r->requests++;
	return true;
}

static void *replay_main(void *arg)
{
	struct replay *r = arg;
	size_t next = 0;
	while (next < r->nsteps) {
		int fd = accept(r->lfd, NULL, NULL);
		if (fd < 0)
			break;
		r->accepted++;
		while (next < r->nsteps) {
			if (!read_request(r, fd))
				break;
			const struct step *st = &r->steps[next++];
			if (st->kind == ANSWER || st->kind == ANSWER_CLOSE) {
				if (send(fd, st->answer, st->len, MSG_NOSIGNAL) != (ssize_t)st->len)
					break;
			}
			if (st->kind == SILENT) {
				char b;
				while (read(fd, &b, 1) > 0)
					;
			}
			if (st->kind != ANSWER)
				break;
		}
		close(fd);
	}
	return NULL;
}

static void replay_start(struct replay *r, const struct step *steps, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->steps = steps;
	r->nsteps = n;
	snprintf(r->path, sizeof(r->path), "/tmp/cglat-test-replay-%d.sock", (int)getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	unlink(r->path);
	r->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(r->lfd >= 0 && bind(r->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                  listen(r->lfd, 4) == 0,
	          "replay socket: %s", strerror(errno));
	cr_assert_eq(pthread_create(&r->thread, NULL, replay_main, r), 0);
}

static void replay_stop(struct replay *r)
{
	shutdown(r->lfd, SHUT_RDWR); /* wakes accept */
	pthread_join(r->thread, NULL);
	close(r->lfd);
	unlink(r->path);
}

static struct step answer(enum step_kind kind, const char *fixture)
{
	size_t len;
	char *text = recorded(fixture, &len);
	cr_assert_lt(nkept, 8);
	kept[nkept++] = text;
	return (struct step){.kind = kind, .answer = text, .len = len};
}

static struct dh_conn conn;

static int get(const char *path)
{
	struct dh_request rq = {.method = DH_GET, .path = path};
	return dh_request(&conn, &rq, &err);
}

Test(docker_http, keeps_one_connection)
{
	struct step steps[] = {answer(ANSWER, "version.http"), answer(ANSWER, "inspect_200.http"),
	                       answer(ANSWER, "inspect_404.http")};
	struct replay r;
	replay_start(&r, steps, 3);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	cr_assert_eq(get("/version"), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.status, 200);
	cr_assert_eq(get("/containers/cglat-http-test/json"), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.len, 0x10eb);
	cr_assert_eq(get("/containers/nope/json"), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.status, 404);
	cr_assert_eq(conn.connects, 1, "one connection for three requests");
	dh_free(&conn);
	replay_stop(&r);
	cr_assert_eq(r.accepted, 1);
	cr_assert_eq(r.requests, 3);
	cr_assert_str_eq(r.urls[1], "/containers/cglat-http-test/json");
}

/* dockerd closed the kept connection while it was idle: the next request opens another. */
Test(docker_http, reconnects_after_an_idle_close)
{
	struct step steps[] = {answer(ANSWER_CLOSE, "version.http"),
	                       answer(ANSWER, "inspect_404.http")};
	struct replay r;
	replay_start(&r, steps, 2);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	cr_assert_eq(get("/version"), 0, "%s", err.msg);
	usleep(20000); /* the close reaches this side */
	cr_assert_eq(get("/containers/nope/json"), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.status, 404);
	cr_assert_eq(conn.connects, 2);
	dh_free(&conn);
	replay_stop(&r);
	cr_assert_eq(r.requests, 2);
}

/* dockerd closed the kept connection just as the request went (read, no answer): sent
 * once more on a new connection. */
Test(docker_http, resends_once_when_a_kept_connection_ends_unanswered)
{
	struct step steps[] = {answer(ANSWER, "version.http"),
	                       {.kind = CLOSE},
	                       answer(ANSWER, "inspect_404.http")};
	struct replay r;
	replay_start(&r, steps, 3);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	cr_assert_eq(get("/version"), 0, "%s", err.msg);
	cr_assert_eq(get("/containers/nope/json"), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.status, 404);
	cr_assert_eq(conn.connects, 2);
	dh_free(&conn);
	replay_stop(&r);
	cr_assert_eq(r.requests, 3, "the request went twice");
}

/* A POST that dockerd read and then closed on without answering may have been carried
 * out: it is not sent again. */
Test(docker_http, a_post_read_and_unanswered_is_not_resent)
{
	struct step steps[] = {answer(ANSWER, "version.http"),
	                       {.kind = CLOSE},
	                       answer(ANSWER, "inspect_404.http")};
	struct replay r;
	replay_start(&r, steps, 3);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	cr_assert_eq(get("/version"), 0, "%s", err.msg);
	struct dh_request rq = {.method = DH_POST,
	                        .path = "/containers/create?name=x",
	                        .content_type = "application/json",
	                        .body = "{}",
	                        .len = 2};
	cr_assert_eq(dh_request(&conn, &rq, &err), -1, "the POST was sent again");
	cr_assert(strstr(err.msg, "without answering POST /containers/create"), "%s", err.msg);
	cr_assert_eq(conn.connects, 1);
	dh_free(&conn);
	replay_stop(&r);
	cr_assert_eq(r.requests, 2, "the POST went twice");
}

/* A new connection that ends without an answer is an error, not a loop. */
Test(docker_http, fresh_connection_without_answer_is_an_error)
{
	struct step steps[] = {{.kind = CLOSE}, {.kind = CLOSE}};
	struct replay r;
	replay_start(&r, steps, 2);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	cr_assert_eq(get("/version"), -1);
	cr_assert(strstr(err.msg, "closed the connection without answering GET /version"), "%s",
	          err.msg);
	cr_assert_eq(conn.connects, 1);
	dh_free(&conn);
	replay_stop(&r);
}

Test(docker_http, silent_peer_times_out)
{
	struct step steps[] = {{.kind = SILENT}};
	struct replay r;
	replay_start(&r, steps, 1);
	dh_init(&conn, r.path, 1000, 300, 1 << 20);
	cr_assert_eq(get("/version"), -1);
	cr_assert(strstr(err.msg, "dockerd at /tmp/cglat-test-replay-"), "%s", err.msg);
	cr_assert(strstr(err.msg, " did not answer in time: is it hung? (GET /version was not "
	                          "answered within 0.3 s)"),
	          "%s", err.msg);
	cr_assert_eq(conn.fd, -1, "a timed-out connection is not reused");
	dh_free(&conn);
	replay_stop(&r);
}

Test(docker_http, post_body_arrives_whole)
{
	size_t tar_len = 300000;
	char *tar = malloc(tar_len);
	for (size_t i = 0; i < tar_len; i++)
		tar[i] = (char)(i * 7);
	struct step steps[] = {answer(ANSWER, "import_200.http")};
	struct replay r;
	replay_start(&r, steps, 1);
	dh_init(&conn, r.path, 1000, 5000, 1 << 20);
	struct dh_request rq = {.method = DH_POST,
	                        .path = "/images/create?fromSrc=-",
	                        .content_type = "application/x-tar",
	                        .body = tar,
	                        .len = tar_len};
	cr_assert_eq(dh_request(&conn, &rq, &err), 0, "%s", err.msg);
	cr_assert_eq(conn.resp.status, 200);
	dh_free(&conn);
	replay_stop(&r);
	cr_assert_eq(r.requests, 1, "the replay read the whole %zu-byte body as one request",
	             tar_len);
	free(tar);
}

Test(docker_http, nobody_listening_says_dockerd_is_not_running)
{
	char path[108];
	snprintf(path, sizeof(path), "/tmp/cglat-test-refused-%d.sock", (int)getpid());
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0); /* bound, not listening */
	dh_init(&conn, path, 1000, 5000, 1 << 20);
	int rc = get("/version");
	close(fd);
	unlink(path);
	cr_assert_eq(rc, -1);
	char want[256];
	snprintf(want, sizeof(want), "dockerd is not running at %s (connection refused): ", path);
	cr_assert(strstr(err.msg, want), "%s", err.msg);
	cr_assert(strstr(err.msg, "sudo dockerd"), "%s", err.msg);
	dh_free(&conn);
}
