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
