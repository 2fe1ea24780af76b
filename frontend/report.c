#include "report.h"
#include "report_waterfall.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "units.h"

static bool path_ran(const struct bench_config *cfg, enum sample_path p)
{
	if (p == SAMPLE_FLOOR)
		return cfg->paths & (1u << PATH_DIRECT);
	return cfg->paths & (1u << p);
}

static bool metric_applies(enum sample_path p, enum metric m)
{
	if (p == SAMPLE_FLOOR)
		return m == METRIC_ROUND_TRIP;
	if (p == SAMPLE_DIRECT || p == SAMPLE_RUNTIME)
		return m != METRIC_DAEMON_TO_WRITE; /* no daemon: cglat runs the write's process */
	return true;
}

/* The valid samples' values of one row, malloc'd; *invalid counts the others. */
static int64_t *row_values(const struct bench_result *res, enum sample_path p, enum cg_resource r,
                           enum metric m, size_t *n, size_t *invalid)
{
	int64_t *v = malloc((res->count ? res->count : 1) * sizeof(*v));
	*n = *invalid = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < res->count; i++) {
		const struct sample *s = &res->samples[i];
		if (s->path != p || s->resource != r)
			continue;
		int64_t x = s->valid ? bench_metric(s, m) : -1;
		if (x < 0)
			(*invalid)++;
		else
			v[(*n)++] = x;
	}
	return v;
}

size_t report_rows(const struct bench_config *cfg, const struct bench_result *res,
                   struct report_row *rows)
{
	size_t count = 0;
	for (int p = 0; p < SAMPLE_PATH_COUNT; p++) {
		if (!path_ran(cfg, (enum sample_path)p))
			continue;
		for (int r = 0; r < CG_RES_COUNT; r++) {
			if (!(cfg->resources & (1u << r)))
				continue;
			for (int m = 0; m < METRIC_COUNT; m++) {
				if (!metric_applies((enum sample_path)p, (enum metric)m))
					continue;
				struct report_row *row = &rows[count++];
				memset(row, 0, sizeof(*row));
				row->path = (enum sample_path)p;
				row->resource = (enum cg_resource)r;
				row->metric = (enum metric)m;
				size_t n;
				int64_t *v = row_values(res, row->path, row->resource, row->metric,
				                        &n, &row->invalid);
				if (v)
					stats_compute(v, n, &row->stats);
				free(v);
			}
		}
	}
	return count;
}

static const struct report_row *find_row(const struct report_row *rows, size_t n,
                                         enum sample_path p, enum cg_resource r, enum metric m)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].path == p && rows[i].resource == r && rows[i].metric == m)
			return &rows[i];
	return NULL;
}

/* Medians over both resources: memory's row when it ran, else cpu's. */
static const struct report_row *first_row(const struct report_row *rows, size_t n,
                                          enum sample_path p, enum metric m)
{
	const struct report_row *row = find_row(rows, n, p, CG_RES_MEMORY, m);
	if (!row || !row->stats.n)
		row = find_row(rows, n, p, CG_RES_CPU, m);
	return row && row->stats.n ? row : NULL;
}

void report_headline(const struct report_row *rows, size_t n, struct report_headline *h)
{
	memset(h, 0, sizeof(*h));
	const struct report_row *d = first_row(rows, n, SAMPLE_DOCKER, METRIC_DAEMON_TO_WRITE);
	h->daemon_path = "docker";
	if (!d) {
		d = first_row(rows, n, SAMPLE_API, METRIC_DAEMON_TO_WRITE);
		h->daemon_path = "api";
	}
	const struct report_row *x = first_row(rows, n, SAMPLE_DIRECT, METRIC_REQUEST_TO_WRITE);
	h->docker_p50_ns = d ? d->stats.p50 : 0;
	h->direct_p50_ns = x ? x->stats.p50 : 0;
	h->ratio = d && x && x->stats.p50 > 0 ? d->stats.p50 / x->stats.p50 : 0;
}

static double mean_ms(const struct report_row *row)
{
	return row && row->stats.n ? row->stats.mean / 1e6 : -1;
}

void report_original(const struct report_row *rows, size_t n, struct report_original *o)
{
	o->memory_ms =
	        mean_ms(find_row(rows, n, SAMPLE_DOCKER, CG_RES_MEMORY, METRIC_DAEMON_TO_WRITE));
	o->cpu_ms = mean_ms(find_row(rows, n, SAMPLE_DOCKER, CG_RES_CPU, METRIC_DAEMON_TO_WRITE));
	o->raw_memory_ms =
	        mean_ms(find_row(rows, n, SAMPLE_DIRECT, CG_RES_MEMORY, METRIC_REQUEST_TO_WRITE));
}

/* ------------------------------------------------------- the original method */

/* Mean in ms over the samples of a path and resource that got both of the original's
 * marks, valid or not (the original judged none). */
