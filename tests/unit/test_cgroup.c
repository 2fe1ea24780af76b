/* Where limits live: mountinfo and /proc/PID/cgroup fixtures from each cgroup
 * layout, limit file names and value formats, container ids in cgroup paths. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cglat.h"
#include "cgroup.h"
#include "cglat_event.h"

#define HYBRID_ID "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a8"
#define V1_CGROUPFS_ID "3f4e9b0c1d2a7e8f6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"
#define V1_SYSTEMD_ID "9a8b7c6d5e4f30211f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define V2_CGROUPFS_ID "c0ffee00112233445566778899aabbccddeeff00112233445566778899aabbcc"
#define V2_SYSTEMD_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define V2_PRIVATE_ID "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* Large: static rather than on the test's stack. */
static struct cg_mounts mounts;
static struct cg_memberships ms;
static struct cg_err err;

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strdup(buf);
}

/* Parses FIXTURES_DIR/<name>/{mountinfo,cgroup} into mounts and ms. */
static void load(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/mountinfo", FIXTURES_DIR, name);
	char *text = slurp(path);
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0, "%s: %s", path, err.msg);
	free(text);
	snprintf(path, sizeof(path), "%s/%s/cgroup", FIXTURES_DIR, name);
	text = slurp(path);
	cr_assert_eq(cgroup_parse_proc(text, &ms, &err), 0, "%s: %s", path, err.msg);
	free(text);
}

static const char *mode_name(void)
{
	enum cg_mode mode;
	cr_assert_eq(cgroup_mode_of(&mounts, &mode, &err), 0, "%s", err.msg);
	return cgroup_mode_name(mode);
}

/* Asserts the directory and version cgroup_dir_of finds for a controller. */
static void expect_dir(const char *controller, const char *dir, int version)
{
	char got[PATH_MAX];
	int v = 0;
	cr_assert_eq(cgroup_dir_of(&mounts, &ms, controller, got, sizeof(got), &v, &err), 0,
	             "%s: %s", controller, err.msg);
	cr_assert_str_eq(got, dir, "%s directory", controller);
	cr_assert_eq(v, version, "%s version", controller);
}

static const char *dir_error(const char *controller)
{
	char got[PATH_MAX];
	int v = 0;
	err.msg[0] = '\0';
	cr_assert_eq(cgroup_dir_of(&mounts, &ms, controller, got, sizeof(got), &v, &err), -1,
	             "%s resolved to %s", controller, got);
	return err.msg;
}

static const struct cg_mount *mount_at(const char *mountpoint)
{
	for (size_t i = 0; i < mounts.count; i++)
		if (strcmp(mounts.mount[i].mountpoint, mountpoint) == 0)
			return &mounts.mount[i];
	cr_assert_fail("no cgroup mount at %s", mountpoint);
	return NULL;
}

static const char *id_of(const char *path)
{
	static char id[65];
	memset(id, 'X', sizeof(id));
	return cgroup_container_id_of_path(path, id) ? id : NULL;
}

/* ---- fixtures --------------------------------------------------------------------- */

Test(cgroup, hybrid_cgroupfs_captured_on_debian12)
{
	load("hybrid-cgroupfs");
	cr_assert_str_eq(mode_name(), "hybrid");
	cr_assert_eq(mounts.count, 10, "the tmpfs on /sys/fs/cgroup is not a cgroup mount");
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/systemd")->controllers, "name=systemd");
	cr_assert_eq(mount_at("/sys/fs/cgroup/unified")->version, 2);
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/unified")->controllers, "");
	cr_assert_eq(ms.count, 10);
	expect_dir("memory", "/sys/fs/cgroup/memory/docker/" HYBRID_ID, 1);
	expect_dir("cpu", "/sys/fs/cgroup/cpu/docker/" HYBRID_ID, 1);
	expect_dir("cpuacct", "/sys/fs/cgroup/cpuacct/docker/" HYBRID_ID, 1);
	/* no v1 hierarchy has io: the cgroup2 mount is used */
	expect_dir("io", "/sys/fs/cgroup/unified/docker/" HYBRID_ID, 2);
	cr_assert_str_eq(id_of(ms.entry[0].path), HYBRID_ID);
}

