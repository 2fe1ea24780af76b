/* CPU time and CFS throttling from the files of either cgroup version, in ns. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <unistd.h>

#include "cgroup_usage.h"

static char *file_with(const char *name, const char *text)
{
	static char paths[2][128];
	static int next;
	char *p = paths[next++ % 2];
	snprintf(p, 128, "/tmp/cglat-unit-%s-%d", name, (int)getpid());
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

Test(cgroup_usage, v1_cpuacct_usage_and_cpu_stat)
{
	char *usage = file_with("cpuacct.usage", "2500000000\n");
	char *stat = file_with("cpu.stat", "nr_periods 40\nnr_throttled 12\nthrottled_time "
	                                   "345000000\n");
	struct cg_cpu_usage u;
	cgroup_read_cpu_usage(usage, 1, stat, 1, &u);
	cr_assert_eq(u.cpu_ns, 2500000000LL);
	cr_assert_eq(u.nr_periods, 40);
	cr_assert_eq(u.nr_throttled, 12);
	cr_assert_eq(u.throttled_ns, 345000000LL);
	unlink(usage);
	unlink(stat);
}

Test(cgroup_usage, v2_cpu_stat_in_microseconds)
{
	char *stat = file_with("cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
	                                   "nr_periods 7\nnr_throttled 3\nthrottled_usec 250\n"
	                                   "nr_bursts 0\nburst_usec 0\n");
	struct cg_cpu_usage u;
	cgroup_read_cpu_usage(stat, 2, stat, 2, &u);
	cr_assert_eq(u.cpu_ns, 1500000);
	cr_assert_eq(u.nr_periods, 7);
	cr_assert_eq(u.nr_throttled, 3);
	cr_assert_eq(u.throttled_ns, 250000);
	unlink(stat);
}

Test(cgroup_usage, missing_files_and_keys_are_unknown)
{
	struct cg_cpu_usage u;
	cgroup_read_cpu_usage(NULL, 1, NULL, 1, &u);
	cr_assert_eq(u.cpu_ns, -1);
	cr_assert_eq(u.nr_periods, -1);
	cr_assert_eq(u.nr_throttled, -1);
	cr_assert_eq(u.throttled_ns, -1);
	cgroup_read_cpu_usage("/nonexistent/cpuacct.usage", 1, "/nonexistent/cpu.stat", 2, &u);
	cr_assert_eq(u.cpu_ns, -1);
	cr_assert_eq(u.throttled_ns, -1);
	/* a v2 cgroup without the cpu controller: cpu.stat has usage but no throttling */
	char *stat = file_with("cpu.stat", "usage_usec 9\nuser_usec 9\nsystem_usec 0\n");
	cgroup_read_cpu_usage(stat, 2, stat, 2, &u);
	cr_assert_eq(u.cpu_ns, 9000);
	cr_assert_eq(u.nr_periods, -1);
	cr_assert_eq(u.nr_throttled, -1);
	cr_assert_eq(u.throttled_ns, -1);
	char *junk = file_with("cpuacct.usage", "\n");
	cgroup_read_cpu_usage(junk, 1, NULL, 1, &u);
	cr_assert_eq(u.cpu_ns, -1, "an empty file is no CPU time");
	unlink(stat);
	unlink(junk);
}
