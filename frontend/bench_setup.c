/* Set-up and clean-up of a benchmark run: preflight checks, the container (made or
 * checked and restored), its cgroup files, the probes, the base limits. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench_runtime.h"
#include "bench_state.h"
#include "cgroup.h"
#include "signals.h"
#include "stale.h"
#include "unix_peers.h"

/* The test image, a tar holding the static idle program, made and embedded at build time. */
extern const char cglat_idle_tar[];
extern const char cglat_idle_tar_end[];

/* ------------------------------------------------------------------ set-up */

static int read_original(struct bench *b, const char *dir, const char *file, struct cg_err *err)
{
	char *path = b->orig_path[b->norig];
	if ((size_t)snprintf(path, PATH_MAX, "%s/%s", dir, file) >= PATH_MAX)
		return cg_errf(err, "cgroup path too long: %s", dir);
	if (access(path, F_OK) != 0)
		return 0; /* e.g. no swap accounting: nothing to restore */
	if (cgroup_read_file(path, b->orig_text[b->norig], sizeof(b->orig_text[0]), err))
		return -1;
	b->norig++;
	return 0;
}

/* What the kernel holds before the run, in the order to write it back:
 * swap before memory (v1 refuses memory above memsw), period before quota. */
static int save_originals(struct bench *b, struct cg_err *err)
{
	const struct cglat_target *t = b->target;
	const char *mdir = t->dir[CGLAT_CTL_MEMORY], *cdir = t->dir[CGLAT_CTL_CPU];
	int mv = t->version[CGLAT_CTL_MEMORY], cv = t->version[CGLAT_CTL_CPU];
	b->norig = 0;
	if (read_original(b, mdir, cgroup_swap_file(mv), err) ||
	    read_original(b, mdir, cgroup_limit_file(CG_RES_MEMORY, mv), err))
		return -1;
	if (cv == 1 && read_original(b, cdir, "cpu.cfs_period_us", err))
		return -1;
	return read_original(b, cdir, cgroup_limit_file(CG_RES_CPU, cv), err);
}