Test(cgroup, hybrid_seen_from_inside_a_host_cgroupns_container)
{
	/* Docker bind-mounts the container's own cgroup: mount root = membership path. */
	load("hybrid-container-view");
	cr_assert_str_eq(mode_name(), "v1", "no cgroup2 mount inside the container");
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/memory")->root, "/docker/" HYBRID_ID);
	expect_dir("memory", "/sys/fs/cgroup/memory", 1);
	expect_dir("cpu", "/sys/fs/cgroup/cpu", 1);
}

Test(cgroup, hybrid_seen_from_inside_a_private_cgroupns_container)
{
	/* Captured with nsenter --cgroup: the kernel shows both the mount roots and the
	 * membership paths relative to the namespace root, so both are "/". */
	load("hybrid-private-ns");
	cr_assert_str_eq(mode_name(), "v1");
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/memory")->root, "/");
	cr_assert_str_eq(ms.entry[0].path, "/");
	expect_dir("memory", "/sys/fs/cgroup/memory", 1);
	expect_dir("cpu", "/sys/fs/cgroup/cpu", 1);
	cr_assert_eq(cgroup_container_id_of_path(ms.entry[0].path, (char[65]){0}), false);
}

Test(cgroup, v1_cgroupfs_combined_cpu_cpuacct)
{
	load("v1-cgroupfs");
	cr_assert_str_eq(mode_name(), "v1");
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/cpu,cpuacct")->controllers, "cpuacct,cpu");
	cr_assert_str_eq(mount_at("/sys/fs/cgroup/systemd")->controllers, "name=systemd",
	                 "xattr and release_agent= are options, not controllers");
	expect_dir("memory", "/sys/fs/cgroup/memory/docker/" V1_CGROUPFS_ID, 1);
	expect_dir("cpu", "/sys/fs/cgroup/cpu,cpuacct/docker/" V1_CGROUPFS_ID, 1);
	expect_dir("name=systemd", "/sys/fs/cgroup/systemd/docker/" V1_CGROUPFS_ID, 1);
	cr_assert_str_eq(dir_error("io"),
	                 "no cgroup hierarchy has the io controller: no cgroup v1 mount lists it "
	                 "and cgroup2 is not mounted");
}

Test(cgroup, v1_systemd_driver_scope)
{
	load("v1-systemd");
	cr_assert_str_eq(mode_name(), "v1");
	expect_dir("memory", "/sys/fs/cgroup/memory/system.slice/docker-" V1_SYSTEMD_ID ".scope",
	           1);
	expect_dir("cpu", "/sys/fs/cgroup/cpu,cpuacct/system.slice/docker-" V1_SYSTEMD_ID ".scope",
	           1);
	cr_assert_str_eq(id_of(ms.entry[0].path), V1_SYSTEMD_ID);
}

Test(cgroup, v2_cgroupfs)
{
	load("v2-cgroupfs");
	cr_assert_str_eq(mode_name(), "v2");
	cr_assert_eq(mounts.count, 1);
	expect_dir("memory", "/sys/fs/cgroup/docker/" V2_CGROUPFS_ID, 2);
	expect_dir("cpu", "/sys/fs/cgroup/docker/" V2_CGROUPFS_ID, 2);
	cr_assert_str_eq(id_of(ms.entry[0].path), V2_CGROUPFS_ID);
}

Test(cgroup, v2_systemd_driver_scope)
{
	load("v2-systemd");
	cr_assert_str_eq(mode_name(), "v2");
	expect_dir("memory", "/sys/fs/cgroup/system.slice/docker-" V2_SYSTEMD_ID ".scope", 2);
	cr_assert_str_eq(id_of(ms.entry[0].path), V2_SYSTEMD_ID);
}

