/* argv -> one bench configuration, and the usage text. */
#ifndef CGLAT_CLI_H
#define CGLAT_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "tracer.h"

/* The ways a limit reaches the kernel. serve and serve-api go through a cglat serve in
 * front of dockerd: `docker update` with its socket as the host, and the Engine API
 * request sent to its socket. runtime runs the container's runtime itself (`runc update`
 * with Docker's state root), no daemon involved. */
enum bench_path {
	PATH_DOCKER,
	PATH_API,
	PATH_DIRECT,
	PATH_SERVE,
	PATH_SERVE_API,
	PATH_RUNTIME,
	PATH_COUNT
};

/* Does the run need a cglat serve? */
#define BENCH_SERVE_PATHS ((1u << PATH_SERVE) | (1u << PATH_SERVE_API))

enum output_format { FORMAT_TEXT, FORMAT_JSON, FORMAT_CSV };

struct bench_config {
	int iterations;
	int warmup;
	unsigned paths;                          /* bit (1u << enum bench_path) */
	unsigned resources;                      /* bit (1u << enum cg_resource) */
	int64_t mem_base, mem_delta;             /* bytes */
	int64_t cpu_base, cpu_delta, cpu_period; /* microseconds */
	const char *container;                   /* NULL: make one */
	const char *image;                       /* repo:tag of the local test image */
	const char *name;                        /* NULL: cglat-bench-<pid> */
	bool keep;
	const char *docker_sock;
	const char *docker_bin;
	const char *runtime_bin;  /* the runtime path's binary; NULL: dockerd's for the container */
	const char *runtime_root; /* its state root; NULL: EXEC_ROOT/runtime-NAME/moby */
	const char *serve_sock;   /* a running cglat serve's socket; NULL: start one */
	bool serve_reply_enforce; /* the serve started answers once enforced */
	double timeout_s;
	enum tracer_strategy probe;
	const char *probe_file;
	enum output_format format;
	const char *output; /* NULL: stdout */
	bool hist;
	bool original_method;       /* also compute every sample the original tool's way */
	bool waterfall;             /* split the docker and api samples into stages */
	const char *waterfall_plot; /* --waterfall-plot FILE (.png or .svg); NULL: none */
	int verbose;
};

enum cli_action { CLI_RUN, CLI_HELP, CLI_VERSION };

/* Fills cfg from argv (argv[0] is the program or the subcommand name).
 * On bad usage returns -1 with a message that names the option and the fix. */
int cli_parse_bench(int argc, char **argv, struct bench_config *cfg, enum cli_action *action,
                    struct cg_err *err);

void cli_defaults(struct bench_config *cfg);
void cli_usage(FILE *out);
/* The bench subcommand (also what `cglat` with no command runs); returns the exit status. */
int bench_main(int argc, char **argv);

const char *cli_path_name(enum bench_path p); /* "docker", "api", "direct", "serve", ... */

#endif
