/* The runtime path without root or dockerd: which runtime a container runs with, where
 * its binary and state root are (dockerd's flags, daemon.json, PATH), the argv of one
 * update, the errors a user sees when something is missing, and the runner against a
 * stand-in runtime script. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_runtime.h"

#define ID "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a8"

/* A NUL-separated command line as /proc/PID/cmdline holds it; sizeof counts the last NUL. */
#define CMDLINE(s) (s), sizeof(s)

Test(bench_runtime, flag_of_dockerds_command_line)
{
	char out[256] = "";
	cr_assert(bench_runtime_flag(CMDLINE("dockerd\0--exec-root\0/x/run\0--iptables=false"),
	                             "--exec-root", out, sizeof(out)));
	cr_assert_str_eq(out, "/x/run");
	cr_assert(bench_runtime_flag(CMDLINE("dockerd\0--exec-root=/y"), "--exec-root", out,
	                             sizeof(out)));
	cr_assert_str_eq(out, "/y");
	cr_assert(bench_runtime_flag(CMDLINE("dockerd\0-exec-root\0/z"), "--exec-root", out,
	                             sizeof(out)),
	          "Go's flags take one dash too");
	cr_assert_str_eq(out, "/z");
	cr_assert(bench_runtime_flag(CMDLINE("dockerd\0--exec-root=/a\0--exec-root\0/b"),
	                             "--exec-root", out, sizeof(out)));
	cr_assert_str_eq(out, "/b", "the last one wins, as in dockerd");
	cr_assert_not(bench_runtime_flag(CMDLINE("dockerd\0--bridge=none\0--exec-rootx=/q"),
	                                 "--exec-root", out, sizeof(out)));
	cr_assert_not(bench_runtime_flag(CMDLINE("dockerd\0--exec-root"), "--exec-root", out,
	                                 sizeof(out)),
	              "a flag without its value");
}

Test(bench_runtime, exec_root_from_flag_then_daemon_json_then_default)
{
	char out[256];
	const char *json = "{\"exec-root\": \"/srv/docker-exec\", \"debug\": true}";
	bench_runtime_exec_root(CMDLINE("dockerd\0--exec-root\0/flag"), json, out, sizeof(out));
	cr_assert_str_eq(out, "/flag");
	bench_runtime_exec_root(CMDLINE("dockerd\0--bridge=none"), json, out, sizeof(out));
	cr_assert_str_eq(out, "/srv/docker-exec");
	bench_runtime_exec_root(CMDLINE("dockerd"), "{\"data-root\": \"/d\"}", out, sizeof(out));
	cr_assert_str_eq(out, "/var/run/docker");
	bench_runtime_exec_root(NULL, 0, "not json", out, sizeof(out));
	cr_assert_str_eq(out, "/var/run/docker");
	bench_runtime_exec_root(NULL, 0, NULL, out, sizeof(out));
	cr_assert_str_eq(out, "/var/run/docker");
}

Test(bench_runtime, state_root_of_a_runtime)
{
	char out[PATH_MAX];
	struct cg_err err = {{0}};
	cr_assert_eq(bench_runtime_root("/run/docker", "runc", out, sizeof(out), &err), 0, "%s",
	             err.msg);
	cr_assert_str_eq(out, "/run/docker/runtime-runc/moby");
	cr_assert_eq(bench_runtime_root("/var/run/docker", "crun", out, sizeof(out), &err), 0);
	cr_assert_str_eq(out, "/var/run/docker/runtime-crun/moby");
	cr_assert_eq(bench_runtime_root("/run/docker", "../etc", out, sizeof(out), &err), -1);
	cr_assert(strstr(err.msg, "\"../etc\" is not a directory name; pass --runtime-root"), "%s",
	          err.msg);
	cr_assert_eq(bench_runtime_root("/run/docker", "", out, sizeof(out), &err), -1);
	char tiny[16];
	cr_assert_eq(bench_runtime_root("/run/docker", "runc", tiny, sizeof(tiny), &err), -1);
	cr_assert(strstr(err.msg, "too long"), "%s", err.msg);
}

Test(bench_runtime, runtime_of_the_container_else_dockerds_default)
{
	struct docker_info info = {.default_runtime = "runc"};
	struct docker_container c = {.runtime = "crun"};
	cr_assert_str_eq(bench_runtime_name(&info, &c), "crun");
	c.runtime[0] = '\0';
	cr_assert_str_eq(bench_runtime_name(&info, &c), "runc");
	cr_assert_str_eq(bench_runtime_name(&info, NULL), "runc", "the container cglat makes");
}

