/* HTTP/1.1 to dockerd over its unix socket, without libcurl: cglat writes each request
 * itself (a request line, three or four headers, the body) and reads the answer with
 * Node's http-parser (Debian's libhttp-parser, -lhttp_parser), which does the framing:
 * Content-Length bodies, chunked bodies (the import and event streams), bodies that end
 * when dockerd closes the connection. One connection is kept open for every request of
 * a struct docker and opened again when dockerd has closed it. */
#ifndef CGLAT_DOCKER_HTTP_H
#define CGLAT_DOCKER_HTTP_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define DOCKER_START_HINT                                                                          \
	"start dockerd (sudo dockerd --bridge=none ...) or point --docker-sock at its socket"

/* One answer being read: http_parser's state and the body so far. */
struct dh_response {
	http_parser parser;
	char what[96]; /* "GET /v1.41/containers/web/json", for messages */
	long status;   /* 0 until the status line is read */
	char *body;    /* NUL-terminated; never NULL after dh_response_start */
	size_t len;
	size_t cap;
	size_t max;        /* a larger body is refused */
	size_t received;   /* bytes of the answer fed so far, headers included */
	bool headers_done; /* on_headers_complete seen */
	bool complete;     /* on_message_complete seen: the answer is whole */
	bool keep_alive;   /* the connection may carry the next request */
	bool too_big;
};

/* Prepares r for an answer to `what` (a method and path, for messages); keeps the
 * buffer of an earlier answer. */
void dh_response_start(struct dh_response *r, const char *what, size_t max_body);
/* Feeds n bytes of the answer as they came off the socket; n == 0 says dockerd closed the
 * connection. Returns 1 once the answer is whole, 0 when more is needed, -1 with the
 * reason (malformed, larger than max_body, cut short) in err. */
int dh_response_feed(struct dh_response *r, const char *data, size_t n, const char *sock,
                     struct cg_err *err);
void dh_response_free(struct dh_response *r);

enum dh_method { DH_GET, DH_POST, DH_DELETE };

struct dh_request {
	enum dh_method method;
	const char *path;         /* "/v1.41/containers/web/json", query included */
	const char *content_type; /* NULL: no body */
	const void *body;
	size_t len;
};

/* The request head (request line and headers, up to the empty line) for rq; returns its
 * length, or -1 when it does not fit in cap. */
int dh_format_head(const struct dh_request *rq, char *out, size_t cap);

/* Percent-encodes s as a URL query value: letters, digits and "-._~" stay, every other
 * byte becomes %XX. Returns the length, or -1 when out (cap bytes) is too small. */
int dh_escape(const char *s, char *out, size_t cap);

struct dh_conn {
	int fd; /* -1 while not connected */
	char sock[108];
	int connect_timeout_ms;
	int request_timeout_ms; /* the whole exchange: writing the request, reading the answer */
	size_t max_body;
	unsigned connects; /* connections opened so far (tests) */
	struct dh_response resp;
};

/* Sets c up for the socket at sock; nothing is connected yet. */
void dh_init(struct dh_conn *c, const char *sock, int connect_timeout_ms, int request_timeout_ms,
             size_t max_body);
/* Connects when not connected. Errors say whether dockerd is down, the socket needs root,
 * or dockerd does not accept connections in time. */
int dh_connect(struct dh_conn *c, struct cg_err *err);
/* Sends rq and reads the whole answer into c->resp (status, body). A kept connection
 * that dockerd closed meanwhile is opened again and the request sent once more, so long
 * as no byte of an answer had come. */
int dh_request(struct dh_conn *c, const struct dh_request *rq, struct cg_err *err);
/* Closes the connection (a later request opens a new one). */
void dh_disconnect(struct dh_conn *c);
/* Closes the connection and frees the buffers. */
void dh_free(struct dh_conn *c);

#endif
