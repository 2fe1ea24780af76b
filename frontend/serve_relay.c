/* cglat serve, the relay: request reader, answer watcher, and a thread per client
 * connection that moves bytes between the client and dockerd with poll(). See
 * serve_relay.h for the shape; the rules a connection follows:
 *
 *   - one request at a time: the next request of a kept-alive connection is read once
 *     the answer to this one is whole (clients do not pipeline; the order of answers
 *     stays right when they do);
 *   - a relayed request's head goes to dockerd once it is whole and routed, its body as
 *     it comes, byte for byte; dockerd's answer goes to the client as it comes, byte for
 *     byte, and is watched only to find its end (or a hijack);
 *   - an update or /cglat/v1/stats is read whole (head <= 64 KiB, body <= 1 MiB) and
 *     answered here;
 *   - bytes are read from a side only while the buffer towards the other side is small,
 *     so a slow reader slows its writer instead of filling memory, and neither
 *     direction waits for the other. */
#include "serve_relay.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "text.h"
#include "docker_http.h"
#include "signals.h"

#define IO_CHUNK (64u << 10)     /* one read */
#define PENDING_MAX (256u << 10) /* read no more from a side while this much waits */
#define CONNECT_TIMEOUT_MS 5000
#define STOP_JOIN_EXTRA_MS 5000
#define LINGER_MS 1000
#define LINGER_MAX (4u << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- paths ---- */

bool serve_is_update_path(const char *path, char *id, size_t cap)
{
	static const char prefix[] = "/containers/", suffix[] = "/update";
	const size_t np = sizeof(prefix) - 1, ns = sizeof(suffix) - 1;
	if (!path || path[0] != '/' || !id || cap == 0)
		return false;
	size_t n = strcspn(path, "?");
	const char *p = path;
	/* dockerd's router: "/v{version:[0-9.]+}" in front of every route, or nothing. */
	if (n > 2 && p[1] == 'v') {
		size_t i = 2;
		while (i < n && (isdigit((unsigned char)p[i]) || p[i] == '.'))
			i++;
		if (i > 2 && i < n && p[i] == '/') {
			p += i;
			n -= i;
		}
	}
	if (n <= np + ns || memcmp(p, prefix, np) != 0 || memcmp(p + n - ns, suffix, ns) != 0)
		return false;
	/* "/containers/{name:.*}/update": {id} is everything between. A percent-encoded
	 * {id} is dockerd's to decode: such a request is relayed, and dockerd does it. */
	size_t len = n - np - ns;
	if (len >= cap || memchr(p + np, '%', len))
		return false;
	memcpy(id, p + np, len);
	id[len] = '\0';
	return true;
}

static bool is_stats_path(const char *url)
{
	size_t n = strcspn(url, "?");
	return n == sizeof(SERVE_STATS_PATH) - 1 && memcmp(url, SERVE_STATS_PATH, n) == 0;
}

/* ---- error answers ---- */

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 408:
		return "Request Timeout";
	case 413:
		return "Request Entity Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

