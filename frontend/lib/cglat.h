/* libcglat, the public header: everything a program needs to change the limits of a
 * container, a process or a cgroup the way cglat set does, in microseconds.
 *
 * cglat's library face for changing limits fast: resolve a target (a container, a
 * process or a cgroup), plan the writes a limit change needs (validated, ordered as the
 * kernel accepts them, old values read), apply them with a few write(2) calls on files
 * opened once, and put back what was written when a later write fails. cglat set and
 * cglat run are thin layers over this; a controller written in C can link it too. */
#ifndef CGLAT_H
#define CGLAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Paths in the structs below: the kernel's PATH_MAX, spelt out so that the header
 * needs no feature macro (the library checks the two agree). */
#define CGLAT_PATH_MAX 4096

/* What libcglat.so exports: this header's calls only (the rest of the library is
 * cglat's own and hidden). */
#define CGLAT_API __attribute__((visibility("default")))

/* ---- errors, modes, files ------------------------------------------------------------- */

/* Errors as values: a call that can fail returns -1 and fills a cg_err with one
 * sentence that names the problem and, where there is one, the fix. */
struct cg_err {
	char msg[1024];
};

/* How the host mounts cgroups: v1 only, v2 only, or v1 controllers beside a v2 mount. */
enum cg_mode { CG_MODE_V1, CG_MODE_V2, CG_MODE_HYBRID };

/* Every file cglat set and run touch; its name differs per cgroup version. */
enum cg_knob {
	CG_KNOB_MEMORY_MAX,   /* memory.limit_in_bytes / memory.max */
	CG_KNOB_MEMORY_SWAP,  /* memory.memsw.limit_in_bytes (memory+swap) / memory.swap.max */
	CG_KNOB_MEMORY_HIGH,  /* v2 only: memory.high */
	CG_KNOB_MEMORY_USAGE, /* memory.usage_in_bytes / memory.current */
	CG_KNOB_MEMORY_PEAK,  /* memory.max_usage_in_bytes / memory.peak (5.19+) */
	CG_KNOB_MEMORY_OOM,   /* memory.oom_control / memory.events: "oom_kill N" lines */
	CG_KNOB_CPU_QUOTA,    /* cpu.cfs_quota_us / cpu.max ("quota period") */
	CG_KNOB_CPU_PERIOD,   /* cpu.cfs_period_us / cpu.max */
	CG_KNOB_CPU_WEIGHT,   /* cpu.shares [2, 262144] / cpu.weight [1, 10000] */
	CG_KNOB_CPU_STAT,     /* cpu.stat: nr_throttled, throttled_time (ns) | throttled_usec */
	CG_KNOB_CPU_USAGE,    /* cpuacct.usage (ns) / cpu.stat usage_usec */
	CG_KNOB_CPUSET_CPUS,  /* cpuset.cpus */
	CG_KNOB_CPUSET_MEMS,  /* cpuset.mems */
	CG_KNOB_PIDS_MAX,     /* pids.max */
	CG_KNOB_PROCS,        /* cgroup.procs */
	CG_KNOB_TASKS,        /* every thread: tasks / cgroup.threads */
	CG_KNOB_MEMORY_RESERVATION, /* memory.soft_limit_in_bytes / memory.low */
	CG_KNOB_COUNT
};

/* ---- targets ------------------------------------------------------------------------ */

enum cglat_target_kind {
	CGLAT_TARGET_CONTAINER, /* a Docker or podman container name or id (prefix) */
	CGLAT_TARGET_PID,       /* the cgroups of a process */
	CGLAT_TARGET_CGROUP,    /* a cgroup path, relative to the mounts or absolute inside one */
};

/* Which engine's containers a container reference names. */
enum cglat_engine {
	CGLAT_ENGINE_AUTO,   /* Docker's, else podman's (Docker wins a name both have) */
	CGLAT_ENGINE_DOCKER, /* dockerd's (or its state directory's, no_daemon) */
	CGLAT_ENGINE_PODMAN, /* podman's, from containers/storage's files: podman has no daemon */
};

