/* Rows, headline, the original tool's summary, and the text/JSON/CSV a user reads. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

/* A result laid out like a run: per path x resource, samples whose metrics
 * are 1..n times a unit, plus invalid samples that must not count. */
struct fixture {
	struct bench_config cfg;
	struct bench_result res;
};

static void add(struct bench_result *res, enum sample_path p, enum cg_resource r, int i,
                int64_t unit, bool valid)
{
	if (res->count == res->cap) {
		res->cap = res->cap ? res->cap * 2 : 64;
		res->samples = realloc(res->samples, res->cap * sizeof(*res->samples));
	}
	struct sample *s = &res->samples[res->count++];
	memset(s, 0, sizeof(*s));
	s->iteration = i;
	s->path = p;
	s->resource = r;
	s->value = 1000 + i;
	snprintf(s->expected, sizeof(s->expected), "%lld", (long long)s->value);
	s->t0_ns = 1000000;
	int64_t v = unit * (i + 1);
	/* daemon_to_write = v, request_to_write = v + unit/10, round_trip = v + unit/5 */
	s->recv_ns = s->t0_ns + (uint64_t)(unit / 10);
	s->write_exit_ns = s->recv_ns + (uint64_t)v;
	s->write_enter_ns = s->write_exit_ns - 10;
	s->t_return_ns = s->t0_ns + (uint64_t)(v + unit / 5);
	if (p == SAMPLE_DIRECT || p == SAMPLE_RUNTIME || p == SAMPLE_FLOOR) {
		s->recv_ns = 0;
		s->write_exit_ns = p == SAMPLE_FLOOR ? 0 : s->t0_ns + (uint64_t)v;
		s->t_return_ns = s->t0_ns + (uint64_t)(2 * v);
	}
	if (valid) {
		s->valid = true;
		snprintf(s->seen, sizeof(s->seen), "%s", s->expected);
	} else {
		snprintf(s->invalid_reason, sizeof(s->invalid_reason),
		         "the kernel was handed \"999\", not \"%s\"", s->expected);
	}
}

static void make(struct fixture *f, int version)
{
	memset(f, 0, sizeof(*f));
	cli_defaults(&f->cfg);
	f->cfg.iterations = 10;
	struct bench_host *h = &f->res.host;
	snprintf(h->kernel, sizeof(h->kernel), "6.1.0-test");
	h->cgroup_mode = version == 2 ? CG_MODE_V2 : CG_MODE_HYBRID;
	for (int r = 0; r < CG_RES_COUNT; r++) {
		h->cgroup_version[r] = version;
		snprintf(h->limit_file[r], sizeof(h->limit_file[r]), "%s",
		         cgroup_limit_file((enum cg_resource)r, version));
	}
	snprintf(h->probe_strategy, sizeof(h->probe_strategy), "tracepoint");
	snprintf(h->probe_reason, sizeof(h->probe_reason), "auto: the kernel has no kprobes");
	snprintf(h->docker_version, sizeof(h->docker_version), "20.10.24");
	snprintf(h->runtime, sizeof(h->runtime), "runc 1.1.5");
	snprintf(f->res.container_name, sizeof(f->res.container_name), "cglat-bench-1");
	snprintf(f->res.container_id, sizeof(f->res.container_id), "%064d", 7);
	f->res.container_created = true;
	f->res.containers_removed = 1;
	for (int i = 0; i < 10; i++)
		for (int r = 0; r < CG_RES_COUNT; r++) {
			add(&f->res, SAMPLE_DOCKER, (enum cg_resource)r, i, 1000000, true);
			add(&f->res, SAMPLE_API, (enum cg_resource)r, i, 500000, true);
			add(&f->res, SAMPLE_DIRECT, (enum cg_resource)r, i, 1000, true);
			add(&f->res, SAMPLE_FLOOR, (enum cg_resource)r, i, 400, true);
		}
	/* Two bad docker memory samples, far off: they must change nothing but counts. */
	add(&f->res, SAMPLE_DOCKER, CG_RES_MEMORY, 10, 900000000, false);
	add(&f->res, SAMPLE_DOCKER, CG_RES_MEMORY, 11, 900000000, false);
}

