#include "report_waterfall.h"

#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "units.h"

/* The stage's values over the path x resource's valid samples that saw it. */
static int stage_stats(const struct bench_result *res, enum sample_path p, enum cg_resource r,
                       int stage, bool cpu, int64_t *buf, struct stats *out)
{
	size_t n = 0;
	for (size_t i = 0; i < res->count; i++) {
		const struct sample *s = &res->samples[i];
		if (s->valid && s->path == p && s->resource == r && s->wf.computed &&
		    s->wf.ns[stage] >= 0)
			buf[n++] = cpu ? s->wf.cpu_ns[stage] : s->wf.ns[stage];
	}
	return stats_compute(buf, n, out);
}

static void fill_row(const struct bench_result *res, int64_t *buf, struct wf_row *row)
{
	double stage_sum[WF_STAGE_COUNT] = {0}, total = 0;
	size_t ntotal = 0;
	for (size_t i = 0; i < res->count; i++) {
		const struct sample *s = &res->samples[i];
		if (!s->valid || s->path != row->path || s->resource != row->resource ||
		    !s->wf.computed)
			continue;
		row->samples++;
		bool complete;
		int64_t sum = wf_sum(&s->wf, &complete);
		if (!complete)
			continue;
		row->complete++;
		total += (double)sum;
		buf[ntotal++] = sum;
		for (int k = 0; k < WF_STAGE_COUNT; k++)
			if (s->wf.ns[k] >= 0)
				stage_sum[k] += (double)s->wf.ns[k];
	}
	struct stats st;
	stats_compute(buf, ntotal, &st);
	row->round_trip_p50_ns = st.p50;
	const enum wf_stage *seq;
	size_t nseq = sample_path_stages(row->path, &seq);
	for (size_t i = 0; i < nseq; i++) {
		int k = seq[i];
		struct wf_stage_row *sr = &row->stage[k];
		sr->applies = true;
		stage_stats(res, row->path, row->resource, k, false, buf, &st);
		sr->n = st.n;
		sr->p50_ns = st.p50;
		sr->p90_ns = st.p90;
		stage_stats(res, row->path, row->resource, k, true, buf, &st);
		sr->cpu_p50_ns = st.p50;
		sr->share = total > 0 ? stage_sum[k] / total : 0;
	}
}

size_t report_wf_rows(const struct bench_result *res, struct wf_row *rows)
{
	if (!res->waterfall || !res->count)
		return 0;
	int64_t *buf = malloc(res->count * sizeof(*buf));
	if (!buf)
		return 0;
	static const enum sample_path paths[] = {SAMPLE_DOCKER, SAMPLE_API, SAMPLE_SERVE,
	                                         SAMPLE_SERVE_API};
	size_t n = 0;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		for (int r = 0; r < CG_RES_COUNT; r++) {
			struct wf_row row = {.path = paths[p], .resource = (enum cg_resource)r};
			fill_row(res, buf, &row);
			if (row.samples)
				rows[n++] = row;
		}
	free(buf);
	return n;
}

/* ------------------------------------------------------------------- text */

#define BAR_WIDTH 40

/* The stage's bar starts where the stages before it ended, in shares of the total. */
static void text_bar(FILE *out, double start, double share)
{
	int from = (int)(start * BAR_WIDTH + 0.5), len = (int)(share * BAR_WIDTH + 0.5);
	if (len == 0 && share > 0)
		len = 1; /* a stage that was seen shows */
	if (from + len > BAR_WIDTH)
		from = BAR_WIDTH - len;
	fprintf(out, " |%*s", from, "");
	for (int i = 0; i < len; i++)
		fputc('#', out);
	fprintf(out, "%*s|", BAR_WIDTH - from - len, "");
}

static void text_dur(double ns, bool known, char *buf, size_t len)
{
	if (known)
		units_format_duration(ns, buf, len);
	else
		snprintf(buf, len, "unknown");
}

static void text_row(FILE *out, const struct wf_row *row)
{
	char total[32];
	units_format_duration(row->round_trip_p50_ns, total, sizeof(total));
	fprintf(out,
	        "\nwaterfall: %s %s, %zu samples, every stage seen in %zu; round trip p50 %s\n",
	        bench_sample_path_name(row->path), cgroup_resource_name(row->resource),
	        row->samples, row->complete, row->complete ? total : "-");
	fprintf(out, "  %-16s %10s %10s %6s %10s  %-*s\n", "STAGE", "P50", "P90", "SHARE",
	        "ON-CPU P50", BAR_WIDTH + 2, "FROM T0 TO RETURN");
	double start = 0;
	const enum wf_stage *seq;
	size_t nseq = sample_path_stages(row->path, &seq);
	for (size_t i = 0; i < nseq; i++) {
		int k = seq[i];
		const struct wf_stage_row *s = &row->stage[k];
		char p50[32], p90[32], cpu[32];
		text_dur(s->p50_ns, s->n > 0, p50, sizeof(p50));
		text_dur(s->p90_ns, s->n > 0, p90, sizeof(p90));
		text_dur(s->cpu_p50_ns, s->n > 0, cpu, sizeof(cpu));
		fprintf(out, "  %-16s %10s %10s %5.1f%% %10s ", wf_stage_name((enum wf_stage)k),
		        p50, p90, s->share * 100, cpu);
		text_bar(out, start, s->share);
		fputc('\n', out);
		start += s->share;
	}
}

