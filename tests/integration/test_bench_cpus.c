/* `cglat bench --container` on a container started with `docker run --cpus`: Docker keeps
 * its CPU limit as NanoCpus and refuses CPU quota and period updates on it, so the docker
 * and api paths send NanoCpus (`docker update --cpus`, "NanoCpus" in the API), the kernel
 * still gets the quota, and at the end (also on SIGINT and SIGTERM) Docker's record and
 * the kernel's files are what they were. Root, live dockerd, BPF. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_it.h"
#include "helpers.h"

static char own_name[64];

static void remove_own_container(void)
{
	if (own_name[0])
		it_docker(NULL, NULL, "rm", "-f", own_name, NULL);
	own_name[0] = '\0';
}

TestSuite(bench_cpus, .fini = remove_own_container, .timeout = 120);

/* `docker run --cpus 0.5 --memory 300m` of the test image, named for this test run. */
static void start_cpus_container(void)
{
	it_ensure_image();
	snprintf(own_name, sizeof(own_name), "cglat-it-cpus-%d", (int)getpid());
	char *err = NULL;
	int rc = it_docker(NULL, &err, "run", "-d", "--network", "none", "--cgroupns", "host",
	                   "--name", own_name, "--label", "cglat.it=1", "--cpus", "0.5", "--memory",
	                   "300m", IT_IMAGE, NULL);
	cr_assert_eq(rc, 0, "docker run --cpus 0.5 failed: %s", err);
	free(err);
}

/* What a user sees of the container's limits: Docker's record and the kernel's files. */
struct view {
	pid_t pid;
	char docker[160]; /* NanoCpus CpuQuota CpuPeriod Memory MemorySwap */
	long long nano_cpus;
	char quota_file[64], period_file[64], memory_file[64];
};

static void file_of(pid_t pid, const char *controller, const char *v1_name, char *out, size_t len)
{
	char dir[512], path[700];
	cr_assert_eq(it_cgroup_dir(pid, controller, dir, sizeof(dir)), 0, "no %s cgroup for pid %d",
	             controller, (int)pid);
	snprintf(path, sizeof(path), "%s/%s", dir, it_cgroup_file(v1_name));
	cr_assert_eq(it_read_text(path, out, len), 0, "cannot read %s", path);
}

static void view(struct view *v)
{
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "container", "inspect", "--format",
	                   "{{.State.Pid}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} "
	                   "{{.HostConfig.CpuPeriod}} {{.HostConfig.Memory}} "
	                   "{{.HostConfig.MemorySwap}}",
	                   own_name, NULL);
	cr_assert_eq(rc, 0, "docker inspect %s: %s", own_name, err);
	int pid = 0, used = 0;
	cr_assert_eq(sscanf(out, "%d %n%lld", &pid, &used, &v->nano_cpus), 2,
	             "docker inspect said: %s", out);
	cr_assert_gt(pid, 0, "container %s is not running", own_name);
	v->pid = pid;
	snprintf(v->docker, sizeof(v->docker), "%s", out + used);
	v->docker[strcspn(v->docker, "\n")] = '\0';
	file_of(v->pid, "cpu", "cpu.cfs_quota_us", v->quota_file, sizeof(v->quota_file));
	file_of(v->pid, "cpu", "cpu.cfs_period_us", v->period_file, sizeof(v->period_file));
	file_of(v->pid, "memory", "memory.limit_in_bytes", v->memory_file, sizeof(v->memory_file));
	free(out);
	free(err);
}

/* --cpus 0.5 as Docker and the kernel hold it: NanoCpus, no CpuQuota or CpuPeriod in
 * the record, quota 50000 of a 100000 us period in the files. */
static void assert_started_with_cpus(const struct view *v)
{
	cr_assert_eq(v->nano_cpus, 500000000, "NanoCpus: %s", v->docker);
	cr_assert(strncmp(v->docker, "500000000 0 0 314572800 ", 24) == 0,
	          "NanoCpus CpuQuota CpuPeriod Memory: %s", v->docker);
	cr_assert_eq(it_read_limit(v->pid, IT_CPU_QUOTA), 50000, "quota file: %s", v->quota_file);
	cr_assert_eq(it_read_limit(v->pid, IT_CPU_PERIOD), 100000, "period file: %s",
	             v->period_file);
}

