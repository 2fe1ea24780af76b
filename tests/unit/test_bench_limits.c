/* bench's update requests on the docker and api paths: a container started with
 * --cpus gets NanoCpus, never CpuQuota or CpuPeriod (dockerd refuses those on it), and
 * a resource that is not benchmarked is never sent. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "bench_limits.h"

#define CPU_ONLY (1u << CG_RES_CPU)
#define MEMORY_ONLY (1u << CG_RES_MEMORY)

static struct bench_config config(unsigned resources)
{
	struct bench_config c;
	cli_defaults(&c);
	c.resources = resources;
	return c;
}

/* The JSON body the api path sends for u. */
static void assert_body(const struct docker_update *u, const char *want)
{
	char *body = docker_update_body(u);
	cr_assert_not_null(body);
	cr_assert_str_eq(body, want);
	free(body);
}

static const struct docker_limits started_with_cpus = {.nano_cpus = 500000000};

Test(bench_limits, field_follows_dockers_record)
{
	struct bench_config c = config(MEMORY_ONLY | CPU_ONLY);
	struct cg_err err = {{0}};
	enum bench_cpu_field f = BENCH_CPU_NANO;
	const struct docker_limits quota = {.cpu_quota = 50000, .cpu_period = 100000};
	cr_assert_eq(bench_cpu_field_for(&c, &quota, "web", &f, &err), 0, "%s", err.msg);
	cr_assert_eq(f, BENCH_CPU_QUOTA);
	const struct docker_limits none = {0};
	cr_assert_eq(bench_cpu_field_for(&c, &none, "web", &f, &err), 0, "%s", err.msg);
	cr_assert_eq(f, BENCH_CPU_QUOTA);
	cr_assert_eq(bench_cpu_field_for(&c, &started_with_cpus, "web", &f, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(f, BENCH_CPU_NANO);
	cr_assert_str_eq(bench_cpu_field_name(BENCH_CPU_NANO), "NanoCpus");
	cr_assert_str_eq(bench_cpu_field_name(BENCH_CPU_QUOTA), "CpuQuota");
}

/* Docker's period for NanoCpus is 100000 us: another one cannot be benchmarked. */
Test(bench_limits, another_period_is_refused_with_the_fix)
{
	struct bench_config c = config(MEMORY_ONLY | CPU_ONLY);
	c.cpu_period = 50000;
	struct cg_err err = {{0}};
	enum bench_cpu_field f;
	cr_assert_eq(bench_cpu_field_for(&c, &started_with_cpus, "web", &f, &err), -1);
	cr_assert(strstr(err.msg, "container web was started with --cpus (NanoCpus 500000000)"),
	          "%s", err.msg);
	cr_assert(strstr(err.msg, "CPU period of 100000 us"), "%s", err.msg);
	cr_assert(strstr(err.msg, "leave out --cpu-period 50000"), "%s", err.msg);
	cr_assert(strstr(err.msg, "--resources memory"), "%s", err.msg);
	/* Memory alone does not care about the CPU period. */
	c.resources = MEMORY_ONLY;
	cr_assert_eq(bench_cpu_field_for(&c, &started_with_cpus, "web", &f, &err), 0, "%s",
	             err.msg);
	/* A container without --cpus takes any period. */
	c.resources = MEMORY_ONLY | CPU_ONLY;
	const struct docker_limits none = {0};
	cr_assert_eq(bench_cpu_field_for(&c, &none, "web", &f, &err), 0, "%s", err.msg);
}

Test(bench_limits, sample_requests)
{
	struct docker_update u;
	bench_sample_update(BENCH_CPU_NANO, CG_RES_MEMORY, 135266304, &u);
	assert_body(&u, "{\"Memory\":135266304}");
	bench_sample_update(BENCH_CPU_QUOTA, CG_RES_CPU, 11000, &u);
	assert_body(&u, "{\"CpuQuota\":11000}");
	/* 11000 us of dockerd's 100000 us period: 0.11 CPUs. */
	bench_sample_update(BENCH_CPU_NANO, CG_RES_CPU, 11000, &u);
	assert_body(&u, "{\"NanoCpus\":110000000}");
	char storage[8][64];
	const char *argv[16];
	int argc = docker_update_argv("docker", "web", &u, storage, argv);
	cr_assert_eq(argc, 5);
	cr_assert_str_eq(argv[2], "--cpus");
	cr_assert_str_eq(argv[3], "0.11");
	bench_sample_update(BENCH_CPU_NANO, CG_RES_CPU, 9000, &u);
	assert_body(&u, "{\"NanoCpus\":90000000}");
}

Test(bench_limits, base_limits_of_the_resources_benchmarked)
{
	struct bench_config c = config(MEMORY_ONLY | CPU_ONLY);
	struct docker_update u;
	bench_base_update(&c, BENCH_CPU_QUOTA, true, &u);
	assert_body(&u, "{\"Memory\":134217728,\"MemorySwap\":270532608,\"CpuQuota\":10000,"
	                "\"CpuPeriod\":100000}");
	bench_base_update(&c, BENCH_CPU_NANO, true, &u);
	assert_body(&u, "{\"Memory\":134217728,\"MemorySwap\":270532608,\"NanoCpus\":100000000}");
	bench_base_update(&c, BENCH_CPU_NANO, false, &u);
	assert_body(&u, "{\"Memory\":134217728,\"NanoCpus\":100000000}");
	c.resources = MEMORY_ONLY;
	bench_base_update(&c, BENCH_CPU_NANO, true, &u);
	assert_body(&u, "{\"Memory\":134217728,\"MemorySwap\":270532608}");
	bench_base_update(&c, BENCH_CPU_QUOTA, true, &u);
	assert_body(&u, "{\"Memory\":134217728,\"MemorySwap\":270532608}");
	c.resources = CPU_ONLY;
	bench_base_update(&c, BENCH_CPU_NANO, true, &u);
	assert_body(&u, "{\"NanoCpus\":100000000}");
}

Test(bench_limits, restore_puts_back_what_docker_held)
{
	struct bench_config c = config(MEMORY_ONLY | CPU_ONLY);
	struct docker_update u;
	const struct docker_limits cpus = {
	        .memory = 314572800, .memory_swap = 629145600, .nano_cpus = 500000000};
	bench_restore_update(&c, BENCH_CPU_NANO, &cpus, &u);
	assert_body(&u, "{\"Memory\":314572800,\"MemorySwap\":629145600,\"NanoCpus\":500000000}");
	const struct docker_limits quota = {.memory = 314572800,
	                                    .memory_swap = 629145600,
	                                    .cpu_quota = 50000,
	                                    .cpu_period = 100000};
	bench_restore_update(&c, BENCH_CPU_QUOTA, &quota, &u);
	assert_body(&u, "{\"Memory\":314572800,\"MemorySwap\":629145600,\"CpuQuota\":50000,"
	                "\"CpuPeriod\":100000}");
	/* No limit: memory cannot be sent as none, a quota of none is -1. */
	const struct docker_limits none = {0};
	bench_restore_update(&c, BENCH_CPU_QUOTA, &none, &u);
	assert_body(&u, "{\"CpuQuota\":-1}");
	/* What was not benchmarked is not sent. */
	c.resources = MEMORY_ONLY;
	bench_restore_update(&c, BENCH_CPU_NANO, &cpus, &u);
	assert_body(&u, "{\"Memory\":314572800,\"MemorySwap\":629145600}");
	bench_restore_update(&c, BENCH_CPU_QUOTA, &none, &u);
	cr_assert_eq(u.set, 0);
	c.resources = CPU_ONLY;
	bench_restore_update(&c, BENCH_CPU_NANO, &cpus, &u);
	assert_body(&u, "{\"NanoCpus\":500000000}");
}
