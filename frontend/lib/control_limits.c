/* Limit options as typed -> struct cglat_limits, with the kernel's ranges checked
 * before anything is read or written. */
#include "cglat.h"
#include "cgroup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "units.h"

/* Kernel bounds: CFS period 1 ms..1 s, quota at least 1 ms and below 2^44 us
 * (kernel/sched/core.c); pids.max below PID_MAX_LIMIT + 1 (cgroup/pids.c). */
#define QUOTA_MIN 1000
#define QUOTA_MAX ((INT64_C(1) << 44) - 1)
#define PERIOD_MIN 1000
#define PERIOD_MAX 1000000
#define PIDS_MAX 4194304

static bool is_max(const char *v)
{
	return strcmp(v, "max") == 0;
}

static int parse_size_or_max(const char *opt, const char *v, bool minus_one, int64_t *out,
                             struct cg_err *err)
{
	if (is_max(v) || (minus_one && strcmp(v, "-1") == 0)) {
		*out = CGLAT_UNLIMITED;
		return 0;
	}
	if (units_parse_size(v, out, err) < 0)
		return cg_err_wrap(err, "--%s", opt);
	return 0;
}

static int parse_cpus(struct cglat_limits *l, const char *v, struct cg_err *err)
{
	if (units_parse_cpus(v, &l->cpus, err) < 0)
		return cg_err_wrap(err, "--cpus");
	/* Docker refuses more CPUs than the host has; a quota above them limits nothing. */
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (online > 0 && l->cpus > (double)online)
		return cg_errf(err, "--cpus %s: this host has only %ld CPU%s online", v, online,
		               online == 1 ? "" : "s");
	return 0;
}

static int parse_quota(struct cglat_limits *l, const char *v, struct cg_err *err)
{
	if (is_max(v) || strcmp(v, "-1") == 0) {
		l->cpu_quota = CGLAT_UNLIMITED;
		return 0;
	}
	if (units_parse_int(v, QUOTA_MIN, QUOTA_MAX, "--cpu-quota (microseconds, or max)",
	                    &l->cpu_quota, err) < 0)
		return -1;
	return 0;
}

/* cpuset.cpus and cpuset.mems take the same list syntax: CPUs or memory nodes. */
static int parse_cpuset(const char *opt, const char *what, char *out, size_t cap, const char *v,
                        struct cg_err *err)
{
	uint64_t mask[UNITS_CPULIST_WORDS];
	if (!*v)
		return cg_errf(err, "--%s: empty %s list; give %ss like 0-3,5", opt, what, what);
	if (strlen(v) >= cap)
		return cg_errf(err, "--%s: %s list is longer than %zu characters", opt, what,
		               cap - 1);
	if (units_parse_cpulist(v, mask, err) < 0)
		return cg_err_wrap(err, "--%s", opt);
	strcpy(out, v);
	return 0;
}

static int parse_pids(struct cglat_limits *l, const char *v, struct cg_err *err)
{
	if (is_max(v)) {
		l->pids_max = CGLAT_UNLIMITED;
		return 0;
	}
	return units_parse_int(v, 0, PIDS_MAX, "--pids-max (a number of tasks, or max)",
	                       &l->pids_max, err);
}

static int parse_nice(struct cglat_limits *l, const char *v, struct cg_err *err)
{
	int64_t n;
	if (units_parse_int(v, -20, 19, "--nice", &n, err) < 0)
		return -1;
	l->nice = (int)n;
	return 0;
}

int cglat_limits_parse(struct cglat_limits *l, const char *name, const char *value,
                       struct cg_err *err)
{
	int rc;
	unsigned flag;
	if (!value)
		return cg_errf(err, "--%s needs a value", name);
	if (strcmp(name, "memory") == 0) {
		flag = CGLAT_SET_MEMORY;
		rc = parse_size_or_max(name, value, false, &l->memory, err);
	} else if (strcmp(name, "memory-swap") == 0) {
		flag = CGLAT_SET_MEMORY_SWAP;
		rc = parse_size_or_max(name, value, true, &l->memory_swap, err);
	} else if (strcmp(name, "memory-high") == 0) {
		flag = CGLAT_SET_MEMORY_HIGH;
		rc = parse_size_or_max(name, value, false, &l->memory_high, err);
	} else if (strcmp(name, "cpus") == 0) {
		flag = CGLAT_SET_CPUS;
		rc = parse_cpus(l, value, err);
	} else if (strcmp(name, "cpu-quota") == 0) {
		flag = CGLAT_SET_CPU_QUOTA;
		rc = parse_quota(l, value, err);
	} else if (strcmp(name, "cpu-period") == 0) {
		flag = CGLAT_SET_CPU_PERIOD;
		rc = units_parse_int(value, PERIOD_MIN, PERIOD_MAX, "--cpu-period (microseconds)",
		                     &l->cpu_period, err);
	} else if (strcmp(name, "cpu-weight") == 0) {
		flag = CGLAT_SET_CPU_WEIGHT;
		rc = units_parse_int(value, 1, 10000, "--cpu-weight", &l->cpu_weight, err);
	} else if (strcmp(name, "cpu-shares") == 0) {
		flag = CGLAT_SET_CPU_SHARES;
		rc = units_parse_int(value, 2, 262144, "--cpu-shares", &l->cpu_shares, err);
	} else if (strcmp(name, "memory-reservation") == 0) {
		flag = CGLAT_SET_MEMORY_RESERVATION;
		rc = parse_size_or_max(name, value, true, &l->memory_reservation, err);
	} else if (strcmp(name, "cpuset-cpus") == 0) {
		flag = CGLAT_SET_CPUSET_CPUS;
		rc = parse_cpuset(name, "CPU", l->cpuset_cpus, sizeof(l->cpuset_cpus), value, err);
	} else if (strcmp(name, "cpuset-mems") == 0) {
		flag = CGLAT_SET_CPUSET_MEMS;
		rc = parse_cpuset(name, "memory node", l->cpuset_mems, sizeof(l->cpuset_mems),
		                  value, err);
	} else if (strcmp(name, "pids-max") == 0) {
		flag = CGLAT_SET_PIDS_MAX;
		rc = parse_pids(l, value, err);
	} else if (strcmp(name, "nice") == 0) {
		flag = CGLAT_SET_NICE;
		rc = parse_nice(l, value, err);
	} else {
		return cg_errf(err, "unknown limit option --%s", name);
	}
	if (rc < 0)
		return -1;
	l->set |= flag;
	return 0;
}

int cglat_limits_check(const struct cglat_limits *l, struct cg_err *err)
{
	if ((l->set & CGLAT_SET_CPUS) && (l->set & CGLAT_SET_CPU_QUOTA))
		return cg_errf(err, "--cpus and --cpu-quota both set the CPU quota: give one");
	if ((l->set & CGLAT_SET_CPU_WEIGHT) && (l->set & CGLAT_SET_CPU_SHARES))
		return cg_errf(err, "--cpu-weight and --cpu-shares both set the CPU weight (one is "
		                    "converted to the other's scale): give one");
	if ((l->set & CGLAT_SET_MEMORY) && (l->set & CGLAT_SET_MEMORY_SWAP) &&
	    l->memory_swap != CGLAT_UNLIMITED &&
	    (l->memory == CGLAT_UNLIMITED || l->memory_swap < l->memory))
		return cg_errf(err,
		               "--memory-swap is memory plus swap, so it must be at least --memory "
		               "(or -1 for unlimited swap)");
	return 0;
}