/* Writes a file of the target's cgroup without leaving its cgroup mount. */
static int write_text(const struct bench *b, const char *path, const char *text)
{
	size_t root = 0;
	for (int r = 0; r < CG_RES_COUNT; r++) {
		size_t n = strlen(b->target->dir[res_ctl(r)]);
		if (n && strncmp(path, b->target->dir[res_ctl(r)], n) == 0 && path[n] == '/')
			root = b->target->mount_len[res_ctl(r)];
	}
	int fd = cgroup_open_beneath(path, root, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Puts the kernel's files back as they were. Two passes: a v1 memory limit can
 * only go above memsw once memsw has moved, and the other way round. */
static bool restore_files(struct bench *b)
{
	bool ok = true;
	for (int pass = 0; pass < 2; pass++) {
		ok = true;
		for (int i = 0; i < b->norig; i++)
			if (write_text(b, b->orig_path[i], b->orig_text[i]) < 0)
				ok = false;
		if (ok)
			break;
	}
	for (int i = 0; i < b->norig; i++) {
		char now[64];
		if (cgroup_read_file(b->orig_path[i], now, sizeof(now), NULL) ||
		    strcmp(now, b->orig_text[i]) != 0)
			ok = false;
	}
	return ok;
}

/* Docker's record first (runc then rewrites the files from it), then the files. */
static bool restore_container(struct bench *b, struct cg_err *err)
{
	const struct docker_limits *o = &b->orig.limits;
	struct docker_update u;
	bench_restore_update(b->cfg, b->res->cpu_field, o, &u);
	struct cg_err uerr;
	if (u.set && docker_update_api(b->docker, b->res->container_id, &u, &uerr) < 0)
		fprintf(stderr,
		        "cglat: warning: could not put back Docker's record of the limits: "
		        "%s\n",
		        uerr.msg);
	struct docker_container now;
	if (o->memory == 0 && docker_inspect(b->docker, b->res->container_id, &now, NULL) == 0 &&
	    now.limits.memory != 0)
		fprintf(stderr,
		        "cglat: note: %s had no memory limit; the kernel's files are put back, but "
		        "Docker's record keeps Memory=%lld MemorySwap=%lld, since `docker update` "
		        "cannot remove a memory limit\n",
		        b->res->container_name, (long long)now.limits.memory,
		        (long long)now.limits.memory_swap);
	bool ok = restore_files(b);
	if (!ok)
		cg_errf(err, "could not put back the original limits of %s; they were: %s=%s ...",
		        b->res->container_name, b->orig_path[0], b->orig_text[0]);
	return ok;
}

static void made_container_name(const struct bench *b, char *name, size_t len)
{
	if (b->cfg->name)
		snprintf(name, len, "%s", b->cfg->name);
	else
		snprintf(name, len, "cglat-bench-%d", (int)getpid());
}

/* Runs while the probes compile: it must not write to stderr (see tracer_open_begin). */
static int make_container(struct bench *b, struct cg_err *err)
{
	const struct bench_config *c = b->cfg;
	size_t len = (size_t)(cglat_idle_tar_end - cglat_idle_tar);
	if (docker_ensure_image(b->docker, c->image, cglat_idle_tar, len, err))
		return -1;
	char name[256], label[64];
	made_container_name(b, name, sizeof(name));
	/* A kept container must not look like one a killed run left (stale.c removes those). */
	snprintf(label, sizeof(label), "%s=%d", c->keep ? "cglat.kept" : "cglat.owner",
	         (int)getpid());
	b->res->container_id[0] = '\0';
	b->create_tried = true;
	if (docker_run_idle(b->docker, c->image, name, label, b->res->container_id, err)) {
		b->res->container_created = b->res->container_id[0] != '\0';
		if (b->res->container_created)
			snprintf(b->res->container_name, sizeof(b->res->container_name), "%s",
			         name);
		return -1;
	}
	b->res->container_created = true;
	snprintf(b->res->container_name, sizeof(b->res->container_name), "%s", name);
	return 0;
}

/* --container: it must exist and run before anything else happens. */
static int check_container(struct bench *b, struct cg_err *err)
{
	const char *ref = b->cfg->container;
	if (!ref)
		return 0;
	if (docker_inspect(b->docker, ref, &b->orig, err))
		return -1;
	if (!b->orig.running || b->orig.pid <= 0)
		return cg_errf(err, "container %s is not running; start it with `docker start %s`",
		               ref, ref);
	/* Started with --cpus: Docker refuses quota updates, so the paths send NanoCpus. */
	if (bench_cpu_field_for(b->cfg, &b->orig.limits, ref, &b->res->cpu_field, err))
		return -1;
	snprintf(b->res->container_id, sizeof(b->res->container_id), "%s", b->orig.id);
	snprintf(b->res->container_name, sizeof(b->res->container_name), "%s", b->orig.name);
	b->cli_ref = ref;
	return 0;
}

/* Without --container: make one, and learn its pid. */
static int pick_container(struct bench *b, struct cg_err *err)
{
	if (b->cfg->container)
		return 0;
	if (make_container(b, err) ||
	    docker_inspect(b->docker, b->res->container_id, &b->orig, err))
		return -1;
	if (!b->orig.running || b->orig.pid <= 0)
		return cg_errf(err,
		               "container %s exited right after it started; see `docker logs %s`",
		               b->res->container_name, b->res->container_name);
	snprintf(b->res->container_name, sizeof(b->res->container_name), "%s", b->orig.name);
	b->cli_ref = b->res->container_name;
	return 0;
}

static int resolve_cgroup(struct bench *b, struct cg_err *err)
{
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = b->orig.pid};
	if (cglat_target_open(&spec, &b->target, err))
		return cg_err_wrap(err, "container %s", b->res->container_name);
	static const enum cg_knob limit_knob[CG_RES_COUNT] = {CG_KNOB_MEMORY_MAX,
	                                                      CG_KNOB_CPU_QUOTA};
	for (int r = 0; r < CG_RES_COUNT; r++)
		if (cglat_target_path(b->target, limit_knob[r], b->limit_path[r],
		                      sizeof(b->limit_path[r]), NULL, err))
			return cg_err_wrap(err, "container %s", b->res->container_name);
	struct bench_host *h = &b->res->host;
	h->cgroup_mode = b->target->mode;
	for (int r = 0; r < CG_RES_COUNT; r++) {
		h->cgroup_version[r] = b->target->version[res_ctl(r)];
		snprintf(h->limit_file[r], sizeof(h->limit_file[r]), "%s",
		         cgroup_limit_file((enum cg_resource)r, b->target->version[res_ctl(r)]));
		if (!strstr(b->target->dir[res_ctl(r)], b->res->container_id))
			return cg_errf(err,
			               "the %s cgroup of container %s (%s) does not name its id, "
			               "so its writes cannot be told apart; cglat supports "
			               "Docker's cgroupfs and systemd drivers",
			               cgroup_resource_name((enum cg_resource)r),
			               b->res->container_name, b->target->dir[res_ctl(r)]);
	}
	bench_log(b, "cgroup %s: %s, %s", cgroup_mode_name(h->cgroup_mode),
	          b->limit_path[CG_RES_MEMORY], b->limit_path[CG_RES_CPU]);
	return 0;
}

/* The parent of a process, from /proc/<pid>/status; 0 when it cannot be read. */
static pid_t parent_of(pid_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long ppid = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "PPid: %ld", &ppid) == 1)
			break;
	fclose(f);
	return (pid_t)ppid;
}

