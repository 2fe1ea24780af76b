#include "bench.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cglat.h"
#include "docker.h"
#include "event_match.h"
#include "signals.h"
#include "stale.h"
#include "tracer.h"

/* The embedded static program of the local test image. */
/* The test image, a tar holding the static idle program, made and embedded at build time. */
extern const char cglat_idle_tar[];
extern const char cglat_idle_tar_end[];

const char *bench_metric_name(enum metric m)
{
	static const char *const names[METRIC_COUNT] = {"daemon_to_write", "request_to_write",
	                                                "round_trip"};
	return m < METRIC_COUNT ? names[m] : "?";
}

const char *bench_sample_path_name(enum sample_path p)
{
	static const char *const names[SAMPLE_PATH_COUNT] = {"docker", "api", "direct", "floor"};
	return p < SAMPLE_PATH_COUNT ? names[p] : "?";
}

int64_t bench_metric(const struct sample *s, enum metric m)
{
	switch (m) {
	case METRIC_DAEMON_TO_WRITE:
		if (s->path != SAMPLE_DOCKER && s->path != SAMPLE_API)
			return -1;
		if (!s->recv_ns || !s->write_exit_ns || s->write_exit_ns < s->recv_ns)
			return -1;
		return (int64_t)(s->write_exit_ns - s->recv_ns);
	case METRIC_REQUEST_TO_WRITE:
		if (s->path == SAMPLE_FLOOR || !s->write_exit_ns || s->write_exit_ns < s->t0_ns)
			return -1;
		return (int64_t)(s->write_exit_ns - s->t0_ns);
	case METRIC_ROUND_TRIP:
		if (!s->t_return_ns || s->t_return_ns < s->t0_ns)
			return -1;
		return (int64_t)(s->t_return_ns - s->t0_ns);
	default:
		return -1;
	}
}

/* ------------------------------------------------------------------ state */

/* The controller whose directory holds a resource's limit. */
static enum cglat_ctl res_ctl(int r)
{
	return r == CG_RES_MEMORY ? CGLAT_CTL_MEMORY : CGLAT_CTL_CPU;
}

struct bench {
	const struct bench_config *cfg;
	struct bench_result *res;
	struct docker *docker;
	struct docker_info dinfo;
	struct docker_container orig;            /* --container: Docker's limits before the run */
	struct cglat_target *target;             /* the container's cgroups */
	char limit_path[CG_RES_COUNT][PATH_MAX]; /* the file each resource's limit is in */
	struct tracer *tracer;
	int fd[CG_RES_COUNT]; /* kept open for the direct and floor paths */
	const char *cli_ref;  /* what `docker update` is given */
	int64_t updates[CG_RES_COUNT];
	/* Original file contents, for --container: swap, memory, cpu period, cpu quota. */
	char orig_text[4][64];
	char orig_path[4][PATH_MAX];
	int norig;

	/* The sample being matched. */
	struct sample *cur;
	const char *cur_file;
	bool want_recv, recv_found, write_found;
	int failed_in_a_row; /* updates that could not be issued, since the last that could */
	bool create_tried;   /* a container may exist that cglat made, its id unknown */
};

#define MAX_FAILED_IN_A_ROW 3
#define CLEANUP_WAIT_S 30

