/* cglat serve, the update path: POST /containers/{id}/update is checked as dockerd checks it,
 * written into the container's cgroup files through libcglat (microseconds), then recorded
 * in dockerd by forwarding the client's request, so that Docker's record follows; when
 * dockerd refuses or cannot be reached, the files are put back. With --reply-after enforce
 * the answer goes as soon as the files are written and the record follows in the
 * background, in order per container.
 *
 * The parts that need no dockerd (the body, dockerd's rules, the record, runc's writes,
 * kernel values per container, the answers) are in files of their own, declared in
 * serve_update.h for the tests; this file is the machinery (the cache fed by /events,
 * per-container order, record workers, the connections to dockerd, statistics).
 *
 * Guarantees and choices:
 * - What dockerd refuses is refused before anything is written, with dockerd's status and
 *   message: its own checks (400, 409, 404, 500 for JSON as Go words it), and what runc or
 *   the kernel would refuse in the form dockerd passes runc's error on (500 "Cannot update
 *   container ID: runc did not terminate successfully: exit status 1: ...").
 * - Order: updates to one container are enforced and recorded in the order they came
 *   (a ticket per container); different containers in parallel.
 * - Default mode: dockerd's refusal, or no answer, puts the written files back (the
 *   values read or known before) and dockerd's answer (or 502 with the reason) goes back.
 * - --reply-after enforce: 200 with dockerd's body and headers once the files are written.
 *   A record of an older update makes runc write older values again; after each record
 *   every knob a newer update enforced is written again, and a queued record is left out
 *   when the next one gives every field it gives. A background record that dockerd refuses
 *   (or that cannot reach dockerd after a few tries to connect) puts the files of that
 *   update back to what Docker's record holds -- newer enforced values stay -- and is
 *   logged (-v) and counted (failed_records, rolled_back): Docker's record stays true and
 *   the kernel follows it.
 * - serve is taken to be the only writer of a container's limit files between dockerd's
 *   events (start, die, update by others make it read them again); a write that fails
 *   with the values it knows is planned again from the files. */
#include "serve_update.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "text.h"
#include "cgroup.h"
#include "docker.h"
#include "docker_http.h"
#include "stats.h"

/* ===== the machinery ======================================================================== */

#define WORKERS 4
#define SAMPLES 16384 /* percentiles over the last this many updates */
#define CONNECT_TIMEOUT_MS 5000
#define RECORD_TIMEOUT_MS 120000 /* dockerd -> containerd -> runc can take a while */
#define INSPECT_TIMEOUT_MS 30000
#define ANSWER_MAX (16u << 20)
#define CONNECT_TRIES 3 /* records retried when dockerd took no connection */
/* Connections to dockerd kept open between requests. A burst of updates to many
 * containers opens one per record running at once; more than this many are closed as
 * they come back, so that serve's fds go back down after the burst. */
#define POOL_IDLE_MAX 4
#define RETRY_MS 200

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return (int64_t)(now_ns() / 1000000);
}

/* ---- talking to dockerd: the client's bytes out, dockerd's bytes back ---- */

struct upconn {
	struct dh_conn c;
	struct upconn *next;
};

/* dockerd's answer, as it came. */
struct fwd {
	char *raw;
	size_t len, cap;
	char *body; /* NUL-terminated copy of the body */
	size_t body_len, body_cap;
	long status;
	bool keep_alive;
	bool complete, interim, too_big;
	bool sent; /* a byte of the request went out (the outcome is then unknown on error) */
	char err[512];
};

static void fwd_free(struct fwd *f)
{
	free(f->raw);
	free(f->body);
	memset(f, 0, sizeof(*f));
}

static int fp_headers(http_parser *p)
{
	struct fwd *f = p->data;
	f->status = p->status_code;
	return 0;
}

static int fp_body(http_parser *p, const char *at, size_t n)
{
	struct fwd *f = p->data;
	if (p->status_code < 200)
		return 0;
	if (f->body_len + n + 1 > ANSWER_MAX) {
		f->too_big = true;
		return -1;
	}
	if (f->body_len + n + 1 > f->body_cap) {
		size_t cap = f->body_cap ? f->body_cap : 1024;
		while (cap < f->body_len + n + 1)
			cap *= 2;
		char *b = realloc(f->body, cap);
		if (!b)
			return -1;
		f->body = b;
		f->body_cap = cap;
	}
	memcpy(f->body + f->body_len, at, n);
	f->body_len += n;
	f->body[f->body_len] = '\0';
	return 0;
}

static int fp_complete(http_parser *p)
{
	struct fwd *f = p->data;
	if (p->status_code < 200)
		f->interim = true; /* 100 Continue and the like: the answer follows */
	else {
		f->complete = true;
		f->keep_alive = http_should_keep_alive(p) != 0;
	}
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings fwd_settings = {
        .on_headers_complete = fp_headers,
        .on_body = fp_body,
        .on_message_complete = fp_complete,
};

static bool raw_add(struct fwd *f, const char *data, size_t n)
{
	if (f->len + n > ANSWER_MAX)
		return false;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap < f->len + n)
			cap *= 2;
		char *r = realloc(f->raw, cap);
		if (!r)
			return false;
		f->raw = r;
		f->cap = cap;
	}
	memcpy(f->raw + f->len, data, n);
	f->len += n;
	return true;
}

/* Feeds bytes (n == 0: dockerd closed); 1 when the answer is whole, 0 for more, -1. */
static int fwd_feed(http_parser *p, struct fwd *f, const char *data, size_t n)
{
	if (n == 0) {
		http_parser_execute(p, &fwd_settings, NULL, 0);
		if (f->complete)
			return 1;
		snprintf(f->err, sizeof(f->err), "dockerd closed the connection %s",
		         f->len ? "in the middle of its answer" : "without answering");
		return -1;
	}
	size_t off = 0;
	while (off < n) {
		size_t done = http_parser_execute(p, &fwd_settings, data + off, n - off);
		if (!raw_add(f, data + off, done)) {
			snprintf(f->err, sizeof(f->err), "dockerd's answer is larger than %u MiB",
			         ANSWER_MAX >> 20);
			return -1;
		}
		off += done;
		if (f->complete) {
			if (off < n)
				f->keep_alive = false; /* bytes after the answer: start afresh */
			return 1;
		}
		if (f->interim) {
			f->interim = false;
			f->len = 0;
			http_parser_pause(p, 0);
			continue;
		}
		enum http_errno e = HTTP_PARSER_ERRNO(p);
		if (e != HPE_OK) {
			snprintf(f->err, sizeof(f->err), "dockerd's answer is not HTTP: %s",
			         f->too_big ? "too large" : http_errno_description(e));
			return -1;
		}
	}
	return 0;
}

static bool idle_open(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

/* One exchange on c: the whole request out, the whole answer in. */
static int exchange(struct dh_conn *c, const char *head, size_t hlen, const char *body, size_t blen,
                    int timeout_ms, struct fwd *f)
{
	http_parser p;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = f;
	int64_t deadline = now_ms() + timeout_ms;
	size_t sent = 0, total = hlen + blen;
	char buf[16384];
	for (;;) {
		while (sent < total) {
			const char *src = sent < hlen ? head + sent : body + (sent - hlen);
			size_t n = sent < hlen ? hlen - sent : total - sent;
			ssize_t w = send(c->fd, src, n, MSG_NOSIGNAL);
			if (w > 0) {
				sent += (size_t)w;
				f->sent = true;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				sent = total; /* read what dockerd said, if anything */
				break;
			}
			snprintf(f->err, sizeof(f->err), "sending to dockerd at %s: %s", c->sock,
			         strerror(errno));
			return -1;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			snprintf(f->err, sizeof(f->err), "dockerd at %s did not answer within %d s",
			         c->sock, timeout_ms / 1000);
			return -1;
		}
		struct pollfd pfd = {.fd = c->fd,
		                     .events = (short)(POLLIN | (sent < total ? POLLOUT : 0))};
		int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR) {
			snprintf(f->err, sizeof(f->err), "poll: %s", strerror(errno));
			return -1;
		}
		if (pr <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (;;) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && errno != ECONNRESET) {
				snprintf(f->err, sizeof(f->err), "reading dockerd's answer: %s",
				         strerror(errno));
				return -1;
			}
			int rc = fwd_feed(&p, f, buf, n > 0 ? (size_t)n : 0);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				if (sent < total)
					f->keep_alive = false;
				return 0;
			}
			if (n <= 0)
				return -1;
		}
	}
}

