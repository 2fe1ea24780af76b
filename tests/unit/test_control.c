/* cglat set's library against fake cgroup trees in a temporary directory, laid out as
 * v1, v2 and hybrid: regular files stand in for cgroup files, a mountinfo file points
 * at them. Plans (order, values, errors), apply, verify and rollback. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cglat.h"
#include "cgroup.h"

static char root[256];
static char mountinfo[300];
static struct cg_err err;

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fprintf(f, "%s\n", text);
	fclose(f);
}

static char *get(const char *rel)
{
	static char text[256];
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(cgroup_read_file(path, text, sizeof(text), &err), 0, "%s", err.msg);
	return text;
}

static void dir(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

static void add_mount(FILE *f, int id, const char *name, const char *fs, const char *opts)
{
	fprintf(f, "%d 31 0:%d / %s/%s rw,relatime - %s %s %s\n", id, id, root, name, fs, fs, opts);
	char rel[64];
	snprintf(rel, sizeof(rel), "%s", name);
	dir(rel);
	snprintf(rel, sizeof(rel), "%s/grp", name);
	dir(rel);
}

static void v1_files(void)
{
	put("memory/grp/memory.limit_in_bytes", "134217728");
	put("memory/grp/memory.memsw.limit_in_bytes", "268435456");
	put("memory/grp/memory.usage_in_bytes", "1048576");
	put("cpu/grp/cpu.cfs_quota_us", "-1");
	put("cpu/grp/cpu.cfs_period_us", "100000");
	put("cpu/grp/cpu.shares", "1024");
	put("cpu/grp/tasks", "");
	put("cpuset/grp/cpuset.cpus", "0-1");
	put("pids/grp/pids.max", "max");
}

static void v2_files(void)
{
	put("unified/grp/memory.max", "max");
	put("unified/grp/memory.swap.max", "max");
	put("unified/grp/memory.high", "max");
	put("unified/grp/memory.current", "1048576");
	put("unified/grp/cpu.max", "max 100000");
	put("unified/grp/cpu.weight", "100");
	put("unified/grp/cgroup.threads", "");
	put("unified/grp/cpuset.cpus", "");
	put("unified/grp/pids.max", "max");
}

/* "v1", "v2" or "hybrid": a tree with the group "grp" in every hierarchy. */
static void make_tree(const char *layout)
{
	snprintf(root, sizeof(root), "/tmp/cglat-test-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	FILE *f = fopen(mountinfo, "w");
	cr_assert_not_null(f);
	if (strcmp(layout, "v2") != 0) {
		add_mount(f, 32, "cpu", "cgroup", "rw,cpu");
		add_mount(f, 33, "cpuacct", "cgroup", "rw,cpuacct");
		add_mount(f, 34, "cpuset", "cgroup", "rw,cpuset");
		add_mount(f, 35, "memory", "cgroup", "rw,memory");
		add_mount(f, 39, "pids", "cgroup", "rw,pids");
		v1_files();
	}
	if (strcmp(layout, "v1") != 0)
		add_mount(f, 41, "unified", "cgroup2", "rw");
	if (strcmp(layout, "v2") == 0)
		v2_files();
	fclose(f);
}

static void remove_tree(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static struct cglat_target *open_grp(void)
{
	struct cglat_target_spec spec = {
	        .kind = CGLAT_TARGET_CGROUP, .ref = "grp", .mountinfo = mountinfo};
	struct cglat_target *t = NULL;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	return t;
}

/* Limits from "name=value" pairs, NULL-terminated. */
static struct cglat_limits limits(const char *first, ...)
{
	struct cglat_limits l = {0};
	va_list ap;
	va_start(ap, first);
	for (const char *kv = first; kv; kv = va_arg(ap, const char *)) {
		char name[64];
		const char *eq = strchr(kv, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		cr_assert_eq(cglat_limits_parse(&l, name, eq + 1, &err), 0, "%s: %s", kv, err.msg);
	}
	va_end(ap);
	return l;
}

static struct cglat_plan plan;

static void plan_ok(const struct cglat_target *t, struct cglat_limits l)
{
	cr_assert_eq(cglat_limits_plan(t, &l, &plan, &err), 0, "%s", err.msg);
}

static const char *plan_err(const struct cglat_target *t, struct cglat_limits l)
{
	cr_assert_eq(cglat_limits_plan(t, &l, &plan, &err), -1, "plan accepted");
	cr_assert_eq(plan.count, 0);
	return err.msg;
}

static void assert_write(size_t i, const char *file, const char *old, const char *new)
{
	cr_assert_lt(i, plan.count, "no write %zu (%zu planned)", i, plan.count);
	cr_assert_str_eq(plan.w[i].file, file);
	cr_assert_str_eq(plan.w[i].old_text, old, "%s: old", file);
	cr_assert_str_eq(plan.w[i].new_text, new, "%s: new", file);
}

TestSuite(control, .fini = remove_tree);

/* ---- targets ------------------------------------------------------------------------ */

Test(control, target_cgroup_paths_in_each_layout)
{
	const char *layouts[] = {"v1", "v2", "hybrid"};
	for (int i = 0; i < 3; i++) {
		make_tree(layouts[i]);
		struct cglat_target *t = open_grp();
		enum cg_mode want = i == 0 ? CG_MODE_V1 : i == 1 ? CG_MODE_V2 : CG_MODE_HYBRID;
		cr_assert_eq(t->mode, want, "%s", layouts[i]);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s/grp", root, i == 1 ? "unified" : "memory");
		cr_assert_str_eq(t->dir[CGLAT_CTL_MEMORY], path);
		cr_assert_str_eq(t->label, "cgroup /grp");
		cglat_target_close(t);
		remove_tree();
	}
	make_tree("v1");
}

Test(control, target_absolute_path_inside_a_mount)
{
	make_tree("hybrid");
	char ref[512], want[512];
	snprintf(ref, sizeof(ref), "%s/memory/grp/", root);
	struct cglat_target_spec spec = {
	        .kind = CGLAT_TARGET_CGROUP, .ref = ref, .mountinfo = mountinfo};
	struct cglat_target *t = NULL;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	snprintf(want, sizeof(want), "%s/cpu/grp", root);
	cr_assert_str_eq(t->dir[CGLAT_CTL_CPU], want);
	cr_assert_str_eq(t->label, "cgroup /grp");
	cglat_target_close(t);
}

Test(control, target_errors)
{
	make_tree("v1");
	struct cglat_target *t = NULL;
	struct cglat_target_spec spec = {
	        .kind = CGLAT_TARGET_CGROUP, .ref = "nope", .mountinfo = mountinfo};
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "no cgroup \"/nope\""), "%s", err.msg);
	spec.ref = "grp/../..";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "\"..\" are not allowed"), "%s", err.msg);
	spec.kind = CGLAT_TARGET_PID;
	spec.pid = 0;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "invalid PID 0"), "%s", err.msg);
	cr_assert_null(t);
}

