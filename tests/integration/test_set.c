/* cglat set against real containers (root, dockerd; cgroup v1, v2 or hybrid): the
 * kernel's files change, Docker's record does not, bad input changes nothing, and a
 * change that the kernel refuses half way is put back. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helpers.h"

static char cid[65];
static char cname[64];
static pid_t cpid;

static void start_container(void)
{
	it_ensure_image();
	snprintf(cname, sizeof(cname), "cglat-set-%d", (int)getpid());
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "run", "-d", "--network", "none", "--cgroupns=host",
	                   "--label", "cglat.test=set", "--name", cname, IT_IMAGE, NULL);
	cr_assert_eq(rc, 0, "docker run failed: %s", err);
	snprintf(cid, sizeof(cid), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", cid, NULL), 0);
	cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);
}

static void remove_container(void)
{
	if (*cid)
		it_docker(NULL, NULL, "rm", "-f", cid, NULL);
}

TestSuite(set, .init = start_container, .fini = remove_container, .timeout = 120);

/* The text of a cgroup file of the container: "memory", "memory.limit_in_bytes" (the
 * v1 name; on v2 the file that holds the same limit is read). */
static char *file_of(const char *controller, const char *v1_file)
{
	const char *file = it_cgroup_file(v1_file);
	static char text[8][256];
	static int next;
	char dir[512], path[700];
	cr_assert_eq(it_cgroup_dir(cpid, controller, dir, sizeof(dir)), 0, "no %s cgroup",
	             controller);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	char *buf = text[next++ % 8];
	cr_assert_eq(it_read_text(path, buf, 256), 0, "cannot read %s", path);
	return buf;
}

/* Every file a test below might touch, as one string. */
static char *snapshot(void)
{
	return it_strf("%s %s %s %s %s %s %s", file_of("memory", "memory.limit_in_bytes"),
	               file_of("memory", "memory.memsw.limit_in_bytes"),
	               file_of("cpu", "cpu.cfs_quota_us"), file_of("cpu", "cpu.cfs_period_us"),
	               file_of("cpu", "cpu.shares"), file_of("cpuset", "cpuset.cpus"),
	               file_of("pids", "pids.max"));
}

static char *docker_view(void)
{
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f",
	                       "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
	                       "{{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} "
	                       "{{.HostConfig.CpuShares}} {{.HostConfig.PidsLimit}}",
	                       cid, NULL),
	             0);
	return out;
}

static int cglat(char **out, char **err, const char *const args[])
{
	int status = 0;
	cr_assert_eq(it_cglat(args, out, err, &status, NULL), 0, "cglat timed out");
	return it_exit_code(status);
}

/* The ns figure of "wrote N files in X us (NS ns)". */
static uint64_t write_ns(const char *out)
{
	const char *p = strstr(out, "wrote ");
	cr_assert_not_null(p, "no summary line in: %s", out);
	p = strchr(p, '(');
	cr_assert_not_null(p);
	return strtoull(p + 1, NULL, 10);
}

