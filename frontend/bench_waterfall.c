#include "bench_waterfall.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *end;
} stages[WF_STAGE_COUNT] = {
        [WF_SPAWN] = {"spawn", "the docker CLI's exec"},
        [WF_CLIENT_START] = {"client start-up", "its first write on the daemon's socket"},
        [WF_REQUEST] = {"request", "the daemon (dockerd, or cglat serve) receives the update "
                                   "(/_ping included)"},
        [WF_DOCKERD] = {"dockerd", "dockerd's first write to containerd"},
        [WF_CONTAINERD] = {"containerd", "containerd's first write to the shim (ttrpc)"},
        [WF_SHIM] = {"shim", "the shim forks the runtime"},
        [WF_RUNTIME_START] = {"runtime start", "the runtime's exec"},
        [WF_RUNTIME] = {"runtime", "its write of the limit file begins"},
        [WF_KERNEL] = {"kernel write", "the write returns"},
        [WF_RUNTIME_EXIT] = {"runtime exit", "the runtime exits"},
        [WF_REPLY] = {"reply", "dockerd begins its reply to the client"},
        [WF_CLIENT_RETURN] = {"client return", "the client returns"},
        [WF_SERVE] = {"serve", "serve's write of the limit file begins"},
        [WF_RECORD] = {"record", "serve begins its reply (dockerd recorded the change)"},
};

size_t wf_stages_of(bool cli, bool serve, const enum wf_stage **seq)
{
	static const enum wf_stage docker[] = {WF_SPAWN,         WF_CLIENT_START, WF_REQUEST,
	                                       WF_DOCKERD,       WF_CONTAINERD,   WF_SHIM,
	                                       WF_RUNTIME_START, WF_RUNTIME,      WF_KERNEL,
	                                       WF_RUNTIME_EXIT,  WF_REPLY,        WF_CLIENT_RETURN};
	static const enum wf_stage via_serve[] = {WF_SPAWN,        WF_CLIENT_START, WF_REQUEST,
	                                          WF_SERVE,        WF_KERNEL,       WF_RECORD,
	                                          WF_CLIENT_RETURN};
	/* Without a CLI, the same from the request on. */
	size_t n = serve ? sizeof(via_serve) / sizeof(via_serve[0])
	                 : sizeof(docker) / sizeof(docker[0]);
	*seq = serve ? via_serve : docker;
	if (!cli) {
		*seq += 2;
		n -= 2;
	}
	return n;
}

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

/* The end of a stage that the sample's own timestamps give; 0 for one found in the log. */
static uint64_t fixed_end(const struct wf_bounds_input *in, enum wf_stage st)
{
	switch (st) {
	case WF_REQUEST:
		return in->recv_ns;
	case WF_RUNTIME:
	case WF_SERVE:
		return in->write_enter_ns;
	case WF_KERNEL:
		return in->write_exit_ns;
	case WF_CLIENT_RETURN:
		return in->t_return_ns;
	default:
		return 0;
	}
}

/* When stage st ends: the first event of its kind from `from` on, up to `end` (the next
 * bound the sample's own timestamps give: a later event is another update's or a later
 * one of the same kind, not this bound); 0: not seen. *cli is learnt at the spawn's. */
static uint64_t stage_end(const struct wf_log *log, const struct wf_roles *r,
                          const struct wf_bounds_input *in, enum wf_stage st, uint64_t from,
                          uint64_t end, uint32_t *cli)
{
	if (fixed_end(in, st))
		return fixed_end(in, st);
	uint32_t receiver = in->serve ? r->serve : r->dockerd;
	switch (st) {
	case WF_SPAWN: {
		uint64_t exec_ns;
		*cli = find_cli(log, r, in, &exec_ns);
		return exec_ns;
	}
	case WF_CLIENT_START:
		return *cli ? first(log, from, end,
		                    (struct wf_want){CGLAT_WF_SEND, *cli, CGLAT_WF_FD_CONNECTED,
		                                     -1})
		            : 0;
	case WF_DOCKERD:
		return first(
		        log, from, end,
		        (struct wf_want){CGLAT_WF_SEND, r->dockerd, CGLAT_WF_FD_CONTAINERD, -1});
	case WF_CONTAINERD:
		return first(log, from, end,
		             (struct wf_want){CGLAT_WF_SEND, r->containerd, CGLAT_WF_FD_SHIM, -1});
	case WF_SHIM:
		return first(log, from, end,
		             (struct wf_want){CGLAT_WF_FORK, r->shim, in->writer_tgid, -1});
	case WF_RUNTIME_START:
		return first(log, from, end,
		             (struct wf_want){CGLAT_WF_EXEC, in->writer_tgid, 0, -1});
	case WF_RUNTIME_EXIT:
		return first(log, from, end,
		             (struct wf_want){CGLAT_WF_EXIT, in->writer_tgid, 0, -1});
	case WF_REPLY:
	case WF_RECORD:
		return first(
		        log, from, end,
		        (struct wf_want){CGLAT_WF_SEND, receiver, CGLAT_WF_FD_CLIENT, in->recv_fd});
	default:
		return 0;
	}
}