static void orig_line(const struct bench_config *cfg, const struct bench_result *res,
                      enum sample_path p, enum cg_resource r, double exact_ms,
                      struct report_orig_line *l)
{
	memset(l, 0, sizeof(*l));
	l->ms = -1;
	l->exact_ms = exact_ms;
	if (!path_ran(cfg, p)) {
		l->why = p == SAMPLE_DIRECT ? "the direct path did not run"
		                            : "neither the docker nor the api path ran";
		return;
	}
	if (!(cfg->resources & (1u << r))) {
		l->why = r == CG_RES_MEMORY ? "--resources left memory out"
		                            : "--resources left cpu out";
		return;
	}
	double sum = 0;
	for (size_t i = 0; i < res->count; i++) {
		const struct sample *s = &res->samples[i];
		if (s->path != p || s->resource != r)
			continue;
		l->of++;
		int64_t x = orig_sample_ns(s);
		if (x < 0)
			continue;
		sum += (double)x;
		l->n++;
	}
	if (l->n)
		l->ms = sum / (double)l->n / 1e6;
}

static bool orig_missing(const struct report_orig_line *l)
{
	return l->ms < 0 && !l->why;
}

/* Receives by call (enum cglat_recv_call): "read(2)" when one call has them all and
 * !always_count, else "read(2) 3, recvmsg(2) 1". */
static void orig_calls(const uint64_t counts[CGLAT_RECV_CALLS], bool always_count, char *buf,
                       size_t len, uint64_t *total)
{
	static const char *const names[CGLAT_RECV_CALLS] = {
	        "?", "read(2)", "recvfrom(2)", "recvmsg(2)", "recvmmsg(2)", "readv(2)"};
	/* in the order a reader expects them: the reads, then the recv family */
	static const int order[] = {CGLAT_RECV_READ, CGLAT_RECV_READV, CGLAT_RECV_RECVFROM,
	                            CGLAT_RECV_RECVMSG, CGLAT_RECV_RECVMMSG};
	size_t kinds = 0, k = 0;
	*total = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		kinds += counts[order[i]] != 0;
		*total += counts[order[i]];
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]) && k < len; i++) {
		int c = order[i];
		if (!counts[c])
			continue;
		if (kinds == 1 && !always_count)
			k += (size_t)snprintf(buf + k, len - k, "%s", names[c]);
		else
			k += (size_t)snprintf(buf + k, len - k, "%s%s %llu", k ? ", " : "",
			                      names[c], (unsigned long long)counts[c]);
	}
}

static void orig_reason(const struct bench_result *res, struct report_orig_method *m)
{
	const struct orig_log *o = &res->orig;
	const struct report_orig_line *all[] = {&m->memory, &m->cpu, &m->raw_memory, &m->raw_cpu};
	bool daemon_missing = orig_missing(&m->memory) || orig_missing(&m->cpu);
	bool any_missing = false;
	for (size_t i = 0; i < 4; i++)
		any_missing |= orig_missing(all[i]);
	m->reason[0] = '\0';
	if (!any_missing)
		return;
	char *buf = m->reason;
	size_t len = sizeof(m->reason), k = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (k < len)                                                                       \
			k += (size_t)snprintf(buf + k, len - k, __VA_ARGS__);                      \
	} while (0)
	ADD("%s", m->measured ? "the original method has no figure for some lines: "
	                      : "the original tool could not have measured this host: ");
	bool said = false;
	char calls[192];
	uint64_t total;
	if (daemon_missing && o->recvs == 0) {
		orig_calls(o->update_recv_calls, false, calls, sizeof(calls), &total);
		ADD("its start mark never occurred (dockerd made no socket receive, of any call, "
		    "during the run");
		if (total)
			ADD("; it received the %llu update requests with %s",
			    (unsigned long long)total, calls);
		ADD(")");
		said = true;
	} else if (daemon_missing && o->end_writes == 0) {
		/* The start mark is there: say what it was, then why the end is missing. */
		orig_calls(o->recv_calls, true, calls, sizeof(calls), &total);
		ADD("its start mark occurred %llu times (dockerd's socket receives: %s",
		    (unsigned long long)o->recvs, calls);
		if (o->other_reads)
			ADD("; not its %llu reads of fds that are no socket",
			    (unsigned long long)o->other_reads);
		orig_calls(o->update_recv_calls, false, calls, sizeof(calls), &total);
		if (total)
			ADD("; the %llu update requests came with %s", (unsigned long long)total,
			    calls);
		ADD(")");
		said = true;
	}
	if (o->end_writes == 0) {
		ADD("%sits end mark never occurred (no file named memory.max or cpu.max was "
		    "written "
		    "during the run",
		    said ? (o->recvs ? ", but " : ", and ") : "");
		const struct bench_host *h = &res->host;
		if (h->cgroup_version[CG_RES_MEMORY] == 1 && h->cgroup_version[CG_RES_CPU] == 1)
			ADD("; Docker's cgroups are v1 here: its limit files are %s and %s",
			    h->limit_file[CG_RES_MEMORY], h->limit_file[CG_RES_CPU]);
		ADD(")");
		said = true;
	}
	if (!said) {
		static const char *const names[] = {"memory.max", "cpu.max", "raw memory.max",
		                                    "raw cpu.max"};
		ADD("no write of a file named memory.max or cpu.max followed one of its start "
		    "marks "
		    "within the samples of");
		for (size_t i = 0, lines = 0; i < 4; i++)
			if (orig_missing(all[i]))
				ADD("%s %s", lines++ ? "," : "", names[i]);
	}
#undef ADD
}