Test(cgroup, v2_private_ns_membership_outside_the_mount_root)
{
	/* "0::/" is the namespace root, above the mounted /docker/<id>: the directory
	 * cannot be named from this view, and saying so beats guessing. */
	load("v2-private-ns");
	cr_assert_str_eq(mode_name(), "v2");
	cr_assert_str_eq(mounts.mount[0].root, "/docker/" V2_PRIVATE_ID);
	cr_assert_str_eq(dir_error("memory"),
	                 "the memory cgroup \"/\" is outside \"/docker/" V2_PRIVATE_ID
	                 "\", the part of the hierarchy mounted on /sys/fs/cgroup: run cglat "
	                 "in the host's cgroup namespace");
	cr_assert_eq(cgroup_container_id_of_path(ms.entry[0].path, (char[65]){0}), false);
}

/* ---- parsing details ---------------------------------------------------------------- */

Test(cgroup, mount_root_prefix_is_stripped_only_on_a_path_boundary)
{
	cr_assert_eq(cgroup_parse_mountinfo("30 1 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 "
	                                    "cgroup2 rw\n",
	                                    &mounts, &err),
	             0, "%s", err.msg);
	cr_assert_eq(cgroup_parse_proc("0::/docker/abc/sub\n", &ms, &err), 0, "%s", err.msg);
	expect_dir("memory", "/sys/fs/cgroup/sub", 2);
	cr_assert_eq(cgroup_parse_proc("0::/docker/abcdef\n", &ms, &err), 0, "%s", err.msg);
	cr_assert_str_eq(dir_error("memory"),
	                 "the memory cgroup \"/docker/abcdef\" is outside \"/docker/abc\", the "
	                 "part of the hierarchy mounted on /sys/fs/cgroup: run cglat in the host's "
	                 "cgroup namespace");
}

Test(cgroup, private_namespace_with_inherited_mount_is_refused)
{
	/* What `unshare -C` shows for a mount made outside the new namespace. */
	cr_assert_eq(cgroup_parse_mountinfo("35 31 0:32 /../.. /sys/fs/cgroup/memory rw - "
	                                    "cgroup cgroup rw,memory\n",
	                                    &mounts, &err),
	             0);
	cr_assert_eq(cgroup_parse_proc("4:memory:/\n", &ms, &err), 0);
	cr_assert_str_eq(dir_error("memory"),
	                 "the memory cgroup \"/\" is outside \"/../..\", the part of the "
	                 "hierarchy mounted on /sys/fs/cgroup/memory: run cglat in the host's "
	                 "cgroup namespace");
}

Test(cgroup, mountinfo_unescapes_octal_and_skips_optional_fields)
{
	const char *text = "40 31 0:37 /a\\040b /mnt/my\\040cgroups/mem\\134x rw,relatime "
	                   "shared:5 master:1 - cgroup cgroup rw,memory\n";
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0, "%s", err.msg);
	cr_assert_eq(mounts.count, 1);
	cr_assert_str_eq(mounts.mount[0].mountpoint, "/mnt/my cgroups/mem\\x");
	cr_assert_str_eq(mounts.mount[0].root, "/a b");
	cr_assert_str_eq(mounts.mount[0].controllers, "memory");
	cr_assert_eq(mounts.mount[0].version, 1);
}

Test(cgroup, mountinfo_keeps_only_controller_options)
{
	const char *text = "1 0 0:1 / /a rw - cgroup cgroup rw,xattr,clone_children,"
	                   "noprefix,release_agent=/bin/x,cpuset,cpuset_v2_mode\n"
	                   "2 0 0:2 / /b rw - cgroup none rw,none,name=elogind\n"
	                   "3 0 0:3 / /c rw - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0, "%s", err.msg);
	cr_assert_eq(mounts.count, 3);
	cr_assert_str_eq(mounts.mount[0].controllers, "cpuset");
	cr_assert_str_eq(mounts.mount[1].controllers, "name=elogind");
	cr_assert_str_eq(mounts.mount[2].controllers, "");
}

