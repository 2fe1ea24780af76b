/* --waterfall's part of the report: per path x resource, each stage's p50, p90, share of
 * the total and the chain's time on a CPU; text with a bar per stage, JSON, CSV. */
#ifndef CGLAT_REPORT_WATERFALL_H
#define CGLAT_REPORT_WATERFALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "bench.h"

struct wf_stage_row {
	bool applies; /* part of the path (the api path has no CLI stages) */
	size_t n;     /* samples in which it was seen */
	double p50_ns, p90_ns;
	double cpu_p50_ns; /* the chain's time on a CPU in it */
	double share;      /* of the round trip, over the samples with every stage seen */
};

struct wf_row {
	enum sample_path path;
	enum cg_resource resource;
	size_t samples;           /* valid samples */
	size_t complete;          /* of them, with every stage seen */
	double round_trip_p50_ns; /* over the complete ones */
	struct wf_stage_row stage[WF_STAGE_COUNT];
};

#define WF_MAX_ROWS (4 * CG_RES_COUNT)

/* The docker, api, serve and serve-api paths' rows, for each resource with valid samples. */
size_t report_wf_rows(const struct bench_result *res, struct wf_row *rows);

void report_wf_text(FILE *out, const struct bench_result *res);
json_t *report_wf_json(const struct bench_result *res); /* an array of rows */

/* CSV: the stage columns' header; a sample's row per stage of its path gives the stage's
 * ns and on-CPU ns (-1: unknown). */
#define REPORT_WF_CSV_HEADER ",stage,stage_ns,stage_cpu_ns"

#endif
