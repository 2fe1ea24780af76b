/* Targets of cglat set: a container (Docker's through dockerd, or without it by its name in
 * dockerd's state directory and its id in /proc/PID/cgroup; podman's from containers/storage's
 * files), a process, or a cgroup path. Each resolves to one directory per controller. */
#include "cglat.h"
#include "cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker.h"
#include "podman.h"

_Static_assert(CGLAT_PATH_MAX == PATH_MAX, "cglat.h's CGLAT_PATH_MAX is the kernel's PATH_MAX");

static const char *const ctl_names[CGLAT_CTL_COUNT] = {"memory", "cpu", "cpuacct", "cpuset",
                                                       "pids"};

const char *cglat_ctl_name(enum cglat_ctl ctl)
{
	return (unsigned)ctl < CGLAT_CTL_COUNT ? ctl_names[ctl] : "?";
}

static int ctl_of_name(const char *name)
{
	for (int c = 0; c < CGLAT_CTL_COUNT; c++)
		if (strcmp(ctl_names[c], name) == 0)
			return c;
	return -1;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Fills the per-controller directories from memberships; a controller no hierarchy
 * has, or whose directory is missing, is recorded in why_not. */
static void fill_dirs(struct cglat_target *t, const struct cg_mounts *mounts,
                      const struct cg_memberships *ms)
{
	for (int c = 0; c < CGLAT_CTL_COUNT; c++) {
		struct cg_err e;
		if (cgroup_dir_of(mounts, ms, ctl_names[c], t->dir[c], sizeof(t->dir[c]),
		                  &t->version[c], &e) < 0) {
			snprintf(t->why_not[c], sizeof(t->why_not[c]), "%s", e.msg);
			continue;
		}
		t->mount_len[c] = cgroup_mount_len(mounts, t->dir[c]);
		t->has[c] = is_dir(t->dir[c]);
		if (!t->has[c])
			snprintf(t->why_not[c], sizeof(t->why_not[c]),
			         "%s is not a cgroup directory: the target has no %s cgroup",
			         t->dir[c], ctl_names[c]);
	}
}

static bool any_dir(const struct cglat_target *t)
{
	for (int c = 0; c < CGLAT_CTL_COUNT; c++)
		if (t->has[c])
			return true;
	return false;
}

/* Docker's cgroupfs and systemd drivers both name the container in the path. */
static void detect_container(struct cglat_target *t)
{
	for (int c = 0; c < CGLAT_CTL_COUNT; c++) {
		if (!t->has[c] || !cgroup_container_id_of_path(t->dir[c], t->container_id))
			continue;
		t->docker = strstr(t->dir[c], "docker") != NULL;
		t->podman = strstr(t->dir[c], "libpod") != NULL;
		size_t n = strlen(t->label);
		snprintf(t->label + n, sizeof(t->label) - n, " (container %.12s)", t->container_id);
		return;
	}
}

/* ---- cgroup paths ---------------------------------------------------------------------- */

/* "/sys/fs/cgroup/memory/docker/x" -> "/docker/x"; "docker/x" -> "/docker/x". */
static int normalize_cgroup_path(const struct cg_mounts *mounts, const char *in, char *out,
                                 size_t len, struct cg_err *err)
{
	const char *rel = in;
	size_t best = 0;
	for (size_t i = 0; in[0] == '/' && i < mounts->count; i++) {
		const char *mp = mounts->mount[i].mountpoint;
		size_t n = strlen(mp);
		if (n > best && strncmp(in, mp, n) == 0 && (in[n] == '/' || in[n] == '\0')) {
			best = n;
			rel = in + n;
		}
	}
	while (*rel == '/')
		rel++;
	if ((size_t)snprintf(out, len, "/%s", rel) >= len)
		return cg_errf(err, "cgroup path \"%s\" is too long", in);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	for (const char *p = out; *p;) {
		p += strspn(p, "/");
		size_t c = strcspn(p, "/");
		if ((c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
			return cg_errf(
			        err,
			        "invalid cgroup path \"%s\": \".\" and \"..\" are not allowed; "
			        "give the path from the cgroup root, like cglat/NAME",
			        in);
		p += c;
	}
	return 0;
}

int cglat_check_cgroup_path(const char *path, const char *opt, struct cg_err *err)
{
	if (!path || !*path)
		return cg_errf(err, "%s: empty cgroup path: give one like cglat/NAME", opt);
	if (strlen(path) >= PATH_MAX)
		return cg_errf(err, "%s: cgroup path is longer than %d characters", opt,
		               PATH_MAX - 1);
	for (const char *p = path; *p;) {
		p += strspn(p, "/");
		size_t c = strcspn(p, "/");
		if ((c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
			return cg_errf(
			        err,
			        "%s: invalid cgroup path \"%s\": \".\" and \"..\" are not "
			        "allowed; give the path from the cgroup root, like cglat/NAME",
			        opt, path);
		p += c;
	}
	return 0;
}

/* Memberships that put a process in `path` of every mounted hierarchy. */
static int path_memberships(const struct cg_mounts *mounts, const char *path,
                            struct cg_memberships *ms, struct cg_err *err)
{
	ms->count = 0;
	for (size_t i = 0; i < mounts->count && i < CG_MAX_MEMBERSHIPS; i++) {
		const struct cg_mount *m = &mounts->mount[i];
		struct cg_membership *e = &ms->entry[ms->count++];
		e->hierarchy = m->version == 2 ? 0 : (int)i + 1;
		snprintf(e->controllers, sizeof(e->controllers), "%s",
		         m->version == 2 ? "" : m->controllers);
		const char *root = strcmp(m->root, "/") == 0 ? "" : m->root;
		if ((size_t)snprintf(e->path, sizeof(e->path), "%s%s", root,
		                     strcmp(path, "/") == 0 && *root ? "" : path) >=
		    sizeof(e->path))
			return cg_errf(err, "cgroup path \"%s\" is too long", path);
	}
	return 0;
}

static int open_cgroup(struct cglat_target *t, const struct cg_mounts *mounts,
                       struct cg_memberships *ms, const char *ref, struct cg_err *err)
{
	char path[PATH_MAX];
	if (!ref || !*ref)
		return cg_errf(err, "empty cgroup path: give one like cglat/NAME or docker/<id>");
	if (normalize_cgroup_path(mounts, ref, path, sizeof(path), err) < 0 ||
	    path_memberships(mounts, path, ms, err) < 0)
		return -1;
	fill_dirs(t, mounts, ms);
	snprintf(t->label, sizeof(t->label), "cgroup %s", path);
	if (!any_dir(t))
		return cg_errf(err,
		               "no cgroup \"%s\": no hierarchy has that directory (%s); "
		               "give a path below a cgroup mount, like cglat/NAME",
		               path, t->why_not[CGLAT_CTL_MEMORY]);
	return 0;
}

/* ---- processes ------------------------------------------------------------------------- */

static int open_pid(struct cglat_target *t, const struct cg_mounts *mounts,
                    struct cg_memberships *ms, const char *proc_root, pid_t pid, struct cg_err *err)
{
	if (pid <= 0)
		return cg_errf(err, "invalid PID %d: expected a positive process id", (int)pid);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, (int)pid);
	if (access(path, F_OK) < 0)
		return cg_errf(err, "no process with PID %d (it may have exited)", (int)pid);
	if (cgroup_load_memberships(path, ms, err) < 0)
		return -1;
	fill_dirs(t, mounts, ms);
	t->pid = pid;
	if (!any_dir(t))
		return cg_errf(err, "PID %d: %s", (int)pid, t->why_not[CGLAT_CTL_MEMORY]);
	if (snprintf(t->label, sizeof(t->label), "PID %d", (int)pid) < 0)
		return -1;
	return 0;
}

/* ---- containers ------------------------------------------------------------------------ */

#define SCAN_MAX_IDS 4

struct scan {
	char ids[SCAN_MAX_IDS][65];
	pid_t pids[SCAN_MAX_IDS];
	size_t count;
	size_t scanned;
};

static void scan_process(struct scan *s, struct cg_memberships *ms, const char *proc_root,
                         const char *pid_name, const char *prefix)
{
	char path[PATH_MAX], id[65];
	snprintf(path, sizeof(path), "%s/%s/cgroup", proc_root, pid_name);
	if (cgroup_load_memberships(path, ms, NULL) < 0)
		return; /* exited meanwhile, or a kernel thread's odd file */
	s->scanned++;
	for (size_t i = 0; i < ms->count; i++) {
		if (!cgroup_container_id_of_path(ms->entry[i].path, id) ||
		    strncmp(id, prefix, strlen(prefix)) != 0)
			continue;
		size_t k = 0;
		while (k < s->count && strcmp(s->ids[k], id) != 0)
			k++;
		if (k == s->count && s->count < SCAN_MAX_IDS) {
			snprintf(s->ids[k], sizeof(s->ids[k]), "%s", id);
			s->pids[k] = (pid_t)atoi(pid_name);
			s->count++;
		}
		return;
	}
}

/* Finds a process of the container whose id starts with ref by reading every
 * /proc/PID/cgroup: the kernel knows containers by their cgroup, not by name. */
static int scan_for_container(const char *proc_root, const char *ref, struct cg_memberships *ms,
                              char id[65], pid_t *pid, struct cg_err *err)
{
	if (!docker_is_hex(ref) || strlen(ref) > 64)
		return cg_errf(err, "\"%s\" is not a container id or id prefix", ref);
	DIR *d = opendir(proc_root);
	if (!d)
		return cg_errf(err, "cannot list %s: %s", proc_root, strerror(errno));
	struct scan s = {0};
	for (struct dirent *e; (e = readdir(d));)
		if (isdigit((unsigned char)e->d_name[0]))
			scan_process(&s, ms, proc_root, e->d_name, ref);
	closedir(d);
	if (s.count == 0)
		return cg_errf(
		        err,
		        "no running container has an id starting with \"%s\" (%zu processes' "
		        "cgroups read from %s): check the id with docker ps when dockerd is up",
		        ref, s.scanned, proc_root);
	if (s.count > 1)
		return cg_errf(
		        err,
		        "container id prefix \"%s\" is ambiguous: it matches %.12s and %.12s%s; "
		        "give more digits",
		        ref, s.ids[0], s.ids[1], s.count > 2 ? " and more" : "");
	memcpy(id, s.ids[0], 65);
	*pid = s.pids[0];
	return 0;
}

/* --no-daemon: a name is looked up in dockerd's state directory (Docker's own order: a
 * full id, then a name, then an id prefix), then its id in every /proc/PID/cgroup. */
static int container_without_daemon(const char *proc_root, const char *docker_root, const char *ref,
                                    struct cg_memberships *ms, char id[65], char *name,
                                    size_t name_len, pid_t *pid, struct cg_err *err)
{
	bool hex = docker_is_hex(ref) && strlen(ref) <= 64;
	if (hex && strlen(ref) == 64)
		return scan_for_container(proc_root, ref, ms, id, pid, err);
	char named[65] = "";
	size_t scanned = 0;
	struct cg_err state_err = {{0}};
	int found = docker_state_find_name(docker_root, ref, named, &scanned, &state_err);
	if (found == 1) {
		if (scan_for_container(proc_root, named, ms, id, pid, err) < 0)
			return cg_err_wrap(
			        err,
			        "container \"%s\" is %.12s in %s/containers, but it is not "
			        "running",
			        ref, named, docker_root);
		snprintf(name, name_len, "%s", ref);
		return 0;
	}
	if (hex)
		return scan_for_container(proc_root, ref, ms, id, pid, err);
	if (found < 0)
		return cg_errf(err,
		               "\"%s\" is not a container id, and without dockerd names are read "
		               "from its state directory: %s; names need dockerd then (or give the "
		               "id)",
		               ref, state_err.msg);
	return cg_errf(err,
	               "\"%s\" is not a container id, and no container is named \"%s\" "
	               "in %s/containers (%zu container configs read): check the "
	               "name with docker ps -a when dockerd is up; a dockerd with another "
	               "--data-root keeps its names elsewhere, and such names need dockerd (an "
	               "id or id prefix works from /proc alone)",
	               ref, ref, docker_root, scanned);
}

/* One Engine API request: GET /containers/REF/json on a fresh connection, no version or
 * info handshake. */
static int container_pid_from_daemon(const struct cglat_target_spec *spec, char id[65], char *name,
                                     size_t name_len, pid_t *pid, struct cg_err *err)
{
	if (docker_validate_ref(spec->ref, err) < 0)
		return -1;
	struct docker *d = NULL;
	if (docker_connect(spec->docker_sock ? spec->docker_sock : DOCKER_DEFAULT_SOCK, &d, err) <
	    0)
		return cg_err_wrap(err,
		                   "cannot ask dockerd about container \"%s\" (--no-daemon finds a "
		                   "running container by its name or id without dockerd)",
		                   spec->ref);
	struct docker_container *c = calloc(1, sizeof(*c));
	int rc = c ? docker_inspect(d, spec->ref, c, err) : cg_errf(err, "out of memory");
	docker_close(d);
	if (rc == 0 && (!c->running || c->pid <= 0))
		rc = cg_errf(err,
		             "container \"%s\" is not running: its cgroup exists only while it "
		             "runs; start it with docker start %s",
		             spec->ref, spec->ref);
	if (rc == 0) {
		memcpy(id, c->id, 65);
		snprintf(name, name_len, "%s", c->name);
		*pid = c->pid;
	}
	free(c);
	return rc;
}

/* Does one of the target's cgroups name the container id: a pid read from a file may be
 * stale, and then it is some other process's (or nobody's). */
static bool target_is_container(const struct cglat_target *t, const char *id)
{
	char found[65];
	for (int c = 0; c < CGLAT_CTL_COUNT; c++)
		if (t->has[c] && cgroup_container_id_of_path(t->dir[c], found) &&
		    strcmp(found, id) == 0)
			return true;
	return false;
}

/* 1 found and opened, 0 podman has no such container, -1 an error. */
static int open_podman(struct cglat_target *t, const struct cglat_target_spec *spec,
                       const struct cg_mounts *mounts, struct cg_memberships *ms,
                       const char *proc_root, struct cg_err *err)
{
	struct podman_container c;
	int found = podman_find(spec->podman_root, spec->ref, &c, err);
	if (found <= 0)
		return found;
	pid_t pid = 0;
	if (podman_pid(spec->podman_run_root, &c, &pid, err) < 0)
		return -1;
	if (open_pid(t, mounts, ms, proc_root, pid, err) < 0 || !target_is_container(t, c.id))
		return cg_errf(err,
		               "podman container %s (%.12s) is not running: the pid its pidfile "
		               "holds (%d) is not in its cgroup; start it with podman start %s",
		               c.name, c.id, (int)pid, c.name);
	memcpy(t->container_id, c.id, 65);
	t->podman = true;
	snprintf(t->label, sizeof(t->label), "container %s (%.12s, podman)", c.name, c.id);
	return 1;
}

static int no_podman_container(const struct cglat_target_spec *spec, struct cg_err *err)
{
	return cg_errf(err,
	               "no podman container is named \"%s\" or has an id starting with it (read "
	               "from %s/*-containers/containers.json): check it with podman ps -a",
	               spec->ref, spec->podman_root ? spec->podman_root : PODMAN_DEFAULT_ROOT);
}

static int open_docker(struct cglat_target *t, const struct cglat_target_spec *spec,
                       const struct cg_mounts *mounts, struct cg_memberships *ms,
                       const char *proc_root, struct cg_err *err)
{
	char id[65] = "", name[256] = "";
	pid_t pid = 0;
	int rc = spec->no_daemon
	                 ? container_without_daemon(
	                           proc_root,
	                           spec->docker_root ? spec->docker_root : DOCKER_DEFAULT_ROOT,
	                           spec->ref, ms, id, name, sizeof(name), &pid, err)
	                 : container_pid_from_daemon(spec, id, name, sizeof(name), &pid, err);
	if (rc < 0)
		return -1;
	if (open_pid(t, mounts, ms, proc_root, pid, err) < 0)
		return cg_err_wrap(err, "container %s", spec->ref);
	memcpy(t->container_id, id, 65);
	t->docker = true;
	if (*name)
		snprintf(t->label, sizeof(t->label), "container %s (%.12s)", name, id);
	else
		snprintf(t->label, sizeof(t->label), "container %.12s", id);
	return 0;
}

/* AUTO asks Docker first (its names are the ones most people mean), then podman: a name
 * Docker does not know, or any name while dockerd is down, may be a podman container's. */
static int open_container(struct cglat_target *t, const struct cglat_target_spec *spec,
                          const struct cg_mounts *mounts, struct cg_memberships *ms,
                          const char *proc_root, struct cg_err *err)
{
	if (!spec->ref || !*spec->ref)
		return cg_errf(err, "no container given: name a container, or use --pid or "
		                    "--cgroup");
	if (spec->engine == CGLAT_ENGINE_PODMAN) {
		int found = open_podman(t, spec, mounts, ms, proc_root, err);
		return found > 0 ? 0 : found < 0 ? -1 : no_podman_container(spec, err);
	}
	if (open_docker(t, spec, mounts, ms, proc_root, err) == 0)
		return 0;
	if (spec->engine == CGLAT_ENGINE_DOCKER)
		return -1;
	struct cg_err docker_err = *err;
	enum cg_mode mode = t->mode;
	memset(t, 0, sizeof(*t));
	t->mode = mode;
	int found = open_podman(t, spec, mounts, ms, proc_root, err);
	if (found > 0)
		return 0;
	if (found < 0)
		return -1;
	*err = docker_err;
	size_t n = strlen(err->msg);
	snprintf(err->msg + n, sizeof(err->msg) - n,
	         "; nor is \"%s\" a podman container's name "
	         "or id (podman ps -a lists them)",
	         spec->ref);
	return -1;
}

/* ---- open / close ----------------------------------------------------------------------- */

int cglat_target_open(const struct cglat_target_spec *spec, struct cglat_target **out,
                      struct cg_err *err)
{
	*out = NULL;
	const char *proc_root = spec->proc_root ? spec->proc_root : "/proc";
	struct cglat_target *t = calloc(1, sizeof(*t));
	/* Hundreds of KiB: on the heap. */
	struct cg_mounts *mounts = malloc(sizeof(*mounts));
	struct cg_memberships *ms = malloc(sizeof(*ms));
	int rc = -1;
	if (!t || !mounts || !ms)
		cg_errf(err, "out of memory resolving the target");
	else if (cgroup_load_mounts(spec->mountinfo, mounts, err) == 0 &&
	         cgroup_mode_of(mounts, &t->mode, err) == 0) {
		switch (spec->kind) {
		case CGLAT_TARGET_CONTAINER:
			rc = open_container(t, spec, mounts, ms, proc_root, err);
			break;
		case CGLAT_TARGET_PID:
			rc = open_pid(t, mounts, ms, proc_root, spec->pid, err);
			break;
		case CGLAT_TARGET_CGROUP:
			rc = open_cgroup(t, mounts, ms, spec->ref, err);
			break;
		}
	}
	if (rc == 0 && spec->kind != CGLAT_TARGET_CONTAINER)
		detect_container(t);
	free(mounts);
	free(ms);
	if (rc < 0) {
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void cglat_target_close(struct cglat_target *t)
{
	free(t);
}

/* The controller directory that holds a knob in this target. */
static int knob_ctl(const struct cglat_target *t, enum cg_knob knob)
{
	if (knob == CG_KNOB_PROCS || knob == CG_KNOB_TASKS)
		return t->has[CGLAT_CTL_CPU] ? CGLAT_CTL_CPU : CGLAT_CTL_MEMORY;
	int c = ctl_of_name(cgroup_knob_controller(knob, 1));
	if (c >= 0 && t->version[c] == 2)
		c = ctl_of_name(cgroup_knob_controller(knob, 2));
	return c;
}

size_t cglat_target_mount_len(const struct cglat_target *t, enum cg_knob knob)
{
	int c = knob_ctl(t, knob);
	return c < 0 ? 0 : t->mount_len[c];
}

int cglat_target_path(const struct cglat_target *t, enum cg_knob knob, char *path, size_t len,
                      int *version, struct cg_err *err)
{
	int c = knob_ctl(t, knob);
	if (c < 0)
		return cg_errf(err, "unknown cgroup file %d", (int)knob);
	if (!t->has[c])
		return cg_errf(err, "%s", t->why_not[c]);
	int v = t->version[c];
	if (version)
		*version = v;
	const char *file = cgroup_knob_file(knob, v);
	if (!file)
		return cg_errf(err,
		               "%s needs cgroup v%d: the %s controller of %s is on cgroup v%d "
		               "(%s mode), which has no such file",
		               cgroup_knob_file(knob, v == 1 ? 2 : 1), v == 1 ? 2 : 1, ctl_names[c],
		               t->label, v, cgroup_mode_name(t->mode));
	if ((size_t)snprintf(path, len, "%s/%s", t->dir[c], file) >= len)
		return cg_errf(err, "path of %s is too long", file);
	if (access(path, F_OK) == 0)
		return 0;
	if (v == 2)
		return cg_errf(err,
		               "%s does not exist: the %s controller is not enabled for %s (add "
		               "+%s to its parent's cgroup.subtree_control)",
		               path, ctl_names[c], t->dir[c], ctl_names[c]);
	if (knob == CG_KNOB_MEMORY_SWAP)
		return cg_errf(err,
		               "%s does not exist: the kernel keeps no swap accounting (boot with "
		               "swapaccount=1)",
		               path);
	return cg_errf(err, "%s does not exist: this kernel's %s controller has no %s", path,
	               ctl_names[c], file);
}