#define ID_A "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888aaaa"
#define ID_B "aaaa2222bbbb2222cccc3333dddd4444eeee5555ffff6666000077778888bbbb"

static void fake_proc(const char *pid, const char *id)
{
	char rel[128], text[256];
	snprintf(rel, sizeof(rel), "proc/%s", pid);
	dir(rel);
	snprintf(rel, sizeof(rel), "proc/%s/cgroup", pid);
	snprintf(text, sizeof(text), "4:memory:/docker/%s\n1:cpu:/docker/%s\n0::/", id, id);
	put(rel, text);
}

Test(control, no_daemon_scan_finds_ids_in_proc)
{
	make_tree("v1");
	dir("proc");
	fake_proc("10", ID_A);
	fake_proc("20", ID_B);
	dir("memory/docker");
	dir("memory/docker/" ID_A);
	char proc[300];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CONTAINER,
	                                 .ref = "aaaa1",
	                                 .no_daemon = true,
	                                 .mountinfo = mountinfo,
	                                 .proc_root = proc};
	struct cglat_target *t = NULL;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	cr_assert_str_eq(t->container_id, ID_A);
	cr_assert(t->docker);
	cr_assert_eq(t->pid, 10);
	cr_assert_str_eq(t->label, "container aaaa1111bbbb");
	cglat_target_close(t);

	spec.ref = "aaaa";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "ambiguous"), "%s", err.msg);
	spec.ref = "ffff";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "no running container has an id starting with \"ffff\""), "%s",
	          err.msg);
	/* Names come from dockerd's state directory (a fixture one here). */
	spec.docker_root = FIXTURES_DIR "/docker/state";
	spec.ref = "nginx";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "no container is named \"nginx\" in " FIXTURES_DIR
	                          "/docker/state/containers"),
	          "%s", err.msg);
	cr_assert(strstr(err.msg, "names need dockerd"), "%s", err.msg);
}

