/* The runtime path: cglat runs the container's runtime itself, `runc --root ROOT update
 * --memory X ID` (or --cpu-quota; crun takes the same), with no daemon in between: what
 * the runtime costs by itself. It bypasses dockerd, so Docker's record (HostConfig) is
 * not updated by it; bench puts the record and the files back at the end as for any path.
 *
 * The runtime is the one dockerd runs the container with (HostConfig.Runtime, else
 * dockerd's DefaultRuntime), its binary Runtimes[name].path from dockerd's /info found in
 * dockerd's PATH, its state root EXEC_ROOT/runtime-NAME/moby (EXEC_ROOT: dockerd's
 * --exec-root, else daemon.json's "exec-root", else /var/run/docker). The resolution
 * steps are pure functions, unit-tested without root. Internal to the bench command. */
#ifndef CGLAT_BENCH_RUNTIME_H
#define CGLAT_BENCH_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"
#include "cgroup.h"
#include "docker.h"
#include "error.h"

#define BENCH_RUNTIME_EXEC_ROOT "/var/run/docker" /* dockerd's default --exec-root */
#define BENCH_RUNTIME_SEARCH_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The value of dockerd's flag (e.g. "--exec-root"; "-exec-root" and "--exec-root=V" are
 * taken too) in its command line, NUL-separated as /proc/PID/cmdline holds it. */
bool bench_runtime_flag(const char *cmdline, size_t len, const char *flag, char *out, size_t cap);

/* dockerd's exec root: its --exec-root, else daemon_json's "exec-root" (daemon_json: the
 * text of its daemon.json, or NULL), else BENCH_RUNTIME_EXEC_ROOT. */
void bench_runtime_exec_root(const char *cmdline, size_t len, const char *daemon_json, char *out,
                             size_t cap);

/* The state root of runtime name under exec_root: EXEC_ROOT/runtime-NAME/moby. A name that
 * is not one directory component is refused. */
int bench_runtime_root(const char *exec_root, const char *name, char *out, size_t cap,
                       struct cg_err *err);

/* bin as execve would run it: as given when it holds a '/', else the first executable
 * DIR/bin of search_path (':'-separated). 0 with out filled, -1 when none is found. */
int bench_runtime_find_bin(const char *bin, const char *search_path, char *out, size_t cap);

/* The runtime of the container: its HostConfig.Runtime, else dockerd's default. "" when
 * neither is known. */
const char *bench_runtime_name(const struct docker_info *info, const struct docker_container *c);

/* argv of one update: BIN --root ROOT update --memory X ID, or --cpu-quota Q ID. The
 * number goes into storage; returns argc. */
int bench_runtime_argv(const struct bench_runtime_info *rt, const char *id, enum cg_resource r,
                       int64_t value, char storage[32], const char *argv[10]);

/* Fills rt for the container (c: Docker's record of it; NULL for the one cglat is about to
 * make, which runs with dockerd's default runtime), honouring --runtime-bin and
 * --runtime-root. Refuses, with the fix, a binary that cannot be found or run and a state
 * root that does not exist. dockerd_pid: where its command line and PATH are read. */
int bench_runtime_resolve(const struct bench_config *cfg, const struct docker_info *info,
                          const struct docker_container *c, pid_t dockerd_pid,
                          struct bench_runtime_info *rt, struct cg_err *err);

/* Does the runtime keep the container's state (ROOT/ID/state.json)? Without it `runc
 * update` fails: the container is not one this dockerd runs with that runtime. */
int bench_runtime_check_state(const struct bench_runtime_info *rt, const char *id, const char *name,
                              struct cg_err *err);

/* Runs one update with posix_spawn (execve, no shell): stdin and stdout /dev/null,
 * stderr read. *pid gets the runtime's process id (the tgid of its write) even when it
 * failed; the error holds its first stderr line. */
int bench_runtime_update(const struct bench_runtime_info *rt, const char *id, enum cg_resource r,
                         int64_t value, pid_t *pid, struct cg_err *err);

#endif