Test(bench_runtime, argv_of_one_update)
{
	struct bench_runtime_info rt = {
	        .name = "runc", .bin = "/usr/sbin/runc", .root = "/run/docker/runtime-runc/moby"};
	char storage[32];
	const char *argv[10];
	cr_assert_eq(bench_runtime_argv(&rt, ID, CG_RES_MEMORY, 135266304, storage, argv), 7);
	const char *want_mem[] = {
	        "/usr/sbin/runc", "--root", "/run/docker/runtime-runc/moby", "update", "--memory",
	        "135266304",      ID};
	for (int i = 0; i < 7; i++)
		cr_assert_str_eq(argv[i], want_mem[i], "argv[%d]", i);
	cr_assert_null(argv[7]);
	cr_assert_eq(bench_runtime_argv(&rt, ID, CG_RES_CPU, 11000, storage, argv), 7);
	cr_assert_str_eq(argv[4], "--cpu-quota");
	cr_assert_str_eq(argv[5], "11000");
	cr_assert_str_eq(argv[6], ID);
	cr_assert_null(argv[7]);
}

/* A temporary directory with files for the tests below; removed by the test's fini. */
static char tmp[64];

static void make_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/cglat-ut-runtime-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
}

static void remove_tmp(void)
{
	if (!tmp[0])
		return;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp); /* the test's own clean-up */
	cr_assert_eq(system(cmd), 0);
	tmp[0] = '\0';
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(bench_runtime, binary_found_in_the_search_path, .init = make_tmp, .fini = remove_tmp)
{
	char a[128], b[128], path[256], out[PATH_MAX];
	snprintf(a, sizeof(a), "%s/a", tmp);
	snprintf(b, sizeof(b), "%s/b", tmp);
	cr_assert_eq(mkdir(a, 0755), 0);
	cr_assert_eq(mkdir(b, 0755), 0);
	snprintf(path, sizeof(path), "%s/fakerun", a);
	write_file(path, "not executable", 0644);
	snprintf(path, sizeof(path), "%s/fakerun", b);
	write_file(path, "#!/bin/sh\n", 0755);
	char search[300];
	snprintf(search, sizeof(search), "/nonexistent::%s:%s", a, b);
	cr_assert_eq(bench_runtime_find_bin("fakerun", search, out, sizeof(out)), 0);
	cr_assert_str_eq(out, path, "a file that is not executable is skipped");
	cr_assert_eq(bench_runtime_find_bin(path, "", out, sizeof(out)), 0,
	             "a path is taken as is");
	cr_assert_str_eq(out, path);
	cr_assert_eq(bench_runtime_find_bin("fakerun", "/nonexistent", out, sizeof(out)), -1);
	cr_assert_eq(bench_runtime_find_bin(a, search, out, sizeof(out)), -1, "a directory");
	cr_assert_eq(bench_runtime_find_bin("", search, out, sizeof(out)), -1);
}

static struct bench_config config_with(const char *bin, const char *root)
{
	struct bench_config cfg;
	cli_defaults(&cfg);
	cfg.paths = (1u << PATH_RUNTIME) | (1u << PATH_DIRECT);
	cfg.runtime_bin = bin;
	cfg.runtime_root = root;
	return cfg;
}

Test(bench_runtime, resolve_names_what_is_missing_and_the_fix, .init = make_tmp, .fini = remove_tmp)
{
	struct docker_info info = {.default_runtime = "cglat-no-such-runtime",
	                           .runtimes = {{"cglat-no-such-runtime", "cglat-no-such-runc"}},
	                           .nruntimes = 1};
	struct bench_runtime_info rt;
	struct cg_err err = {{0}};
	struct bench_config cfg = config_with(NULL, NULL);
	cr_assert_eq(bench_runtime_resolve(&cfg, &info, NULL, 0, &rt, &err), -1);
	cr_assert(strstr(err.msg, "runtime path: cannot find cglat-no-such-runc, the binary of "
	                          "Docker's runtime cglat-no-such-runtime"),
	          "%s", err.msg);
	cr_assert(strstr(err.msg, "pass --runtime-bin PATH, or leave out the runtime path "
	                          "(--paths docker,api,direct)"),
	          "%s", err.msg);

	cfg = config_with("/nonexistent/runc", NULL);
	cr_assert_eq(bench_runtime_resolve(&cfg, &info, NULL, 0, &rt, &err), -1);
	cr_assert(strstr(err.msg, "--runtime-bin /nonexistent/runc: no such executable"), "%s",
	          err.msg);

	char bin[128], root[128];
	snprintf(bin, sizeof(bin), "%s/runc", tmp);
	write_file(bin, "#!/bin/sh\n", 0755);
	snprintf(root, sizeof(root), "%s/missing-root", tmp);
	cfg = config_with(bin, root);
	cr_assert_eq(bench_runtime_resolve(&cfg, &info, NULL, 0, &rt, &err), -1);
	cr_assert(strstr(err.msg, "--runtime-root") && strstr(err.msg, "No such file or directory"),
	          "%s", err.msg);

	cr_assert_eq(mkdir(root, 0700), 0);
	cr_assert_eq(bench_runtime_resolve(&cfg, &info, NULL, 0, &rt, &err), 0, "%s", err.msg);
	cr_assert_str_eq(rt.bin, bin);
	cr_assert_str_eq(rt.root, root);
	cr_assert_str_eq(rt.name, "cglat-no-such-runtime");
}

