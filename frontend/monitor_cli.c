/* cglat monitor's command line: argv -> struct monitor_config, the usage text, and the
 * entry point. */
#include "monitor_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "monitor.h"
#include "gnuplot.h"
#include "monitor_plot.h"
#include "opts.h"
#include "signals.h"
#include "units.h"

void monitor_usage(FILE *out)
{
	fputs("Usage: cglat monitor [OPTIONS] TARGET\n"
	      "       cglat monitor [OPTIONS] [LIMITS] -- CMD [ARGS...]\n"
	      "\n"
	      "Every interval, a workload's memory in use and limit, RSS share, page faults,\n"
	      "LRU isolations, swap-ins and -outs, CPU used and limit and CFS throttling, and\n"
	      "any limit change written in the interval. Event counts come from BPF programs\n"
	      "filtered in the kernel to the workload's processes. With -- CMD, CMD is started\n"
	      "in a cgroup of its own (as `cglat run` does) and monitored until it exits.\n"
	      "\n"
	      "Target (one of):\n"
	      "  CONTAINER                   a Docker container name or id\n"
	      "      --pid PID               the cgroups of a process\n"
	      "      --cgroup PATH           a cgroup, e.g. cglat/job1 or /sys/fs/cgroup/memory/x\n"
	      "      --no-daemon             find a container by id without asking dockerd\n"
	      "\n"
	      "Options:\n"
	      "  -i, --interval SECONDS      sampling interval (default 1)\n"
	      "  -d, --duration SECONDS      stop after this long (default: Ctrl-C or CMD's exit)\n"
	      "      --csv FILE              write every interval to FILE\n"
	      "      --plot FILE             draw every metric over time into FILE (.png or .svg)\n"
	      "      --probe STRATEGY        auto, tracepoint or kprobe (default auto)\n"
	      "  -h, --help                  show this help\n"
	      "\n"
	      "With -- CMD (as cglat run):\n" OPTS_LIMIT_HELP
	      "      --name NAME             the cgroup's name (default cglat-monitor-PID)\n"
	      "      --parent PATH           make cglat/NAME under this cgroup (a delegated one "
	      "on\n"
	      "                              v2) instead of the root\n"
	      "      --keep                  leave the cgroup when CMD ends\n"
	      "\n"
	      "Examples:\n"
	      "  sudo cglat monitor web --plot web.png             # a container, until Ctrl-C\n"
	      "  sudo cglat monitor --pid 4242 -i 0.5 -d 30 --csv p.csv\n"
	      "  sudo cglat monitor --memory 64m --plot m.png -- ./allocate 200\n"
	      "  sudo cglat monitor --cpus 1 --nice 10 -- make -j4  # a build, low priority\n"
	      "  # meanwhile, from another terminal: sudo cglat set --cgroup cglat/NAME --memory "
	      "32m\n",
	      out);
}

