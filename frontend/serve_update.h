/* The update path of cglat serve, its pure parts: the request body decoded as dockerd's Go
 * code decodes it, dockerd's checks of it (with dockerd's messages and statuses), the
 * container's record as dockerd keeps it, the writes runc would make, and the kernel
 * values kept per container so that background records never leave an older value.
 * serve_update.c (the machinery) is built on these; the unit and fuzz tests call them
 * directly. Each part is its own file: serve_body.c (with serve_body_scan.c),
 * serve_host.c, serve_checks.c, serve_record.c, serve_runc.c, serve_plan.c,
 * serve_knobs.c, serve_http.c, serve_error.c.
 *
 * Sources of the rules (moby v20.10.24):
 *   api/server/router/container/container_routes.go postContainerUpdate (JSON, PidsLimit)
 *   daemon/update.go ContainerUpdate, daemon/container.go validateRestartPolicy
 *   daemon/daemon_unix.go verifyPlatformContainerResources (ranges, warnings)
 *   container/container_unix.go UpdateContainer (conflicts with the current record)
 *   daemon/update_linux.go toContainerdResources, runc v1.1.5 update.go and
 *   libcontainer/cgroups/fs{,2} (what is written, and how) */
#ifndef CGLAT_SERVE_UPDATE_H
#define CGLAT_SERVE_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cglat.h"
#include "serve.h"

#define SU_MSG_MAX 1024
#define SU_LIST_MAX 4096 /* CpusetCpus/CpusetMems kept up to this length */
#define SU_NAME_MAX 256  /* RestartPolicy.Name */

/* dockerd's minimum memory, reservation and kernel memory (linuxMinMemory, 6 MiB). */
#define SU_MIN_MEMORY INT64_C(6291456)

/* An answer that is not dockerd's success: the HTTP status and the message that goes in
 * {"message": ...}. */
struct su_error {
	int status;
	char msg[SU_MSG_MAX];
};

