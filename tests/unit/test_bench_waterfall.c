/* --waterfall: the stages of recorded docker and api samples (tests/fixtures/waterfall),
 * checked against what cglat computed in that run and against bounds the test finds
 * itself in the raw events; unknown stages; the report's rows, text, JSON, CSV and plot. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_waterfall.h"
#include "report.h"
#include "report_waterfall.h"
#include "waterfall_plot.h"

/* The docker and api paths' stages: the enum's first ones, those of the recorded runs'
 * `stages` lines (the serve paths' follow them in the enum). */
#define CHAIN_STAGES (WF_CLIENT_RETURN + 1)

/* ---- the recorded fixtures ------------------------------------------------------------ */

struct wf_fixture {
	struct wf_roles roles;
	struct wf_bounds_input in;
	struct cglat_wf_event *ev; /* in arrival order */
	size_t n;
	int64_t ns[WF_STAGE_COUNT], cpu_ns[WF_STAGE_COUNT]; /* the `stages` line */
	int64_t round_trip, daemon_to_write;
};

static void parse_stages(const char *line, struct wf_fixture *fx)
{
	const char *p = line + strlen("stages");
	for (int s = 0; s < CHAIN_STAGES; s++) {
		long long ns, cpu;
		int used;
		cr_assert_eq(sscanf(p, " %lld/%lld%n", &ns, &cpu, &used), 2, "stage %d: %s", s,
		             line);
		fx->ns[s] = ns;
		fx->cpu_ns[s] = cpu;
		p += used;
	}
	cr_assert_eq(strspn(p, " \n"), strlen(p), "more than %d stages: %s", CHAIN_STAGES, line);
}

static void parse_event(const char *line, struct wf_fixture *fx)
{
	struct cglat_wf_event ev = {0};
	unsigned long long ts, ts_end;
	cr_assert_eq(sscanf(line, "ev %u %u %u %d %llu %llu %u", &ev.kind, &ev.tgid, &ev.tid,
	                    &ev.fd, &ts, &ts_end, &ev.arg),
	             7, "%s", line);
	ev.ts = ts;
	ev.ts_end = ts_end;
	fx->ev = realloc(fx->ev, (fx->n + 1) * sizeof(*fx->ev));
	cr_assert_not_null(fx->ev);
	fx->ev[fx->n++] = ev;
}

static void load(const char *name, struct wf_fixture *fx)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/waterfall/%s", FIXTURES_DIR, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	memset(fx, 0, sizeof(*fx));
	char *line = NULL;
	size_t cap = 0;
	int roles = 0, sample = 0, stages = 0, totals = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned cli;
		unsigned long long t0, ret, recv, enter, exit_, rt, dtw;
		if (strncmp(line, "ev ", 3) == 0) {
			parse_event(line, fx);
		} else if (strncmp(line, "roles ", 6) == 0) {
			struct wf_roles *r = &fx->roles;
			cr_assert_eq(sscanf(line, "roles %u %u %u %u", &r->bench, &r->dockerd,
			                    &r->containerd, &r->shim),
			             4, "%s", line);
			roles++;
		} else if (strncmp(line, "sample ", 7) == 0) {
			struct wf_bounds_input *in = &fx->in;
			cr_assert_eq(sscanf(line, "sample %u %llu %llu %llu %llu %llu %d %u", &cli,
			                    &t0, &ret, &recv, &enter, &exit_, &in->recv_fd,
			                    &in->writer_tgid),
			             8, "%s", line);
			in->cli = cli;
			in->t0_ns = t0;
			in->t_return_ns = ret;
			in->recv_ns = recv;
			in->write_enter_ns = enter;
			in->write_exit_ns = exit_;
			sample++;
		} else if (strncmp(line, "stages ", 7) == 0) {
			parse_stages(line, fx);
			stages++;
		} else if (sscanf(line, "round_trip %llu daemon_to_write %llu", &rt, &dtw) == 2) {
			fx->round_trip = (int64_t)rt;
			fx->daemon_to_write = (int64_t)dtw;
			totals++;
		} else {
			cr_assert_fail("%s: a line of no known record: %s", name, line);
		}
	}
	free(line);
	fclose(f);
	cr_assert(roles == 1 && sample == 1 && stages == 1 && totals == 1,
	          "%s: roles %d sample %d stages %d round_trip %d", name, roles, sample, stages,
	          totals);
	cr_assert_gt(fx->n, 100, "%s: %zu events", name, fx->n);
	/* The recorded metrics are the sample's own timestamps' differences. */
	cr_assert_eq(fx->round_trip, (int64_t)(fx->in.t_return_ns - fx->in.t0_ns));
	cr_assert_eq(fx->daemon_to_write, (int64_t)(fx->in.write_exit_ns - fx->in.recv_ns));
}

static void fixture_free(struct wf_fixture *fx)
{
	free(fx->ev);
	fx->ev = NULL;
	fx->n = 0;
}

/* The fixture's events that keep() lets through, logged and sorted like bench's run. */
typedef bool (*keep_fn)(const struct cglat_wf_event *ev, const struct wf_fixture *fx);

static bool keep_all(const struct cglat_wf_event *ev, const struct wf_fixture *fx)
{
	(void)ev;
	(void)fx;
	return true;
}

static void compute_from(const struct wf_fixture *fx, const struct cglat_wf_event *ev, size_t n,
                         keep_fn keep, struct wf_sample *out)
{
	struct wf_log log = {0};
	for (size_t i = 0; i < n; i++)
		if (keep(&ev[i], fx))
			wf_log_add(&log, &ev[i]);
	wf_log_sort(&log);
	cr_assert_eq(log.dropped, 0);
	wf_compute(&log, &fx->roles, &fx->in, out);
	wf_log_free(&log);
}