/* Tells the probes the fds of `from` connected to `to`, as `why`; how many. */
static int watch_connections(struct bench *b, pid_t from, pid_t to, enum cglat_wf_fd why,
                             size_t *count, struct cg_err *err)
{
	int fds[256];
	size_t n = 0;
	if (unix_peer_fds(from, to, fds, sizeof(fds) / sizeof(fds[0]), &n, err))
		return -1;
	for (size_t i = 0; i < n && i < sizeof(fds) / sizeof(fds[0]); i++)
		if (tracer_waterfall_watch_fd(b->tracer, from, fds[i], why, err))
			return -1;
	*count = n;
	return 0;
}

/* --waterfall, once the container runs: the chain's processes (bench, dockerd,
 * containerd, the container's shim; what they fork follows by itself) and the
 * connections from each to the next, whose first write after the update's receive
 * ends a stage. */
static int setup_waterfall(struct bench *b, struct cg_err *err)
{
	if (!b->cfg->waterfall)
		return 0;
	struct wf_roles *r = &b->res->wf_roles;
	pid_t containerd = 0;
	if (unix_peer_process("containerd", b->dockerd_pid, &containerd, err))
		return cg_err_wrap(err, "--waterfall");
	if (containerd <= 0)
		return cg_errf(err,
		               "--waterfall: no process named containerd is connected to dockerd "
		               "(PID %d); the waterfall follows dockerd -> containerd -> shim -> "
		               "runtime, as Docker runs containers",
		               (int)b->dockerd_pid);
	pid_t shim = parent_of(b->orig.pid);
	if (shim <= 1)
		return cg_errf(err,
		               "--waterfall: cannot find the shim of container %s (the parent of "
		               "its process %d)",
		               b->res->container_name, (int)b->orig.pid);
	size_t to_containerd = 0, to_shim = 0;
	if (watch_connections(b, b->dockerd_pid, containerd, CGLAT_WF_FD_CONTAINERD, &to_containerd,
	                      err) ||
	    watch_connections(b, containerd, shim, CGLAT_WF_FD_SHIM, &to_shim, err))
		return cg_err_wrap(err, "--waterfall");
	if (!to_containerd || !to_shim)
		return cg_errf(err,
		               "--waterfall: %s (PID %d) has no connection to %s (PID %d), so "
		               "its stage cannot be timed",
		               to_containerd ? "containerd" : "dockerd",
		               (int)(to_containerd ? containerd : b->dockerd_pid),
		               to_containerd ? "the container's shim" : "containerd",
		               (int)(to_containerd ? shim : containerd));
	*r = (struct wf_roles){.bench = (uint32_t)getpid(),
	                       .dockerd = (uint32_t)b->dockerd_pid,
	                       .containerd = (uint32_t)containerd,
	                       .shim = (uint32_t)shim,
	                       .serve = (uint32_t)(b->serve.pid > 0 ? b->serve.pid : 0)};
	/* bench first: its children (the docker CLI) are the clients whose connects count. */
	const pid_t roots[] = {getpid(), b->dockerd_pid, containerd, shim, b->serve.pid};
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (roots[i] > 0 && tracer_waterfall_follow(b->tracer, roots[i], i == 0, err))
			return cg_err_wrap(err, "--waterfall");
	bench_log(b,
	          "waterfall: dockerd %d (%zu connections to containerd), containerd %d (%zu "
	          "to the shim), shim %d",
	          (int)b->dockerd_pid, to_containerd, (int)containerd, to_shim, (int)shim);
	return 0;
}