struct serve_updates;
static struct upconn *conn_get(struct serve_updates *u);
static void conn_put(struct serve_updates *u, struct upconn *uc, bool keep);

/* A request to dockerd on a connection of the pool; dockerd closing a kept connection
 * just then costs one more try on a new one. f->err says why on -1. */
static int upstream(struct serve_updates *u, const char *head, size_t hlen, const char *body,
                    size_t blen, int timeout_ms, struct fwd *f)
{
	memset(f, 0, sizeof(*f));
	struct upconn *uc = conn_get(u);
	if (!uc) {
		snprintf(f->err, sizeof(f->err), "out of memory");
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		bool reused = uc->c.fd >= 0;
		if (reused && !idle_open(uc->c.fd)) {
			dh_disconnect(&uc->c);
			reused = false;
		}
		struct cg_err err = {{0}};
		if (!reused && dh_connect(&uc->c, &err) < 0) {
			snprintf(f->err, sizeof(f->err), "%s", err.msg);
			conn_put(u, uc, false);
			return -1;
		}
		int rc = exchange(&uc->c, head, hlen, body, blen, timeout_ms, f);
		if (rc == 0) {
			conn_put(u, uc, f->keep_alive);
			return 0;
		}
		dh_disconnect(&uc->c);
		bool nothing = f->len == 0;
		if (!reused || !nothing || attempt > 0) {
			conn_put(u, uc, false);
			return -1;
		}
		/* The request may have reached dockerd before it closed: that stays known
		 * (f->sent) whatever the second try does, so that the outcome is taken as
		 * unknown when it fails too. */
		bool sent = f->sent;
		fwd_free(f);
		f->sent = sent;
	}
}

/* ---- the cache of containers ---- */

struct job {
	struct job *next;
	uint64_t seq;
	char *head, *body;
	size_t head_len, body_len;
	struct su_written w;
	bool wrote;
	uint64_t received_ns, enforced_ns;
	char fields[300];
	/* a handler waits for it (a container that is not running, in enforce mode) */
	bool wait, done;
	struct fwd res;
	int rc;
	struct su_body b; /* last: job_new zeroes what comes before it */
};

struct entry {
	struct entry *next;
	int refs;     /* under u->mu */
	bool indexed; /* in the table, under u->mu */
	char id[65];
	char name[256]; /* under u->mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* everything below under mu */
	uint64_t ticket_next, ticket_now; /* arrival order */
	bool known;                       /* inspected at least once */
	bool limits_stale, target_stale;
	struct su_container_info info; /* info.rec: Docker's record as dockerd holds it */
	struct su_record expected;     /* ... with the queued records in */
	struct cglat_target *t;
	struct cglat_files *files; /* t's limit files, kept open between updates (the turn) */
	struct su_kcache kc;       /* what t's files hold, as serve last read or wrote them */
	struct cglat_plan *plan;   /* the update holding the turn plans here */
	struct su_knobs ks;
	int expect_events; /* "update" events our records will cause */
	uint64_t seq;
	struct job *q_head, *q_tail;
	size_t q_len;
	bool busy; /* a worker has it, or it waits for one */
	struct entry *ready_next;
	bool refresh_queued; /* under u->mu: waits for the refresher */
	struct entry *refresh_next;
};

static void job_free(struct job *j);

struct ring {
	int64_t *v;
	size_t n, next;
};

struct serve_updates {
	struct serve_config cfg;
	char sock[108];
	struct su_host host;
	pthread_mutex_t mu; /* the table */
	struct entry *entries;
	uint64_t unknown_gen; /* events about containers not in the table */
	/* the pool of connections to dockerd */
	pthread_mutex_t pool_mu;
	struct upconn *pool;
	size_t pool_len;
	/* records waiting for a worker */
	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	struct entry *ready_head, *ready_tail;
	bool stopping;
	pthread_t workers[WORKERS];
	size_t nworkers;
	/* the events stream */
	pthread_t events;
	bool events_started;
	/* entries an event made stale, refreshed in the background (under mu) */
	pthread_t refresher;
	bool refresher_started, refresher_stop;
	pthread_cond_t refresh_cv;
	struct entry *refresh_head, *refresh_tail;
	int stop_pipe[2];
	pthread_mutex_t emu;
	pthread_cond_t ecv;
	bool events_up;
	/* statistics, under smu */
	pthread_mutex_t smu;
	struct su_server server;
	bool server_learnt;
	/* dockerd's API version, major * 1000 + minor: read on every update without a lock */
	atomic_int server_api;
	struct su_counts counts;
	struct ring enforced_ns, recorded_ns;
	struct ring whole_enforced_ns; /* from the request's last byte: serve's own part */
};

static struct upconn *conn_get(struct serve_updates *u)
{
	pthread_mutex_lock(&u->pool_mu);
	struct upconn *uc = u->pool;
	if (uc) {
		u->pool = uc->next;
		u->pool_len--;
	}
	pthread_mutex_unlock(&u->pool_mu);
	if (!uc && (uc = calloc(1, sizeof(*uc))))
		dh_init(&uc->c, u->sock, CONNECT_TIMEOUT_MS, RECORD_TIMEOUT_MS, ANSWER_MAX);
	return uc;
}

static void conn_put(struct serve_updates *u, struct upconn *uc, bool keep)
{
	if (!keep)
		dh_disconnect(&uc->c);
	pthread_mutex_lock(&u->pool_mu);
	bool full = u->pool_len >= POOL_IDLE_MAX;
	if (!full) {
		uc->next = u->pool;
		u->pool = uc;
		u->pool_len++;
	}
	pthread_mutex_unlock(&u->pool_mu);
	if (full) {
		dh_free(&uc->c);
		free(uc);
	}
}

static void ring_add(struct ring *r, int64_t v)
{
	if (!r->v)
		return;
	r->v[r->next] = v;
	r->next = (r->next + 1) % SAMPLES;
	if (r->n < SAMPLES)
		r->n++;
}

static void count(struct serve_updates *u, uint64_t *field, uint64_t by)
{
	pthread_mutex_lock(&u->smu);
	*field += by;
	pthread_mutex_unlock(&u->smu);
}

#define COUNT(u, f, n) count((u), &(u)->counts.f, (n))

static void vlog(struct serve_updates *u, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void vlog(struct serve_updates *u, const char *fmt, ...)
{
	if (!u->cfg.verbose)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cglat serve: %s\n", line);
}

/* Is the /events stream subscribed? While it is not (dockerd restarting, say), an event
 * may be missed at any moment, so nothing cached is taken as current. */
static bool events_current(struct serve_updates *u)
{
	pthread_mutex_lock(&u->emu);
	bool up = u->events_up;
	pthread_mutex_unlock(&u->emu);
	return up;
}

static void entry_free(struct entry *e)
{
	for (struct job *j = e->q_head, *next; j; j = next) {
		next = j->next;
		free(j->head);
		free(j->body);
		fwd_free(&j->res);
		free(j);
	}
	cglat_target_close(e->t);
	cglat_files_close(e->files);
	free(e->plan);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}

static void unref(struct serve_updates *u, struct entry *e)
{
	pthread_mutex_lock(&u->mu);
	bool gone = --e->refs == 0 && !e->indexed;
	pthread_mutex_unlock(&u->mu);
	if (gone)
		entry_free(e);
}

/* Under u->mu: an entry of the table by full id, or by name. */
static struct entry *find(struct serve_updates *u, const char *ref, bool by_name)
{
	for (struct entry *e = u->entries; e; e = e->next)
		if (by_name ? !strcmp(e->name, ref) : !strcmp(e->id, ref))
			return e;
	return NULL;
}

static void unlink_entry(struct serve_updates *u, struct entry *e)
{
	for (struct entry **pp = &u->entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	e->indexed = false;
}

/* GET /containers/{ref}/json: 0 with info, or -1 with the answer to give (dockerd's
 * error, or 502 when it cannot be reached). */
static int inspect(struct serve_updates *u, const char *ref, struct su_container_info *info,
                   struct su_error *e)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "GET /containers/%s/json HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                 "cglat/" CGLAT_VERSION "\r\n\r\n",
	                 ref);
	struct fwd f;
	int rc = -1;
	if (upstream(u, head, (size_t)n, NULL, 0, INSPECT_TIMEOUT_MS, &f) < 0) {
		su_errf(e, 502, "cglat serve cannot reach dockerd to look up container %s: %s", ref,
		        f.err);
	} else if (f.status < 200 || f.status > 299) {
		json_t *j = f.body ? json_loads(f.body, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(j, "message"));
		su_errf(e, (int)f.status, "%s", m ? m : "dockerd refused to inspect the container");
		json_decref(j);
	} else {
		struct cg_err err;
		if (su_parse_inspect(f.body, info, &err) == 0)
			rc = 0;
		else
			su_errf(e, 502, "cglat serve: %s", err.msg);
	}
	fwd_free(&f);
	return rc;
}