#define PODMAN_ID "8cea9eb90cac0e4bc20cf0423955838928884f9190244acca60be0bfa6d54e5f"

/* A podman container on the fake tree: its cgroup under libpod_parent, a process in it,
 * containers/storage's list and conmon's pidfile. */
static void fake_podman(const char *pidfile_text)
{
	dir("proc");
	dir("proc/30");
	put("proc/30/cgroup", "4:memory:/libpod_parent/libpod-" PODMAN_ID
	                      "\n1:cpu:/libpod_parent/libpod-" PODMAN_ID "\n0::/");
	dir("memory/libpod_parent");
	dir("memory/libpod_parent/libpod-" PODMAN_ID);
	put("memory/libpod_parent/libpod-" PODMAN_ID "/memory.limit_in_bytes", "134217728");
	dir("cpu/libpod_parent");
	dir("cpu/libpod_parent/libpod-" PODMAN_ID);
	dir("storage");
	dir("storage/overlay-containers");
	char cmd[700];
	snprintf(cmd, sizeof(cmd),
	         "cp '%s/podman/containers.json' '%s/storage/overlay-containers/'", FIXTURES_DIR,
	         root);
	cr_assert_eq(system(cmd), 0);
	dir("run");
	dir("run/overlay-containers");
	dir("run/overlay-containers/" PODMAN_ID);
	dir("run/overlay-containers/" PODMAN_ID "/userdata");
	put("run/overlay-containers/" PODMAN_ID "/userdata/pidfile", pidfile_text);
}

Test(control, podman_container_by_name_from_its_storage)
{
	make_tree("v1");
	fake_podman("30");
	char proc[300], storage[300], run[300];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(storage, sizeof(storage), "%s/storage", root);
	snprintf(run, sizeof(run), "%s/run", root);
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CONTAINER,
	                                 .ref = "web",
	                                 .engine = CGLAT_ENGINE_PODMAN,
	                                 .mountinfo = mountinfo,
	                                 .proc_root = proc,
	                                 .podman_root = storage,
	                                 .podman_run_root = run};
	struct cglat_target *t = NULL;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	cr_assert_str_eq(t->container_id, PODMAN_ID);
	cr_assert(t->podman);
	cr_assert_not(t->docker);
	cr_assert_eq(t->pid, 30);
	cr_assert_str_eq(t->label, "container web (8cea9eb90cac, podman)");
	cr_assert(strstr(t->dir[CGLAT_CTL_MEMORY], "/memory/libpod_parent/libpod-" PODMAN_ID));
	cglat_target_close(t);

	/* auto: Docker first; with dockerd unreachable, podman's storage has the name. */
	spec.engine = CGLAT_ENGINE_AUTO;
	spec.docker_sock = "/nonexistent/docker.sock";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	cr_assert(t->podman);
	cr_assert_eq(t->mode, CG_MODE_V1, "the mode survives the fallback");
	cglat_target_close(t);
	/* ... and when neither has it, both say so. */
	spec.ref = "nginx";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "cannot ask dockerd about container \"nginx\""), "%s", err.msg);
	cr_assert(strstr(err.msg, "nor is \"nginx\" a podman container's name or id"), "%s",
	          err.msg);
	/* docker only: podman's names are not looked at. */
	spec.ref = "web";
	spec.engine = CGLAT_ENGINE_DOCKER;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert_not(strstr(err.msg, "podman"), "%s", err.msg);
	spec.engine = CGLAT_ENGINE_PODMAN;
	spec.ref = "nginx";
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "no podman container is named \"nginx\""), "%s", err.msg);
}

