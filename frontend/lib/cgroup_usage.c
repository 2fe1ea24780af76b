/* CPU time and CFS throttling of a cgroup, in nanoseconds whatever the cgroup version. */
#include "cgroup_usage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

static int64_t keyed(const char *text, const char *key, int64_t scale)
{
	int64_t v;
	return cgroup_keyed_value(text, key, &v) && v >= 0 ? v * scale : -1;
}

void cgroup_read_cpu_usage(const char *usage_path, int usage_version, const char *stat_path,
                           int stat_version, struct cg_cpu_usage *out)
{
	out->cpu_ns = out->nr_periods = out->nr_throttled = out->throttled_ns = -1;
	char text[4096];
	if (usage_path && cgroup_read_file(usage_path, text, sizeof(text), NULL) == 0) {
		if (usage_version == 2) {
			out->cpu_ns = keyed(text, "usage_usec", 1000);
		} else {
			char *end;
			errno = 0;
			long long ns = strtoll(text, &end, 10);
			out->cpu_ns = errno || end == text || ns < 0 ? -1 : (int64_t)ns;
		}
	}
	if (stat_path && cgroup_read_file(stat_path, text, sizeof(text), NULL) == 0) {
		out->nr_periods = keyed(text, "nr_periods", 1);
		out->nr_throttled = keyed(text, "nr_throttled", 1);
		out->throttled_ns = stat_version == 2 ? keyed(text, "throttled_usec", 1000)
		                                      : keyed(text, "throttled_time", 1);
	}
}
