/* cglat serve's request reader as a connection drives it: any bytes, cut into pieces of
 * any size, as a client might send them (one request or many, kept alive, pipelined).
 * Checked: a head is routed only when whole and at most 64 KiB, and it is exactly the
 * client's bytes; a relayed request goes on byte for byte (head, then body); an update's
 * body is at most 1 MiB; every refusal is a 4xx/5xx with a Docker-style answer that
 * parses as HTTP and JSON; the update path and the answer watcher take any bytes. */
#include <jansson.h>

#include "fuzz_common.h"
#include "serve_relay.h"

static int resp_complete(http_parser *p)
{
	*(int *)p->data = 1;
	return 0;
}

/* The error answer serve would send: HTTP that http_parser reads whole, and a JSON body
 * whose message is the reader's. */
static void check_error_answer(const struct serve_rr *r)
{
	if (r->err_status != 400 && r->err_status != 413 && r->err_status != 431 &&
	    r->err_status != 500)
		abort();
	size_t len = 0;
	char *resp = serve_error_response(r->err_status, r->err_msg, true, &len);
	if (!resp)
		abort();
	http_parser p;
	int complete = 0;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &complete;
	http_parser_settings s = {.on_message_complete = resp_complete};
	size_t done = http_parser_execute(&p, &s, resp, len);
	if (done != len || !complete || p.status_code != (unsigned)r->err_status)
		abort();
	const char *body = strstr(resp, "\r\n\r\n");
	if (!body)
		abort();
	json_t *j = json_loads(body + 4, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));
	if (!msg || strcmp(msg, r->err_msg) != 0)
		abort();
	json_decref(j);
	free(resp);
}

/* Piece sizes from a small generator seeded by the first bytes. */
static size_t next_piece(uint32_t *seed, size_t left)
{
	*seed = *seed * 1103515245u + 12345u;
	uint32_t v = (*seed >> 16) & 0x7fff;
	size_t n;
	if (v % 4 == 0)
		n = left; /* all of it */
	else if (v % 4 == 1)
		n = 1 + v % 3; /* a byte or three: boundaries everywhere */
	else
		n = 1 + v % 4096;
	return n < left ? n : left;
}

static void run_reader(const uint8_t *data, size_t size, uint32_t seed)
{
	struct serve_rr r;
	if (serve_rr_init(&r) < 0)
		abort();
	size_t pos = 0, msg_start = 0, relayed = 0;
	bool in_msg = false;
	while (pos < size) {
		size_t piece = next_piece(&seed, size - pos);
		size_t off = 0;
		while (off < piece) {
			const char *at = (const char *)data + pos + off;
			size_t avail = piece - off;
			if (r.state == SERVE_RR_IDLE) {
				size_t skip = 0;
				while (skip < avail && (at[skip] == '\r' || at[skip] == '\n'))
					skip++;
				msg_start = pos + off + skip;
				in_msg = skip < avail;
				relayed = 0;
			}
			enum serve_rr_state before = r.state;
			size_t fwd = 0;
			size_t used = serve_rr_feed(&r, at, avail, &fwd);
			if (used > avail || fwd > used)
				abort();
			if (fwd && (before != SERVE_RR_BODY || r.route != SERVE_ROUTE_RELAY))
				abort(); /* only body bytes of relayed requests go on as they come
				          */
			if (r.head_ready) {
				size_t end = pos + off + used;
				if (!in_msg || r.head_len != end - msg_start ||
				    r.head_len > SERVE_HEAD_MAX ||
				    memcmp(r.head, data + msg_start, r.head_len) != 0 ||
				    r.head[r.head_len - 1] != '\n')
					abort();
				if (strlen(r.url) != r.url_len)
					abort();
				char id[256];
				bool upd = serve_is_update_path(r.url, id, sizeof(id));
				if (r.route == SERVE_ROUTE_UPDATE &&
				    (!upd || r.method != HTTP_POST || strcmp(id, r.id) != 0 ||
				     !*id))
					abort();
				if (r.route == SERVE_ROUTE_RELAY && upd && r.method == HTTP_POST)
					abort();
				relayed = r.head_len;
			}
			relayed += fwd;
			if (r.body_len > SERVE_BODY_MAX ||
			    (r.route == SERVE_ROUTE_RELAY && r.body_len != 0))
				abort();
			off += used;
			if (r.state == SERVE_RR_ERROR) {
				check_error_answer(&r);
				serve_rr_free(&r);
				return;
			}
			if (r.state == SERVE_RR_DONE) {
				/* A relayed request went on whole: exactly the client's bytes. */
				if (r.route == SERVE_ROUTE_RELAY &&
				    relayed != pos + off - msg_start)
					abort();
				if (r.route != SERVE_ROUTE_RELAY && r.body &&
				    strlen(r.body) > r.body_len)
					abort();
				bool keep = r.keep_alive;
				serve_rr_next(&r);
				if (!keep) {
					serve_rr_free(&r);
					return;
				}
			}
			if (used == 0 && r.state == before)
				break;
		}
		pos += piece;
	}
	serve_rr_free(&r);
}

static void run_watcher(const uint8_t *data, size_t size, uint32_t seed)
{
	struct serve_rw w;
	serve_rw_start(&w, seed & 1);
	size_t pos = 0;
	while (pos < size && !w.complete && !w.hijack && !w.broken) {
		size_t piece = next_piece(&seed, size - pos);
		size_t done = serve_rw_feed(&w, (const char *)data + pos, piece);
		if (done > piece)
			abort();
		pos += piece;
	}
	if (!w.complete && !w.hijack && !w.broken)
		serve_rw_feed(&w, NULL, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed = 0;
	for (size_t i = 0; i < size && i < 4; i++)
		seed = seed << 8 | data[i];
	run_reader(data, size, seed);
	run_reader(data, size, seed ^ 0x5a5a5a5au);
	run_watcher(data, size, seed);
	/* The update path, on the input as a request target. */
	char *s = fuzz_string(data, size);
	char id[256];
	size_t caps[] = {1, 2, 8, sizeof(id)};
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (serve_is_update_path(s, id, caps[i]) && strlen(id) >= caps[i])
			abort();
	free(s);
	return 0;
}