Test(cgroup, mountinfo_first_mount_of_a_hierarchy_wins)
{
	const char *text = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
	                   "90 27 0:32 / /mnt/memory rw - cgroup cgroup rw,memory\n"
	                   "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	                   "91 27 0:38 / /mnt/unified rw - cgroup2 cgroup2 rw\n";
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0, "%s", err.msg);
	cr_assert_eq(mounts.count, 2);
	cr_assert_str_eq(mounts.mount[0].mountpoint, "/sys/fs/cgroup/memory");
	cr_assert_str_eq(mounts.mount[1].mountpoint, "/sys/fs/cgroup/unified");
}

Test(cgroup, cpu_is_not_matched_by_cpuacct_or_cpuset)
{
	const char *text = "33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	                   "34 31 0:31 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
	                   "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0);
	cr_assert_eq(cgroup_parse_proc("3:cpuset:/s\n2:cpuacct:/a\n1:cpu:/c\n", &ms, &err), 0);
	expect_dir("cpu", "/sys/fs/cgroup/cpu/c", 1);
}

Test(cgroup, malformed_mountinfo_names_the_line)
{
	const char *text = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	                   "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime cgroup cgroup rw,cpu\n";
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), -1);
	cr_assert_str_eq(err.msg, "malformed mountinfo line 2: expected \"id parent major:minor "
	                          "root mountpoint options [optional fields] - fstype source "
	                          "super-options\"");
	cr_assert_eq(cgroup_parse_mountinfo("1 2 3\n", &mounts, &err), -1);
	cr_assert(strstr(err.msg, "malformed mountinfo line 1:") == err.msg, "%s", err.msg);
}

Test(cgroup, malformed_cgroup_lines_are_errors)
{
	const char *bad[] = {"memory:/docker/x", "x:memory:/a", "4:memory",
	                     "4:memory:docker",  "-1::/",       ":memory:/a"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[128], want[256];
		snprintf(text, sizeof(text), "0::/\n%s\n", bad[i]);
		cr_assert_eq(cgroup_parse_proc(text, &ms, &err), -1, "\"%s\" accepted", bad[i]);
		snprintf(want, sizeof(want),
		         "malformed cgroup line 2 \"%s\": expected "
		         "\"hierarchy-id:controllers:/path\", "
		         "like \"4:memory:/docker/<id>\"",
		         bad[i]);
		cr_assert_str_eq(err.msg, want);
	}
	cr_assert_eq(cgroup_parse_proc("", &ms, &err), -1);
	cr_assert_str_eq(err.msg, "the cgroup file is empty: expected lines like "
	                          "\"0::/docker/<id>\"");
}

Test(cgroup, cgroup_path_may_contain_colons)
{
	cr_assert_eq(cgroup_parse_proc("0::/a:b/c\n", &ms, &err), 0, "%s", err.msg);
	cr_assert_eq(ms.entry[0].hierarchy, 0);
	cr_assert_str_eq(ms.entry[0].controllers, "");
	cr_assert_str_eq(ms.entry[0].path, "/a:b/c");
}

Test(cgroup, missing_membership_for_a_mounted_controller)
{
	cr_assert_eq(cgroup_parse_mountinfo("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup "
	                                    "cgroup rw,memory\n",
	                                    &mounts, &err),
	             0);
	cr_assert_eq(cgroup_parse_proc("1:cpu:/x\n", &ms, &err), 0);
	cr_assert_str_eq(dir_error("memory"),
	                 "the process has no cgroup v1 entry for the memory controller "
	                 "(/sys/fs/cgroup/memory is mounted but /proc/PID/cgroup does not list "
	                 "it)");
	cr_assert_eq(cgroup_parse_mountinfo("3 0 0:3 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
	                                    &mounts, &err),
	             0);
	cr_assert_str_eq(dir_error("memory"),
	                 "the process has no cgroup v2 \"0::\" entry for the memory controller "
	                 "(/sys/fs/cgroup is mounted but /proc/PID/cgroup does not list it)");
}