Test(control, podman_stale_pidfile_is_not_running)
{
	make_tree("v1");
	fake_podman("10");
	/* pid 10 is some process outside the container */
	dir("proc/10");
	put("proc/10/cgroup", "4:memory:/\n1:cpu:/\n0::/");
	char proc[300], storage[300], run[300];
	snprintf(proc, sizeof(proc), "%s/proc", root);
	snprintf(storage, sizeof(storage), "%s/storage", root);
	snprintf(run, sizeof(run), "%s/run", root);
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CONTAINER,
	                                 .ref = "8cea9",
	                                 .engine = CGLAT_ENGINE_PODMAN,
	                                 .mountinfo = mountinfo,
	                                 .proc_root = proc,
	                                 .podman_root = storage,
	                                 .podman_run_root = run};
	struct cglat_target *t = NULL;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert(strstr(err.msg, "podman container web (8cea9eb90cac) is not running: the pid "
	                          "its pidfile holds (10) is not in its cgroup"),
	          "%s", err.msg);
	cr_assert_null(t);
}

/* ---- plans: order and values ---------------------------------------------------------- */

Test(control, v1_raising_memory_writes_memsw_first)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=512m", "memory-swap=1g", NULL));
	cr_assert_eq(plan.count, 2);
	assert_write(0, "memory.memsw.limit_in_bytes", "268435456", "1073741824");
	assert_write(1, "memory.limit_in_bytes", "134217728", "536870912");
	cr_assert_eq(plan.memory_usage, 1048576);
	cglat_target_close(t);
}

Test(control, v1_lowering_memory_writes_memory_first)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", "memory-swap=64m", NULL));
	assert_write(0, "memory.limit_in_bytes", "134217728", "67108864");
	assert_write(1, "memory.memsw.limit_in_bytes", "268435456", "67108864");
	/* Unlimited counts as the highest value: raising. */
	plan_ok(t, limits("memory=max", "memory-swap=-1", NULL));
	assert_write(0, "memory.memsw.limit_in_bytes", "268435456", "-1");
	assert_write(1, "memory.limit_in_bytes", "134217728", "-1");
	cglat_target_close(t);
}

Test(control, v1_memory_above_memsw_or_usage_is_refused)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	cr_assert(strstr(plan_err(t, limits("memory=512m", NULL)),
	                 "is above the memory+swap limit 256.0 MiB"),
	          "%s", err.msg);
	cr_assert(strstr(plan_err(t, limits("memory=512k", NULL)),
	                 "below the current usage of 1.0 MiB (1048576 bytes in "
	                 "memory.usage_in_bytes)"),
	          "%s", err.msg);
	struct cglat_limits l = limits("memory=512k", NULL);
	l.force = true;
	plan_ok(t, l);
	assert_write(0, "memory.limit_in_bytes", "134217728", "524288");
	cglat_target_close(t);
}

Test(control, v1_without_swap_accounting)
{
	make_tree("v1");
	char path[512];
	snprintf(path, sizeof(path), "%s/memory/grp/memory.memsw.limit_in_bytes", root);
	cr_assert_eq(unlink(path), 0);
	struct cglat_target *t = open_grp();
	cr_assert(strstr(plan_err(t, limits("memory=64m", "memory-swap=128m", NULL)),
	                 "swapaccount=1"),
	          "%s", err.msg);
	plan_ok(t, limits("memory=1g", NULL)); /* no memsw to stay under */
	cglat_target_close(t);
}

Test(control, v1_cpu_quota_period_shares)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("cpus=0.5", NULL));
	cr_assert_eq(plan.count, 1);
	assert_write(0, "cpu.cfs_quota_us", "-1", "50000");
	/* Quota from the new period; from no quota, the quota goes first (75000/100000 in
	 * between is below no limit at all). */
	plan_ok(t, limits("cpus=1.5", "cpu-period=50000", NULL));
	assert_write(0, "cpu.cfs_quota_us", "-1", "75000");
	assert_write(1, "cpu.cfs_period_us", "100000", "50000");
	/* cpu-weight converted with crun's formula. */
	plan_ok(t, limits("cpu-weight=100", NULL));
	assert_write(0, "cpu.shares", "1024", "2597");
	plan_ok(t, limits("cpu-quota=max", NULL));
	assert_write(0, "cpu.cfs_quota_us", "-1", "-1");
	cglat_target_close(t);
}

