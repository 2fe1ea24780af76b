/* The Docker side: the Engine API over dockerd's unix socket (docker_http.c: HTTP/1.1
 * written here and read with http_parser, one connection reused; jansson for JSON),
 * dockerd's state directory read without dockerd, and the `docker` CLI run with execve.
 * The JSON parsers and builders are separate functions so they are tested with
 * recorded responses. */
#ifndef CGLAT_DOCKER_H
#define CGLAT_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define DOCKER_DEFAULT_SOCK "/var/run/docker.sock"
#define DOCKER_DEFAULT_ROOT "/var/lib/docker" /* dockerd's --data-root */

struct docker;

#define DOCKER_MAX_RUNTIMES 8

/* A runtime dockerd knows (/info's Runtimes): its name and the binary it runs. */
struct docker_runtime {
	char name[64];  /* "runc", "crun", "io.containerd.runc.v2" */
	char path[256]; /* Runtimes[name].path: "runc" (looked up in PATH) or "/usr/bin/crun" */
};

struct docker_info {
	char server_version[64];  /* "20.10.24+dfsg1" */
	char api_version[16];     /* "1.41": the prefix every request uses */
	char runtime[128];        /* default runtime and its version: "runc 1.1.5+ds1" */
	char cgroup_driver[32];   /* "cgroupfs" or "systemd" */
	char cgroup_version[8];   /* "1" or "2" */
	char default_runtime[64]; /* /info's DefaultRuntime: "runc" */
	struct docker_runtime runtimes[DOCKER_MAX_RUNTIMES];
	size_t nruntimes;
};

/* The binary dockerd runs for runtime name: Runtimes[name].path, else the name itself
 * (dockerd's built-in runc); NULL for an empty name. */
const char *docker_runtime_path(const struct docker_info *info, const char *name);

/* The limits Docker holds for a container (HostConfig), in Docker's units:
 * bytes, microseconds, 0 for "not set", -1 for unlimited swap. */
struct docker_limits {
	int64_t memory;
	int64_t memory_swap;
	int64_t cpu_quota;
	int64_t cpu_period;
	int64_t nano_cpus;
	int64_t cpu_shares;
};

struct docker_container {
	char id[65];    /* full 64-hex-digit id */
	char name[256]; /* without the leading '/' */
	pid_t pid;      /* 0 when not running */
	bool running;
	char cgroupns_mode[16]; /* "host", "private" or "" */
	char runtime[64];       /* HostConfig.Runtime: "runc"; "" when dockerd did not say */
	pid_t owner;            /* label cglat.owner: the cglat that made it; 0 when none */
	struct docker_limits limits;
};

/* Fields of an update request; only the ones flagged in `set` are sent. */
enum {
	DOCKER_SET_MEMORY = 1 << 0,
	DOCKER_SET_MEMORY_SWAP = 1 << 1,
	DOCKER_SET_CPU_QUOTA = 1 << 2,
	DOCKER_SET_CPU_PERIOD = 1 << 3,
	DOCKER_SET_NANO_CPUS = 1 << 4,
};

struct docker_update {
	unsigned set;
	int64_t memory;
	int64_t memory_swap;
	int64_t cpu_quota;
	int64_t cpu_period;
	int64_t nano_cpus; /* 1e-9 CPUs: "NanoCpus" in the API, --cpus on the CLI */
};

/* Checks that sock is a unix socket owned by root, connects, and reads /version
 * and /info. Errors say how to start dockerd or point --docker-sock elsewhere. */
int docker_open(const char *sock_path, struct docker **out, struct docker_info *info,
                struct cg_err *err);
/* The lean open for one-shot commands (cglat set): the same socket checks, a connection,
 * and nothing sent. Requests go unversioned (dockerd answers them in its own API
 * version), so looking up a container costs its one request. */
int docker_connect(const char *sock_path, struct docker **out, struct cg_err *err);
void docker_close(struct docker *d);

