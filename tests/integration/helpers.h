/* Helpers for the root integration tests: run cglat and docker as child
 * processes (argv, no shell), and look at what they leave behind: containers,
 * Docker events, BPF programs, cgroup files. */
#ifndef CGLAT_IT_HELPERS_H
#define CGLAT_IT_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef CGLAT_BIN
#error "CGLAT_BIN must name the built cglat binary"
#endif

#define IT_IMAGE "cglat-idle:0.1.0"

/* A running child whose stdout and stderr are piped back. */
struct it_proc {
	pid_t pid;
	int fd[2]; /* stdout, stderr; -1 once at EOF */
	char *buf[2];
	size_t len[2], cap[2];
};

/* How many times slower than a host this machine is: CGLAT_IT_TIME_SCALE (default 1,
 * 1 to 100), set by the compat VMs that run under qemu TCG. Every wait of the tests
 * (it_wait, it_cglat, polling loops) and Criterion's timeouts are multiplied by it.
 * It never loosens a speed check: those compare figures measured in the same run. */
double it_time_scale(void);

/* Starts argv[0] (looked up in PATH when it has no '/'), stdin from /dev/null,
 * default signal dispositions and an empty signal mask. Returns 0 or -1. */
int it_spawn(const char *const argv[], struct it_proc *p);
/* The same with stdin from the file at in_path (NULL: /dev/null); -1 with errno set. */
int it_spawn_in(const char *const argv[], const char *in_path, struct it_proc *p);
/* Reads what is buffered in the pipes without blocking. */
void it_drain(struct it_proc *p);
/* Reads both pipes to EOF and reaps the child. On timeout the child gets SIGTERM,
 * then SIGKILL, and -1 is returned. *out and *err (malloc'd, NUL-terminated)
 * take the output; either may be NULL. */
int it_wait(struct it_proc *p, double timeout_s, char **out, char **err, int *status);

/* Runs argv to completion; see it_wait. *pid gets the child's pid (may be NULL). */
int it_run(const char *const argv[], double timeout_s, char **out, char **err, int *status,
           pid_t *pid);
/* Runs CGLAT_BIN with args (NULL-terminated, without argv[0]), up to 90 s.
 * A run that times out is killed and its containers removed. */
int it_cglat(const char *const args[], char **out, char **err, int *status, pid_t *pid);
/* Runs `docker ARGS...` (NULL-terminated); returns its exit code, or -1. */
int it_docker(char **out, char **err, ...) __attribute__((sentinel));

/* Exit code of a wait status, or -1 when the child did not exit normally. */
int it_exit_code(int status);

/* malloc'd printf. */
char *it_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Lines in text that are not empty. */
size_t it_count_lines(const char *text);
/* Wall clock in seconds, as `docker events --since` wants it. */
double it_now(void);
/* CLOCK_MONOTONIC in nanoseconds, for timing a call. */
uint64_t it_mono_ns(void);

/* IDs (one a line) of the containers labelled cglat.owner=PID; malloc'd. */
char *it_owned_containers(pid_t owner);
/* Names (one a line) of the containers created between since and until whose
 * label cglat.owner is owner (any owner when owner <= 0); malloc'd. */
char *it_created_containers(double since, double until, pid_t owner);
/* Removes every container labelled cglat.owner=PID (after a killed run). */
void it_remove_owned(pid_t owner);
/* IDs (one a line) of containers labelled cglat.owner whose owner process is
 * gone: what a run that did not clean up leaves behind; malloc'd. */
char *it_orphan_containers(void);
/* Lines of after that are not lines of before; malloc'd. */
char *it_new_lines(const char *before, const char *after);
/* Does a container with this name or id exist (running or not)? */
bool it_container_exists(const char *ref);
/* Does dockerd apply --memory-swap on this host (docker info's SwapLimit)? Docker
 * 20.10 on v2 finds no support where the host has no swap, and drops the limit. */
bool it_docker_swap_limit(void);
/* Makes sure the test image exists: a short cglat run imports it. */
void it_ensure_image(void);

/* BPF programs: ids held through fds by process pid, or loaded on the host whose
 * name starts with prefix. Return how many were stored in ids (up to max). */
size_t it_bpf_progs_of_pid(pid_t pid, unsigned *ids, size_t max);
size_t it_bpf_progs_named(const char *prefix, unsigned *ids, size_t max);
/* cglat's probe programs loaded on the host, as the kernel names them: its raw
 * tracepoints and kprobes (cglat_*) and its perf event tracepoints (tracepoint__*). */
size_t it_bpf_progs_of_cglat(unsigned *ids, size_t max);
/* Is a BPF program with this id held by any live process's fd? */
bool it_bpf_prog_held(unsigned id);
bool it_ids_contain(const unsigned *ids, size_t n, unsigned id);

/* Is /sys/fs/cgroup the unified (v2) hierarchy, with no v1 controllers? The tests
 * run on v1 (a hierarchy per controller), hybrid (v1 controllers, empty v2) and v2. */
bool it_cgroup_v2(void);
/* The cgroup directory of controller (e.g. "memory", "cpu") of process pid: its
 * v1 hierarchy /sys/fs/cgroup/CONTROLLER/PATH, or /sys/fs/cgroup/PATH on v2; 0 or -1. */
int it_cgroup_dir(pid_t pid, const char *controller, char *out, size_t len);
/* The file of this host's cgroup version for a v1 file name: memory.limit_in_bytes
 * is memory.max on v2, cpu.cfs_quota_us cpu.max, cpu.shares cpu.weight, ... */
const char *it_cgroup_file(const char *v1_name);
/* A limit as the kernel holds it for process pid, in v1 terms whatever the mode, so
 * one expectation fits every host: bytes for memory and memory+swap, microseconds
 * for the quota and the period; -1 for no limit. Fails the test when unreadable. */
enum it_limit { IT_MEMORY, IT_MEMORY_SWAP, IT_CPU_QUOTA, IT_CPU_PERIOD };
int64_t it_read_limit(pid_t pid, enum it_limit which);
/* A file's text without its trailing newline; 0 or -1. */
int it_read_text(const char *path, char *out, size_t len);

/* Splits one CSV line in place; quoted fields lose their quotes. Returns the
 * number of fields (at most max). */
size_t it_csv_split(char *line, char **fields, size_t max);

#endif
