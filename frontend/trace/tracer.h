/* The probe session: picks a strategy, compiles the probe source at run time
 * through the BCC wrapper, attaches it, and hands typed events to a callback. */
#ifndef CGLAT_TRACER_H
#define CGLAT_TRACER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cglat_event.h"
#include "error.h"

enum tracer_strategy { TRACER_AUTO, TRACER_TRACEPOINT, TRACER_KPROBE };

typedef void (*tracer_event_fn)(void *ctx, const struct cglat_event *ev);
typedef void (*tracer_wf_event_fn)(void *ctx, const struct cglat_wf_event *ev);

struct tracer_config {
	enum tracer_strategy strategy;
	pid_t dockerd_tgid;     /* 0: no receive probes */
	pid_t serve_tgid;       /* a cglat serve whose receives are timed too; 0: none */
	const char *probe_file; /* NULL: the source embedded at build time */
	bool monitor; /* also count page faults, reclaim and writeback of chosen processes */
	/* bench --original-method: also every socket receive of dockerd, of any call (read,
	 * readv, recvfrom, recvmsg, recvmmsg), whatever it returned (CGLAT_EV_RECV_ANY):
	 * the original tool's start mark, its kprobe on sock_recvmsg */
	bool original;
	/* bench --waterfall: also what the chain of an update's processes does
	 * (struct cglat_wf_event, to on_wf_event); the chain's roots and connections are
	 * told with tracer_waterfall_follow and tracer_waterfall_watch_fd */
	bool waterfall;
	tracer_event_fn on_event;
	tracer_wf_event_fn on_wf_event;
	void *ctx;
};

struct tracer;

/* What the machine offers, for `auto` and for reports. */
struct tracer_host {
	bool tracefs;         /* tracepoints usable (tracefs mounted) */
	bool kprobes;         /* the kernel has kprobes */
	bool kprobe_debugfs;  /* BCC 0.26 attaches kprobes through /sys/kernel/debug/tracing */
	bool headers_match;   /* BCC's headers are the running kernel's */
	char headers[256];    /* where BCC finds headers, or "" */
	char tracefs_dir[64]; /* /sys/kernel/tracing or /sys/kernel/debug/tracing */
};

void tracer_probe_host(struct tracer_host *host);

/* Chooses the strategy for cfg->strategy on this host; *why says why (for
 * auto) or what is missing (for an explicit choice that cannot run: -1). */
int tracer_choose(enum tracer_strategy wanted, const struct tracer_host *host,
                  enum tracer_strategy *chosen, char *why, size_t why_len, struct cg_err *err);

int tracer_open(const struct tracer_config *cfg, struct tracer **out, struct cg_err *err);

/* tracer_open in a thread of its own (SIGINT and SIGTERM blocked there), so that the
 * caller can do other work meanwhile: bench makes its container while the probes
 * compile, which is CPU work in this process while dockerd works in its own. *cfg is
 * copied; what its pointers point at must live until tracer_open_end. Nothing may
 * write to stderr meanwhile: the compile captures fd 2 for its diagnostics. */
struct tracer_opening;
int tracer_open_begin(const struct tracer_config *cfg, struct tracer_opening **out,
                      struct cg_err *err);
/* Waits for the opening to finish and frees it: tracer_open's result and error. */
int tracer_open_end(struct tracer_opening *o, struct tracer **out, struct cg_err *err);

/* Delivers every pending event to the callback, waiting at most timeout_ms when
 * there is none. The kernel wakes the reader only every few events (waking it
 * costs the writer microseconds), so pending events are read after the wait
 * whether or not a wakeup came. */
int tracer_poll(struct tracer *t, int timeout_ms, struct cg_err *err);

/* Monitor: adds a process to the monitored set (its forks follow by themselves),
 * and reads the counters summed since the probes were attached. */
int tracer_monitor_add(struct tracer *t, pid_t tgid, struct cg_err *err);
int tracer_monitor_counts(struct tracer *t, uint64_t counts[CGLAT_MON_COUNT], struct cg_err *err);

/* Waterfall: a process the chain starts from (its forks follow by themselves; with
 * children_are_clients, the connect(2)s of its children are watched: bench's docker CLI),
 * an fd of a chain process whose writes are sent, with why, and the events lost. */
int tracer_waterfall_follow(struct tracer *t, pid_t tgid, bool children_are_clients,
                            struct cg_err *err);
uint64_t tracer_waterfall_lost_events(const struct tracer *t);
int tracer_waterfall_watch_fd(struct tracer *t, pid_t tgid, int fd, enum cglat_wf_fd why,
                              struct cg_err *err);

enum tracer_strategy tracer_strategy(const struct tracer *t);
const char *tracer_strategy_name(enum tracer_strategy s); /* "auto", "tracepoint", "kprobe" */
/* The value of a --probe option; the error names the option and the choices. */
int tracer_parse_strategy(const char *text, enum tracer_strategy *out, struct cg_err *err);
const char *tracer_reason(const struct tracer *t); /* why this strategy */
uint64_t tracer_lost_events(const struct tracer *t);
/* The write calls to limit files this session cannot see, as a phrase ("writev,
 * pwritev and pwritev2 (...)"), or "" when it sees all of write, pwrite64, writev,
 * pwritev and pwritev2. io_uring's writes are never seen (see README). */
const char *tracer_unseen_writes(const struct tracer *t);
/* Tracepoint strategy: do the probes know this process's fd as a limit file, so that
 * its writes are timed? Always false for the kprobe strategy, which names files by
 * their dentry at each write and keeps no fds. */
bool tracer_fd_watched(struct tracer *t, int fd);
/* Is there a text symbol of exactly this name in /proc/kallsyms (a function a kprobe
 * can attach to)? False when the file cannot be read. */
bool tracer_kernel_has_function(const char *name);

/* How long the probes took to compile, attach and detach, in ns (0: not yet). */
struct tracer_timings {
	uint64_t compile_ns; /* BCC's run-time compile and load of the probe source */
	uint64_t attach_ns;  /* attaching every probe and opening the perf buffers */
	uint64_t detach_ns;  /* detaching them and closing the buffers */
};

/* Starts detaching every probe in the background, so that the caller's own clean-up
 * (removing a container) runs meanwhile. No event is delivered after this call. */
void tracer_detach_begin(struct tracer *t);
/* Waits for the probes to be detached (detaching them now if nothing did) and gives
 * the timings. */
void tracer_timings(struct tracer *t, struct tracer_timings *out);
/* Detaches every probe (unless done) and frees the session. NULL is fine. */
void tracer_close(struct tracer *t);

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(). */
uint64_t tracer_now_ns(void);

#endif
