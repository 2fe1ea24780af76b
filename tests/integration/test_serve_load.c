/* cglat serve under load, against the real dockerd and kernel: 16 clients at once send
 * 100 updates each over 8 containers (memory, memory reservation, CPU quota, CPU shares),
 * 14 of them with the project's Engine API client on kept-alive connections and 2 with
 * the real `docker update` CLI. Each (container, field) has one client that owns it, so
 * the last value sent for it is well defined. Every update must be answered 2xx, serve's
 * counters must show none lost, and at the end the kernel's files, Docker's record and
 * the last value sent agree for every container and field; serve holds the same fds and
 * (within allocator noise) the same RSS after the load as before it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve_it.h"

#define LABEL "serve_load"
#define NCTR 8
#define NCLIENT 16
#define NUPD 100
#define WARMUP 4
#define MIB (INT64_C(1) << 20)

/* RSS may differ by allocator noise: glibc keeps freed memory of its per-thread arenas
 * (a freed block below the top of a heap is not given back) and the stacks of ended
 * threads are cached, so the resident pages after the same work differ by a few pages
 * up and down; a leak of even 100 bytes per update would be 160 KiB over 1,600 updates
 * and show as growth past this. */
#define RSS_TOLERANCE_KIB 384
/* Under AddressSanitizer freed memory waits in its quarantine (up to 256 MB) by design,
 * so serve's RSS there tells about ASan, not serve: in those builds LeakSanitizer checks
 * serve instead, at its exit (sit_serve_stop wants exit status 0, and
 * scripts/ci-hardening.sh runs with detect_leaks=1). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANS_SERVE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANS_SERVE 0
#endif
#endif
#ifndef RSS_MEANS_SERVE
#define RSS_MEANS_SERVE 1
#endif

enum field { F_MEMORY, F_RESERVATION, F_QUOTA, F_SHARES, F_COUNT };

static const char *const json_key[F_COUNT] = {"Memory", "MemoryReservation", "CpuQuota",
                                              "CpuShares"};
static const char *const cli_opt[F_COUNT] = {"--memory", "--memory-reservation", "--cpu-quota",
                                             "--cpu-shares"};

/* The value client k sends in its update i (i < 0: the warm-up) for a field. */
static int64_t value_of(enum field f, int k, int i)
{
	unsigned u = (unsigned)(k * 7 + (i + WARMUP) * 13);
	switch (f) {
	case F_MEMORY:
		return (192 + (int64_t)(u % 128)) * MIB;
	case F_RESERVATION:
		return (32 + (int64_t)(u % 96)) * MIB;
	case F_QUOTA:
		return 10000 + (int64_t)(u % 80) * 1000;
	default:
		return 128 + (int64_t)(u % 64) * 16;
	}
}

static struct sit_ctr ctr[NCTR];

static int64_t *field_of(struct sit_limits *l, enum field f)
{
	switch (f) {
	case F_MEMORY:
		return &l->memory;
	case F_RESERVATION:
		return &l->reservation;
	case F_QUOTA:
		return &l->quota;
	default:
		return &l->shares;
	}
}

/* Client k owns slots 2k and 2k+1; slot s is container s % NCTR, field s / NCTR: each
 * container gets one client per field, and each client changes two containers. */
static int slot_ctr(int s)
{
	return s % NCTR;
}

static enum field slot_field(int s)
{
	return (enum field)(s / NCTR);
}

struct client {
	pthread_t t;
	int k;
	const char *sock;
	bool cli; /* the Docker CLI, else docker_http.c */
	int from, to;
	int ok, failed;
	int64_t last[2]; /* the last value sent to each of its slots */
	char first_error[512];
};

static void failed_once(struct client *c, const char *fmt, const char *a, const char *b)
{
	if (!c->failed++)
		snprintf(c->first_error, sizeof(c->first_error), fmt, a, b);
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct dh_conn conn;
	sit_conn_init(&conn, c->sock);
	for (int i = c->from; i < c->to; i++) {
		int s = 2 * c->k + (i & 1);
		enum field f = slot_field(s);
		const char *name = ctr[slot_ctr(s)].name;
		int64_t v = value_of(f, c->k, i);
		char text[32];
		snprintf(text, sizeof(text), "%" PRId64, v);
		if (c->cli) {
			char *err = NULL;
			if (sit_docker_at(c->sock, NULL, &err, "update", cli_opt[f], text, name,
			                  NULL) == 0)
				c->ok++;
			else
				failed_once(c, "docker update %s: %s", name, err ? err : "");
			free(err);
		} else {
			char json[96], why[256], *body = NULL;
			snprintf(json, sizeof(json), "{\"%s\":%s}", json_key[f], text);
			int st = sit_update(&conn, name, json, &body, why, sizeof(why));
			if (st >= 200 && st <= 299)
				c->ok++;
			else
				failed_once(c, "update %s: %s", name, st < 0 ? why : body);
			free(body);
		}
		c->last[i & 1] = v;
	}
	dh_free(&conn);
	return NULL;
}

/* Runs the 16 clients over updates [from, to) and returns how many were answered 2xx. */
static int run_clients(const char *sock, int from, int to, struct client *cl)
{
	for (int k = 0; k < NCLIENT; k++) {
		cl[k] = (struct client){.k = k, .sock = sock, .from = from, .to = to};
		cl[k].cli = k == 1 || k == 9; /* a memory owner and a CPU quota owner */
		cr_assert_eq(pthread_create(&cl[k].t, NULL, client_main, &cl[k]), 0);
	}
	int ok = 0;
	for (int k = 0; k < NCLIENT; k++) {
		pthread_join(cl[k].t, NULL);
		ok += cl[k].ok;
		cr_expect_eq(cl[k].failed, 0, "client %d (%s): %d of %d failed; first: %s", k,
		             cl[k].cli ? "docker CLI" : "docker_http", cl[k].failed, to - from,
		             cl[k].first_error);
	}
	return ok;
}

