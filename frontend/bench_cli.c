#include "bench_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cgroup.h"
#include "docker.h"
#include "gnuplot.h"
#include "report.h"
#include "report_waterfall.h"
#include "waterfall_plot.h"
#include "signals.h"
#include "units.h"

#define MEBI (1024 * 1024)

const char *cli_path_name(enum bench_path p)
{
	static const char *const names[PATH_COUNT] = {"docker", "api",       "direct",
	                                              "serve",  "serve-api", "runtime"};
	return p < PATH_COUNT ? names[p] : "?";
}

void cli_defaults(struct bench_config *cfg)
{
	*cfg = (struct bench_config){
	        .iterations = 100,
	        .warmup = 2,
	        .paths = (1u << PATH_DOCKER) | (1u << PATH_API) | (1u << PATH_DIRECT),
	        .resources = (1u << CG_RES_MEMORY) | (1u << CG_RES_CPU),
	        .mem_base = 128 * MEBI,
	        .mem_delta = 1 * MEBI,
	        .cpu_base = 10000,
	        .cpu_delta = 1000,
	        .cpu_period = 100000,
	        .image = "cglat-idle:" CGLAT_VERSION,
	        .docker_sock = "/var/run/docker.sock",
	        .docker_bin = "docker",
	        .timeout_s = 5.0,
	        .probe = TRACER_AUTO,
	        .format = FORMAT_TEXT,
	};
}

void cli_usage(FILE *out)
{
	fprintf(out,
	        "cglat bench:\n"
	        "Time container limit changes end to end with eBPF: `docker update`, the Engine\n"
	        "API and a direct cgroup write, from dockerd's receive of the request to the\n"
	        "kernel's write of the limit file, interleaved iteration by iteration.\n"
	        "\n"
	        "Options:\n"
	        "  -n, --iterations N      measured iterations (default 100)\n"
	        "      --warmup N          iterations run first and not counted (default 2)\n"
	        "      --paths LIST        docker,api,direct,serve,serve-api,runtime\n"
	        "                          (default: docker,api,direct); serve and serve-api\n"
	        "                          go through a cglat serve; runtime runs the\n"
	        "                          container's runtime (runc update) itself, no dockerd\n"
	        "      --resources LIST    memory,cpu (default: both)\n"
	        "      --mem-base SIZE     memory limit around which values alternate (default "
	        "128m)\n"
	        "      --mem-delta SIZE    memory step, +/- (default 1m)\n"
	        "      --cpu-base US       CPU quota around which values alternate (default "
	        "10000)\n"
	        "      --cpu-delta US      CPU quota step, +/- (default 1000)\n"
	        "      --cpu-period US     CFS period (default 100000)\n"
	        "  -c, --container REF     benchmark this running container (name or id) and put\n"
	        "                          its limits back afterwards; default: make one\n"
	        "      --image REPO:TAG    local test image, made if missing (default "
	        "cglat-idle:%s)\n"
	        "      --name NAME         name of the container cglat makes (default "
	        "cglat-bench-PID)\n"
	        "      --keep              leave the container cglat made\n"
	        "      --docker-sock PATH  dockerd's socket (default /var/run/docker.sock)\n"
	        "      --docker-bin PATH   Docker CLI for the docker path (default: docker in "
	        "PATH)\n"
	        "      --runtime-bin PATH  runtime for the runtime path (default: the one dockerd\n"
	        "                          runs the container with, e.g. runc)\n"
	        "      --runtime-root DIR  its state root (default: dockerd's exec root's\n"
	        "                          runtime-NAME/moby, e.g. /run/docker/runtime-runc/moby)\n"
	        "      --serve-sock PATH   the serve paths use this running cglat serve; "
	        "default:\n"
	        "                          start one for the run and stop it after\n"
	        "      --serve-reply-after record|enforce\n"
	        "                          when the serve started answers (default record)\n"
	        "      --timeout SECONDS   wait this long for a sample's probe events (default 5)\n"
	        "      --probe STRATEGY    auto, tracepoint or kprobe (default auto)\n"
	        "      --probe-file FILE   compile this probe source instead of the built-in one\n"
	        "      --format FORMAT     text, json or csv (one row per sample) (default text)\n"
	        "  -o, --output FILE       write the report to FILE instead of stdout\n"
	        "      --hist              add log2 histograms of each metric\n"
	        "      --original-method   also compute every sample the original Python\n"
	        "                          tool's way (start: dockerd's last socket receive,\n"
	        "                          any call, any data, as its sock_recvmsg kprobe saw;\n"
	        "                          end: the first write of a file named memory.max or\n"
	        "                          cpu.max, any cgroup) and print its three summary\n"
	        "                          lines beside the exact ones, or why it could not\n"
	        "                          have measured this host\n"
	        "      --waterfall         split each sample of the docker, api and serve paths\n"
	        "                          into the stages of its chain (CLI, dockerd,\n"
	        "                          containerd, shim, runtime, kernel write, reply; serve,\n"
	        "                          record), each with the chain's time on a CPU, and\n"
	        "                          print them per path and resource\n"
	        "      --waterfall-plot FILE\n"
	        "                          also draw the waterfall with gnuplot (FILE .png or\n"
	        "                          .svg); implies --waterfall\n"
	        "  -v, --verbose           say what happens, step by step, on stderr\n"
	        "  -h, --help              show this help\n"
	        "      --version           show the version\n"
	        "\n"
	        "Examples:\n"
	        "  sudo cglat -n 100                        # all paths, both resources\n"
	        "  sudo cglat -n 1000 --paths api,direct    # skip the CLI\n"
	        "  sudo cglat --paths docker,serve,direct   # dockerd against cglat serve\n"
	        "  sudo cglat --paths docker,runtime,direct # dockerd against runc update alone\n"
	        "  sudo cglat -c web --resources memory     # an existing container, restored "
	        "after\n"
	        "  sudo cglat -n 50 --format json -o r.json # for scripts\n"
	        "  sudo cglat --probe tracepoint --hist     # no kprobes; add histograms\n"
	        "  sudo cglat -n 100 --original-method      # beside the original tool's figures\n"
	        "  sudo cglat -n 100 --paths docker,api --waterfall --waterfall-plot wf.png\n"
	        "                                           # where dockerd's time goes\n"
	        "\n"
	        "Exit status: 0 when the run completed, 1 when it failed, 2 on bad usage.\n",
	        CGLAT_VERSION);
}