/* The cgroups of a running container, from its process (no request to dockerd). */
static struct cglat_target *open_target(const struct su_container_info *info)
{
	struct cglat_target *t = NULL;
	struct cg_err err = {{0}};
	if (!info->running || info->pid <= 0)
		return NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = info->pid};
	if (cglat_target_open(&spec, &t, &err) < 0)
		return NULL; /* it stopped meanwhile: treated as not running */
	return t;
}

static struct entry *entry_new(const struct su_container_info *info)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->plan = malloc(sizeof(*e->plan)))) {
		free(e);
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	snprintf(e->id, sizeof(e->id), "%s", info->id);
	snprintf(e->name, sizeof(e->name), "%s", info->name);
	e->info = *info;
	su_record_copy(&e->expected, &info->rec);
	e->known = true;
	e->indexed = true;
	return e;
}

/* The entry of ref with a reference held: a cached full id or name, else what dockerd
 * resolves ref to (a name, an id or an id prefix, as for the update itself). */
static struct entry *lookup(struct serve_updates *u, const char *ref, char *name_out,
                            size_t name_cap, struct su_error *e)
{
	/* Without the events stream a name may have moved to another container: dockerd
	 * is asked, and the cache answers only when dockerd cannot be reached (the record
	 * then fails too, and what was written is put back). */
	bool ask = !events_current(u);
	pthread_mutex_lock(&u->mu);
	struct entry *en = strlen(ref) == 64 ? find(u, ref, false) : NULL;
	if (!en)
		en = find(u, ref, true);
	if (en && !ask) {
		en->refs++;
		snprintf(name_out, name_cap, "%s", en->name);
		pthread_mutex_unlock(&u->mu);
		return en;
	}
	bool cached = en != NULL;
	uint64_t gen = u->unknown_gen;
	pthread_mutex_unlock(&u->mu);
	struct su_container_info *info = malloc(sizeof(*info));
	if (!info) {
		su_errf(e, 500, "out of memory");
		return NULL;
	}
	if (inspect(u, ref, info, e) < 0) {
		free(info);
		if (!cached || e->status != 502)
			return NULL;
		pthread_mutex_lock(&u->mu); /* dockerd unreachable: the cache it is */
		en = strlen(ref) == 64 ? find(u, ref, false) : NULL;
		if (!en)
			en = find(u, ref, true);
		if (en) {
			en->refs++;
			snprintf(name_out, name_cap, "%s", en->name);
		}
		pthread_mutex_unlock(&u->mu);
		return en;
	}
	struct cglat_target *t = open_target(info);
	if (!t)
		info->running = false;
	pthread_mutex_lock(&u->mu);
	en = find(u, info->id, false);
	if (!en && (en = entry_new(info))) {
		/* an event about it may have come while dockerd answered */
		en->limits_stale = en->target_stale = gen != u->unknown_gen;
		en->t = t;
		if (t)
			su_kcache_fill(&en->kc, t);
		t = NULL;
		en->next = u->entries;
		u->entries = en;
	}
	cglat_target_close(t);
	if (en) {
		en->refs++;
		snprintf(name_out, name_cap, "%s", en->name);
	}
	pthread_mutex_unlock(&u->mu);
	free(info);
	if (!en)
		su_errf(e, 500, "out of memory");
	return en;
}

/* ---- order ---- */

static void turn_take(struct entry *e)
{
	pthread_mutex_lock(&e->mu);
	uint64_t mine = e->ticket_next++;
	while (e->ticket_now != mine)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

static void turn_give(struct entry *e)
{
	pthread_mutex_lock(&e->mu);
	e->ticket_now++;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Under e->mu: waits until no record is queued or running. */
static void drain(struct entry *e)
{
	while (e->busy || e->q_len)
		pthread_cond_wait(&e->cv, &e->mu);
}

/* With the turn held: the record and the cgroup as dockerd has them now, when an event
 * (or a lost one, or no events stream) says they may have changed. Queued records go
 * first. */
static int refresh(struct serve_updates *u, struct entry *e, struct su_error *err)
{
	bool current = events_current(u);
	pthread_mutex_lock(&e->mu);
	bool known_stale = e->limits_stale || e->target_stale;
	bool stale = known_stale || !current;
	/* Only someone else's update since (no start, no die, the stream current): the
	 * container's process and cgroup are the ones serve has open. */
	bool same_target = current && !e->target_stale && e->t && e->info.running;
	pid_t pid = e->info.pid;
	if (stale)
		drain(e);
	pthread_mutex_unlock(&e->mu);
	if (!stale)
		return 0;
	struct su_container_info *info = malloc(sizeof(*info));
	if (!info) {
		su_errf(err, 500, "out of memory");
		return -1;
	}
	if (inspect(u, e->id, info, err) < 0) {
		free(info);
		/* Stale only for want of the events stream, and dockerd cannot be reached: the
		 * cache is all there is (the record fails too, and the files are put back). */
		return !known_stale && err->status == 502 ? 0 : -1;
	}
	/* The same process, running: the same cgroup (one with a live process cannot be
	 * removed), and the files open in it stay open: opening them again on the next
	 * update's way to the kernel cost more than the rest of its path. */
	bool keep = same_target && info->running && info->pid == pid;
	struct cglat_target *t = keep ? NULL : open_target(info);
	pthread_mutex_lock(&u->mu);
	snprintf(e->name, sizeof(e->name), "%s", info->name);
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_lock(&e->mu);
	/* A start or die that came after the look at dockerd: the next update looks again. */
	bool raced = keep && e->target_stale;
	e->info = *info;
	su_record_copy(&e->expected, &info->rec);
	if (keep) {
		t = e->t;
	} else {
		if (!t)
			e->info.running = false;
		cglat_target_close(e->t);
		e->t = t;
		cglat_files_close(e->files); /* the cgroup may be another one now */
		e->files = NULL;
	}
	memset(&e->kc, 0, sizeof(e->kc));
	if (t)
		su_kcache_fill(&e->kc, t);
	memset(&e->ks, 0, sizeof(e->ks));
	e->limits_stale = false;
	e->target_stale = raced;
	e->expect_events = 0;
	pthread_mutex_unlock(&e->mu);
	free(info);
	return 0;
}

/* ---- writing ---- */

/* One file, through the library (a plan of one write: no rollback between files). */
static bool write_one(enum cg_knob knob, int version, const char *path, size_t beneath,
                      const char *text, struct cg_err *err)
{
	struct cglat_plan *p = calloc(1, sizeof(*p));
	struct cglat_apply_result r;
	if (!p)
		return false;
	p->count = 1;
	p->w[0].knob = knob;
	p->w[0].version = version;
	p->w[0].file = cgroup_knob_file(knob, version);
	snprintf(p->w[0].path, sizeof(p->w[0].path), "%s", path);
	p->w[0].beneath = beneath;
	snprintf(p->w[0].new_text, sizeof(p->w[0].new_text), "%s", text);
	snprintf(p->w[0].restore_text, sizeof(p->w[0].restore_text), "%s", text);
	bool ok = cglat_limits_apply(p, 0, &r, err) == 0;
	free(p);
	return ok;
}

/* Writes the files of a plan back to their old values, newest first; a value the kernel
 * refuses in that order (memory above memory+swap) is tried again after the others. */
static size_t put_back(const struct cglat_plan *p, struct su_kcache *kc, char *why, size_t cap)
{
	bool done[CGLAT_MAX_WRITES] = {0};
	size_t failed = 0;
	why[0] = '\0';
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = p->count; i-- > 0;) {
			const struct cglat_write *w = &p->w[i];
			struct cg_err err = {{0}};
			if (done[i])
				continue;
			if (write_one(w->knob, w->version, w->path, w->beneath, w->restore_text,
			              &err)) {
				done[i] = true;
				su_kcache_set(kc, w->knob, w->restore_text);
			} else if (pass == 1) {
				failed++;
				kc->known[w->knob] = false;
				snprintf(why, cap, "%s", err.msg);
			}
		}
	return failed;
}

/* Under e->mu: the fixes after a record (su_knobs_recorded), twice for order. */
static void write_fixes(struct entry *e, const enum cg_knob *fix, size_t n)
{
	bool done[CG_KNOB_COUNT] = {0};
	for (int pass = 0; pass < 2 && e->t; pass++)
		for (size_t i = 0; i < n; i++) {
			char path[CGLAT_PATH_MAX];
			int v;
			size_t beneath;
			if (done[i] || !knob_path(e->t, fix[i], path, sizeof(path), &v, &beneath))
				continue;
			done[i] =
			        write_one(fix[i], v, path, beneath, e->ks.k[fix[i]].enforced, NULL);
			if (done[i])
				su_kcache_set(&e->kc, fix[i], e->ks.k[fix[i]].enforced);
			else if (pass == 1)
				e->kc.known[fix[i]] = false;
		}
}

/* ---- one update ---- */

static void fields_text(const struct su_body *b, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int f = 0; f < SU_F_COUNT && n + 1 < cap; f++)
		if (b->given & (UINT64_C(1) << f)) {
			if (n)
				out[n++] = ',';
			n += text_copy(out + n, cap - n, su_field_name((enum su_field)f));
		}
	out[n < cap ? n : cap - 1] = '\0';
	if (!out[0])
		text_copy(out, cap, "(no field)");
}

