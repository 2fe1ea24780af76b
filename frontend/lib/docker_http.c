/* HTTP/1.1 over dockerd's unix socket: requests formatted here, answers framed by
 * http_parser (Content-Length, chunked, or to the end of the connection), one kept
 * connection with poll() deadlines. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "docker_http.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef CGLAT_VERSION
#define CGLAT_VERSION "0"
#endif

static const char *const method_names[] = {"GET", "POST", "DELETE"};

/* ---- answers ---- */

static int on_headers_complete(http_parser *p)
{
	struct dh_response *r = p->data;
	r->status = p->status_code;
	if (p->status_code >= 100 && p->status_code < 200)
		return 0; /* an interim answer; the real one follows */
	r->headers_done = true;
	/* A Content-Length larger than the cap is refused before its body is read. */
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
	    p->content_length > r->max) {
		r->too_big = true;
		return -1;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct dh_response *r = p->data;
	if (n > r->max - r->len) {
		r->too_big = true;
		return -1;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		if (cap > r->max + 1)
			cap = r->max + 1; /* enough: len + n <= max */
		char *body = realloc(r->body, cap);
		if (!body)
			return -1;
		r->body = body;
		r->cap = cap;
	}
	memcpy(r->body + r->len, at, n);
	r->len += n;
	r->body[r->len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct dh_response *r = p->data;
	if (p->status_code >= 100 && p->status_code < 200) {
		r->status = 0;
		return 0;
	}
	r->complete = true;
	r->keep_alive = http_should_keep_alive(p) != 0;
	http_parser_pause(p, 1); /* the answer is whole: leave what follows unparsed */
	return 0;
}

static const http_parser_settings settings = {
        .on_headers_complete = on_headers_complete,
        .on_body = on_body,
        .on_message_complete = on_message_complete,
};

void dh_response_start(struct dh_response *r, const char *what, size_t max_body)
{
	http_parser_init(&r->parser, HTTP_RESPONSE);
	r->parser.data = r;
	snprintf(r->what, sizeof(r->what), "%s", what ? what : "a request");
	r->status = 0;
	r->len = 0;
	r->max = max_body;
	r->received = 0;
	r->headers_done = r->complete = r->keep_alive = r->too_big = false;
	if (!r->body) {
		r->cap = 4096;
		r->body = malloc(r->cap);
		if (!r->body)
			r->cap = 0;
	}
	if (r->body)
		r->body[0] = '\0';
}

void dh_response_free(struct dh_response *r)
{
	free(r->body);
	r->body = NULL;
	r->cap = r->len = 0;
}

/* "300 s", "0.3 s". */
static const char *seconds_text(int ms, char *out, size_t cap)
{
	if (ms % 1000 == 0)
		snprintf(out, cap, "%d s", ms / 1000);
	else
		snprintf(out, cap, "%.1f s", ms / 1000.0);
	return out;
}

static void size_text(size_t n, char *out, size_t cap)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(out, cap, "%zu MiB", n >> 20);
	else
		snprintf(out, cap, "%zu bytes", n);
}

int dh_response_feed(struct dh_response *r, const char *data, size_t n, const char *sock,
                     struct cg_err *err)
{
	if (r->complete)
		return 1;
	if (!r->body)
		return cg_errf(err, "out of memory reading dockerd's answer to %s", r->what);
	bool eof = n == 0;
	size_t before = r->received;
	size_t done = http_parser_execute(&r->parser, &settings, data, n);
	r->received += n;
	if (r->complete) {
		if (done < n)
			r->keep_alive = false; /* bytes after the answer: start afresh next time */
		return 1;
	}
	enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
	if (r->too_big) {
		char cap[32];
		size_text(r->max, cap, sizeof(cap));
		return cg_errf(err,
		               "the answer to %s from %s is larger than %s, more than dockerd "
		               "sends: is it dockerd's socket?",
		               r->what, sock, cap);
	}
	if (eof && before == 0)
		return cg_errf(err, "dockerd at %s closed the connection without answering %s",
		               sock, r->what);
	if (eof && (e == HPE_OK || e == HPE_INVALID_EOF_STATE)) {
		if (!r->headers_done)
			return cg_errf(err,
			               "dockerd at %s closed the connection in the middle of the "
			               "headers of its answer to %s (%zu bytes came)",
			               sock, r->what, r->received);
		return cg_errf(err,
		               "dockerd at %s closed the connection in the middle of its answer "
		               "to %s (HTTP %ld, %zu bytes of the body came)",
		               sock, r->what, r->status, r->len);
	}
	if (e != HPE_OK)
		return cg_errf(err, "the answer to %s from %s is not HTTP: %s (%s)", r->what, sock,
		               http_errno_description(e), http_errno_name(e));
	return 0;
}

