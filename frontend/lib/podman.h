/* The podman side, read without podman: podman has no daemon to ask, and `podman
 * inspect` costs a process of 30 ms or more. containers/storage keeps every container's
 * id and names in <root>/<driver>-containers/containers.json, and conmon writes the
 * running container's pid to <runroot>/<driver>-containers/<id>/userdata/pidfile. */
#ifndef CGLAT_PODMAN_H
#define CGLAT_PODMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define PODMAN_DEFAULT_ROOT "/var/lib/containers/storage" /* storage.conf's graphroot */
#define PODMAN_DEFAULT_RUN_ROOT "/run/containers/storage" /* storage.conf's runroot */

struct podman_container {
	char id[65];     /* full 64-hex-digit id */
	char name[256];  /* its first name */
	char driver[32]; /* the storage driver whose directory holds it: "overlay", "vfs" */
};

/* Finds ref in podman's storage under root (NULL: the default) as podman does: a full id,
 * then a name, then a unique id prefix. 1 found (out filled), 0 no such container (also
 * when root holds no podman storage), -1 an error (containers.json unreadable or not
 * containers/storage's, an ambiguous prefix) with the reason. */
int podman_find(const char *root, const char *ref, struct podman_container *out,
                struct cg_err *err);

/* The same lookup in one containers.json's text (the parser, for the tests). */
int podman_find_in_json(const char *json, const char *source, const char *ref,
                        struct podman_container *out, struct cg_err *err);

/* The pid conmon recorded for a running container, from its pidfile under run_root
 * (NULL: the default); -1 with the reason when there is none (the container is not
 * running) or it is not a pid. The caller checks that the process is the container's. */
int podman_pid(const char *run_root, const struct podman_container *c, pid_t *pid,
               struct cg_err *err);

#endif