char *serve_error_response(int status, const char *message, bool close, size_t *len)
{
	char body[512];
	size_t n = 0;
	n += (size_t)snprintf(body, sizeof(body), "{\"message\":\"");
	for (const unsigned char *p = (const unsigned char *)message; *p && n + 16 < sizeof(body);
	     p++) {
		if (*p == '"' || *p == '\\')
			n += (size_t)snprintf(body + n, sizeof(body) - n, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			n += (size_t)snprintf(body + n, sizeof(body) - n, "\\u%04x", *p);
		else
			body[n++] = (char)*p;
	}
	n += (size_t)snprintf(body + n, sizeof(body) - n, "\"}\n");
	size_t cap = n + 256;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	int h = snprintf(out, cap,
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 status, status_text(status), n, close ? "Connection: close\r\n" : "");
	if (h < 0 || (size_t)h + n >= cap) {
		free(out);
		return NULL;
	}
	memcpy(out + h, body, n);
	*len = (size_t)h + n;
	out[*len] = '\0';
	return out;
}

/* ---- the request reader ---- */

static void hdr_field(char *field, size_t cap, size_t *len, bool *too_long, bool *in_value,
                      const char *at, size_t n)
{
	if (*in_value) { /* a new header begins */
		*in_value = false;
		*len = 0;
		*too_long = false;
	}
	if (n >= cap - *len) {
		*too_long = true;
		return;
	}
	memcpy(field + *len, at, n);
	*len += n;
	field[*len] = '\0';
}

static int rr_on_header_field(http_parser *p, const char *at, size_t n)
{
	struct serve_rr *r = p->data;
	hdr_field(r->field, sizeof(r->field), &r->field_len, &r->field_long, &r->in_value, at, n);
	return 0;
}

static int rr_on_header_value(http_parser *p, const char *at, size_t n)
{
	struct serve_rr *r = p->data;
	if (!r->in_value) {
		r->in_value = true;
		r->value_is_expect = !r->field_long && r->field_len == 6 &&
		                     strncasecmp(r->field, "Expect", 6) == 0;
		if (r->value_is_expect)
			r->expect_len = 0;
		/* Go's Header.Get: the first Content-Type counts. */
		r->value_is_ctype = !r->has_ctype && !r->field_long && r->field_len == 12 &&
		                    strncasecmp(r->field, "Content-Type", 12) == 0;
		r->has_ctype = r->has_ctype || r->value_is_ctype;
	}
	if (r->value_is_ctype && n < sizeof(r->ctype) - r->ctype_len) {
		memcpy(r->ctype + r->ctype_len, at, n);
		r->ctype_len += n;
		r->ctype[r->ctype_len] = '\0';
	}
	if (r->value_is_expect && n < sizeof(r->expect) - r->expect_len) {
		memcpy(r->expect + r->expect_len, at, n);
		r->expect_len += n;
	}
	r->expect[r->expect_len] = '\0';
	return 0;
}

static int rr_on_url(http_parser *p, const char *at, size_t n)
{
	struct serve_rr *r = p->data;
	if (n > SERVE_HEAD_MAX - r->url_len) {
		r->err_status = 431;
		snprintf(r->err_msg, sizeof(r->err_msg), "request head larger than %u KiB",
		         SERVE_HEAD_MAX >> 10);
		return -1;
	}
	memcpy(r->url + r->url_len, at, n);
	r->url_len += n;
	r->url[r->url_len] = '\0';
	return 0;
}

static bool is_continue(const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	size_t n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	return n == 12 && strncasecmp(v, "100-continue", 12) == 0;
}

static int rr_on_headers_complete(http_parser *p)
{
	struct serve_rr *r = p->data;
	r->method = (enum http_method)p->method;
	r->keep_alive = http_should_keep_alive(p) != 0;
	r->upgrade = p->upgrade != 0;
	bool chunked = (p->flags & F_CHUNKED) != 0;
	r->chunked = chunked;
	r->http10 = p->http_major == 1 && p->http_minor == 0;
	r->has_body = chunked || (p->content_length > 0 && p->content_length != ULLONG_MAX);
	r->expect_continue = is_continue(r->expect);
	r->route = SERVE_ROUTE_RELAY;
	if (r->method == HTTP_POST && serve_is_update_path(r->url, r->id, sizeof(r->id)))
		r->route = SERVE_ROUTE_UPDATE;
	else if (r->method == HTTP_GET && is_stats_path(r->url))
		r->route = SERVE_ROUTE_STATS;
	if (r->route != SERVE_ROUTE_RELAY && !chunked && p->content_length != ULLONG_MAX &&
	    p->content_length > SERVE_BODY_MAX) {
		r->err_status = 413;
		snprintf(r->err_msg, sizeof(r->err_msg), "request body larger than %u MiB",
		         SERVE_BODY_MAX >> 20);
		return -1;
	}
	http_parser_pause(p, 1); /* the caller routes the head before any body byte */
	return 0;
}

static int rr_on_body(http_parser *p, const char *at, size_t n)
{
	struct serve_rr *r = p->data;
	if (r->route == SERVE_ROUTE_RELAY)
		return 0; /* relayed as it came */
	if (n > SERVE_BODY_MAX - r->body_len) {
		r->err_status = 413;
		snprintf(r->err_msg, sizeof(r->err_msg), "request body larger than %u MiB",
		         SERVE_BODY_MAX >> 20);
		return -1;
	}
	if (r->body_len + n + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		if (cap > SERVE_BODY_MAX + 1)
			cap = SERVE_BODY_MAX + 1;
		char *b = realloc(r->body, cap);
		if (!b) {
			r->err_status = 500;
			snprintf(r->err_msg, sizeof(r->err_msg), "out of memory");
			return -1;
		}
		r->body = b;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, at, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return 0;
}

static int rr_on_message_complete(http_parser *p)
{
	struct serve_rr *r = p->data;
	r->state = SERVE_RR_DONE;
	http_parser_pause(p, 1); /* what follows is the next request's */
	return 0;
}

static const http_parser_settings rr_settings = {
        .on_url = rr_on_url,
        .on_header_field = rr_on_header_field,
        .on_header_value = rr_on_header_value,
        .on_headers_complete = rr_on_headers_complete,
        .on_body = rr_on_body,
        .on_message_complete = rr_on_message_complete,
};

static void rr_reset(struct serve_rr *r)
{
	r->state = SERVE_RR_IDLE;
	r->head_ready = false;
	r->route = SERVE_ROUTE_RELAY;
	r->method = HTTP_GET;
	r->keep_alive = r->upgrade = r->expect_continue = r->has_body = false;
	r->chunked = r->http10 = r->has_ctype = false;
	r->ctype_len = 0;
	r->ctype[0] = '\0';
	r->head_len = r->url_len = r->body_len = 0;
	r->url[0] = '\0';
	if (r->body)
		r->body[0] = '\0';
	r->id[0] = '\0';
	r->err_status = 0;
	r->err_msg[0] = '\0';
	r->field_len = r->expect_len = 0;
	r->field[0] = r->expect[0] = '\0';
	r->field_long = r->value_is_expect = r->value_is_ctype = false;
	r->in_value = true; /* the first field callback starts a header */
}

int serve_rr_init(struct serve_rr *r)
{
	memset(r, 0, sizeof(*r));
	r->head = malloc(SERVE_HEAD_MAX + 2);
	r->url = malloc(SERVE_HEAD_MAX + 1);
	if (!r->head || !r->url) {
		serve_rr_free(r);
		return -1;
	}
	http_parser_init(&r->parser, HTTP_REQUEST);
	r->parser.data = r;
	rr_reset(r);
	return 0;
}

void serve_rr_free(struct serve_rr *r)
{
	free(r->head);
	free(r->url);
	free(r->body);
	r->head = r->url = r->body = NULL;
}

static void rr_fail(struct serve_rr *r, enum http_errno e)
{
	r->state = SERVE_RR_ERROR;
	if (r->err_status)
		return; /* a callback said why */
	if (e == HPE_HEADER_OVERFLOW) {
		r->err_status = 431;
		snprintf(r->err_msg, sizeof(r->err_msg), "request head larger than %u KiB",
		         SERVE_HEAD_MAX >> 10);
		return;
	}
	r->err_status = 400;
	snprintf(r->err_msg, sizeof(r->err_msg), "malformed HTTP request: %s",
	         http_errno_description(e));
}

void serve_rr_next(struct serve_rr *r)
{
	rr_reset(r);
	if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED)
		http_parser_pause(&r->parser, 0);
}

static size_t rr_feed_head(struct serve_rr *r, const char *data, size_t n)
{
	size_t room = SERVE_HEAD_MAX + 1 - r->head_len; /* one byte over says "too long" */
	size_t take = n < room ? n : room;
	size_t done = http_parser_execute(&r->parser, &rr_settings, data, take);
	enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
	/* Paused in on_headers_complete, the parser stops on the head's last LF without
	 * counting it: the head is one byte longer than it says. */
	bool head_done = e == HPE_PAUSED;
	if (head_done && (done >= take || data[done] != '\n')) {
		r->err_status = 400;
		snprintf(r->err_msg, sizeof(r->err_msg), "malformed HTTP request head");
		r->state = SERVE_RR_ERROR;
		return done;
	}
	size_t part = done + (head_done ? 1 : 0);
	memcpy(r->head + r->head_len, data, part);
	r->head_len += part;
	r->head[r->head_len] = '\0';
	if (e != HPE_OK && e != HPE_PAUSED) {
		rr_fail(r, e);
		return part;
	}
	if (r->head_len > SERVE_HEAD_MAX) {
		r->err_status = 431;
		snprintf(r->err_msg, sizeof(r->err_msg), "request head larger than %u KiB",
		         SERVE_HEAD_MAX >> 10);
		r->state = SERVE_RR_ERROR;
		return part;
	}
	if (!head_done)
		return part;
	r->head_ready = true;
	r->state = SERVE_RR_BODY;
	/* Show the parser that LF again, now in the state after the head: a request
	 * without a body completes here, on no byte of the caller's. */
	http_parser_pause(&r->parser, 0);
	http_parser_execute(&r->parser, &rr_settings, "\n", 1);
	e = HTTP_PARSER_ERRNO(&r->parser);
	if (e != HPE_OK && e != HPE_PAUSED)
		rr_fail(r, e);
	return part;
}

size_t serve_rr_feed(struct serve_rr *r, const char *data, size_t n, size_t *forward)
{
	*forward = 0;
	r->head_ready = false;
	size_t used = 0;
	switch (r->state) {
	case SERVE_RR_DONE:
	case SERVE_RR_ERROR:
		return 0;
	case SERVE_RR_IDLE:
		/* Empty lines before a request line are skipped, as http_parser does. */
		while (used < n && (data[used] == '\r' || data[used] == '\n'))
			used++;
		if (used == n)
			return used;
		r->state = SERVE_RR_HEAD;
		/* fall through */
	case SERVE_RR_HEAD:
		return used + rr_feed_head(r, data + used, n - used);
	case SERVE_RR_BODY:
		break;
	}
	size_t done = http_parser_execute(&r->parser, &rr_settings, data, n);
	enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
	if (e != HPE_OK && e != HPE_PAUSED) {
		rr_fail(r, e);
		return done;
	}
	if (r->route == SERVE_ROUTE_RELAY)
		*forward = done;
	return done;
}

/* ---- the answer watcher ---- */

static int rw_on_message_begin(http_parser *p)
{
	struct serve_rw *w = p->data;
	w->field_len = w->ctype_len = 0;
	w->field[0] = w->ctype[0] = '\0';
	w->field_long = w->value_is_ctype = false;
	w->in_value = true;
	return 0;
}

static int rw_on_header_field(http_parser *p, const char *at, size_t n)
{
	struct serve_rw *w = p->data;
	hdr_field(w->field, sizeof(w->field), &w->field_len, &w->field_long, &w->in_value, at, n);
	return 0;
}

static int rw_on_header_value(http_parser *p, const char *at, size_t n)
{
	struct serve_rw *w = p->data;
	if (!w->in_value) {
		w->in_value = true;
		w->value_is_ctype = !w->field_long && w->field_len == 12 &&
		                    strncasecmp(w->field, "Content-Type", 12) == 0;
		if (w->value_is_ctype)
			w->ctype_len = 0;
	}
	if (w->value_is_ctype && n < sizeof(w->ctype) - w->ctype_len) {
		memcpy(w->ctype + w->ctype_len, at, n);
		w->ctype_len += n;
	}
	w->ctype[w->ctype_len] = '\0';
	return 0;
}

/* dockerd's hijacked streams: attach and exec answer with these and then stop being
 * HTTP (no Content-Length, no chunks). */
static bool is_stream_type(const char *ctype)
{
	while (*ctype == ' ')
		ctype++;
	return strncasecmp(ctype, "application/vnd.docker.raw-stream", 33) == 0 ||
	       strncasecmp(ctype, "application/vnd.docker.multiplexed-stream", 41) == 0;
}

static int rw_on_headers_complete(http_parser *p)
{
	struct serve_rw *w = p->data;
	w->status = p->status_code;
	if (p->status_code == 101) {
		w->headers_done = w->hijack = true;
		http_parser_pause(p, 1);
		return 0;
	}
	if (p->status_code >= 100 && p->status_code < 200)
		return 0; /* 100 Continue: the real answer follows */
	w->headers_done = true;
	bool framed = (p->flags & F_CHUNKED) || p->content_length != ULLONG_MAX;
	if (!framed && is_stream_type(w->ctype)) {
		w->hijack = true;
		http_parser_pause(p, 1);
		return 0;
	}
	return w->head_request ? 1 : 0; /* 1: an answer to HEAD has no body */
}

static int rw_on_message_complete(http_parser *p)
{
	struct serve_rw *w = p->data;
	if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101)
		return 0;
	w->complete = true;
	w->keep_alive = http_should_keep_alive(p) != 0;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings rw_settings = {
        .on_message_begin = rw_on_message_begin,
        .on_header_field = rw_on_header_field,
        .on_header_value = rw_on_header_value,
        .on_headers_complete = rw_on_headers_complete,
        .on_message_complete = rw_on_message_complete,
};

void serve_rw_start(struct serve_rw *w, bool head_request)
{
	memset(w, 0, sizeof(*w));
	http_parser_init(&w->parser, HTTP_RESPONSE);
	w->parser.data = w;
	w->head_request = head_request;
	w->in_value = true;
}

size_t serve_rw_feed(struct serve_rw *w, const char *data, size_t n)
{
	if (w->complete || w->hijack || w->broken)
		return 0;
	size_t done = http_parser_execute(&w->parser, &rw_settings, data, n);
	enum http_errno e = HTTP_PARSER_ERRNO(&w->parser);
	if (e != HPE_OK && e != HPE_PAUSED)
		w->broken = true;
	else if (n == 0 && !w->complete)
		w->broken = true; /* closed before the answer's end */
	return done;
}

/* ---- the relay and its connections ---- */

struct buf {
	char *d;
	size_t off, len, cap; /* bytes d[off..len) wait */
};

static size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->off == b->len)
		b->off = b->len = 0;
	if (n > b->cap - b->len && b->off > 0) {
		memmove(b->d, b->d + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap - b->len < n)
			cap *= 2;
		char *d = realloc(b->d, cap);
		if (!d)
			return -1;
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->len, p, n);
	b->len += n;
	return 0;
}