static void set_response(struct serve_updates *u, struct serve_response *resp, int status,
                         const char *body, const struct su_head *h)
{
	struct su_server s;
	pthread_mutex_lock(&u->smu);
	s = u->server;
	pthread_mutex_unlock(&u->smu);
	resp->raw = su_http_response(&s, status, body ? body : "", h->close, h->http10, &resp->len);
	resp->close = h->close;
}

static void error_response(struct serve_updates *u, struct serve_response *resp,
                           const struct su_error *e, const struct su_head *h)
{
	char *body = su_error_body(e->msg);
	set_response(u, resp, e->status, body, h);
	free(body);
}

static void learn_server(struct serve_updates *u, const struct fwd *f)
{
	pthread_mutex_lock(&u->smu);
	if (!u->server_learnt && f->raw) {
		u->server_learnt = su_server_learn(&u->server, f->raw, f->len);
		int major = 1, minor = 41;
		sscanf(u->server.api_version, "%d.%d", &major, &minor);
		atomic_store(&u->server_api, major * 1000 + minor);
	}
	pthread_mutex_unlock(&u->smu);
}

/* dockerd's answer handed back as it came. */
static void raw_response(struct serve_updates *u, struct serve_response *resp, struct fwd *f,
                         const struct su_head *h)
{
	learn_server(u, f);
	resp->raw = f->raw;
	resp->len = f->len;
	resp->close = h->close || !f->keep_alive;
	f->raw = NULL;
}

/* "Cannot update container <id>: runc did not terminate successfully: ...": how dockerd
 * words what runc refused. */
static void runc_error(struct su_error *e, const char *id, const char *msg)
{
	char m[SU_MSG_MAX];
	snprintf(m, sizeof(m), "%s", msg);
	su_errf(e, 500,
	        "Cannot update container %s: runc did not terminate successfully: exit status 1: "
	        "%s\n: unknown",
	        id, m);
}

static void ns_to_us(uint64_t ns, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 ".%01" PRIu64, ns / 1000, ns % 1000 / 100);
}

/* The record of a job in dockerd: forwarded with retries while dockerd takes no
 * connection; then Docker's record and the kernel's files brought to agree. Returns 0
 * when dockerd recorded it (2xx). */
static int record(struct serve_updates *u, struct entry *e, struct job *j, bool enforce_mode)
{
	pthread_mutex_lock(&e->mu);
	e->expect_events++;
	pthread_mutex_unlock(&e->mu);
	int rc;
	for (int attempt = 0;; attempt++) {
		fwd_free(&j->res);
		rc = upstream(u, j->head, j->head_len, j->body, j->body_len, RECORD_TIMEOUT_MS,
		              &j->res);
		if (rc == 0 || j->res.sent || attempt + 1 >= CONNECT_TRIES || !enforce_mode)
			break;
		struct timespec ts = {0, RETRY_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	uint64_t rec_ns = now_ns();
	bool ok = rc == 0 && j->res.status >= 200 && j->res.status <= 299;
	if (rc == 0)
		learn_server(u, &j->res);
	pthread_mutex_lock(&e->mu);
	if (!ok) {
		e->expect_events--;
		if (rc < 0 && j->res.sent)
			e->limits_stale = true; /* dockerd may have taken it: look again */
	}
	if (ok) {
		struct su_error ignored;
		su_merge(&j->b, e->id, &e->info.rec, &ignored);
	} else {
		/* Docker keeps its record: expected is that plus the records still queued. */
		su_record_copy(&e->expected, &e->info.rec);
		for (struct job *q = e->q_head; q; q = q->next) {
			struct su_error ignored;
			su_merge(&q->b, e->id, &e->expected, &ignored);
		}
	}
	size_t nfix = 0;
	if (enforce_mode) {
		enum cg_knob fix[CG_KNOB_COUNT];
		nfix = su_knobs_recorded(&e->ks, &j->w, j->seq, ok, fix);
		write_fixes(e, fix, nfix);
	}
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&u->smu);
	if (ok) {
		u->counts.recorded++;
		ring_add(&u->recorded_ns, (int64_t)(rec_ns - j->received_ns));
	} else {
		u->counts.failed_records++;
		if (enforce_mode && j->wrote)
			u->counts.rolled_back++;
	}
	pthread_mutex_unlock(&u->smu);
	if (u->cfg.verbose && enforce_mode) {
		char a[32], b[32];
		ns_to_us(j->enforced_ns - j->received_ns, a, sizeof(a));
		ns_to_us(rec_ns - j->received_ns, b, sizeof(b));
		if (ok)
			vlog(u,
			     "update %.12s %s: received -> enforced %s us -> recorded %s us (%ld)",
			     e->id, j->fields, j->wrote ? a : "-", b, j->res.status);
		else
			vlog(u,
			     "update %.12s %s: received -> enforced %s us -> record FAILED after "
			     "%s "
			     "us: %s; the files follow Docker's record (%zu rewritten)",
			     e->id, j->fields, j->wrote ? a : "-", b,
			     rc < 0 ? j->res.err
			            : (j->res.body && *j->res.body ? j->res.body : "refused"),
			     nfix);
	}
	return ok ? 0 : -1;
}

/* A worker: the records of one container at a time, in order. */
static void *worker_main(void *arg)
{
	struct serve_updates *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->rmu);
		while (!u->ready_head && !u->stopping)
			pthread_cond_wait(&u->rcv, &u->rmu);
		struct entry *e = u->ready_head;
		if (!e) {
			pthread_mutex_unlock(&u->rmu);
			return NULL;
		}
		u->ready_head = e->ready_next;
		if (!u->ready_head)
			u->ready_tail = NULL;
		pthread_mutex_unlock(&u->rmu);
		for (;;) {
			pthread_mutex_lock(&e->mu);
			struct job *j = e->q_head;
			if (!j) {
				e->busy = false;
				pthread_cond_broadcast(&e->cv);
				pthread_mutex_unlock(&e->mu);
				break;
			}
			e->q_head = j->next;
			if (!e->q_head)
				e->q_tail = NULL;
			if (!j->wait && j->next && su_supersedes(&j->next->b, &j->b)) {
				/* the next record says all this one would: one record for both */
				e->q_len--;
				pthread_mutex_unlock(&e->mu);
				pthread_mutex_lock(&u->smu);
				u->counts.coalesced++;
				u->counts.pending--;
				pthread_mutex_unlock(&u->smu);
				vlog(u,
				     "update %.12s %s: recorded with the next update (it gives the "
				     "same "
				     "fields)",
				     e->id, j->fields);
				job_free(j);
				unref(u, e);
				continue;
			}
			pthread_mutex_unlock(&e->mu);
			j->rc = record(u, e, j, true);
			pthread_mutex_lock(&e->mu);
			e->q_len--;
			pthread_mutex_unlock(&e->mu);
			COUNT(u, pending, (uint64_t)-1);
			if (j->wait) {
				pthread_mutex_lock(&e->mu);
				j->done = true;
				pthread_cond_broadcast(&e->cv);
				pthread_mutex_unlock(&e->mu);
			} else {
				job_free(j);
			}
			unref(u, e);
		}
	}
}