static void compute(const struct wf_fixture *fx, keep_fn keep, struct wf_sample *out)
{
	compute_from(fx, fx->ev, fx->n, keep, out);
}

static bool applies(const struct wf_fixture *fx, int s)
{
	return fx->in.cli || (s != WF_SPAWN && s != WF_CLIENT_START);
}

static const char *const fixtures[] = {"docker_memory.txt", "api_memory.txt"};
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* ---- the stages of the recorded samples ------------------------------------------------ */

Test(bench_waterfall, every_applicable_stage_is_known_and_the_sums_are_exact)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample w;
		compute(&fx, keep_all, &w);
		cr_assert(w.computed);
		int64_t sum = 0, daemon = 0;
		for (int s = 0; s < CHAIN_STAGES; s++) {
			if (!applies(&fx, s)) {
				cr_expect_eq(w.ns[s], WF_NA, "%s: %s", fixtures[f],
				             wf_stage_name((enum wf_stage)s));
				cr_expect_eq(w.cpu_ns[s], WF_NA);
				continue;
			}
			cr_expect_geq(w.ns[s], 0, "%s: %s is %lld", fixtures[f],
			              wf_stage_name((enum wf_stage)s), (long long)w.ns[s]);
			sum += w.ns[s];
			if (s >= WF_DOCKERD && s <= WF_KERNEL)
				daemon += w.ns[s];
		}
		cr_expect_eq(sum, fx.round_trip, "%s: stages sum to %lld, round trip %lld",
		             fixtures[f], (long long)sum, (long long)fx.round_trip);
		cr_expect_eq(daemon, fx.daemon_to_write,
		             "%s: dockerd..kernel write sum to %lld, daemon_to_write %lld",
		             fixtures[f], (long long)daemon, (long long)fx.daemon_to_write);
		bool complete = false;
		cr_expect_eq(wf_sum(&w, &complete), fx.round_trip);
		cr_expect(complete, "%s", fixtures[f]);
		fixture_free(&fx);
	}
}

Test(bench_waterfall, stages_are_what_cglat_computed_in_the_recorded_run)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample w;
		compute(&fx, keep_all, &w);
		for (int s = 0; s < CHAIN_STAGES; s++) {
			cr_expect_eq(w.ns[s], fx.ns[s], "%s: %s %lld ns, recorded %lld",
			             fixtures[f], wf_stage_name((enum wf_stage)s),
			             (long long)w.ns[s], (long long)fx.ns[s]);
			cr_expect_eq(w.cpu_ns[s], fx.cpu_ns[s],
			             "%s: %s on a CPU %lld, recorded %lld", fixtures[f],
			             wf_stage_name((enum wf_stage)s), (long long)w.cpu_ns[s],
			             (long long)fx.cpu_ns[s]);
		}
		fixture_free(&fx);
	}
}

/* ---- bounds the test finds itself, in the raw events ----------------------------------- */

/* The earliest event in [from, until] that is of kind, tgid (0: any) and arg (0: any),
 * by a plain scan of the unsorted events; 0: none. */
static uint64_t earliest(const struct wf_fixture *fx, uint32_t kind, uint32_t tgid, uint32_t arg,
                         uint64_t from, uint32_t *arg_out)
{
	uint64_t best = 0;
	for (size_t i = 0; i < fx->n; i++) {
		const struct cglat_wf_event *e = &fx->ev[i];
		if (e->kind != kind || (tgid && e->tgid != tgid) || (arg && e->arg != arg) ||
		    e->ts < from || e->ts > fx->in.t_return_ns)
			continue;
		if (!best || e->ts < best) {
			best = e->ts;
			if (arg_out)
				*arg_out = e->arg;
		}
	}
	return best;
}

Test(bench_waterfall, dockerd_stage_ends_at_its_first_send_to_containerd)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		uint64_t send = earliest(&fx, CGLAT_WF_SEND, fx.roles.dockerd,
		                         CGLAT_WF_FD_CONTAINERD, fx.in.recv_ns, NULL);
		cr_assert_gt(send, 0, "%s: no send of dockerd to containerd", fixtures[f]);
		struct wf_sample w;
		compute(&fx, keep_all, &w);
		cr_expect_eq(w.ns[WF_DOCKERD], (int64_t)(send - fx.in.recv_ns), "%s", fixtures[f]);
		cr_expect_eq(w.ns[WF_KERNEL], (int64_t)(fx.in.write_exit_ns - fx.in.write_enter_ns),
		             "%s", fixtures[f]);
		fixture_free(&fx);
	}
}

/* The docker CLI: bench's first fork after T0, and the child's exec. */
static uint64_t cli_exec(const struct wf_fixture *fx, uint32_t *cli)
{
	uint64_t fork = earliest(fx, CGLAT_WF_FORK, fx->roles.bench, 0, fx->in.t0_ns, cli);
	cr_assert_gt(fork, 0, "no fork of bench after T0");
	uint64_t exec = earliest(fx, CGLAT_WF_EXEC, *cli, 0, fork, NULL);
	cr_assert_gt(exec, 0, "no exec of bench's child %u", *cli);
	return exec;
}

Test(bench_waterfall, spawn_is_t0_to_the_exec_of_the_child_bench_forked)
{
	struct wf_fixture fx;
	load("docker_memory.txt", &fx);
	uint32_t cli = 0;
	uint64_t exec = cli_exec(&fx, &cli);
	struct wf_sample w;
	compute(&fx, keep_all, &w);
	cr_expect_eq(w.ns[WF_SPAWN], (int64_t)(exec - fx.in.t0_ns));
	/* The request leaves on the CLI's first send on its connection to dockerd. */
	uint64_t send = earliest(&fx, CGLAT_WF_SEND, cli, CGLAT_WF_FD_CONNECTED, exec, NULL);
	cr_assert_gt(send, 0);
	cr_expect_eq(w.ns[WF_CLIENT_START], (int64_t)(send - exec));
	cr_expect_eq(w.ns[WF_REQUEST], (int64_t)(fx.in.recv_ns - send));
	fixture_free(&fx);
}