Test(cgroup, mode_detection)
{
	enum cg_mode mode;
	cr_assert_eq(
	        cgroup_parse_mountinfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n", &mounts, &err), 0);
	cr_assert_eq(cgroup_mode_of(&mounts, &mode, &err), -1);
	cr_assert_str_eq(err.msg, "no cgroup filesystem is mounted: mount cgroup2 on "
	                          "/sys/fs/cgroup (or the v1 hierarchies) and retry");

	/* a controller-less name=systemd v1 mount next to cgroup2 is still v2 */
	cr_assert_eq(cgroup_parse_mountinfo("1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	                                    "2 0 0:2 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
	                                    "rw,name=systemd\n",
	                                    &mounts, &err),
	             0);
	cr_assert_str_eq(mode_name(), "v2");
	cr_assert_eq(cgroup_parse_mountinfo("2 0 0:2 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
	                                    "rw,name=systemd\n",
	                                    &mounts, &err),
	             0);
	cr_assert_str_eq(mode_name(), "v1");
}

Test(cgroup, names)
{
	cr_assert_str_eq(cgroup_mode_name(CG_MODE_V1), "v1");
	cr_assert_str_eq(cgroup_mode_name(CG_MODE_V2), "v2");
	cr_assert_str_eq(cgroup_mode_name(CG_MODE_HYBRID), "hybrid");
	cr_assert_str_eq(cgroup_controller_of(CG_RES_MEMORY), "memory");
	cr_assert_str_eq(cgroup_controller_of(CG_RES_CPU), "cpu");
	cr_assert_str_eq(cgroup_resource_name(CG_RES_MEMORY), "memory");
	cr_assert_str_eq(cgroup_resource_name(CG_RES_CPU), "cpu");
}

Test(cgroup, limit_file_names)
{
	cr_assert_str_eq(cgroup_limit_file(CG_RES_MEMORY, 1), "memory.limit_in_bytes");
	cr_assert_str_eq(cgroup_limit_file(CG_RES_MEMORY, 2), "memory.max");
	cr_assert_str_eq(cgroup_limit_file(CG_RES_CPU, 1), "cpu.cfs_quota_us");
	cr_assert_str_eq(cgroup_limit_file(CG_RES_CPU, 2), "cpu.max");
	cr_assert_str_eq(cgroup_swap_file(1), "memory.memsw.limit_in_bytes");
	cr_assert_str_eq(cgroup_swap_file(2), "memory.swap.max");
}

/* The names the probes time writes of: every limit file of v1 and v2, each once, and
 * no file that only reports (usage, stat, procs). */
Test(cgroup, files_whose_writes_change_a_limit)
{
	static const char *const want[] = {"memory.limit_in_bytes",
	                                   "memory.max",
	                                   "memory.memsw.limit_in_bytes",
	                                   "memory.swap.max",
	                                   "memory.high",
	                                   "cpu.cfs_quota_us",
	                                   "cpu.max",
	                                   "cpu.cfs_period_us",
	                                   "cpu.shares",
	                                   "cpu.weight",
	                                   "cpuset.cpus",
	                                   "cpuset.mems",
	                                   "pids.max",
	                                   "memory.soft_limit_in_bytes",
	                                   "memory.low"};
	const char *names[32];
	size_t n = cgroup_limit_file_names(names, 32);
	cr_assert_eq(n, sizeof(want) / sizeof(want[0]), "%zu names", n);
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(names[i], want[i], "name %zu", i);
		cr_expect_lt(strlen(names[i]), (size_t)CGLAT_NAME_LEN,
		             "%s: too long for the probes' key", names[i]);
	}
	/* A short array takes what fits; the count still says how many there are. */
	const char *two[2];
	cr_expect_eq(cgroup_limit_file_names(two, 2), n);
	cr_expect_str_eq(two[1], "memory.max");
}

/* ---- limit values --------------------------------------------------------------------- */

static const char *fmt(enum cg_resource res, int version, int64_t value, int64_t period)
{
	static char buf[64];
	cr_assert_eq(cgroup_format_limit(res, version, value, period, buf, sizeof(buf), &err), 0,
	             "%s", err.msg);
	return buf;
}