static void assert_same(const struct view *before, const struct view *after)
{
	cr_expect_str_eq(after->docker, before->docker,
	                 "docker inspect NanoCpus CpuQuota CpuPeriod Memory MemorySwap: was %s, "
	                 "is %s",
	                 before->docker, after->docker);
	cr_expect_str_eq(after->quota_file, before->quota_file, "%s was %s, is %s",
	                 it_cgroup_file("cpu.cfs_quota_us"), before->quota_file, after->quota_file);
	cr_expect_str_eq(after->period_file, before->period_file, "%s was %s, is %s",
	                 it_cgroup_file("cpu.cfs_period_us"), before->period_file,
	                 after->period_file);
	cr_expect_str_eq(after->memory_file, before->memory_file, "%s was %s, is %s",
	                 it_cgroup_file("memory.limit_in_bytes"), before->memory_file,
	                 after->memory_file);
}

/* n samples, none invalid, for every path asked for and this resource; none for the
 * other resource when only one was asked for. */
static void assert_rows(json_t *root, const char *resource, int n, const char *err)
{
	static const char *const paths[] = {"docker", "api", "direct"};
	for (int p = 0; p < 3; p++) {
		json_t *row = bit_row_of(root, paths[p], resource, "request_to_write");
		cr_assert_not_null(row, "no %s %s row; stderr:\n%s", paths[p], resource, err);
		cr_expect_eq(json_integer_value(json_object_get(row, "n")), n,
		             "%s %s: n is not %d; stderr:\n%s", paths[p], resource, n, err);
		cr_expect_eq(json_integer_value(json_object_get(row, "invalid")), 0,
		             "%s %s: invalid samples; stderr:\n%s", paths[p], resource, err);
		if (p < 2) {
			row = bit_row_of(root, paths[p], resource, "daemon_to_write");
			cr_expect(row && json_integer_value(json_object_get(row, "n")) == n,
			          "%s %s: daemon_to_write is not %d samples", paths[p], resource,
			          n);
		}
	}
}

static void assert_cleanup(json_t *root)
{
	cr_expect_eq(json_integer_value(json_object_get(root, "invalid_samples")), 0);
	json_t *c = json_object_get(root, "container");
	cr_expect_str_eq(json_string_value(json_object_get(c, "name")), own_name);
	cr_expect(json_is_false(json_object_get(c, "created")));
	cr_expect_str_eq(json_string_value(json_object_get(c, "cpu_field")), "NanoCpus");
	json_t *cleanup = json_object_get(root, "cleanup");
	cr_expect(json_is_true(json_object_get(cleanup, "limits_restored")),
	          "cleanup.limits_restored is not true");
	cr_expect_eq(json_integer_value(json_object_get(cleanup, "containers_removed")), 0);
}

Test(bench_cpus, every_path_changes_and_restores_nano_cpus)
{
	start_cpus_container();
	struct view before, after;
	view(&before);
	assert_started_with_cpus(&before);

	const char *const args[] = {"-n",       "3",       "--container",
	                            own_name,   "--paths", "docker,api,direct",
	                            "--format", "json",    NULL};
	char *err = NULL;
	json_t *root = bit_run_json(args, &err, NULL);
	assert_rows(root, "cpu", 3, err);
	assert_rows(root, "memory", 3, err);
	assert_cleanup(root);
	cr_expect_null(strstr(err, "warning"), "stderr:\n%s", err);
	cr_expect_null(strstr(err, "Conflicting options"), "stderr:\n%s", err);

	cr_assert(it_container_exists(own_name), "cglat removed %s", own_name);
	view(&after);
	assert_same(&before, &after);
	json_decref(root);
	free(err);
}