/* The runtime path's binary and state root, before anything is made: the container's
 * runtime (for --container, Docker's record of it; else dockerd's default). */
static int prepare_runtime(struct bench *b, struct cg_err *err)
{
	if (!(b->cfg->paths & (1u << PATH_RUNTIME)))
		return 0;
	const struct docker_container *c = b->cfg->container ? &b->orig : NULL;
	if (bench_runtime_resolve(b->cfg, &b->dinfo, c, docker_daemon_pid(), &b->res->runtime, err))
		return -1;
	if (c && bench_runtime_check_state(&b->res->runtime, c->id, c->name, err))
		return -1;
	bench_log(b, "runtime path: %s --root %s update ... (Docker's runtime %s)",
	          b->res->runtime.bin, b->res->runtime.root, b->res->runtime.name);
	return 0;
}

/* The container cglat made: its runtime's state must be where the runtime path looks. */
static int check_made_runtime_state(struct bench *b, struct cg_err *err)
{
	if (!(b->cfg->paths & (1u << PATH_RUNTIME)) || b->cfg->container)
		return 0;
	return bench_runtime_check_state(&b->res->runtime, b->res->container_id,
	                                 b->res->container_name, err);
}

/* The probes compile in a thread while the container is made (pick_container): the
 * compile is this process's CPU, the container dockerd's. */
static int start_tracer(struct bench *b, struct tracer_opening **opening, struct cg_err *err)
{
	pid_t dockerd = docker_daemon_pid();
	if (dockerd <= 0 && (b->cfg->paths & ((1u << PATH_DOCKER) | (1u << PATH_API))))
		return cg_errf(err, "cannot find the dockerd process (no /var/run/docker.pid and "
		                    "no process named dockerd); is dockerd running in another "
		                    "PID namespace?");
	b->dockerd_pid = dockerd;
	struct tracer_config tc = {
	        .strategy = b->cfg->probe,
	        .dockerd_tgid = dockerd,
	        .serve_tgid = b->serve.pid,
	        .probe_file = b->cfg->probe_file,
	        .original = b->cfg->original_method,
	        .waterfall = b->cfg->waterfall,
	        .on_event = bench_on_event,
	        .on_wf_event = bench_on_wf_event,
	        .ctx = b,
	};
	bench_log(b, "compiling and attaching the probes (dockerd is PID %d)", (int)dockerd);
	if (!b->cfg->container && !b->cfg->probe_file) {
		char name[256];
		made_container_name(b, name, sizeof(name));
		bench_log(b, "meanwhile starting container %s from %s", name, b->cfg->image);
	}
	return tracer_open_begin(&tc, opening, err);
}

static int finish_tracer(struct bench *b, struct tracer_opening *opening, struct cg_err *err)
{
	if (tracer_open_end(opening, &b->tracer, err))
		return -1;
	snprintf(b->res->host.probe_strategy, sizeof(b->res->host.probe_strategy), "%s",
	         tracer_strategy_name(tracer_strategy(b->tracer)));
	snprintf(b->res->host.probe_reason, sizeof(b->res->host.probe_reason), "%s",
	         tracer_reason(b->tracer));
	return 0;
}