struct cglat_target_spec {
	enum cglat_target_kind kind;
	const char *ref; /* container name or id; cgroup path */
	pid_t pid;
	bool no_daemon;          /* container: find the id in /proc/<pid>/cgroup, no dockerd */
	const char *docker_sock; /* NULL: DOCKER_DEFAULT_SOCK */
	const char *mountinfo;   /* NULL: /proc/self/mountinfo (tests: a fake tree's) */
	const char *proc_root;   /* NULL: /proc (tests: a fake one) */
	const char *docker_root; /* NULL: /var/lib/docker, where --no-daemon finds names */
	enum cglat_engine engine;
	const char *podman_root;     /* NULL: /var/lib/containers/storage (graphroot) */
	const char *podman_run_root; /* NULL: /run/containers/storage (runroot) */
};

/* Controllers whose directories a target may have. */
enum cglat_ctl {
	CGLAT_CTL_MEMORY,
	CGLAT_CTL_CPU,
	CGLAT_CTL_CPUACCT,
	CGLAT_CTL_CPUSET,
	CGLAT_CTL_PIDS,
	CGLAT_CTL_COUNT
};

struct cglat_target {
	enum cg_mode mode;
	char label[384];       /* "container web (3f2a1b0c9d8e)", "PID 42", "cgroup /cglat/x" */
	char container_id[65]; /* "" when the cgroup path names no container */
	bool docker;           /* a Docker container: Docker does not see what cglat writes */
	bool podman;           /* a podman container: neither does podman */
	pid_t pid;             /* a process of the target; 0 for a cgroup target */
	bool has[CGLAT_CTL_COUNT];
	int version[CGLAT_CTL_COUNT]; /* 1 or 2 */
	char dir[CGLAT_CTL_COUNT][CGLAT_PATH_MAX];
	size_t mount_len[CGLAT_CTL_COUNT];  /* dir's leading cgroup mountpoint: writes stay below */
	char why_not[CGLAT_CTL_COUNT][320]; /* why has[] is false */
};

CGLAT_API const char *cglat_ctl_name(enum cglat_ctl ctl); /* "memory", "cpu", ... */

/* Resolves spec into *out (malloc'd; free with cglat_target_close). Unknown containers,
 * stopped ones, gone processes and missing cgroups are errors that say what to do. */
CGLAT_API int cglat_target_open(const struct cglat_target_spec *spec, struct cglat_target **out,
                                struct cg_err *err);
CGLAT_API void cglat_target_close(struct cglat_target *t);

/* Checks a cgroup path as typed, before any use: not empty, no "." or ".." component,
 * shorter than CGLAT_PATH_MAX. `opt` names the option in the error ("--cgroup"). */
CGLAT_API int cglat_check_cgroup_path(const char *path, const char *opt, struct cg_err *err);

/* The path of a knob's file in the target and its cgroup version (version may be
 * NULL); -1 with the reason when the target or its cgroup version lacks it (a missing
 * file included). */
CGLAT_API int cglat_target_path(const struct cglat_target *t, enum cg_knob knob, char *path,
                                size_t len, int *version, struct cg_err *err);
/* The length of the cgroup mountpoint that starts the knob's path (0 when unknown). */
CGLAT_API size_t cglat_target_mount_len(const struct cglat_target *t, enum cg_knob knob);

/* ---- limits ------------------------------------------------------------------------- */

#define CGLAT_UNLIMITED (-1)

enum {
	CGLAT_SET_MEMORY = 1 << 0,
	CGLAT_SET_MEMORY_SWAP = 1 << 1,
	CGLAT_SET_MEMORY_HIGH = 1 << 2,
	CGLAT_SET_CPUS = 1 << 3,
	CGLAT_SET_CPU_QUOTA = 1 << 4,
	CGLAT_SET_CPU_PERIOD = 1 << 5,
	CGLAT_SET_CPU_WEIGHT = 1 << 6,
	CGLAT_SET_CPU_SHARES = 1 << 7,
	CGLAT_SET_CPUSET_CPUS = 1 << 8,
	CGLAT_SET_PIDS_MAX = 1 << 9,
	CGLAT_SET_NICE = 1 << 10,
	CGLAT_SET_MEMORY_RESERVATION = 1 << 11,
	CGLAT_SET_CPUSET_MEMS = 1 << 12,
};

