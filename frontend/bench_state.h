/* The state of one benchmark run, shared by the loop (bench.c) and its set-up and
 * clean-up (bench_setup.c). Internal to the bench command. */
#ifndef CGLAT_BENCH_STATE_H
#define CGLAT_BENCH_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench.h"
#include "bench_serve.h"
#include "cglat.h"
#include "docker.h"
#include "tracer.h"

/* The controller whose directory holds a resource's limit. */
static inline enum cglat_ctl res_ctl(int r)
{
	return r == CG_RES_MEMORY ? CGLAT_CTL_MEMORY : CGLAT_CTL_CPU;
}

struct bench {
	const struct bench_config *cfg;
	struct bench_result *res;
	struct docker *docker;
	struct docker_info dinfo;
	struct docker_container orig;            /* --container: Docker's limits before the run */
	struct cglat_target *target;             /* the container's cgroups */
	char limit_path[CG_RES_COUNT][PATH_MAX]; /* the file each resource's limit is in */
	struct tracer *tracer;
	pid_t dockerd_pid;
	struct bench_serve serve;    /* the serve paths' cglat serve */
	struct docker *serve_docker; /* the serve-api path's connection to it */
	int fd[CG_RES_COUNT];        /* kept open for the direct path: the probes know it */
	int floor_fd[CG_RES_COUNT];  /* the same file for the floor: the probes do not */
	const char *cli_ref;         /* what `docker update` is given */
	int64_t updates[CG_RES_COUNT];
	/* Original file contents, for --container: swap, memory, cpu period, cpu quota. */
	char orig_text[4][64];
	char orig_path[4][PATH_MAX];
	int norig;

	/* The sample being matched. */
	struct sample *cur;
	const char *cur_file;
	bool want_recv, recv_found, write_found;
	pid_t recv_tgid;     /* the daemon whose receive starts the sample */
	pid_t runtime_pid;   /* the runtime path: the process of this sample's update */
	int failed_in_a_row; /* updates that could not be issued, since the last that could */
	bool create_tried;   /* a container may exist that cglat made, its id unknown */

	/* --waterfall: the chain's events, kept while a docker or api sample runs and, when
	 * they arrive later, for the time up to its return */
	struct wf_log wf_log;
	bool wf_window;
	uint64_t wf_last_return;
};

#define MAX_FAILED_IN_A_ROW 3
#define CLEANUP_WAIT_S 30

/* -v: one line on stderr, "cglat: ..." */
void bench_log(const struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The tracer's callback: keeps the events that belong to the sample being matched. */
void bench_on_event(void *ctx, const struct cglat_event *ev);
/* --waterfall's: keeps the chain's events that can belong to a docker or api sample. */
void bench_on_wf_event(void *ctx, const struct cglat_wf_event *ev);

/* Everything that can be refused before anything is created or changed. */
int bench_preflight(const struct bench_config *cfg, struct cg_err *err);
/* With b->docker open: the probes first (a probe that does not compile or attach
 * changes nothing), then the container (made or checked), its cgroup files, the
 * original limits, the direct fds and the base limits. */
int bench_prepare(struct bench *b, struct cg_err *err);
/* -1 with the reason once SIGINT or SIGTERM asked to stop. */
int bench_check_stop(struct cg_err *err);
/* Detaches the probes, removes what the run made or puts back --container's limits. */
void bench_clean_up(struct bench *b);

#endif
