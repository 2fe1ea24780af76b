/* cglat serve, the relay: a thread per client connection, each with its own connection
 * to dockerd opened on first need. Requests are read with http_parser (HTTP_REQUEST) and
 * relayed byte for byte; dockerd's answers are watched with http_parser (HTTP_RESPONSE)
 * and relayed byte for byte as they come (streams included); a hijacked connection (101
 * UPGRADED, or dockerd's raw stream) becomes a two-way byte copy with half-close passed
 * on. Container updates and GET /cglat/v1/stats are answered by the update half
 * (serve.h), whole requests at a time.
 *
 * The request reader (serve_rr) and the answer watcher (serve_rw) hold no socket: the
 * connection loop and the fuzz target drive them alike. */
#ifndef CGLAT_SERVE_RELAY_H
#define CGLAT_SERVE_RELAY_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serve.h"

#define SERVE_HEAD_MAX (64u << 10)    /* a longer request head is answered 431 */
#define SERVE_BODY_MAX (1u << 20)     /* an update body larger than this: 413 */
#define SERVE_CLIENT_TIMEOUT_MS 60000 /* a client silent this long mid-request is dropped */
#define SERVE_GRACE_MS 10000          /* SIGTERM: how long requests in flight may finish */
#define SERVE_MAX_CONNS 1024          /* client connections at a time; more get 503 */
#define SERVE_STATS_PATH "/cglat/v1/stats"

/* ---- the request reader ---- */

enum serve_route {
	SERVE_ROUTE_RELAY,  /* to dockerd, unchanged */
	SERVE_ROUTE_UPDATE, /* POST /containers/{id}/update: serve_update_handle */
	SERVE_ROUTE_STATS,  /* GET /cglat/v1/stats: serve_stats_response */
};

enum serve_rr_state {
	SERVE_RR_IDLE,  /* between requests */
	SERVE_RR_HEAD,  /* the head is being read */
	SERVE_RR_BODY,  /* the head is whole; the body is being read */
	SERVE_RR_DONE,  /* the request is whole; serve_rr_next starts the next one */
	SERVE_RR_ERROR, /* bad input: answer err_status with err_msg and close */
};

struct serve_rr {
	http_parser parser;
	enum serve_rr_state state;
	bool head_ready; /* set by the feed that completed the head: the caller acts on it */
	enum serve_route route;
	enum http_method method;
	bool keep_alive;      /* the request allows another on the connection */
	bool upgrade;         /* Connection: Upgrade (attach, exec) */
	bool expect_continue; /* Expect: 100-continue */
	bool has_body;        /* a Content-Length above 0, or chunked */
	bool chunked, http10;
	bool has_ctype; /* a Content-Type header came; ctype holds the first's value */
	char ctype[256];
	size_t ctype_len;
	char *head; /* the raw head, request line to the empty line (head_len bytes) */
	size_t head_len;
	char *url; /* the request target, NUL-terminated */
	size_t url_len;
	char *body; /* local routes: the body, de-chunked, NUL-terminated */
	size_t body_len, body_cap;
	char id[256]; /* the {id} of an update */
	int err_status;
	char err_msg[160];
	/* header being read */
	char field[32];
	size_t field_len;
	bool field_long, in_value, value_is_expect, value_is_ctype;
	char expect[32];
	size_t expect_len;
	bool lf_pending; /* internal: the head's last LF is to be shown to the parser again */
};

/* 0, or -1 when out of memory. */
int serve_rr_init(struct serve_rr *r);
void serve_rr_free(struct serve_rr *r);
/* Feeds bytes from the client; returns how many of data belong to the current request
 * (the rest waits for serve_rr_next). A call that completes the head consumes no body
 * byte and sets head_ready (the caller forwards r->head, or not, before feeding on).
 * *forward says how many of the bytes consumed are body bytes of a relayed request, to
 * be sent on to dockerd as they are: always the first *forward bytes of data. */
size_t serve_rr_feed(struct serve_rr *r, const char *data, size_t n, size_t *forward);
/* After SERVE_RR_DONE and its answer: ready for the next request. */
void serve_rr_next(struct serve_rr *r);

/* ---- the answer watcher ---- */

struct serve_rw {
	http_parser parser;
	bool head_request; /* answer to HEAD: no body */
	bool headers_done; /* the final (non-1xx) answer's head is read */
	bool complete;     /* the answer is whole */
	bool hijack;       /* 101, or dockerd's raw stream: bytes both ways from here */
	bool keep_alive;   /* dockerd keeps the connection after it */
	bool broken;       /* not HTTP: relayed until dockerd closes */
	int status;
	/* header being read */
	char field[32];
	size_t field_len;
	bool field_long, in_value, value_is_ctype;
	char ctype[64];
	size_t ctype_len;
};

void serve_rw_start(struct serve_rw *w, bool head_request);
/* Watches n bytes of dockerd's answer (n == 0: dockerd closed the connection). Returns
 * the bytes parsed; parsing stops at the answer's end, at a hijack and at bad input. */
size_t serve_rw_feed(struct serve_rw *w, const char *data, size_t n);

/* A complete Docker-style error answer: status line, JSON headers, {"message":"..."}.
 * Returns a malloc'd, NUL-terminated buffer and its length in *len, NULL when out of
 * memory. */
char *serve_error_response(int status, const char *message, bool close, size_t *len);

/* ---- the relay ---- */

struct serve_relay_config {
	const char *docker_sock;
	struct serve_updates *updates;
	int client_timeout_ms; /* SERVE_CLIENT_TIMEOUT_MS */
	int verbose;
};

struct serve_relay;

int serve_relay_open(const struct serve_relay_config *cfg, struct serve_relay **out,
                     struct cg_err *err);
/* Takes the accepted client connection fd and serves it on a thread of its own. */
void serve_relay_add(struct serve_relay *r, int fd);
/* Joins the threads of connections that ended. */
void serve_relay_reap(struct serve_relay *r);
/* Idle connections close now; requests in flight (streams and hijacked connections
 * included) may finish within grace_ms, then their connections are closed. Joins every
 * thread it can within grace_ms + 5 s; returns how many could not be joined. */
size_t serve_relay_stop(struct serve_relay *r, int grace_ms);
/* Frees r (after serve_relay_stop returned 0). */
void serve_relay_free(struct serve_relay *r);

#endif