static char *render(int (*fn)(FILE *, const struct bench_config *, const struct bench_result *),
                    const struct fixture *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(fn(out, &f->cfg, &f->res), 0);
	fclose(out);
	return text;
}

static char *render_csv(const struct fixture *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(report_csv(out, &f->res), 0);
	fclose(out);
	return text;
}

Test(report, rows_cover_each_path_resource_and_metric_once)
{
	struct fixture f;
	make(&f, 1);
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(&f.cfg, &f.res, rows);
	cr_assert_eq(n, 18); /* docker 6 + api 6 + direct 4 + floor 2 */
	cr_assert_eq(rows[0].path, SAMPLE_DOCKER);
	cr_assert_eq(rows[0].metric, METRIC_DAEMON_TO_WRITE);
	cr_assert_eq(rows[17].path, SAMPLE_FLOOR);
	cr_assert_eq(rows[17].metric, METRIC_ROUND_TRIP);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rows[i].stats.n, 10);
		cr_assert_neq(rows[i].path == SAMPLE_DIRECT &&
		                      rows[i].metric == METRIC_DAEMON_TO_WRITE,
		              true);
	}
	free(f.res.samples);
}

Test(report, invalid_samples_are_counted_never_averaged)
{
	struct fixture f;
	make(&f, 1);
	struct report_row rows[REPORT_MAX_ROWS];
	report_rows(&f.cfg, &f.res, rows);
	/* docker memory daemon_to_write: 1..10 ms; p50 = 5.5 ms, mean 5.5 ms */
	cr_assert_eq(rows[0].invalid, 2);
	cr_assert_float_eq(rows[0].stats.mean, 5.5e6, 1);
	cr_assert_float_eq(rows[0].stats.p50, 5.5e6, 1);
	cr_assert_eq(rows[0].stats.max, 10000000);
	/* docker cpu has no invalid sample */
	cr_assert_eq(rows[3].resource, CG_RES_CPU);
	cr_assert_eq(rows[3].invalid, 0);
	free(f.res.samples);
}

Test(report, headline_is_the_ratio_of_medians)
{
	struct fixture f;
	make(&f, 1);
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(&f.cfg, &f.res, rows);
	struct report_headline h;
	report_headline(rows, n, &h);
	cr_assert_float_eq(h.docker_p50_ns, 5.5e6, 1);
	cr_assert_float_eq(h.direct_p50_ns, 5.5e3, 1); /* direct request_to_write 1..10 us */
	cr_assert_float_eq(h.ratio, 1000.0, 1e-6);
	cr_assert_str_eq(h.daemon_path, "docker");

	/* Without the docker path the API's receive -> write is the headline. */
	f.cfg.paths = (1u << PATH_API) | (1u << PATH_DIRECT);
	n = report_rows(&f.cfg, &f.res, rows);
	report_headline(rows, n, &h);
	cr_assert_str_eq(h.daemon_path, "api");
	cr_assert_float_eq(h.ratio, 500.0, 1e-6);
	free(f.res.samples);
}

Test(report, text_sets_each_serve_path_beside_the_daemon_path_it_fronts)
{
	struct fixture f;
	make(&f, 2);
	f.cfg.paths |= BENCH_SERVE_PATHS;
	for (int i = 0; i < 10; i++)
		for (int r = 0; r < CG_RES_COUNT; r++) {
			add(&f.res, SAMPLE_SERVE, (enum cg_resource)r, i, 10000, true);
			add(&f.res, SAMPLE_SERVE_API, (enum cg_resource)r, i, 5000, true);
		}
	char *text = render(report_text, &f);
	/* docker daemon_to_write p50 5.5 ms; serve's 55 us: 0.01x */
	cr_assert(strstr(text,
	                 "serve/docker memory (daemon_to_write p50): 55.0 us / 5.50 ms = 0.01x"),
	          "%s", text);
	/* The path column widens for "serve-api", the rows stay aligned. */
	cr_assert(strstr(text, "\ndocker    memory  daemon_to_write "), "%s", text);
	cr_assert(
	        strstr(text, "serve-api/api cpu (daemon_to_write p50): 27.5 us / 2.75 ms = 0.01x"),
	        "%s", text);
	cr_assert(strstr(text, "serve/docker cpu (round_trip p50)"), "%s", text);
	cr_assert(strstr(text, "\nserve-api cpu     daemon_to_write "), "%s", text);
	free(text);
	free(f.res.samples);
}

