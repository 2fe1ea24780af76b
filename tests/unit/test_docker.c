/* docker.c without dockerd: the JSON parsers against answers recorded from dockerd
 * 20.10.24 (tests/fixtures/docker), the request builders, reference checks, and the
 * CLI runner against a stand-in script. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

#define FIXTURE_ID "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a8"

static char *read_fixture(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/docker/%s", FIXTURES_DIR, name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open fixture %s", path);
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n = getdelim(&buf, &cap, '\0', f);
	fclose(f);
	cr_assert_gt(n, 0, "fixture %s is empty", path);
	return buf;
}

/* ---- /version and /info ---- */

Test(docker, parse_version_recorded)
{
	struct docker_info info = {0};
	struct cg_err err = {0};
	char *json = read_fixture("version.json");
	cr_assert_eq(docker_parse_version(json, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.server_version, "20.10.24+dfsg1");
	cr_assert_str_eq(info.api_version, "1.41");
	cr_assert_str_eq(info.runtime, "runc 1.1.5+ds1");
	free(json);
}

Test(docker, parse_info_after_version_names_runtime_and_version)
{
	struct docker_info info = {0};
	struct cg_err err = {0};
	char *v = read_fixture("version.json"), *i = read_fixture("info.json");
	cr_assert_eq(docker_parse_version(v, &info, &err), 0, "%s", err.msg);
	cr_assert_eq(docker_parse_info(i, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.runtime, "runc 1.1.5+ds1");
	cr_assert_str_eq(info.cgroup_driver, "cgroupfs");
	cr_assert_str_eq(info.cgroup_version, "1");
	cr_assert_str_eq(info.api_version, "1.41", "parse_info must not touch /version fields");
	free(v);
	free(i);
}

Test(docker, parse_info_keeps_the_runtimes_and_their_binaries)
{
	struct docker_info info = {0};
	struct cg_err err = {0};
	char *i = read_fixture("info.json");
	cr_assert_eq(docker_parse_info(i, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.default_runtime, "runc");
	cr_assert_str_eq(docker_runtime_path(&info, "io.containerd.runc.v2"), "runc");
	cr_assert_str_eq(docker_runtime_path(&info, "runc"), "runc", "runc is dockerd's own");
	free(i);

	const char *two = "{\"CgroupDriver\":\"cgroupfs\",\"DefaultRuntime\":\"crun\","
	                  "\"Runtimes\":{\"runc\":{\"path\":\"runc\"},"
	                  "\"crun\":{\"path\":\"/usr/local/bin/crun\"}}}";
	cr_assert_eq(docker_parse_info(two, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.default_runtime, "crun");
	cr_assert_eq(info.nruntimes, 2);
	cr_assert_str_eq(docker_runtime_path(&info, "crun"), "/usr/local/bin/crun");
	cr_assert_str_eq(docker_runtime_path(&info, "kata"), "kata", "unknown: the name itself");
	cr_assert_null(docker_runtime_path(&info, ""));
}

Test(docker, parse_info_alone_names_runtime_without_version)
{
	struct docker_info info = {0};
	struct cg_err err = {0};
	char *i = read_fixture("info.json");
	cr_assert_eq(docker_parse_info(i, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.runtime, "runc");
	free(i);
}

Test(docker, parse_info_other_default_runtime)
{
	struct docker_info info = {.runtime = "runc 1.1.5+ds1"};
	struct cg_err err = {0};
	const char *shim = "{\"CgroupDriver\":\"systemd\",\"CgroupVersion\":\"2\","
	                   "\"DefaultRuntime\":\"io.containerd.runc.v2\","
	                   "\"Runtimes\":{\"io.containerd.runc.v2\":{\"path\":\"/usr/bin/runc\"}}}";
	cr_assert_eq(docker_parse_info(shim, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.runtime, "io.containerd.runc.v2 (runc 1.1.5+ds1)");
	cr_assert_str_eq(info.cgroup_driver, "systemd");
	cr_assert_str_eq(info.cgroup_version, "2");

	strcpy(info.runtime, "runc 1.1.5+ds1");
	const char *crun = "{\"CgroupDriver\":\"systemd\",\"DefaultRuntime\":\"crun\","
	                   "\"Runtimes\":{\"crun\":{\"path\":\"crun\"}}}";
	cr_assert_eq(docker_parse_info(crun, &info, &err), 0, "%s", err.msg);
	cr_assert_str_eq(info.runtime, "crun", "runc's version is not crun's");
	cr_assert_str_eq(info.cgroup_version, "1", "no CgroupVersion means v1");
}

Test(docker, parse_version_and_info_reject_bad_answers)
{
	struct docker_info info = {0};
	struct cg_err err = {0};
	cr_assert_eq(docker_parse_version("not json", &info, &err), -1);
	cr_assert(strstr(err.msg, "not JSON"), "%s", err.msg);
	cr_assert_eq(docker_parse_version("{\"Version\":\"1\"}", &info, &err), -1);
	cr_assert(strstr(err.msg, "ApiVersion"), "%s", err.msg);
	cr_assert_eq(docker_parse_info("[]", &info, &err), -1);
	cr_assert(strstr(err.msg, "not a JSON object"), "%s", err.msg);
	cr_assert_eq(docker_parse_info("{}", &info, &err), -1);
	cr_assert(strstr(err.msg, "CgroupDriver"), "%s", err.msg);
}

/* ---- inspect ---- */

Test(docker, parse_inspect_running)
{
	struct docker_container c;
	struct cg_err err = {0};
	char *json = read_fixture("inspect_running.json");
	cr_assert_eq(docker_parse_inspect(json, &c, &err), 0, "%s", err.msg);
	cr_assert_str_eq(c.id, FIXTURE_ID);
	cr_assert_str_eq(c.name, "cglat-fixture", "the leading '/' is dropped");
	cr_assert(c.running);
	cr_assert_eq(c.pid, 5365);
	cr_assert_str_eq(c.cgroupns_mode, "host");
	cr_assert_str_eq(c.runtime, "runc", "HostConfig.Runtime");
	cr_assert_eq(c.limits.memory, 134217728);
	cr_assert_eq(c.limits.memory_swap, 536870912);
	cr_assert_eq(c.limits.cpu_quota, 50000);
	cr_assert_eq(c.limits.cpu_period, 100000);
	cr_assert_eq(c.limits.nano_cpus, 0);
	cr_assert_eq(c.limits.cpu_shares, 512);
	free(json);
}

Test(docker, parse_inspect_stopped)
{
	struct docker_container c;
	struct cg_err err = {0};
	char *json = read_fixture("inspect_stopped.json");
	cr_assert_eq(docker_parse_inspect(json, &c, &err), 0, "%s", err.msg);
	cr_assert_not(c.running);
	cr_assert_eq(c.pid, 0);
	cr_assert_eq(c.limits.memory, 8796093018112LL, "limits beyond 32 bits survive");
	free(json);
}

Test(docker, parse_inspect_rejects_error_body_and_garbage)
{
	struct docker_container c;
	struct cg_err err = {0};
	char *json = read_fixture("inspect_404.json");
	cr_assert_eq(docker_parse_inspect(json, &c, &err), -1);
	cr_assert(strstr(err.msg, "Id"), "%s", err.msg);
	cr_assert_eq(
	        docker_parse_inspect("{\"Id\":\"abc\",\"State\":{},\"HostConfig\":{}}", &c, &err),
	        -1, "a short Id is not a container id");
	cr_assert_eq(docker_parse_inspect("", &c, &err), -1);
	cr_assert(strstr(err.msg, "not JSON"), "%s", err.msg);
	free(json);
}

/* ---- error bodies ---- */

Test(docker, error_from_recorded_bodies)
{
	struct cg_err err = {0};
	char *nf = read_fixture("inspect_404.json"), *upd = read_fixture("update_error.json");
	cr_assert_eq(docker_error_from_body(nf, 404, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd: No such container: cglat-nonexistent (HTTP 404)");
	cr_assert_eq(docker_error_from_body(upd, 400, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd: Minimum memory limit allowed is 6MB (HTTP 400)");
	free(nf);
	free(upd);
}

Test(docker, error_from_body_fallbacks)
{
	struct cg_err err = {0};
	cr_assert_eq(docker_error_from_body("<html>bad gateway</html>", 502, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd answered HTTP 502");
	cr_assert_eq(docker_error_from_body(NULL, 500, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd answered HTTP 500");
	cr_assert_eq(docker_error_from_body("{\"message\":\"\"}", 409, &err), -1);
	cr_assert_str_eq(err.msg, "dockerd answered HTTP 409");
	cr_assert_eq(docker_error_from_body("{\"message\":\"write x: invalid argument\\n: "
	                                    "unknown\\n\"}",
	                                    500, &err),
	             -1);
	cr_assert_str_eq(err.msg, "dockerd: write x: invalid argument : unknown (HTTP 500)",
	                 "runc's newlines fold into one line");
	cr_assert_eq(docker_error_from_body("{}", 418, NULL), -1, "a NULL err is allowed");
}

/* ---- update body ---- */

static const struct {
	unsigned flag;
	const char *key;
} body_keys[] = {
        {DOCKER_SET_MEMORY, "Memory"},      {DOCKER_SET_MEMORY_SWAP, "MemorySwap"},
        {DOCKER_SET_CPU_QUOTA, "CpuQuota"}, {DOCKER_SET_CPU_PERIOD, "CpuPeriod"},
        {DOCKER_SET_NANO_CPUS, "NanoCpus"},
};

Test(docker, update_body_every_flag_combination)
{
	struct docker_update u = {
	        .memory = 134217728,
	        .memory_swap = -1,
	        .cpu_quota = 50000,
	        .cpu_period = 100000,
	        .nano_cpus = 110000000,
	};
	const int64_t want[] = {u.memory, u.memory_swap, u.cpu_quota, u.cpu_period, u.nano_cpus};
	for (unsigned set = 0; set < 32; set++) {
		u.set = set;
		char *s = docker_update_body(&u);
		cr_assert_not_null(s);
		json_t *obj = json_loads(s, 0, NULL);
		cr_assert(json_is_object(obj), "set=%u: not a JSON object: %s", set, s);
		cr_assert_eq(json_object_size(obj), (size_t)__builtin_popcount(set), "set=%u: %s",
		             set, s);
		for (size_t k = 0; k < 5; k++) {
			json_t *v = json_object_get(obj, body_keys[k].key);
			if (!(set & body_keys[k].flag)) {
				cr_assert_null(v, "set=%u: %s sent unasked", set, body_keys[k].key);
				continue;
			}
			cr_assert(json_is_integer(v), "set=%u: %s", set, s);
			cr_assert_eq(json_integer_value(v), want[k], "set=%u: %s", set, s);
		}
		json_decref(obj);
		free(s);
	}
}

Test(docker, update_body_large_values_exact)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY | DOCKER_SET_MEMORY_SWAP,
	                          .memory = 9223372036854771712LL,
	                          .memory_swap = 8796093018112LL};
	char *s = docker_update_body(&u);
	cr_assert_str_eq(s, "{\"Memory\":9223372036854771712,\"MemorySwap\":8796093018112}");
	free(s);
}

/* ---- CLI argv ---- */

static void assert_argv(const char *const *argv, int argc, const char *const *want)
{
	int n = 0;
	while (want[n])
		n++;
	cr_assert_eq(argc, n);
	for (int i = 0; i < n; i++)
		cr_assert_str_eq(argv[i], want[i], "argv[%d]", i);
	cr_assert_null(argv[n], "argv is NULL-terminated");
}

Test(docker, update_argv_all_flags_in_cli_order)
{
	char storage[8][64];
	const char *argv[16];
	struct docker_update u = {.set = DOCKER_SET_MEMORY | DOCKER_SET_MEMORY_SWAP |
	                                 DOCKER_SET_CPU_QUOTA | DOCKER_SET_CPU_PERIOD,
	                          .memory = 134217728,
	                          .memory_swap = 536870912,
	                          .cpu_quota = 50000,
	                          .cpu_period = 100000};
	int argc = docker_update_argv("docker", "web-1", &u, storage, argv);
	const char *want[] = {"docker",        "update",    "--memory",     "134217728",
	                      "--memory-swap", "536870912", "--cpu-period", "100000",
	                      "--cpu-quota",   "50000",     "web-1",        NULL};
	assert_argv(argv, argc, want);
}

Test(docker, update_argv_subsets)
{
	char storage[8][64];
	const char *argv[16];
	struct docker_update u = {.set = DOCKER_SET_MEMORY_SWAP, .memory_swap = -1};
	int argc = docker_update_argv("/usr/bin/docker", FIXTURE_ID, &u, storage, argv);
	const char *swap[] = {"/usr/bin/docker", "update", "--memory-swap", "-1", FIXTURE_ID, NULL};
	assert_argv(argv, argc, swap);

	u = (struct docker_update){.set = DOCKER_SET_CPU_QUOTA, .cpu_quota = -1};
	argc = docker_update_argv("docker", "c", &u, storage, argv);
	const char *quota[] = {"docker", "update", "--cpu-quota", "-1", "c", NULL};
	assert_argv(argv, argc, quota);

	u = (struct docker_update){0};
	argc = docker_update_argv("docker", "c", &u, storage, argv);
	const char *none[] = {"docker", "update", "c", NULL};
	assert_argv(argv, argc, none);
}

/* `docker update --cpus` takes a decimal, exact to the NanoCpu (the CLI refuses a value
 * "too precise"); with every other flag, argv still fits. */
Test(docker, update_argv_cpus_is_an_exact_decimal)
{
	char storage[8][64];
	const char *argv[16];
	struct docker_update u = {.set = DOCKER_SET_NANO_CPUS, .nano_cpus = 110000000};
	int argc = docker_update_argv("docker", "c", &u, storage, argv);
	const char *cpus[] = {"docker", "update", "--cpus", "0.11", "c", NULL};
	assert_argv(argv, argc, cpus);

	u = (struct docker_update){.set = DOCKER_SET_MEMORY | DOCKER_SET_MEMORY_SWAP |
	                                  DOCKER_SET_CPU_QUOTA | DOCKER_SET_CPU_PERIOD |
	                                  DOCKER_SET_NANO_CPUS,
	                           .memory = 1,
	                           .memory_swap = 2,
	                           .cpu_quota = 3,
	                           .cpu_period = 4,
	                           .nano_cpus = 2000000001};
	argc = docker_update_argv("docker", "c", &u, storage, argv);
	const char *all[] = {"docker", "update",       "--memory", "1",           "--memory-swap",
	                     "2",      "--cpu-period", "4",        "--cpu-quota", "3",
	                     "--cpus", "2.000000001",  "c",        NULL};
	assert_argv(argv, argc, all);
}

/* ---- references ---- */

Test(docker, validate_ref_accepts_names_and_ids)
{
	char name255[256], hex64[65];
	memset(name255, 'n', 255);
	name255[255] = '\0';
	memset(hex64, 'a', 64);
	hex64[64] = '\0';
	const char *good[] = {"cglat-idle", "a",          "A.b_c-d", "0123abcd", FIXTURE_ID,
	                      "5946c36d",   "web_1.prod", "9lives",  hex64,      name255};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct cg_err err = {0};
		cr_assert_eq(docker_validate_ref(good[i], &err), 0, "%.40s: %s", good[i], err.msg);
	}
}

static void assert_bad_ref(const char *ref, const char *expect)
{
	struct cg_err err = {0};
	cr_assert_eq(docker_validate_ref(ref, &err), -1, "accepted: %s", ref ? ref : "(null)");
	cr_assert(strstr(err.msg, expect), "%s: got \"%s\", want \"%s\"", ref ? ref : "(null)",
	          err.msg, expect);
}

Test(docker, validate_ref_refuses_bad_refs)
{
	char hex65[66], name256[257];
	memset(hex65, 'f', 65);
	hex65[65] = '\0';
	memset(name256, 'n', 256);
	name256[256] = '\0';
	assert_bad_ref("", "empty container reference");
	assert_bad_ref(NULL, "empty container reference");
	assert_bad_ref("../../etc", "\"../../etc\"");
	assert_bad_ref("a/b", "\"a/b\"");
	assert_bad_ref("-rm", "\"-rm\"");
	assert_bad_ref(".hidden", "\".hidden\"");
	assert_bad_ref("_x", "\"_x\"");
	assert_bad_ref("a b", "\"a b\"");
	assert_bad_ref("a;rm -rf /", "\"a;rm -rf /\"");
	assert_bad_ref("x?force=1", "\"x?force=1\"");
	assert_bad_ref("caf\xc3\xa9", "\"caf\\xc3\\xa9\"");
	assert_bad_ref("a\nb", "\"a\\x0ab\"");
	assert_bad_ref(hex65, "container id");
	assert_bad_ref(hex65, "longer than 64 hex digits");
	assert_bad_ref(name256, "longer than 255 characters");
}

/* ---- docker_open without dockerd ---- */

Test(docker, open_missing_socket)
{
	struct docker *d = (struct docker *)1;
	struct cg_err err = {0};
	cr_assert_eq(docker_open("/nonexistent/cglat/docker.sock", &d, NULL, &err), -1);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "no Docker socket at /nonexistent/cglat/docker.sock"), "%s",
	          err.msg);
	cr_assert(strstr(err.msg, "--docker-sock"), "%s", err.msg);
}

Test(docker, open_refuses_regular_file)
{
	struct docker *d = NULL;
	struct cg_err err = {0};
	char path[] = "/tmp/cglat-test-notsock-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	int rc = docker_open(path, &d, NULL, &err);
	unlink(path);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err.msg, "is not a socket"), "%s", err.msg);
}

/* ---- CLI runner, with a script standing in for docker ---- */

static char fake_dir[64];
static char fake_bin[128];

static void make_fake_docker(void)
{
	strcpy(fake_dir, "/tmp/cglat-test-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_dir));
	snprintf(fake_bin, sizeof(fake_bin), "%s/fake-docker", fake_dir);
	FILE *f = fopen(fake_bin, "w");
	cr_assert_not_null(f);
	/* Exits 0 for ref "ok"; otherwise fails like the CLI, echoing its argv. */
	fputs("#!/bin/sh\n"
	      "echo \"stdout noise\"\n"
	      "for last; do :; done\n"
	      "[ \"$last\" = ok ] && exit 0\n"
	      "echo \"\" >&2\n"
	      "echo \"boom: $*\" >&2\n"
	      "echo \"second line\" >&2\n"
	      "exit 3\n",
	      f);
	fclose(f);
	chmod(fake_bin, 0755);
}

static void remove_fake_docker(void)
{
	unlink(fake_bin);
	rmdir(fake_dir);
}

TestSuite(docker_cli, .init = make_fake_docker, .fini = remove_fake_docker);

Test(docker_cli, success_is_zero)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY, .memory = 134217728};
	struct cg_err err = {0};
	cr_assert_eq(docker_update_cli(fake_bin, "ok", &u, &err), 0, "%s", err.msg);
}

Test(docker_cli, failure_reports_exit_and_first_stderr_line)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY | DOCKER_SET_CPU_QUOTA,
	                          .memory = 134217728,
	                          .cpu_quota = 50000};
	struct cg_err err = {0};
	cr_assert_eq(docker_update_cli(fake_bin, "web-1", &u, &err), -1);
	cr_assert_str_eq(err.msg, "docker update failed (exit 3): boom: update --memory "
	                          "134217728 --cpu-quota 50000 web-1");
}

Test(docker_cli, searches_path_for_bare_name)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY, .memory = 134217728};
	struct cg_err err = {0};
	cr_assert_eq(setenv("PATH", fake_dir, 1), 0);
	cr_assert_eq(docker_update_cli("fake-docker", "ok", &u, &err), 0, "%s", err.msg);
}

Test(docker_cli, missing_binary_says_how_to_fix)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY, .memory = 134217728};
	struct cg_err err = {0};
	cr_assert_eq(docker_update_cli("/nonexistent/docker", "ok", &u, &err), -1);
	/* glibc names the errno; under valgrind the spawn cannot, and the exit 127 path
	 * words it differently: both name the binary and the fix. */
	cr_assert(strstr(err.msg, "cannot run /nonexistent/docker: "), "%s", err.msg);
	cr_assert(strstr(err.msg, "; install the Docker CLI or pass --docker-bin"), "%s", err.msg);
	cr_assert_eq(setenv("PATH", fake_dir, 1), 0);
	cr_assert_eq(docker_update_cli("docker-cglat-missing", "ok", &u, &err), -1);
	cr_assert(strstr(err.msg, "cannot run docker-cglat-missing"), "%s", err.msg);
}