/* Stacks of serve's own for the connection threads, kept from one connection to the
 * next. glibc gives the pages of a stack it made back to the kernel when its thread
 * exits, so each `docker update` (a new connection, so a new thread) took page faults
 * all the way down the update path; a stack the caller provides keeps its pages. A few
 * are kept (enough for clients that come one after another, as `docker update`s do): each
 * holds the pages its threads touched, so more would grow serve's resident memory. */
#define CONN_STACK_SIZE (1u << 20)
#define CONN_STACK_GUARD 4096u
#define CONN_STACKS_KEPT 4

struct serve_relay {
	struct serve_relay_config cfg;
	char docker_sock[108];
	pthread_mutex_t lock;
	void *stacks[CONN_STACKS_KEPT]; /* free ones, under lock */
	size_t nstacks;
	struct conn *conns;
	size_t nconns;
	size_t live; /* connections whose threads still run (under lock) */
	unsigned long next_id;
	int stop_pipe[2];  /* readable once stopping: idle connections close */
	int force_pipe[2]; /* readable once the grace is over: every connection closes */
	atomic_bool stopping;
};

struct conn {
	struct serve_relay *relay;
	struct conn *next;
	pthread_t thread;
	void *stack; /* the mapping its thread runs on (guard page first) */
	bool done;   /* the thread has finished (under relay->lock) */
	unsigned long id;
	int cfd, ufd;
	struct serve_rr rr;
	struct serve_rw rw;
	struct buf in;       /* from the client, not parsed yet */
	struct buf c2u;      /* to dockerd */
	struct buf u2c;      /* to the client */
	char *chunk;         /* IO_CHUNK bytes for reads */
	bool raw;            /* hijacked: bytes both ways */
	bool c_eof, u_eof;   /* read side ended */
	bool c_shut, u_shut; /* our write side to it shut down (EOF passed on) */
	bool u_dead;         /* dockerd takes no more bytes: what is left for it is dropped */
	bool u_hup;          /* dockerd closed: poll it only to read */
	bool in_flight;      /* a relayed request went to dockerd; its answer is not whole */
	size_t resp_bytes;   /* bytes of its answer from dockerd so far */
	bool closing;        /* close once u2c is sent */
	bool linger;         /* after an error answer: read what the client still sends, briefly */
	bool abort;          /* close now */
	bool stop_seen, force_seen;
	uint64_t read_ns;    /* the last read from the client */
	uint64_t req_ns;     /* the first byte of the current request */
	uint64_t wait_since; /* when serve last started waiting for the client's bytes */
};