void report_orig_method(const struct bench_config *cfg, const struct bench_result *res,
                        const struct report_row *rows, size_t n, struct report_orig_method *m)
{
	memset(m, 0, sizeof(*m));
	enum sample_path d = SAMPLE_DOCKER;
	if (!path_ran(cfg, SAMPLE_DOCKER) && path_ran(cfg, SAMPLE_API))
		d = SAMPLE_API;
	m->daemon_path = bench_sample_path_name(d);
	orig_line(cfg, res, d, CG_RES_MEMORY,
	          mean_ms(find_row(rows, n, d, CG_RES_MEMORY, METRIC_DAEMON_TO_WRITE)), &m->memory);
	orig_line(cfg, res, d, CG_RES_CPU,
	          mean_ms(find_row(rows, n, d, CG_RES_CPU, METRIC_DAEMON_TO_WRITE)), &m->cpu);
	orig_line(cfg, res, SAMPLE_DIRECT, CG_RES_MEMORY,
	          mean_ms(find_row(rows, n, SAMPLE_DIRECT, CG_RES_MEMORY, METRIC_REQUEST_TO_WRITE)),
	          &m->raw_memory);
	orig_line(cfg, res, SAMPLE_DIRECT, CG_RES_CPU,
	          mean_ms(find_row(rows, n, SAMPLE_DIRECT, CG_RES_CPU, METRIC_REQUEST_TO_WRITE)),
	          &m->raw_cpu);
	m->measured =
	        m->memory.ms >= 0 || m->cpu.ms >= 0 || m->raw_memory.ms >= 0 || m->raw_cpu.ms >= 0;
	orig_reason(res, m);
}

/* ------------------------------------------------------------------- text */

static void dur(double ns, char *buf, size_t len)
{
	units_format_duration(ns, buf, len);
}

static void text_table(FILE *out, const struct report_row *rows, size_t n)
{
	int w = 7; /* the path column: as wide as the widest name in the table */
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(bench_sample_path_name(rows[i].path)) > w)
			w = (int)strlen(bench_sample_path_name(rows[i].path));
	fprintf(out, "%-*s %-7s %-17s %6s %7s %10s %10s %10s %10s %10s %10s %10s\n", w, "PATH",
	        "RES", "METRIC", "N", "INVALID", "MEAN", "STDDEV", "MIN", "P50", "P90", "P99",
	        "MAX");
	for (size_t i = 0; i < n; i++) {
		const struct report_row *r = &rows[i];
		const struct stats *s = &r->stats;
		char v[7][32];
		dur(s->mean, v[0], 32);
		dur(s->stddev, v[1], 32);
		dur((double)s->min, v[2], 32);
		dur(s->p50, v[3], 32);
		dur(s->p90, v[4], 32);
		dur(s->p99, v[5], 32);
		dur((double)s->max, v[6], 32);
		if (!s->n)
			for (int k = 0; k < 7; k++)
				snprintf(v[k], 32, "-");
		fprintf(out, "%-*s %-7s %-17s %6zu %7zu %10s %10s %10s %10s %10s %10s %10s\n", w,
		        bench_sample_path_name(r->path), cgroup_resource_name(r->resource),
		        bench_metric_name(r->metric), s->n, r->invalid, v[0], v[1], v[2], v[3],
		        v[4], v[5], v[6]);
	}
}

static void text_invalid(FILE *out, const struct bench_result *res)
{
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < res->count; i++)
		total += !res->samples[i].valid;
	if (!total)
		return;
	fprintf(out, "\ninvalid samples (%zu, not in the statistics):\n", total);
	for (size_t i = 0; i < res->count && shown < 10; i++) {
		const struct sample *s = &res->samples[i];
		if (s->valid)
			continue;
		fprintf(out, "  #%d %s %s %s: %s\n", s->iteration, bench_sample_path_name(s->path),
		        cgroup_resource_name(s->resource), s->expected, s->invalid_reason);
		shown++;
	}
	if (total > shown)
		fprintf(out, "  ... and %zu more (--format csv lists every sample)\n",
		        total - shown);
}

static void text_hist(FILE *out, const struct bench_result *res, const struct report_row *rows,
                      size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t count, invalid;
		int64_t *v = row_values(res, rows[i].path, rows[i].resource, rows[i].metric, &count,
		                        &invalid);
		if (!v)
			continue;
		if (count) {
			fprintf(out, "\n%s %s %s:\n", bench_sample_path_name(rows[i].path),
			        cgroup_resource_name(rows[i].resource),
			        bench_metric_name(rows[i].metric));
			stats_print_log2_hist(out, v, count, "usecs");
		}
		free(v);
	}
}

static void text_original(FILE *out, const struct bench_result *res,
                          const struct report_original *o)
{
	const char *mf = res->host.limit_file[CG_RES_MEMORY];
	const char *cf = res->host.limit_file[CG_RES_CPU];
	if (o->memory_ms < 0 && o->cpu_ms < 0 && o->raw_memory_ms < 0)
		return;
	fprintf(out, "\nthe original tool's summary (means over valid samples, ms):\n");
	if (o->memory_ms >= 0)
		fprintf(out, "Avg %s latency (dockerd recv → cgroup write): %.3f ms\n", mf,
		        o->memory_ms);
	if (o->cpu_ms >= 0)
		fprintf(out, "Avg %s latency (dockerd recv → cgroup write):    %.3f ms\n", cf,
		        o->cpu_ms);
	if (o->raw_memory_ms >= 0)
		fprintf(out, "Avg raw %s write latency: %.3f ms\n", mf, o->raw_memory_ms);
}