/* --container of a container whose runtime keeps no state where dockerd's would be:
 * dockerd runs somewhere else (rootless, another exec root) or did not start it. */
Test(bench_runtime, container_without_a_state_root_is_refused, .init = make_tmp, .fini = remove_tmp)
{
	char bin[128];
	snprintf(bin, sizeof(bin), "%s/cglat-ut-runc", tmp);
	write_file(bin, "#!/bin/sh\n", 0755);
	struct docker_info info = {
	        .default_runtime = "runc", .runtimes = {{"cglat-ut-rt", ""}}, .nruntimes = 1};
	struct docker_container c = {.id = ID, .name = "web", .runtime = "cglat-ut-rt"};
	struct bench_config cfg = config_with(bin, NULL);
	struct bench_runtime_info rt;
	struct cg_err err = {{0}};
	cr_assert_eq(bench_runtime_resolve(&cfg, &info, &c, 0, &rt, &err), -1);
	cr_assert(strstr(err.msg, "runtime path: cglat-ut-rt's state root "
	                          "/var/run/docker/runtime-cglat-ut-rt/moby does not exist: web "
	                          "was not started by this dockerd with runtime cglat-ut-rt"),
	          "%s", err.msg);
	cr_assert(strstr(err.msg, "pass --runtime-root DIR"), "%s", err.msg);
}

Test(bench_runtime, state_of_the_container_under_the_root, .init = make_tmp, .fini = remove_tmp)
{
	struct bench_runtime_info rt = {.name = "runc"};
	snprintf(rt.root, sizeof(rt.root), "%s", tmp);
	struct cg_err err = {{0}};
	cr_assert_eq(bench_runtime_check_state(&rt, ID, "web", &err), -1);
	cr_assert(strstr(err.msg, "runtime path: runc keeps no state of container web under"), "%s",
	          err.msg);
	cr_assert(strstr(err.msg, "pass --runtime-root DIR, or leave out the runtime path"), "%s",
	          err.msg);
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmp, ID);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s/state.json", tmp, ID);
	write_file(path, "{}", 0600);
	cr_assert_eq(bench_runtime_check_state(&rt, ID, "web", &err), 0, "%s", err.msg);
}

/* A stand-in runtime: records its argv, fails with a message for a quota of 13. */
Test(bench_runtime, update_runs_the_runtime_and_reports_its_error, .init = make_tmp,
     .fini = remove_tmp)
{
	struct bench_runtime_info rt = {.name = "runc", .root = "/run/docker/runtime-runc/moby"};
	char log[128], script[512];
	snprintf(rt.bin, sizeof(rt.bin), "%s/runc", tmp);
	snprintf(log, sizeof(log), "%s/argv", tmp);
	snprintf(script, sizeof(script),
	         "#!/bin/sh\n"
	         "echo \"$$ $*\" > %s\n"
	         "[ \"$5\" = 13 ] && { echo 'time=\"x\" level=error msg=\"bad quota\"' >&2; "
	         "exit 1; }\n"
	         "exit 0\n",
	         log);
	write_file(rt.bin, script, 0755);
	pid_t pid = 0;
	struct cg_err err = {{0}};
	cr_assert_eq(bench_runtime_update(&rt, ID, CG_RES_MEMORY, 135266304, &pid, &err), 0, "%s",
	             err.msg);
	cr_assert_gt(pid, 0);
	char got[512] = "", want[512];
	FILE *f = fopen(log, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	snprintf(want, sizeof(want),
	         "%d --root /run/docker/runtime-runc/moby update --memory 135266304 %s\n", (int)pid,
	         ID);
	cr_assert_str_eq(got, want, "the pid returned is the runtime's, its argv as built");

	cr_assert_eq(bench_runtime_update(&rt, ID, CG_RES_CPU, 13, &pid, &err), -1);
	cr_assert_str_eq(err.msg, "runc update failed (exit 1): time=\"x\" level=error msg=\"bad "
	                          "quota\"");

	snprintf(rt.bin, sizeof(rt.bin), "%s/gone", tmp);
	cr_assert_eq(bench_runtime_update(&rt, ID, CG_RES_CPU, 11000, &pid, &err), -1);
	cr_assert(strstr(err.msg, "pass --runtime-bin"), "%s", err.msg);
}
