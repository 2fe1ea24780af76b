/* The benchmark loop: make or pick the container, attach the probes, change
 * limits through each path in turn, match every change to its probe events,
 * then put everything back. */
#ifndef CGLAT_BENCH_H
#define CGLAT_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench_cli.h"
#include "bench_limits.h"
#include "bench_original.h"
#include "bench_waterfall.h"
#include "cgroup.h"
#include "error.h"

/* Sample paths: the update paths, plus the floor (bare pwrite, unprobed). */
enum sample_path {
	SAMPLE_DOCKER = PATH_DOCKER,
	SAMPLE_API = PATH_API,
	SAMPLE_DIRECT = PATH_DIRECT,
	SAMPLE_SERVE = PATH_SERVE,
	SAMPLE_SERVE_API = PATH_SERVE_API,
	SAMPLE_RUNTIME = PATH_RUNTIME,
	SAMPLE_FLOOR,
	SAMPLE_PATH_COUNT
};

/* Is there a daemon (dockerd, or cglat serve) whose receive starts the sample? */
static inline bool sample_path_has_daemon(enum sample_path p)
{
	return p == SAMPLE_DOCKER || p == SAMPLE_API || p == SAMPLE_SERVE || p == SAMPLE_SERVE_API;
}
static inline bool sample_path_is_serve(enum sample_path p)
{
	return p == SAMPLE_SERVE || p == SAMPLE_SERVE_API;
}
/* Does the path run the docker CLI? */
static inline bool sample_path_has_cli(enum sample_path p)
{
	return p == SAMPLE_DOCKER || p == SAMPLE_SERVE;
}
/* --waterfall: the path's stages in their order (bench_waterfall.h). */
static inline size_t sample_path_stages(enum sample_path p, const enum wf_stage **seq)
{
	return wf_stages_of(sample_path_has_cli(p), sample_path_is_serve(p), seq);
}

enum metric { METRIC_DAEMON_TO_WRITE, METRIC_REQUEST_TO_WRITE, METRIC_ROUND_TRIP, METRIC_COUNT };

struct sample {
	int iteration;
	enum sample_path path;
	enum cg_resource resource;
	int64_t value;     /* the limit asked for: bytes, or quota in us */
	char expected[48]; /* the text the kernel should be handed */
	uint64_t t0_ns;    /* client, just before the update is issued */
	uint64_t t_return_ns;
	uint64_t recv_ns;        /* the daemon's receive of the request returned; 0: none */
	uint32_t recv_call;      /* the call that received it: enum cglat_recv_call */
	int32_t recv_fd;         /* the daemon's fd it was received on */
	uint64_t write_enter_ns; /* the limit write entered / returned; 0: none */
	uint64_t write_exit_ns;
	int64_t write_ret;
	uint32_t writer_tgid;
	char writer_comm[16];
	char seen[48]; /* value in the matched write, or in the last write of that file */
	bool valid;
	char invalid_reason[192];
	/* --original-method (bench_original.h): the original tool's start and end marks for
	 * this sample; 0: did not occur */
	uint64_t orig_start_ns, orig_end_ns;
	struct wf_sample wf; /* --waterfall: the docker and api paths' stages */
};

struct bench_host {
	char kernel[128];
	enum cg_mode cgroup_mode;
	int cgroup_version[CG_RES_COUNT];
	char limit_file[CG_RES_COUNT][64];
	char probe_strategy[16];
	char probe_reason[256];
	char docker_version[64];
	char api_version[16];
	char runtime[128];
	char cgroup_driver[32];
};

/* The runtime path's command: the binary, its state root, Docker's name of the runtime. */
struct bench_runtime_info {
	char name[64];   /* "runc", "crun": HostConfig.Runtime, else dockerd's default */
	char bin[4096];  /* absolute path of the binary run */
	char root[4096]; /* --root given to it */
};

struct bench_result {
	struct bench_host host;
	struct bench_runtime_info runtime; /* name "" when the runtime path did not run */
	char container_id[65];
	char container_name[256];
	bool container_created;
	enum bench_cpu_field cpu_field; /* how the docker and api paths ask for a CPU quota */
	struct sample *samples;
	size_t count, cap;
	uint64_t lost_events;
	struct tracer_timings timings; /* the probes' compile, attach and detach */
	bool original_method;          /* --original-method: orig and samples' orig_* filled */
	struct orig_log orig;
	bool waterfall;           /* --waterfall: samples' wf filled */
	struct wf_roles wf_roles; /* the chain's processes known before the loop */
	uint64_t wf_dropped;      /* chain events dropped for want of memory */
	uint64_t wf_lost;         /* chain events the perf buffer lost */
	int containers_removed;
	bool limits_restored; /* --container: the original limits are back */
	bool interrupted;
	int signal;
	int64_t wall_ns;
};

/* Runs the benchmark. On failure res still says what was cleaned up. */
int bench_run(const struct bench_config *cfg, struct bench_result *res, struct cg_err *err);
void bench_result_free(struct bench_result *res);

/* A sample's metric in ns, or -1 when it does not apply or was not seen. */
int64_t bench_metric(const struct sample *s, enum metric m);
const char *bench_metric_name(enum metric m);
const char *bench_sample_path_name(enum sample_path p);

#endif