static void text_ms(double ms, char *buf, size_t len)
{
	if (ms >= 0)
		snprintf(buf, len, "%.3f ms", ms);
	else
		snprintf(buf, len, "no figure");
}

/* One of the original's lines, its way, then the exact figure and the difference. */
static void text_orig_line(FILE *out, const char *head, const struct report_orig_line *l)
{
	char v[32], x[32];
	text_ms(l->ms, v, sizeof(v));
	text_ms(l->exact_ms, x, sizeof(x));
	fprintf(out, "%s %s   exact %s", head, v, x);
	if (l->ms >= 0 && l->exact_ms >= 0)
		fprintf(out, ", difference %+.3f ms", l->ms - l->exact_ms);
	if (l->why)
		fprintf(out, " (%s)", l->why);
	else
		fprintf(out, " (%zu of %zu samples)", l->n, l->of);
	fputc('\n', out);
}

static void text_vs(FILE *out, const char *name, double a, double b)
{
	char x[32], y[32];
	text_ms(a, x, sizeof(x));
	text_ms(b, y, sizeof(y));
	fprintf(out, "%s vs %s (%s", x, y, name);
	if (a >= 0 && b > 0)
		fprintf(out, ", %.0fx", a / b);
	fputc(')', out);
}

static void text_orig_method(FILE *out, const struct bench_config *cfg,
                             const struct bench_result *res, const struct report_row *rows,
                             size_t n)
{
	struct report_orig_method m;
	report_orig_method(cfg, res, rows, n, &m);
	fprintf(out,
	        "\nthe original tool's method (--original-method), from the same events: "
	        "start at dockerd's last socket\nreceive of any call (read, readv, recvfrom, "
	        "recvmsg, recvmmsg: its kprobe on sock_recvmsg; any data), end at\nthe first "
	        "write of a file named memory.max or cpu.max (any cgroup); %s samples, in the "
	        "original's words:\n",
	        m.daemon_path);
	text_orig_line(out, "Avg memory.max latency (dockerd recvmsg → cgroup write):", &m.memory);
	text_orig_line(out, "Avg cpu.max latency (dockerd recvmsg → cgroup write):   ", &m.cpu);
	text_orig_line(out, "Avg raw memory.max write latency:", &m.raw_memory);
	fprintf(out, "published form, original method: ");
	text_vs(out, "memory.max", m.memory.ms, m.raw_memory.ms);
	fprintf(out, ", ");
	text_vs(out, "cpu.max", m.cpu.ms, m.raw_cpu.ms);
	fprintf(out, "\npublished form, exact method:    ");
	text_vs(out, res->host.limit_file[CG_RES_MEMORY], m.memory.exact_ms, m.raw_memory.exact_ms);
	fprintf(out, ", ");
	text_vs(out, res->host.limit_file[CG_RES_CPU], m.cpu.exact_ms, m.raw_cpu.exact_ms);
	fputc('\n', out);
	if (m.reason[0])
		fprintf(out, "%s\n", m.reason);
}

static void text_floor(FILE *out, const struct report_row *rows, size_t n)
{
	for (int r = 0; r < CG_RES_COUNT; r++) {
		const struct report_row *d =
		        find_row(rows, n, SAMPLE_DIRECT, (enum cg_resource)r, METRIC_ROUND_TRIP);
		const struct report_row *f =
		        find_row(rows, n, SAMPLE_FLOOR, (enum cg_resource)r, METRIC_ROUND_TRIP);
		if (!d || !f || !d->stats.n || !f->stats.n || f->stats.p50 <= 0)
			continue;
		char a[32], b[32];
		dur(d->stats.p50, a, sizeof(a));
		dur(f->stats.p50, b, sizeof(b));
		fprintf(out, "direct/floor %s (round_trip p50): %s / %s = %.2fx\n",
		        cgroup_resource_name((enum cg_resource)r), a, b,
		        d->stats.p50 / f->stats.p50);
	}
}

/* Each serve path beside the daemon path it fronts, resource by resource: what serve
 * takes from receive to the kernel, and what the whole client call costs through it. */