/* Sets e (when not NULL) to status and the formatted message. */
void su_errf(struct su_error *e, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* The number of elements of an array (the update path's tables). */
#define NF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- the body: container.UpdateConfig as Go's encoding/json decodes it ---------------- */

/* The fields serve looks at (Resources' fields and RestartPolicy), in the struct's order. */
enum su_field {
	SU_F_CPU_SHARES,
	SU_F_MEMORY,
	SU_F_NANO_CPUS,
	SU_F_CGROUP_PARENT,
	SU_F_BLKIO_WEIGHT,
	SU_F_BLKIO_WEIGHT_DEVICE,
	SU_F_BLKIO_READ_BPS,
	SU_F_BLKIO_WRITE_BPS,
	SU_F_BLKIO_READ_IOPS,
	SU_F_BLKIO_WRITE_IOPS,
	SU_F_CPU_PERIOD,
	SU_F_CPU_QUOTA,
	SU_F_CPU_RT_PERIOD,
	SU_F_CPU_RT_RUNTIME,
	SU_F_CPUSET_CPUS,
	SU_F_CPUSET_MEMS,
	SU_F_DEVICES,
	SU_F_DEVICE_CGROUP_RULES,
	SU_F_DEVICE_REQUESTS,
	SU_F_KERNEL_MEMORY,
	SU_F_KERNEL_MEMORY_TCP,
	SU_F_MEMORY_RESERVATION,
	SU_F_MEMORY_SWAP,
	SU_F_MEMORY_SWAPPINESS,
	SU_F_OOM_KILL_DISABLE,
	SU_F_PIDS_LIMIT,
	SU_F_ULIMITS,
	SU_F_CPU_COUNT,
	SU_F_CPU_PERCENT,
	SU_F_IO_MAX_IOPS,
	SU_F_IO_MAX_BANDWIDTH,
	SU_F_RESTART_POLICY,
	SU_F_COUNT
};

/* The JSON name of a field ("CpuShares"). */
const char *su_field_name(enum su_field f);

struct su_body {
	uint64_t given; /* bit 1 << su_field: the field has a value that is not Go's zero */
	int64_t cpu_shares, memory, nano_cpus, cpu_period, cpu_quota, cpu_rt_period, cpu_rt_runtime,
	        kernel_memory, kernel_memory_tcp, memory_reservation, memory_swap, cpu_count,
	        cpu_percent;
	uint64_t io_max_iops, io_max_bandwidth;
	uint16_t blkio_weight;
	size_t blkio_weight_device_len, blkio_read_bps_len, blkio_write_bps_len,
	        blkio_read_iops_len, blkio_write_iops_len;
	bool has_swappiness; /* *int64 MemorySwappiness != nil */
	int64_t swappiness;
	bool has_oom_kill_disable;
	bool oom_kill_disable;
	bool has_pids_limit; /* *int64 PidsLimit != nil */
	int64_t pids_limit;
	int64_t restart_max_retry;
	/* The strings last: su_body_copy moves what comes before them and their bytes only. */
	char cpuset_cpus[SU_LIST_MAX];
	char cpuset_mems[SU_LIST_MAX];
	char restart_name[SU_NAME_MAX];
};

/* Decodes body as dockerd does (json.NewDecoder(r.Body).Decode(&updateConfig)): the first
 * JSON value, keys matched to fields case-insensitively, unknown fields ignored, null
 * leaving a field as it is, later duplicates winning; then PidsLimit as the route treats
 * it (ignored below API 1.40 when api_1_40 is false; 0 or negative means unlimited, 0).
 * Errors are dockerd's: 500 with Go's words ("EOF", "unexpected EOF", "invalid character
 * 'x' looking for beginning of value", "json: cannot unmarshal string into Go struct field
 * UpdateConfig.Memory of type int64"). */
int su_parse_body(const char *body, size_t len, bool api_1_40, struct su_body *b,
                  struct su_error *e);

/* Go's JSON string encoding (encoding/json with SetEscapeHTML(false)): quotes included.
 * Writes at most cap bytes (NUL included); returns the length it needs. */
size_t su_json_quote(const char *s, char *out, size_t cap);

/* ---- the host, as dockerd's sysinfo sees it --------------------------------------------- */

struct su_host {
	bool memory_limit, swap_limit, memory_reservation, oom_kill_disable, memory_swappiness,
	        kernel_memory;
	bool cpu_shares, cpu_cfs, cpuset, pids_limit;
	bool blkio_weight, blkio_weight_device, blkio_read_bps, blkio_write_bps, blkio_read_iops,
	        blkio_write_iops;
	bool kernel_4; /* the kernel is 4.0 or newer */
	int ncpu;      /* CPUs dockerd may run on (sysinfo.NumCPU: its affinity mask) */
	char cpus[SU_LIST_MAX], mems[SU_LIST_MAX]; /* the root cpuset's cpus and mems */
};

/* Reads what dockerd's pkg/sysinfo reads: the cgroup mounts of mountinfo (NULL:
 * /proc/self/mountinfo) and their root files, dockerd's affinity (pid 0: our own), and on
 * cgroup v2 dockerd's own cgroup for swap. */
int su_host_probe(const char *mountinfo, pid_t dockerd, struct su_host *h, struct cg_err *err);

/* dir/file's text, white space trimmed at both ends; "" when it cannot be read (host
 * files, and the v1 memory usage in runc's EBUSY message). */
void read_trimmed(const char *dir, const char *file, char *out, size_t cap);

/* ---- dockerd's checks ------------------------------------------------------------------- */

#define SU_MAX_WARNINGS 24

struct su_warnings {
	size_t n;
	const char *w[SU_MAX_WARNINGS]; /* dockerd's own sentences (static strings) */
};

/* validateRestartPolicy, then verifyPlatformContainerResources for an update: errors 400
 * with dockerd's message; warnings as dockerd adds them, with the changes they make to b
 * (a discarded limit is zeroed, MemorySwap becomes -1 without swap accounting, ...). */
int su_verify(struct su_body *b, const struct su_host *h, struct su_warnings *w,
              struct su_error *e);

/* Does a cpuset list name only CPUs (or nodes) of `available`? Go's
 * sysinfo.isCpusetListAvailable, with parsers.ParseUintList's errors: 1 yes, 0 no, -1 with
 * the parse error ("invalid format: 0-a", "value of out range, maximum is 8192"). */
int su_cpuset_available(const char *provided, const char *available, char *msg, size_t cap);

/* ---- the container's record (HostConfig) ------------------------------------------------ */

struct su_record {
	int64_t memory, memory_swap, memory_reservation, nano_cpus, cpu_quota, cpu_period,
	        cpu_shares;
	bool has_pids_limit;
	int64_t pids_limit;
	bool auto_remove;
	/* The strings last: su_record_copy moves what comes before them and their bytes only. */
	char cpuset_cpus[SU_LIST_MAX], cpuset_mems[SU_LIST_MAX];
	char restart_name[SU_NAME_MAX];
};

/* *dst = *src, moving only the strings' bytes: both structs are mostly room for long
 * cpuset lists, and copying all of it (cold in the cache, on the way to the kernel's
 * files) cost more than the write itself. */
void su_record_copy(struct su_record *dst, const struct su_record *src);
void su_body_copy(struct su_body *dst, const struct su_body *src);

struct su_container_info {
	char id[65];
	char name[256]; /* without the leading '/' */
	bool running, restarting;
	pid_t pid;
	struct su_record rec;
};

/* GET /containers/{id}/json's answer. */
int su_parse_inspect(const char *json, struct su_container_info *out, struct cg_err *err);

/* Container.UpdateContainer: the conflicts with the record (409, "Cannot update container
 * <id>: Conflicting options: ..."), then the record with b's values in. */
int su_merge(const struct su_body *b, const char *id, struct su_record *rec, struct su_error *e);

/* ---- what runc writes ------------------------------------------------------------------- */

/* The target's cgroup versions and files; t may be NULL (then versions are taken from
 * v_memory, v_cpu and files are named without their directory in messages, for tests). */
struct su_cgroups {
	const struct cglat_target *t;
	int v_memory, v_cpu;
	/* v1: the kernel's memory and memory+swap limits now (bytes, -1 unlimited, -2 when
	 * the kernel keeps no swap accounting) for runc's EINVAL cases; read by the caller. */
	int64_t memory_now, memsw_now;
};

/* The limits a record of b would make runc write (toContainerdResources, runc update's
 * merge with the record before b, the fs/fs2 drivers): l is filled (force set, as runc
 * never checks usage). Cases where runc or the kernel would refuse before a write are
 * refused here with runc's message (e->status 500, e->msg without the "Cannot update
 * container" prefix). Nothing to write leaves l->set 0. */
int su_runc_limits(const struct su_body *b, const struct su_record *before,
                   const struct su_cgroups *cg, struct cglat_limits *l, struct su_error *e);

/* runc's error for a write the kernel refused, from libcglat's apply error ("writing
 * \"X\" to FILE failed: Invalid argument; ..."): `failed to write "X": write PATH: invalid
 * argument`, or for EBUSY on a v1 memory limit runc's "unable to set memory limit to ...". */
void su_runc_write_error(const struct cglat_plan *p, const struct cglat_apply_result *r,
                         const char *apply_msg, char *out, size_t cap);

/* ---- plans from known values ---------------------------------------------------------- */

/* What the kernel's files of a container hold, as serve last read or wrote them. */
struct su_kcache {
	bool known[CG_KNOB_COUNT];
	char text[CG_KNOB_COUNT][64];
};

/* The knobs whose values su_fast_plan may need. */
extern const enum cg_knob su_cached_knobs[];
extern const size_t su_cached_knob_count;

/* The knob's file in the target, as cglat_target_path names it, without a syscall. */
bool knob_path(const struct cglat_target *t, enum cg_knob knob, char *path, size_t cap,
               int *version, size_t *beneath);

/* Reads them into c (a knob the target lacks stays unknown). */
void su_kcache_fill(struct su_kcache *c, const struct cglat_target *t);
/* After a write that succeeded (or was put back): the file holds text. */
void su_kcache_set(struct su_kcache *c, enum cg_knob knob, const char *text);

/* The plan cglat_limits_plan would make for l (same writes, order and old values), from
 * the values in c instead of reading the files: false when a value it needs is not
 * known, or when the library would refuse l (it then says why). */
bool su_fast_plan(const struct cglat_target *t, const struct su_kcache *c,
                  const struct cglat_limits *l, struct cglat_plan *p);

/* ---- kernel values per container (background records) ----------------------------------- */

#define SU_TEXT_MAX 64

struct su_knob {
	bool known;                 /* written by serve at least once */
	char enforced[SU_TEXT_MAX]; /* the newest value serve wrote */
	uint64_t enforced_seq;      /* the update that wrote it */
	char recorded[SU_TEXT_MAX]; /* what Docker's record makes runc write */
};

struct su_knobs {
	struct su_knob k[CG_KNOB_COUNT];
};

/* An update's writes, as enforced: which knobs and the values. */
struct su_written {
	size_t n;
	enum cg_knob knob[CGLAT_MAX_WRITES];
	char text[CGLAT_MAX_WRITES][SU_TEXT_MAX];
};

/* Update seq wrote plan: the knobs' newest values (and, on a first write, the values
 * Docker's record stood for: the plan's old values). */
void su_knobs_enforced(struct su_knobs *ks, const struct cglat_plan *p, uint64_t seq,
                       struct su_written *w);

/* The record of update seq (which wrote w) ended: recorded or not. Returns the writes
 * that put the kernel right, in fix[] (up to CG_KNOB_COUNT): after a record, every knob a
 * newer update enforced gets its newest value again (runc rewrote the older one); after a
 * refused record, the knobs this update was the last to write go back to what Docker's
 * record holds (and newer values are written again, in case runc wrote some). */
size_t su_knobs_recorded(struct su_knobs *ks, const struct su_written *w, uint64_t seq, bool ok,
                         enum cg_knob fix[CG_KNOB_COUNT]);

/* May the background record of `older` be left out, the update queued right after it
 * (`newer`) being recorded instead? Yes when newer gives every field older gives: Docker's
 * record after newer is then the same, and so are the files runc writes. */
bool su_supersedes(const struct su_body *newer, const struct su_body *older);

/* ---- responses ------------------------------------------------------------------------ */

/* The headers dockerd puts on every answer (learnt from it; defaults until then). */
struct su_server {
	char api_version[16]; /* "1.41" */
	char experimental[8]; /* "false" */
	char ostype[16];      /* "linux" */
	char server[128];     /* "Docker/20.10.24+dfsg1 (linux)" */
};

void su_server_defaults(struct su_server *s);
/* Takes Api-Version, Docker-Experimental, Ostype and Server from a raw answer's head. */
bool su_server_learn(struct su_server *s, const char *raw, size_t len);

/* A complete answer as dockerd writes it (its headers sorted, then Date and
 * Content-Length; Connection: close when closing); body is JSON with its newline. */
char *su_http_response(const struct su_server *s, int status, const char *body, bool close,
                       bool http10, size_t *len);
/* {"message":"..."} as dockerd writes errors. */
char *su_error_body(const char *msg);
/* {"Warnings":null} or {"Warnings":["...",...]}: dockerd's success body. */
char *su_warnings_body(const struct su_warnings *w);

/* What the update half knows of a request's head, as the relay read it (serve_request):
 * whether the client asked to close, its Content-Type (or "" when none), whether the body
 * came chunked. */
struct su_head {
	bool close, http10, chunked;
	bool post; /* the method is POST (dockerd's update route takes no other) */
	char content_type[256];
	bool has_content_type;
};
/* The head dockerd gets for an update: the client's, without Content-Length,
 * Transfer-Encoding and Expect, with the body's Content-Length. Built after the kernel's
 * files are written, into out, which has SU_FORWARD_HEAD_CAP(len) bytes; returns its
 * length. The head itself was read by the relay (serve_rr), once. */
#define SU_FORWARD_HEAD_CAP(len) (2 * (len) + 64)
size_t su_head_forward(const char *head, size_t len, size_t body_len, char *out);

/* The API version in a request target ("/v1.39/containers/x/update" -> 1, 39); false when
 * there is none (dockerd then uses its own). */
bool su_path_version(const char *path, int *major, int *minor);

/* ---- test hooks ----------------------------------------------------------------------- */

/* Counters of struct serve_updates, for tests. */
struct su_counts {
	uint64_t updates, enforced, recorded, coalesced, refused, failed_records, rolled_back,
	        pending;
};
void su_counts(struct serve_updates *u, struct su_counts *out);

#endif