/* Waits until serve runs only its own threads again (the connections' threads joined),
 * then reads its fds and RSS. */
static void settle(struct sit_serve *s, int threads, int *fds, int64_t *rss)
{
	uint64_t until = it_mono_ns() + (uint64_t)(30e9 * it_time_scale());
	while (sit_thread_count(s->p.pid) != threads && it_mono_ns() < until)
		usleep(50000);
	cr_assert_eq(sit_thread_count(s->p.pid), threads,
	             "serve still runs %d threads (%d of its own) 30 s after its clients left",
	             sit_thread_count(s->p.pid), threads);
	*fds = sit_fd_count(s->p.pid);
	*rss = sit_rss_kib(s->p.pid);
}

static void clean(void)
{
	sit_serve_kill_all();
	sit_remove_labelled(LABEL);
}

TestSuite(serve_load, .init = clean, .fini = clean, .timeout = 900);

Test(serve_load, sixteen_clients_hundred_updates_eight_containers)
{
	it_ensure_image();
	for (int i = 0; i < NCTR; i++) {
		char name[96];
		snprintf(name, sizeof(name), "cglat-sl-load%d-%d", i, (int)getpid());
		sit_run(&ctr[i], LABEL, name, sit_limit_opts);
	}
	struct sit_serve s;
	sit_serve_start(&s, "load", NULL);
	int own_threads = sit_thread_count(s.p.pid);

	/* The warm-up: the same clients, a few updates each. What serve allocates once
	 * (the cache entries, the connections to dockerd, malloc's arenas of its threads)
	 * is there before the measure. */
	static struct client cl[NCLIENT];
	int ok = run_clients(s.sock, -WARMUP, 0, cl);
	cr_assert_eq(ok, NCLIENT * WARMUP, "warm-up: %d of %d answered", ok, NCLIENT * WARMUP);
	int fds0, fds1;
	int64_t rss0, rss1;
	settle(&s, own_threads, &fds0, &rss0);

	uint64_t t0 = it_mono_ns();
	ok = run_clients(s.sock, 0, NUPD, cl);
	double wall = (double)(it_mono_ns() - t0) / 1e9;
	cr_assert_eq(ok, NCLIENT * NUPD, "%d of %d updates answered 2xx", ok, NCLIENT * NUPD);

	/* None lost on serve's side either: each one counted, recorded, none refused. */
	const int64_t total = NCLIENT * (NUPD + WARMUP);
	cr_expect_eq(sit_stat(s.sock, "updates"), total);
	cr_expect_eq(sit_stat(s.sock, "recorded"), total);
	cr_expect_eq(sit_stat(s.sock, "refused"), 0);
	cr_expect_eq(sit_stat(s.sock, "failed_records"), 0);
	cr_expect_eq(sit_stat(s.sock, "rolled_back"), 0);
	cr_expect_eq(sit_stat(s.sock, "pending_records"), 0);
	int64_t p50e = sit_stat_p50(s.sock, "received_to_enforced");
	int64_t p50r = sit_stat_p50(s.sock, "received_to_recorded");
	fprintf(stderr,
	        "serve_load: %d updates by %d clients in %.2f s (%.0f/s); received -> enforced "
	        "p50 %.1f us, received -> recorded p50 %.2f ms\n",
	        NCLIENT * NUPD, NCLIENT, wall, NCLIENT * NUPD / wall, (double)p50e / 1e3,
	        (double)p50r / 1e6);

	/* Kernel, Docker's record and the last value sent agree. */
	struct sit_limits want[NCTR];
	for (int i = 0; i < NCTR; i++)
		sit_record(ctr[i].name, &want[i]); /* fields nobody owns: as Docker has them */
	for (int k = 0; k < NCLIENT; k++)
		for (int j = 0; j < 2; j++) {
			int sl = 2 * k + j;
			*field_of(&want[slot_ctr(sl)], slot_field(sl)) = cl[k].last[j];
		}
	for (int i = 0; i < NCTR; i++) {
		struct sit_limits rec;
		sit_record(ctr[i].name, &rec);
		cr_expect(memcmp(&rec, &want[i], sizeof(rec)) == 0,
		          "%s: Docker's record %lld %lld %lld %lld, last sent %lld %lld %lld %lld",
		          ctr[i].name, (long long)rec.memory, (long long)rec.reservation,
		          (long long)rec.quota, (long long)rec.shares, (long long)want[i].memory,
		          (long long)want[i].reservation, (long long)want[i].quota,
		          (long long)want[i].shares);
		sit_assert_kernel(ctr[i].pid, &want[i], ctr[i].name);
	}

	settle(&s, own_threads, &fds1, &rss1);
	fprintf(stderr, "serve_load: serve fds %d -> %d, RSS %" PRId64 " -> %" PRId64 " KiB\n",
	        fds0, fds1, rss0, rss1);
	cr_expect_eq(fds1, fds0, "serve holds %d fds after the load, %d before", fds1, fds0);
	if (RSS_MEANS_SERVE)
		cr_expect(rss1 - rss0 <= RSS_TOLERANCE_KIB && rss0 - rss1 <= RSS_TOLERANCE_KIB,
		          "serve's RSS went from %" PRId64 " to %" PRId64 " KiB", rss0, rss1);
	char *err = NULL;
	cr_expect_eq(sit_serve_stop(&s, &err), 0, "serve: %s", err);
	free(err);
}