static void text_serve(FILE *out, const struct report_row *rows, size_t n)
{
	static const struct {
		enum sample_path serve, daemon;
		enum metric m;
	} pairs[] = {
	        {SAMPLE_SERVE, SAMPLE_DOCKER, METRIC_DAEMON_TO_WRITE},
	        {SAMPLE_SERVE, SAMPLE_DOCKER, METRIC_ROUND_TRIP},
	        {SAMPLE_SERVE_API, SAMPLE_API, METRIC_DAEMON_TO_WRITE},
	        {SAMPLE_SERVE_API, SAMPLE_API, METRIC_ROUND_TRIP},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		for (int r = 0; r < CG_RES_COUNT; r++) {
			const struct report_row *s =
			        find_row(rows, n, pairs[i].serve, (enum cg_resource)r, pairs[i].m);
			const struct report_row *d =
			        find_row(rows, n, pairs[i].daemon, (enum cg_resource)r, pairs[i].m);
			if (!s || !d || !s->stats.n || !d->stats.n || d->stats.p50 <= 0)
				continue;
			char a[32], b[32];
			dur(s->stats.p50, a, sizeof(a));
			dur(d->stats.p50, b, sizeof(b));
			fprintf(out, "%s/%s %s (%s p50): %s / %s = %.3gx\n",
			        bench_sample_path_name(pairs[i].serve),
			        bench_sample_path_name(pairs[i].daemon),
			        cgroup_resource_name((enum cg_resource)r),
			        bench_metric_name(pairs[i].m), a, b, s->stats.p50 / d->stats.p50);
		}
}

/* The runtime alone beside dockerd: the whole `runc update` process (runtime round_trip)
 * against dockerd's receive -> the same runtime's write (docker daemon_to_write). */
static void text_runtime(FILE *out, const struct report_row *rows, size_t n)
{
	for (int r = 0; r < CG_RES_COUNT; r++) {
		const struct report_row *rt =
		        find_row(rows, n, SAMPLE_RUNTIME, (enum cg_resource)r, METRIC_ROUND_TRIP);
		const struct report_row *d = find_row(rows, n, SAMPLE_DOCKER, (enum cg_resource)r,
		                                      METRIC_DAEMON_TO_WRITE);
		if (!rt || !d || !rt->stats.n || !d->stats.n || d->stats.p50 <= 0)
			continue;
		char a[32], b[32];
		dur(rt->stats.p50, a, sizeof(a));
		dur(d->stats.p50, b, sizeof(b));
		fprintf(out,
		        "runtime round_trip / docker daemon_to_write %s (p50): %s / %s = %.3gx\n",
		        cgroup_resource_name((enum cg_resource)r), a, b,
		        rt->stats.p50 / d->stats.p50);
	}
}

int report_text(FILE *out, const struct bench_config *cfg, const struct bench_result *res)
{
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(cfg, res, rows);
	const struct bench_host *h = &res->host;
	fprintf(out, "cglat %s: limit change latency, %d iterations%s\n", CGLAT_VERSION,
	        cfg->iterations, res->interrupted ? " (interrupted: partial results)" : "");
	fprintf(out, "host:      kernel %s, cgroup %s, probes %s (%s)\n", h->kernel,
	        cgroup_mode_name(h->cgroup_mode), h->probe_strategy, h->probe_reason);
	fprintf(out, "docker:    %s (API %s), %s, cgroup driver %s\n", h->docker_version,
	        h->api_version, h->runtime, h->cgroup_driver);
	fprintf(out, "container: %s (%.12s)%s; files %s (v%d), %s (v%d)%s\n", res->container_name,
	        res->container_id, res->container_created ? ", made by cglat" : "",
	        h->limit_file[CG_RES_MEMORY], h->cgroup_version[CG_RES_MEMORY],
	        h->limit_file[CG_RES_CPU], h->cgroup_version[CG_RES_CPU],
	        res->cpu_field == BENCH_CPU_NANO && (cfg->resources & (1u << CG_RES_CPU))
	                ? "; CPU sent as NanoCpus (started with --cpus)"
	                : "");
	if (res->runtime.name[0] && path_ran(cfg, SAMPLE_RUNTIME))
		fprintf(out,
		        "runtime:   %s --root %s update (Docker's runtime %s; dockerd bypassed)\n",
		        res->runtime.bin, res->runtime.root, res->runtime.name);
	fputc('\n', out);
	text_table(out, rows, n);
	text_invalid(out, res);
	if (cfg->hist)
		text_hist(out, res, rows, n);

	struct report_headline hl;
	report_headline(rows, n, &hl);
	fputc('\n', out);
	if (hl.ratio > 0) {
		char a[32], b[32];
		dur(hl.docker_p50_ns, a, sizeof(a));
		dur(hl.direct_p50_ns, b, sizeof(b));
		fprintf(out,
		        "headline: %s daemon_to_write p50 %s / direct request_to_write p50 %s "
		        "= %.0fx\n",
		        hl.daemon_path, a, b, hl.ratio);
	}
	text_floor(out, rows, n);
	text_serve(out, rows, n);
	text_runtime(out, rows, n);
	struct report_original o;
	report_original(rows, n, &o);
	text_original(out, res, &o);
	if (res->original_method)
		text_orig_method(out, cfg, res, rows, n);
	report_wf_text(out, res);
	if (res->lost_events)
		fprintf(out, "\nwarning: %llu probe events were lost (perf buffer full)\n",
		        (unsigned long long)res->lost_events);
	fprintf(out, "\ncleanup: %s\n",
	        res->container_created
	                ? (res->containers_removed ? "container removed"
	                                           : (cfg->keep ? "container kept (--keep)"
	                                                        : "container NOT removed"))
	                : (res->limits_restored ? "original limits restored"
	                                        : "original limits NOT restored"));
	return ferror(out) ? -1 : 0;
}

/* ------------------------------------------------------------------- JSON */

static json_t *json_list(unsigned bits, const char *(*name)(int), int count)
{
	json_t *a = json_array();
	for (int i = 0; i < count; i++)
		if (bits & (1u << i))
			json_array_append_new(a, json_string(name(i)));
	return a;
}

static const char *path_name_i(int i)
{
	return cli_path_name((enum bench_path)i);
}

static const char *resource_name_i(int i)
{
	return cgroup_resource_name((enum cg_resource)i);
}

static json_t *json_config(const struct bench_config *cfg)
{
	return json_pack("{s:i, s:i, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:s?, s:s}",
	                 "iterations", cfg->iterations, "warmup", cfg->warmup, "paths",
	                 json_list(cfg->paths, path_name_i, PATH_COUNT), "resources",
	                 json_list(cfg->resources, resource_name_i, CG_RES_COUNT), "mem_base",
	                 (json_int_t)cfg->mem_base, "mem_delta", (json_int_t)cfg->mem_delta,
	                 "cpu_base", (json_int_t)cfg->cpu_base, "cpu_delta",
	                 (json_int_t)cfg->cpu_delta, "cpu_period", (json_int_t)cfg->cpu_period,
	                 "timeout_s", cfg->timeout_s, "container", cfg->container, "probe",
	                 tracer_strategy_name(cfg->probe));
}

static json_t *json_host(const struct bench_host *h)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "kernel", h->kernel,
	                 "cgroup_mode", cgroup_mode_name(h->cgroup_mode), "probe_strategy",
	                 h->probe_strategy, "probe_reason", h->probe_reason, "docker_version",
	                 h->docker_version, "runtime", h->runtime, "cgroup_driver",
	                 h->cgroup_driver, "limit_files", "memory", h->limit_file[CG_RES_MEMORY],
	                 "cpu", h->limit_file[CG_RES_CPU]);
}