static void vlog(const struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const struct bench *b, const char *fmt, ...)
{
	if (!b->cfg->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "cglat: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void on_event(void *ctx, const struct cglat_event *ev)
{
	struct bench *b = ctx;
	struct sample *s = b->cur;
	if (!s)
		return;
	if (ev->kind == CGLAT_EV_RECV) {
		char ref[256];
		if (b->want_recv && !b->recv_found && ev->ts_exit >= s->t0_ns &&
		    event_parse_update_request(ev->data, ev->data_len, ref, sizeof(ref)) &&
		    (strcmp(ref, b->res->container_id) == 0 || strcmp(ref, b->cli_ref) == 0)) {
			b->recv_found = true;
			s->recv_ns = ev->ts_exit;
		}
		return;
	}
	if (ev->kind != CGLAT_EV_WRITE || b->write_found || ev->ts_enter < s->t0_ns ||
	    !event_path_matches(ev->path, b->res->container_id, b->cur_file))
		return;
	event_written_value(ev->data, ev->data_len, s->seen, sizeof(s->seen));
	s->write_ret = ev->ret;
	s->writer_tgid = ev->tgid;
	snprintf(s->writer_comm, sizeof(s->writer_comm), "%s", ev->comm);
	if (strcmp(s->seen, s->expected) != 0)
		return; /* another value of this file: keep looking, remember what was seen */
	b->write_found = true;
	s->write_enter_ns = ev->ts_enter;
	s->write_exit_ns = ev->ts_exit;
}

static struct sample *new_sample(struct bench_result *res)
{
	if (res->count == res->cap) {
		size_t cap = res->cap ? res->cap * 2 : 256;
		struct sample *bigger = realloc(res->samples, cap * sizeof(*bigger));
		if (!bigger)
			return NULL;
		res->samples = bigger;
		res->cap = cap;
	}
	struct sample *s = &res->samples[res->count];
	memset(s, 0, sizeof(*s));
	return s;
}

/* The next value of a resource: alternately above and below the base, so that
 * every update is a change. */
static int64_t next_value(struct bench *b, enum cg_resource r)
{
	const struct bench_config *c = b->cfg;
	int64_t k = b->updates[r]++;
	if (r == CG_RES_MEMORY)
		return c->mem_base + (k % 2 == 0 ? c->mem_delta : -c->mem_delta);
	return c->cpu_base + (k % 2 == 0 ? c->cpu_delta : -c->cpu_delta);
}

static void update_request(enum cg_resource r, int64_t value, struct docker_update *u)
{
	memset(u, 0, sizeof(*u));
	if (r == CG_RES_MEMORY) {
		u->set = DOCKER_SET_MEMORY;
		u->memory = value;
	} else {
		u->set = DOCKER_SET_CPU_QUOTA;
		u->cpu_quota = value;
	}
}

/* Issues one update through a path; the client timestamps bracket the call. */
static int issue(struct bench *b, struct sample *s, struct cg_err *err)
{
	struct docker_update u;
	update_request(s->resource, s->value, &u);
	size_t len = strlen(s->expected);
	int rc = 0;
	ssize_t n;
	s->t0_ns = tracer_now_ns();
	switch (s->path) {
	case SAMPLE_DOCKER:
		rc = docker_update_cli(b->cfg->docker_bin, b->cli_ref, &u, err);
		break;
	case SAMPLE_API:
		rc = docker_update_api(b->docker, b->res->container_id, &u, err);
		break;
	case SAMPLE_DIRECT:
		n = write(b->fd[s->resource], s->expected, len);
		rc = n == (ssize_t)len ? 0
		                       : cg_errf(err, "direct write failed: %s", strerror(errno));
		break;
	case SAMPLE_FLOOR:
		n = pwrite(b->fd[s->resource], s->expected, len, 0);
		rc = n == (ssize_t)len ? 0 : cg_errf(err, "pwrite failed: %s", strerror(errno));
		break;
	default:
		rc = cg_errf(err, "unknown path");
	}
	s->t_return_ns = tracer_now_ns();
	return rc;
}

/* Waits for the probe events of the sample, up to --timeout. */
static int await_events(struct bench *b, struct sample *s, struct cg_err *err)
{
	uint64_t deadline = s->t_return_ns + (uint64_t)(b->cfg->timeout_s * 1e9);
	for (;;) {
		if (tracer_poll(b->tracer, 0, err) < 0)
			return -1;
		if (b->write_found && (!b->want_recv || b->recv_found))
			return 0;
		if (signals_stop_requested() || tracer_now_ns() > deadline)
			return 0;
		if (tracer_poll(b->tracer, 5, err) < 0)
			return -1;
	}
}

static void judge(struct bench *b, struct sample *s)
{
	char errno_text[64];
	if (!b->write_found) {
		if (s->seen[0])
			snprintf(s->invalid_reason, sizeof(s->invalid_reason),
			         "the kernel was handed \"%s\", not \"%s\"", s->seen, s->expected);
		else
			snprintf(s->invalid_reason, sizeof(s->invalid_reason),
			         "no write of %s seen within %.1f s", b->cur_file,
			         b->cfg->timeout_s);
		return;
	}
	if (s->write_ret < 0) {
		snprintf(errno_text, sizeof(errno_text), "%s", strerror((int)-s->write_ret));
		snprintf(s->invalid_reason, sizeof(s->invalid_reason), "the write of %s failed: %s",
		         b->cur_file, errno_text);
		return;
	}
	if (b->want_recv && !b->recv_found) {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason),
		         "dockerd's receive of the update request was not seen");
		return;
	}
	if (b->want_recv && s->recv_ns > s->write_exit_ns) {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason),
		         "dockerd received the request after the write returned");
		return;
	}
	s->valid = true;
}