Test(docker_cli, bad_ref_never_reaches_the_cli)
{
	struct docker_update u = {.set = DOCKER_SET_MEMORY, .memory = 134217728};
	struct cg_err err = {0};
	cr_assert_eq(docker_update_cli(fake_bin, "--help", &u, &err), -1);
	cr_assert(strstr(err.msg, "invalid container reference \"--help\""), "%s", err.msg);
}

/* ---- names from dockerd's state directory (tests/fixtures/docker/state) ---- */

#define STATE_DIR FIXTURES_DIR "/docker/state"
#define STATE_WEB "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888aaaa"
#define STATE_WEB2 "dddd4444bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888dddd"

Test(docker_state, finds_a_name_exactly)
{
	char id[65] = "";
	size_t scanned = 0;
	struct cg_err err = {0};
	cr_assert_eq(docker_state_find_name(STATE_DIR, "web", id, &scanned, &err), 1, "%s",
	             err.msg);
	/* Not "web-2", not the container whose label holds "/web", not the truncated config
	 * that names /web but is not JSON. */
	cr_assert_str_eq(id, STATE_WEB);
	/* Four configs: the directory without one and the one not named by an id are skipped. */
	cr_assert_eq(scanned, 4);
	cr_assert_eq(docker_state_find_name(STATE_DIR, "web-2", id, &scanned, &err), 1, "%s",
	             err.msg);
	cr_assert_str_eq(id, STATE_WEB2);
}

