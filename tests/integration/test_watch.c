/* cglat watch against the real dockerd and kernel: a `docker update`, a `cglat
 * set` and a direct write show up with the right file, value, writer and
 * receive time. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "cglat.h"
#include "helpers.h"

static char name[64];
static char id[65];
static pid_t cpid;

static void start_container(void)
{
	it_ensure_image();
	snprintf(name, sizeof(name), "cglat-it-watch-%d", (int)getpid());
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "run", "-d", "--network", "none", "--cgroupns=host",
	                       "--name", name, "--memory", "200m", "--memory-swap", "400m",
	                       IT_IMAGE, NULL),
	             0);
	snprintf(id, sizeof(id), "%.64s", out);
	free(out);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", name, NULL), 0);
	cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);
}

static void remove_container(void)
{
	it_docker(NULL, NULL, "rm", "-f", name, NULL);
}

/* Starts `cglat watch ARGS` and waits until its probes are attached. */
static void start_watch(struct it_proc *p, const char *const args[])
{
	const char *argv[16] = {CGLAT_BIN, "watch"};
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	cr_assert_eq(it_spawn(argv, p), 0);
	for (int i = 0; i < 300 * it_time_scale(); i++) {
		it_drain(p);
		if (p->buf[1] && strstr(p->buf[1], "Ctrl-C to stop"))
			return;
		usleep(50000);
	}
	cr_assert_fail("cglat watch did not attach its probes in %g s: %s", 15 * it_time_scale(),
	               p->buf[1] ? p->buf[1] : "");
}

static json_t *find_line(const char *out, const char *file, const char *value, const char *comm)
{
	char *copy = strdup(out), *save = NULL;
	json_t *hit = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !hit;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "not a JSON line: %s", line);
		if (strcmp(json_string_value(json_object_get(o, "file")), file) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "value")), value) == 0 &&
		    (!comm || strcmp(json_string_value(json_object_get(o, "comm")), comm) == 0))
			hit = o;
		else
			json_decref(o);
	}
	free(copy);
	return hit;
}

/* The container's memory limit file and its cgroup version. */
static void memory_limit_path(char *path, size_t len, int *version)
{
	struct cglat_target *t = NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = cpid};
	struct cg_err err;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(cglat_target_path(t, CG_KNOB_MEMORY_MAX, path, len, version, &err), 0, "%s",
	             err.msg);
	cglat_target_close(t);
}

static void direct_write(const char *value)
{
	char path[4096];
	memory_limit_path(path, sizeof(path), NULL);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, value, strlen(value)), (ssize_t)strlen(value));
	close(fd);
}

static const char *memory_file(void)
{
	char path[4096];
	int version = 0;
	memory_limit_path(path, sizeof(path), &version);
	return cgroup_limit_file(CG_RES_MEMORY, version);
}