/* ---- requests ---- */

int dh_format_head(const struct dh_request *rq, char *out, size_t cap)
{
	if ((unsigned)rq->method > DH_DELETE || !rq->path || rq->path[0] != '/')
		return -1;
	/* A space, a control character or a byte above 0x7e would end the request line or
	 * start a header: the path must be escaped already. */
	for (const unsigned char *p = (const unsigned char *)rq->path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return -1;
	int n;
	if (rq->content_type)
		n = snprintf(out, cap,
		             "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: cglat/" CGLAT_VERSION
		             "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n",
		             method_names[rq->method], rq->path, rq->content_type, rq->len);
	else
		n = snprintf(out, cap,
		             "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: cglat/" CGLAT_VERSION
		             "\r\n%s\r\n",
		             method_names[rq->method], rq->path,
		             rq->method == DH_POST ? "Content-Length: 0\r\n" : "");
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int dh_escape(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || (*p && strchr("-._~", *p));
		if (n + (keep ? 1 : 3) >= cap)
			return -1;
		if (keep) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	if (n >= cap)
		return -1;
	out[n] = '\0';
	return (int)n;
}

/* ---- the connection ---- */

void dh_init(struct dh_conn *c, const char *sock, int connect_timeout_ms, int request_timeout_ms,
             size_t max_body)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->sock, sizeof(c->sock), "%s", sock);
	c->connect_timeout_ms = connect_timeout_ms;
	c->request_timeout_ms = request_timeout_ms;
	c->max_body = max_body;
}

int dh_connect(struct dh_conn *c, struct cg_err *err)
{
	if (c->fd >= 0)
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cg_errf(err, "cannot make a socket to reach dockerd: %s", strerror(errno));
	/* A unix connect never goes asynchronous: it completes, fails, or waits for room in
	 * dockerd's backlog, which SO_SNDTIMEO bounds (it then fails with EAGAIN). */
	struct timeval tv = {.tv_sec = c->connect_timeout_ms / 1000,
	                     .tv_usec = (c->connect_timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc;
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 && errno == EINTR)
		;
	int e = errno;
	if (rc < 0) {
		close(fd);
		if (e == ECONNREFUSED || e == ENOENT)
			return cg_errf(err, "dockerd is not running at %s (connection refused): %s",
			               c->sock, DOCKER_START_HINT);
		if (e == EACCES || e == EPERM)
			return cg_errf(err, "no permission to connect to %s: run cglat as root",
			               c->sock);
		char secs[32];
		if (e == EAGAIN || e == ETIMEDOUT)
			return cg_errf(err,
			               "dockerd at %s did not answer in time: is it hung? (it "
			               "accepted no connection within %s)",
			               c->sock,
			               seconds_text(c->connect_timeout_ms, secs, sizeof(secs)));
		return cg_errf(err, "cannot connect to dockerd at %s: %s", c->sock, strerror(e));
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		return cg_errf(err, "cannot set up the connection to %s: %s", c->sock, strerror(e));
	}
	c->fd = fd;
	c->connects++;
	return 0;
}

void dh_disconnect(struct dh_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void dh_free(struct dh_conn *c)
{
	dh_disconnect(c);
	dh_response_free(&c->resp);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* An idle kept connection has nothing to read: readable means dockerd closed it (or
 * sent something no request asked for). */
static bool idle_and_open(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

struct exchange {
	const char *head;
	size_t head_len;
	const char *body;
	size_t body_len;
	size_t sent;
	bool send_failed; /* dockerd closed its side: read what it said, if anything */
	bool nothing;     /* no byte of an answer came before the connection ended */
	bool unsent;      /* the socket refused the very first byte: dockerd saw nothing */
};

/* Writes what the socket takes; 0, or -1 on an error that is not a closed peer. */
static int send_some(struct dh_conn *c, struct exchange *x, const char *what, struct cg_err *err)
{
	size_t total = x->head_len + x->body_len;
	while (x->sent < total) {
		struct iovec iov[2];
		int n = 0;
		if (x->sent < x->head_len)
			iov[n++] =
			        (struct iovec){(void *)(x->head + x->sent), x->head_len - x->sent};
		size_t boff = x->sent > x->head_len ? x->sent - x->head_len : 0;
		if (x->body_len > boff)
			iov[n++] = (struct iovec){(void *)(x->body + boff), x->body_len - boff};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
		ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (w >= 0) {
			x->sent += (size_t)w;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EPIPE || errno == ECONNRESET) {
			x->send_failed = true;
			x->unsent = x->sent == 0;
			x->sent = total;
			return 0;
		}
		return cg_errf(err, "request to dockerd at %s failed: sending %s: %s", c->sock,
		               what, strerror(errno));
	}
	return 0;
}

/* Reads what is there; 1 when the answer is whole, 0 for more, -1 on error. */
static int recv_some(struct dh_conn *c, struct exchange *x, struct cg_err *err)
{
	char buf[16384];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno != ECONNRESET)
			return cg_errf(err,
			               "request to dockerd at %s failed: reading the answer to "
			               "%s: %s",
			               c->sock, c->resp.what, strerror(errno));
		if (n <= 0) /* closed, or reset: the end of what dockerd sends */
			x->nothing = c->resp.received == 0;
		int rc = dh_response_feed(&c->resp, buf, n > 0 ? (size_t)n : 0, c->sock, err);
		if (rc != 0 || n <= 0)
			return rc == 0 ? -1 : rc;
	}
}

static int exchange(struct dh_conn *c, struct exchange *x, int64_t deadline, struct cg_err *err)
{
	const char *what = c->resp.what;
	size_t total = x->head_len + x->body_len;
	if (send_some(c, x, what, err) < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - now_ms();
		char secs[32];
		if (left <= 0)
			return cg_errf(err,
			               "dockerd at %s did not answer in time: is it hung? (%s %s "
			               "within %s)",
			               c->sock, what,
			               x->sent < total        ? "could not be sent"
			               : c->resp.received > 0 ? "was not answered in full"
			                                      : "was not answered",
			               seconds_text(c->request_timeout_ms, secs, sizeof(secs)));
		struct pollfd pfd = {.fd = c->fd,
		                     .events = (short)(POLLIN | (x->sent < total ? POLLOUT : 0))};
		int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return cg_errf(err, "request to dockerd at %s failed: poll: %s", c->sock,
			               strerror(errno));
		if (pr == 0)
			continue; /* the deadline check above words the timeout */
		if ((pfd.revents & POLLOUT) && send_some(c, x, what, err) < 0)
			return -1;
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			int rc = recv_some(c, x, err);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				/* Answered before the whole body went: the connection is not
				 * reusable. */
				if (x->sent < total || x->send_failed)
					c->resp.keep_alive = false;
				return 0;
			}
		}
	}
}