Test(control, v1_period_quota_order_keeps_the_ratio_low)
{
	make_tree("v1");
	put("cpu/grp/cpu.cfs_quota_us", "50000");
	struct cglat_target *t = open_grp();
	/* 50000/100000 -> 10000/20000: quota first passes 10000/100000, period first
	 * would pass 50000/20000. */
	plan_ok(t, limits("cpu-quota=10000", "cpu-period=20000", NULL));
	assert_write(0, "cpu.cfs_quota_us", "50000", "10000");
	assert_write(1, "cpu.cfs_period_us", "100000", "20000");
	/* Growing both: period first passes 50000/400000. */
	plan_ok(t, limits("cpu-quota=200000", "cpu-period=400000", NULL));
	assert_write(0, "cpu.cfs_period_us", "100000", "400000");
	assert_write(1, "cpu.cfs_quota_us", "50000", "200000");
	cglat_target_close(t);
}

Test(control, v1_plan_errors_for_files_the_mode_lacks)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	cr_assert(strstr(plan_err(t, limits("memory-high=1g", NULL)),
	                 "memory.high needs cgroup v2: the memory controller of cgroup /grp is on "
	                 "cgroup v1 (v1 mode)"),
	          "%s", err.msg);
	cr_assert(strstr(plan_err(t, limits("cpus=0.005", NULL)),
	                 "is a quota of 500 us, below the kernel's minimum of 1000 us"),
	          "%s", err.msg);
	char path[512];
	snprintf(path, sizeof(path), "%s/pids/grp", root);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	cr_assert_eq(system(cmd), 0);
	cglat_target_close(t);
	t = open_grp();
	cr_assert(strstr(plan_err(t, limits("pids-max=10", NULL)), "has no pids cgroup"), "%s",
	          err.msg);
	cglat_target_close(t);
}

Test(control, v2_files_and_conversions)
{
	make_tree("v2");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=256m", "memory-swap=384m", "memory-high=200m", "cpus=0.25",
	                  "cpu-shares=1024", "cpuset-cpus=0", "pids-max=64", NULL));
	cr_assert_eq(plan.count, 7);
	assert_write(0, "memory.max", "max", "268435456");
	assert_write(1, "memory.swap.max", "max", "134217728"); /* memory-swap minus memory */
	assert_write(2, "memory.high", "max", "209715200");
	assert_write(3, "cpu.max", "max 100000", "25000 100000");
	assert_write(4, "cpu.weight", "100", "39"); /* crun: 1 + (1024 - 2) * 9999 / 262142 */
	assert_write(5, "cpuset.cpus", "", "0");
	assert_write(6, "pids.max", "max", "64");
	plan_ok(t, limits("cpu-period=50000", NULL));
	assert_write(0, "cpu.max", "max 100000", "max 50000");
	cr_assert(strstr(plan_err(t, limits("memory-swap=1g", NULL)), "needs a memory limit"), "%s",
	          err.msg);
	cglat_target_close(t);
}

Test(control, v2_controller_not_enabled)
{
	make_tree("v2");
	char path[512];
	snprintf(path, sizeof(path), "%s/unified/grp/pids.max", root);
	cr_assert_eq(unlink(path), 0);
	struct cglat_target *t = open_grp();
	cr_assert(strstr(plan_err(t, limits("memory=1g", "pids-max=10", NULL)),
	                 "the pids controller is not enabled"),
	          "%s", err.msg);
	cglat_target_close(t);
}

Test(control, hybrid_uses_the_v1_hierarchies)
{
	make_tree("hybrid");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=128m", "cpu-weight=10000", NULL));
	assert_write(0, "memory.limit_in_bytes", "134217728", "134217728");
	assert_write(1, "cpu.shares", "1024", "262144");
	cglat_target_close(t);
}

Test(control, nice_counts_tasks)
{
	make_tree("v1");
	char self[32];
	snprintf(self, sizeof(self), "%d", (int)getpid());
	put("cpu/grp/tasks", self);
	struct cglat_target *t = open_grp();
	errno = 0;
	int now = getpriority(PRIO_PROCESS, 0);
	char value[32];
	snprintf(value, sizeof(value), "nice=%d", now);
	plan_ok(t, limits(value, NULL));
	cr_assert(plan.renice);
	cr_assert_eq(plan.tasks, 1);
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), 0, "%s", err.msg);
	cr_assert_eq(r.reniced, 1);
	cr_assert_eq(r.written, 0);
	cglat_target_close(t);
}

