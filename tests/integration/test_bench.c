/* cglat end to end, as a user runs it (root, live dockerd, BPF): the reports it
 * prints, the exit statuses, and what it leaves behind (containers, limits, BPF
 * programs).
 *
 * Run with `integration_tests --jobs 1`: the signal tests watch the host's BPF
 * programs, which other cglat runs at the same time would add to. Every check of
 * leftovers is tied to the pid of the cglat run it follows (containers are
 * labelled cglat.owner=PID), so the rest also holds with parallel jobs. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_it.h"
#include "helpers.h"

#define MIB (1024LL * 1024)

/* ------------------------------------------------------------- helpers */

static json_t *parse_json(const char *text)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	cr_assert_not_null(root, "stdout is not JSON (%s, line %d): %.300s", jerr.text, jerr.line,
	                   text);
	return root;
}

/* Value at a dotted path, e.g. "cleanup.containers_removed"; fails when absent. */
static json_t *jget(json_t *root, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = root;
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		v = json_object_get(v, k);
		cr_assert_not_null(v, "the JSON report has no %s", path);
	}
	return v;
}

/* Rows of a JSON report's results with this path, resource and metric; *row
 * takes the last one. */
static size_t find_rows(json_t *results, const char *path, const char *resource, const char *metric,
                        json_t **row)
{
	size_t count = 0, i;
	json_t *r;
	json_array_foreach(results, i, r)
	{
		const char *p = json_string_value(json_object_get(r, "path"));
		const char *res = json_string_value(json_object_get(r, "resource"));
		const char *m = json_string_value(json_object_get(r, "metric"));
		if (p && res && m && !strcmp(p, path) && !strcmp(res, resource) &&
		    !strcmp(m, metric)) {
			count++;
			*row = r;
		}
	}
	return count;
}

/* A CSV report: header plus rows, split in place. */
#define CSV_MAX_ROWS 256
#define CSV_MAX_COLS 32
struct csv {
	char *text;
	char *head[CSV_MAX_COLS];
	size_t ncols;
	char *row[CSV_MAX_ROWS][CSV_MAX_COLS];
	size_t nrows;
};

static void parse_csv(char *text, struct csv *c)
{
	memset(c, 0, sizeof(*c));
	c->text = text;
	char *save = NULL;
	char *line = strtok_r(text, "\n", &save);
	cr_assert_not_null(line, "the CSV report is empty");
	c->ncols = it_csv_split(line, c->head, CSV_MAX_COLS);
	while ((line = strtok_r(NULL, "\n", &save))) {
		cr_assert_lt(c->nrows, CSV_MAX_ROWS, "too many CSV rows");
		size_t n = it_csv_split(line, c->row[c->nrows], CSV_MAX_COLS);
		cr_assert_eq(n, c->ncols, "CSV row %zu has %zu fields, the header %zu",
		             c->nrows + 1, n, c->ncols);
		c->nrows++;
	}
}

static const char *cell(const struct csv *c, size_t r, const char *col)
{
	for (size_t i = 0; i < c->ncols; i++)
		if (strcmp(c->head[i], col) == 0)
			return c->row[r][i];
	cr_assert_fail("the CSV report has no column %s", col);
	return NULL;
}

static long long cell_ll(const struct csv *c, size_t r, const char *col)
{
	const char *s = cell(c, r, col);
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	cr_assert(errno == 0 && end != s && *end == '\0', "row %zu: %s is \"%s\", not a number", r,
	          col, s);
	return v;
}

static unsigned long long cell_ull(const struct csv *c, size_t r, const char *col)
{
	const char *s = cell(c, r, col);
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	cr_assert(errno == 0 && end != s && *end == '\0', "row %zu: %s is \"%s\", not a number", r,
	          col, s);
	return v;
}

/* Runs cglat and checks it exited with code; stdout, stderr and pid come back. */
static void run_expect(const char *const args[], int code, char **out, char **err, pid_t *pid)
{
	int status = 0;
	int rc = it_cglat(args, out, err, &status, pid);
	cr_assert_eq(rc, 0, "cglat did not finish in time; stderr:\n%s", *err);
	cr_assert(WIFEXITED(status), "cglat did not exit normally (status 0x%x); stderr:\n%s",
	          status, *err);
	cr_assert_eq(WEXITSTATUS(status), code, "cglat exited %d, expected %d; stderr:\n%s",
	             WEXITSTATUS(status), code, *err);
}