int dh_request(struct dh_conn *c, const struct dh_request *rq, struct cg_err *err)
{
	char what[96], head[4096];
	snprintf(what, sizeof(what), "%s %.80s%s",
	         (unsigned)rq->method <= DH_DELETE ? method_names[rq->method] : "?",
	         rq->path ? rq->path : "", rq->path && strlen(rq->path) > 80 ? "..." : "");
	int hlen = dh_format_head(rq, head, sizeof(head));
	if (hlen < 0)
		return cg_errf(err,
		               "cannot send %s: the path is too long or holds a character a URL "
		               "cannot",
		               what);
	int64_t deadline = now_ms() + c->request_timeout_ms;
	for (int attempt = 0;; attempt++) {
		bool reused = c->fd >= 0;
		if (reused && !idle_and_open(c->fd)) {
			dh_disconnect(c); /* dockerd closed it while it was idle */
			reused = false;
		}
		if (!reused && dh_connect(c, err) < 0)
			return -1;
		struct exchange x = {.head = head,
		                     .head_len = (size_t)hlen,
		                     .body = rq->body,
		                     .body_len = rq->body ? rq->len : 0};
		dh_response_start(&c->resp, what, c->max_body);
		if (exchange(c, &x, deadline, err) == 0) {
			if (!c->resp.keep_alive)
				dh_disconnect(c);
			return 0;
		}
		dh_disconnect(c);
		/* dockerd closed a kept connection just as the request went: once more, on a
		 * new one. A fresh connection that ends without an answer is an error, and so
		 * is a POST or DELETE that dockerd may have read (and carried out) before it
		 * closed: only a GET, or a request of which not a byte went, is sent again. */
		bool safe = rq->method == DH_GET || x.unsent;
		if (!reused || !x.nothing || attempt > 0 || !safe)
			return -1;
	}
}
