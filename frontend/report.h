/* The numbers of a run and how they are shown: text tables, JSON, CSV. */
#ifndef CGLAT_REPORT_H
#define CGLAT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "bench.h"
#include "bench_cli.h"
#include "stats.h"

/* One line of the results: a path x resource x metric and its statistics. */
struct report_row {
	enum sample_path path;
	enum cg_resource resource;
	enum metric metric;
	size_t invalid; /* samples of this path x resource that did not count */
	struct stats stats;
};

#define REPORT_MAX_ROWS (SAMPLE_PATH_COUNT * CG_RES_COUNT * METRIC_COUNT)

/* Rows for every path x resource x metric that applies and was run, in a fixed
 * order. Invalid samples are counted, never included. Returns the row count. */
size_t report_rows(const struct bench_config *cfg, const struct bench_result *res,
                   struct report_row *rows);

struct report_headline {
	double docker_p50_ns; /* docker (or api when docker did not run) daemon_to_write p50 */
	double direct_p50_ns; /* direct request_to_write p50 */
	double ratio;         /* 0 when either is missing */
	const char *daemon_path;
};
void report_headline(const struct report_row *rows, size_t n, struct report_headline *h);

/* The original tool's three numbers: means in ms, over valid samples. */
struct report_original {
	double memory_ms, cpu_ms, raw_memory_ms; /* < 0 when not measured */
};
void report_original(const struct report_row *rows, size_t n, struct report_original *o);

/* --original-method: the original tool's figures computed its way (bench_original.h),
 * means over every sample that got both of its marks (it judged none), beside cglat's
 * exact ones (means over valid samples). memory and cpu are the docker path's (the api
 * path's when docker did not run), raw_memory and raw_cpu the direct path's. */
struct report_orig_line {
	double ms;       /* < 0: no figure */
	size_t n, of;    /* samples that got both marks, of the samples of the line */
	double exact_ms; /* docker/api daemon_to_write, direct request_to_write; < 0: none */
	const char *why; /* no figure, and not for the marks: the path or resource did not run */
};
struct report_orig_method {
	struct report_orig_line memory, cpu, raw_memory, raw_cpu;
	const char *daemon_path; /* "docker" or "api" */
	bool measured;           /* some line has a figure */
	/* "" when every line that ran has a figure; else why the marks never occurred */
	char reason[1024];
};
void report_orig_method(const struct bench_config *cfg, const struct bench_result *res,
                        const struct report_row *rows, size_t n, struct report_orig_method *m);

int report_text(FILE *out, const struct bench_config *cfg, const struct bench_result *res);
int report_json(FILE *out, const struct bench_config *cfg, const struct bench_result *res);
int report_csv(FILE *out, const struct bench_result *res);

/* Where the report goes: stdout, or -o FILE opened before the run. */
struct report_output {
	FILE *file;
	const char *path; /* NULL: stdout */
	bool created;     /* the file did not exist: removed again if no report is written */
};

/* Opens path (NULL: stdout) for the report without truncating it yet. A directory, a
 * file that cannot be opened for writing, or a kernel file (proc, sysfs, cgroupfs,
 * tracefs, ...) that would refuse the report is an error naming the fix. */
int report_output_open(const char *path, struct report_output *o, struct cg_err *err);
/* Writes the report in cfg->format, replacing what the file held. */
int report_write(struct report_output *o, const struct bench_config *cfg,
                 const struct bench_result *res, struct cg_err *err);
/* Closes the file; one cglat created and wrote nothing into is removed. */
void report_output_close(struct report_output *o, bool written);

#endif
