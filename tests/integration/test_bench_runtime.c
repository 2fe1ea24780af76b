/* The runtime path end to end (root, live dockerd, BPF): cglat runs the container's
 * runtime itself (`runc --root /run/docker/runtime-runc/moby update`), every sample is the
 * write of that runtime process, and a container cglat did not make has Docker's record
 * and the kernel's files back as they were, although the path bypasses dockerd. A runtime
 * or a state root that is not there is refused before anything is made or changed. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_it.h"
#include "helpers.h"

static char own_name[64];
static char empty_root[64];

static void clean_up(void)
{
	if (own_name[0])
		it_docker(NULL, NULL, "rm", "-f", own_name, NULL);
	own_name[0] = '\0';
	if (empty_root[0])
		rmdir(empty_root);
	empty_root[0] = '\0';
}

TestSuite(bench_runtime, .fini = clean_up, .timeout = 120);

static void start_own_container(const char *const limits[])
{
	snprintf(own_name, sizeof(own_name), "cglat-it-rt-%d", (int)getpid());
	bit_start_container(own_name, limits);
}

/* What a user sees of the container's limits: Docker's record and the kernel's files. */
struct view {
	char docker[200]; /* Memory MemorySwap CpuQuota CpuPeriod NanoCpus */
	char file[4][64]; /* memory, memory+swap, quota, period as the kernel holds them */
};

static void view(struct view *v)
{
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "container", "inspect", "--format",
	                   "{{.State.Pid}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} "
	                   "{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} "
	                   "{{.HostConfig.NanoCpus}}",
	                   own_name, NULL);
	cr_assert_eq(rc, 0, "docker inspect %s: %s", own_name, err);
	int pid = 0, used = 0;
	cr_assert_eq(sscanf(out, "%d %n", &pid, &used), 1, "docker inspect said: %s", out);
	cr_assert_gt(pid, 0, "container %s is not running", own_name);
	snprintf(v->docker, sizeof(v->docker), "%s", out + used);
	v->docker[strcspn(v->docker, "\n")] = '\0';
	static const char *const files[4][2] = {{"memory", "memory.limit_in_bytes"},
	                                        {"memory", "memory.memsw.limit_in_bytes"},
	                                        {"cpu", "cpu.cfs_quota_us"},
	                                        {"cpu", "cpu.cfs_period_us"}};
	for (int i = 0; i < 4; i++) {
		char dir[512], path[700];
		cr_assert_eq(it_cgroup_dir(pid, files[i][0], dir, sizeof(dir)), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, it_cgroup_file(files[i][1]));
		if (access(path, F_OK) != 0) { /* no swap accounting */
			snprintf(v->file[i], sizeof(v->file[i]), "-");
			continue;
		}
		cr_assert_eq(it_read_text(path, v->file[i], sizeof(v->file[i])), 0,
		             "cannot read %s", path);
	}
	free(out);
	free(err);
}

static void assert_same(const struct view *before, const struct view *after)
{
	cr_expect_str_eq(after->docker, before->docker,
	                 "docker inspect Memory MemorySwap CpuQuota CpuPeriod NanoCpus: was %s, "
	                 "is %s",
	                 before->docker, after->docker);
	static const char *const names[4] = {"memory limit", "memory+swap limit", "CPU quota",
	                                     "CPU period"};
	for (int i = 0; i < 4; i++)
		cr_expect_str_eq(after->file[i], before->file[i], "the kernel's %s was %s, is %s",
		                 names[i], before->file[i], after->file[i]);
}

/* runtime and direct: n samples, none invalid, on both resources; no daemon_to_write on
 * the runtime path, which has no daemon. */