int monitor_parse(int argc, char **argv, struct monitor_config *cfg, bool *help, struct cg_err *err)
{
	enum {
		O_PID = OPTS_LIMIT + 1,
		O_CGROUP,
		O_NO_DAEMON,
		O_CSV,
		O_PLOT,
		O_PROBE,
		O_NAME,
		O_PARENT,
		O_KEEP,
	};
	static const struct option options[] = {
	        OPTS_LIMIT_OPTIONS,
	        {"pid", required_argument, NULL, O_PID},
	        {"cgroup", required_argument, NULL, O_CGROUP},
	        {"no-daemon", no_argument, NULL, O_NO_DAEMON},
	        {"interval", required_argument, NULL, 'i'},
	        {"duration", required_argument, NULL, 'd'},
	        {"csv", required_argument, NULL, O_CSV},
	        {"plot", required_argument, NULL, O_PLOT},
	        {"probe", required_argument, NULL, O_PROBE},
	        {"name", required_argument, NULL, O_NAME},
	        {"parent", required_argument, NULL, O_PARENT},
	        {"keep", no_argument, NULL, O_KEEP},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_s = 1.0;
	cfg->probe = TRACER_AUTO;
	*help = false;
	optind = 0; /* glibc: a full restart, also of a half-read "-abc" of an earlier parse */
	opterr = 0;
	/* Options end at "--": what follows is the command, untouched by getopt. */
	int dashdash = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	int optc = dashdash >= 0 ? dashdash : argc;
	int c, index = 0;
	char *end;
	while ((c = getopt_long(optc, argv, ":i:d:m:h", options, &index)) != -1) {
		switch (c) {
		case O_PID:
			errno = 0;
			long pid = strtol(optarg, &end, 10);
			if (!optarg[0] || *end || errno || pid <= 0 || pid > 4194304)
				return cg_errf(err, "--pid: expected a process id, got \"%s\"",
				               optarg);
			cfg->spec.kind = CGLAT_TARGET_PID;
			cfg->spec.pid = (pid_t)pid;
			cfg->has_target = true;
			break;
		case O_CGROUP:
			if (cglat_check_cgroup_path(optarg, "--cgroup", err))
				return -1;
			cfg->spec.kind = CGLAT_TARGET_CGROUP;
			cfg->spec.ref = optarg;
			cfg->has_target = true;
			break;
		case O_NO_DAEMON:
			cfg->spec.no_daemon = true;
			break;
		case 'i':
			if (units_parse_seconds("-i/--interval", optarg, 1e7, &cfg->interval_s,
			                        err))
				return -1;
			if (cfg->interval_s < 0.1)
				return cg_errf(err, "-i/--interval: at least 0.1 s");
			break;
		case 'd':
			if (units_parse_seconds("-d/--duration", optarg, 1e7, &cfg->duration_s,
			                        err))
				return -1;
			break;
		case O_CSV:
			cfg->csv = optarg;
			break;
		case O_PLOT:
			cfg->plot = optarg;
			if (!gnuplot_format_known(optarg))
				return cg_errf(err,
				               "--plot %s: the file name must end in .png or "
				               ".svg",
				               optarg);
			break;
		case O_PROBE:
			if (tracer_parse_strategy(optarg, &cfg->probe, err))
				return -1;
			break;
		case O_NAME:
			if (cglat_check_cgroup_name(optarg, err))
				return -1;
			cfg->name = optarg;
			break;
		case O_PARENT:
			if (cglat_check_cgroup_path(optarg, "--parent", err))
				return -1;
			cfg->parent = optarg;
			break;
		case O_KEEP:
			cfg->keep = true;
			break;
		case 'm':
			if (cglat_limits_parse(&cfg->limits, "memory", optarg, err))
				return -1;
			break;
		case OPTS_LIMIT:
			if (cglat_limits_parse(&cfg->limits, options[index].name, optarg, err))
				return -1;
			break;
		case 'h':
			*help = true;
			return 0;
		case ':':
			return cg_errf(err, "option %s needs a value; see cglat monitor --help",
			               argv[optind - 1]);
		default:
			return cg_errf(err, "unknown option %s; see cglat monitor --help",
			               argv[optind - 1]);
		}
	}
	if (dashdash >= 0) {
		if (dashdash + 1 >= argc)
			return cg_errf(err, "nothing to run after --; see cglat monitor --help");
		if (cfg->has_target || optind < optc)
			return cg_errf(err, "give either a TARGET or -- CMD, not both");
		cfg->cmd = argv + dashdash + 1;
		return cglat_limits_check(&cfg->limits, err);
	}
	if (cfg->limits.set || cfg->name || cfg->parent || cfg->keep)
		return cg_errf(err, "limits, --name, --parent and --keep go with -- CMD; to change "
		                    "a running target's limits use cglat set");
	if (optind < optc) {
		if (cfg->has_target)
			return cg_errf(err,
			               "unexpected argument \"%s\": the target is already "
			               "given",
			               argv[optind]);
		if (docker_validate_ref(argv[optind], err))
			return -1;
		cfg->spec.kind = CGLAT_TARGET_CONTAINER;
		cfg->spec.ref = argv[optind++];
		cfg->has_target = true;
	}
	if (optind < argc)
		return cg_errf(err, "unexpected argument \"%s\"; see cglat monitor --help",
		               argv[optind]);
	if (!cfg->has_target)
		return cg_errf(err, "no target: give a container, --pid, --cgroup or -- CMD; see "
		                    "cglat monitor --help");
	return 0;
}

int monitor_main(int argc, char **argv)
{
	struct monitor_config cfg;
	bool help;
	struct cg_err err;
	if (monitor_parse(argc, argv, &cfg, &help, &err) < 0) {
		fprintf(stderr, "cglat monitor: %s\n", err.msg);
		return 2;
	}
	if (help) {
		monitor_usage(stdout);
		return 0;
	}
	signals_install();
	int rc = monitor_run(&cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "cglat monitor: %s\n", err.msg);
		return 1;
	}
	return 0;
}