/* Before the probes, which are compiled with its pid. */
static int start_serve(struct bench *b, struct cg_err *err)
{
	if (!(b->cfg->paths & BENCH_SERVE_PATHS))
		return 0;
	if (b->cfg->serve_sock)
		bench_log(b, "using the cglat serve on %s", b->cfg->serve_sock);
	else
		bench_log(b, "starting cglat serve for the serve paths (--reply-after %s)",
		          b->cfg->serve_reply_enforce ? "enforce" : "record");
	if (bench_serve_start(b->cfg, &b->serve, err))
		return -1;
	bench_log(b, "cglat serve is PID %d on %s", (int)b->serve.pid, b->serve.sock);
	if ((b->cfg->paths & (1u << PATH_SERVE_API)) &&
	    docker_connect(b->serve.sock, &b->serve_docker, err))
		return cg_err_wrap(err, "connecting to cglat serve");
	return 0;
}

/* The probes and the container, side by side; the probes' error comes first, as it
 * would have if they had been made first. A --probe-file is the user's source, which
 * may not compile: that is bad input, and it must not make a container, so it
 * compiles first. */
static int start_tracer_and_container(struct bench *b, struct cg_err *err)
{
	struct tracer_opening *opening = NULL;
	if (start_tracer(b, &opening, err))
		return -1;
	if (b->cfg->probe_file)
		return finish_tracer(b, opening, err) || bench_check_stop(err) ||
		                       pick_container(b, err)
		               ? -1
		               : 0;
	struct cg_err container_err = {{0}};
	int made = pick_container(b, &container_err);
	if (finish_tracer(b, opening, err))
		return -1;
	if (made) {
		*err = container_err;
		return -1;
	}
	return 0;
}

/* The direct path's fds are opened after the probes are attached, so that the probes
 * learn them: the tracepoint strategy keeps (tgid, fd) of every open whose path ends
 * in a limit file's name, and times every write, pwrite64, writev, pwritev and
 * pwritev2 on such an fd.
 *
 * The floor must stay unprobed by construction, now that pwrite is watched too. Its
 * fd is a second open of the same file through /proc/self/fd/N of the direct fd: a
 * path that ends in a number, never in a limit file's name, so the probes do not
 * learn it (the container is made while the probes compile, so its files cannot be
 * opened before they attach). bench checks it against the probes' own table. The
 * kprobe strategy names the file at every vfs_write from its dentry and keeps no
 * fds: there, as before, the floor's pwrite runs the vfs_write kprobe like every
 * write on the host (README, "floor"). */
static int open_direct_fds(struct bench *b, struct cg_err *err)
{
	for (int r = 0; r < CG_RES_COUNT; r++) {
		if (!(b->cfg->resources & (1u << r)))
			continue;
		b->fd[r] = cgroup_open_beneath(b->limit_path[r], b->target->mount_len[res_ctl(r)],
		                               O_WRONLY);
		if (b->fd[r] < 0)
			return cg_errf(err, "cannot open %s for writing: %s", b->limit_path[r],
			               strerror(errno));
		if (!(b->cfg->paths & (1u << PATH_DIRECT)))
			continue;
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", b->fd[r]);
		b->floor_fd[r] = open(self, O_WRONLY | O_CLOEXEC);
		if (b->floor_fd[r] < 0)
			return cg_errf(err,
			               "cannot open %s again through %s for the floor: %s; is "
			               "/proc mounted?",
			               b->limit_path[r], self, strerror(errno));
		if (tracer_fd_watched(b->tracer, b->floor_fd[r]))
			return cg_errf(err,
			               "the probes know the floor's fd %d for %s, so its pwrite "
			               "would be timed like the direct write; this is a bug in "
			               "cglat: run without the floor (--paths docker,api) and "
			               "report it",
			               b->floor_fd[r], b->limit_path[r]);
	}
	return 0;
}