static void vlog(const struct conn *c, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void vlog(const struct conn *c, int level, const char *fmt, ...)
{
	if (c->relay->cfg.verbose < level)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cglat serve: client %lu: %s\n", c->id, line);
}

/* A short printable copy of the request line, for messages. */
static const char *request_line(const struct serve_rr *r, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < r->head_len && n + 1 < cap; i++) {
		unsigned char ch = (unsigned char)r->head[i];
		if (ch == '\r' || ch == '\n')
			break;
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[n] = '\0';
	return out;
}

static void answer_error(struct conn *c, int status, const char *msg)
{
	size_t len = 0;
	char *resp = serve_error_response(status, msg, true, &len);
	if (resp)
		buf_add(&c->u2c, resp, len);
	free(resp);
	c->closing = c->linger = true;
	vlog(c, 1, "answered %d: %s", status, msg);
}

static void close_upstream(struct conn *c)
{
	if (c->ufd >= 0)
		close(c->ufd);
	c->ufd = -1;
	c->u_eof = c->u_shut = c->u_dead = c->u_hup = false;
	c->c2u.off = c->c2u.len = 0;
}

/* dockerd's connection for the next relayed request: the kept one while it is open. */
static int ensure_upstream(struct conn *c, struct cg_err *err)
{
	if (c->ufd >= 0 && !c->u_eof && !c->u_dead) {
		struct pollfd pfd = {.fd = c->ufd, .events = POLLIN};
		if (poll(&pfd, 1, 0) == 0)
			return 0; /* idle and open */
	}
	close_upstream(c);
	struct dh_conn dc;
	dh_init(&dc, c->relay->docker_sock, CONNECT_TIMEOUT_MS, 0, 0);
	if (dh_connect(&dc, err) < 0)
		return -1;
	c->ufd = dc.fd;
	return 0;
}

static void go_raw(struct conn *c)
{
	c->raw = true;
	c->in_flight = false;
	if (buf_pending(&c->in) && !c->u_dead)
		buf_add(&c->c2u, c->in.d + c->in.off, buf_pending(&c->in));
	c->in.off = c->in.len = 0;
	vlog(c, 2, "hijacked (HTTP %d): bytes both ways until one side closes", c->rw.status);
}

/* The head of a request is whole: route it. false when the connection is to close. */
static bool on_head(struct conn *c)
{
	struct serve_rr *r = &c->rr;
	if (r->route != SERVE_ROUTE_RELAY) {
		if (r->expect_continue && r->has_body && r->state == SERVE_RR_BODY)
			buf_add(&c->u2c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		return true;
	}
	struct cg_err err = {{0}};
	if (ensure_upstream(c, &err) < 0) {
		answer_error(c, 502, err.msg);
		return false;
	}
	serve_rw_start(&c->rw, r->method == HTTP_HEAD);
	buf_add(&c->c2u, r->head, r->head_len);
	c->in_flight = true;
	c->resp_bytes = 0;
	if (c->relay->cfg.verbose >= 2) {
		char line[160];
		vlog(c, 2, "%s", request_line(r, line, sizeof(line)));
	}
	return true;
}

/* An update or the stats, whole: answer it here. */
static void answer_local(struct conn *c)
{
	struct serve_rr *r = &c->rr;
	struct serve_response resp = {0};
	if (r->route == SERVE_ROUTE_UPDATE) {
		struct serve_request req = {
		        .head = r->head,
		        .head_len = r->head_len,
		        .body = r->body ? r->body : "",
		        .body_len = r->body_len,
		        .path = r->url,
		        .received_ns = c->req_ns,
		        .whole_ns = c->read_ns, /* the read that completed it */
		        .post = r->method == HTTP_POST,
		        .chunked = r->chunked,
		        .http10 = r->http10,
		        .close = !r->keep_alive,
		        .has_content_type = r->has_ctype,
		        .content_type = r->ctype,
		};
		text_copy(req.container, sizeof(req.container), r->id);
		serve_update_handle(c->relay->cfg.updates, &req, &resp);
	} else {
		serve_stats_response(c->relay->cfg.updates, &resp);
	}
	if (resp.raw && resp.len > 0) {
		buf_add(&c->u2c, resp.raw, resp.len);
	} else {
		free(resp.raw);
		answer_error(c, 500, "the update path gave no answer");
		return;
	}
	free(resp.raw);
	if (resp.close || !r->keep_alive)
		c->closing = true;
}

/* The request is whole. true when the next one may be read now. */
static bool finish_request(struct conn *c)
{
	struct serve_rr *r = &c->rr;
	bool keep;
	if (r->route == SERVE_ROUTE_RELAY) {
		if (c->in_flight && !c->rw.complete)
			return false; /* its answer is still coming */
		keep = r->keep_alive && c->rw.keep_alive;
		c->in_flight = false;
	} else {
		answer_local(c);
		keep = !c->closing;
	}
	if (!keep || c->stop_seen) {
		c->closing = true;
		return false;
	}
	serve_rr_next(r);
	return true;
}

/* The client's bytes read so far have all been parsed and it sent no more. */
static void client_ended(struct conn *c)
{
	struct serve_rr *r = &c->rr;
	if (r->state == SERVE_RR_IDLE && !c->in_flight) {
		c->closing = true; /* it closed a kept connection: nothing to answer */
		return;
	}
	if (r->state == SERVE_RR_HEAD ||
	    (r->state == SERVE_RR_BODY && r->route != SERVE_ROUTE_RELAY)) {
		c->abort = true; /* cut short: nothing to answer, as dockerd would do */
		return;
	}
	/* A relayed request (whole or not): dockerd sees the end as the client made it,
	 * once it has every byte before it. */
	if (!c->u_shut && c->ufd >= 0 && buf_pending(&c->c2u) == 0) {
		shutdown(c->ufd, SHUT_WR);
		c->u_shut = true;
	}
	if (c->rw.complete || !c->in_flight)
		c->closing = true;
}

/* The client's request went wrong half way through (bad bytes, silence): dockerd has a
 * part of it. When dockerd has not begun its answer, its connection is closed and serve
 * answers the client itself (true); else the client is dropped (false). */
static bool drop_in_flight(struct conn *c)
{
	if (!c->in_flight)
		return true;
	if (c->resp_bytes > 0) {
		c->abort = true;
		return false;
	}
	close_upstream(c);
	c->in_flight = false;
	return true;
}

static void advance_http(struct conn *c)
{
	struct serve_rr *r = &c->rr;
	for (;;) {
		if (c->closing || c->abort || c->raw)
			return;
		if (r->state == SERVE_RR_DONE) {
			if (finish_request(c))
				continue;
			if (c->c_eof && !c->closing && buf_pending(&c->in) == 0)
				client_ended(c);
			return;
		}
		if (r->state == SERVE_RR_BODY && r->route == SERVE_ROUTE_RELAY &&
		    buf_pending(&c->c2u) >= PENDING_MAX)
			return; /* dockerd reads slower than the client sends */
		size_t avail = buf_pending(&c->in);
		if (avail == 0) {
			if (c->c_eof)
				client_ended(c);
			return;
		}
		enum serve_rr_state before = r->state;
		size_t fwd = 0;
		size_t used = serve_rr_feed(r, c->in.d + c->in.off, avail, &fwd);
		if (before == SERVE_RR_IDLE && r->state != SERVE_RR_IDLE)
			c->req_ns = c->read_ns;
		if (r->head_ready && !on_head(c)) {
			c->in.off += used;
			return;
		}
		if (fwd && !c->u_dead)
			buf_add(&c->c2u, c->in.d + c->in.off, fwd);
		c->in.off += used;
		if (r->state == SERVE_RR_ERROR) {
			if (!drop_in_flight(c)) {
				vlog(c, 1, "dropped: %s", r->err_msg);
				return;
			}
			answer_error(c, r->err_status, r->err_msg);
			return;
		}
		if (used == 0 && r->state == before && !r->head_ready)
			return;
	}
}

static void advance(struct conn *c)
{
	if (!c->raw) {
		advance_http(c);
		return;
	}
	/* Hijacked: each side's end goes on to the other once its bytes are through. */
	if (c->c_eof && !c->u_shut && buf_pending(&c->c2u) == 0) {
		if (c->ufd >= 0)
			shutdown(c->ufd, SHUT_WR);
		c->u_shut = true;
	}
	if (c->u_eof && !c->c_shut && buf_pending(&c->u2c) == 0) {
		shutdown(c->cfd, SHUT_WR);
		c->c_shut = true;
	}
}

static bool finished(const struct conn *c)
{
	if (c->abort)
		return true;
	if (c->closing && buf_pending(&c->u2c) == 0)
		return true;
	if (c->raw && c->c_shut && (c->u_shut || c->u_dead))
		return true;
	return false;
}

/* Moves b's bytes to fd; false when fd takes no more (closed, reset). */
static bool flush(int fd, struct buf *b)
{
	while (buf_pending(b)) {
		ssize_t w = send(fd, b->d + b->off, buf_pending(b), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			b->off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;
	}
	b->off = b->len = 0;
	return true;
}

/* One read of the client. */
static void read_client(struct conn *c)
{
	ssize_t n;
	if (c->raw) {
		n = recv(c->cfd, c->chunk, IO_CHUNK, MSG_DONTWAIT);
		if (n > 0 && !c->u_dead)
			buf_add(&c->c2u, c->chunk, (size_t)n);
	} else {
		/* Read only into an empty buffer: one request is parsed at a time. */
		c->in.off = c->in.len = 0;
		if (!c->in.d) {
			c->in.d = malloc(IO_CHUNK);
			if (!c->in.d) {
				c->abort = true;
				return;
			}
			c->in.cap = IO_CHUNK;
		}
		n = recv(c->cfd, c->in.d, c->in.cap, MSG_DONTWAIT);
		if (n > 0)
			c->in.len = (size_t)n;
	}
	if (n > 0) {
		c->read_ns = now_ns();
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0 && errno != ECONNRESET) {
		c->abort = true;
		return;
	}
	c->c_eof = true;
}

/* One read of dockerd. */
static void read_upstream(struct conn *c)
{
	ssize_t n = recv(c->ufd, c->chunk, IO_CHUNK, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n > 0) {
		buf_add(&c->u2c, c->chunk, (size_t)n);
		c->resp_bytes += (size_t)n;
		if (!c->raw && c->in_flight) {
			serve_rw_feed(&c->rw, c->chunk, (size_t)n);
			if (c->rw.hijack)
				go_raw(c);
			else if (c->rw.complete && c->relay->cfg.verbose >= 2)
				vlog(c, 2, "answered HTTP %d", c->rw.status);
		}
		return;
	}
	c->u_eof = true;
	if (c->raw)
		return;
	if (c->in_flight) {
		serve_rw_feed(&c->rw, NULL, 0); /* an answer that lasts until close ends here */
		if (c->rw.complete && c->rr.state == SERVE_RR_DONE)
			return; /* finish_request goes on; the next request opens a new connection
			         */
		c->closing = true; /* cut short, or answered before the request was whole */
		return;
	}
	close_upstream(c); /* dockerd closed an idle kept connection: opened again on need */
}

static bool wants_client_read(const struct conn *c)
{
	if (c->c_eof || c->closing)
		return false;
	if (c->raw)
		return buf_pending(&c->c2u) < PENDING_MAX;
	if (buf_pending(&c->in) > 0)
		return false;
	if (c->rr.state == SERVE_RR_BODY && c->rr.route == SERVE_ROUTE_RELAY &&
	    buf_pending(&c->c2u) >= PENDING_MAX)
		return false;
	return true;
}

/* How long the client may stay silent now; -1: no limit (idle, or waiting for dockerd). */
static int64_t client_deadline_ns(const struct conn *c, bool reading)
{
	uint64_t limit = (uint64_t)c->relay->cfg.client_timeout_ms * 1000000u;
	if (c->raw || !reading)
		return -1;
	if (c->rr.state == SERVE_RR_HEAD)
		return (int64_t)(c->req_ns + limit);
	if (c->rr.state == SERVE_RR_BODY) {
		uint64_t since = c->read_ns > c->wait_since ? c->read_ns : c->wait_since;
		return (int64_t)(since + limit);
	}
	return -1;
}

static void timed_out(struct conn *c)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "the client sent nothing for %d s in the middle of a request",
	         c->relay->cfg.client_timeout_ms / 1000);
	if (!drop_in_flight(c)) {
		vlog(c, 1, "dropped: %s", msg);
		return;
	}
	c->in.off = c->in.len = 0;
	answer_error(c, 408, msg);
}

static void conn_loop(struct conn *c)
{
	struct serve_relay *r = c->relay;
	bool was_reading = false;
	for (;;) {
		advance(c);
		if (c->stop_seen && !c->raw && c->rr.state == SERVE_RR_IDLE && !c->in_flight &&
		    buf_pending(&c->in) == 0)
			c->closing = true; /* stopping: an idle connection closes */
		if (finished(c))
			return;
		struct pollfd pfd[4];
		int nfd = 0, ci = -1, ui = -1, si = -1, fi = -1;
		bool reading = wants_client_read(c);
		if (reading && !was_reading)
			c->wait_since = now_ns();
		was_reading = reading;
		short cev = (short)((reading ? POLLIN : 0) | (buf_pending(&c->u2c) ? POLLOUT : 0));
		if (!c->c_shut || reading) {
			ci = nfd;
			pfd[nfd++] = (struct pollfd){.fd = c->cfd, .events = cev};
		}
		bool up_read = c->ufd >= 0 && !c->u_eof && buf_pending(&c->u2c) < PENDING_MAX;
		bool up_write = c->ufd >= 0 && !c->u_dead && !c->u_shut && buf_pending(&c->c2u);
		if (c->ufd >= 0 && (up_read || (up_write && !c->u_hup))) {
			ui = nfd;
			pfd[nfd++] = (struct pollfd){.fd = c->ufd,
			                             .events = (short)((up_read ? POLLIN : 0) |
			                                               (up_write ? POLLOUT : 0))};
		}
		if (!c->stop_seen) {
			si = nfd;
			pfd[nfd++] = (struct pollfd){.fd = r->stop_pipe[0], .events = POLLIN};
		}
		fi = nfd;
		pfd[nfd++] = (struct pollfd){.fd = r->force_pipe[0], .events = POLLIN};
		int64_t deadline = client_deadline_ns(c, reading);
		int timeout = -1;
		if (deadline >= 0) {
			int64_t left = deadline - (int64_t)now_ns();
			if (left <= 0) {
				timed_out(c);
				continue;
			}
			timeout = (int)(left / 1000000 + 1);
		}
		int pr = poll(pfd, (nfds_t)nfd, timeout);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			c->abort = true;
			return;
		}
		if (fi >= 0 && pfd[fi].revents) {
			c->force_seen = c->abort = true;
			vlog(c, 1, "closed: serve is stopping and the grace period is over");
			return;
		}
		if (si >= 0 && pfd[si].revents)
			c->stop_seen = true;
		if (ci >= 0) {
			short ev = pfd[ci].revents;
			if ((ev & POLLOUT) && !flush(c->cfd, &c->u2c)) {
				c->abort = true; /* the client is gone */
				return;
			}
			if (ev & POLLIN)
				read_client(c);
			else if ((ev & (POLLHUP | POLLERR)) && !(ev & POLLOUT)) {
				c->abort = true; /* gone while serve was not reading it */
				return;
			}
		}
		if (ui >= 0 && c->ufd >= 0) {
			short ev = pfd[ui].revents;
			if (ev & POLLOUT) {
				if (!flush(c->ufd, &c->c2u)) {
					c->u_dead =
					        true; /* dockerd takes no more: read what it said */
					c->c2u.off = c->c2u.len = 0;
				}
			}
			if (ev & POLLIN)
				read_upstream(c);
			else if (ev & (POLLHUP | POLLERR)) {
				c->u_hup = true;
				if (!up_read) {
					c->u_dead = true;
					c->c2u.off = c->c2u.len = 0;
				}
			}
		}
	}
}