static json_t *json_row(const struct report_row *r)
{
	const struct stats *s = &r->stats;
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:f, s:f, s:I, s:f, s:f, s:f, s:I}", "path",
	                 bench_sample_path_name(r->path), "resource",
	                 cgroup_resource_name(r->resource), "metric", bench_metric_name(r->metric),
	                 "n", (json_int_t)s->n, "invalid", (json_int_t)r->invalid, "mean_ns",
	                 s->mean, "stddev_ns", s->stddev, "min_ns", (json_int_t)s->min, "p50_ns",
	                 s->p50, "p90_ns", s->p90, "p99_ns", s->p99, "max_ns", (json_int_t)s->max);
}

static json_t *json_ms_or_null(double ms)
{
	return ms >= 0 ? json_real(ms) : json_null();
}

static json_t *json_diff_or_null(const struct report_orig_line *l)
{
	return l->ms >= 0 && l->exact_ms >= 0 ? json_real(l->ms - l->exact_ms) : json_null();
}

/* null without --original-method. */
static json_t *json_orig_method(const struct bench_config *cfg, const struct bench_result *res,
                                const struct report_row *rows, size_t n)
{
	if (!res->original_method)
		return json_null();
	struct report_orig_method m;
	report_orig_method(cfg, res, rows, n, &m);
	const struct orig_log *o = &res->orig;
	json_t *j = json_pack(
	        "{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:{s:o, s:o, s:o, "
	        "s:o}, s:{s:o, s:o, s:o, s:o}, s:b, s:o, s:I, s:I, s:{s:I, s:I, s:I, s:I}}",
	        "start_mark",
	        "dockerd's last socket receive (its entry), of any call (read, readv, recvfrom, "
	        "recvmsg, recvmmsg: the original's kprobe on sock_recvmsg), whatever it received",
	        "end_mark",
	        "the first write (its entry) of a file named memory.max or cpu.max, "
	        "any cgroup, after the start",
	        "daemon_path", m.daemon_path, "memory_ms", json_ms_or_null(m.memory.ms), "cpu_ms",
	        json_ms_or_null(m.cpu.ms), "raw_memory_ms", json_ms_or_null(m.raw_memory.ms),
	        "raw_cpu_ms", json_ms_or_null(m.raw_cpu.ms), "n", "memory", (json_int_t)m.memory.n,
	        "cpu", (json_int_t)m.cpu.n, "raw_memory", (json_int_t)m.raw_memory.n, "raw_cpu",
	        (json_int_t)m.raw_cpu.n, "exact", "memory_ms", json_ms_or_null(m.memory.exact_ms),
	        "cpu_ms", json_ms_or_null(m.cpu.exact_ms), "raw_memory_ms",
	        json_ms_or_null(m.raw_memory.exact_ms), "raw_cpu_ms",
	        json_ms_or_null(m.raw_cpu.exact_ms), "difference_ms", "memory",
	        json_diff_or_null(&m.memory), "cpu", json_diff_or_null(&m.cpu), "raw_memory",
	        json_diff_or_null(&m.raw_memory), "raw_cpu", json_diff_or_null(&m.raw_cpu),
	        "measured", m.measured, "reason", m.reason[0] ? json_string(m.reason) : json_null(),
	        "start_marks_seen", (json_int_t)o->recvs, "end_file_writes_seen",
	        (json_int_t)o->end_writes, "update_requests_received_with", "read",
	        (json_int_t)o->update_recv_calls[CGLAT_RECV_READ], "recvfrom",
	        (json_int_t)o->update_recv_calls[CGLAT_RECV_RECVFROM], "recvmsg",
	        (json_int_t)o->update_recv_calls[CGLAT_RECV_RECVMSG], "recvmmsg",
	        (json_int_t)o->update_recv_calls[CGLAT_RECV_RECVMMSG]);
	if (!j)
		return json_null();
	json_object_set_new(j, "start_marks_by_call",
	                    json_pack("{s:I, s:I, s:I, s:I, s:I}", "read",
	                              (json_int_t)o->recv_calls[CGLAT_RECV_READ], "readv",
	                              (json_int_t)o->recv_calls[CGLAT_RECV_READV], "recvfrom",
	                              (json_int_t)o->recv_calls[CGLAT_RECV_RECVFROM], "recvmsg",
	                              (json_int_t)o->recv_calls[CGLAT_RECV_RECVMSG], "recvmmsg",
	                              (json_int_t)o->recv_calls[CGLAT_RECV_RECVMMSG]));
	json_object_set_new(j, "other_reads_seen", json_integer((json_int_t)o->other_reads));
	return j;
}