/* One sample: issue, match, judge. Warmup samples are measured and dropped. */
static int run_sample(struct bench *b, int iteration, enum sample_path path, enum cg_resource r,
                      bool keep, struct cg_err *err)
{
	struct sample *s = new_sample(b->res);
	if (!s)
		return cg_errf(err, "out of memory");
	s->iteration = iteration;
	s->path = path;
	s->resource = r;
	s->value = next_value(b, r);
	if (cgroup_format_limit(r, b->target->version[res_ctl(r)], s->value, b->cfg->cpu_period,
	                        s->expected, sizeof(s->expected), err))
		return -1;
	b->cur = s;
	b->cur_file = b->res->host.limit_file[r];
	b->want_recv = path == SAMPLE_DOCKER || path == SAMPLE_API;
	b->recv_found = b->write_found = false;

	struct cg_err issue_err;
	bool issued = issue(b, s, &issue_err) == 0;
	if (!issued) {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason), "%s", issue_err.msg);
		/* dockerd gone, a file the kernel refuses: the rest would fail the same way. */
		if (++b->failed_in_a_row >= MAX_FAILED_IN_A_ROW && !signals_stop_requested())
			return cg_errf(err,
			               "gave up after %d failed updates in a row; the last: %s",
			               b->failed_in_a_row, issue_err.msg);
	} else if (path == SAMPLE_FLOOR) {
		s->valid = true;
	} else {
		if (await_events(b, s, err) < 0) {
			b->cur = NULL;
			return -1;
		}
		judge(b, s);
	}
	if (issued)
		b->failed_in_a_row = 0;
	b->cur = NULL;
	/* A container stopped or removed from outside would time out every sample. */
	if (!s->valid && kill(b->orig.pid, 0) < 0 && errno == ESRCH)
		return cg_errf(err, "container %s stopped during the run (its process %d is gone)",
		               b->res->container_name, (int)b->orig.pid);
	if (b->cfg->verbose > 1 || (!s->valid && b->cfg->verbose))
		fprintf(stderr, "cglat: #%d %s %s %s: %s%s\n", iteration,
		        bench_sample_path_name(path), cgroup_resource_name(r), s->expected,
		        s->valid ? "ok" : "invalid: ", s->valid ? "" : s->invalid_reason);
	if (keep)
		b->res->count++;
	return 0;
}

static void progress(const struct bench *b, int i)
{
	if (b->cfg->verbose || b->cfg->iterations < 10 || !isatty(2))
		return;
	if (i < b->cfg->iterations)
		fprintf(stderr, "\rcglat: iteration %d/%d", i + 1, b->cfg->iterations);
	else
		fprintf(stderr, "\r\033[K");
}

/* A new random order of the paths for each iteration (Fisher-Yates, fixed seed
 * so runs are repeatable): whichever path follows the docker CLI finds every
 * cache cold, and a fixed or rotating order would always hand that to the same
 * path, the floor always warm right after the direct write. */
