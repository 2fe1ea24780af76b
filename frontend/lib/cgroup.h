/* Where a process's cgroup limits live: cgroup mode detection from mountinfo,
 * PID -> cgroup directory per controller, and the limit file names and value
 * formats of each mode. Parsers take text so they are tested with fixtures. */
#ifndef CGLAT_CGROUP_H
#define CGLAT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/* The resources cglat changes. */
enum cg_resource { CG_RES_MEMORY, CG_RES_CPU, CG_RES_COUNT };

#define CG_MAX_MOUNTS 32
#define CG_MAX_MEMBERSHIPS 32

struct cg_mount {
	char mountpoint[PATH_MAX]; /* e.g. /sys/fs/cgroup/memory */
	char root[PATH_MAX];       /* mountinfo field 4: the cgroup path mounted there */
	int version;               /* 1 or 2 */
	char controllers[256];     /* v1: super options that name controllers, comma separated
	                              ("cpu,cpuacct", "name=systemd"); v2: "" */
};

struct cg_mounts {
	struct cg_mount mount[CG_MAX_MOUNTS];
	size_t count;
};

/* One line of /proc/PID/cgroup: "hierarchy-id:controller-list:path". */
struct cg_membership {
	int hierarchy;
	char controllers[256]; /* "" for the v2 line "0::/path" */
	char path[PATH_MAX];
};

struct cg_memberships {
	struct cg_membership entry[CG_MAX_MEMBERSHIPS];
	size_t count;
};

/* Parses the text of /proc/self/mountinfo, keeping only cgroup and cgroup2 mounts.
 * When a hierarchy is mounted twice, the first mount wins. */
int cgroup_parse_mountinfo(const char *text, struct cg_mounts *out, struct cg_err *err);

/* Parses the text of /proc/PID/cgroup. */
int cgroup_parse_proc(const char *text, struct cg_memberships *out, struct cg_err *err);

/* v2: only a cgroup2 mount; v1: only v1 mounts; hybrid: v1 mounts with controllers and
 * a cgroup2 mount too. Fails when there is no cgroup mount at all. */
int cgroup_mode_of(const struct cg_mounts *mounts, enum cg_mode *mode, struct cg_err *err);
const char *cgroup_mode_name(enum cg_mode mode); /* "v1", "v2", "hybrid" */

/* The controller that holds a resource: "memory" or "cpu". */
const char *cgroup_controller_of(enum cg_resource res);
const char *cgroup_resource_name(enum cg_resource res); /* "memory", "cpu" */

/* Directory of `controller` for the process described by memberships: a v1
 * hierarchy that has the controller when there is one, else the v2 hierarchy.
 * The path is mountpoint + (membership path relative to the mount's root).
 * *version is set to 1 or 2. Fails, naming the controller, when neither has it. */
int cgroup_dir_of(const struct cg_mounts *mounts, const struct cg_memberships *memberships,
                  const char *controller, char *dir, size_t dir_len, int *version,
                  struct cg_err *err);

/* The file that a limit change of `res` writes, per cgroup version:
 * memory: "memory.limit_in_bytes" (v1) / "memory.max" (v2);
 * cpu:    "cpu.cfs_quota_us" (v1) / "cpu.max" (v2). */
const char *cgroup_limit_file(enum cg_resource res, int version);

/* The swap limit file: "memory.memsw.limit_in_bytes" (v1) / "memory.swap.max" (v2). */
const char *cgroup_swap_file(int version);

/* The text cglat writes, and expects the kernel to see, for a limit value:
 * memory: bytes ("134217728"), or "max" (v2) / "-1" (v1) when value < 0;
 * cpu:    quota in us ("11000", v1), "quota period" ("11000 100000", v2), with
 *         "max" (v2) / "-1" (v1) for no quota when value < 0. */
int cgroup_format_limit(enum cg_resource res, int version, int64_t value, int64_t period_us,
                        char *buf, size_t len, struct cg_err *err);

/* Parses what a limit file holds back to a value (-1 for "max"/unlimited; v1's
 * huge "9223372036854771712" memory value also reads as -1). For v2 cpu.max the
 * period is returned in *period_us when not NULL. */
int cgroup_parse_limit(enum cg_resource res, int version, const char *text, int64_t *value,
                       int64_t *period_us, struct cg_err *err);

/* The 64-hex-digit container id in a cgroup path of the cgroupfs ("/docker/<id>")
 * or systemd ("/system.slice/docker-<id>.scope") driver, podman's "libpod-<id>.scope",
 * or a bare "<id>" last component; the innermost when nested; false when none. */
bool cgroup_container_id_of_path(const char *path, char id[65]);

/* The length of the longest cgroup mountpoint that path is below (0: none). */
size_t cgroup_mount_len(const struct cg_mounts *mounts, const char *path);

/* Opens path, which must lie below its first root_len characters (a cgroup mountpoint):
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV) from the mountpoint, or
 * on kernels without openat2 each component with O_NOFOLLOW and no "..". Returns the fd,
 * or -1 with errno (EXDEV: not below the mount, ELOOP: a symlink). */
int cgroup_open_beneath(const char *path, size_t root_len, int flags);

/* A whole file of any size (proc and cgroup files report st_size 0), NUL-terminated,
 * malloc'd; NULL with *saved_errno set when it cannot be read. */
char *cgroup_read_all(const char *path, int *saved_errno);

/* Reads a small file (a limit file) into buf, trailing newline removed. */
int cgroup_read_file(const char *path, char *buf, size_t len, struct cg_err *err);

/* ---- every file cglat set/run touch, per version (cgroup_knob.c) ---- */

/* The file name of a knob for cgroup version 1 or 2; NULL when that version has none. */
const char *cgroup_knob_file(enum cg_knob knob, int version);

/* The controller whose directory holds the knob ("memory", "cpu", "cpuacct", "cpuset",
 * "pids"); v2 keeps CPU usage in cpu.stat, so CG_KNOB_CPU_USAGE is "cpuacct" on v1 only. */
const char *cgroup_knob_controller(enum cg_knob knob, int version);

/* The names of the files whose writes change a limit, v1 and v2, each once (cpu.max
 * serves quota and period): up to cap into names, returns how many there are. */
size_t cgroup_limit_file_names(const char **names, size_t cap);

/* Reads a mountinfo file (NULL: /proc/self/mountinfo) or a /proc/PID/cgroup file. */
int cgroup_load_mounts(const char *path, struct cg_mounts *mounts, struct cg_err *err);
int cgroup_load_memberships(const char *path, struct cg_memberships *ms, struct cg_err *err);

/* The value of the line "key N" in a flat keyed file (cpu.stat, memory.events,
 * memory.oom_control); false when the key is not there. */
bool cgroup_keyed_value(const char *text, const char *key, int64_t *value);

#endif