/* Under e->mu: a job at the end of the container's queue (it holds a reference). */
static void enqueue(struct serve_updates *u, struct entry *e, struct job *j)
{
	j->next = NULL;
	if (e->q_tail)
		e->q_tail->next = j;
	else
		e->q_head = j;
	e->q_tail = j;
	e->q_len++;
	COUNT(u, pending, 1);
	if (!e->busy) {
		e->busy = true;
		pthread_mutex_lock(&u->rmu);
		e->ready_next = NULL;
		if (u->ready_tail)
			u->ready_tail->ready_next = e;
		else
			u->ready_head = e;
		u->ready_tail = e;
		pthread_cond_signal(&u->rcv);
		pthread_mutex_unlock(&u->rmu);
	}
}

/* Is the Content-Type Go's mime.ParseMediaType would call application/json? */
static bool json_content_type(const char *ct)
{
	size_t n = strcspn(ct, ";");
	while (n && isspace((unsigned char)ct[n - 1]))
		n--;
	while (n && isspace((unsigned char)*ct)) {
		ct++;
		n--;
	}
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* Reads what runc's checks on v1 need: the memory limits the kernel holds now. */
static void kernel_memory(const struct cglat_target *t, const struct su_kcache *kc,
                          struct su_cgroups *cg)
{
	char path[CGLAT_PATH_MAX], text[64];
	int v;
	cg->memory_now = cg->memsw_now = -1;
	if (kc->known[CG_KNOB_MEMORY_MAX] &&
	    cgroup_parse_limit(CG_RES_MEMORY, 1, kc->text[CG_KNOB_MEMORY_MAX], &cg->memory_now,
	                       NULL, NULL) == 0) {
		if (!kc->known[CG_KNOB_MEMORY_SWAP])
			cg->memsw_now = -2;
		else if (cgroup_parse_limit(CG_RES_MEMORY, 1, kc->text[CG_KNOB_MEMORY_SWAP],
		                            &cg->memsw_now, NULL, NULL) < 0)
			cg->memsw_now = -1;
		return;
	}
	if (cglat_target_path(t, CG_KNOB_MEMORY_MAX, path, sizeof(path), &v, NULL) == 0 &&
	    cgroup_read_file(path, text, sizeof(text), NULL) == 0)
		cgroup_parse_limit(CG_RES_MEMORY, v, text, &cg->memory_now, NULL, NULL);
	if (cglat_target_path(t, CG_KNOB_MEMORY_SWAP, path, sizeof(path), &v, NULL) < 0)
		cg->memsw_now = -2;
	else if (cgroup_read_file(path, text, sizeof(text), NULL) == 0)
		cgroup_parse_limit(CG_RES_MEMORY, v, text, &cg->memsw_now, NULL, NULL);
}

struct update {
	struct serve_updates *u;
	const struct serve_request *req;
	struct serve_response *resp;
	struct su_head h;
	char *fhead;
	size_t fhead_len;
	struct su_body *b;
	char name[256];
	char fields[300];
	struct su_error err;
	struct su_warnings warn;
};

/* The head for dockerd in up->fhead (SU_FORWARD_HEAD_CAP bytes), built on first need. */
static void build_fhead(struct update *up)
{
	if (!up->fhead_len)
		up->fhead_len = su_head_forward(up->req->head, up->req->head_len, up->req->body_len,
		                                up->fhead);
}

static void refuse(struct update *up)
{
	COUNT(up->u, refused, 1);
	error_response(up->u, up->resp, &up->err, &up->h);
	vlog(up->u, "update %s %s: refused (%d): %s", up->req->container, up->fields,
	     up->err.status, up->err.msg);
}

/* Passed to dockerd as it is (not a POST, or an API version serve does not speak):
 * dockerd answers. */
static void pass_through(struct update *up)
{
	struct fwd f;
	build_fhead(up);
	if (upstream(up->u, up->fhead, up->fhead_len, up->req->body, up->req->body_len,
	             RECORD_TIMEOUT_MS, &f) < 0) {
		su_errf(&up->err, 502, "cglat serve cannot reach dockerd: %s", f.err);
		error_response(up->u, up->resp, &up->err, &up->h);
	} else {
		raw_response(up->u, up->resp, &f, &up->h);
	}
	fwd_free(&f);
}

static struct job *job_new(struct update *up, uint64_t seq)
{
	struct job *j = malloc(sizeof(*j)); /* b: su_body_copy below */
	if (!j)
		return NULL;
	memset(j, 0, offsetof(struct job, b));
	j->head = malloc(SU_FORWARD_HEAD_CAP(up->req->head_len)); /* filled after the write */
	j->body = malloc(up->req->body_len + 1);
	if (!j->head || !j->body) {
		free(j->head);
		free(j->body);
		free(j);
		return NULL;
	}
	if (up->req->body_len)
		memcpy(j->body, up->req->body, up->req->body_len);
	j->body_len = up->req->body_len;
	su_body_copy(&j->b, up->b);
	j->seq = seq;
	j->received_ns = up->req->received_ns;
	text_copy(j->fields, sizeof(j->fields), up->fields);
	return j;
}

#define ENFORCE_GONE (-2)

/* Has the process serve knows as the container's ended (it stopped or was removed, and
 * the event saying so is still on its way)? */
static bool process_gone(pid_t pid)
{
	return pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH);
}

/* With the turn held, under e->mu: dockerd's checks, then the writes. 1 when files were
 * written (plan filled), 0 when nothing is to be written, -1 refused (up->err),
 * ENFORCE_GONE when a write failed and the container's process is gone (up->err as for
 * -1). */
static int enforce(struct update *up, struct entry *e, struct su_record *merged,
                   struct cglat_plan *plan, struct cglat_apply_result *res)
{
	struct serve_updates *u = up->u;
	if (su_verify(up->b, &u->host, &up->warn, &up->err) < 0)
		return -1;
	fields_text(up->b, up->fields, sizeof(up->fields));
	su_record_copy(merged, &e->expected);
	if (su_merge(up->b, e->id, merged, &up->err) < 0)
		return -1;
	if (!e->info.running || e->info.restarting || !e->t)
		return 0; /* dockerd only records it; runc applies it at the next start */
	struct su_cgroups cg = {.t = e->t,
	                        .v_memory = e->t->version[CGLAT_CTL_MEMORY],
	                        .v_cpu = e->t->version[CGLAT_CTL_CPU],
	                        .memory_now = -1,
	                        .memsw_now = -1};
	if (cg.v_memory == 1 && (up->b->memory || up->b->memory_swap > 0))
		kernel_memory(e->t, &e->kc, &cg);
	struct cglat_limits l;
	if (su_runc_limits(up->b, &e->expected, &cg, &l, &up->err) < 0) {
		runc_error(&up->err, e->id, up->err.msg);
		return -1;
	}
	if (!l.set)
		return 0;
	/* The old values are the ones serve knows (it wrote them, or read them when the
	 * container started); the library plans from the files when one is not known, and
	 * when a write with the known values fails (someone else wrote a file meanwhile). */
	struct cg_err cerr = {{0}};
	bool fast = su_fast_plan(e->t, &e->kc, &l, plan);
	for (;;) {
		if (!fast && cglat_limits_plan(e->t, &l, plan, &cerr) < 0) {
			runc_error(&up->err, e->id, cerr.msg);
			return process_gone(e->info.pid) ? ENFORCE_GONE : -1;
		}
		if (!e->files)
			e->files = cglat_files_new(); /* NULL: each apply opens its files */
		if (cglat_limits_apply_kept(plan, 0, e->files, res, &cerr) == 0)
			break;
		if (fast) {
			su_kcache_fill(&e->kc, e->t);
			fast = false;
			continue;
		}
		if (res->restore_failed)
			su_kcache_fill(&e->kc, e->t);
		char m[SU_MSG_MAX];
		su_runc_write_error(plan, res, cerr.msg, m, sizeof(m));
		runc_error(&up->err, e->id, m);
		return process_gone(e->info.pid) ? ENFORCE_GONE : -1;
	}
	for (size_t i = 0; i < plan->count; i++)
		su_kcache_set(&e->kc, plan->w[i].knob, plan->w[i].new_text);
	return 1;
}

/* refresh() for an update: a container removed meanwhile is "No such container" with
 * the name the client gave, as dockerd says it. */
static int refresh_for(struct update *up, struct entry *e)
{
	if (refresh(up->u, e, &up->err) == 0)
		return 0;
	if (up->err.status == 404)
		su_errf(&up->err, 404, "No such container: %s", up->req->container);
	return -1;
}