/* ---- apply, verify, rollback --------------------------------------------------------- */

Test(control, apply_writes_in_order_and_verifies)
{
	const char *layouts[] = {"v1", "v2", "hybrid"};
	for (int i = 0; i < 3; i++) {
		make_tree(layouts[i]);
		struct cglat_target *t = open_grp();
		plan_ok(t, limits("memory=100m", "cpus=2", "pids-max=50", NULL));
		struct cglat_apply_result r;
		cr_assert_eq(cglat_limits_apply(&plan, CGLAT_APPLY_VERIFY, &r, &err), 0, "%s: %s",
		             layouts[i], err.msg);
		cr_assert_eq(r.written, 3);
		cr_assert(r.verified);
		cr_assert_gt(r.write_ns, 0);
		const char *mem =
		        i == 1 ? "unified/grp/memory.max" : "memory/grp/memory.limit_in_bytes";
		cr_assert_str_eq(get(mem), "104857600");
		cr_assert_str_eq(get(i == 1 ? "unified/grp/cpu.max" : "cpu/grp/cpu.cfs_quota_us"),
		                 i == 1 ? "200000 100000" : "200000");
		cglat_target_close(t);
		remove_tree();
	}
	make_tree("v1");
}

Test(control, verify_fails_when_the_file_differs)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("cpu-shares=512", NULL));
	/* A stand-in that keeps its value: a symlink to a file that is rewritten later is too
	 * much; instead check the matcher directly. */
	cr_assert(cglat_value_matches(&plan.w[0], "512\n"));
	cr_assert_not(cglat_value_matches(&plan.w[0], "1024"));
	plan_ok(t, limits("memory=100000001", NULL));
	cr_assert(cglat_value_matches(&plan.w[0], "99999744"), "page rounding");
	plan_ok(t, limits("cpuset-cpus=0,1", NULL));
	cr_assert(cglat_value_matches(&plan.w[0], "0-1"));
	cr_assert_not(cglat_value_matches(&plan.w[0], "0"));
	cglat_target_close(t);
}

/* Points the planned write of `file` at /dev/full, whose writes fail with ENOSPC (a
 * symlink in the tree would be refused at open: see symlink_in_the_tree_is_refused). */
static void fail_writes_of(const char *file)
{
	for (size_t i = 0; i < plan.count; i++) {
		size_t n = strlen(plan.w[i].path), f = strlen(file);
		if (n >= f && strcmp(plan.w[i].path + n - f, file) == 0) {
			snprintf(plan.w[i].path, sizeof(plan.w[i].path), "/dev/full");
			plan.w[i].beneath = strlen("/dev");
			return;
		}
	}
	cr_assert_fail("no planned write of %s", file);
}

/* A write that fails half way: the second file becomes /dev/full after planning. */
Test(control, failed_write_puts_back_the_files_already_written)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", "cpus=0.5", "pids-max=20", NULL));
	cr_assert_eq(plan.count, 3);
	fail_writes_of("cpu.cfs_quota_us");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), -1);
	cr_assert(strstr(err.msg, "writing \"50000\" to cpu.cfs_quota_us failed: No space left on "
	                          "device; put back "
	                          "the 1 file already written (memory.limit_in_bytes)"),
	          "%s", err.msg);
	cr_assert_eq(r.rolled_back, 1);
	cr_assert_eq(r.written, 0);
	cr_assert_str_eq(get("memory/grp/memory.limit_in_bytes"), "134217728");
	cr_assert_str_eq(get("pids/grp/pids.max"), "max");
	cglat_target_close(t);
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Kept files: the first apply opens them, the next ones write through the same fds, each
 * value lands, and closing the set gives every fd back. */