Test(docker_state, unknown_name_is_not_found)
{
	char id[65] = "";
	size_t scanned = 0;
	struct cg_err err = {0};
	cr_assert_eq(docker_state_find_name(STATE_DIR, "we", id, &scanned, &err), 0);
	cr_assert_eq(docker_state_find_name(STATE_DIR, "WEB", id, &scanned, &err), 0,
	             "names are case-sensitive");
	cr_assert_eq(docker_state_find_name(STATE_DIR, "note", id, &scanned, &err), 0);
	cr_assert_eq(scanned, 4);
	cr_assert_str_eq(id, "");
}

Test(docker_state, missing_directory_is_named)
{
	char id[65];
	size_t scanned = 9;
	struct cg_err err = {0};
	cr_assert_eq(docker_state_find_name("/nonexistent/cglat-docker", "web", id, &scanned, &err),
	             -1);
	cr_assert_eq(scanned, 0);
	cr_assert_str_eq(err.msg, "cannot read /nonexistent/cglat-docker/containers, where "
	                          "dockerd keeps its containers' names: No such file or directory");
}

Test(docker_state, bad_name_never_reaches_the_filesystem)
{
	char id[65];
	size_t scanned = 0;
	struct cg_err err = {0};
	cr_assert_eq(docker_state_find_name(STATE_DIR, "../web", id, &scanned, &err), -1);
	cr_assert(strstr(err.msg, "invalid container reference \"../web\""), "%s", err.msg);
}