/* No container of this run is left, and no other container lost its owner. */
static void assert_nothing_left(pid_t pid, const char *orphans_before)
{
	char *owned = it_owned_containers(pid);
	if (owned[0])
		it_remove_owned(pid);
	cr_assert_str_empty(owned, "containers of cglat (pid %d) left behind:\n%s", (int)pid,
	                    owned);
	free(owned);
	char *after = it_orphan_containers();
	char *fresh = it_new_lines(orphans_before, after);
	cr_assert_str_empty(fresh, "containers labelled cglat.owner left with no owner:\n%s",
	                    fresh);
	free(after);
	free(fresh);
}

/* stderr is one line "cglat: ..." */
static void assert_one_message(const char *err)
{
	cr_assert(strncmp(err, "cglat: ", 7) == 0, "stderr does not start with \"cglat: \":\n%s",
	          err);
	size_t len = strlen(err);
	cr_assert(len > 0 && err[len - 1] == '\n' && strchr(err, '\n') == err + len - 1,
	          "stderr is not one line:\n%s", err);
}

/* ------------------------------------------------------- a full run */

/* Does tracefs offer kprobe_events (mounted on either of its usual places)? */
static bool kernel_has_kprobes(void)
{
	return access("/sys/kernel/tracing/kprobe_events", F_OK) == 0 ||
	       access("/sys/kernel/debug/tracing/kprobe_events", F_OK) == 0;
}

TestSuite(bench_run, .timeout = 120);