/* With the turn held: enforce(), and once more after looking at the container again
 * when its process turned out to be gone: dockerd then answers for the container as it
 * is now (stopped: recorded only; removed: 404), not for the cgroup that was. Returns with
 * e->mu held. */
static int enforce_current(struct update *up, struct entry *e, struct su_record *merged,
                           struct cglat_plan *plan, struct cglat_apply_result *res)
{
	pthread_mutex_lock(&e->mu);
	int wrote = enforce(up, e, merged, plan, res);
	if (wrote != ENFORCE_GONE)
		return wrote;
	e->limits_stale = e->target_stale = true;
	pthread_mutex_unlock(&e->mu);
	vlog(up->u, "update %s: its process is gone; looking at the container again", up->name);
	int rc = refresh_for(up, e);
	pthread_mutex_lock(&e->mu);
	if (rc < 0)
		return -1;
	*res = (struct cglat_apply_result){0};
	wrote = enforce(up, e, merged, plan, res);
	return wrote == ENFORCE_GONE ? -1 : wrote;
}

static void log_done(struct update *up, struct entry *e, int wrote, uint64_t enforced,
                     uint64_t recorded, long status, const char *how)
{
	if (!up->u->cfg.verbose)
		return;
	char a[32], b[32];
	ns_to_us(enforced - up->req->received_ns, a, sizeof(a));
	ns_to_us(recorded - up->req->received_ns, b, sizeof(b));
	vlog(up->u, "update %s (%.12s) %s: received -> enforced %s us -> recorded %s us (%ld)%s",
	     up->name, e->id, up->fields, wrote > 0 ? a : "-", recorded ? b : "-", status, how);
}

/* The default: the answer is dockerd's, after the record. */
static void update_record_mode(struct update *up, struct entry *e)
{
	struct serve_updates *u = up->u;
	struct cglat_plan *plan = e->plan; /* the turn is ours */
	struct cglat_apply_result res = {0};
	struct su_record merged;
	if (!plan) {
		su_errf(&up->err, 500, "out of memory");
		refuse(up);
		return;
	}
	int wrote = enforce_current(up, e, &merged, plan, &res);
	pthread_mutex_unlock(&e->mu);
	if (wrote < 0) {
		refuse(up);
		return;
	}
	uint64_t enforced = now_ns();
	if (wrote > 0) {
		COUNT(u, enforced, 1);
		pthread_mutex_lock(&u->smu);
		ring_add(&u->enforced_ns, (int64_t)(enforced - up->req->received_ns));
		ring_add(&u->whole_enforced_ns, (int64_t)(enforced - up->req->whole_ns));
		pthread_mutex_unlock(&u->smu);
	}
	build_fhead(up);
	struct job j = {.head = up->fhead,
	                .head_len = up->fhead_len,
	                .body = (char *)up->req->body,
	                .body_len = up->req->body_len,
	                .b = *up->b,
	                .received_ns = up->req->received_ns,
	                .wrote = wrote > 0};
	int rc = record(u, e, &j, false);
	uint64_t recorded = now_ns();
	bool answered = j.res.complete;
	char why[512] = "";
	if (rc < 0 && wrote > 0) {
		pthread_mutex_lock(&e->mu);
		size_t failed = put_back(plan, &e->kc, why, sizeof(why));
		pthread_mutex_unlock(&e->mu);
		COUNT(u, rolled_back, 1);
		if (failed)
			vlog(u, "update %s: %zu file(s) could not be put back: %s", up->name,
			     failed, why);
	}
	if (rc < 0 && !answered) {
		su_errf(&up->err, 502,
		        "cglat serve could not record the update of container %s in dockerd: %s%s",
		        up->req->container, j.res.err,
		        wrote > 0 ? (*why ? "; the limits written could NOT all be put back"
		                          : "; the limits written were put back")
		                  : "");
		error_response(u, up->resp, &up->err, &up->h);
	} else {
		raw_response(u, up->resp, &j.res, &up->h);
	}
	if (rc == 0) {
		pthread_mutex_lock(&e->mu);
		su_record_copy(&e->expected, &e->info.rec);
		pthread_mutex_unlock(&e->mu);
	}
	log_done(up, e, wrote, enforced, rc == 0 ? recorded : 0, answered ? j.res.status : 502,
	         rc < 0 && wrote > 0 ? ", files put back" : "");
	fwd_free(&j.res);
}

/* --reply-after enforce: answered once the files are written; recorded by a worker. */
static void job_free(struct job *j)
{
	free(j->head);
	free(j->body);
	fwd_free(&j->res);
	free(j);
}

static void entry_ref(struct serve_updates *u, struct entry *e)
{
	pthread_mutex_lock(&u->mu);
	e->refs++;
	pthread_mutex_unlock(&u->mu);
}