/* Docker refuses a second container of the same name; a state dir that has one anyway
 * (copied by hand, left half-removed) is an error, not a guess. */
Test(docker_state, two_containers_of_one_name_are_refused)
{
	char root[] = "/tmp/cglat-test-state-XXXXXX", path[256];
	cr_assert_not_null(mkdtemp(root));
	const char *ids[] = {STATE_WEB, STATE_WEB2};
	snprintf(path, sizeof(path), "%s/containers", root);
	cr_assert_eq(mkdir(path, 0700), 0);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/containers/%s", root, ids[i]);
		cr_assert_eq(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", root, ids[i]);
		FILE *f = fopen(path, "w");
		cr_assert_not_null(f);
		fprintf(f, "{\"ID\":\"%s\",\"Name\":\"/twin\"}", ids[i]);
		fclose(f);
	}
	char id[65];
	size_t scanned = 0;
	struct cg_err err = {0};
	int rc = docker_state_find_name(root, "twin", id, &scanned, &err);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", root, ids[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/containers/%s", root, ids[i]);
		rmdir(path);
	}
	snprintf(path, sizeof(path), "%s/containers", root);
	rmdir(path);
	rmdir(root);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err.msg, "two containers in /tmp/cglat-test-state-"), "%s", err.msg);
	cr_assert(strstr(err.msg, "are named \"twin\""), "%s", err.msg);
	cr_assert(strstr(err.msg, "give the id"), "%s", err.msg);
}