/* After an error answer the client may still be sending (a body serve refused): read
 * and drop it for a moment, so that it reads the answer instead of a reset. */
static void linger(struct conn *c)
{
	shutdown(c->cfd, SHUT_WR);
	uint64_t until = now_ns() + LINGER_MS * 1000000ull;
	size_t dropped = 0;
	while (dropped < LINGER_MAX) {
		int64_t left = (int64_t)(until - now_ns());
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = c->cfd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(left / 1000000 + 1)) <= 0)
			break;
		ssize_t n = recv(c->cfd, c->chunk, IO_CHUNK, MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN)))
			break;
		if (n > 0)
			dropped += (size_t)n;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	conn_loop(c);
	/* What is left for the client goes if it takes it now; then both ends close. */
	if (!c->abort && buf_pending(&c->u2c))
		flush(c->cfd, &c->u2c);
	if (!c->abort && c->linger && !c->force_seen)
		linger(c);
	close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	c->cfd = c->ufd = -1;
	vlog(c, 2, "closed");
	serve_rr_free(&c->rr);
	free(c->in.d);
	free(c->c2u.d);
	free(c->u2c.d);
	free(c->chunk);
	c->in.d = c->c2u.d = c->u2c.d = c->chunk = NULL;
	pthread_mutex_lock(&c->relay->lock);
	c->done = true;
	bool last = --c->relay->live == 0;
	pthread_mutex_unlock(&c->relay->lock);
	/* The last client of a burst has gone: what the burst's threads freed goes back to
	 * the kernel. glibc keeps freed memory in each thread's arena otherwise, and serve
	 * would stay as large as at its busiest moment. Off every client's path: this one
	 * is answered and closed. */
	if (last)
		malloc_trim(0);
	return NULL;
}