static void assert_runtime_rows(json_t *root, int n, const char *err)
{
	static const char *const paths[] = {"runtime", "direct"};
	static const char *const resources[] = {"memory", "cpu"};
	static const char *const metrics[] = {"request_to_write", "round_trip"};
	for (int p = 0; p < 2; p++)
		for (int r = 0; r < 2; r++) {
			for (int m = 0; m < 2; m++) {
				json_t *row = bit_row_of(root, paths[p], resources[r], metrics[m]);
				cr_assert_not_null(row, "no %s %s %s row; stderr:\n%s", paths[p],
				                   resources[r], metrics[m], err);
				cr_expect_eq(json_integer_value(json_object_get(row, "n")), n,
				             "%s %s %s: n is not %d; stderr:\n%s", paths[p],
				             resources[r], metrics[m], n, err);
				cr_expect_eq(json_integer_value(json_object_get(row, "invalid")), 0,
				             "%s %s %s: invalid samples; stderr:\n%s", paths[p],
				             resources[r], metrics[m], err);
			}
			cr_expect_null(bit_row_of(root, paths[p], resources[r], "daemon_to_write"),
			               "%s has no daemon, yet a daemon_to_write row", paths[p]);
		}
	cr_expect_eq(json_integer_value(json_object_get(root, "invalid_samples")), 0);
	json_t *rt = json_object_get(root, "runtime");
	cr_assert(json_is_object(rt), "the JSON report has no runtime object");
	const char *name = json_string_value(json_object_get(rt, "name"));
	const char *bin = json_string_value(json_object_get(rt, "binary"));
	const char *dir = json_string_value(json_object_get(rt, "root"));
	cr_assert(name && bin && dir, "runtime: name, binary, root");
	char *want = it_strf("/runtime-%s/moby", name);
	cr_expect(strstr(dir, want) && access(dir, F_OK) == 0, "runtime.root is %s", dir);
	cr_expect(bin[0] == '/' && access(bin, X_OK) == 0, "runtime.binary is %s", bin);
	free(want);
}

Test(bench_runtime, made_container_every_sample_is_the_runtimes_write)
{
	const char *const args[] = {"-n",       "3",    "--paths", "runtime,direct",
	                            "--format", "json", NULL};
	char *err = NULL;
	pid_t pid = 0;
	json_t *root = bit_run_json(args, &err, &pid);
	assert_runtime_rows(root, 3, err);
	json_t *cleanup = json_object_get(root, "cleanup");
	cr_expect_eq(json_integer_value(json_object_get(cleanup, "containers_removed")), 1);
	char *owned = it_owned_containers(pid);
	cr_expect_str_empty(owned, "containers of cglat (pid %d) left behind:\n%s", (int)pid,
	                    owned);
	if (owned[0])
		it_remove_owned(pid);
	free(owned);
	json_decref(root);
	free(err);
}

/* CSV: each runtime sample was written by its own runtime process, named after the
 * binary, not by dockerd's runc (which this path never asks). */
Test(bench_runtime, each_sample_is_written_by_the_process_cglat_ran)
{
	const char *const args[] = {"-n",     "2",        "--paths", "runtime", "--resources",
	                            "memory", "--format", "csv",     NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	pid_t pid = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, &pid), 0, "stderr:\n%s", err);
	cr_assert_eq(it_exit_code(status), 0, "cglat exited %d; stderr:\n%s", it_exit_code(status),
	             err);
	char *save = NULL;
	char *line = strtok_r(out, "\n", &save);
	cr_assert_not_null(line, "empty CSV");
	char *head[32], *cells[32];
	size_t ncols = it_csv_split(line, head, 32);
	int col_path = -1, col_valid = -1, col_pid = -1, col_comm = -1;
	for (size_t i = 0; i < ncols; i++) {
		if (!strcmp(head[i], "path"))
			col_path = (int)i;
		else if (!strcmp(head[i], "valid"))
			col_valid = (int)i;
		else if (!strcmp(head[i], "writer_pid"))
			col_pid = (int)i;
		else if (!strcmp(head[i], "writer_comm"))
			col_comm = (int)i;
	}
	cr_assert(col_path >= 0 && col_valid >= 0 && col_pid >= 0 && col_comm >= 0, "CSV header");
	long pids[8] = {0};
	size_t rows = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		cr_assert_eq(it_csv_split(line, cells, 32), ncols);
		cr_assert_str_eq(cells[col_path], "runtime");
		cr_expect_str_eq(cells[col_valid], "1", "an invalid sample: %s", line);
		long writer = strtol(cells[col_pid], NULL, 10);
		cr_expect_gt(writer, 0, "%s", line);
		cr_expect_neq(writer, (long)pid, "cglat itself wrote: %s", line);
		cr_expect(strstr(cells[col_comm], "runc") || strstr(cells[col_comm], "crun"),
		          "writer_comm %s", cells[col_comm]);
		for (size_t k = 0; k < rows && k < 8; k++)
			cr_expect_neq(pids[k], writer, "two samples with one writer: %s", line);
		if (rows < 8)
			pids[rows] = writer;
		rows++;
	}
	cr_expect_eq(rows, 2, "two samples (warmup not listed); stderr:\n%s", err);
	free(out);
	free(err);
}