/* What was asked for; `set` flags which fields count. Units are Docker's. */
struct cglat_limits {
	unsigned set;
	int64_t memory;      /* bytes or CGLAT_UNLIMITED */
	int64_t memory_swap; /* memory + swap, bytes, or CGLAT_UNLIMITED (Docker's meaning) */
	int64_t memory_high; /* bytes or CGLAT_UNLIMITED (v2) */
	double cpus;         /* quota = cpus * period */
	int64_t cpu_quota;   /* microseconds or CGLAT_UNLIMITED */
	int64_t cpu_period;  /* microseconds */
	int64_t cpu_weight;  /* v2 scale [1, 10000]; v1 gets crun's conversion */
	int64_t cpu_shares;  /* v1 scale [2, 262144]; v2 gets crun's conversion */
	char cpuset_cpus[256];
	int64_t pids_max; /* tasks or CGLAT_UNLIMITED */
	int nice;         /* [-20, 19] */
	bool force;       /* allow a memory limit below the current usage */
	/* Docker's --memory-reservation: a soft limit the kernel reclaims down to under
	 * pressure (v1 memory.soft_limit_in_bytes), memory protected from reclaim (v2
	 * memory.low); bytes or CGLAT_UNLIMITED. */
	int64_t memory_reservation;
	char cpuset_mems[256]; /* memory nodes the tasks may use: "0", "0-1" */
};

/* One option by its long name without dashes ("memory", "cpus", "cpu-shares", "nice",
 * "memory-reservation", "cpuset-mems", ...) and its value as typed. Values out of the
 * kernel's range are refused here. */
CGLAT_API int cglat_limits_parse(struct cglat_limits *l, const char *name, const char *value,
                                 struct cg_err *err);

/* Options that cannot go together: --cpus with --cpu-quota, --cpu-weight with
 * --cpu-shares. */
CGLAT_API int cglat_limits_check(const struct cglat_limits *l, struct cg_err *err);

/* ---- plans -------------------------------------------------------------------------- */

#define CGLAT_MAX_WRITES 12

struct cglat_write {
	enum cg_knob knob;
	int version;
	const char *file;          /* "memory.limit_in_bytes" */
	char path[CGLAT_PATH_MAX]; /* directory + file */
	size_t beneath;        /* path's leading cgroup mountpoint, which the open stays below */
	char old_text[64];     /* what the file held when planned */
	char new_text[64];     /* what is written */
	char restore_text[64]; /* what a rollback writes ("-1" for v1's unlimited memory) */
};

struct cglat_plan {
	struct cglat_write w[CGLAT_MAX_WRITES];
	size_t count; /* in the order they are written */
	bool renice;
	int nice;
	char tasks_path[CGLAT_PATH_MAX]; /* v1: the cpu hierarchy's tasks; v2: cgroup.threads */
	size_t tasks;                    /* threads listed there when planned */
	int64_t memory_usage;            /* bytes when --memory was checked against it, else -1 */
};

/* Validates l against the target and reads the current values. Errors (files the mode
 * lacks, a memory limit below usage without force, memory above memory+swap, a quota
 * below the kernel's minimum) change nothing. Dry runs print the plan. */
CGLAT_API int cglat_limits_plan(const struct cglat_target *t, const struct cglat_limits *l,
                                struct cglat_plan *plan, struct cg_err *err);

/* ---- applying ----------------------------------------------------------------------- */

enum { CGLAT_APPLY_VERIFY = 1 << 0 };

struct cglat_apply_result {
	size_t written;        /* files written and kept */
	uint64_t write_ns;     /* the sum of the write(2) times, CLOCK_MONOTONIC */
	size_t rolled_back;    /* files put back after a failure */
	size_t restore_failed; /* files that could not be put back */
	size_t reniced;        /* tasks given the new nice value */
	size_t renice_gone;    /* tasks that exited before setpriority */
	bool verified;         /* every file read back as written */
};