Test(report, runtime_path_rows_and_its_line_beside_dockerd)
{
	struct fixture f;
	make(&f, 1);
	f.cfg.paths |= 1u << PATH_RUNTIME;
	snprintf(f.res.runtime.name, sizeof(f.res.runtime.name), "runc");
	snprintf(f.res.runtime.bin, sizeof(f.res.runtime.bin), "/usr/sbin/runc");
	snprintf(f.res.runtime.root, sizeof(f.res.runtime.root), "/run/docker/runtime-runc/moby");
	for (int i = 0; i < 10; i++)
		for (int r = 0; r < CG_RES_COUNT; r++)
			add(&f.res, SAMPLE_RUNTIME, (enum cg_resource)r, i, 600000, true);
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(&f.cfg, &f.res, rows);
	size_t runtime_rows = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i].path == SAMPLE_RUNTIME) {
			runtime_rows++;
			cr_assert_neq(rows[i].metric, METRIC_DAEMON_TO_WRITE, "no daemon on it");
			cr_assert_eq(rows[i].stats.n, 10);
		}
	cr_assert_eq(runtime_rows, 4, "request_to_write and round_trip, per resource");

	char *text = render(report_text, &f);
	/* runtime round_trip: 2 x 0.6..6 ms, p50 6.6 ms; docker daemon_to_write p50 5.5 ms */
	cr_assert(strstr(text, "runtime round_trip / docker daemon_to_write memory (p50): 6.60 ms "
	                       "/ 5.50 ms = 1.2x\n"),
	          "%s", text);
	cr_assert(strstr(text, "runtime round_trip / docker daemon_to_write cpu (p50)"), "%s",
	          text);
	cr_assert(strstr(text, "runtime:   /usr/sbin/runc --root /run/docker/runtime-runc/moby "
	                       "update (Docker's runtime runc; dockerd bypassed)\n\nPATH"),
	          "%s", text);
	cr_assert(strstr(text, "\nruntime memory  request_to_write "), "%s", text);
	free(text);

	char *json = render(report_json, &f);
	json_t *root = json_loads(json, 0, NULL);
	cr_assert_not_null(root, "%s", json);
	cr_assert_str_eq(
	        json_string_value(json_object_get(json_object_get(root, "runtime"), "root")),
	        "/run/docker/runtime-runc/moby");
	json_t *paths = json_object_get(json_object_get(root, "config"), "paths");
	cr_assert_str_eq(json_string_value(json_array_get(paths, json_array_size(paths) - 1)),
	                 "runtime");
	size_t i;
	json_t *row;
	size_t seen = 0;
	json_array_foreach(json_object_get(root, "results"), i, row)
	{
		if (strcmp(json_string_value(json_object_get(row, "path")), "runtime") != 0)
			continue;
		seen++;
		cr_assert_eq(json_integer_value(json_object_get(row, "n")), 10);
		cr_assert_eq(json_integer_value(json_object_get(row, "invalid")), 0);
	}
	cr_assert_eq(seen, 4);
	json_decref(root);
	free(json);

	char *csv = render_csv(&f);
	cr_assert(strstr(csv, "\n0,runtime,memory,"), "%s", csv);
	free(csv);
	free(f.res.samples);
}

Test(report, original_summary_is_means_in_ms)
{
	struct fixture f;
	make(&f, 2);
	struct report_row rows[REPORT_MAX_ROWS];
	size_t n = report_rows(&f.cfg, &f.res, rows);
	struct report_original o;
	report_original(rows, n, &o);
	cr_assert_float_eq(o.memory_ms, 5.5, 1e-9);
	cr_assert_float_eq(o.cpu_ms, 5.5, 1e-9);
	cr_assert_float_eq(o.raw_memory_ms, 0.0055, 1e-12);
	free(f.res.samples);
}

