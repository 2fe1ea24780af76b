/* What the commands share on their command lines: the limit options of set, run and
 * monitor, and their help text. */
#ifndef CGLAT_OPTS_H
#define CGLAT_OPTS_H

#include <getopt.h>

/* The long options shared by set, run and monitor for limits; OPTS_LIMIT marks them in
 * getopt (--memory is 'm'). */
#define OPTS_LIMIT 0x100
#define OPTS_LIMIT_OPTIONS                                                                         \
	{"memory", required_argument, NULL, 'm'},                                                  \
	        {"memory-swap", required_argument, NULL, OPTS_LIMIT},                              \
	        {"memory-high", required_argument, NULL, OPTS_LIMIT},                              \
	        {"cpus", required_argument, NULL, OPTS_LIMIT},                                     \
	        {"cpu-quota", required_argument, NULL, OPTS_LIMIT},                                \
	        {"cpu-period", required_argument, NULL, OPTS_LIMIT},                               \
	        {"cpu-weight", required_argument, NULL, OPTS_LIMIT},                               \
	        {"cpu-shares", required_argument, NULL, OPTS_LIMIT},                               \
	        {"cpuset-cpus", required_argument, NULL, OPTS_LIMIT},                              \
	        {"pids-max", required_argument, NULL, OPTS_LIMIT},                                 \
	{                                                                                          \
		"nice", required_argument, NULL, OPTS_LIMIT                                        \
	}

#define OPTS_LIMIT_HELP                                                                            \
	"  -m, --memory SIZE|max       memory limit; SIZE like docker's: 512k, 256m, 2g\n"         \
	"      --memory-swap SIZE|max|-1\n"                                                        \
	"                              memory plus swap, Docker's meaning (v2: swap.max gets\n"    \
	"                              the difference)\n"                                          \
	"      --memory-high SIZE|max  throttle and reclaim above this (cgroup v2)\n"              \
	"      --cpus N                CPUs' worth of time per period: 0.5, 2\n"                   \
	"      --cpu-quota US|max      CFS quota in microseconds (1000 or more)\n"                 \
	"      --cpu-period US         CFS period in microseconds, 1000..1000000\n"                \
	"      --cpu-weight N          1..10000 (v2 scale; v1 gets cpu.shares by crun's "          \
	"formula)\n"                                                                               \
	"      --cpu-shares N          2..262144 (v1 scale; v2 gets cpu.weight by crun's "         \
	"formula)\n"                                                                               \
	"      --cpuset-cpus LIST      CPUs the tasks may use: 0-3,5\n"                            \
	"      --pids-max N|max        most tasks the cgroup may hold\n"                           \
	"      --nice N                setpriority(N) for every task, -20..19\n"

#endif