int serve_relay_open(const struct serve_relay_config *cfg, struct serve_relay **out,
                     struct cg_err *err)
{
	*out = NULL;
	const char *sock =
	        cfg->docker_sock && *cfg->docker_sock ? cfg->docker_sock : "/var/run/docker.sock";
	struct serve_relay *r = calloc(1, sizeof(*r));
	if (!r)
		return cg_errf(err, "out of memory");
	if (strlen(sock) >= sizeof(r->docker_sock)) {
		free(r);
		return cg_errf(err, "Docker socket path %s is too long for a unix socket", sock);
	}
	r->cfg = *cfg;
	if (r->cfg.client_timeout_ms <= 0)
		r->cfg.client_timeout_ms = SERVE_CLIENT_TIMEOUT_MS;
	snprintf(r->docker_sock, sizeof(r->docker_sock), "%s", sock);
	r->cfg.docker_sock = r->docker_sock;
	if (pipe2(r->stop_pipe, O_CLOEXEC) < 0) {
		free(r);
		return cg_errf(err, "cannot make a pipe: %s", strerror(errno));
	}
	if (pipe2(r->force_pipe, O_CLOEXEC) < 0) {
		int e = errno;
		close(r->stop_pipe[0]);
		close(r->stop_pipe[1]);
		free(r);
		return cg_errf(err, "cannot make a pipe: %s", strerror(e));
	}
	pthread_mutex_init(&r->lock, NULL);
	atomic_init(&r->stopping, false);
	*out = r;
	return 0;
}

