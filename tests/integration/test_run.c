/* cglat run on the real kernel (root): a workload confined in a cgroup of its own,
 * OOM-killed there without touching anything else, throttled to its CPU share, its
 * exit status passed on, signals forwarded, and its cgroup removed afterwards. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "helpers.h"

#ifndef CGLAT_WORKLOAD_BIN
#error "CGLAT_WORKLOAD_BIN must name the test workload"
#endif

static char name[64];

/* The directory of the run cgroup in a controller's hierarchy. */
static char *run_dir(const char *controller)
{
	static char dir[4][256];
	static int next;
	char *d = dir[next++ % 4];
	if (it_cgroup_v2())
		snprintf(d, 256, "/sys/fs/cgroup/cglat/%s", name);
	else
		snprintf(d, 256, "/sys/fs/cgroup/%s/cglat/%s", controller, name);
	return d;
}

static bool run_cgroup_exists(void)
{
	static const char *const ctls[] = {"memory", "cpu", "cpuacct", "cpuset", "pids"};
	for (size_t i = 0; i < 5; i++)
		if (access(run_dir(ctls[i]), F_OK) == 0)
			return true;
	return false;
}

static void pick_name(void)
{
	snprintf(name, sizeof(name), "it-%d", (int)getpid());
}

/* A test that fails half way must not leave a cgroup behind. */
static void remove_run_cgroup(void)
{
	static const char *const ctls[] = {"memory", "cpu", "cpuacct", "cpuset", "pids"};
	for (size_t i = 0; i < 5; i++)
		rmdir(run_dir(ctls[i]));
}

TestSuite(run, .init = pick_name, .fini = remove_run_cgroup, .timeout = 120);

static int cglat(char **out, char **err, const char *const args[])
{
	int status = 0;
	cr_assert_eq(it_cglat(args, out, err, &status, NULL), 0, "cglat timed out");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* oom_kill of the memory cgroup this test runs in (the session's, not the workload's). */
static long own_oom_kills(void)
{
	char dir[512], path[700], text[512];
	if (it_cgroup_dir(getpid(), "memory", dir, sizeof(dir)) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *p = strstr(text, "oom_kill ");
	return p ? atol(p + 9) : -1;
}

static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int a = 0, b = 0;
	cr_assert_eq(uname(&u), 0);
	cr_assert_eq(sscanf(u.release, "%d.%d", &a, &b), 2, "kernel release %s", u.release);
	return a > major || (a == major && b >= minor);
}

Test(run, allocating_past_the_limit_is_oom_killed_inside_its_cgroup)
{
	long before = own_oom_kills();
	/* memory+swap 32m too: past the limit is an OOM kill also on a host with swap. */
	const char *args[] = {"run",    "--memory", "32m", "--memory-swap",    "32m",
	                      "--name", name,       "--",  CGLAT_WORKLOAD_BIN, "alloc",
	                      "256",    NULL};
	char *out = NULL, *err = NULL;
	int rc = cglat(&out, &err, args);
	cr_log_info("cglat run: %s", err);
	cr_assert_eq(rc, 137, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "killed by signal 9 (SIGKILL), OOM-killed (oom_kill 0 -> 1)"), "%s",
	          err);
	/* v2 has memory.peak since 5.19; without it cglat shows no peak rather than a guess. */
	if (!it_cgroup_v2() || kernel_at_least(5, 19))
		cr_assert(strstr(err, "peak memory 32.0 MiB"), "%s", err);
	else
		cr_assert_null(strstr(err, "peak memory"), "a peak without memory.peak: %s", err);
	cr_assert_null(strstr(out, "touched"), "the workload finished: %s", out);
	cr_assert_eq(own_oom_kills(), before, "the test's own memory cgroup saw an OOM kill");
	cr_assert_not(run_cgroup_exists(), "cgroup left behind");
	free(out);
	free(err);
}

