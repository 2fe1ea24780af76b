/* The files of each knob cglat set and cglat run touch, per cgroup version. */
#include "cgroup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct knob_files {
	const char *controller;
	const char *v1, *v2;
	bool limit; /* a write to it changes a limit: the probes time those */
};

static const struct knob_files knobs[CG_KNOB_COUNT] = {
        [CG_KNOB_MEMORY_MAX] = {"memory", "memory.limit_in_bytes", "memory.max", true},
        [CG_KNOB_MEMORY_SWAP] = {"memory", "memory.memsw.limit_in_bytes", "memory.swap.max", true},
        [CG_KNOB_MEMORY_HIGH] = {"memory", NULL, "memory.high", true},
        [CG_KNOB_MEMORY_USAGE] = {"memory", "memory.usage_in_bytes", "memory.current", false},
        [CG_KNOB_MEMORY_PEAK] = {"memory", "memory.max_usage_in_bytes", "memory.peak", false},
        [CG_KNOB_MEMORY_OOM] = {"memory", "memory.oom_control", "memory.events", false},
        [CG_KNOB_CPU_QUOTA] = {"cpu", "cpu.cfs_quota_us", "cpu.max", true},
        [CG_KNOB_CPU_PERIOD] = {"cpu", "cpu.cfs_period_us", "cpu.max", true},
        [CG_KNOB_CPU_WEIGHT] = {"cpu", "cpu.shares", "cpu.weight", true},
        [CG_KNOB_CPU_STAT] = {"cpu", "cpu.stat", "cpu.stat", false},
        [CG_KNOB_CPU_USAGE] = {"cpuacct", "cpuacct.usage", "cpu.stat", false},
        [CG_KNOB_CPUSET_CPUS] = {"cpuset", "cpuset.cpus", "cpuset.cpus", true},
        [CG_KNOB_CPUSET_MEMS] = {"cpuset", "cpuset.mems", "cpuset.mems", true},
        [CG_KNOB_PIDS_MAX] = {"pids", "pids.max", "pids.max", true},
        [CG_KNOB_PROCS] = {"cpu", "cgroup.procs", "cgroup.procs", false},
        [CG_KNOB_TASKS] = {"cpu", "tasks", "cgroup.threads", false},
        [CG_KNOB_MEMORY_RESERVATION] = {"memory", "memory.soft_limit_in_bytes", "memory.low", true},
};

const char *cgroup_knob_file(enum cg_knob knob, int version)
{
	if ((unsigned)knob >= CG_KNOB_COUNT)
		return NULL;
	return version == 2 ? knobs[knob].v2 : knobs[knob].v1;
}

const char *cgroup_knob_controller(enum cg_knob knob, int version)
{
	if ((unsigned)knob >= CG_KNOB_COUNT)
		return NULL;
	if (knob == CG_KNOB_CPU_USAGE && version == 2)
		return "cpu";
	return knobs[knob].controller;
}

/* The name of limit knob k for version v (0: v1, 1: v2), NULL for none or not a limit. */
static const char *limit_file(int k, int v)
{
	return knobs[k].limit ? (v ? knobs[k].v2 : knobs[k].v1) : NULL;
}

/* Has an earlier (knob, version) in the table's order the same limit file? */
static bool named_before(int k, int v, const char *name)
{
	for (int j = 0; j <= k; j++)
		for (int u = 0; u < 2 && (j < k || u < v); u++) {
			const char *other = limit_file(j, u);
			if (other && strcmp(other, name) == 0)
				return true;
		}
	return false;
}

size_t cgroup_limit_file_names(const char **names, size_t cap)
{
	size_t n = 0;
	for (int k = 0; k < CG_KNOB_COUNT; k++)
		for (int v = 0; v < 2; v++) {
			const char *name = limit_file(k, v);
			if (!name || named_before(k, v, name))
				continue;
			if (n < cap)
				names[n] = name;
			n++;
		}
	return n;
}

bool cgroup_keyed_value(const char *text, const char *key, int64_t *value)
{
	size_t n = strlen(key);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line += !!line) {
		if (strncmp(line, key, n) != 0 || line[n] != ' ')
			continue;
		char *end;
		errno = 0;
		long long v = strtoll(line + n + 1, &end, 10);
		if (errno || end == line + n + 1)
			return false;
		*value = v;
		return true;
	}
	return false;
}