static bool is_role(uint32_t tgid, const struct wf_roles *r, uint32_t cli, uint32_t writer)
{
	return tgid && (tgid == r->bench || tgid == r->dockerd || tgid == r->containerd ||
	                tgid == r->shim || tgid == r->serve || tgid == cli || tgid == writer);
}

/* A process of the sample's chain: one of its roles, or a child one of them forked in
 * [lo, hi) (the serve paths' record runs a runtime that writes no sample's file). */
static bool in_chain(const struct wf_log *log, uint64_t lo, uint64_t hi, uint32_t tgid,
                     const struct wf_roles *r, uint32_t cli, uint32_t writer)
{
	if (is_role(tgid, r, cli, writer))
		return true;
	for (size_t i = lower_bound(log, lo); i < log->n && log->ev[i].ts < hi; i++)
		if (log->ev[i].kind == CGLAT_WF_FORK && log->ev[i].arg == tgid &&
		    is_role(log->ev[i].tgid, r, cli, writer))
			return true;
	return false;
}

/* A thread's time on a CPU lasts a scheduler slice at most, far less than this: the
 * events that can overlap a stage start this long before it at the earliest. */
#define WF_MAX_SLICE_NS 1000000000ull

static void cpu_times(const struct wf_log *log, const struct wf_roles *r, uint32_t cli,
                      uint32_t writer, const uint64_t lo_of[WF_STAGE_COUNT],
                      const uint64_t hi_of[WF_STAGE_COUNT], uint64_t lo, uint64_t hi,
                      struct wf_sample *out)
{
	size_t i = lower_bound(log, lo > WF_MAX_SLICE_NS ? lo - WF_MAX_SLICE_NS : 0);
	for (; i < log->n && log->ev[i].ts < hi; i++) {
		const struct cglat_wf_event *e = &log->ev[i];
		if (e->kind != CGLAT_WF_ONCPU || e->ts_end <= lo ||
		    !in_chain(log, lo, hi, e->tgid, r, cli, writer))
			continue;
		for (int s = 0; s < WF_STAGE_COUNT; s++) {
			if (out->ns[s] < 0)
				continue;
			uint64_t a = e->ts > lo_of[s] ? e->ts : lo_of[s];
			uint64_t b = e->ts_end < hi_of[s] ? e->ts_end : hi_of[s];
			if (b > a)
				out->cpu_ns[s] += (int64_t)(b - a);
		}
	}
}

void wf_compute(const struct wf_log *log, const struct wf_roles *roles,
                const struct wf_bounds_input *in, struct wf_sample *out)
{
	const enum wf_stage *seq;
	size_t n = wf_stages_of(in->cli, in->serve, &seq);
	uint64_t lo_of[WF_STAGE_COUNT] = {0}, hi_of[WF_STAGE_COUNT] = {0};
	memset(out, 0, sizeof(*out));
	out->computed = true;
	for (int s = 0; s < WF_STAGE_COUNT; s++)
		out->ns[s] = WF_NA;
	/* Each stage starts where the one before it ended; a bound not seen leaves both
	 * stages it bounds unknown, and the search goes on from the last bound seen. */
	uint64_t until[WF_STAGE_COUNT];
	uint64_t next_fixed = in->t_return_ns;
	for (size_t k = n; k-- > 0;) { /* each search ends at the next fixed bound */
		until[k] = next_fixed;
		if (fixed_end(in, seq[k]))
			next_fixed = fixed_end(in, seq[k]);
	}
	uint64_t prev = in->t0_ns, from = in->t0_ns;
	uint32_t cli = 0;
	for (size_t k = 0; k < n; k++) {
		enum wf_stage st = seq[k];
		uint64_t end = stage_end(log, roles, in, st, from, until[k], &cli);
		if (prev && end && end >= prev) {
			out->ns[st] = (int64_t)(end - prev);
			lo_of[st] = prev;
			hi_of[st] = end;
		} else {
			out->ns[st] = WF_UNKNOWN;
		}
		prev = end;
		if (end)
			from = end;
	}
	cpu_times(log, roles, cli, in->writer_tgid, lo_of, hi_of, in->t0_ns, in->t_return_ns, out);
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