static void shuffle_paths(int order[SAMPLE_PATH_COUNT], uint64_t *seed)
{
	for (int i = 0; i < SAMPLE_PATH_COUNT; i++)
		order[i] = i;
	for (int i = SAMPLE_PATH_COUNT - 1; i > 0; i--) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		int j = (int)((*seed >> 33) % (uint64_t)(i + 1));
		int t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static bool path_wanted(const struct bench_config *c, int p)
{
	if (p == SAMPLE_FLOOR) /* the floor writes through the direct path's fd */
		return (c->paths & (1u << PATH_DIRECT)) != 0;
	return (c->paths & (1u << p)) != 0;
}

static int run_loop(struct bench *b, struct cg_err *err)
{
	const struct bench_config *c = b->cfg;
	uint64_t seed = 0x63676c6174ull; /* "cglat" */
	for (int i = -c->warmup; i < c->iterations && !signals_stop_requested(); i++) {
		if (i >= 0)
			progress(b, i);
		int order[SAMPLE_PATH_COUNT];
		shuffle_paths(order, &seed);
		for (int k = 0; k < SAMPLE_PATH_COUNT && !signals_stop_requested(); k++) {
			int p = order[k];
			if (!path_wanted(c, p))
				continue;
			for (int r = 0; r < CG_RES_COUNT && !signals_stop_requested(); r++) {
				if (!(c->resources & (1u << r)))
					continue;
				if (run_sample(b, i, (enum sample_path)p, (enum cg_resource)r,
				               i >= 0, err) < 0)
					return -1;
			}
		}
	}
	progress(b, c->iterations);
	return 0;
}

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
	struct docker_update u = {0};
	if (o->memory > 0) {
		u.set |= DOCKER_SET_MEMORY;
		u.memory = o->memory;
	}
	if (o->memory_swap != 0) {
		u.set |= DOCKER_SET_MEMORY_SWAP;
		u.memory_swap = o->memory_swap;
	}
	if (o->cpu_period > 0) {
		u.set |= DOCKER_SET_CPU_PERIOD;
		u.cpu_period = o->cpu_period;
	}
	u.set |= DOCKER_SET_CPU_QUOTA;
	u.cpu_quota = o->cpu_quota > 0 ? o->cpu_quota : -1;
	struct cg_err uerr;
	if (docker_update_api(b->docker, b->res->container_id, &u, &uerr) < 0)
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

static int make_container(struct bench *b, struct cg_err *err)
{
	const struct bench_config *c = b->cfg;
	size_t len = (size_t)(cglat_idle_tar_end - cglat_idle_tar);
	if (docker_ensure_image(b->docker, c->image, cglat_idle_tar, len, err))
		return -1;
	char name[256], label[64];
	if (c->name)
		snprintf(name, sizeof(name), "%s", c->name);
	else
		snprintf(name, sizeof(name), "cglat-bench-%d", (int)getpid());
	/* A kept container must not look like one a killed run left (stale.c removes those). */
	snprintf(label, sizeof(label), "%s=%d", c->keep ? "cglat.kept" : "cglat.owner",
	         (int)getpid());
	vlog(b, "starting container %s from %s", name, c->image);
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
	/* Found by the fault trials: every update would fail after the probes were loaded. */
	if (b->orig.limits.nano_cpus > 0)
		return cg_errf(
		        err,
		        "container %s was started with --cpus (NanoCpus %lld): Docker refuses "
		        "CPU quota and period updates on it; benchmark a container started "
		        "with --cpu-quota or without CPU limits",
		        ref, (long long)b->orig.limits.nano_cpus);
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
	vlog(b, "cgroup %s: %s, %s", cgroup_mode_name(h->cgroup_mode), b->limit_path[CG_RES_MEMORY],
	     b->limit_path[CG_RES_CPU]);
	return 0;
}

static int start_tracer(struct bench *b, struct cg_err *err)
{
	pid_t dockerd = docker_daemon_pid();
	if (dockerd <= 0 && (b->cfg->paths & ((1u << PATH_DOCKER) | (1u << PATH_API))))
		return cg_errf(err, "cannot find the dockerd process (no /var/run/docker.pid and "
		                    "no process named dockerd); is dockerd running in another "
		                    "PID namespace?");
	struct tracer_config tc = {
	        .strategy = b->cfg->probe,
	        .dockerd_tgid = dockerd,
	        .probe_file = b->cfg->probe_file,
	        .on_event = on_event,
	        .ctx = b,
	};
	vlog(b, "compiling and attaching the probes (dockerd is PID %d)", (int)dockerd);
	if (tracer_open(&tc, &b->tracer, err))
		return -1;
	snprintf(b->res->host.probe_strategy, sizeof(b->res->host.probe_strategy), "%s",
	         tracer_strategy_name(tracer_strategy(b->tracer)));
	snprintf(b->res->host.probe_reason, sizeof(b->res->host.probe_reason), "%s",
	         tracer_reason(b->tracer));
	return 0;
}

/* Opened after the probes are attached, so that the probes learn the fds. */
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
	}
	return 0;
}