/* Sets bits for each comma-separated name found in names[0..count). */
static int parse_list(const char *opt, const char *text, const char *const *names, int count,
                      unsigned *bits, struct cg_err *err)
{
	char buf[256];
	if (!text[0] || strlen(text) >= sizeof(buf))
		return cg_errf(err, "%s: expected a comma-separated list, got \"%s\"", opt, text);
	snprintf(buf, sizeof(buf), "%s", text);
	*bits = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i = 0;
		while (i < count && strcmp(tok, names[i]) != 0)
			i++;
		if (i == count) {
			char choices[128] = "";
			for (int j = 0; j < count; j++)
				snprintf(choices + strlen(choices),
				         sizeof(choices) - strlen(choices), "%s%s", j ? ", " : "",
				         names[j]);
			return cg_errf(err, "%s: unknown value \"%s\"; choose from %s", opt, tok,
			               choices);
		}
		*bits |= 1u << i;
	}
	if (!*bits)
		return cg_errf(err, "%s: the list is empty", opt);
	return 0;
}

static int parse_int_opt(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out,
                         struct cg_err *err)
{
	return units_parse_int(text, min, max, opt, out, err);
}

static int parse_choice(const char *opt, const char *text, const char *const *names, int count,
                        int *out, struct cg_err *err)
{
	for (int i = 0; i < count; i++)
		if (strcmp(text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return cg_errf(err, "%s: unknown value \"%s\"; see --help for the choices", opt, text);
}

enum {
	OPT_WARMUP = 256,
	OPT_PATHS,
	OPT_RESOURCES,
	OPT_MEM_BASE,
	OPT_MEM_DELTA,
	OPT_CPU_BASE,
	OPT_CPU_DELTA,
	OPT_CPU_PERIOD,
	OPT_IMAGE,
	OPT_NAME,
	OPT_KEEP,
	OPT_DOCKER_SOCK,
	OPT_DOCKER_BIN,
	OPT_RUNTIME_BIN,
	OPT_RUNTIME_ROOT,
	OPT_SERVE_SOCK,
	OPT_SERVE_REPLY_AFTER,
	OPT_TIMEOUT,
	OPT_PROBE,
	OPT_PROBE_FILE,
	OPT_FORMAT,
	OPT_HIST,
	OPT_ORIGINAL_METHOD,
	OPT_WATERFALL,
	OPT_WATERFALL_PLOT,
	OPT_VERSION,
};

static const struct option long_options[] = {
        {"iterations", required_argument, NULL, 'n'},
        {"warmup", required_argument, NULL, OPT_WARMUP},
        {"paths", required_argument, NULL, OPT_PATHS},
        {"resources", required_argument, NULL, OPT_RESOURCES},
        {"mem-base", required_argument, NULL, OPT_MEM_BASE},
        {"mem-delta", required_argument, NULL, OPT_MEM_DELTA},
        {"cpu-base", required_argument, NULL, OPT_CPU_BASE},
        {"cpu-delta", required_argument, NULL, OPT_CPU_DELTA},
        {"cpu-period", required_argument, NULL, OPT_CPU_PERIOD},
        {"container", required_argument, NULL, 'c'},
        {"image", required_argument, NULL, OPT_IMAGE},
        {"name", required_argument, NULL, OPT_NAME},
        {"keep", no_argument, NULL, OPT_KEEP},
        {"docker-sock", required_argument, NULL, OPT_DOCKER_SOCK},
        {"docker-bin", required_argument, NULL, OPT_DOCKER_BIN},
        {"runtime-bin", required_argument, NULL, OPT_RUNTIME_BIN},
        {"runtime-root", required_argument, NULL, OPT_RUNTIME_ROOT},
        {"serve-sock", required_argument, NULL, OPT_SERVE_SOCK},
        {"serve-reply-after", required_argument, NULL, OPT_SERVE_REPLY_AFTER},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"probe", required_argument, NULL, OPT_PROBE},
        {"probe-file", required_argument, NULL, OPT_PROBE_FILE},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"output", required_argument, NULL, 'o'},
        {"hist", no_argument, NULL, OPT_HIST},
        {"original-method", no_argument, NULL, OPT_ORIGINAL_METHOD},
        {"waterfall", no_argument, NULL, OPT_WATERFALL},
        {"waterfall-plot", required_argument, NULL, OPT_WATERFALL_PLOT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
};

static int apply_option(int c, const char *arg, struct bench_config *cfg, enum cli_action *action,
                        struct cg_err *err)
{
	static const char *const path_names[] = {"docker", "api",       "direct",
	                                         "serve",  "serve-api", "runtime"};
	static const char *const reply_names[] = {"record", "enforce"};
	static const char *const res_names[] = {"memory", "cpu"};
	static const char *const format_names[] = {"text", "json", "csv"};
	int64_t v;
	int choice = 0;

	switch (c) {
	case 'n':
		if (parse_int_opt("-n/--iterations", arg, 1, 1000000, &v, err))
			return -1;
		cfg->iterations = (int)v;
		return 0;
	case OPT_WARMUP:
		if (parse_int_opt("--warmup", arg, 0, 10000, &v, err))
			return -1;
		cfg->warmup = (int)v;
		return 0;
	case OPT_PATHS:
		return parse_list("--paths", arg, path_names, PATH_COUNT, &cfg->paths, err);
	case OPT_RESOURCES:
		return parse_list("--resources", arg, res_names, 2, &cfg->resources, err);
	case OPT_MEM_BASE:
		return units_parse_size(arg, &cfg->mem_base, err) ? cg_err_wrap(err, "--mem-base")
		                                                  : 0;
	case OPT_MEM_DELTA:
		return units_parse_size(arg, &cfg->mem_delta, err) ? cg_err_wrap(err, "--mem-delta")
		                                                   : 0;
	case OPT_CPU_BASE:
		return parse_int_opt("--cpu-base", arg, 1000, 100000000, &cfg->cpu_base, err);
	case OPT_CPU_DELTA:
		return parse_int_opt("--cpu-delta", arg, 1, 100000000, &cfg->cpu_delta, err);
	case OPT_CPU_PERIOD:
		return parse_int_opt("--cpu-period", arg, 1000, 1000000, &cfg->cpu_period, err);
	case 'c':
		if (docker_validate_ref(arg, err))
			return cg_err_wrap(err, "--container");
		cfg->container = arg;
		return 0;
	case OPT_IMAGE:
		if (docker_validate_image(arg, err))
			return cg_err_wrap(err, "--image");
		cfg->image = arg;
		return 0;
	case OPT_NAME:
		if (docker_validate_ref(arg, err))
			return cg_err_wrap(err, "--name");
		cfg->name = arg;
		return 0;
	case OPT_KEEP:
		cfg->keep = true;
		return 0;
	case OPT_DOCKER_SOCK:
		cfg->docker_sock = arg;
		return 0;
	case OPT_DOCKER_BIN:
		cfg->docker_bin = arg;
		return 0;
	case OPT_RUNTIME_BIN:
		if (!arg[0])
			return cg_errf(err, "--runtime-bin: give the runtime's binary, e.g. "
			                    "/usr/sbin/runc");
		cfg->runtime_bin = arg;
		return 0;
	case OPT_RUNTIME_ROOT:
		if (arg[0] != '/')
			return cg_errf(err,
			               "--runtime-root: \"%s\" is not an absolute directory, e.g. "
			               "/run/docker/runtime-runc/moby",
			               arg);
		cfg->runtime_root = arg;
		return 0;
	case OPT_SERVE_SOCK:
		if (!arg[0] || strlen(arg) >= 108)
			return cg_errf(err,
			               "--serve-sock: \"%s\" is not a unix socket path (1 to "
			               "107 bytes)",
			               arg);
		cfg->serve_sock = arg;
		return 0;
	case OPT_SERVE_REPLY_AFTER:
		if (parse_choice("--serve-reply-after", arg, reply_names, 2, &choice, err))
			return -1;
		cfg->serve_reply_enforce = choice == 1;
		return 0;
	case OPT_TIMEOUT:
		return units_parse_seconds("--timeout", arg, 3600, &cfg->timeout_s, err);
	case OPT_PROBE:
		return tracer_parse_strategy(arg, &cfg->probe, err);
	case OPT_PROBE_FILE:
		cfg->probe_file = arg;
		return 0;
	case OPT_FORMAT:
		if (parse_choice("--format", arg, format_names, 3, &choice, err))
			return -1;
		cfg->format = (enum output_format)choice;
		return 0;
	case 'o':
		cfg->output = arg;
		return 0;
	case OPT_HIST:
		cfg->hist = true;
		return 0;
	case OPT_ORIGINAL_METHOD:
		cfg->original_method = true;
		return 0;
	case OPT_WATERFALL:
		cfg->waterfall = true;
		return 0;
	case OPT_WATERFALL_PLOT:
		if (!arg[0] || !gnuplot_format_known(arg))
			return cg_errf(err,
			               "--waterfall-plot %s: the file must end in .png or .svg "
			               "(gnuplot's terminal is chosen by it)",
			               arg);
		cfg->waterfall_plot = arg;
		cfg->waterfall = true;
		return 0;
	case 'v':
		cfg->verbose++;
		return 0;
	case 'h':
		*action = CLI_HELP;
		return 0;
	case OPT_VERSION:
		*action = CLI_VERSION;
		return 0;
	}
	return cg_errf(err, "unknown option; see --help");
}

/* Limits that the kernel or Docker would refuse, caught before anything changes. */
static int check_ranges(const struct bench_config *cfg, struct cg_err *err)
{
	if (cfg->mem_delta >= cfg->mem_base)
		return cg_errf(err, "--mem-delta must be smaller than --mem-base");
	if (cfg->mem_base - cfg->mem_delta < 6 * MEBI)
		return cg_errf(err, "--mem-base minus --mem-delta is below 6 MiB, the least "
		                    "memory limit Docker accepts; raise --mem-base");
	if (cfg->mem_base > INT64_MAX / 4)
		return cg_errf(err, "--mem-base is too large");
	if (cfg->cpu_base - cfg->cpu_delta < 1000)
		return cg_errf(err, "--cpu-base minus --cpu-delta is below 1000 us, the least "
		                    "CFS quota the kernel accepts; raise --cpu-base or lower "
		                    "--cpu-delta");
	return 0;
}

int cli_parse_bench(int argc, char **argv, struct bench_config *cfg, enum cli_action *action,
                    struct cg_err *err)
{
	cli_defaults(cfg);
	*action = CLI_RUN;
	optind = 0; /* glibc: a full restart, also of a half-read "-abc" of an earlier parse */
	opterr = 0; /* our messages, not getopt's */
	int c;
	while ((c = getopt_long(argc, argv, ":n:c:o:vh", long_options, NULL)) != -1) {
		if (c == '?') {
			if (optopt)
				return cg_errf(err, "unknown option -%c; see --help", optopt);
			return cg_errf(err, "unknown option %s; see --help", argv[optind - 1]);
		}
		if (c == ':')
			return cg_errf(err, "option %s needs a value; see --help",
			               argv[optind - 1]);
		if (apply_option(c, optarg, cfg, action, err))
			return -1;
	}
	if (optind < argc)
		return cg_errf(err, "unexpected argument \"%s\"; see --help", argv[optind]);
	if (*action != CLI_RUN)
		return 0;
	if ((cfg->serve_sock || cfg->serve_reply_enforce) && !(cfg->paths & BENCH_SERVE_PATHS))
		return cg_errf(err,
		               "%s only matters for the serve paths; add serve or serve-api "
		               "to --paths",
		               cfg->serve_sock ? "--serve-sock" : "--serve-reply-after");
	if ((cfg->runtime_bin || cfg->runtime_root) && !(cfg->paths & (1u << PATH_RUNTIME)))
		return cg_errf(err, "%s only matters for the runtime path; add runtime to --paths",
		               cfg->runtime_bin ? "--runtime-bin" : "--runtime-root");
	if (cfg->waterfall &&
	    !(cfg->paths & ((1u << PATH_DOCKER) | (1u << PATH_API) | BENCH_SERVE_PATHS)))
		return cg_errf(err, "--waterfall splits the samples of the docker, api, serve and "
		                    "serve-api paths; add one of them to --paths");
	if (cfg->serve_sock && cfg->serve_reply_enforce)
		return cg_errf(err, "--serve-reply-after is for the serve cglat starts; a running "
		                    "one (--serve-sock) keeps the mode it was started with");
	return check_ranges(cfg, err);
}

int bench_main(int argc, char **argv)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	if (cli_parse_bench(argc, argv, &cfg, &action, &err) < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		return 2;
	}
	if (action == CLI_HELP) {
		printf("Usage: cglat [bench] [OPTIONS]\n\n");
		cli_usage(stdout);
		return 0;
	}
	if (action == CLI_VERSION) {
		printf("cglat %s\n", CGLAT_VERSION);
		return 0;
	}
	struct report_output out;
	/* -o is opened before the run: a file that cannot take the report is an error
	 * before anything is made or measured, not after. */
	if (report_output_open(cfg.output, &out, &err) < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		return 1; /* the option is well formed; the system refuses it */
	}
	signals_install();
	struct bench_result res;
	int rc = bench_run(&cfg, &res, &err);
	if (rc < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		if (res.interrupted || res.container_created || res.limits_restored)
			fprintf(stderr, "cglat: cleaned up: %s\n",
			        res.container_created
			                ? (res.containers_removed ? "container removed"
			                                          : "container NOT removed")
			                : (res.limits_restored ? "original limits restored"
			                                       : "nothing to restore"));
	}
	/* Partial results of an interrupted run are still worth printing. */
	bool report = (rc == 0 || res.interrupted) && res.count > 0;
	if (report && report_write(&out, &cfg, &res, &err) < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		rc = -1;
		report = false;
	}
	report_output_close(&out, report);
	if (report && cfg.waterfall_plot) {
		struct wf_row rows[WF_MAX_ROWS];
		size_t n = report_wf_rows(&res, rows);
		if (waterfall_plot_draw(cfg.waterfall_plot, rows, n, &err) < 0) {
			fprintf(stderr, "cglat: %s\n", err.msg);
			rc = -1;
		}
	}
	bench_result_free(&res);
	return rc == 0 ? 0 : 1;
}