/* A container reference as the user typed it is a name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)
 * or a hex id prefix of at most 64 digits; anything else ("../x", "a/b") is refused
 * before it reaches a URL or a command line. */
int docker_validate_ref(const char *ref, struct cg_err *err);

/* Lower-case hex digits only, at least one: what a container id or id prefix is made of. */
bool docker_is_hex(const char *s);

/* An image as cglat makes and uses it: repo[:tag], lower-case repo, nothing a URL
 * would need escaped. */
int docker_validate_image(const char *image, struct cg_err *err);

int docker_inspect(struct docker *d, const char *ref, struct docker_container *out,
                   struct cg_err *err);

/* POST /containers/{id}/update with the flagged fields. */
int docker_update_api(struct docker *d, const char *id, const struct docker_update *u,
                      struct cg_err *err);

/* POST /containers/{id}/update with a body of the caller's (any of Docker's fields);
 * dockerd's refusal is the error, its message and status in it. */
int docker_update_json(struct docker *d, const char *id, const char *json, struct cg_err *err);

/* Runs `docker_bin update --memory ... REF` with execve (no shell), stdout to
 * /dev/null; on a non-zero exit the error holds the CLI's first stderr line. */
int docker_update_cli(const char *docker_bin, const char *ref, const struct docker_update *u,
                      struct cg_err *err);
/* The same with `-H host` (e.g. "unix:///run/cglat/docker.sock"): another daemon's socket. */
int docker_update_cli_host(const char *docker_bin, const char *host, const char *ref,
                           const struct docker_update *u, struct cg_err *err);

/* Makes sure image (repo:tag) exists: when missing, imports `tar` (cglat's holds one
 * file, /idle, made at build time) through POST /images/create?fromSrc=-. */
int docker_ensure_image(struct docker *d, const char *image, const void *tar, size_t tar_len,
                        struct cg_err *err);

/* Creates and starts a container from image running /idle, with --cgroupns=host,
 * --network none and the given label (key=value) so that a later run can find it.
 * On failure id_out is "" unless a container was made and could not be removed. */
int docker_run_idle(struct docker *d, const char *image, const char *name, const char *label,
                    char id_out[65], struct cg_err *err);

/* docker rm -f. A container that is already gone is not an error. */
int docker_remove(struct docker *d, const char *id, struct cg_err *err);

/* Ids of containers (running or not) that carry `label` (key or key=value). */
int docker_list_by_label(struct docker *d, const char *label, char (*ids)[65], size_t max,
                         size_t *count, struct cg_err *err);

/* Without dockerd: the id of the container named `name` (as typed, no leading '/'), from
 * dockerd's state directory: root/containers/<id>/config.v2.json holds "Name": "/name".
 * root NULL is DOCKER_DEFAULT_ROOT. Returns 1 with id filled, 0 when no container has
 * that name (*scanned: how many configs were read), -1 when the directory cannot be
 * read or two containers claim the name, the error naming the directory. */
int docker_state_find_name(const char *root, const char *name, char id[65], size_t *scanned,
                           struct cg_err *err);

/* dockerd's process: the pid file's when it names a dockerd, else the first process
 * named dockerd in /proc; 0 when there is none. */
pid_t docker_daemon_pid(void);

/* Pure JSON helpers, exposed for tests. */
int docker_parse_inspect(const char *json, struct docker_container *out, struct cg_err *err);
int docker_parse_version(const char *json, struct docker_info *info, struct cg_err *err);
int docker_parse_info(const char *json, struct docker_info *info, struct cg_err *err);
/* Returns a malloc'd JSON body for an update request. */
char *docker_update_body(const struct docker_update *u);
/* argv for the CLI update (NULL-terminated, strings in storage); returns argc. */
int docker_update_argv(const char *docker_bin, const char *ref, const struct docker_update *u,
                       char storage[8][64], const char *argv[16]);
/* Parses a docker error body {"message": "..."} into err; falls back to the status. */
int docker_error_from_body(const char *body, long status, struct cg_err *err);

#endif