/* Which stage holds the most time, for each row with every stage seen. */
static void text_verdict(FILE *out, const struct wf_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct wf_row *row = &rows[i];
		if (!row->complete)
			continue;
		int top = -1;
		for (int k = 0; k < WF_STAGE_COUNT; k++)
			if (row->stage[k].applies &&
			    (top < 0 || row->stage[k].share > row->stage[top].share))
				top = k;
		char p50[32], cpu[32];
		units_format_duration(row->stage[top].p50_ns, p50, sizeof(p50));
		units_format_duration(row->stage[top].cpu_p50_ns, cpu, sizeof(cpu));
		fprintf(out, "  %s %s: most time in \"%s\" (%.0f%%, p50 %s, on a CPU %s of it)\n",
		        bench_sample_path_name(row->path), cgroup_resource_name(row->resource),
		        wf_stage_name((enum wf_stage)top), row->stage[top].share * 100, p50, cpu);
	}
}

void report_wf_text(FILE *out, const struct bench_result *res)
{
	struct wf_row rows[WF_MAX_ROWS];
	size_t n = report_wf_rows(res, rows);
	if (!n)
		return;
	bool shown[WF_STAGE_COUNT] = {false};
	for (size_t i = 0; i < n; i++) {
		text_row(out, &rows[i]);
		for (int k = 0; k < WF_STAGE_COUNT; k++)
			shown[k] |= rows[i].stage[k].applies;
	}
	fprintf(out, "\nstages end at:");
	const char *sep = "";
	for (int k = 0; k < WF_STAGE_COUNT; k++)
		if (shown[k]) {
			fprintf(out, "%s %s: %s", sep, wf_stage_name((enum wf_stage)k),
			        wf_stage_end((enum wf_stage)k));
			sep = ";";
		}
	fprintf(out, ".\nshares are of the round trip, over the samples with every stage seen; "
	             "on-CPU is the time the chain's processes (bench, the CLI, dockerd, "
	             "containerd, the shim, the runtime, cglat serve) ran in the stage, summed "
	             "over CPUs.\n");
	text_verdict(out, rows, n);
	if (res->wf_dropped || res->wf_lost)
		fprintf(out,
		        "warning: %llu chain events were lost (perf buffer full) and %llu dropped "
		        "(memory): a bound whose event was lost is the next event of its kind, so "
		        "stages may be misplaced\n",
		        (unsigned long long)res->wf_lost, (unsigned long long)res->wf_dropped);
}

/* ------------------------------------------------------------------- JSON */

json_t *report_wf_json(const struct bench_result *res)
{
	if (!res->waterfall)
		return json_null();
	struct wf_row rows[WF_MAX_ROWS];
	size_t n = report_wf_rows(res, rows);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct wf_row *row = &rows[i];
		json_t *stages = json_array();
		const enum wf_stage *seq;
		size_t nseq = sample_path_stages(row->path, &seq);
		for (size_t j = 0; j < nseq; j++) {
			int k = seq[j];
			const struct wf_stage_row *s = &row->stage[k];
			/* A stage never seen has no figure: null, as the text's "unknown". */
			json_array_append_new(
			        stages,
			        json_pack("{s:s, s:s, s:I, s:o, s:o, s:o, s:f}", "stage",
			                  wf_stage_name((enum wf_stage)k), "ends_at",
			                  wf_stage_end((enum wf_stage)k), "n", (json_int_t)s->n,
			                  "p50_ns", s->n ? json_real(s->p50_ns) : json_null(),
			                  "p90_ns", s->n ? json_real(s->p90_ns) : json_null(),
			                  "cpu_p50_ns",
			                  s->n ? json_real(s->cpu_p50_ns) : json_null(), "share",
			                  s->share));
		}
		json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I, s:f, s:o}", "path",
		                                   bench_sample_path_name(row->path), "resource",
		                                   cgroup_resource_name(row->resource), "samples",
		                                   (json_int_t)row->samples, "complete",
		                                   (json_int_t)row->complete, "round_trip_p50_ns",
		                                   row->round_trip_p50_ns, "stages", stages));
	}
	return a;
}