/* The starting point of every path: the base limits, and a swap limit set
 * once, as the original tool did, so that Docker accepts every memory step. */
static int set_base_limits(struct bench *b, struct cg_err *err)
{
	struct docker_update u;
	char swap[PATH_MAX];
	snprintf(swap, sizeof(swap), "%s/%s", b->target->dir[res_ctl(CG_RES_MEMORY)],
	         cgroup_swap_file(b->target->version[res_ctl(CG_RES_MEMORY)]));
	bench_base_update(b->cfg, b->res->cpu_field, access(swap, F_OK) == 0, &u);
	if (docker_update_api(b->docker, b->res->container_id, &u, err))
		return cg_err_wrap(err, "setting the base limits");
	return 0;
}

static void fill_host(struct bench *b)
{
	struct utsname u;
	struct bench_host *h = &b->res->host;
	if (uname(&u) == 0)
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
	snprintf(h->docker_version, sizeof(h->docker_version), "%s", b->dinfo.server_version);
	snprintf(h->api_version, sizeof(h->api_version), "%s", b->dinfo.api_version);
	snprintf(h->runtime, sizeof(h->runtime), "%s", b->dinfo.runtime);
	snprintf(h->cgroup_driver, sizeof(h->cgroup_driver), "%s", b->dinfo.cgroup_driver);
}

int bench_check_stop(struct cg_err *err)
{
	if (!signals_stop_requested())
		return 0;
	return cg_errf(err, "interrupted by %s", signals_name(signals_stop_requested()));
}

/* Removes the container cglat made. dockerd may be restarting (killed, upgraded): wait for
 * it a while rather than leave the container, unless another signal says not to. */