Test(control, kept_files_are_opened_once_and_written_again)
{
	const char *layouts[] = {"v1", "v2", "hybrid"};
	for (int i = 0; i < 3; i++) {
		make_tree(layouts[i]);
		struct cglat_target *t = open_grp();
		struct cglat_files *files = cglat_files_new();
		cr_assert_not_null(files);
		int before = open_fds();
		const char *mem =
		        i == 1 ? "unified/grp/memory.max" : "memory/grp/memory.limit_in_bytes";
		int after_first = 0;
		for (int k = 0; k < 3; k++) {
			char value[32];
			snprintf(value, sizeof(value), "memory=%dm", 100 + k);
			plan_ok(t, limits(value, "pids-max=50", NULL));
			struct cglat_apply_result r;
			cr_assert_eq(
			        cglat_limits_apply_kept(&plan, CGLAT_APPLY_VERIFY, files, &r, &err),
			        0, "%s: %s", layouts[i], err.msg);
			cr_assert_eq(r.written, 2);
			cr_assert(r.verified);
			char want[32];
			snprintf(want, sizeof(want), "%lld", (100LL + k) * 1024 * 1024);
			cr_assert_str_eq(get(mem), want, "%s, apply %d", layouts[i], k);
			if (k == 0)
				after_first = open_fds();
			else
				cr_assert_eq(open_fds(), after_first,
				             "%s: apply %d opened files again", layouts[i], k);
		}
		cr_assert_eq(after_first, before + 2, "%s: %d fds kept, not 2", layouts[i],
		             after_first - before);
		cglat_files_close(files);
		cr_assert_eq(open_fds(), before, "%s: closing the kept files left fds", layouts[i]);
		cglat_target_close(t);
		remove_tree();
	}
	make_tree("v1");
}

/* A kept file that fails is not kept failing: rollback works through the kept fds too. */
Test(control, kept_files_roll_back_like_opened_ones)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	struct cglat_files *files = cglat_files_new();
	plan_ok(t, limits("memory=64m", "cpus=0.5", "pids-max=20", NULL));
	fail_writes_of("cpu.cfs_quota_us");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply_kept(&plan, 0, files, &r, &err), -1);
	cr_assert(strstr(err.msg, "put back the 1 file already written (memory.limit_in_bytes)"),
	          "%s", err.msg);
	cr_assert_str_eq(get("memory/grp/memory.limit_in_bytes"), "134217728");
	cglat_files_close(files);
	cglat_target_close(t);
}

/* A file that cannot be opened: nothing is written at all. */
Test(control, unopenable_file_writes_nothing)
{
	make_tree("v2");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", "pids-max=20", NULL));
	char path[512];
	snprintf(path, sizeof(path), "%s/unified/grp/pids.max", root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0755), 0);
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), -1);
	cr_assert(strstr(err.msg, "Is a directory; nothing was written"), "%s", err.msg);
	cr_assert_str_eq(get("unified/grp/memory.max"), "max");
	cglat_target_close(t);
}

/* Restoring v1's unlimited memory writes -1, not the huge number. */
Test(control, rollback_of_unlimited_v1_memory)
{
	make_tree("v1");
	put("memory/grp/memory.limit_in_bytes", "9223372036854771712");
	put("memory/grp/memory.memsw.limit_in_bytes", "9223372036854771712");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", "pids-max=20", NULL));
	cr_assert_str_eq(plan.w[0].restore_text, "-1");
	fail_writes_of("pids.max");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), -1);
	cr_assert_str_eq(get("memory/grp/memory.limit_in_bytes"), "-1");
	cglat_target_close(t);
}

/* A symlink planted in the cgroup tree is not followed: nothing is written anywhere. */
Test(control, symlink_in_the_tree_is_refused)
{
	make_tree("v1");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", "pids-max=20", NULL));
	char path[512], elsewhere[512];
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", root);
	put("elsewhere", "untouched");
	snprintf(path, sizeof(path), "%s/pids/grp/pids.max", root);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(symlink(elsewhere, path), 0);
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), -1);
	cr_assert(strstr(err.msg, "symbolic links; nothing was written"), "%s", err.msg);
	cr_assert_str_eq(get("elsewhere"), "untouched");
	cr_assert_str_eq(get("memory/grp/memory.limit_in_bytes"), plan.w[0].old_text);
	cglat_target_close(t);
}