Test(report, text_v2_names_memory_max_like_the_original)
{
	struct fixture f;
	make(&f, 2);
	char *text = render(report_text, &f);
	cr_assert(strstr(text, "Avg memory.max latency (dockerd recv → cgroup write): 5.500 ms\n"),
	          "%s", text);
	cr_assert(strstr(text, "Avg cpu.max latency (dockerd recv → cgroup write):    5.500 ms\n"));
	cr_assert(strstr(text, "Avg raw memory.max write latency: 0.005 ms\n"));
	cr_assert(strstr(text, "headline: docker daemon_to_write p50 5.50 ms / direct "
	                       "request_to_write p50 5.50 us = 1000x"));
	cr_assert(strstr(text, "cgroup v2"));
	cr_assert(strstr(text, "cleanup: container removed"));
	cr_assert(strstr(text, "invalid samples (2, not in the statistics):"));
	free(text);
	free(f.res.samples);
}

Test(report, text_v1_uses_v1_file_names)
{
	struct fixture f;
	make(&f, 1);
	char *text = render(report_text, &f);
	cr_assert(strstr(text, "Avg memory.limit_in_bytes latency (dockerd recv → cgroup write)"));
	cr_assert(strstr(text, "Avg cpu.cfs_quota_us latency"));
	cr_assert(strstr(text, "cgroup hybrid"));
	cr_assert(strstr(text, "docker  memory  daemon_to_write       10       2    5.50 ms"), "%s",
	          text);
	free(text);
	free(f.res.samples);
}

Test(report, hist_adds_log2_histograms)
{
	struct fixture f;
	make(&f, 1);
	f.cfg.hist = true;
	char *text = render(report_text, &f);
	cr_assert(strstr(text, "docker memory daemon_to_write:\n"));
	cr_assert(strstr(text, "usecs"));
	cr_assert(strstr(text, "distribution"));
	free(text);
	free(f.res.samples);
}