Test(bench_run, json_report_of_a_full_run)
{
	char *orphans = it_orphan_containers();
	double since = it_now();
	const char *args[] = {"-n", "5", "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	double until = it_now();
	json_t *root = parse_json(out);

	/* Every path x resource x applicable metric, once, with all 5 samples valid. */
	static const struct {
		const char *path;
		const char *metrics[3];
	} want[] = {
	        {"docker", {"daemon_to_write", "request_to_write", "round_trip"}},
	        {"api", {"daemon_to_write", "request_to_write", "round_trip"}},
	        {"direct", {"request_to_write", "round_trip", NULL}},
	        {"floor", {"round_trip", NULL, NULL}},
	};
	static const char *const resources[] = {"memory", "cpu"};
	json_t *results = jget(root, "results");
	cr_assert(json_is_array(results));
	size_t expected_rows = 0;
	for (size_t p = 0; p < 4; p++)
		for (size_t r = 0; r < 2; r++)
			for (size_t m = 0; m < 3 && want[p].metrics[m]; m++) {
				expected_rows++;
				json_t *row = NULL;
				size_t found = find_rows(results, want[p].path, resources[r],
				                         want[p].metrics[m], &row);
				cr_expect_eq(found, 1, "row %s %s %s appears %zu times",
				             want[p].path, resources[r], want[p].metrics[m], found);
				if (!row)
					continue;
				json_int_t n = json_integer_value(json_object_get(row, "n"));
				json_int_t bad =
				        json_integer_value(json_object_get(row, "invalid"));
				cr_expect_eq(n, 5, "%s %s %s: n is %" JSON_INTEGER_FORMAT,
				             want[p].path, resources[r], want[p].metrics[m], n);
				cr_expect_eq(bad, 0, "%s %s %s: %" JSON_INTEGER_FORMAT " invalid",
				             want[p].path, resources[r], want[p].metrics[m], bad);
			}
	cr_expect_eq(json_array_size(results), expected_rows, "%zu result rows, expected %zu",
	             json_array_size(results), expected_rows);

	/* auto: kprobe where the kernel has kprobes (and headers to match), else tracepoint. */
	const char *strategy = json_string_value(jget(root, "host.probe_strategy"));
	bool kprobes = kernel_has_kprobes();
	cr_expect(strategy && (strcmp(strategy, "tracepoint") == 0 ||
	                       (kprobes && strcmp(strategy, "kprobe") == 0)),
	          "probe_strategy %s on a kernel %s kprobes", strategy ? strategy : "(none)",
	          kprobes ? "with" : "without");
	cr_expect(json_string_length(jget(root, "host.probe_reason")) > 0, "no probe_reason");
	double ratio = json_number_value(jget(root, "headline.ratio"));
	cr_expect_gt(ratio, 100, "headline.ratio is %g", ratio);
	cr_expect_eq(json_integer_value(jget(root, "cleanup.containers_removed")), 1);
	cr_expect(json_is_true(jget(root, "container.created")));
	cr_expect(json_is_false(jget(root, "interrupted")));
	cr_expect_eq(json_integer_value(jget(root, "invalid_samples")), 0);

	/* The container it made (and says it made) is gone, and nothing else is left. */
	const char *name = json_string_value(jget(root, "container.name"));
	cr_assert(name && name[0], "container.name is empty");
	char *made = it_created_containers(since, until, pid);
	char *want_made = it_strf("%s\n", name);
	cr_expect_str_eq(made, want_made, "containers created by pid %d: \"%s\"", (int)pid, made);
	cr_expect_not(it_container_exists(name), "container %s still exists", name);
	assert_nothing_left(pid, orphans);

	free(made);
	free(want_made);
	json_decref(root);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_run, docker_update_is_seen_with_its_value)
{
	char *orphans = it_orphan_containers();
	const char *args[] = {"-n",     "3",        "--paths", "docker", "--resources",
	                      "memory", "--format", "csv",     NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	struct csv c;
	parse_csv(out, &c);
	cr_assert_eq(c.nrows, 3, "%zu samples, expected 3", c.nrows);
	long long prev = 0;
	for (size_t r = 0; r < c.nrows; r++) {
		cr_expect_str_eq(cell(&c, r, "path"), "docker");
		cr_expect_str_eq(cell(&c, r, "resource"), "memory");
		cr_expect_eq(cell_ll(&c, r, "valid"), 1, "row %zu invalid: %s", r,
		             cell(&c, r, "invalid_reason"));
		cr_expect_str_eq(cell(&c, r, "seen"), cell(&c, r, "expected"), "row %zu", r);
		long long expected = cell_ll(&c, r, "expected");
		cr_expect_eq(cell_ll(&c, r, "value"), expected, "row %zu", r);
		cr_expect(expected == 128 * MIB + MIB || expected == 128 * MIB - MIB,
		          "row %zu: expected %lld is not 128 MiB +/- 1 MiB", r, expected);
		if (r > 0)
			cr_expect_neq(expected, prev, "rows %zu and %zu do not alternate", r - 1,
			              r);
		prev = expected;
		const char *comm = cell(&c, r, "writer_comm");
		cr_expect(strncmp(comm, "runc", 4) == 0, "row %zu: writer_comm is \"%s\"", r, comm);
		unsigned long long t0 = cell_ull(&c, r, "t0_ns"), recv = cell_ull(&c, r, "recv_ns"),
		                   enter = cell_ull(&c, r, "write_enter_ns"),
		                   exit_ = cell_ull(&c, r, "write_exit_ns"),
		                   ret = cell_ull(&c, r, "t_return_ns");
		cr_expect_gt(recv, 0, "row %zu: recv_ns is 0", r);
		cr_expect_leq(recv, exit_, "row %zu: recv_ns %llu after write_exit_ns %llu", r,
		              recv, exit_);
		cr_expect(t0 <= recv && enter <= exit_ && exit_ <= ret,
		          "row %zu: timestamps out of order: t0 %llu recv %llu write %llu..%llu "
		          "return %llu",
		          r, t0, recv, enter, exit_, ret);
		cr_expect_eq(cell_ll(&c, r, "daemon_to_write_ns"), (long long)(exit_ - recv),
		             "row %zu", r);
		cr_expect_eq(cell_ll(&c, r, "write_ret"),
		             (long long)strlen(cell(&c, r, "expected")),
		             "row %zu: the write returned %s", r, cell(&c, r, "write_ret"));
	}
	assert_nothing_left(pid, orphans);
	free(orphans);
	free(out);
	free(err);
}

Test(bench_run, direct_write_is_seen_from_cglat)
{
	char *orphans = it_orphan_containers();
	const char *args[] = {"-n", "3", "--paths", "direct", "--format", "csv", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	struct csv c;
	parse_csv(out, &c);
	/* Per iteration: direct and floor, each for memory and cpu. */
	cr_assert_eq(c.nrows, 12, "%zu samples, expected 12", c.nrows);
	size_t direct = 0;
	for (size_t r = 0; r < c.nrows; r++) {
		cr_expect_eq(cell_ll(&c, r, "valid"), 1, "row %zu invalid: %s", r,
		             cell(&c, r, "invalid_reason"));
		if (strcmp(cell(&c, r, "path"), "direct") != 0) {
			cr_expect_str_eq(cell(&c, r, "path"), "floor");
			continue;
		}
		direct++;
		cr_expect_str_eq(cell(&c, r, "writer_comm"), "cglat", "row %zu", r);
		cr_expect_eq(cell_ll(&c, r, "writer_pid"), (long long)pid,
		             "row %zu: writer_pid %s, cglat ran as %d", r,
		             cell(&c, r, "writer_pid"), (int)pid);
		cr_expect_str_eq(cell(&c, r, "seen"), cell(&c, r, "expected"), "row %zu", r);
		cr_expect_eq(cell_ll(&c, r, "recv_ns"), 0, "row %zu: a direct write has no recv",
		             r);
		cr_expect_gt(cell_ll(&c, r, "request_to_write_ns"), 0, "row %zu", r);
	}
	cr_expect_eq(direct, 6);
	assert_nothing_left(pid, orphans);
	free(orphans);
	free(out);
	free(err);
}

/* --------------------------------------------- --container restores limits */

static char own_name[64];

static void remove_own_container(void)
{
	if (own_name[0])
		it_docker(NULL, NULL, "rm", "-f", own_name, NULL);
	own_name[0] = '\0';
}

TestSuite(bench_container, .fini = remove_own_container, .timeout = 120);

/* What a user can see of a container's limits: the kernel's four files and
 * Docker's record. */
struct limits_view {
	char file[4][64];
	int64_t value[4]; /* it_read_limit: memory, memory+swap, quota, period; -1: none */
	char docker[128]; /* Memory MemorySwap CpuQuota CpuPeriod */
	bool running;
};

/* v1 names; on v2 the files that hold the same limits (it_cgroup_file). */
static const char *const limit_files[4] = {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                                           "cpu.cfs_quota_us", "cpu.cfs_period_us"};

static void view_limits(const char *name, struct limits_view *v)
{
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "container", "inspect", "--format",
	                   "{{.Id}} {{.State.Pid}} {{.State.Running}} {{.HostConfig.Memory}} "
	                   "{{.HostConfig.MemorySwap}} {{.HostConfig.CpuQuota}} "
	                   "{{.HostConfig.CpuPeriod}}",
	                   name, NULL);
	cr_assert_eq(rc, 0, "docker inspect %s: %s", name, err);
	char id[80], running[16];
	int pid = 0, used = 0;
	cr_assert_eq(sscanf(out, "%79s %d %15s %n", id, &pid, running, &used), 3,
	             "docker inspect said: %s", out);
	v->running = strcmp(running, "true") == 0;
	snprintf(v->docker, sizeof(v->docker), "%s", out + used);
	v->docker[strcspn(v->docker, "\n")] = '\0';
	cr_assert(v->running && pid > 0, "container %s is not running", name);
	char dir[2][512];
	cr_assert_eq(it_cgroup_dir(pid, "memory", dir[0], sizeof(dir[0])), 0,
	             "no memory cgroup for pid %d", pid);
	cr_assert_eq(it_cgroup_dir(pid, "cpu", dir[1], sizeof(dir[1])), 0,
	             "no cpu cgroup for pid %d", pid);
	cr_assert(strstr(dir[0], id) && strstr(dir[1], id), "cgroups %s, %s do not name %s", dir[0],
	          dir[1], id);
	for (int i = 0; i < 4; i++) {
		char path[600];
		snprintf(path, sizeof(path), "%s/%s", dir[i / 2], it_cgroup_file(limit_files[i]));
		cr_assert_eq(it_read_text(path, v->file[i], sizeof(v->file[i])), 0,
		             "cannot read %s: %s", path, strerror(errno));
		v->value[i] = it_read_limit(pid, (enum it_limit)i);
	}
	free(out);
	free(err);
}

static void start_own_container(const char *const extra[])
{
	snprintf(own_name, sizeof(own_name), "cglat-it-%d", (int)getpid());
	bit_start_container(own_name, extra);
}

/* Runs `cglat -n 2 -c NAME --format json`: both docker rows must show that it
 * changed the limits (so that restoring them is something). */
/* Runs cglat -c on the container; *stderr_out (malloc'd) gets what it said. */
static void bench_own_container(pid_t *pid, char **stderr_out)
{
	const char *args[] = {"-n", "2", "-c", own_name, "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	run_expect(args, 0, &out, &err, pid);
	json_t *root = parse_json(out);
	cr_expect(json_is_true(jget(root, "cleanup.limits_restored")),
	          "cleanup.limits_restored is not true; stderr:\n%s", err);
	cr_expect_eq(json_integer_value(jget(root, "cleanup.containers_removed")), 0);
	cr_expect(json_is_false(jget(root, "container.created")));
	cr_expect_str_eq(json_string_value(jget(root, "container.name")), own_name);
	static const char *const resources[] = {"memory", "cpu"};
	for (int r = 0; r < 2; r++) {
		json_t *row = NULL;
		find_rows(jget(root, "results"), "docker", resources[r], "daemon_to_write", &row);
		cr_expect(row && json_integer_value(json_object_get(row, "n")) == 2,
		          "cglat did not change %s twice through docker", resources[r]);
	}
	json_decref(root);
	free(out);
	*stderr_out = err;
}

Test(bench_container, restores_set_limits)
{
	const char *const limits[] = {"--memory",     "300m",        "--memory-swap",
	                              "600m",         "--cpu-quota", "50000",
	                              "--cpu-period", "100000",      NULL};
	start_own_container(limits);
	struct limits_view before, after;
	view_limits(own_name, &before);
	/* Where Docker finds no swap limit support (its v2 check on a host without swap),
	 * it drops --memory-swap with a warning: no swap limit, and -1 in its record. */
	bool swap = it_docker_swap_limit();
	cr_assert_eq(before.value[0], 314572800);
	cr_assert_eq(before.value[1], swap ? 629145600 : -1);
	cr_assert_eq(before.value[2], 50000);
	cr_assert_eq(before.value[3], 100000);
	cr_assert_str_eq(before.docker,
	                 swap ? "314572800 629145600 50000 100000" : "314572800 -1 50000 100000");

	pid_t pid;
	char *err = NULL;
	bench_own_container(&pid, &err);
	cr_expect_null(strstr(err, "Docker's record keeps"), "%s", err);
	free(err);

	cr_assert(it_container_exists(own_name), "cglat removed %s", own_name);
	view_limits(own_name, &after);
	for (int i = 0; i < 4; i++)
		cr_expect_str_eq(after.file[i], before.file[i], "%s was %s, is %s", limit_files[i],
		                 before.file[i], after.file[i]);
	cr_expect_str_eq(after.docker, before.docker,
	                 "docker inspect Memory MemorySwap CpuQuota CpuPeriod: was %s, is %s",
	                 before.docker, after.docker);
	cr_expect(after.running);
}

Test(bench_container, restores_no_limits)
{
	const char *const none[] = {NULL};
	start_own_container(none);
	struct limits_view before, after;
	view_limits(own_name, &before);
	cr_assert_eq(before.value[0], -1, "memory limit %s", before.file[0]);
	cr_assert_eq(before.value[2], -1, "CPU quota %s", before.file[2]);

	pid_t pid;
	char *err = NULL;
	bench_own_container(&pid, &err);

	cr_assert(it_container_exists(own_name), "cglat removed %s", own_name);
	view_limits(own_name, &after);
	for (int i = 0; i < 4; i++)
		cr_expect_str_eq(after.file[i], before.file[i], "%s was %s, is %s", limit_files[i],
		                 before.file[i], after.file[i]);
	cr_expect(after.running);
	/* Docker cannot be told "no limit" again: cglat must say what Docker's record
	 * now holds, and say it right. */
	long long memory = 0, swap = 0;
	cr_assert_eq(sscanf(after.docker, "%lld %lld", &memory, &swap), 2);
	char *note = it_strf("Docker's record keeps Memory=%lld MemorySwap=%lld", memory, swap);
	cr_expect(memory != 0 && strstr(err, note), "expected \"%s\" in:\n%s", note, err);
	free(note);
	free(err);
}

/* ----------------------------------------------- signals clean up */

TestSuite(bench_signal, .timeout = 120);

static bool child_running(pid_t pid)
{
	siginfo_t si = {0};
	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

#define MAX_PROGS 512

static void interrupt_midway(int sig, const char *sig_name)
{
	char *orphans = it_orphan_containers();
	unsigned before[MAX_PROGS], during[MAX_PROGS], after[MAX_PROGS];
	size_t nbefore = it_bpf_progs_of_cglat(before, MAX_PROGS);

	const char *argv[] = {CGLAT_BIN, "-n", "200", NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	pid_t pid = p.pid;

	/* Its container, then its probes: then the loop is under way. */
	char *owned = NULL;
	for (int i = 0; i < 600 * it_time_scale(); i++) {
		free(owned);
		owned = it_owned_containers(pid);
		if (owned[0] || !child_running(pid))
			break;
		it_drain(&p);
		usleep(50000);
	}
	size_t nduring = 0, stable = 0;
	for (int i = 0; i < 600 * it_time_scale() && stable < 5 && child_running(pid); i++) {
		size_t n = it_bpf_progs_of_pid(pid, during, MAX_PROGS);
		stable = n > 0 && n == nduring ? stable + 1 : 0;
		nduring = n;
		it_drain(&p);
		usleep(50000);
	}
	bool running = child_running(pid);
	unsigned listed[MAX_PROGS];
	size_t nlisted = it_bpf_progs_of_cglat(listed, MAX_PROGS), unlisted = 0;
	for (size_t k = 0; k < nduring; k++)
		unlisted += !it_ids_contain(listed, nlisted, during[k]);
	if (running) { /* a second for the loop's first samples: the report needs some */
		usleep((useconds_t)(1000000 * it_time_scale()));
		it_drain(&p);
		running = child_running(pid);
	}
	if (running)
		kill(pid, sig);
	char *out = NULL, *err = NULL;
	int status = 0;
	int rc = it_wait(&p, 30, &out, &err, &status);
	if (rc < 0)
		it_remove_owned(pid);
	cr_assert(running, "cglat ended before it was signalled; status 0x%x, stderr:\n%s", status,
	          err);
	cr_assert(owned[0], "cglat (pid %d) made no container labelled cglat.owner=%d", (int)pid,
	          (int)pid);
	cr_assert_gt(nduring, 0, "cglat held no BPF programs");
	cr_assert_eq(unlisted, 0,
	             "%zu of the %zu BPF programs of cglat are not named as its probes", unlisted,
	             nduring);
	cr_assert_eq(rc, 0, "cglat did not stop within 30 s of %s", sig_name);

	cr_expect_eq(it_exit_code(status), 1, "exit status 0x%x after %s; stderr:\n%s", status,
	             sig_name, err);
	cr_expect(strstr(err, "interrupted"), "stderr does not say interrupted:\n%s", err);
	cr_expect(strstr(err, sig_name), "stderr does not name %s:\n%s", sig_name, err);
	cr_expect(strstr(out, "interrupted: partial results"), "stdout has no partial report:\n%s",
	          out);
	assert_nothing_left(pid, orphans);

	/* Its programs are gone; any other new program of cglat's belongs to a live
	 * process (another run), not to nobody. Freeing is deferred: allow 10 s. */
	size_t nafter = 0, others = 0;
	char leak[512] = "";
	for (int i = 0; i < 100; i++) {
		nafter = it_bpf_progs_of_cglat(after, MAX_PROGS);
		leak[0] = '\0';
		others = 0;
		for (size_t k = 0; k < nafter; k++) {
			bool is_new = !it_ids_contain(before, nbefore, after[k]);
			bool held = is_new && !it_ids_contain(during, nduring, after[k]) &&
			            it_bpf_prog_held(after[k]);
			if (held)
				others++;
			else if (is_new)
				snprintf(leak + strlen(leak), sizeof(leak) - strlen(leak), " %u",
				         after[k]);
		}
		if (!leak[0])
			break;
		usleep(100000);
	}
	cr_log_info("%s: cglat's BPF programs before %zu, held by cglat %zu, after %zu "
	            "(%zu of other live processes)",
	            sig_name, nbefore, nduring, nafter, others);
	cr_expect_str_empty(leak, "BPF programs left after %s (ids%s)", sig_name, leak);
	cr_expect_leq(nafter - others, nbefore,
	              "cglat's programs: %zu before, %zu after (%zu of other processes)", nbefore,
	              nafter, others);

	free(owned);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_signal, sigint_midway_cleans_up)
{
	interrupt_midway(SIGINT, "SIGINT");
}

Test(bench_signal, sigterm_midway_cleans_up)
{
	interrupt_midway(SIGTERM, "SIGTERM");
}

/* ----------------------------------------------------------- bad usage */

TestSuite(bench_usage, .timeout = 60);

/* Exit 2, one line naming the option, nothing on stdout, no container made. */
static void bad_usage(const char *const args[], const char *option)
{
	char *orphans = it_orphan_containers();
	double since = it_now();
	char *out = NULL, *err = NULL;
	pid_t pid;
	int status = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, &pid), 0);
	double until = it_now();
	cr_expect_eq(it_exit_code(status), 2, "exit status %d, expected 2; stderr:\n%s",
	             it_exit_code(status), err);
	assert_one_message(err);
	cr_expect(strstr(err, option), "stderr does not name %s: %s", option, err);
	cr_expect_str_empty(out, "stdout: %s", out);
	char *made = it_created_containers(since, until, pid);
	cr_expect_str_empty(made, "containers made on bad usage: %s", made);
	assert_nothing_left(pid, orphans);
	free(made);
	free(out);
	free(err);
	free(orphans);
}

#define BAD_USAGE(test, option, ...)                                                               \
	Test(bench_usage, test)                                                                    \
	{                                                                                          \
		const char *const args[] = {__VA_ARGS__, NULL};                                    \
		bad_usage(args, option);                                                           \
	}

BAD_USAGE(zero_iterations, "-n", "-n", "0")
BAD_USAGE(negative_iterations, "-n", "-n", "-5")
BAD_USAGE(too_many_iterations, "-n", "-n", "10000000000")
BAD_USAGE(unknown_path, "--paths", "--paths", "foo")
BAD_USAGE(unknown_format, "--format", "--format", "xml")
BAD_USAGE(bad_size, "--mem-base", "--mem-base", "12XB")
BAD_USAGE(unknown_option, "--bogus", "--bogus")
BAD_USAGE(container_ref_with_slashes, "--container", "-c", "../../etc")

/* ------------------------------------------------------ run-time errors */

TestSuite(bench_errors, .timeout = 90);

Test(bench_errors, unknown_container_is_named)
{
	char *orphans = it_orphan_containers();
	const char *args[] = {"-c", "no-such-container-xyz", "-n", "1", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 1, &out, &err, &pid);
	cr_expect(strcasestr(err, "no such container"), "stderr: %s", err);
	cr_expect(strstr(err, "no-such-container-xyz"), "stderr: %s", err);
	assert_one_message(err);
	assert_nothing_left(pid, orphans);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_errors, kprobe_without_kprobes)
{
	if (kernel_has_kprobes())
		cr_skip_test("this kernel has kprobes");
	char *orphans = it_orphan_containers();
	const char *args[] = {"--probe", "kprobe", "-n", "1", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 1, &out, &err, &pid);
	cr_expect(strstr(err, "no kprobes"), "stderr does not say the kernel has no kprobes: %s",
	          err);
	cr_expect(strstr(err, "--probe tracepoint"),
	          "stderr does not suggest --probe tracepoint: %s", err);
	assert_nothing_left(pid, orphans);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_errors, missing_probe_file_is_named)
{
	char *orphans = it_orphan_containers();
	const char *file = "/nonexistent/cglat-probe.bpf.c";
	const char *args[] = {"--probe-file", file, "-n", "1", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	int status = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, &pid), 0);
	int code = it_exit_code(status);
	cr_expect(code == 1 || code == 2, "exit status %d; stderr:\n%s", code, err);
	cr_expect(strstr(err, file), "stderr does not name %s: %s", file, err);
	assert_nothing_left(pid, orphans);
	free(out);
	free(err);
	free(orphans);
}

static char bad_probe[64];

static void remove_bad_probe(void)
{
	if (bad_probe[0])
		unlink(bad_probe);
}

Test(bench_errors, probe_file_that_does_not_compile, .fini = remove_bad_probe)
{
	char *orphans = it_orphan_containers();
	snprintf(bad_probe, sizeof(bad_probe), "/tmp/cglat-it-probe-XXXXXX.c");
	int fd = mkstemps(bad_probe, 2);
	cr_assert_geq(fd, 0, "mkstemps: %s", strerror(errno));
	static const char src[] = "int broken( {\n";
	cr_assert_eq(write(fd, src, sizeof(src) - 1), (ssize_t)(sizeof(src) - 1));
	close(fd);
	const char *args[] = {"--probe-file", bad_probe, "-n", "1", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 1, &out, &err, &pid);
	cr_expect(strncmp(err, "cglat: ", 7) == 0, "stderr: %s", err);
	cr_expect(strcasestr(err, "compil"), "stderr does not say compiling failed: %s", err);
	assert_nothing_left(pid, orphans);
	free(out);
	free(err);
	free(orphans);
}

/* ------------------------------------------------------ help, version */

TestSuite(bench_cli, .timeout = 30);

Test(bench_cli, help_shows_examples)
{
	const char *args[] = {"--help", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	cr_expect(strstr(out, "Usage:"), "stdout: %s", out);
	cr_expect(strstr(out, "Examples:"), "stdout: %s", out);
	cr_expect_str_empty(err);
	free(out);
	free(err);
}

Test(bench_cli, version_is_printed)
{
	const char *args[] = {"--version", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	cr_expect_str_eq(out, "cglat 0.1.0\n");
	cr_expect_str_empty(err);
	free(out);
	free(err);
}

/* ------------------------------------------------------ the serve paths */

TestSuite(bench_serve, .timeout = 180);

/* Each row of path for both resources: n samples, none invalid. */
static void expect_path_rows(json_t *root, const char *path, const char *const metrics[],
                             json_int_t n)
{
	static const char *const resources[] = {"memory", "cpu"};
	json_t *results = jget(root, "results");
	for (size_t r = 0; r < 2; r++)
		for (size_t m = 0; metrics[m]; m++) {
			json_t *row = NULL;
			size_t found = find_rows(results, path, resources[r], metrics[m], &row);
			cr_expect_eq(found, 1, "row %s %s %s appears %zu times", path, resources[r],
			             metrics[m], found);
			if (!row)
				continue;
			cr_expect_eq(json_integer_value(json_object_get(row, "n")), n,
			             "%s %s %s: n is not %" JSON_INTEGER_FORMAT, path, resources[r],
			             metrics[m], n);
			cr_expect_eq(json_integer_value(json_object_get(row, "invalid")), 0,
			             "%s %s %s has invalid samples", path, resources[r],
			             metrics[m]);
		}
}

static const char *const daemon_metrics[] = {"daemon_to_write", "request_to_write", "round_trip",
                                             NULL};

/* Is there a process whose command line is `cglat serve ... PATH ...`? */
static bool serve_process_on(const char *sock)
{
	char *out = NULL, *err = NULL;
	int status = 0;
	const char *argv[] = {"pgrep", "-f", "--", sock, NULL};
	it_run(argv, 10, &out, &err, &status, NULL);
	bool found = it_exit_code(status) == 0 && out && out[0];
	free(out);
	free(err);
	return found;
}

Test(bench_serve, serve_paths_through_a_serve_it_starts_and_stops)
{
	char *orphans = it_orphan_containers();
	const char *args[] = {"-n",       "3",    "--paths", "docker,serve,serve-api,direct",
	                      "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	json_t *root = parse_json(out);
	expect_path_rows(root, "serve", daemon_metrics, 3);
	expect_path_rows(root, "serve-api", daemon_metrics, 3);
	expect_path_rows(root, "docker", daemon_metrics, 3);
	cr_expect_eq(json_integer_value(jget(root, "invalid_samples")), 0);

	/* The serve it started is gone, with its socket and directory. */
	char *dir = it_strf("/run/cglat-bench-%d", (int)pid);
	cr_expect_neq(access(dir, F_OK), 0, "%s is left", dir);
	cr_expect_not(serve_process_on(dir), "a cglat serve on %s still runs", dir);
	assert_nothing_left(pid, orphans);
	free(dir);
	json_decref(root);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_serve, reply_after_enforce_answers_before_the_record)
{
	char *orphans = it_orphan_containers();
	const char *args[] = {"-n",      "3",        "--paths", "serve-api", "--serve-reply-after",
	                      "enforce", "--format", "json",    NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 0, &out, &err, &pid);
	json_t *root = parse_json(out);
	expect_path_rows(root, "serve-api", daemon_metrics, 3);
	assert_nothing_left(pid, orphans);
	json_decref(root);
	free(out);
	free(err);
	free(orphans);
}

Test(bench_serve, a_running_serve_is_used_and_left_running)
{
	const char *dir = "/run/cglat-it-bench-serve";
	char *sock = it_strf("%s/docker.sock", dir);
	const char *serve_argv[] = {CGLAT_BIN, "serve", "--listen", sock, NULL};
	struct it_proc serve;
	cr_assert_eq(it_spawn(serve_argv, &serve), 0);
	for (int i = 0; i < 200 * it_time_scale() && access(sock, F_OK) != 0; i++) {
		it_drain(&serve);
		usleep(20000);
	}
	cr_assert_eq(access(sock, F_OK), 0, "cglat serve made no socket %s", sock);
	usleep(100000); /* bound before it listens: the run's connect retries are not ours */

	char *orphans = it_orphan_containers();
	const char *args[] = {"-n", "3",        "--paths", "serve", "--serve-sock",
	                      sock, "--format", "json",    NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	int status = 0;
	int rc = it_cglat(args, &out, &err, &status, &pid);
	bool serve_alive = kill(serve.pid, 0) == 0;
	kill(serve.pid, SIGTERM);
	char *serve_err = NULL;
	int serve_status = 0;
	it_wait(&serve, 30, NULL, &serve_err, &serve_status);
	cr_assert_eq(rc, 0, "cglat did not finish; stderr:\n%s", err);
	cr_assert_eq(it_exit_code(status), 0, "cglat exited 0x%x; stderr:\n%s", status, err);
	cr_expect(serve_alive, "the run stopped the serve it did not start");
	cr_expect_eq(it_exit_code(serve_status), 0, "cglat serve exited 0x%x after SIGTERM: %s",
	             serve_status, serve_err);
	json_t *root = parse_json(out);
	expect_path_rows(root, "serve", daemon_metrics, 3);
	assert_nothing_left(pid, orphans);
	json_decref(root);
	free(out);
	free(err);
	free(serve_err);
	free(orphans);
	free(sock);
}

Test(bench_serve, a_serve_sock_nobody_answers_is_refused_before_anything)
{
	char *orphans = it_orphan_containers();
	double since = it_now();
	const char *args[] = {
	        "-n", "1", "--paths", "serve", "--serve-sock", "/run/cglat-it-nobody/docker.sock",
	        NULL};
	char *out = NULL, *err = NULL;
	pid_t pid;
	run_expect(args, 1, &out, &err, &pid);
	assert_one_message(err);
	cr_expect(strstr(err, "--serve-sock /run/cglat-it-nobody/docker.sock"), "%s", err);
	cr_expect(strstr(err, "cglat serve --listen"), "the fix is not named: %s", err);
	char *made = it_created_containers(since, it_now(), pid);
	cr_expect_str_empty(made, "containers made: %s", made);
	assert_nothing_left(pid, orphans);
	free(made);
	free(out);
	free(err);
	free(orphans);
}