static const char *fmt_error(enum cg_resource res, int version, int64_t value, int64_t period)
{
	char buf[64];
	err.msg[0] = '\0';
	cr_assert_eq(cgroup_format_limit(res, version, value, period, buf, sizeof(buf), &err), -1);
	return err.msg;
}

Test(cgroup, format_memory_limit)
{
	cr_assert_str_eq(fmt(CG_RES_MEMORY, 1, 134217728, 0), "134217728");
	cr_assert_str_eq(fmt(CG_RES_MEMORY, 2, 134217728, 0), "134217728");
	cr_assert_str_eq(fmt(CG_RES_MEMORY, 1, -1, 0), "-1");
	cr_assert_str_eq(fmt(CG_RES_MEMORY, 2, -1, 0), "max");
}

Test(cgroup, format_cpu_limit)
{
	cr_assert_str_eq(fmt(CG_RES_CPU, 1, 11000, 100000), "11000");
	cr_assert_str_eq(fmt(CG_RES_CPU, 1, -1, 100000), "-1");
	cr_assert_str_eq(fmt(CG_RES_CPU, 2, 11000, 100000), "11000 100000");
	cr_assert_str_eq(fmt(CG_RES_CPU, 2, -1, 100000), "max 100000");
	cr_assert_str_eq(fmt(CG_RES_CPU, 2, 1000, 1000), "1000 1000");
}

Test(cgroup, format_limit_rejects_what_the_kernel_would)
{
	cr_assert_str_eq(fmt_error(CG_RES_CPU, 1, 500, 100000),
	                 "CPU quota 500 us is below the kernel's minimum of 1000 us");
	cr_assert_str_eq(fmt_error(CG_RES_CPU, 2, 0, 100000),
	                 "CPU quota 0 us is below the kernel's minimum of 1000 us");
	cr_assert_str_eq(fmt_error(CG_RES_CPU, 2, 50000, 0),
	                 "CPU period 0 us is outside the kernel's range of 1000 to 1000000 us");
	cr_assert_str_eq(fmt_error(CG_RES_CPU, 2, -1, 2000000),
	                 "CPU period 2000000 us is outside the kernel's range of 1000 to 1000000 "
	                 "us");
	cr_assert_str_eq(fmt_error(CG_RES_MEMORY, 3, 1, 0),
	                 "unknown cgroup version 3: expected 1 or 2");
	char small[4];
	cr_assert_eq(
	        cgroup_format_limit(CG_RES_MEMORY, 1, 134217728, 0, small, sizeof(small), &err),
	        -1);
	cr_assert_str_eq(err.msg, "limit text buffer too small (4 bytes)");
}

static int64_t parse(enum cg_resource res, int version, const char *text, int64_t *period)
{
	int64_t v = -42;
	cr_assert_eq(cgroup_parse_limit(res, version, text, &v, period, &err), 0, "\"%s\": %s",
	             text, err.msg);
	return v;
}

static const char *parse_error(enum cg_resource res, int version, const char *text)
{
	int64_t v = 0, p = 0;
	err.msg[0] = '\0';
	cr_assert_eq(cgroup_parse_limit(res, version, text, &v, &p, &err), -1, "\"%s\" accepted",
	             text);
	return err.msg;
}

Test(cgroup, parse_memory_limit)
{
	cr_assert_eq(parse(CG_RES_MEMORY, 1, "134217728", NULL), 134217728);
	cr_assert_eq(parse(CG_RES_MEMORY, 1, "134217728\n", NULL), 134217728);
	cr_assert_eq(parse(CG_RES_MEMORY, 1, "9223372036854771712", NULL), -1);
	cr_assert_eq(parse(CG_RES_MEMORY, 1, "9223372036854710272", NULL), -1, "64 KiB pages");
	cr_assert_eq(parse(CG_RES_MEMORY, 1, "-1", NULL), -1);
	cr_assert_eq(parse(CG_RES_MEMORY, 2, "max\n", NULL), -1);
	cr_assert_eq(parse(CG_RES_MEMORY, 2, "268435456", NULL), 268435456);
}