Test(report, json_has_the_documented_schema)
{
	struct fixture f;
	make(&f, 2);
	char *text = render(report_json, &f);
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	cr_assert_not_null(root, "%s", jerr.text);
	cr_assert_str_eq(json_string_value(json_object_get(root, "tool")), "cglat");
	cr_assert_str_eq(json_string_value(json_object_get(root, "version")), CGLAT_VERSION);
	json_t *host = json_object_get(root, "host");
	cr_assert_str_eq(json_string_value(json_object_get(host, "cgroup_mode")), "v2");
	cr_assert_str_eq(json_string_value(json_object_get(host, "probe_strategy")), "tracepoint");
	cr_assert_str_eq(json_string_value(json_object_get(host, "kernel")), "6.1.0-test");
	cr_assert_not_null(json_object_get(host, "docker_version"));
	cr_assert_not_null(json_object_get(host, "runtime"));
	json_t *cfg = json_object_get(root, "config");
	cr_assert_eq(json_integer_value(json_object_get(cfg, "iterations")), 10);
	cr_assert_eq(json_array_size(json_object_get(cfg, "paths")), 3);
	cr_assert_eq(json_array_size(json_object_get(cfg, "resources")), 2);
	json_t *results = json_object_get(root, "results");
	cr_assert_eq(json_array_size(results), 18);
	json_t *first = json_array_get(results, 0);
	cr_assert_str_eq(json_string_value(json_object_get(first, "path")), "docker");
	cr_assert_str_eq(json_string_value(json_object_get(first, "resource")), "memory");
	cr_assert_str_eq(json_string_value(json_object_get(first, "metric")), "daemon_to_write");
	cr_assert_eq(json_integer_value(json_object_get(first, "n")), 10);
	cr_assert_eq(json_integer_value(json_object_get(first, "invalid")), 2);
	cr_assert_float_eq(json_number_value(json_object_get(first, "p50_ns")), 5.5e6, 1);
	const char *keys[] = {"mean_ns", "stddev_ns", "min_ns", "p90_ns", "p99_ns", "max_ns"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_assert_not_null(json_object_get(first, keys[i]), "no %s", keys[i]);
	json_t *hl = json_object_get(root, "headline");
	cr_assert_float_eq(json_number_value(json_object_get(hl, "ratio")), 1000.0, 1e-6);
	cr_assert_float_eq(json_number_value(json_object_get(hl, "docker_daemon_to_write_p50_ns")),
	                   5.5e6, 1);
	cr_assert_float_eq(json_number_value(json_object_get(hl, "direct_request_to_write_p50_ns")),
	                   5.5e3, 1);
	json_t *orig = json_object_get(root, "original_summary");
	cr_assert_float_eq(json_number_value(json_object_get(orig, "memory_ms")), 5.5, 1e-9);
	cr_assert_not_null(json_object_get(orig, "cpu_ms"));
	cr_assert_not_null(json_object_get(orig, "raw_memory_ms"));
	json_t *cleanup = json_object_get(root, "cleanup");
	cr_assert_eq(json_integer_value(json_object_get(cleanup, "containers_removed")), 1);
	cr_assert(json_is_boolean(json_object_get(cleanup, "limits_restored")));
	json_decref(root);
	free(text);
	free(f.res.samples);
}

Test(report, csv_has_one_row_per_sample_with_every_timestamp)
{
	struct fixture f;
	make(&f, 1);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(report_csv(out, &f.res), 0);
	fclose(out);
	size_t lines = 0;
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 1 + f.res.count);
	cr_assert(strncmp(text,
	                  "iteration,path,resource,value,expected,seen,valid,invalid_reason,"
	                  "t0_ns,recv_ns,write_enter_ns,write_exit_ns,t_return_ns",
	                  80) == 0);
	/* The first docker memory sample: daemon_to_write 1 ms, request_to_write 1.1 ms. */
	cr_assert(strstr(text, "\n0,docker,memory,1000,\"1000\",\"1000\",1,\"\",1000000,1100000,"),
	          "%s", text);
	cr_assert(strstr(text, ",1000000,1100000,1200000\n"));
	/* Quotes inside a reason cannot break the field. */
	cr_assert(strstr(text, "\"the kernel was handed '999', not '1010'\""), "%s", text);
	free(text);
	free(f.res.samples);
}

/* ---- -o FILE ------------------------------------------------------------------------- */

Test(report_output, a_kernel_file_is_refused_before_the_run)
{
	struct report_output o;
	struct cg_err err = {{0}};
	/* A file of procfs this process may write: it would take the bytes or fail late. */
	cr_assert_eq(report_output_open("/proc/self/comm", &o, &err), -1);
	cr_assert(strstr(err.msg, "-o /proc/self/comm is a kernel file (on procfs)"), "%s",
	          err.msg);
}

Test(report_output, a_file_it_made_and_wrote_nothing_into_is_removed)
{
	char dir[] = "/tmp/cglat-report-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/r.txt", dir);
	struct report_output o;
	struct cg_err err = {{0}};
	cr_assert_eq(report_output_open(path, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(access(path, F_OK), 0, "not opened before the run");
	report_output_close(&o, false);
	cr_assert_neq(access(path, F_OK), 0, "the empty report file was left");
	rmdir(dir);
}

Test(report_output, an_existing_file_is_kept_until_the_report_replaces_it)
{
	char path[] = "/tmp/cglat-report-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "old report, longer than the new one\n", 36), 36);
	close(fd);
	struct report_output o;
	struct cg_err err = {{0}};
	cr_assert_eq(report_output_open(path, &o, &err), 0, "%s", err.msg);
	report_output_close(&o, false); /* a failed run: the old report stays */
	char buf[64] = "";
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	cr_assert_str_eq(buf, "old report, longer than the new one\n");
	unlink(path);
}

Test(report_output, a_directory_that_is_not_there_is_named)
{
	struct report_output o;
	struct cg_err err = {{0}};
	cr_assert_eq(report_output_open("/nonexistent-cglat/r.txt", &o, &err), -1);
	cr_assert(strstr(err.msg, "cannot write in /nonexistent-cglat"), "%s", err.msg);
}
