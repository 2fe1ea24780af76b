/* cglat set and cglat run: argv -> plan -> apply -> print. The parsers are separate
 * functions so that tests check every option without running anything. */
#ifndef CGLAT_CMD_H
#define CGLAT_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "control.h"

struct set_args {
	struct cglat_target_spec spec;
	struct cglat_limits limits;
	bool dry_run;
	bool verify;
	bool json;
	bool help;
};

/* 0 when argv is usable (or --help was asked), -1 with a one-line error (exit 2). */
int cmd_set_parse(int argc, char **argv, struct set_args *a, struct cg_err *err);
void cmd_set_usage(FILE *out);
/* The subcommand: argv[0] is "set". Returns the exit status. */
int cmd_set(int argc, char **argv);

struct run_args {
	struct cglat_limits limits;
	const char *name;   /* NULL: cglat-run-PID */
	const char *parent; /* NULL: the root of each hierarchy */
	bool keep;
	bool verbose;
	bool help;
	char **cmd; /* NULL-terminated, from argv */
};

int cmd_run_parse(int argc, char **argv, struct run_args *a, struct cg_err *err);
void cmd_run_usage(FILE *out);
int cmd_run(int argc, char **argv);

/* The long options shared by set and run for limits; `code` marks them in getopt. */
#define CMD_OPT_LIMIT 0x100
#define CMD_LIMIT_OPTIONS                                                                          \
	{"memory", required_argument, NULL, 'm'},                                                  \
	        {"memory-swap", required_argument, NULL, CMD_OPT_LIMIT},                           \
	        {"memory-high", required_argument, NULL, CMD_OPT_LIMIT},                           \
	        {"cpus", required_argument, NULL, CMD_OPT_LIMIT},                                  \
	        {"cpu-quota", required_argument, NULL, CMD_OPT_LIMIT},                             \
	        {"cpu-period", required_argument, NULL, CMD_OPT_LIMIT},                            \
	        {"cpu-weight", required_argument, NULL, CMD_OPT_LIMIT},                            \
	        {"cpu-shares", required_argument, NULL, CMD_OPT_LIMIT},                            \
	        {"cpuset-cpus", required_argument, NULL, CMD_OPT_LIMIT},                           \
	        {"pids-max", required_argument, NULL, CMD_OPT_LIMIT},                              \
	{                                                                                          \
		"nice", required_argument, NULL, CMD_OPT_LIMIT                                     \
	}

#define CMD_LIMIT_HELP                                                                             \
	"  -m, --memory SIZE|max       memory limit; SIZE like docker's: 512k, 256m, 2g\n"         \
	"      --memory-swap SIZE|max|-1\n"                                                        \
	"                              memory plus swap, Docker's meaning (v2: swap.max gets\n"    \
	"                              the difference)\n"                                          \
	"      --memory-high SIZE|max  throttle and reclaim above this (cgroup v2)\n"              \
	"      --cpus N                CPUs' worth of time per period: 0.5, 2\n"                   \
	"      --cpu-quota US|max      CFS quota in microseconds (1000 or more)\n"                 \
	"      --cpu-period US        CFS period in microseconds, 1000..1000000\n"                 \
	"      --cpu-weight N          1..10000 (v2 scale; v1 gets cpu.shares by crun's "          \
	"formula)\n"                                                                               \
	"      --cpu-shares N          2..262144 (v1 scale; v2 gets cpu.weight by crun's "         \
	"formula)\n"                                                                               \
	"      --cpuset-cpus LIST      CPUs the tasks may use: 0-3,5\n"                            \
	"      --pids-max N|max        most tasks the cgroup may hold\n"                           \
	"      --nice N                setpriority(N) for every task, -20..19\n"

#endif