Test(cgroup, parse_cpu_limit)
{
	int64_t period = 0;
	cr_assert_eq(parse(CG_RES_CPU, 1, "50000", NULL), 50000);
	cr_assert_eq(parse(CG_RES_CPU, 1, "-1\n", NULL), -1);
	cr_assert_eq(parse(CG_RES_CPU, 2, "50000 100000\n", &period), 50000);
	cr_assert_eq(period, 100000);
	cr_assert_eq(parse(CG_RES_CPU, 2, "max 250000", &period), -1);
	cr_assert_eq(period, 250000);
	cr_assert_eq(parse(CG_RES_CPU, 2, "max 100000", NULL), -1);
}

Test(cgroup, format_then_parse_round_trips)
{
	const int64_t values[] = {-1, 1000, 11000, 134217728};
	for (int version = 1; version <= 2; version++) {
		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			for (int r = 0; r < CG_RES_COUNT; r++) {
				int64_t period = 0;
				const char *text =
				        fmt((enum cg_resource)r, version, values[i], 50000);
				cr_assert_eq(parse((enum cg_resource)r, version, text, &period),
				             values[i], "v%d %s \"%s\"", version,
				             cgroup_resource_name((enum cg_resource)r), text);
				if (r == CG_RES_CPU && version == 2)
					cr_assert_eq(period, 50000);
			}
		}
	}
}

Test(cgroup, parse_limit_errors_name_the_file_and_form)
{
	cr_assert_str_eq(parse_error(CG_RES_MEMORY, 1, "max"),
	                 "invalid memory.limit_in_bytes value \"max\": expected a number of bytes");
	cr_assert_str_eq(parse_error(CG_RES_MEMORY, 2, "-1"),
	                 "invalid memory.max value \"-1\": expected a number of bytes or \"max\"");
	cr_assert_str_eq(parse_error(CG_RES_MEMORY, 2, "12k"),
	                 "invalid memory.max value \"12k\": expected a number of bytes or \"max\"");
	cr_assert_str_eq(parse_error(CG_RES_MEMORY, 2, ""),
	                 "invalid memory.max value \"\": expected a number of bytes or \"max\"");
	cr_assert_str_eq(parse_error(CG_RES_CPU, 1, "max"),
	                 "invalid cpu.cfs_quota_us value \"max\": expected a number of "
	                 "microseconds or -1");
	const char *bad_cpu_max[] = {"50000",   "50000 100000 1", "-1 100000",
	                             "max max", "max 0",          "50000 abc"};
	for (size_t i = 0; i < sizeof(bad_cpu_max) / sizeof(bad_cpu_max[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want),
		         "invalid cpu.max value \"%s\": expected \"QUOTA PERIOD\" in "
		         "microseconds, like \"50000 100000\" or \"max 100000\"",
		         bad_cpu_max[i]);
		cr_assert_str_eq(parse_error(CG_RES_CPU, 2, bad_cpu_max[i]), want);
	}
	cr_assert_str_eq(parse_error(CG_RES_CPU, 0, "1"),
	                 "unknown cgroup version 0: expected 1 or 2");
}

/* ---- container ids ---------------------------------------------------------------------- */

#define ID_A "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a8"
#define ID_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

Test(cgroup, container_id_from_driver_paths)
{
	cr_assert_str_eq(id_of("/docker/" ID_A), ID_A);
	cr_assert_str_eq(id_of("/docker/" ID_A "/"), ID_A);
	cr_assert_str_eq(id_of("/system.slice/docker-" ID_A ".scope"), ID_A);
	cr_assert_str_eq(id_of("/machine.slice/libpod-" ID_A ".scope"), ID_A);
	/* podman's cgroupfs manager, as on this project's hybrid hosts */
	cr_assert_str_eq(id_of("/libpod_parent/libpod-" ID_A), ID_A);
	cr_assert_str_eq(id_of("/kubepods/besteffort/pod1234/" ID_A), ID_A);
	cr_assert_str_eq(id_of("/docker/" ID_A "/init"), ID_A, "a child of the container");
	cr_assert_str_eq(id_of("/docker/" ID_A "/docker/" ID_B), ID_B, "innermost wins");
}