int report_json(FILE *out, const struct bench_config *cfg, const struct bench_result *res)
{
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(cfg, res, rows);
	json_t *results = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(results, json_row(&rows[i]));
	struct report_headline hl;
	report_headline(rows, n, &hl);
	struct report_original o;
	report_original(rows, n, &o);
	size_t invalid = 0;
	for (size_t i = 0; i < res->count; i++)
		invalid += !res->samples[i].valid;

	json_t *root = json_pack(
	        "{s:s, s:s, s:o, s:o, s:{s:s, s:s, s:b, s:s}, s:o, s:{s:s, s:f, s:f, s:f}, "
	        "s:{s:o, s:o, s:o}, s:{s:i, s:b, s:b}, s:I, s:I, s:b, s:I}",
	        "tool", "cglat", "version", CGLAT_VERSION, "host", json_host(&res->host), "config",
	        json_config(cfg), "container", "id", res->container_id, "name", res->container_name,
	        "created", res->container_created, "cpu_field",
	        bench_cpu_field_name(res->cpu_field), "results", results, "headline", "daemon_path",
	        hl.daemon_path, "docker_daemon_to_write_p50_ns", hl.docker_p50_ns,
	        "direct_request_to_write_p50_ns", hl.direct_p50_ns, "ratio", hl.ratio,
	        "original_summary", "memory_ms", json_ms_or_null(o.memory_ms), "cpu_ms",
	        json_ms_or_null(o.cpu_ms), "raw_memory_ms", json_ms_or_null(o.raw_memory_ms),
	        "cleanup", "containers_removed", res->containers_removed, "limits_restored",
	        res->limits_restored, "kept", cfg->keep && res->container_created,
	        "invalid_samples", (json_int_t)invalid, "lost_events", (json_int_t)res->lost_events,
	        "interrupted", res->interrupted, "wall_ns", (json_int_t)res->wall_ns);
	if (!root)
		return -1;
	json_object_set_new(root, "original_method", json_orig_method(cfg, res, rows, n));
	json_object_set_new(root, "waterfall", report_wf_json(res));
	if (res->waterfall)
		json_object_set_new(root, "waterfall_lost_events",
		                    json_integer((json_int_t)(res->wf_lost + res->wf_dropped)));
	if (res->runtime.name[0] && path_ran(cfg, SAMPLE_RUNTIME))
		json_object_set_new(root, "runtime",
		                    json_pack("{s:s, s:s, s:s}", "name", res->runtime.name,
		                              "binary", res->runtime.bin, "root",
		                              res->runtime.root));
	json_object_set_new(root, "timings",
	                    json_pack("{s:I, s:I, s:I}", "compile_ns",
	                              (json_int_t)res->timings.compile_ns, "attach_ns",
	                              (json_int_t)res->timings.attach_ns, "detach_ns",
	                              (json_int_t)res->timings.detach_ns));
	int rc = json_dumpf(root, out, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputc('\n', out);
	json_decref(root);
	return rc < 0 || ferror(out) ? -1 : 0;
}

/* -------------------------------------------------------------------- CSV */

/* Text for a quoted CSV field: double quotes would end it, so they become single. */
static void csv_text(const char *in, char *out, size_t len)
{
	size_t k = 0;
	for (; *in && k + 1 < len; in++)
		out[k++] = *in == '"' ? '\'' : *in;
	out[k] = '\0';
}

/* One sample's row; with --waterfall, the stage's columns too (stage < 0: none). */
static void csv_sample(FILE *out, const struct bench_result *res, const struct sample *s, int stage)
{
	char reason[sizeof(s->invalid_reason)], seen[sizeof(s->seen)], comm[sizeof(s->writer_comm)];
	csv_text(s->invalid_reason, reason, sizeof(reason));
	csv_text(s->seen, seen, sizeof(seen));
	csv_text(s->writer_comm, comm, sizeof(comm));
	fprintf(out,
	        "%d,%s,%s,%lld,\"%s\",\"%s\",%d,\"%s\",%llu,%llu,%llu,%llu,%llu,%lld,%u,"
	        "\"%s\",%lld,%lld,%lld",
	        s->iteration, bench_sample_path_name(s->path), cgroup_resource_name(s->resource),
	        (long long)s->value, s->expected, seen, s->valid, reason,
	        (unsigned long long)s->t0_ns, (unsigned long long)s->recv_ns,
	        (unsigned long long)s->write_enter_ns, (unsigned long long)s->write_exit_ns,
	        (unsigned long long)s->t_return_ns, (long long)s->write_ret, s->writer_tgid, comm,
	        (long long)bench_metric(s, METRIC_DAEMON_TO_WRITE),
	        (long long)bench_metric(s, METRIC_REQUEST_TO_WRITE),
	        (long long)bench_metric(s, METRIC_ROUND_TRIP));
	if (res->original_method)
		fprintf(out, ",%llu,%llu,%lld", (unsigned long long)s->orig_start_ns,
		        (unsigned long long)s->orig_end_ns, (long long)orig_sample_ns(s));
	if (res->waterfall && stage >= 0)
		fprintf(out, ",\"%s\",%lld,%lld", wf_stage_name((enum wf_stage)stage),
		        (long long)s->wf.ns[stage], (long long)s->wf.cpu_ns[stage]);
	else if (res->waterfall)
		fprintf(out, ",\"\",,");
	fputc('\n', out);
}

int report_csv(FILE *out, const struct bench_result *res)
{
	fprintf(out,
	        "iteration,path,resource,value,expected,seen,valid,invalid_reason,t0_ns,"
	        "recv_ns,write_enter_ns,write_exit_ns,t_return_ns,write_ret,writer_pid,"
	        "writer_comm,daemon_to_write_ns,request_to_write_ns,round_trip_ns%s%s\n",
	        res->original_method ? ",orig_start_ns,orig_end_ns,orig_ns" : "",
	        res->waterfall ? REPORT_WF_CSV_HEADER : "");
	for (size_t i = 0; i < res->count; i++) {
		const struct sample *s = &res->samples[i];
		/* --waterfall: a row per stage of a sample that has them, else one */
		const enum wf_stage *seq;
		size_t n = sample_path_stages(s->path, &seq);
		if (!res->waterfall || !s->wf.computed)
			n = 0;
		for (size_t k = 0; k < n; k++)
			csv_sample(out, res, s, (int)seq[k]);
		if (!n)
			csv_sample(out, res, s, -1);
	}
	return ferror(out) ? -1 : 0;
}

/* ---- output ---------------------------------------------------------------------------- */

static const char *kernel_fs_name(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC:
		return "procfs";
	case SYSFS_MAGIC:
		return "sysfs";
	case CGROUP_SUPER_MAGIC:
		return "cgroupfs";
	case CGROUP2_SUPER_MAGIC:
		return "cgroup2";
	case DEBUGFS_MAGIC:
		return "debugfs";
	case TRACEFS_MAGIC:
		return "tracefs";
	case SECURITYFS_MAGIC:
		return "securityfs";
	case BPF_FS_MAGIC:
		return "bpffs";
	default:
		return NULL;
	}
}