static bool in_chain(const struct wf_fixture *fx, uint32_t cli, uint32_t tgid)
{
	const struct wf_roles *r = &fx->roles;
	return tgid == r->bench || tgid == r->dockerd || tgid == r->containerd || tgid == r->shim ||
	       (cli && tgid == cli) || tgid == fx->in.writer_tgid;
}

Test(bench_waterfall, cpu_ns_is_the_chain_on_a_cpu_within_each_stage)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample w;
		compute(&fx, keep_all, &w);
		uint32_t cli = 0;
		if (fx.in.cli)
			cli_exec(&fx, &cli);
		/* The stages are consecutive from T0: their bounds from their lengths. */
		uint64_t lo = fx.in.t0_ns;
		for (int s = 0; s < CHAIN_STAGES; s++) {
			if (!applies(&fx, s))
				continue;
			cr_assert_geq(w.ns[s], 0);
			uint64_t hi = lo + (uint64_t)w.ns[s];
			int64_t cpu = 0;
			for (size_t i = 0; i < fx.n; i++) {
				const struct cglat_wf_event *e = &fx.ev[i];
				if (e->kind != CGLAT_WF_ONCPU || !in_chain(&fx, cli, e->tgid))
					continue;
				uint64_t a = e->ts > lo ? e->ts : lo;
				uint64_t b = e->ts_end < hi ? e->ts_end : hi;
				if (b > a)
					cpu += (int64_t)(b - a);
			}
			cr_expect_eq(w.cpu_ns[s], cpu, "%s: %s on a CPU %lld, the test finds %lld",
			             fixtures[f], wf_stage_name((enum wf_stage)s),
			             (long long)w.cpu_ns[s], (long long)cpu);
			lo = hi;
		}
		cr_expect_eq(lo, fx.in.t_return_ns);
		fixture_free(&fx);
	}
}

/* ---- order independence ---------------------------------------------------------------- */

static uint64_t lcg(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return *state >> 33;
}

Test(bench_waterfall, shuffled_events_give_the_same_stages)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample want;
		compute(&fx, keep_all, &want);
		struct cglat_wf_event *ev = malloc(fx.n * sizeof(*ev));
		cr_assert_not_null(ev);
		memcpy(ev, fx.ev, fx.n * sizeof(*ev));
		uint64_t seed = 0x5eed;
		for (int round = 0; round < 5; round++) {
			for (size_t i = fx.n - 1; i > 0; i--) {
				size_t j = (size_t)(lcg(&seed) % (i + 1));
				struct cglat_wf_event t = ev[i];
				ev[i] = ev[j];
				ev[j] = t;
			}
			struct wf_sample got;
			compute_from(&fx, ev, fx.n, keep_all, &got);
			cr_expect(got.computed);
			for (int s = 0; s < CHAIN_STAGES; s++) {
				cr_expect_eq(got.ns[s], want.ns[s], "%s round %d: %s", fixtures[f],
				             round, wf_stage_name((enum wf_stage)s));
				cr_expect_eq(got.cpu_ns[s], want.cpu_ns[s], "%s round %d: %s",
				             fixtures[f], round, wf_stage_name((enum wf_stage)s));
			}
		}
		free(ev);
		fixture_free(&fx);
	}
}

/* ---- unknown, never guessed ------------------------------------------------------------ */

static bool keep_no_send_to_containerd(const struct cglat_wf_event *ev, const struct wf_fixture *fx)
{
	(void)fx;
	return !(ev->kind == CGLAT_WF_SEND && ev->arg == CGLAT_WF_FD_CONTAINERD);
}

static bool keep_no_runtime_exit(const struct cglat_wf_event *ev, const struct wf_fixture *fx)
{
	return !(ev->kind == CGLAT_WF_EXIT && ev->tgid == fx->in.writer_tgid);
}

/* Only the stages in unknown[] are unknown, ns and cpu_ns; the others are as with every
 * event; wf_sum says the sample is incomplete and sums the rest. */
static void expect_only_unknown(const char *what, keep_fn keep, const int *unknown, size_t nunknown)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample all, w;
		compute(&fx, keep_all, &all);
		compute(&fx, keep, &w);
		cr_assert(w.computed);
		int64_t rest = 0;
		for (int s = 0; s < CHAIN_STAGES; s++) {
			bool lost = false;
			for (size_t k = 0; k < nunknown; k++)
				lost = lost || unknown[k] == s;
			const char *name = wf_stage_name((enum wf_stage)s);
			if (lost) {
				cr_expect_eq(w.ns[s], WF_UNKNOWN, "%s, %s: %s is %lld", what,
				             fixtures[f], name, (long long)w.ns[s]);
				cr_expect_eq(w.cpu_ns[s], WF_UNKNOWN, "%s, %s: %s on a CPU %lld",
				             what, fixtures[f], name, (long long)w.cpu_ns[s]);
				continue;
			}
			cr_expect_eq(w.ns[s], all.ns[s], "%s, %s: %s is %lld, not %lld", what,
			             fixtures[f], name, (long long)w.ns[s], (long long)all.ns[s]);
			cr_expect_eq(w.cpu_ns[s], all.cpu_ns[s],
			             "%s, %s: %s on a CPU %lld, not %lld", what, fixtures[f], name,
			             (long long)w.cpu_ns[s], (long long)all.cpu_ns[s]);
			if (w.ns[s] >= 0)
				rest += w.ns[s];
		}
		bool complete = true;
		cr_expect_eq(wf_sum(&w, &complete), rest);
		cr_expect_not(complete, "%s, %s", what, fixtures[f]);
		fixture_free(&fx);
	}
}