Test(set, changes_the_kernel_files_and_docker_does_not_see_it)
{
	char *docker_before = docker_view();
	const char *args[] = {"set",          cname, "--memory",   "256m", "--cpus",   "0.5",
	                      "--cpu-shares", "512", "--pids-max", "100",  "--verify", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_log_info("cglat set: %s", out);
	/* Docker's defaults before, the values asked for after, in each version's terms:
	 * 512 shares are weight 1 + (512 - 2) * 9999 / 262142 = 20 on v2. */
	const bool v2 = it_cgroup_v2();
	const char *want[] = {v2 ? "memory.max: max -> 268435456\n"
	                         : "memory.limit_in_bytes: 9223372036854771712 -> 268435456\n",
	                      v2 ? "cpu.max: max 100000 -> 50000 100000\n"
	                         : "cpu.cfs_quota_us: -1 -> 50000\n",
	                      v2 ? "cpu.weight: 100 -> 20\n" : "cpu.shares: 1024 -> 512\n",
	                      "pids.max: max -> 100\n"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert(strstr(out, want[i]), "no line %s in: %s", want[i], out);
	cr_assert(strstr(out, "wrote 4 files in "), "%s", out);
	cr_assert(strstr(out, ", verified"), "%s", out);
	cr_assert(strstr(err, "warning: Docker does not know about this change"), "%s", err);
	cr_assert_eq(it_count_lines(err), 1, "one warning only: %s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 256 << 20);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 50000);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_PERIOD), 100000);
	cr_assert_str_eq(file_of("cpu", "cpu.shares"), v2 ? "20" : "512");
	cr_assert_str_eq(file_of("pids", "pids.max"), "100");
	char *docker_after = docker_view();
	cr_assert_str_eq(docker_after, docker_before, "Docker's record changed");
	free(docker_before);
	free(docker_after);
	free(out);
	free(err);
}

/* The floor cglat set is held to: one write(2) each of the memory limit and the CPU
 * quota of the container, on fds kept open, with the values of iteration i. */
static uint64_t floor_ns(int i)
{
	char dir[512], mem[700], cpu[700], cpu_value[32];
	cr_assert_eq(it_cgroup_dir(cpid, "memory", dir, sizeof(dir)), 0);
	snprintf(mem, sizeof(mem), "%s/%s", dir, it_cgroup_file("memory.limit_in_bytes"));
	cr_assert_eq(it_cgroup_dir(cpid, "cpu", dir, sizeof(dir)), 0);
	snprintf(cpu, sizeof(cpu), "%s/%s", dir, it_cgroup_file("cpu.cfs_quota_us"));
	snprintf(cpu_value, sizeof(cpu_value), "%s%s", i % 2 ? "50000" : "60000",
	         it_cgroup_v2() ? " 100000" : "");
	const char *mem_value = i % 2 ? "134217728" : "135266304";
	int fm = open(mem, O_WRONLY | O_CLOEXEC), fc = open(cpu, O_WRONLY | O_CLOEXEC);
	cr_assert(fm >= 0 && fc >= 0, "cannot open %s or %s: %s", mem, cpu, strerror(errno));
	uint64_t t0 = it_mono_ns();
	ssize_t a = write(fm, mem_value, strlen(mem_value));
	uint64_t t1 = it_mono_ns();
	ssize_t b = write(fc, cpu_value, strlen(cpu_value));
	uint64_t t2 = it_mono_ns();
	cr_assert(a > 0 && b > 0, "writing %s or %s: %s", mem, cpu, strerror(errno));
	close(fm);
	close(fc);
	return (t1 - t0) + (t2 - t1);
}

/* The figure the issue asks for: memory and CPU on a running container, in microseconds,
 * held to the cost of the two writes themselves measured in the same run, so the check
 * means the same on a fast host and in a slow VM. */
Test(set, memory_and_cpu_writes_cost_about_two_writes)
{
	uint64_t best = UINT64_MAX, sum = 0, floor_best = UINT64_MAX;
	for (int i = 0; i < 10; i++) {
		const char *args[] = {"set",      cid,
		                      "--memory", i % 2 ? "128m" : "129m",
		                      "--cpus",   i % 2 ? "0.5" : "0.6",
		                      NULL};
		char *out = NULL, *err = NULL;
		cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
		uint64_t ns = write_ns(out), f = floor_ns(i);
		best = ns < best ? ns : best;
		floor_best = f < floor_best ? f : floor_best;
		sum += ns;
		free(out);
		free(err);
	}
	cr_log_info("memory+cpu writes: cglat set best %" PRIu64 " ns, mean %" PRIu64
	            " ns; two writes on open fds best %" PRIu64 " ns",
	            best, sum / 10, floor_best);
	cr_assert_lt(best, 3 * floor_best,
	             "cglat set's best of 10 is %" PRIu64 " ns, over 3x the %" PRIu64
	             " ns of two writes on open fds",
	             best, floor_best);
}

Test(set, json_and_dry_run)
{
	char *before = snapshot();
	const char *args[] = {"set",   cid,         "--memory", "64m",  "--cpu-quota",
	                      "20000", "--dry-run", "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_assert(strstr(out, "\"dry_run\": true"), "%s", out);
	char *file = it_strf("\"file\": \"%s\"", it_cgroup_file("memory.limit_in_bytes"));
	cr_assert(strstr(out, file), "no %s in: %s", file, out);
	free(file);
	cr_assert(strstr(out, it_cgroup_v2() ? "\"new\": \"20000 100000\"" : "\"new\": \"20000\""),
	          "%s", out);
	cr_assert(it_cgroup_v2()
	                  ? strstr(out, "\"mode\": \"v2\"") != NULL
	                  : strstr(out, "\"mode\": \"hybrid\"") || strstr(out, "\"mode\": \"v1\""),
	          "%s", out);
	char *after = snapshot();
	cr_assert_str_eq(after, before, "a dry run changed files");
	free(out);
	free(err);
	free(before);
	free(after);
}

Test(set, pid_and_cgroup_targets_and_nice)
{
	char pid[16], cgroup[128];
	snprintf(pid, sizeof(pid), "%d", (int)cpid);
	snprintf(cgroup, sizeof(cgroup), "docker/%s", cid);
	const char *by_pid[] = {"set", "--pid", pid, "--cpu-quota", "30000", "--nice", "7", NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(cglat(&out, &err, by_pid), 0, "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 30000);
	cr_assert(strstr(out, "nice: 1 task -> 7\n"), "%s", out);
	cr_assert(strstr(out, "reniced 1 task"), "%s", out);
	errno = 0;
	cr_assert_eq(getpriority(PRIO_PROCESS, (id_t)cpid), 7);
	free(out);
	free(err);
	const char *by_cgroup[] = {"set", "--cgroup", cgroup, "--pids-max", "77", NULL};
	cr_assert_eq(cglat(&out, &err, by_cgroup), 0, "%s", err);
	cr_assert_str_eq(file_of("pids", "pids.max"), "77");
	cr_assert(strstr(err, "Docker does not know"), "a cgroup of a container warns too: %s",
	          err);
	free(out);
	free(err);
}

static void refused(int want_exit, const char *want_err, const char *const args[])
{
	char *out = NULL, *err = NULL;
	int rc = cglat(&out, &err, args);
	cr_assert_eq(rc, want_exit, "%s %s: exit %d, stderr: %s", args[2], args[3], rc, err);
	cr_assert(strstr(err, want_err), "%s %s: stderr: %s", args[2], args[3], err);
	cr_assert_str_eq(out, "", "output on failure: %s", out);
	free(out);
	free(err);
}

Test(set, bad_input_changes_nothing)
{
	char *before = snapshot();
	refused(1, "is below the current usage",
	        (const char *[]){"set", cid, "--memory", "4k", NULL});
	refused(2, "must be greater than 0", (const char *[]){"set", cid, "--cpus", "0", NULL});
	refused(2, "from 2 to 262144", (const char *[]){"set", cid, "--cpu-shares", "1", NULL});
	if (!it_cgroup_v2())
		refused(1, "memory.high needs cgroup v2",
		        (const char *[]){"set", cid, "--memory-high", "1g", "--memory", "512m",
		                         NULL});
	refused(1, "no such container",
	        (const char *[]){"set", "cglat-no-such-container", "--memory", "1g", NULL});
	refused(1, "below the kernel's minimum",
	        (const char *[]){"set", cid, "--cpus", "0.001", NULL});
	/* The kernel refuses the CPU list after the memory limit was written: put back. */
	char *put_back = it_strf("put back the 1 file already written (%s)",
	                         it_cgroup_file("memory.limit_in_bytes"));
	refused(1, put_back,
	        (const char *[]){"set", cid, "--memory", "300m", "--cpuset-cpus", "0-999", NULL});
	free(put_back);
	char *after = snapshot();
	cr_assert_str_eq(after, before, "files changed");
	free(before);
	free(after);
}