Test(cgroup, container_id_absent)
{
	const char *none[] = {
	        "/",
	        "",
	        "/user.slice/user-1000.slice/session-2.scope",
	        "/docker",
	        "/docker/"
	        "5946C36D473681A53413DE9ABEFAF0242AEB14E34F51EDF2FC5A1D56908F11A8",
	        "/docker/"
	        "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a",
	        "/docker/" ID_A "0",
	        "/other/" ID_A "/child",
	        "/system.slice/docker-" ID_A ".service",
	        "/system.slice/crio-" ID_A ".scope",
	        "/libpod_parent/libpod-conmon-" ID_A, /* conmon's, not the container's */
	        "/libpod_parent/libpod-" ID_A "0",
	        "/process_api/9e40d8a2877bcee22e62413d5716bd9a",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		cr_assert_null(id_of(none[i]), "found an id in \"%s\"", none[i]);
}

/* ---- live system (no root needed) ------------------------------------------------------ */

Test(cgroup, resolve_pid_that_does_not_exist)
{
	struct cglat_target *t = NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = 2147483647};
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert_str_eq(err.msg, "no process with PID 2147483647 (it may have exited)");
	spec.pid = 0;
	cr_assert_eq(cglat_target_open(&spec, &t, &err), -1);
	cr_assert_str_eq(err.msg, "invalid PID 0: expected a positive process id");
}

Test(cgroup, resolve_self_agrees_with_the_parsers)
{
	char *text = slurp("/proc/self/mountinfo");
	cr_assert_eq(cgroup_parse_mountinfo(text, &mounts, &err), 0, "%s", err.msg);
	free(text);
	text = slurp("/proc/self/cgroup");
	cr_assert_eq(cgroup_parse_proc(text, &ms, &err), 0, "%s", err.msg);
	free(text);

	struct cglat_target *t = NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = getpid()};
	cr_assert_eq(cglat_target_open(&spec, &t, &err), 0, "%s", err.msg);
	static const enum cg_knob limit[CG_RES_COUNT] = {CG_KNOB_MEMORY_MAX, CG_KNOB_CPU_QUOTA};
	static const enum cglat_ctl ctl[CG_RES_COUNT] = {CGLAT_CTL_MEMORY, CGLAT_CTL_CPU};
	for (int r = 0; r < CG_RES_COUNT; r++) {
		char dir[PATH_MAX], path[PATH_MAX + 64], got[PATH_MAX];
		int version = 0;
		cr_assert_eq(cgroup_dir_of(&mounts, &ms, cgroup_controller_of((enum cg_resource)r),
		                           dir, sizeof(dir), &version, &err),
		             0, "%s", err.msg);
		snprintf(path, sizeof(path), "%s/%s", dir,
		         cgroup_limit_file((enum cg_resource)r, version));
		cr_assert_str_eq(t->dir[ctl[r]], dir);
		cr_assert_eq(t->version[ctl[r]], version);
		int rc = cglat_target_path(t, limit[r], got, sizeof(got), NULL, &err);
		if (access(path, F_OK) != 0) {
			/* e.g. the root cgroup: the error must say which file is missing */
			cr_assert_eq(rc, -1);
			cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);
			continue;
		}
		cr_assert_eq(rc, 0, "%s", err.msg);
		cr_assert_str_eq(got, path);
	}
	cglat_target_close(t);
}

Test(cgroup, read_file_strips_the_newline)
{
	char path[] = "/tmp/cglat-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "max 100000\n", 11), 11);
	close(fd);
	char buf[64];
	cr_assert_eq(cgroup_read_file(path, buf, sizeof(buf), &err), 0, "%s", err.msg);
	cr_assert_str_eq(buf, "max 100000");
	unlink(path);
	cr_assert_eq(cgroup_read_file(path, buf, sizeof(buf), &err), -1);
	char want[128];
	snprintf(want, sizeof(want), "cannot open %s: No such file or directory", path);
	cr_assert_str_eq(err.msg, want);
}
