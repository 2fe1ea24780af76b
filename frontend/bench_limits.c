/* The update requests of the docker and api paths, in the field Docker holds the
 * container's CPU limit in (see bench_limits.h). */
#include "bench_limits.h"

#include <string.h>

#include "units.h"

static bool benchmarks(const struct bench_config *cfg, enum cg_resource r)
{
	return (cfg->resources & (1u << r)) != 0;
}

int bench_cpu_field_for(const struct bench_config *cfg, const struct docker_limits *orig,
                        const char *name, enum bench_cpu_field *field, struct cg_err *err)
{
	*field = orig->nano_cpus > 0 ? BENCH_CPU_NANO : BENCH_CPU_QUOTA;
	if (*field == BENCH_CPU_NANO && benchmarks(cfg, CG_RES_CPU) &&
	    cfg->cpu_period != UNITS_NANO_CPUS_PERIOD_US)
		return cg_errf(err,
		               "container %s was started with --cpus (NanoCpus %lld): Docker gives "
		               "it a CPU period of %d us and refuses period updates on it; leave "
		               "out --cpu-period %lld, or benchmark only its memory (--resources "
		               "memory)",
		               name, (long long)orig->nano_cpus, UNITS_NANO_CPUS_PERIOD_US,
		               (long long)cfg->cpu_period);
	return 0;
}

void bench_sample_update(enum bench_cpu_field field, enum cg_resource r, int64_t value,
                         struct docker_update *u)
{
	memset(u, 0, sizeof(*u));
	if (r == CG_RES_MEMORY) {
		u->set = DOCKER_SET_MEMORY;
		u->memory = value;
	} else if (field == BENCH_CPU_NANO) {
		u->set = DOCKER_SET_NANO_CPUS;
		u->nano_cpus = units_quota_to_nano_cpus(value);
	} else {
		u->set = DOCKER_SET_CPU_QUOTA;
		u->cpu_quota = value;
	}
}

void bench_base_update(const struct bench_config *cfg, enum bench_cpu_field field, bool has_swap,
                       struct docker_update *u)
{
	memset(u, 0, sizeof(*u));
	if (benchmarks(cfg, CG_RES_MEMORY)) {
		u->set |= DOCKER_SET_MEMORY;
		u->memory = cfg->mem_base;
		if (has_swap) {
			u->set |= DOCKER_SET_MEMORY_SWAP;
			u->memory_swap = 2 * (cfg->mem_base + cfg->mem_delta);
		}
	}
	if (!benchmarks(cfg, CG_RES_CPU))
		return;
	if (field == BENCH_CPU_NANO) {
		u->set |= DOCKER_SET_NANO_CPUS;
		u->nano_cpus = units_quota_to_nano_cpus(cfg->cpu_base);
	} else {
		u->set |= DOCKER_SET_CPU_PERIOD | DOCKER_SET_CPU_QUOTA;
		u->cpu_period = cfg->cpu_period;
		u->cpu_quota = cfg->cpu_base;
	}
}

void bench_restore_update(const struct bench_config *cfg, enum bench_cpu_field field,
                          const struct docker_limits *o, struct docker_update *u)
{
	memset(u, 0, sizeof(*u));
	if (benchmarks(cfg, CG_RES_MEMORY)) {
		if (o->memory > 0) {
			u->set |= DOCKER_SET_MEMORY;
			u->memory = o->memory;
		}
		if (o->memory_swap != 0) {
			u->set |= DOCKER_SET_MEMORY_SWAP;
			u->memory_swap = o->memory_swap;
		}
	}
	if (!benchmarks(cfg, CG_RES_CPU))
		return;
	if (field == BENCH_CPU_NANO) {
		u->set |= DOCKER_SET_NANO_CPUS;
		u->nano_cpus = o->nano_cpus;
		return;
	}
	if (o->cpu_period > 0) {
		u->set |= DOCKER_SET_CPU_PERIOD;
		u->cpu_period = o->cpu_period;
	}
	u->set |= DOCKER_SET_CPU_QUOTA;
	u->cpu_quota = o->cpu_quota > 0 ? o->cpu_quota : -1;
}

const char *bench_cpu_field_name(enum bench_cpu_field field)
{
	return field == BENCH_CPU_NANO ? "NanoCpus" : "CpuQuota";
}