static void bench_and_compare(const char *const limits[])
{
	start_own_container(limits);
	struct view before, after;
	view(&before);
	const char *const args[] = {"-n",       "3",       "--container",
	                            own_name,   "--paths", "runtime,direct",
	                            "--format", "json",    NULL};
	char *err = NULL;
	json_t *root = bit_run_json(args, &err, NULL);
	assert_runtime_rows(root, 3, err);
	json_t *c = json_object_get(root, "container");
	cr_expect(json_is_false(json_object_get(c, "created")));
	cr_expect(
	        json_is_true(json_object_get(json_object_get(root, "cleanup"), "limits_restored")),
	        "cleanup.limits_restored is not true; stderr:\n%s", err);
	cr_expect_null(strstr(err, "warning"), "stderr:\n%s", err);
	cr_assert(it_container_exists(own_name), "cglat removed %s", own_name);
	view(&after);
	assert_same(&before, &after);
	json_decref(root);
	free(err);
}

Test(bench_runtime, container_limits_are_back_after_the_run)
{
	const char *const limits[] = {"--memory",     "300m",        "--memory-swap",
	                              "600m",         "--cpu-quota", "50000",
	                              "--cpu-period", "100000",      NULL};
	bench_and_compare(limits);
}

/* --cpus: Docker holds NanoCpus; the runtime sets the quota behind dockerd's back, and
 * Docker's record and the files are what they were after the run all the same. */
Test(bench_runtime, container_started_with_cpus_is_back_after_the_run)
{
	const char *const limits[] = {"--cpus", "0.5", "--memory", "300m", NULL};
	bench_and_compare(limits);
}

/* Exit 1, one line naming the problem and the fix, nothing made, nothing changed. */
static void refused(const char *const args[], const char *const said[])
{
	double since = it_now();
	char *out = NULL, *err = NULL;
	int status = 0;
	pid_t pid = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, &pid), 0);
	double until = it_now();
	cr_expect_eq(it_exit_code(status), 1, "exit status %d; stderr:\n%s", it_exit_code(status),
	             err);
	cr_expect_str_empty(out, "stdout: %s", out);
	cr_expect(strncmp(err, "cglat: ", 7) == 0 && strchr(err, '\n') == err + strlen(err) - 1,
	          "not one line \"cglat: ...\":\n%s", err);
	for (size_t i = 0; said[i]; i++)
		cr_expect(strstr(err, said[i]), "stderr lacks \"%s\":\n%s", said[i], err);
	char *made = it_created_containers(since, until, pid);
	cr_expect_str_empty(made, "containers made: %s", made);
	free(made);
	free(out);
	free(err);
}

Test(bench_runtime, missing_runtime_binary_is_refused_before_anything)
{
	const char *const args[] = {
	        "-n", "3", "--paths", "runtime,direct", "--runtime-bin", "/nonexistent/runc", NULL};
	const char *const said[] = {"--runtime-bin /nonexistent/runc: no such executable",
	                            "leave out the runtime path (--paths docker,api,direct)", NULL};
	refused(args, said);
}

Test(bench_runtime, missing_state_root_is_refused_before_anything)
{
	const char *const args[] = {"-n",
	                            "3",
	                            "--paths",
	                            "runtime,direct",
	                            "--runtime-root",
	                            "/nonexistent/runtime-runc/moby",
	                            NULL};
	const char *const said[] = {"--runtime-root /nonexistent/runtime-runc/moby: No such file",
	                            "leave out the runtime path", NULL};
	refused(args, said);
}

/* A state root without the container's state (what a container another dockerd or a
 * rootless one runs looks like from here): refused, its limits untouched. */
Test(bench_runtime, container_without_state_under_the_root_is_refused)
{
	const char *const limits[] = {"--memory", "300m", NULL};
	start_own_container(limits);
	snprintf(empty_root, sizeof(empty_root), "/tmp/cglat-it-rt-root-XXXXXX");
	cr_assert_not_null(mkdtemp(empty_root));
	struct view before, after;
	view(&before);
	const char *const args[] = {"-n",      "3",       "--container",    own_name,
	                            "--paths", "runtime", "--runtime-root", empty_root,
	                            NULL};
	char *want = it_strf("runtime path: runc keeps no state of container %s under %s", own_name,
	                     empty_root);
	const char *const said[] = {want, "pass --runtime-root DIR", NULL};
	refused(args, said);
	view(&after);
	assert_same(&before, &after);
	free(want);
}