Test(bench_waterfall, no_send_to_containerd_leaves_dockerd_and_containerd_unknown)
{
	static const int lost[] = {WF_DOCKERD, WF_CONTAINERD};
	expect_only_unknown("no send to containerd", keep_no_send_to_containerd, lost, 2);
}

Test(bench_waterfall, no_exit_of_the_runtime_leaves_its_exit_and_the_reply_unknown)
{
	static const int lost[] = {WF_RUNTIME_EXIT, WF_REPLY};
	expect_only_unknown("no exit of the runtime", keep_no_runtime_exit, lost, 2);
}

Test(bench_waterfall, a_sample_without_its_daemon_timestamps_has_those_stages_unknown)
{
	struct wf_fixture fx;
	load("api_memory.txt", &fx);
	fx.in.recv_ns = 0;
	struct wf_sample w;
	compute(&fx, keep_all, &w);
	cr_expect_eq(w.ns[WF_REQUEST], WF_UNKNOWN);
	cr_expect_eq(w.ns[WF_DOCKERD], WF_UNKNOWN);
	cr_expect_eq(w.ns[WF_SPAWN], WF_NA);
	bool complete = true;
	wf_sum(&w, &complete);
	cr_expect_not(complete);
	fixture_free(&fx);
}

/* ---- the chain's time on a CPU ---------------------------------------------------------- */

static bool keep_no_oncpu(const struct cglat_wf_event *ev, const struct wf_fixture *fx)
{
	(void)fx;
	return ev->kind != CGLAT_WF_ONCPU;
}

Test(bench_waterfall, cpu_ns_is_zero_without_oncpu_events_and_ignores_other_processes)
{
	for (size_t f = 0; f < NFIXTURES; f++) {
		struct wf_fixture fx;
		load(fixtures[f], &fx);
		struct wf_sample all, none;
		compute(&fx, keep_all, &all);
		compute(&fx, keep_no_oncpu, &none);
		for (int s = 0; s < CHAIN_STAGES; s++) {
			if (all.ns[s] < 0)
				continue;
			cr_expect_geq(all.cpu_ns[s], 0, "%s: %s", fixtures[f],
			              wf_stage_name((enum wf_stage)s));
			cr_expect_eq(none.ns[s], all.ns[s]);
			cr_expect_eq(none.cpu_ns[s], 0, "%s: %s on a CPU %lld without ONCPU events",
			             fixtures[f], wf_stage_name((enum wf_stage)s),
			             (long long)none.cpu_ns[s]);
		}
		/* A process outside the chain on a CPU the whole sample long. */
		uint32_t stranger = 4000000;
		while (in_chain(&fx, 0, stranger))
			stranger++;
		struct cglat_wf_event other = {.kind = CGLAT_WF_ONCPU,
		                               .tgid = stranger,
		                               .tid = stranger,
		                               .fd = -1,
		                               .ts = fx.in.t0_ns - 1000,
		                               .ts_end = fx.in.t_return_ns + 1000};
		fx.ev = realloc(fx.ev, (fx.n + 1) * sizeof(*fx.ev));
		cr_assert_not_null(fx.ev);
		fx.ev[fx.n++] = other;
		struct wf_sample with;
		compute(&fx, keep_all, &with);
		cr_expect(memcmp(with.ns, all.ns, sizeof(all.ns)) == 0, "%s", fixtures[f]);
		cr_expect(memcmp(with.cpu_ns, all.cpu_ns, sizeof(all.cpu_ns)) == 0,
		          "%s: another process's time on a CPU counted", fixtures[f]);
		fixture_free(&fx);
	}
}

Test(bench_waterfall, stage_names_are_distinct)
{
	for (int s = 0; s < CHAIN_STAGES; s++) {
		const char *name = wf_stage_name((enum wf_stage)s);
		cr_expect(name[0] && strcmp(name, "?") != 0, "stage %d", s);
		cr_expect(strcmp(wf_stage_end((enum wf_stage)s), "?") != 0, "stage %d", s);
		for (int t = 0; t < s; t++)
			cr_expect_str_neq(name, wf_stage_name((enum wf_stage)t));
	}
	cr_expect_str_eq(wf_stage_name(WF_STAGE_COUNT), "?");
	cr_expect_str_eq(wf_stage_name(WF_SPAWN), "spawn");
	cr_expect_str_eq(wf_stage_name(WF_KERNEL), "kernel write");
}

/* ---- the report ------------------------------------------------------------------------ */

static void add_sample(struct bench_result *res, const struct wf_fixture *fx, enum sample_path path,
                       const struct wf_sample *wf, bool valid)
{
	if (res->count == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 16;
		res->samples = realloc(res->samples, res->cap * sizeof(*res->samples));
		cr_assert_not_null(res->samples);
	}
	struct sample *s = &res->samples[res->count];
	memset(s, 0, sizeof(*s));
	s->iteration = (int)res->count++;
	s->path = path;
	s->resource = CG_RES_MEMORY;
	s->value = 268435456;
	snprintf(s->expected, sizeof(s->expected), "268435456");
	s->t0_ns = fx->in.t0_ns;
	s->t_return_ns = fx->in.t_return_ns;
	s->recv_ns = fx->in.recv_ns;
	s->recv_fd = fx->in.recv_fd;
	s->write_enter_ns = fx->in.write_enter_ns;
	s->write_exit_ns = fx->in.write_exit_ns;
	s->write_ret = 9;
	s->writer_tgid = fx->in.writer_tgid;
	snprintf(s->writer_comm, sizeof(s->writer_comm), "runc:[2:INIT]");
	s->valid = valid;
	if (valid)
		snprintf(s->seen, sizeof(s->seen), "268435456");
	else
		snprintf(s->invalid_reason, sizeof(s->invalid_reason), "no write seen");
	if (wf)
		s->wf = *wf;
}

