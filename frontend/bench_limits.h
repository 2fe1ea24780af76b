/* The update requests bench sends on the docker and api paths: per sample, for the base
 * limits and to put Docker's record back, in the field Docker holds the container's CPU
 * limit in. A container started with `--cpus` keeps NanoCpus, and dockerd refuses CPU
 * quota and period updates on it ("Conflicting options: CPU Quota cannot be updated as
 * NanoCPUs has already been set"), so its quota is sent as NanoCpus; dockerd turns those
 * into the same quota of a 100000 us period, which is what the kernel's file gets.
 * Pure functions, unit-tested without root. Internal to the bench command. */
#ifndef CGLAT_BENCH_LIMITS_H
#define CGLAT_BENCH_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_cli.h"
#include "cgroup.h"
#include "docker.h"
#include "error.h"

/* How the docker and api paths ask for a CPU quota. */
enum bench_cpu_field {
	BENCH_CPU_QUOTA, /* CpuQuota / --cpu-quota (and CpuPeriod / --cpu-period) */
	BENCH_CPU_NANO,  /* NanoCpus / --cpus: the container was started with --cpus */
};

/* The field for a container whose record is `orig` (name: the container, for messages).
 * With NanoCpus, dockerd's period is 100000 us: a benchmark of the CPU limit with another
 * --cpu-period is refused, with the fix, before anything changes. */
int bench_cpu_field_for(const struct bench_config *cfg, const struct docker_limits *orig,
                        const char *name, enum bench_cpu_field *field, struct cg_err *err);

/* One sample's request: memory in bytes, or the CPU quota in microseconds. */
void bench_sample_update(enum bench_cpu_field field, enum cg_resource r, int64_t value,
                         struct docker_update *u);

/* The base limits of the resources benchmarked (none of the others); the swap limit set
 * once, as the original tool did, when the cgroup has a swap file (has_swap). */
void bench_base_update(const struct bench_config *cfg, enum bench_cpu_field field, bool has_swap,
                       struct docker_update *u);

/* Docker's record as `orig` held it, for the resources benchmarked. A CPU quota of none
 * is sent as -1 (unlimited), NanoCpus as they were. */
void bench_restore_update(const struct bench_config *cfg, enum bench_cpu_field field,
                          const struct docker_limits *orig, struct docker_update *u);

/* "CpuQuota" or "NanoCpus": what the report says the docker and api paths sent. */
const char *bench_cpu_field_name(enum bench_cpu_field field);

#endif