Test(watch, sees_docker_update_and_direct_write, .init = start_container, .fini = remove_container,
     .timeout = 90)
{
	struct it_proc p;
	const char *args[] = {"--format", "json", "-c", name, "-d", "8", NULL};
	start_watch(&p, args);
	char *err = NULL;
	cr_assert_eq(it_docker(NULL, &err, "update", "--memory", "100m", name, NULL), 0, "%s", err);
	free(err);
	direct_write("110100480");
	const char *set[] = {"set", name, "--memory", "115m", NULL};
	pid_t set_pid;
	int status;
	cr_assert_eq(it_cglat(set, NULL, NULL, &status, &set_pid), 0);
	cr_assert_eq(it_exit_code(status), 0);
	char *out = NULL, *errtext = NULL;
	cr_assert_eq(it_wait(&p, 30, &out, &errtext, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", errtext);

	const char *file = memory_file();
	json_t *runc = find_line(out, file, "104857600", "runc");
	cr_assert_not_null(runc, "no runc write of 104857600 to %s in:\n%s", file, out);
	cr_assert_str_eq(json_string_value(json_object_get(runc, "container")), id);
	cr_assert_eq(json_integer_value(json_object_get(runc, "ret")), 9);
	json_int_t since = json_integer_value(json_object_get(runc, "since_receive_ns"));
	cr_assert_gt(since, 0, "no receive time for the docker update: %s", out);
	cr_assert_lt(since, 5000000000LL);
	cr_assert_gt(json_integer_value(json_object_get(runc, "duration_ns")), 0);

	json_t *mine = find_line(out, file, "110100480", NULL);
	cr_assert_not_null(mine, "the direct write is missing:\n%s", out);
	cr_assert_eq(json_integer_value(json_object_get(mine, "pid")), getpid());
	cr_assert_null(json_object_get(mine, "since_receive_ns"),
	               "a direct write carries out no docker update");
	json_t *set_line = find_line(out, file, "120586240", "cglat");
	cr_assert_not_null(set_line, "the cglat set write is missing:\n%s", out);
	cr_assert_eq(json_integer_value(json_object_get(set_line, "pid")), set_pid);
	cr_assert_null(json_object_get(set_line, "since_receive_ns"));
	json_decref(set_line);
	json_decref(runc);
	json_decref(mine);
	free(out);
	free(errtext);
}

Test(watch, comm_filter_keeps_only_that_writer, .init = start_container, .fini = remove_container,
     .timeout = 90)
{
	struct it_proc p;
	const char *args[] = {"--format", "json", "--comm", "runc", "-c", name, "-d", "6", NULL};
	start_watch(&p, args);
	direct_write("125829120");
	cr_assert_eq(it_docker(NULL, NULL, "update", "--memory", "90m", name, NULL), 0);
	char *out = NULL;
	int status;
	cr_assert_eq(it_wait(&p, 30, &out, NULL, &status), 0);
	cr_assert_eq(it_exit_code(status), 0);
	const char *file = memory_file();
	json_t *runc = find_line(out, file, "94371840", "runc");
	cr_assert_not_null(runc, "%s", out);
	json_decref(runc);
	cr_assert_null(find_line(out, file, "125829120", NULL), "--comm runc let through: %s", out);
	free(out);
}

Test(watch, bad_usage_exits_2)
{
	const char *cases[][4] = {{"watch", "-d", "0", NULL},
	                          {"watch", "--format", "xml", NULL},
	                          {"watch", "-c", "../x", NULL}};
	for (size_t i = 0; i < 3; i++) {
		char *err = NULL;
		int status;
		cr_assert_eq(it_cglat(cases[i], NULL, &err, &status, NULL), 0);
		cr_assert_eq(it_exit_code(status), 2, "case %zu", i);
		cr_assert(strncmp(err, "cglat watch: ", 13) == 0, "%s", err);
		free(err);
	}
}

/* ------------------------------------------- every write call, and the floor */

#ifndef CGLAT_WORKLOAD_BIN
#error "CGLAT_WORKLOAD_BIN must name the test workload"
#endif

/* The container's CPU quota file, and the text that sets quota_us on it (v1 "Q",
 * v2 "Q 100000"): the vectored calls write it and a newline as two iovecs, and on a
 * 5.10 kernel (kernfs without write_iter) the newline reaches the file on its own,
 * which the CPU files refuse harmlessly (a lone newline to a memory file would be a
 * limit of 0). */
static void cpu_quota_target(int64_t quota_us, char *path, size_t len, char *value, size_t vlen,
                             const char **file)
{
	struct cglat_target *t = NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = cpid};
	struct cg_err err;
	int version = 0;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(cglat_target_path(t, CG_KNOB_CPU_QUOTA, path, len, &version, &err), 0, "%s",
	             err.msg);
	cglat_target_close(t);
	cr_assert_eq(cgroup_format_limit(CG_RES_CPU, version, quota_us, 100000, value, vlen, &err),
	             0, "%s", err.msg);
	*file = cgroup_limit_file(CG_RES_CPU, version);
}

/* The name watch gives the call with the strategy it said it runs (its stderr). */
static const char *call_seen_as(const char *call, const char *watch_err)
{
	if (!strstr(watch_err, "probes kprobe"))
		return call;
	return strcmp(call, "write") == 0 || strcmp(call, "pwrite64") == 0 ? "vfs_write"
	                                                                   : "vfs_writev";
}

/* `cglat watch` runs; the test workload writes a CPU quota to the container's file
 * once with `call`; the line watch prints names that call, the writer, the file, the
 * value and the bytes the call returned. */
static void sees_write_call(const char *call, int64_t quota_us)
{
	char path[4096], value[64];
	const char *file;
	cpu_quota_target(quota_us, path, sizeof(path), value, sizeof(value), &file);
	struct it_proc p;
	const char *args[] = {"--format", "json", "-c", name, NULL};
	start_watch(&p, args);

	const char *writer[] = {CGLAT_WORKLOAD_BIN, "write", call, path, value, NULL};
	char *wout = NULL, *werr = NULL;
	int status;
	pid_t wpid;
	cr_assert_eq(it_run(writer, 30 * it_time_scale(), &wout, &werr, &status, &wpid), 0);
	cr_assert_eq(it_exit_code(status), 0, "the %s of \"%s\" to %s failed: %s", call, value,
	             path, werr);
	long long wret = -1;
	cr_assert_eq(sscanf(wout, "ret %lld", &wret), 1, "%s", wout);
	cr_assert_gt(wret, 0);

	/* The event is in the probes' buffer before the writer's call returns; watch reads
	 * what is left when it stops. */
	kill(p.pid, SIGINT);
	char *out = NULL, *errtext = NULL;
	cr_assert_eq(it_wait(&p, 30, &out, &errtext, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", errtext);
	const char *seen_as = call_seen_as(call, errtext);
	json_t *line = find_line(out, file, value, "cglat-workload");
	if (strstr(errtext, "not seen with these probes: writev, pwritev and pwritev2") &&
	    strcmp(seen_as, "vfs_writev") == 0) {
		/* kprobes on a kernel that inlined vfs_writev: watch says so, and shows none */
		cr_assert_null(line, "a line for a call watch said it cannot see:\n%s", out);
	} else {
		cr_assert_not_null(line,
		                   "no %s of \"%s\" to %s by the workload (pid %d) in:\n%s\n%s",
		                   call, value, file, (int)wpid, out, errtext);
		cr_assert_str_eq(json_string_value(json_object_get(line, "call")), seen_as);
		cr_assert_eq(json_integer_value(json_object_get(line, "pid")), wpid);
		cr_assert_str_eq(json_string_value(json_object_get(line, "container")), id);
		cr_assert_eq(json_integer_value(json_object_get(line, "ret")), wret);
		cr_assert_gt(json_integer_value(json_object_get(line, "duration_ns")), 0);
		cr_assert_null(json_object_get(line, "since_receive_ns"));
	}
	json_decref(line);
	free(out);
	free(errtext);
	free(wout);
	free(werr);
}

Test(watch, sees_write, .init = start_container, .fini = remove_container, .timeout = 90)
{
	sees_write_call("write", 41000);
}

Test(watch, sees_pwrite64, .init = start_container, .fini = remove_container, .timeout = 90)
{
	sees_write_call("pwrite64", 42000);
}

Test(watch, sees_writev, .init = start_container, .fini = remove_container, .timeout = 90)
{
	sees_write_call("writev", 43000);
}

Test(watch, sees_pwritev, .init = start_container, .fini = remove_container, .timeout = 90)
{
	sees_write_call("pwritev", 44000);
}

Test(watch, sees_pwritev2, .init = start_container, .fini = remove_container, .timeout = 90)
{
	sees_write_call("pwritev2", 45000);
}

/* The benchmark's floor stays unprobed now that pwrite64 is watched: with the tracepoint
 * strategy (the one that learns fds), a watch attached before bench sees each of bench's
 * direct write(2)s and none of its floor pwrite64s, and every floor sample is valid. */
Test(watch, bench_floor_is_not_seen_by_the_probes, .timeout = 120)
{
	it_ensure_image();
	struct it_proc p;
	const char *wargs[] = {"--format", "json",       "--comm", "cglat",
	                       "--probe",  "tracepoint", NULL};
	start_watch(&p, wargs);
	const char *bargs[] = {"-n",      "3",          "--warmup", "0",   "--paths", "direct",
	                       "--probe", "tracepoint", "--format", "csv", NULL};
	char *bout = NULL, *berr = NULL;
	int status;
	pid_t bpid;
	cr_assert_eq(it_cglat(bargs, &bout, &berr, &status, &bpid), 0, "%s", berr);
	cr_assert_eq(it_exit_code(status), 0, "%s", berr);
	kill(p.pid, SIGINT);
	char *out = NULL, *errtext = NULL;
	cr_assert_eq(it_wait(&p, 30, &out, &errtext, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", errtext);

	/* bench's samples: 3 iterations x (direct, floor) x (memory, cpu), all valid */
	size_t floors = 0, directs = 0, rows = 0;
	char *save = NULL, *copy = strdup(bout);
	char *fields[32];
	int path_col = -1, valid_col = -1;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t n = it_csv_split(l, fields, 32);
		if (path_col < 0) {
			for (size_t i = 0; i < n; i++) {
				if (strcmp(fields[i], "path") == 0)
					path_col = (int)i;
				if (strcmp(fields[i], "valid") == 0)
					valid_col = (int)i;
			}
			cr_assert(path_col >= 0 && valid_col >= 0, "no CSV header: %s", bout);
			continue;
		}
		rows++;
		cr_assert_str_eq(fields[valid_col], "1", "an invalid sample:\n%s", bout);
		floors += strcmp(fields[path_col], "floor") == 0;
		directs += strcmp(fields[path_col], "direct") == 0;
	}
	free(copy);
	cr_assert_eq(rows, 12, "%s", bout);
	cr_assert_eq(floors, 6);
	cr_assert_eq(directs, 6);

	/* what watch saw of bench: its 6 direct writes, no pwrite64 */
	size_t writes = 0;
	copy = strdup(out);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(l, 0, NULL);
		cr_assert_not_null(o, "not a JSON line: %s", l);
		if (json_integer_value(json_object_get(o, "pid")) == bpid) {
			const char *call = json_string_value(json_object_get(o, "call"));
			cr_assert_str_neq(call, "pwrite64", "the floor's pwrite was seen: %s", l);
			writes += strcmp(call, "write") == 0;
		}
		json_decref(o);
	}
	free(copy);
	cr_assert_eq(writes, 6, "watch saw %zu direct writes of bench (pid %d), not 6:\n%s", writes,
	             (int)bpid, out);
	free(out);
	free(errtext);
	free(bout);
	free(berr);
}