/* A result of a waterfall run: docker and api memory samples with the fixtures' stages
 * (one docker sample missing its shim stage), an invalid docker sample and a direct one. */
struct report_fixture {
	struct wf_fixture docker, api;
	struct wf_sample docker_wf, api_wf;
	struct bench_result res;
};

static void report_make(struct report_fixture *r)
{
	memset(r, 0, sizeof(*r));
	load("docker_memory.txt", &r->docker);
	load("api_memory.txt", &r->api);
	compute(&r->docker, keep_all, &r->docker_wf);
	compute(&r->api, keep_all, &r->api_wf);
	r->res.waterfall = true;
	for (int i = 0; i < 3; i++) {
		add_sample(&r->res, &r->docker, SAMPLE_DOCKER, &r->docker_wf, true);
		add_sample(&r->res, &r->api, SAMPLE_API, &r->api_wf, true);
	}
	struct wf_sample no_shim = r->docker_wf;
	no_shim.ns[WF_SHIM] = no_shim.cpu_ns[WF_SHIM] = WF_UNKNOWN;
	add_sample(&r->res, &r->docker, SAMPLE_DOCKER, &no_shim, true);
	/* Far off, and invalid: it must count nowhere. */
	struct wf_sample bad = r->docker_wf;
	bad.ns[WF_DOCKERD] *= 1000;
	add_sample(&r->res, &r->docker, SAMPLE_DOCKER, &bad, false);
	add_sample(&r->res, &r->docker, SAMPLE_DIRECT, NULL, true);
}

static void report_free(struct report_fixture *r)
{
	free(r->res.samples);
	fixture_free(&r->docker);
	fixture_free(&r->api);
}

static char *wf_text(const struct bench_result *res)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	report_wf_text(out, res);
	fclose(out);
	return text;
}

Test(report_waterfall, one_row_per_path_and_shares_of_the_stages_sum_to_one)
{
	struct report_fixture r;
	report_make(&r);
	struct wf_row rows[WF_MAX_ROWS];
	size_t n = report_wf_rows(&r.res, rows);
	cr_assert_eq(n, 2);
	cr_expect_eq(rows[0].path, SAMPLE_DOCKER);
	cr_expect_eq(rows[1].path, SAMPLE_API);
	const struct wf_sample *wf[] = {&r.docker_wf, &r.api_wf};
	const struct wf_fixture *fx[] = {&r.docker, &r.api};
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(rows[i].resource, CG_RES_MEMORY);
		double shares = 0;
		for (int k = 0; k < CHAIN_STAGES; k++) {
			const struct wf_stage_row *s = &rows[i].stage[k];
			cr_expect_eq(s->applies, applies(fx[i], k), "row %zu: %s", i,
			             wf_stage_name((enum wf_stage)k));
			if (!s->applies)
				continue;
			shares += s->share;
			/* Every sample of the row has the same stages: their p50 is them. */
			cr_expect_eq(s->p50_ns, (double)wf[i]->ns[k], "row %zu: %s", i,
			             wf_stage_name((enum wf_stage)k));
			cr_expect_eq(s->cpu_p50_ns, (double)wf[i]->cpu_ns[k]);
			cr_expect_float_eq(s->share, (double)wf[i]->ns[k] / fx[i]->round_trip,
			                   1e-9);
		}
		cr_expect_float_eq(shares, 1.0, 1e-9, "row %zu: shares sum to %.12f", i, shares);
		cr_expect_eq(rows[i].round_trip_p50_ns, (double)fx[i]->round_trip);
	}
	report_free(&r);
}

Test(report_waterfall, a_sample_with_an_unknown_stage_lowers_complete_not_samples)
{
	struct report_fixture r;
	report_make(&r);
	struct wf_row rows[WF_MAX_ROWS];
	cr_assert_eq(report_wf_rows(&r.res, rows), 2);
	cr_expect_eq(rows[0].samples, 4); /* the invalid one is not counted */
	cr_expect_eq(rows[0].complete, 3);
	cr_expect_eq(rows[0].stage[WF_SHIM].n, 3);
	cr_expect_eq(rows[0].stage[WF_DOCKERD].n, 4);
	cr_expect_eq(rows[1].samples, 3);
	cr_expect_eq(rows[1].complete, 3);
	cr_expect_eq(rows[1].stage[WF_SPAWN].n, 0);
	/* Without --waterfall there are no rows. */
	r.res.waterfall = false;
	cr_expect_eq(report_wf_rows(&r.res, rows), 0);
	report_free(&r);
}

Test(report_waterfall, text_has_each_stage_and_where_most_time_goes)
{
	struct report_fixture r;
	report_make(&r);
	char *text = wf_text(&r.res);
	cr_assert(strstr(text, "waterfall: docker memory, 4 samples, every stage seen in 3"), "%s",
	          text);
	cr_assert(strstr(text, "waterfall: api memory, 3 samples, every stage seen in 3"), "%s",
	          text);
	for (int k = 0; k < CHAIN_STAGES; k++) {
		char line[64];
		snprintf(line, sizeof(line), "\n  %-16s ", wf_stage_name((enum wf_stage)k));
		cr_expect(strstr(text, line), "no line for %s: %s", line, text);
	}
	/* docker: the CLI's start-up is the longest stage; api: the runtime. */
	cr_expect(strstr(text, "docker memory: most time in \"client start-up\""), "%s", text);
	cr_expect(strstr(text, "api memory: most time in \"runtime\""), "%s", text);
	cr_expect_null(strstr(text, "unknown"), "%s", text);
	free(text);
	report_free(&r);
}