static void update_enforce_mode(struct update *up, struct entry *e)
{
	struct serve_updates *u = up->u;
	struct cglat_plan *plan = e->plan; /* the turn is ours */
	struct job *j = job_new(up, 0);
	struct cglat_apply_result res = {0};
	struct su_record merged;
	if (!plan || !j) {
		if (j)
			job_free(j);
		su_errf(&up->err, 500, "out of memory");
		refuse(up);
		return;
	}
	entry_ref(u, e); /* the job's, taken before e->mu (u->mu comes first) */
	int wrote = enforce_current(up, e, &merged, plan, &res);
	if (wrote < 0) {
		pthread_mutex_unlock(&e->mu);
		job_free(j);
		unref(u, e);
		refuse(up);
		return;
	}
	uint64_t enforced = now_ns();
	j->head_len = su_head_forward(up->req->head, up->req->head_len, up->req->body_len, j->head);
	j->seq = ++e->seq;
	su_body_copy(&j->b, up->b); /* as dockerd's checks left it */
	snprintf(j->fields, sizeof(j->fields), "%s", up->fields);
	j->enforced_ns = enforced;
	j->wrote = wrote > 0;
	if (wrote > 0)
		su_knobs_enforced(&e->ks, plan, j->seq, &j->w);
	/* A container that is not running: nothing to answer before dockerd does. */
	j->wait = wrote == 0 && (!e->info.running || e->info.restarting || !e->t);
	su_record_copy(&e->expected, &merged);
	enqueue(u, e, j);
	if (j->wait) {
		while (!j->done)
			pthread_cond_wait(&e->cv, &e->mu);
		pthread_mutex_unlock(&e->mu);
		if (j->rc < 0 && !j->res.complete) {
			su_errf(&up->err, 502,
			        "cglat serve could not record the update of container %s in "
			        "dockerd: %s",
			        up->req->container, j->res.err);
			error_response(u, up->resp, &up->err, &up->h);
		} else {
			raw_response(u, up->resp, &j->res, &up->h);
		}
		job_free(j);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	if (wrote > 0) {
		pthread_mutex_lock(&u->smu);
		u->counts.enforced++;
		ring_add(&u->enforced_ns, (int64_t)(enforced - up->req->received_ns));
		ring_add(&u->whole_enforced_ns, (int64_t)(enforced - up->req->whole_ns));
		pthread_mutex_unlock(&u->smu);
	}
	char *body = su_warnings_body(&up->warn);
	set_response(u, up->resp, 200, body, &up->h);
	free(body);
}

void serve_update_handle(struct serve_updates *u, const struct serve_request *req,
                         struct serve_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	struct update up = {.u = u, .req = req, .resp = resp};
	text_copy(up.fields, sizeof(up.fields), "?");
	text_copy(up.name, sizeof(up.name), req->container);
	COUNT(u, updates, 1);
	up.h = (struct su_head){.close = req->close,
	                        .http10 = req->http10,
	                        .chunked = req->chunked,
	                        .post = req->post,
	                        .has_content_type = req->has_content_type};
	text_copy(up.h.content_type, sizeof(up.h.content_type), req->content_type);
	/* What goes to dockerd is built after the kernel's files are written, into a buffer
	 * had now, so that nothing can fail for want of memory then. */
	up.fhead = malloc(SU_FORWARD_HEAD_CAP(req->head_len));
	if (!up.fhead) {
		su_errf(&up.err, 500, "out of memory");
		refuse(&up);
		return;
	}
	/* Names and ids only: a {id} with '/' or '..' never reaches a URL or a lookup. */
	struct cg_err cerr;
	const char *ref = req->container;
	if (!*ref || strchr(ref, '/') || strstr(ref, "..") || docker_validate_ref(ref, &cerr) < 0) {
		su_errf(&up.err, 404, "No such container: %s", ref);
		refuse(&up);
		free(up.fhead);
		return;
	}
	int major = 0, minor = 0;
	bool versioned = su_path_version(req->path, &major, &minor);
	int sapi = atomic_load(&u->server_api), smajor = sapi / 1000, sminor = sapi % 1000;
	if (!up.h.post || (versioned && (major != 1 || minor < 12 || major > smajor ||
	                                 (major == smajor && minor > sminor)))) {
		pass_through(&up);
		free(up.fhead);
		return;
	}
	/* httputils.CheckForJSON, then the body. */
	if ((up.h.content_type[0] || req->body_len > 0 || up.h.chunked) &&
	    !json_content_type(up.h.content_type)) {
		su_errf(&up.err, 400, "Content-Type specified (%s) must be 'application/json'",
		        up.h.content_type);
		refuse(&up);
		free(up.fhead);
		return;
	}
	struct su_body body; /* on the stack: no heap to touch on the way to the write */
	up.b = &body;
	if (su_parse_body(req->body, req->body_len, !versioned || minor >= 40, up.b, &up.err) < 0) {
		refuse(&up);
		free(up.fhead);
		return;
	}
	fields_text(up.b, up.fields, sizeof(up.fields));
	struct entry *e = lookup(u, ref, up.name, sizeof(up.name), &up.err);
	if (!e) {
		refuse(&up);
	} else {
		turn_take(e);
		if (refresh_for(&up, e) < 0)
			refuse(&up);
		else if (u->cfg.reply_after == SERVE_REPLY_AFTER_ENFORCE)
			update_enforce_mode(&up, e);
		else
			update_record_mode(&up, e);
		turn_give(e);
		unref(u, e);
	}
	free(up.fhead);
}

/* ---- the events stream: the cache kept current ---- */

struct events_reader {
	struct serve_updates *u;
	char *line;
	size_t len, cap;
	bool ok_status;
	bool headers;
};

/* Under u->mu: have the refresher read e again now, so that the next update finds its
 * cache current instead of asking dockerd on its way to the kernel's files (someone
 * else's `docker update` costs the next update through serve a round trip otherwise). */
static void queue_refresh(struct serve_updates *u, struct entry *e)
{
	if (e->refresh_queued || !u->refresher_started)
		return;
	e->refresh_queued = true;
	e->refs++;
	e->refresh_next = NULL;
	if (u->refresh_tail)
		u->refresh_tail->refresh_next = e;
	else
		u->refresh_head = e;
	u->refresh_tail = e;
	pthread_cond_signal(&u->refresh_cv);
}

/* Takes each entry's turn like an update, so it never reads while one writes; an update
 * that arrives meanwhile waits for a refresh that started before it. */
static void *refresher_main(void *arg)
{
	struct serve_updates *u = arg;
	pthread_mutex_lock(&u->mu);
	for (;;) {
		while (!u->refresher_stop && !u->refresh_head)
			pthread_cond_wait(&u->refresh_cv, &u->mu);
		struct entry *e = u->refresh_head;
		if (!e)
			break;
		u->refresh_head = e->refresh_next;
		if (!u->refresh_head)
			u->refresh_tail = NULL;
		e->refresh_queued = false;
		bool stop = u->refresher_stop;
		pthread_mutex_unlock(&u->mu);
		if (!stop) {
			struct su_error err;
			turn_take(e);
			if (refresh(u, e, &err) < 0) /* the next update tries again, and says why */
				vlog(u, "refreshing %.12s after an event: %s", e->id, err.msg);
			turn_give(e);
		}
		unref(u, e);
		pthread_mutex_lock(&u->mu);
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static void on_event(struct serve_updates *u, const char *text, size_t n)
{
	json_t *ev = json_loadb(text, n, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *actor = json_object_get(ev, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	if (!type || strcmp(type, "container") != 0 || !action || !id) {
		json_decref(ev);
		return;
	}
	const char *name =
	        json_string_value(json_object_get(json_object_get(actor, "Attributes"), "name"));
	pthread_mutex_lock(&u->mu);
	struct entry *e = find(u, id, false);
	if (!e) {
		u->unknown_gen++;
	} else if (!strcmp(action, "destroy")) {
		unlink_entry(u, e);
		pthread_mutex_lock(&e->mu);
		e->target_stale = e->limits_stale = true;
		pthread_mutex_unlock(&e->mu);
		if (e->refs == 0) {
			pthread_mutex_unlock(&u->mu);
			entry_free(e);
			json_decref(ev);
			return;
		}
	} else {
		if (!strcmp(action, "rename") && name)
			snprintf(e->name, sizeof(e->name), "%s", name);
		pthread_mutex_lock(&e->mu);
		bool stale = false;
		if (!strcmp(action, "start") || !strcmp(action, "die"))
			stale = e->target_stale = e->limits_stale = true;
		else if (!strcmp(action, "update")) {
			if (e->expect_events > 0)
				e->expect_events--;
			else
				stale = e->limits_stale = true; /* someone else's update */
		}
		pthread_mutex_unlock(&e->mu);
		if (stale)
			queue_refresh(u, e);
	}
	pthread_mutex_unlock(&u->mu);
	json_decref(ev);
}

static int er_headers(http_parser *p)
{
	struct events_reader *r = p->data;
	r->ok_status = p->status_code == 200;
	r->headers = true;
	return r->ok_status ? 0 : -1;
}

static int er_body(http_parser *p, const char *at, size_t n)
{
	struct events_reader *r = p->data;
	for (size_t i = 0; i < n; i++) {
		if (at[i] == '\n') {
			if (r->len)
				on_event(r->u, r->line, r->len);
			r->len = 0;
			continue;
		}
		if (r->len + 1 > r->cap) {
			if (r->cap >= (1u << 20))
				continue; /* an event this large is not one: dropped */
			size_t cap = r->cap ? r->cap * 2 : 4096;
			char *l = realloc(r->line, cap);
			if (!l)
				return -1;
			r->line = l;
			r->cap = cap;
		}
		r->line[r->len++] = at[i];
	}
	return 0;
}

static void mark_all_stale(struct serve_updates *u)
{
	pthread_mutex_lock(&u->mu);
	for (struct entry *e = u->entries; e; e = e->next) {
		pthread_mutex_lock(&e->mu);
		e->limits_stale = e->target_stale = true;
		pthread_mutex_unlock(&e->mu);
	}
	u->unknown_gen++;
	pthread_mutex_unlock(&u->mu);
}

static void events_set_up(struct serve_updates *u, bool up)
{
	pthread_mutex_lock(&u->emu);
	u->events_up = up;
	pthread_cond_broadcast(&u->ecv);
	pthread_mutex_unlock(&u->emu);
}

/* Reads one events stream until it ends or serve stops; false when stopping. */
static bool events_once(struct serve_updates *u, struct dh_conn *c, struct events_reader *r)
{
	static const char filters[] =
	        "{\"type\":[\"container\"],\"event\":[\"start\",\"die\",\"destroy\",\"rename\","
	        "\"update\"]}";
	char esc[512], head[1024];
	dh_escape(filters, esc, sizeof(esc));
	int hl = snprintf(head, sizeof(head),
	                  "GET /events?filters=%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                  "cglat/" CGLAT_VERSION "\r\n\r\n",
	                  esc);
	struct cg_err err = {{0}};
	if (dh_connect(c, &err) < 0)
		return true;
	for (int off = 0; off < hl;) {
		ssize_t w = send(c->fd, head + off, (size_t)(hl - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0) {
			dh_disconnect(c);
			return true;
		}
		off += (int)w;
	}
	http_parser p;
	http_parser_settings st = {.on_headers_complete = er_headers, .on_body = er_body};
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = r;
	r->len = 0;
	r->headers = r->ok_status = false;
	char buf[16384];
	bool announced = false;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
		                        {.fd = u->stop_pipe[0], .events = POLLIN}};
		int pr = poll(pfd, 2, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0 || pfd[1].revents) {
			dh_disconnect(c);
			return false;
		}
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		size_t done = http_parser_execute(&p, &st, buf, n > 0 ? (size_t)n : 0);
		if (r->headers && r->ok_status && !announced) {
			/* Subscribed: what was cached before may have changed unseen. */
			announced = true;
			mark_all_stale(u);
			events_set_up(u, true);
		}
		if (n <= 0 || done != (size_t)n || HTTP_PARSER_ERRNO(&p) != HPE_OK)
			break;
	}
	dh_disconnect(c);
	events_set_up(u, false);
	return true;
}

static void *events_main(void *arg)
{
	struct serve_updates *u = arg;
	struct dh_conn c;
	struct events_reader r = {.u = u};
	dh_init(&c, u->sock, CONNECT_TIMEOUT_MS, 0, 0);
	int backoff = 50;
	for (;;) {
		uint64_t t0 = now_ns();
		if (!events_once(u, &c, &r))
			break;
		if (now_ns() - t0 > 5000000000u)
			backoff = 50; /* it was up a while: try again soon */
		struct pollfd pfd = {.fd = u->stop_pipe[0], .events = POLLIN};
		if (poll(&pfd, 1, backoff) > 0)
			break;
		backoff = backoff < 1000 ? backoff * 2 : 1000;
	}
	dh_free(&c);
	free(r.line);
	return NULL;
}

/* ---- open, close, stats ---- */

int serve_updates_open(const struct serve_config *cfg, struct serve_updates **out,
                       struct cg_err *err)
{
	*out = NULL;
	struct serve_updates *u = calloc(1, sizeof(*u));
	if (!u)
		return cg_errf(err, "out of memory");
	u->cfg = *cfg;
	snprintf(u->sock, sizeof(u->sock), "%s",
	         cfg->docker_sock && *cfg->docker_sock ? cfg->docker_sock : DOCKER_DEFAULT_SOCK);
	pthread_mutex_init(&u->mu, NULL);
	pthread_mutex_init(&u->pool_mu, NULL);
	pthread_mutex_init(&u->rmu, NULL);
	pthread_cond_init(&u->rcv, NULL);
	pthread_mutex_init(&u->emu, NULL);
	pthread_cond_init(&u->ecv, NULL);
	pthread_mutex_init(&u->smu, NULL);
	pthread_cond_init(&u->refresh_cv, NULL);
	su_server_defaults(&u->server);
	atomic_init(&u->server_api, 1041); /* su_server_defaults' "1.41" */
	u->enforced_ns.v = calloc(SAMPLES, sizeof(int64_t));
	u->recorded_ns.v = calloc(SAMPLES, sizeof(int64_t));
	u->whole_enforced_ns.v = calloc(SAMPLES, sizeof(int64_t));
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	if (!u->enforced_ns.v || !u->recorded_ns.v || !u->whole_enforced_ns.v ||
	    pipe2(u->stop_pipe, O_CLOEXEC) < 0) {
		serve_updates_close(u);
		return cg_errf(err, "cannot set up the update path: %s", strerror(errno));
	}
	if (su_host_probe(NULL, docker_daemon_pid(), &u->host, err) < 0) {
		serve_updates_close(u);
		return cg_err_wrap(err, "reading the host's cgroups");
	}
	/* dockerd's headers, for the answers serve writes itself. */
	static const char ping[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                           "cglat/" CGLAT_VERSION "\r\n\r\n";
	struct fwd f;
	if (upstream(u, ping, sizeof(ping) - 1, NULL, 0, INSPECT_TIMEOUT_MS, &f) == 0)
		learn_server(u, &f);
	fwd_free(&f);
	for (size_t i = 0; i < WORKERS; i++) {
		if (pthread_create(&u->workers[i], NULL, worker_main, u) != 0)
			break;
		u->nworkers++;
	}
	if (pthread_create(&u->refresher, NULL, refresher_main, u) == 0)
		u->refresher_started = true;
	if (pthread_create(&u->events, NULL, events_main, u) == 0)
		u->events_started = true;
	if (u->nworkers == 0 || !u->events_started || !u->refresher_started) {
		serve_updates_close(u);
		return cg_errf(err, "cannot start the update path's threads");
	}
	/* Wait a little for the events stream, so the cache starts current. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&u->emu);
	while (!u->events_up)
		if (pthread_cond_timedwait(&u->ecv, &u->emu, &ts) != 0)
			break;
	pthread_mutex_unlock(&u->emu);
	*out = u;
	return 0;
}

void serve_updates_close(struct serve_updates *u)
{
	if (!u)
		return;
	/* The events stream first (nothing frees an entry after it), then the background
	 * records still queued. */
	if (u->stop_pipe[1] >= 0 && write(u->stop_pipe[1], "x", 1) < 0) {
		/* the events thread then stops when its stream ends */
	}
	if (u->events_started)
		pthread_join(u->events, NULL);
	u->events_started = false;
	/* Nothing queues a refresh now: the refresher ends, dropping what is still queued. */
	if (u->refresher_started) {
		pthread_mutex_lock(&u->mu);
		u->refresher_stop = true;
		pthread_cond_broadcast(&u->refresh_cv);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->refresher, NULL);
	}
	u->refresher_started = false;
	for (;;) {
		pthread_mutex_lock(&u->mu);
		struct entry *e = u->entries;
		bool any = false;
		for (; e; e = e->next) {
			pthread_mutex_lock(&e->mu);
			any = e->busy || e->q_len;
			pthread_mutex_unlock(&e->mu);
			if (any)
				break;
		}
		pthread_mutex_unlock(&u->mu);
		if (!any || u->nworkers == 0)
			break;
		pthread_mutex_lock(&e->mu);
		drain(e);
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_lock(&u->rmu);
	u->stopping = true;
	pthread_cond_broadcast(&u->rcv);
	pthread_mutex_unlock(&u->rmu);
	for (size_t i = 0; i < u->nworkers; i++)
		pthread_join(u->workers[i], NULL);
	for (struct entry *e = u->entries, *next; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	for (struct upconn *c = u->pool, *next; c; c = next) {
		next = c->next;
		dh_free(&c->c);
		free(c);
	}
	if (u->stop_pipe[0] >= 0)
		close(u->stop_pipe[0]);
	if (u->stop_pipe[1] >= 0)
		close(u->stop_pipe[1]);
	free(u->enforced_ns.v);
	free(u->recorded_ns.v);
	free(u->whole_enforced_ns.v);
	pthread_mutex_destroy(&u->mu);
	pthread_mutex_destroy(&u->pool_mu);
	pthread_mutex_destroy(&u->rmu);
	pthread_cond_destroy(&u->rcv);
	pthread_mutex_destroy(&u->emu);
	pthread_cond_destroy(&u->ecv);
	pthread_cond_destroy(&u->refresh_cv);
	pthread_mutex_destroy(&u->smu);
	free(u);
}

void su_counts(struct serve_updates *u, struct su_counts *out)
{
	pthread_mutex_lock(&u->smu);
	*out = u->counts;
	pthread_mutex_unlock(&u->smu);
}

static json_t *ring_json(const struct ring *r)
{
	struct stats st;
	if (stats_compute(r->v, r->n, &st) < 0)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "n", (json_int_t)st.n, "p50_ns",
	                 (json_int_t)st.p50, "p90_ns", (json_int_t)st.p90, "p99_ns",
	                 (json_int_t)st.p99, "max_ns", (json_int_t)st.max);
}

void serve_stats_response(struct serve_updates *u, struct serve_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	pthread_mutex_lock(&u->smu);
	struct su_counts c = u->counts;
	json_t *enforced = ring_json(&u->enforced_ns), *recorded = ring_json(&u->recorded_ns);
	json_t *whole = ring_json(&u->whole_enforced_ns);
	struct su_server s = u->server;
	pthread_mutex_unlock(&u->smu);
	json_t *doc =
	        json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
	                  "tool", "cglat serve", "reply_after",
	                  u->cfg.reply_after == SERVE_REPLY_AFTER_ENFORCE ? "enforce" : "record",
	                  "updates", (json_int_t)c.updates, "enforced", (json_int_t)c.enforced,
	                  "recorded", (json_int_t)c.recorded, "coalesced", (json_int_t)c.coalesced,
	                  "refused", (json_int_t)c.refused, "failed_records",
	                  (json_int_t)c.failed_records, "rolled_back", (json_int_t)c.rolled_back,
	                  "pending_records", (json_int_t)c.pending, "received_to_enforced",
	                  enforced, "received_to_recorded", recorded, "whole_to_enforced", whole);
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	char *body = NULL;
	if (text && asprintf(&body, "%s\n", text) < 0)
		body = NULL;
	free(text);
	resp->raw = su_http_response(&s, body ? 200 : 500, body ? body : "{}\n", false, false,
	                             &resp->len);
	free(body);
}
