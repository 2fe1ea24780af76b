#include "bench.h"
#include "bench_runtime.h"
#include "bench_state.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cglat.h"
#include "docker.h"
#include "event_match.h"
#include "signals.h"
#include "stale.h"
#include "tracer.h"

/* The embedded static program of the local test image. */

const char *bench_metric_name(enum metric m)
{
	static const char *const names[METRIC_COUNT] = {"daemon_to_write", "request_to_write",
	                                                "round_trip"};
	return m < METRIC_COUNT ? names[m] : "?";
}

const char *bench_sample_path_name(enum sample_path p)
{
	static const char *const names[SAMPLE_PATH_COUNT] = {
	        "docker", "api", "direct", "serve", "serve-api", "runtime", "floor"};
	return p < SAMPLE_PATH_COUNT ? names[p] : "?";
}

int64_t bench_metric(const struct sample *s, enum metric m)
{
	switch (m) {
	case METRIC_DAEMON_TO_WRITE:
		if (!sample_path_has_daemon(s->path))
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

/* ------------------------------------------------------------------ log */

void bench_log(const struct bench *b, const char *fmt, ...)
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

void bench_on_event(void *ctx, const struct cglat_event *ev)
{
	struct bench *b = ctx;
	struct sample *s = b->cur;
	/* Every event, also between samples: the original's start mark could be older. */
	if (b->cfg->original_method)
		orig_log_event(&b->res->orig, ev, (uint32_t)b->dockerd_pid);
	if (!s)
		return;
	if (ev->kind == CGLAT_EV_RECV) {
		char ref[256];
		/* serve forwards the update to dockerd: only the sample's own daemon counts. */
		if (b->want_recv && !b->recv_found && ev->ts_exit >= s->t0_ns &&
		    ev->tgid == (uint32_t)b->recv_tgid &&
		    event_parse_update_request(ev->data, ev->data_len, ref, sizeof(ref)) &&
		    (strcmp(ref, b->res->container_id) == 0 || strcmp(ref, b->cli_ref) == 0)) {
			b->recv_found = true;
			s->recv_ns = ev->ts_exit;
			s->recv_call = ev->call;
			s->recv_fd = ev->fd;
		}
		return;
	}
	if (ev->kind != CGLAT_EV_WRITE || b->write_found || ev->ts_enter < s->t0_ns ||
	    !event_path_matches(ev->path, b->res->container_id, b->cur_file))
		return;
	/* On the serve paths runc writes the same value again when dockerd records it, and
	 * the per-CPU buffers may hand its event over first: serve's write is the one. */
	if (sample_path_is_serve(s->path) && ev->tgid != (uint32_t)b->serve.pid)
		return;
	/* The runtime path: only the runtime process this sample started, exec'd after T0. */
	if (s->path == SAMPLE_RUNTIME &&
	    (ev->tgid != (uint32_t)b->runtime_pid || ev->exec_ns < s->t0_ns))
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

void bench_on_wf_event(void *ctx, const struct cglat_wf_event *ev)
{
	struct bench *b = ctx;
	if (b->wf_window || ev->ts <= b->wf_last_return)
		wf_log_add(&b->wf_log, ev);
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

/* Issues one update through a path; the client timestamps bracket the call. */
static int issue(struct bench *b, struct sample *s, struct cg_err *err)
{
	struct docker_update u;
	bench_sample_update(b->res->cpu_field, s->resource, s->value, &u);
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
	case SAMPLE_SERVE:
		rc = docker_update_cli_host(b->cfg->docker_bin, b->serve.host, b->cli_ref, &u, err);
		break;
	case SAMPLE_SERVE_API:
		rc = docker_update_api(b->serve_docker, b->res->container_id, &u, err);
		break;
	case SAMPLE_RUNTIME:
		rc = bench_runtime_update(&b->res->runtime, b->res->container_id, s->resource,
		                          s->value, &b->runtime_pid, err);
		break;
	case SAMPLE_DIRECT:
		n = write(b->fd[s->resource], s->expected, len);
		rc = n == (ssize_t)len ? 0
		                       : cg_errf(err, "direct write failed: %s", strerror(errno));
		break;
	case SAMPLE_FLOOR: /* an fd the probes never learnt: see open_direct_fds() */
		n = pwrite(b->floor_fd[s->resource], s->expected, len, 0);
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
		else if (s->path == SAMPLE_RUNTIME)
			snprintf(s->invalid_reason, sizeof(s->invalid_reason),
			         "no write of %s by %s (PID %d) seen within %.1f s", b->cur_file,
			         b->res->runtime.name, (int)b->runtime_pid, b->cfg->timeout_s);
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
	const char *daemon = sample_path_is_serve(s->path) ? "cglat serve" : "dockerd";
	if (b->want_recv && !b->recv_found) {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason),
		         "%s's receive of the update request was not seen", daemon);
		return;
	}
	if (b->want_recv && s->recv_ns > s->write_exit_ns) {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason),
		         "%s received the request after the write returned", daemon);
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
	b->want_recv = sample_path_has_daemon(path);
	b->recv_tgid = sample_path_is_serve(path) ? b->serve.pid : b->dockerd_pid;
	b->recv_found = b->write_found = false;
	b->runtime_pid = 0;

	bool waterfall = b->cfg->waterfall && sample_path_has_daemon(path);
	b->wf_window = waterfall;
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
		/* --reply-after enforce records in dockerd after the answer: the record's runc
		 * write must land before the next sample starts, not during it. */
		if (sample_path_is_serve(path) &&
		    bench_serve_settle(&b->serve, b->cfg->timeout_s, err) < 0) {
			b->cur = NULL;
			return -1;
		}
	}
	if (issued)
		b->failed_in_a_row = 0;
	b->cur = NULL;
	if (waterfall) {
		b->wf_window = false;
		b->wf_last_return = s->t_return_ns;
	}
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
	if (p == SAMPLE_FLOOR) /* the floor writes the direct path's file */
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

/* --original-method: the events still in the buffers (the original's end mark of the
 * last sample can follow the exact one), then every sample computed its way. */
static int original_finish(struct bench *b, struct cg_err *err)
{
	b->cur = NULL;
	if (tracer_poll(b->tracer, 50, err) < 0)
		return -1;
	if (b->res->orig.out_of_memory)
		return cg_errf(err, "out of memory keeping the original method's marks");
	for (size_t i = 0; i < b->res->count; i++) { /* how dockerd received the requests */
		const struct sample *s = &b->res->samples[i];
		if (s->recv_ns && (s->path == SAMPLE_DOCKER || s->path == SAMPLE_API))
			orig_log_update_recv(&b->res->orig, s->recv_call);
	}
	orig_compute(&b->res->orig, b->res->samples, b->res->count);
	return 0;
}

/* --waterfall: the chain's events still in the buffers, then every valid sample of a
 * path with a daemon (docker, api, serve, serve-api) split into its stages. */
static int waterfall_finish(struct bench *b, struct cg_err *err)
{
	b->cur = NULL;
	if (tracer_poll(b->tracer, 50, err) < 0)
		return -1;
	wf_log_sort(&b->wf_log);
	b->res->wf_dropped = b->wf_log.dropped;
	b->res->wf_lost = tracer_waterfall_lost_events(b->tracer);
	for (size_t i = 0; i < b->res->count; i++) {
		struct sample *s = &b->res->samples[i];
		if (!s->valid || !sample_path_has_daemon(s->path))
			continue;
		struct wf_bounds_input in = {
		        .cli = sample_path_has_cli(s->path),
		        .serve = sample_path_is_serve(s->path),
		        .t0_ns = s->t0_ns,
		        .t_return_ns = s->t_return_ns,
		        .recv_ns = s->recv_ns,
		        .write_enter_ns = s->write_enter_ns,
		        .write_exit_ns = s->write_exit_ns,
		        .recv_fd = s->recv_fd,
		        .writer_tgid = s->writer_tgid,
		};
		wf_compute(&b->wf_log, &b->res->wf_roles, &in, &s->wf);
	}
	wf_log_free(&b->wf_log);
	return 0;
}

int bench_run(const struct bench_config *cfg, struct bench_result *res, struct cg_err *err)
{
	memset(res, 0, sizeof(*res));
	struct bench b = {.cfg = cfg, .res = res, .fd = {-1, -1}, .floor_fd = {-1, -1}};
	if (bench_preflight(cfg, err))
		return -1;
	uint64_t start = tracer_now_ns();
	int rc = -1;
	if (docker_open(cfg->docker_sock, &b.docker, &b.dinfo, err))
		return -1;
	stale_remove_containers(b.docker, stderr);
	res->original_method = cfg->original_method;
	res->waterfall = cfg->waterfall;
	if (bench_prepare(&b, err) || run_loop(&b, err))
		goto out;
	if (cfg->original_method && original_finish(&b, err))
		goto out;
	if (cfg->waterfall && waterfall_finish(&b, err))
		goto out;
	res->lost_events = tracer_lost_events(b.tracer);
	if (signals_stop_requested()) {
		res->interrupted = true;
		res->signal = signals_stop_requested();
		bench_check_stop(err);
		goto out;
	}
	rc = 0;
out:
	if (signals_stop_requested()) {
		res->interrupted = true;
		res->signal = signals_stop_requested();
	}
	bench_clean_up(&b);
	wf_log_free(&b.wf_log);
	res->wall_ns = (int64_t)(tracer_now_ns() - start);
	return rc;
}

void bench_result_free(struct bench_result *res)
{
	free(res->samples);
	res->samples = NULL;
	orig_log_free(&res->orig);
	res->count = res->cap = 0;
}