Test(report_waterfall, text_says_unknown_for_a_stage_never_seen)
{
	struct report_fixture r;
	report_make(&r);
	for (size_t i = 0; i < r.res.count; i++)
		if (r.res.samples[i].path == SAMPLE_API)
			r.res.samples[i].wf.ns[WF_REPLY] = r.res.samples[i].wf.cpu_ns[WF_REPLY] =
			        WF_UNKNOWN;
	char *text = wf_text(&r.res);
	cr_assert(strstr(text, "waterfall: api memory, 3 samples, every stage seen in 0"), "%s",
	          text);
	const char *api = strstr(text, "waterfall: api memory");
	cr_assert_not_null(api);
	const char *reply = strstr(api, "\n  reply ");
	cr_assert_not_null(reply, "%s", text);
	const char *eol = strchr(reply + 1, '\n');
	const char *unknown = strstr(reply, "unknown");
	cr_expect(unknown && eol && unknown < eol, "%s", text);
	/* The docker row has every stage seen; no verdict for api's, which has none complete. */
	const char *docker = strstr(text, "waterfall: docker memory");
	cr_assert_not_null(docker);
	cr_expect(strstr(docker, "unknown") > api, "%s", text);
	cr_expect_null(strstr(text, "api memory: most time in"), "%s", text);
	free(text);
	report_free(&r);
}

Test(report_waterfall, json_has_each_row_and_its_stages)
{
	struct report_fixture r;
	report_make(&r);
	json_t *a = report_wf_json(&r.res);
	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a), 2);
	json_t *docker = json_array_get(a, 0), *api = json_array_get(a, 1);
	cr_expect_str_eq(json_string_value(json_object_get(docker, "path")), "docker");
	cr_expect_str_eq(json_string_value(json_object_get(docker, "resource")), "memory");
	cr_expect_eq(json_integer_value(json_object_get(docker, "samples")), 4);
	cr_expect_eq(json_integer_value(json_object_get(docker, "complete")), 3);
	cr_expect_str_eq(json_string_value(json_object_get(api, "path")), "api");
	json_t *ds = json_object_get(docker, "stages"), *as = json_object_get(api, "stages");
	cr_assert(json_is_array(ds) && json_is_array(as));
	cr_expect_eq(json_array_size(ds), CHAIN_STAGES);
	cr_expect_eq(json_array_size(as), CHAIN_STAGES - 2); /* no CLI */
	double shares = 0;
	for (size_t i = 0; i < json_array_size(ds); i++) {
		json_t *s = json_array_get(ds, i);
		cr_expect_str_eq(json_string_value(json_object_get(s, "stage")),
		                 wf_stage_name((enum wf_stage)i));
		cr_expect(json_is_real(json_object_get(s, "p50_ns")));
		cr_expect(json_is_real(json_object_get(s, "share")));
		cr_expect(json_is_string(json_object_get(s, "ends_at")));
		shares += json_real_value(json_object_get(s, "share"));
	}
	cr_expect_float_eq(shares, 1.0, 1e-9);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(as, 0), "stage")),
	                 "request");
	cr_expect_eq(json_real_value(json_object_get(json_array_get(ds, WF_DOCKERD), "p50_ns")),
	             (double)r.docker_wf.ns[WF_DOCKERD]);
	json_decref(a);
	/* Without --waterfall: null. */
	r.res.waterfall = false;
	json_t *none = report_wf_json(&r.res);
	cr_expect(json_is_null(none));
	json_decref(none);
	report_free(&r);
}

/* ---- the plot script ------------------------------------------------------------------- */

static char *plot_script(const char *path, const struct wf_row *rows, size_t n, int *rc,
                         struct cg_err *err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	memset(err, 0, sizeof(*err));
	*rc = waterfall_plot_script(out, path, rows, n, err);
	fclose(out);
	return text;
}

