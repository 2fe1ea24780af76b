/* cglat serve: a Docker Engine API socket in front of dockerd. Every request is relayed
 * to dockerd unchanged (serve_relay.c), except container updates, which are enforced
 * in the kernel's files first, through libcglat, then recorded in dockerd
 * (serve_update.c). This header is the seam between the two halves. */
#ifndef CGLAT_SERVE_H
#define CGLAT_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SERVE_DEFAULT_LISTEN "/run/cglat/docker.sock"

/* When an update is answered. */
enum serve_reply_after {
	SERVE_REPLY_AFTER_RECORD,  /* default: after dockerd recorded it, with dockerd's answer */
	SERVE_REPLY_AFTER_ENFORCE, /* as soon as the kernel's files are written; the record in
	                              dockerd follows in the background, in order per container */
};

struct serve_config {
	const char *listen;      /* the socket serve makes (SERVE_DEFAULT_LISTEN) */
	const char *docker_sock; /* dockerd's (DOCKER_DEFAULT_SOCK) */
	enum serve_reply_after reply_after;
	int verbose; /* -v: one line per update on stderr */
};

/* An update request as the relay received it, complete. */
struct serve_request {
	const char *head; /* the raw request head, request line to the empty line included */
	size_t head_len;
	const char *body; /* the body, de-chunked */
	size_t body_len;
	const char *path;     /* the request target: "/v1.41/containers/web/update?x=y" */
	char container[256];  /* the {id} of the path, as the client gave it (name or id) */
	uint64_t received_ns; /* CLOCK_MONOTONIC when its first byte was read */
	uint64_t whole_ns;    /* ... and its last: clients may send head and body apart */
	/* The head as the relay's parser read it, so that it is not parsed twice on the way
	 * to the kernel's files (a pass costs about 10 us here, cold). */
	bool post, chunked, http10;
	bool close;               /* the client asked to close after the answer */
	bool has_content_type;    /* a Content-Type header came */
	const char *content_type; /* the first one's value; NULL or "" when none */
};

/* The complete HTTP response to send back for it. */
struct serve_response {
	char *raw; /* malloc'd: status line, headers, body */
	size_t len;
	bool close; /* close the client connection after sending it */
};

/* Is this request target a container update ("/containers/{id}/update" with or without a
 * "/vN.NN" prefix, a query allowed)? Copies {id} (up to cap-1 bytes) into id. */
bool serve_is_update_path(const char *path, char *id, size_t cap);

struct serve_updates;

int serve_updates_open(const struct serve_config *cfg, struct serve_updates **out,
                       struct cg_err *err);
/* Finishes the background records still queued, then frees. */
void serve_updates_close(struct serve_updates *u);

/* Handles one update: checks the body as dockerd would, writes the limits, records the
 * change in dockerd (or queues the record) and fills the response. Updates to one
 * container are applied in the order this is called; different containers in
 * parallel. Never fails: every outcome is a response (Docker-style JSON errors, 502
 * when dockerd cannot be reached). */
void serve_update_handle(struct serve_updates *u, const struct serve_request *req,
                         struct serve_response *resp);

/* GET /cglat/v1/stats: counts and percentiles of received -> enforced and
 * received -> recorded, as a complete HTTP response. */
void serve_stats_response(struct serve_updates *u, struct serve_response *resp);

/* The subcommand (serve.c): argv[0] is "serve". Returns the exit status. */
int serve_main(int argc, char **argv);

#endif
