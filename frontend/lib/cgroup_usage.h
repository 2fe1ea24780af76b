/* What a cgroup used, read from its files: CPU time and CFS throttling, for cglat run's
 * report (cglat_cgroup_stats) and cglat monitor's intervals alike. */
#ifndef CGLAT_CGROUP_USAGE_H
#define CGLAT_CGROUP_USAGE_H

#include <stdint.h>

/* -1 in a field the kernel does not report. */
struct cg_cpu_usage {
	int64_t cpu_ns;       /* CPU time used */
	int64_t nr_periods;   /* CFS periods that have elapsed with tasks runnable */
	int64_t nr_throttled; /* of them, the periods the cgroup was throttled in */
	int64_t throttled_ns; /* time throttled */
};

/* usage_path: the file of CG_KNOB_CPU_USAGE (v1 cpuacct.usage in ns, v2 cpu.stat's
 * usage_usec) of cgroup version usage_version; stat_path: CG_KNOB_CPU_STAT's (cpu.stat:
 * nr_periods, nr_throttled, and throttled_time in ns on v1, throttled_usec on v2) of
 * stat_version. NULL when the cgroup has no such file. Counts are cumulative. */
void cgroup_read_cpu_usage(const char *usage_path, int usage_version, const char *stat_path,
                           int stat_version, struct cg_cpu_usage *out);

#endif
