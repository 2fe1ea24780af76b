#include "bench_waterfall.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *end;
} stages[WF_STAGE_COUNT] = {
        [WF_SPAWN] = {"spawn", "the docker CLI's exec"},
        [WF_CLIENT_START] = {"client start-up", "its first write on dockerd's socket"},
        [WF_REQUEST] = {"request", "dockerd receives the update (/_ping included)"},
        [WF_DOCKERD] = {"dockerd", "dockerd's first write to containerd"},
        [WF_CONTAINERD] = {"containerd", "containerd's first write to the shim (ttrpc)"},
        [WF_SHIM] = {"shim", "the shim forks the runtime"},
        [WF_RUNTIME_START] = {"runtime start", "the runtime's exec"},
        [WF_RUNTIME] = {"runtime", "its write of the limit file begins"},
        [WF_KERNEL] = {"kernel write", "the write returns"},
        [WF_RUNTIME_EXIT] = {"runtime exit", "the runtime exits"},
        [WF_REPLY] = {"reply", "dockerd begins its reply to the client"},
        [WF_CLIENT_RETURN] = {"client return", "the client returns"},
};

const char *wf_stage_name(enum wf_stage s)
{
	return s < WF_STAGE_COUNT ? stages[s].name : "?";
}

const char *wf_stage_end(enum wf_stage s)
{
	return s < WF_STAGE_COUNT ? stages[s].end : "?";
}

void wf_log_add(struct wf_log *log, const struct cglat_wf_event *ev)
{
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 4096;
		struct cglat_wf_event *bigger =
		        cap <= WF_LOG_MAX ? realloc(log->ev, cap * sizeof(*ev)) : NULL;
		if (!bigger) {
			log->dropped++;
			return;
		}
		log->ev = bigger;
		log->cap = cap;
	}
	log->ev[log->n++] = *ev;
}

