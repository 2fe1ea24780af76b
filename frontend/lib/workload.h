/* A command in a cgroup of its own, the life cycle cglat run and cglat monitor -- CMD
 * share: the cgroup made; the command forked and held before exec while it is moved into
 * the cgroup (and into whatever else the caller needs, such as the probes' set of
 * processes); released; SIGINT, SIGTERM, SIGHUP and SIGQUIT forwarded to it, or a stop
 * sent; waited for; the cgroup removed. It knows no command and prints nothing: errors
 * are cg_err values, and what the child could not do before exec comes back as text. */
#ifndef CGLAT_WORKLOAD_H
#define CGLAT_WORKLOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cglat.h"

struct workload {
	struct cglat_cgroup cg;
	bool cg_made; /* cg exists and is ours to remove */
	pid_t pid;    /* the child; 0 while there is none */
	int status;   /* waitpid's, once exited */
	bool exited;
	int go_fd;     /* held child: a byte lets it exec, EOF makes it exit 126 unrun */
	int report_fd; /* what the child says when it fails before exec; EOF once it execs */
	uint64_t released_ns, exited_ns; /* CLOCK_MONOTONIC */
	/* Why CMD did not run: "cannot run CMD: ...", "setpriority(N): ..."; "" when it ran.
	 * The child then exits 127 (CMD not found), 126 (not runnable) or 1. */
	char child_err[sizeof(struct cg_err)];
};

struct workload_opts {
	bool nice_set; /* setpriority(nice) in the child before exec */
	int nice;
	/* From workload_start on, SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to this process go
	 * to the child (without this, SIGINT and SIGTERM stay signals_install's). */
	bool forward;
};

/* No cgroup, no child. */
void workload_init(struct workload *w);

/* Makes PARENT/cglat/NAME (cglat_cgroup_create; want and need are bits 1 << enum
 * cglat_ctl). */
int workload_make_cgroup(struct workload *w, const char *parent, const char *name, unsigned want,
                         unsigned need, struct cg_err *err);

/* Forks cmd (execvp: no shell) held before exec, with the forwarded signals at their
 * defaults in it, and moves it into the cgroup. With o->forward, a stop asked for
 * (signals_stop_requested) before the child exists starts nothing: -1, "interrupted by
 * SIGINT before CMD started", w->pid 0. When the cgroup cannot be joined the child is
 * given up and reaped (w->exited). */
int workload_start(struct workload *w, char *const *cmd, const struct workload_opts *o,
                   struct cg_err *err);

/* run: lets the held child exec and waits until it has (or has failed: child_err says
 * why); !run: gives it up, it exits 126 without running CMD. Once only; later calls do
 * nothing. */
void workload_release(struct workload *w, bool run);

/* Has the child exited? Never blocks. */
bool workload_reap(struct workload *w);

/* Waits until the child exits. */
int workload_wait(struct workload *w, struct cg_err *err);

/* SIGTERM, up to grace_s seconds for the child to exit, then SIGKILL; reaped. */
void workload_stop(struct workload *w, double grace_s);

/* Seconds from the release to the exit (to now while it runs); 0 before the release. */
double workload_seconds(const struct workload *w);

/* Removes the cgroup, waiting up to timeout_s for exiting tasks to leave it. */
int workload_remove_cgroup(struct workload *w, double timeout_s, struct cg_err *err);

#endif