int report_output_open(const char *path, struct report_output *o, struct cg_err *err)
{
	*o = (struct report_output){.file = stdout, .path = path};
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0)
		o->created = true;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		int e = errno;
		if (access(path, F_OK) == 0)
			return cg_errf(err, "-o %s: the file exists and cannot be written: %s",
			               path, strerror(e));
		errno = e;
	}
	if (fd < 0 && (errno == ENOENT || errno == EACCES || errno == EROFS)) {
		int e = errno;
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		return cg_errf(err,
		               "-o %s: cannot write in %s: %s; give a file in a writable "
		               "directory",
		               path, dir, strerror(e));
	}
	if (fd < 0)
		return cg_errf(err, "-o %s: cannot write the report there: %s", path,
		               strerror(errno));
	struct stat st;
	struct statfs fs;
	const char *kfs = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && fstatfs(fd, &fs) == 0)
		kfs = kernel_fs_name((long)fs.f_type);
	if (kfs) {
		close(fd);
		if (o->created)
			unlink(path);
		return cg_errf(err,
		               "-o %s is a kernel file (on %s), which cannot take a report: give "
		               "a file on an ordinary filesystem",
		               path, kfs);
	}
	if (!(o->file = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		if (o->created)
			unlink(path);
		return cg_errf(err, "-o %s: %s", path, strerror(e));
	}
	return 0;
}

int report_write(struct report_output *o, const struct bench_config *cfg,
                 const struct bench_result *res, struct cg_err *err)
{
	struct stat st;
	if (o->path && fstat(fileno(o->file), &st) == 0 && S_ISREG(st.st_mode) &&
	    ftruncate(fileno(o->file), 0) != 0)
		return cg_errf(err, "-o %s: cannot replace its contents: %s", o->path,
		               strerror(errno));
	int rc;
	errno = 0; /* so that a failure below is not blamed on an older errno */
	switch (cfg->format) {
	case FORMAT_JSON:
		rc = report_json(o->file, cfg, res);
		break;
	case FORMAT_CSV:
		rc = report_csv(o->file, res);
		break;
	default:
		rc = report_text(o->file, cfg, res);
	}
	if (fflush(o->file) != 0 || ferror(o->file))
		rc = -1;
	if (rc < 0)
		return cg_errf(err, "writing the report to %s failed: %s",
		               o->path ? o->path : "stdout", errno ? strerror(errno) : "I/O error");
	return 0;
}

void report_output_close(struct report_output *o, bool written)
{
	if (!o->path || !o->file)
		return;
	fclose(o->file);
	o->file = NULL;
	if (!written && o->created)
		unlink(o->path);
}