/* Opens every file first (nothing is written when one cannot be opened), writes them in
 * plan order timing each write(2), and on a failed write puts back the files already
 * written, newest first; the error says which were put back. Then renices the tasks.
 * With CGLAT_APPLY_VERIFY each file is read back and compared. */
CGLAT_API int cglat_limits_apply(const struct cglat_plan *plan, unsigned flags,
                                 struct cglat_apply_result *res, struct cg_err *err);

/* Files kept open from one apply to the next, for a caller that changes the same
 * target's limits again and again (cglat serve, an autoscaler): each apply then costs
 * its writes alone, not an open, fstatfs and close per file as well. A file that went
 * away (its cgroup was removed and made again) is opened once more on its next write.
 * Not shared between threads without the caller's own lock. */
struct cglat_files;
CGLAT_API struct cglat_files *cglat_files_new(void);     /* NULL when memory runs out */
CGLAT_API void cglat_files_close(struct cglat_files *f); /* closes every file; NULL is fine */

/* cglat_limits_apply with the plan's files taken from (and kept in) files; files NULL
 * is cglat_limits_apply. */
CGLAT_API int cglat_limits_apply_kept(const struct cglat_plan *plan, unsigned flags,
                                      struct cglat_files *files, struct cglat_apply_result *res,
                                      struct cg_err *err);

/* Does the text read back from a file hold the value that was written? Memory limits
 * compare after the kernel's rounding down to pages, CPU lists as sets. */
CGLAT_API bool cglat_value_matches(const struct cglat_write *w, const char *read_back);

/* ---- cgroups of cglat run ------------------------------------------------------------ */

struct cglat_cgroup {
	enum cg_mode mode;
	char path[CGLAT_PATH_MAX]; /* inside each hierarchy: "/cglat/NAME" or "/PARENT/cglat/NAME"
	                            */
	bool has[CGLAT_CTL_COUNT];
	int version[CGLAT_CTL_COUNT];
	char dir[CGLAT_CTL_COUNT][CGLAT_PATH_MAX];
	bool made[CGLAT_CTL_COUNT];        /* dir made by us (the first ctl of a shared dir) */
	bool made_parent[CGLAT_CTL_COUNT]; /* the "cglat" directory made by us */
};

/* Makes PARENT/cglat/NAME in each hierarchy of the controllers in ctl_mask (bits of
 * 1 << enum cglat_ctl; a controller no hierarchy has is skipped unless it is in
 * need_mask). v1 cpuset directories get cpuset.cpus/mems copied from their parent; v2
 * parents get the controllers enabled in cgroup.subtree_control. mountinfo NULL means
 * /proc/self/mountinfo. An existing NAME is an error. */
CGLAT_API int cglat_cgroup_create(const char *mountinfo, const char *parent, const char *name,
                                  unsigned ctl_mask, unsigned need_mask, struct cglat_cgroup *cg,
                                  struct cg_err *err);

/* Moves process pid into every directory of the cgroup (cgroup.procs). */
/* A cgroup name for create: 1 to 128 letters, digits, '_', '.' or '-'; not "." or "..". */
CGLAT_API int cglat_check_cgroup_name(const char *name, struct cg_err *err);

CGLAT_API int cglat_cgroup_join(const struct cglat_cgroup *cg, pid_t pid, struct cg_err *err);

/* Removes the directories made by create, retrying while exiting tasks leave for up to
 * timeout_s seconds. */
CGLAT_API int cglat_cgroup_remove(struct cglat_cgroup *cg, double timeout_s, struct cg_err *err);

/* What the cgroup used; -1 in a field the kernel does not report. */
struct cglat_cgroup_stats {
	int64_t memory_peak; /* bytes */
	int64_t oom_kills;
	int64_t cpu_ns;
	int64_t nr_periods;
	int64_t nr_throttled;
	int64_t throttled_ns;
};

CGLAT_API void cglat_cgroup_stats(const struct cglat_cgroup *cg, struct cglat_cgroup_stats *st);

#ifdef __cplusplus
}
#endif

#endif
