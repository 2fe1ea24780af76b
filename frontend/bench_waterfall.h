/* bench --waterfall: where the time of an update goes. Each sample of the docker and
 * api paths is split, from the client's T0 to its return, into consecutive stages
 * whose bounds are probe timestamps of the chain of processes the update passes
 * through (probes/cglat.bpf.c, "waterfall"), with the chain's time on a CPU in each.
 * Pure: the events are logged by bench.c, computed here after the loop. */
#ifndef CGLAT_BENCH_WATERFALL_H
#define CGLAT_BENCH_WATERFALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cglat_event.h"

enum wf_stage {
	WF_SPAWN,         /* T0 -> the docker CLI's exec */
	WF_CLIENT_START,  /* its exec -> its first write on dockerd's socket */
	WF_REQUEST,       /* -> dockerd receives the update (/_ping included); api: from T0 */
	WF_DOCKERD,       /* -> dockerd's first write to containerd */
	WF_CONTAINERD,    /* -> containerd's first write to the container's shim (ttrpc) */
	WF_SHIM,          /* -> the shim forks the runtime */
	WF_RUNTIME_START, /* the fork -> the runtime's exec */
	WF_RUNTIME,       /* its exec -> its write of the limit file begins */
	WF_KERNEL,        /* the write: begins -> returns */
	WF_RUNTIME_EXIT,  /* -> the runtime exits */
	WF_REPLY,         /* -> dockerd begins its reply on the client's connection */
	WF_CLIENT_RETURN, /* -> the client returns (the CLI's exit and wait included) */
	/* The serve paths', between their request and client return stages: */
	WF_SERVE,  /* serve's receive -> its write of the limit file begins */
	WF_RECORD, /* the write returns -> serve begins its reply (after dockerd's record of
	            * the change, or at once with --reply-after enforce) */
	WF_STAGE_COUNT
};

#define WF_UNKNOWN (-1) /* the stage's bounds were not both seen, in order */
#define WF_NA (-2)      /* the stage is not part of this path (api: no CLI) */

/* The stages of a path in their order: with a CLI (docker, serve) or not (api,
 * serve-api), through cglat serve or straight to dockerd. Returns how many. */
size_t wf_stages_of(bool cli, bool serve, const enum wf_stage **seq);

/* A sample's stages in ns (or WF_UNKNOWN, WF_NA), and the chain's time on a CPU in each. */
struct wf_sample {
	bool computed;
	int64_t ns[WF_STAGE_COUNT];
	int64_t cpu_ns[WF_STAGE_COUNT];
};

/* The processes an update passes through that are known before it starts. */
struct wf_roles {
	uint32_t bench, dockerd, containerd, shim;
	uint32_t serve; /* the serve paths' cglat serve; 0: none */
};

/* Every chain event of the run that can belong to a sample, in arrival order until
 * wf_log_sort. Full at WF_LOG_MAX events: later ones are dropped, and counted. */
struct wf_log {
	struct cglat_wf_event *ev;
	size_t n, cap;
	uint64_t dropped;
};
#define WF_LOG_MAX ((size_t)4 << 20)

void wf_log_add(struct wf_log *log, const struct cglat_wf_event *ev);
/* By ts: per-CPU buffers deliver out of order. */
void wf_log_sort(struct wf_log *log);
void wf_log_free(struct wf_log *log);

const char *wf_stage_name(enum wf_stage s); /* "spawn", "client start-up", ... */
/* What the stage's end is, for the report's legend. */
const char *wf_stage_end(enum wf_stage s);

/* The stages of one sample, from its own timestamps (sample fields) and the sorted
 * log: each stage ends at the first event of its kind after the previous one ended. */
struct wf_bounds_input {
	bool cli;   /* the docker and serve paths: a docker CLI process */
	bool serve; /* the serve paths: the receiver and writer is cglat serve */
	uint64_t t0_ns, t_return_ns, recv_ns, write_enter_ns, write_exit_ns;
	int32_t recv_fd;
	uint32_t writer_tgid;
};
void wf_compute(const struct wf_log *log, const struct wf_roles *roles,
                const struct wf_bounds_input *in, struct wf_sample *out);

/* Sum of the known stages' ns; *complete tells whether every applicable one was seen. */
int64_t wf_sum(const struct wf_sample *w, bool *complete);

#endif
