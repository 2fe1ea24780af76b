/* cglat set and watch on a real podman container (root; podman 4.3 runs it with runc
 * and its cgroupfs manager here, under /libpod_parent): found by name without any
 * daemon, its kernel files changed, podman's writes named in watch. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#define PODMAN_IMAGE "localhost/" IT_IMAGE

static char name[64];
static char id[65];
static pid_t cpid;

static int podman(char **out, char **err, const char *const args[])
{
	const char *argv[24] = {"podman"};
	size_t n = 1;
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int status = 0;
	if (it_run(argv, 120, out, err, &status, NULL) < 0)
		return -1;
	return it_exit_code(status);
}

/* podman gets the test image from Docker's: no registry here. */
static void ensure_podman_image(void)
{
	const char *exists[] = {"image", "exists", PODMAN_IMAGE, NULL};
	if (podman(NULL, NULL, exists) == 0)
		return;
	it_ensure_image();
	char tar[64];
	snprintf(tar, sizeof(tar), "/tmp/cglat-it-podman-%d.tar", (int)getpid());
	char *err = NULL;
	cr_assert_eq(it_docker(NULL, &err, "save", "-o", tar, IT_IMAGE, NULL), 0, "%s", err);
	free(err);
	err = NULL;
	const char *load[] = {"load", "-q", "-i", tar, NULL};
	int rc = podman(NULL, &err, load);
	unlink(tar);
	cr_assert_eq(rc, 0, "podman load: %s", err);
	free(err);
}

static void start_container(void)
{
	ensure_podman_image();
	snprintf(name, sizeof(name), "cglat-it-podman-%d", (int)getpid());
	/* podman's default rlimits fail here ("error setting rlimit type 7"). */
	const char *run[] = {"run",        "-d",
	                     "--network",  "none",
	                     "--ulimit",   "nofile=1024:1024",
	                     "--ulimit",   "nproc=1024:1024",
	                     "--memory",   "200m",
	                     "--name",     name,
	                     PODMAN_IMAGE, NULL};
	char *out = NULL, *err = NULL;
	cr_assert_eq(podman(&out, &err, run), 0, "podman run: %s", err);
	snprintf(id, sizeof(id), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	const char *pid[] = {"inspect", "-f", "{{.State.Pid}}", name, NULL};
	cr_assert_eq(podman(&out, NULL, pid), 0);
	cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);
}

static void remove_container(void)
{
	const char *rm[] = {"rm", "-f", "-t", "0", name, NULL};
	podman(NULL, NULL, rm);
}

TestSuite(podman, .init = start_container, .fini = remove_container, .timeout = 180);

static int set(const char *const args[], char **out, char **err)
{
	int status = 0;
	cr_assert_eq(it_cglat(args, out, err, &status, NULL), 0);
	return it_exit_code(status);
}

Test(podman, set_finds_the_container_by_name_and_writes_its_cgroup)
{
	char *out = NULL, *err = NULL;
	const char *by_name[] = {"set", name, "--memory", "300m", "--cpus", "0.5", NULL};
	cr_assert_eq(set(by_name, &out, &err), 0, "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 300 << 20);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 50000);
	cr_assert(strstr(err, "podman does not know about this change to container"), "%s", err);
	cr_assert(strstr(err, "podman inspect"), "%s", err);
	free(out);
	free(err);

	/* An id prefix, podman named as the engine, JSON: the target says whose it is. */
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", id);
	const char *by_id[] = {"set",  "--engine", "podman", prefix, "--memory",
	                       "310m", "--format", "json",   NULL};
	cr_assert_eq(set(by_id, &out, &err), 0, "%s", err);
	json_t *doc = json_loads(out, 0, NULL);
	cr_assert_not_null(doc, "%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "engine")), "podman");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "container_id")), id);
	json_decref(doc);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 310 << 20);
	free(out);
	free(err);
}

Test(podman, refusals_change_nothing)
{
	int64_t before = it_read_limit(cpid, IT_MEMORY);
	char *out = NULL, *err = NULL;
	/* Docker does not know the name, and --engine docker does not look further. */
	const char *docker_only[] = {"set", "--engine", "docker", name, "--memory", "100m", NULL};
	cr_assert_eq(set(docker_only, &out, &err), 1);
	cr_assert(strstr(err, "no such container"), "%s", err);
	free(out);
	free(err);
	/* --record records in dockerd, which has no record of a podman container. */
	const char *record[] = {"set", name, "--record", "--memory", "100m", NULL};
	cr_assert_eq(set(record, &out, &err), 1);
	cr_assert(strstr(err, "is a podman container, and --record records in dockerd"), "%s", err);
	free(out);
	free(err);
	const char *unknown[] = {"set",      "--engine", "podman", "cglat-no-such",
	                         "--memory", "100m",     NULL};
	cr_assert_eq(set(unknown, &out, &err), 1);
	cr_assert(strstr(err, "no podman container is named \"cglat-no-such\""), "%s", err);
	free(out);
	free(err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), before);
}

Test(podman, a_stopped_container_is_not_running)
{
	const char *stop[] = {"stop", "-t", "0", name, NULL};
	cr_assert_eq(podman(NULL, NULL, stop), 0);
	char *out = NULL, *err = NULL;
	const char *args[] = {"set", name, "--memory", "100m", NULL};
	cr_assert_eq(set(args, &out, &err), 1);
	cr_assert(strstr(err, "is not running"), "%s", err);
	cr_assert(strstr(err, "podman start"), "%s", err);
	free(out);
	free(err);
}

static json_t *find_line(const char *out, const char *value, const char *comm)
{
	char *copy = strdup(out), *save = NULL;
	json_t *hit = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && !hit;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		cr_assert_not_null(o, "not a JSON line: %s", line);
		if (strcmp(json_string_value(json_object_get(o, "value")), value) == 0 &&
		    strcmp(json_string_value(json_object_get(o, "comm")), comm) == 0)
			hit = o;
		else
			json_decref(o);
	}
	free(copy);
	return hit;
}

Test(podman, watch_names_the_container_of_podman_update_and_of_set)
{
	const char *argv[] = {CGLAT_BIN, "watch", "--format", "json", "-c", name, "-d", "10", NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	bool ready = false;
	for (int i = 0; i < 300 * it_time_scale() && !ready; i++) {
		it_drain(&p);
		ready = p.buf[1] && strstr(p.buf[1], "Ctrl-C to stop");
		if (!ready)
			usleep(50000);
	}
	cr_assert(ready, "cglat watch did not attach: %s", p.buf[1] ? p.buf[1] : "");
	char *err = NULL;
	const char *update[] = {"update", "--memory", "150m", name, NULL};
	cr_assert_eq(podman(NULL, &err, update), 0, "podman update: %s", err);
	free(err);
	const char *set_args[] = {"set", name, "--memory", "160m", NULL};
	cr_assert_eq(set(set_args, NULL, NULL), 0);
	char *out = NULL;
	int status = 0;
	cr_assert_eq(it_wait(&p, 40, &out, &err, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", err);
	/* podman update execs runc, which writes the file. */
	json_t *runc = find_line(out, "157286400", "runc");
	cr_assert_not_null(runc, "no runc write of 150m in:\n%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(runc, "container")), id);
	cr_assert_str_eq(json_string_value(json_object_get(runc, "container_name")), name);
	json_t *mine = find_line(out, "167772160", "cglat");
	cr_assert_not_null(mine, "no cglat set write of 160m in:\n%s", out);
	cr_assert_str_eq(json_string_value(json_object_get(mine, "container_name")), name);
	json_decref(runc);
	json_decref(mine);
	free(out);
	free(err);
}