static void *stack_get(struct serve_relay *r)
{
	pthread_mutex_lock(&r->lock);
	void *st = r->nstacks ? r->stacks[--r->nstacks] : NULL;
	pthread_mutex_unlock(&r->lock);
	if (st)
		return st;
	st = mmap(NULL, CONN_STACK_SIZE + CONN_STACK_GUARD, PROT_READ | PROT_WRITE,
	          MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (st == MAP_FAILED)
		return NULL;
	if (mprotect(st, CONN_STACK_GUARD, PROT_NONE) != 0) {
		munmap(st, CONN_STACK_SIZE + CONN_STACK_GUARD);
		return NULL;
	}
	return st;
}

/* After the thread that ran on it was joined. */
static void stack_put(struct serve_relay *r, void *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&r->lock);
	bool kept = r->nstacks < CONN_STACKS_KEPT;
	if (kept)
		r->stacks[r->nstacks++] = st;
	pthread_mutex_unlock(&r->lock);
	if (!kept)
		munmap(st, CONN_STACK_SIZE + CONN_STACK_GUARD);
}

/* A thread on a kept stack, or on one of glibc's when none can be had. */
static int start_conn_thread(struct serve_relay *r, struct conn *c)
{
	pthread_attr_t attr;
	c->stack = stack_get(r);
	if (pthread_attr_init(&attr) != 0)
		return -1;
	if (c->stack && pthread_attr_setstack(&attr, (char *)c->stack + CONN_STACK_GUARD,
	                                      CONN_STACK_SIZE) != 0) {
		stack_put(r, c->stack);
		c->stack = NULL;
	}
	int rc = pthread_create(&c->thread, &attr, conn_main, c);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		stack_put(r, c->stack);
		c->stack = NULL;
	}
	return rc;
}