/* A path planned outside its cgroup mount is refused before anything is written. */
Test(control, path_outside_the_mount_is_refused)
{
	make_tree("v2");
	struct cglat_target *t = open_grp();
	plan_ok(t, limits("memory=64m", NULL));
	snprintf(plan.w[0].path + plan.w[0].beneath, sizeof(plan.w[0].path) - plan.w[0].beneath,
	         "/../elsewhere");
	put("elsewhere", "untouched");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&plan, 0, &r, &err), -1);
	cr_assert(strstr(err.msg, "nothing was written"), "%s", err.msg);
	cr_assert_str_eq(get("elsewhere"), "untouched");
	cglat_target_close(t);
}

/* ---- cgroups of cglat run --------------------------------------------------------------- */

Test(control, run_cgroup_v1_made_in_each_hierarchy_and_removed)
{
	make_tree("v1");
	put("cpuset/cpuset.cpus", "0-1");
	put("cpuset/cpuset.mems", "0");
	struct cglat_cgroup cg;
	unsigned mask = (1u << CGLAT_CTL_MEMORY) | (1u << CGLAT_CTL_CPU) |
	                (1u << CGLAT_CTL_CPUACCT) | (1u << CGLAT_CTL_CPUSET);
	cr_assert_eq(cglat_cgroup_create(mountinfo, NULL, "job", mask, mask, &cg, &err), 0, "%s",
	             err.msg);
	cr_assert_str_eq(cg.path, "/cglat/job");
	cr_assert_str_eq(get("cpuset/cglat/job/cpuset.cpus"), "0-1");
	cr_assert_str_eq(get("cpuset/cglat/job/cpuset.mems"), "0");
	char path[512];
	snprintf(path, sizeof(path), "%s/cpuacct/cglat/job", root);
	cr_assert_str_eq(cg.dir[CGLAT_CTL_CPUACCT], path);
	cr_assert_not(cg.has[CGLAT_CTL_PIDS]);
	/* Again: the name is taken. */
	struct cglat_cgroup again;
	cr_assert_eq(cglat_cgroup_create(mountinfo, NULL, "job", mask, mask, &again, &err), -1);
	cr_assert(strstr(err.msg, "exists already"), "%s", err.msg);
	/* Regular files are in the stand-in directories; clear them so rmdir works. */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -f '%s'/cpuset/cglat/job/* '%s'/cpuset/cglat/cpuset.*", root,
	         root);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(cglat_cgroup_remove(&cg, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/memory/cglat", root);
	cr_assert_eq(access(path, F_OK), -1, "the cglat directory made is removed too");
}

Test(control, run_cgroup_v2_one_directory_controllers_enabled)
{
	make_tree("v2");
	put("unified/cgroup.controllers", "cpuset cpu io memory pids");
	put("unified/cgroup.subtree_control", "");
	dir("unified/cglat");
	put("unified/cglat/cgroup.controllers", "cpu memory");
	put("unified/cglat/cgroup.subtree_control", "");
	struct cglat_cgroup cg;
	unsigned mask = (1u << CGLAT_CTL_MEMORY) | (1u << CGLAT_CTL_CPU) | (1u << CGLAT_CTL_PIDS);
	cr_assert_eq(
	        cglat_cgroup_create(mountinfo, NULL, "job", mask, 1u << CGLAT_CTL_PIDS, &cg, &err),
	        -1);
	cr_assert(strstr(err.msg, "the pids controller is not available"), "%s", err.msg);
	put("unified/cglat/cgroup.controllers", "cpu memory pids");
	cr_assert_eq(
	        cglat_cgroup_create(mountinfo, NULL, "job", mask, 1u << CGLAT_CTL_PIDS, &cg, &err),
	        0, "%s", err.msg);
	cr_assert_str_eq(cg.dir[CGLAT_CTL_MEMORY], cg.dir[CGLAT_CTL_PIDS]);
	cr_assert_str_eq(get("unified/cglat/cgroup.subtree_control"), "+pids");
	cr_assert(cg.made[CGLAT_CTL_MEMORY]);
	cr_assert_not(cg.made[CGLAT_CTL_PIDS], "one directory is made once");
	cr_assert_eq(cglat_cgroup_remove(&cg, 0, &err), 0, "%s", err.msg);
}