Test(run, within_the_limit_it_finishes)
{
	const char *args[] = {"run", "--memory",         "64m",   "--name", name,
	                      "--",  CGLAT_WORKLOAD_BIN, "alloc", "16",     NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_assert(strstr(out, "workload: touched 16 MiB"), "%s", out);
	cr_assert(strstr(err, "exit status 0"), "%s", err);
	cr_assert_null(strstr(err, "OOM"), "%s", err);
	free(out);
	free(err);
}

static long long keyed(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? atoll(p + strlen(key)) : -1;
}

Test(run, cpus_0_2_uses_a_fifth_of_a_cpu)
{
	const char *args[] = {"run", "--cpus",           "0.2",  "--keep", "--name", name,
	                      "--",  CGLAT_WORKLOAD_BIN, "spin", "2",      NULL};
	char *out = NULL, *err = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	char path[400], text[1024];
	double cpu_s;
	long long throttled;
	if (it_cgroup_v2()) {
		snprintf(path, sizeof(path), "%s/cpu.stat", run_dir("cpu"));
		cr_assert_eq(it_read_text(path, text, sizeof(text)), 0);
		cpu_s = (double)keyed(text, "usage_usec ") / 1e6;
	} else {
		snprintf(path, sizeof(path), "%s/cpuacct.usage", run_dir("cpuacct"));
		cr_assert_eq(it_read_text(path, text, sizeof(text)), 0, "no %s", path);
		cpu_s = (double)atoll(text) / 1e9;
		snprintf(path, sizeof(path), "%s/cpu.stat", run_dir("cpu"));
	}
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	throttled = keyed(text, "nr_throttled ");
	double share = cpu_s / 2.0;
	cr_log_info("spin 2 s under --cpus 0.2: %.3f s of CPU (%.2f CPUs), wall %.2f s, "
	            "throttled %lld times",
	            cpu_s, share, wall, throttled);
	cr_assert(share > 0.1 && share < 0.3, "used %.3f CPUs", share);
	cr_assert_gt(throttled, 0);
	cr_assert(strstr(err, "kept cgroup /cglat/"), "%s", err);
	cr_assert(strstr(err, "throttled "), "%s", err);
	free(out);
	free(err);
}

Test(run, exit_status_is_passed_on_and_the_cgroup_removed)
{
	const char *args[] = {"run",    "--pids-max", "10", "--cpu-shares",     "256",
	                      "--name", name,         "--", CGLAT_WORKLOAD_BIN, "exit",
	                      "3",      NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 3, "%s", err);
	cr_assert(strstr(err, "exit status 3"), "%s", err);
	cr_assert_not(run_cgroup_exists(), "cgroup left behind");
	free(out);
	free(err);
	const char *missing[] = {"run", "--name", name, "--", "/nonexistent/cmd", NULL};
	cr_assert_eq(cglat(&out, &err, missing), 127, "%s", err);
	cr_assert(strstr(err, "cannot run /nonexistent/cmd: No such file or directory"), "%s", err);
	cr_assert_not(run_cgroup_exists(), "cgroup left behind");
	free(out);
	free(err);
}

Test(run, signals_are_forwarded)
{
	const char *argv[] = {CGLAT_BIN,          "run",  "--name", name, "--",
	                      CGLAT_WORKLOAD_BIN, "spin", "30",     NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	/* Wait until the workload is in its cgroup. */
	char procs[400], text[256] = "";
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", run_dir("memory"));
	for (int i = 0; i < 200 * it_time_scale() && !*text; i++) {
		usleep(10000);
		it_read_text(procs, text, sizeof(text));
	}
	cr_assert_neq(text[0], '\0', "the workload never joined %s", procs);
	kill(p.pid, SIGTERM);
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_wait(&p, 20, &out, &err, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 143, "status %d: %s", status, err);
	cr_assert(strstr(err, "killed by signal 15 (SIGTERM)"), "%s", err);
	cr_assert_not(run_cgroup_exists(), "cgroup left behind");
	free(out);
	free(err);
}

Test(run, set_changes_a_running_one)
{
	/* 2 s of spinning, time scaled: the change must land while it runs. */
	char seconds[16];
	snprintf(seconds, sizeof(seconds), "%g", 2 * it_time_scale());
	const char *argv[] = {CGLAT_BIN,          "run",  "--name", name, "--",
	                      CGLAT_WORKLOAD_BIN, "spin", seconds,  NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	char cgroup[128], quota[400], text[64] = "";
	snprintf(cgroup, sizeof(cgroup), "cglat/%s", name);
	snprintf(quota, sizeof(quota), "%s/%s", run_dir("cpu"),
	         it_cgroup_v2() ? "cpu.max" : "cpu.cfs_quota_us");
	for (int i = 0; i < 200 * it_time_scale() && access(quota, F_OK) != 0; i++)
		usleep(10000);
	const char *set[] = {"set", "--cgroup", cgroup, "--cpus", "0.5", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, set), 0, "%s", err);
	cr_assert_eq(it_read_text(quota, text, sizeof(text)), 0);
	cr_assert(strncmp(text, "50000", 5) == 0, "%s holds %s", quota, text);
	free(out);
	free(err);
	int status = 0;
	cr_assert_eq(it_wait(&p, 20, &out, &err, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", err);
	free(out);
	free(err);
}

Test(run, bad_input_makes_nothing)
{
	const char *args[] = {"run", "--cpus", "0", "--name", name, "--", "true", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 2, "%s", err);
	cr_assert_not(run_cgroup_exists());
	free(out);
	free(err);
	/* The kernel refuses the CPU list: nothing runs, the cgroup goes. */
	const char *cpus[] = {"run", "--cpuset-cpus", "0-999", "--name", name, "--", "true", NULL};
	cr_assert_eq(cglat(&out, &err, cpus), 1, "%s", err);
	cr_assert(strstr(err, "cpuset.cpus"), "%s", err);
	cr_assert_not(run_cgroup_exists(), "cgroup left behind");
	free(out);
	free(err);
	const char *bad_name[] = {"run", "--name", "../x", "--", "true", NULL};
	cr_assert_eq(cglat(&out, &err, bad_name), 2, "%s", err);
	cr_assert(strstr(err, "invalid --name"), "%s", err);
	free(out);
	free(err);
}