static void refuse(int fd, int status, const char *msg)
{
	size_t len = 0;
	char *resp = serve_error_response(status, msg, true, &len);
	if (resp)
		(void)!send(fd, resp, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(resp);
	close(fd);
}

void serve_relay_add(struct serve_relay *r, int fd)
{
	serve_relay_reap(r);
	pthread_mutex_lock(&r->lock);
	size_t n = r->nconns;
	unsigned long id = ++r->next_id;
	pthread_mutex_unlock(&r->lock);
	if (n >= SERVE_MAX_CONNS || atomic_load(&r->stopping)) {
		refuse(fd, 503,
		       n >= SERVE_MAX_CONNS ? "too many connections to cglat serve"
		                            : "cglat serve is stopping");
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c || serve_rr_init(&c->rr) < 0 || !(c->chunk = malloc(IO_CHUNK))) {
		if (c) {
			serve_rr_free(&c->rr);
			free(c);
		}
		refuse(fd, 503, "cglat serve is out of memory");
		return;
	}
	c->relay = r;
	c->id = id;
	c->cfd = fd;
	c->ufd = -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	/* Connection threads take no SIGINT/SIGTERM: the main thread does. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_mutex_lock(&r->lock);
	r->live++; /* before the thread runs: it counts itself out when it ends */
	pthread_mutex_unlock(&r->lock);
	int rc = start_conn_thread(r, c);
	pthread_mutex_lock(&r->lock);
	if (rc == 0) {
		c->next = r->conns;
		r->conns = c;
		r->nconns++;
	} else {
		r->live--;
	}
	pthread_mutex_unlock(&r->lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		serve_rr_free(&c->rr);
		free(c->chunk);
		free(c);
		refuse(fd, 503, "cglat serve cannot start a thread for the connection");
	}
}

void serve_relay_reap(struct serve_relay *r)
{
	struct conn *done = NULL;
	pthread_mutex_lock(&r->lock);
	for (struct conn **pp = &r->conns; *pp;) {
		struct conn *c = *pp;
		if (c->done) {
			*pp = c->next;
			c->next = done;
			done = c;
			r->nconns--;
		} else {
			pp = &c->next;
		}
	}
	pthread_mutex_unlock(&r->lock);
	while (done) {
		struct conn *c = done;
		done = c->next;
		pthread_join(c->thread, NULL);
		stack_put(r, c->stack);
		free(c);
	}
}

static size_t count(struct serve_relay *r)
{
	serve_relay_reap(r);
	pthread_mutex_lock(&r->lock);
	size_t n = r->nconns;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void wait_for(struct serve_relay *r, uint64_t until)
{
	/* A second SIGINT/SIGTERM cuts the wait short. */
	while (count(r) > 0 && now_ns() < until && signals_stop_count() < 2) {
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
}

size_t serve_relay_stop(struct serve_relay *r, int grace_ms)
{
	atomic_store(&r->stopping, true);
	(void)!write(r->stop_pipe[1], "s", 1);
	wait_for(r, now_ns() + (uint64_t)grace_ms * 1000000u);
	size_t left = count(r);
	if (left == 0)
		return 0;
	fprintf(stderr, "cglat serve: %zu connection%s still busy after %d s; closing %s\n", left,
	        left == 1 ? "" : "s", grace_ms / 1000, left == 1 ? "it" : "them");
	(void)!write(r->force_pipe[1], "f", 1);
	wait_for(r, now_ns() + (uint64_t)STOP_JOIN_EXTRA_MS * 1000000u);
	return count(r);
}

void serve_relay_free(struct serve_relay *r)
{
	if (!r)
		return;
	close(r->stop_pipe[0]);
	close(r->stop_pipe[1]);
	close(r->force_pipe[0]);
	close(r->force_pipe[1]);
	for (size_t i = 0; i < r->nstacks; i++)
		munmap(r->stacks[i], CONN_STACK_SIZE + CONN_STACK_GUARD);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