static int remove_once(struct bench *b, struct cg_err *err)
{
	if (b->res->container_created)
		return docker_remove(b->docker, b->res->container_id, err);
	/* The create request failed: dockerd may have made the container all the same. */
	char label[64], ids[4][65];
	size_t n = 0;
	snprintf(label, sizeof(label), "cglat.owner=%d", (int)getpid());
	if (docker_list_by_label(b->docker, label, ids, 4, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (docker_remove(b->docker, ids[i], err) < 0)
			return -1;
	b->res->containers_removed += (int)n;
	return 0;
}

static int remove_made_container(struct bench *b, struct cg_err *err)
{
	int signals = signals_stop_count();
	uint64_t deadline = tracer_now_ns() + (uint64_t)CLEANUP_WAIT_S * 1000000000u;
	if (remove_once(b, err) == 0)
		return 0;
	fprintf(stderr, "cglat: cannot remove container %s yet (%s); retrying for up to %d s\n",
	        b->res->container_created ? b->res->container_name : "being made", err->msg,
	        CLEANUP_WAIT_S);
	while (tracer_now_ns() < deadline && signals_stop_count() == signals) {
		struct timespec ts = {0, 500 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (remove_once(b, err) == 0)
			return 0;
	}
	return -1;
}

/* Undo everything, whatever state the run reached; errors go to stderr so
 * that the first error stays the one reported. */
void bench_clean_up(struct bench *b)
{
	for (int r = 0; r < CG_RES_COUNT; r++) {
		if (b->fd[r] >= 0)
			close(b->fd[r]);
		if (b->floor_fd[r] >= 0)
			close(b->floor_fd[r]);
	}
	struct cg_err err;
	/* serve first: it finishes the updates and records it has in flight. */
	docker_close(b->serve_docker);
	b->serve_docker = NULL;
	if (b->serve.sock[0]) {
		bench_log(b, "%s",
		          b->serve.child ? "stopping cglat serve" : "leaving cglat serve running");
		if (bench_serve_stop(&b->serve, &err) < 0)
			fprintf(stderr, "cglat: warning: %s\n", err.msg);
		b->serve.sock[0] = '\0';
	}
	/* The probes detach while the container is removed. */
	tracer_detach_begin(b->tracer);
	if (b->res->container_created && !b->cfg->keep) {
		bench_log(b, "removing container %s", b->res->container_name);
		if (remove_made_container(b, &err) < 0)
			fprintf(stderr,
			        "cglat: warning: could not remove container %s: %s; the next cglat "
			        "run removes it\n",
			        b->res->container_name, err.msg);
		else
			b->res->containers_removed++;
	} else if (b->create_tried && !b->cfg->keep) {
		if (remove_made_container(b, &err) < 0)
			fprintf(stderr,
			        "cglat: warning: a container cglat was making may be left: %s; the "
			        "next cglat run removes it\n",
			        err.msg);
	} else if (!b->res->container_created && b->norig > 0) {
		bench_log(b, "putting back the limits of %s", b->res->container_name);
		b->res->limits_restored = restore_container(b, &err);
		if (!b->res->limits_restored)
			fprintf(stderr, "cglat: warning: %s\n", err.msg);
	}
	docker_close(b->docker);
	b->docker = NULL;
	cglat_target_close(b->target);
	b->target = NULL;
	if (b->tracer) {
		tracer_timings(b->tracer, &b->res->timings);
		tracer_close(b->tracer);
		b->tracer = NULL;
		bench_log(b,
		          "probes: compiled in %.0f ms, attached in %.0f ms, detached in %.0f ms",
		          b->res->timings.compile_ns / 1e6, b->res->timings.attach_ns / 1e6,
		          b->res->timings.detach_ns / 1e6);
	}
}

/* The Docker CLI as execvp would find it. */
static bool docker_bin_found(const char *bin)
{
	if (!bin || !*bin)
		bin = "docker";
	if (strchr(bin, '/'))
		return access(bin, X_OK) == 0;
	const char *path = getenv("PATH");
	char dir[PATH_MAX], file[PATH_MAX];
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", n ? dir : ".", bin) <
		            sizeof(file) &&
		    access(file, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

/* Everything that can be refused before anything is created or changed. */
int bench_preflight(const struct bench_config *cfg, struct cg_err *err)
{
	if (geteuid() != 0)
		return cg_errf(err, "cglat must run as root: it loads BPF programs and writes "
		                    "cgroup files; try: sudo cglat ...");
	struct tracer_host host;
	enum tracer_strategy chosen;
	char why[256];
	tracer_probe_host(&host);
	if (tracer_choose(cfg->probe, &host, &chosen, why, sizeof(why), err))
		return -1;
	struct stat st;
	if (cfg->probe_file && (stat(cfg->probe_file, &st) != 0 || access(cfg->probe_file, R_OK)))
		return cg_errf(err, "--probe-file %s: %s", cfg->probe_file, strerror(errno));
	if (cfg->probe_file && (!S_ISREG(st.st_mode) || st.st_size == 0))
		return cg_errf(err, "--probe-file %s: %s", cfg->probe_file,
		               S_ISREG(st.st_mode) ? "the file is empty" : "not a regular file");
	if ((cfg->paths & (1u << PATH_DOCKER)) && !docker_bin_found(cfg->docker_bin))
		return cg_errf(err,
		               "--docker-bin %s: no such executable; install the Docker CLI "
		               "or leave out the docker path (--paths api,direct)",
		               cfg->docker_bin ? cfg->docker_bin : "docker");
	if (cfg->waterfall_plot && !docker_bin_found("gnuplot"))
		return cg_errf(err,
		               "--waterfall-plot needs gnuplot, which is not in PATH; install it "
		               "(apt-get install gnuplot-nox) or leave the plot out (--waterfall)");
	return 0;
}

int bench_prepare(struct bench *b, struct cg_err *err)
{
	fill_host(b);
	return check_container(b, err) || prepare_runtime(b, err) || start_serve(b, err) ||
	                       start_tracer_and_container(b, err) || bench_check_stop(err) ||
	                       check_made_runtime_state(b, err) || resolve_cgroup(b, err) ||
	                       setup_waterfall(b, err) || save_originals(b, err) ||
	                       open_direct_fds(b, err) || set_base_limits(b, err)
	               ? -1
	               : 0;
}