Test(bench_cpus, memory_alone_ignores_the_cpu_setting)
{
	start_cpus_container();
	struct view before, after;
	view(&before);
	assert_started_with_cpus(&before);

	/* A CPU period Docker would refuse on this container does not matter to memory. */
	const char *const args[] = {
	        "-n",           "3",     "--container", own_name, "--resources", "memory",
	        "--cpu-period", "50000", "--format",    "json",   NULL};
	char *err = NULL;
	json_t *root = bit_run_json(args, &err, NULL);
	assert_rows(root, "memory", 3, err);
	cr_expect_null(bit_row_of(root, "docker", "cpu", "request_to_write"),
	               "a cpu row without cpu");
	cr_expect_null(bit_row_of(root, "direct", "cpu", "request_to_write"),
	               "a cpu row without cpu");
	assert_cleanup(root);
	cr_expect_null(strstr(err, "warning"), "stderr:\n%s", err);

	view(&after);
	assert_same(&before, &after);
	json_decref(root);
	free(err);
}

Test(bench_cpus, another_cpu_period_is_refused_before_anything_changes)
{
	start_cpus_container();
	struct view before, after;
	view(&before);
	const char *const args[] = {"-n",           "3",     "--container", own_name,
	                            "--cpu-period", "50000", NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, NULL), 0);
	cr_expect_eq(it_exit_code(status), 1, "exit status %d; stderr:\n%s", it_exit_code(status),
	             err);
	cr_expect_str_empty(out, "stdout: %s", out);
	char *want = it_strf("cglat: container %s was started with --cpus (NanoCpus 500000000)",
	                     own_name);
	cr_expect(strncmp(err, want, strlen(want)) == 0, "stderr:\n%s", err);
	cr_expect(strstr(err, "leave out --cpu-period 50000"), "stderr:\n%s", err);
	cr_expect(strchr(err, '\n') == err + strlen(err) - 1, "not one line:\n%s", err);
	view(&after);
	assert_same(&before, &after);
	free(want);
	free(out);
	free(err);
}

static bool child_running(pid_t pid)
{
	siginfo_t si = {0};
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* A signal once the run has set its base limits (the quota file leaves 50000): the
 * container's NanoCpus and files come back all the same. */
static void interrupt_run(int sig, const char *sig_name)
{
	start_cpus_container();
	struct view before, after;
	view(&before);
	assert_started_with_cpus(&before);

	const char *argv[] = {CGLAT_BIN, "-n", "1000", "--container", own_name, NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	char quota[64] = "";
	bool changed = false;
	for (int i = 0; i < 1200 * it_time_scale() && !changed && child_running(p.pid); i++) {
		file_of(before.pid, "cpu", "cpu.cfs_quota_us", quota, sizeof(quota));
		changed = strcmp(quota, before.quota_file) != 0;
		it_drain(&p);
		usleep(50000);
	}
	bool running = child_running(p.pid);
	if (running)
		kill(p.pid, sig);
	char *out = NULL, *err = NULL;
	int status = 0;
	int rc = it_wait(&p, 30, &out, &err, &status);
	cr_assert(changed, "the quota file never left %s; stderr:\n%s", before.quota_file, err);
	cr_assert(running, "cglat ended before it was signalled; stderr:\n%s", err);
	cr_assert_eq(rc, 0, "cglat did not stop within 30 s of %s", sig_name);
	cr_expect_eq(it_exit_code(status), 1, "exit status 0x%x after %s; stderr:\n%s", status,
	             sig_name, err);
	char *said = it_strf("cglat: interrupted by %s", sig_name);
	cr_expect(strstr(err, said), "stderr:\n%s", err);
	cr_expect(strstr(err, "cglat: cleaned up: original limits restored"), "stderr:\n%s", err);
	cr_expect_null(strstr(err, "warning"), "stderr:\n%s", err);
	view(&after);
	assert_same(&before, &after);
	free(said);
	free(out);
	free(err);
}

Test(bench_cpus, sigint_restores_nano_cpus)
{
	interrupt_run(SIGINT, "SIGINT");
}

Test(bench_cpus, sigterm_restores_nano_cpus)
{
	interrupt_run(SIGTERM, "SIGTERM");
}