Test(report_waterfall, plot_script_draws_a_panel_per_row)
{
	struct report_fixture r;
	report_make(&r);
	struct wf_row rows[WF_MAX_ROWS];
	size_t n = report_wf_rows(&r.res, rows);
	cr_assert_eq(n, 2);
	struct cg_err err;
	int rc;
	char *text = plot_script("/tmp/wf.png", rows, n, &rc, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_expect(strstr(text, "set terminal pngcairo"), "%s", text);
	cr_expect(strstr(text, "set output '/tmp/wf.png'"), "%s", text);
	cr_expect(strstr(text, "set multiplot layout 2,1"), "%s", text);
	cr_expect(strstr(text, "$d0 << EOD\n"), "%s", text);
	cr_expect(strstr(text, "$d1 << EOD\n"), "%s", text);
	cr_expect_null(strstr(text, "$d2 << EOD"), "%s", text);
	cr_expect(strstr(text, "boxxyerror"), "%s", text);
	cr_expect(strstr(text, "set title 'docker memory: 4 samples, every stage seen in 3'"), "%s",
	          text);
	/* The docker panel's first bar: spawn, from 0 to its p50 in ms, then its on-CPU p50. */
	char bar[128];
	snprintf(bar, sizeof(bar), "0 \"spawn\" 0.000000 %.6f %.6f\n",
	         r.docker_wf.ns[WF_SPAWN] / 1e6, r.docker_wf.cpu_ns[WF_SPAWN] / 1e6);
	cr_expect(strstr(text, bar), "no %s in %s", bar, text);
	/* api's panel starts at the request: it has no CLI stages. */
	const char *api = strstr(text, "$d1 << EOD\n");
	cr_assert_not_null(api);
	cr_expect(strncmp(api + strlen("$d1 << EOD\n"), "0 \"request\" 0.000000 ", 21) == 0, "%s",
	          api);
	cr_expect(strstr(text, "unset multiplot\n"));
	free(text);

	text = plot_script("/tmp/WF.SVG", rows, 1, &rc, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_expect(strstr(text, "set terminal svg"), "%s", text);
	cr_expect(strstr(text, "set multiplot layout 1,1"), "%s", text);
	cr_expect_null(strstr(text, "$d1 << EOD"), "%s", text);
	free(text);
	report_free(&r);
}

Test(report_waterfall, plot_script_refuses_other_formats_quotes_and_no_rows)
{
	struct report_fixture r;
	report_make(&r);
	struct wf_row rows[WF_MAX_ROWS];
	size_t n = report_wf_rows(&r.res, rows);
	struct cg_err err;
	int rc;
	free(plot_script("/tmp/wf.jpg", rows, n, &rc, &err));
	cr_expect_neq(rc, 0);
	cr_expect(strstr(err.msg, "/tmp/wf.jpg") && strstr(err.msg, ".png"), "%s", err.msg);
	free(plot_script("/tmp/it's.png", rows, n, &rc, &err));
	cr_expect_neq(rc, 0);
	cr_expect(strstr(err.msg, "single quote"), "%s", err.msg);
	free(plot_script("/tmp/a\nb.png", rows, n, &rc, &err));
	cr_expect_neq(rc, 0);
	free(plot_script("/tmp/wf.png", rows, 0, &rc, &err));
	cr_expect_neq(rc, 0);
	cr_expect(strstr(err.msg, "no docker or api sample"), "%s", err.msg);
	report_free(&r);
}

/* ---- CSV -------------------------------------------------------------------------------- */

static size_t count_lines(const char *text, const char *prefix)
{
	size_t n = 0;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

Test(report_waterfall, csv_has_a_row_per_stage_of_a_sample_with_stages)
{
	struct wf_fixture fx;
	load("docker_memory.txt", &fx);
	struct wf_sample wf;
	compute(&fx, keep_all, &wf);
	struct bench_result res = {.waterfall = true};
	add_sample(&res, &fx, SAMPLE_DOCKER, &wf, true);
	add_sample(&res, &fx, SAMPLE_DIRECT, NULL, true);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	cr_assert_eq(report_csv(out, &res), 0);
	fclose(out);
	const char *eol = strchr(text, '\n');
	cr_assert_not_null(eol);
	size_t hl = (size_t)(eol - text), tl = strlen(REPORT_WF_CSV_HEADER);
	cr_expect(hl > tl && strncmp(eol - tl, ",stage,stage_ns,stage_cpu_ns", tl) == 0, "%s",
	          text);
	cr_expect_eq(count_lines(text, "0,docker,memory,"), CHAIN_STAGES, "%s", text);
	cr_expect_eq(count_lines(text, "1,direct,memory,"), 1, "%s", text);
	cr_expect_eq(count_lines(text, ""), 1 + CHAIN_STAGES + 1, "%s", text);
	for (int k = 0; k < CHAIN_STAGES; k++) {
		char row[96];
		snprintf(row, sizeof(row), ",\"%s\",%lld,%lld\n", wf_stage_name((enum wf_stage)k),
		         (long long)wf.ns[k], (long long)wf.cpu_ns[k]);
		cr_expect(strstr(text, row), "no %s in %s", row, text);
	}
	/* The direct sample: one row, its stage columns empty. */
	const char *direct = strstr(text, "\n1,direct,memory,");
	cr_assert_not_null(direct);
	const char *end = strchr(direct + 1, '\n');
	cr_assert_not_null(end);
	cr_expect(end - direct > 6 && strncmp(end - 5, ",\"\",,\n", 6) == 0, "%s", direct);
	free(text);
	free(res.samples);
	fixture_free(&fx);
}

/* ---- the serve paths ------------------------------------------------------------------ */

Test(bench_waterfall, each_path_has_its_stages_in_order)
{
	const enum wf_stage *seq;
	cr_expect_eq(wf_stages_of(true, false, &seq), 12);
	cr_expect_eq(seq[0], WF_SPAWN);
	cr_expect_eq(seq[11], WF_CLIENT_RETURN);
	cr_expect_eq(wf_stages_of(false, false, &seq), 10);
	cr_expect_eq(seq[0], WF_REQUEST);
	static const enum wf_stage serve[] = {WF_SPAWN,  WF_CLIENT_START, WF_REQUEST,      WF_SERVE,
	                                      WF_KERNEL, WF_RECORD,       WF_CLIENT_RETURN};
	cr_assert_eq(wf_stages_of(true, true, &seq), 7);
	for (int i = 0; i < 7; i++)
		cr_expect_eq(seq[i], serve[i], "stage %d", i);
	cr_assert_eq(wf_stages_of(false, true, &seq), 5);
	cr_expect_eq(seq[0], WF_REQUEST);
	cr_expect_eq(seq[4], WF_CLIENT_RETURN);
}

/* A serve-api sample made by hand: serve (tgid 50) receives on fd 7 at 1100, writes the
 * file 1150..1160, dockerd records (its runc, forked by the shim, runs on a CPU), serve
 * begins its reply on fd 7 at 9000, bench returns at 9100. */
Test(bench_waterfall, a_serve_api_sample_ends_its_record_at_serves_reply)
{
	const struct wf_roles roles = {
	        .bench = 10, .dockerd = 20, .containerd = 30, .shim = 40, .serve = 50};
	struct wf_log log = {0};
	const struct cglat_wf_event ev[] = {
	        {.kind = CGLAT_WF_SEND,
	         .tgid = 50,
	         .tid = 51,
	         .fd = 9,
	         .ts = 1200,
	         .ts_end = 1200,
	         .arg = CGLAT_WF_FD_CONNECTED}, /* to dockerd: not the reply */
	        {.kind = CGLAT_WF_FORK,
	         .tgid = 40,
	         .tid = 41,
	         .fd = -1,
	         .ts = 2000,
	         .ts_end = 2000,
	         .arg = 60},
	        {.kind = CGLAT_WF_ONCPU,
	         .tgid = 60,
	         .tid = 60,
	         .fd = -1,
	         .ts = 3000,
	         .ts_end = 7000},
	        {.kind = CGLAT_WF_SEND,
	         .tgid = 50,
	         .tid = 52,
	         .fd = 8,
	         .ts = 8000,
	         .ts_end = 8000,
	         .arg = CGLAT_WF_FD_CLIENT}, /* another client's connection */
	        {.kind = CGLAT_WF_SEND,
	         .tgid = 50,
	         .tid = 52,
	         .fd = 7,
	         .ts = 9000,
	         .ts_end = 9000,
	         .arg = CGLAT_WF_FD_CLIENT},
	};
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		wf_log_add(&log, &ev[i]);
	wf_log_sort(&log);
	const struct wf_bounds_input in = {.cli = false,
	                                   .serve = true,
	                                   .t0_ns = 1000,
	                                   .t_return_ns = 9100,
	                                   .recv_ns = 1100,
	                                   .write_enter_ns = 1150,
	                                   .write_exit_ns = 1160,
	                                   .recv_fd = 7,
	                                   .writer_tgid = 50};
	struct wf_sample w;
	wf_compute(&log, &roles, &in, &w);
	cr_expect_eq(w.ns[WF_REQUEST], 100);
	cr_expect_eq(w.ns[WF_SERVE], 50);
	cr_expect_eq(w.ns[WF_KERNEL], 10);
	cr_expect_eq(w.ns[WF_RECORD], 9000 - 1160);
	cr_expect_eq(w.ns[WF_CLIENT_RETURN], 100);
	cr_expect_eq(w.ns[WF_DOCKERD], WF_NA);
	cr_expect_eq(w.ns[WF_SPAWN], WF_NA);
	/* The record's runc, forked by the shim in the sample, counts as the chain's. */
	cr_expect_eq(w.cpu_ns[WF_RECORD], 4000);
	bool complete;
	cr_expect_eq(wf_sum(&w, &complete), 9100 - 1000);
	cr_expect(complete);
	wf_log_free(&log);
}

Test(report_waterfall, plot_draws_a_serve_rows_stages_in_their_order)
{
	struct wf_row row = {
	        .path = SAMPLE_SERVE, .resource = CG_RES_MEMORY, .samples = 1, .complete = 1};
	const enum wf_stage *seq;
	size_t n = sample_path_stages(SAMPLE_SERVE, &seq);
	for (size_t i = 0; i < n; i++)
		row.stage[seq[i]] = (struct wf_stage_row){
		        .applies = true, .n = 1, .p50_ns = 1e6 * (double)(i + 1), .share = 0.1};
	int rc;
	struct cg_err err;
	char *text = plot_script("/tmp/wf.svg", &row, 1, &rc, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	static const char *const want[] = {"spawn",        "client start-up", "request",
	                                   "serve",        "kernel write",    "record",
	                                   "client return"};
	const char *at = text;
	for (size_t i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof(line), "%zu \"%s\" ", i, want[i]);
		const char *p = strstr(at, line);
		cr_assert_not_null(p, "no %s after the stage before, in %s", line, text);
		at = p;
	}
	free(text);
}

/* A send to containerd after the write began is another call's, not this update's first:
 * the stages it would bound stay unknown. */
Test(bench_waterfall, a_bound_is_never_sought_past_the_next_timestamp_of_the_sample)
{
	const struct wf_roles roles = {.bench = 10, .dockerd = 20, .containerd = 30, .shim = 40};
	struct wf_log log = {0};
	const struct cglat_wf_event ev[] = {
	        {.kind = CGLAT_WF_SEND,
	         .tgid = 20,
	         .fd = 9,
	         .ts = 5000,
	         .ts_end = 5000,
	         .arg = CGLAT_WF_FD_CONTAINERD},
	        {.kind = CGLAT_WF_EXIT, .tgid = 60, .fd = -1, .ts = 6000, .ts_end = 6000},
	        {.kind = CGLAT_WF_SEND,
	         .tgid = 20,
	         .fd = 7,
	         .ts = 7000,
	         .ts_end = 7000,
	         .arg = CGLAT_WF_FD_CLIENT},
	};
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		wf_log_add(&log, &ev[i]);
	const struct wf_bounds_input in = {.t0_ns = 1000,
	                                   .t_return_ns = 8000,
	                                   .recv_ns = 1100,
	                                   .write_enter_ns = 4000,
	                                   .write_exit_ns = 4010,
	                                   .recv_fd = 7,
	                                   .writer_tgid = 60};
	struct wf_sample w;
	wf_compute(&log, &roles, &in, &w);
	cr_expect_eq(w.ns[WF_DOCKERD], WF_UNKNOWN, "the send at 5000 is after the write");
	cr_expect_eq(w.ns[WF_KERNEL], 10);
	cr_expect_eq(w.ns[WF_RUNTIME_EXIT], 6000 - 4010);
	cr_expect_eq(w.ns[WF_REPLY], 1000);
	cr_expect_eq(w.ns[WF_CLIENT_RETURN], 1000);
	wf_log_free(&log);
}