static int by_ts(const void *a, const void *b)
{
	const struct cglat_wf_event *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

void wf_log_sort(struct wf_log *log)
{
	if (log->n)
		qsort(log->ev, log->n, sizeof(*log->ev), by_ts);
}

void wf_log_free(struct wf_log *log)
{
	free(log->ev);
	memset(log, 0, sizeof(*log));
}

/* The index of the first event at or after ts. */
static size_t lower_bound(const struct wf_log *log, uint64_t ts)
{
	size_t lo = 0, hi = log->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->ev[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* What an event must be; a field of 0 (fd: -1) matches anything. */
struct wf_want {
	uint32_t kind, tgid, arg;
	int32_t fd;
};

/* The first event from ts on, up to `until`, that is what w says; 0: none. */
static uint64_t first(const struct wf_log *log, uint64_t ts, uint64_t until, struct wf_want w)
{
	if (!ts)
		return 0;
	for (size_t i = lower_bound(log, ts); i < log->n && log->ev[i].ts <= until; i++) {
		const struct cglat_wf_event *e = &log->ev[i];
		if (e->kind == w.kind && (!w.tgid || e->tgid == w.tgid) &&
		    (!w.arg || e->arg == w.arg) && (w.fd < 0 || e->fd == w.fd))
			return e->ts;
	}
	return 0;
}

/* The docker CLI: the first child bench forked after T0 that exec'd. */
static uint32_t find_cli(const struct wf_log *log, const struct wf_roles *r,
                         const struct wf_bounds_input *in, uint64_t *exec_ns)
{
	for (size_t i = lower_bound(log, in->t0_ns); i < log->n && log->ev[i].ts <= in->t_return_ns;
	     i++) {
		const struct cglat_wf_event *e = &log->ev[i];
		if (e->kind != CGLAT_WF_FORK || e->tgid != r->bench)
			continue;
		*exec_ns = first(log, e->ts, in->t_return_ns,
		                 (struct wf_want){CGLAT_WF_EXEC, e->arg, 0, -1});
		if (*exec_ns)
			return e->arg;
	}
	*exec_ns = 0;
	return 0;
}

/* Where the search for bound i starts: the latest bound before it that was seen, so that
 * a bound not seen leaves unknown only the two stages it closes and opens. */
static uint64_t seen_before(const uint64_t bound[WF_STAGE_COUNT + 1], int i)
{
	while (--i >= 0)
		if (bound[i])
			return bound[i];
	return 0;
}

/* bound[i] and bound[i + 1] enclose stage i; 0: not seen. */
static void find_bounds(const struct wf_log *log, const struct wf_roles *r,
                        const struct wf_bounds_input *in, uint64_t bound[WF_STAGE_COUNT + 1],
                        uint32_t *cli)
{
	uint64_t end = in->t_return_ns;
	memset(bound, 0, sizeof(uint64_t) * (WF_STAGE_COUNT + 1));
	bound[WF_SPAWN] = in->t0_ns;
	*cli = 0;
	if (in->cli) {
		*cli = find_cli(log, r, in, &bound[WF_CLIENT_START]);
		if (*cli)
			bound[WF_REQUEST] = first(
			        log, bound[WF_CLIENT_START], end,
			        (struct wf_want){CGLAT_WF_SEND, *cli, CGLAT_WF_FD_CONNECTED, -1});
	} else {
		bound[WF_REQUEST] = in->t0_ns;
	}
	bound[WF_DOCKERD] = in->recv_ns;
	bound[WF_CONTAINERD] =
	        first(log, seen_before(bound, WF_CONTAINERD), end,
	              (struct wf_want){CGLAT_WF_SEND, r->dockerd, CGLAT_WF_FD_CONTAINERD, -1});
	bound[WF_SHIM] =
	        first(log, seen_before(bound, WF_SHIM), end,
	              (struct wf_want){CGLAT_WF_SEND, r->containerd, CGLAT_WF_FD_SHIM, -1});
	bound[WF_RUNTIME_START] =
	        first(log, seen_before(bound, WF_RUNTIME_START), end,
	              (struct wf_want){CGLAT_WF_FORK, r->shim, in->writer_tgid, -1});
	bound[WF_RUNTIME] = first(log, seen_before(bound, WF_RUNTIME), end,
	                          (struct wf_want){CGLAT_WF_EXEC, in->writer_tgid, 0, -1});
	bound[WF_KERNEL] = in->write_enter_ns;
	bound[WF_RUNTIME_EXIT] = in->write_exit_ns;
	bound[WF_REPLY] = first(log, seen_before(bound, WF_REPLY), end,
	                        (struct wf_want){CGLAT_WF_EXIT, in->writer_tgid, 0, -1});
	bound[WF_CLIENT_RETURN] =
	        first(log, seen_before(bound, WF_CLIENT_RETURN), end,
	              (struct wf_want){CGLAT_WF_SEND, r->dockerd, CGLAT_WF_FD_CLIENT, in->recv_fd});
	bound[WF_STAGE_COUNT] = in->t_return_ns;
}

static bool in_chain(uint32_t tgid, const struct wf_roles *r, uint32_t cli, uint32_t writer)
{
	return tgid && (tgid == r->bench || tgid == r->dockerd || tgid == r->containerd ||
	                tgid == r->shim || tgid == cli || tgid == writer);
}

/* A thread's time on a CPU lasts a scheduler slice at most, far less than this: the
 * events that can overlap a stage start this long before it at the earliest. */
#define WF_MAX_SLICE_NS 1000000000ull

static void cpu_times(const struct wf_log *log, const struct wf_roles *r, uint32_t cli,
                      uint32_t writer, const uint64_t bound[WF_STAGE_COUNT + 1],
                      struct wf_sample *out)
{
	uint64_t lo = bound[0], hi = bound[WF_STAGE_COUNT];
	size_t i = lower_bound(log, lo > WF_MAX_SLICE_NS ? lo - WF_MAX_SLICE_NS : 0);
	for (; i < log->n && log->ev[i].ts < hi; i++) {
		const struct cglat_wf_event *e = &log->ev[i];
		if (e->kind != CGLAT_WF_ONCPU || e->ts_end <= lo ||
		    !in_chain(e->tgid, r, cli, writer))
			continue;
		for (int s = 0; s < WF_STAGE_COUNT; s++) {
			if (out->ns[s] < 0)
				continue;
			uint64_t a = e->ts > bound[s] ? e->ts : bound[s];
			uint64_t b = e->ts_end < bound[s + 1] ? e->ts_end : bound[s + 1];
			if (b > a)
				out->cpu_ns[s] += (int64_t)(b - a);
		}
	}
}

void wf_compute(const struct wf_log *log, const struct wf_roles *roles,
                const struct wf_bounds_input *in, struct wf_sample *out)
{
	uint64_t bound[WF_STAGE_COUNT + 1];
	uint32_t cli;
	find_bounds(log, roles, in, bound, &cli);
	memset(out, 0, sizeof(*out));
	out->computed = true;
	for (int s = 0; s < WF_STAGE_COUNT; s++) {
		if (!in->cli && (s == WF_SPAWN || s == WF_CLIENT_START))
			out->ns[s] = WF_NA;
		else if (!bound[s] || !bound[s + 1] || bound[s + 1] < bound[s])
			out->ns[s] = WF_UNKNOWN;
		else
			out->ns[s] = (int64_t)(bound[s + 1] - bound[s]);
	}
	cpu_times(log, roles, cli, in->writer_tgid, bound, out);
	for (int s = 0; s < WF_STAGE_COUNT; s++)
		if (out->ns[s] < 0)
			out->cpu_ns[s] = out->ns[s];
}

int64_t wf_sum(const struct wf_sample *w, bool *complete)
{
	int64_t sum = 0;
	*complete = w->computed;
	for (int s = 0; s < WF_STAGE_COUNT; s++) {
		if (w->ns[s] >= 0)
			sum += w->ns[s];
		else if (w->ns[s] == WF_UNKNOWN)
			*complete = false;
	}
	return sum;
}