/* The starting point of every path: the base limits, and a swap limit set
 * once, as the original tool did, so that Docker accepts every memory step. */
static int set_base_limits(struct bench *b, struct cg_err *err)
{
	const struct bench_config *c = b->cfg;
	struct docker_update u = {
	        .set = DOCKER_SET_MEMORY | DOCKER_SET_CPU_PERIOD | DOCKER_SET_CPU_QUOTA,
	        .memory = c->mem_base,
	        .cpu_period = c->cpu_period,
	        .cpu_quota = c->cpu_base,
	};
	char swap[PATH_MAX];
	snprintf(swap, sizeof(swap), "%s/%s", b->target->dir[res_ctl(CG_RES_MEMORY)],
	         cgroup_swap_file(b->target->version[res_ctl(CG_RES_MEMORY)]));
	if (access(swap, F_OK) == 0) {
		u.set |= DOCKER_SET_MEMORY_SWAP;
		u.memory_swap = 2 * (c->mem_base + c->mem_delta);
	}
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

static int check_stop(struct cg_err *err)
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
static void clean_up(struct bench *b)
{
	for (int r = 0; r < CG_RES_COUNT; r++)
		if (b->fd[r] >= 0)
			close(b->fd[r]);
	/* The probes detach while the container is removed. */
	tracer_detach_begin(b->tracer);
	struct cg_err err;
	if (b->res->container_created && !b->cfg->keep) {
		vlog(b, "removing container %s", b->res->container_name);
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
		vlog(b, "putting back the limits of %s", b->res->container_name);
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
		vlog(b, "probes: compiled in %.0f ms, attached in %.0f ms, detached in %.0f ms",
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
static int preflight(const struct bench_config *cfg, struct cg_err *err)
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
	return 0;
}

int bench_run(const struct bench_config *cfg, struct bench_result *res, struct cg_err *err)
{
	memset(res, 0, sizeof(*res));
	struct bench b = {.cfg = cfg, .res = res, .fd = {-1, -1}};
	if (preflight(cfg, err))
		return -1;
	uint64_t start = tracer_now_ns();
	int rc = -1;
	if (docker_open(cfg->docker_sock, &b.docker, &b.dinfo, err))
		return -1;
	stale_remove_containers(b.docker, stderr);
	fill_host(&b);
	/* Probes first: a probe that does not compile or attach changes nothing. */
	if (check_container(&b, err) || start_tracer(&b, err) || check_stop(err) ||
	    pick_container(&b, err) || check_stop(err) || resolve_cgroup(&b, err) ||
	    save_originals(&b, err) || open_direct_fds(&b, err) || set_base_limits(&b, err) ||
	    run_loop(&b, err))
		goto out;
	res->lost_events = tracer_lost_events(b.tracer);
	if (signals_stop_requested()) {
		res->interrupted = true;
		res->signal = signals_stop_requested();
		check_stop(err);
		goto out;
	}
	rc = 0;
out:
	if (signals_stop_requested()) {
		res->interrupted = true;
		res->signal = signals_stop_requested();
	}
	clean_up(&b);
	res->wall_ns = (int64_t)(tracer_now_ns() - start);
	return rc;
}

void bench_result_free(struct bench_result *res)
{
	free(res->samples);
	res->samples = NULL;
	res->count = res->cap = 0;
}
