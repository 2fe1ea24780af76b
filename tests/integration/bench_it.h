/* Helpers of the tests of `cglat bench` on a container of their own (test_bench.c,
 * test_bench_cpus.c, test_bench_runtime.c): the container started, cglat run to a JSON
 * report, and a row of that report looked up. */
#ifndef CGLAT_BENCH_IT_H
#define CGLAT_BENCH_IT_H

#include <jansson.h>
#include <sys/types.h>

#include "helpers.h"

/* `docker run -d --network none --cgroupns host --name NAME --label cglat.it=1 EXTRA...`
 * of the test image (imported first when missing); fails the test when docker run does. */
void bit_start_container(const char *name, const char *const extra[]);
/* Runs cglat with args; fails the test unless it finishes in time, exits 0 and prints
 * JSON. The parsed report; *err_out (malloc'd) takes its stderr, *pid (may be NULL) its
 * pid. */
json_t *bit_run_json(const char *const args[], char **err_out, pid_t *pid);
/* The results row of path x resource x metric, or NULL. */
json_t *bit_row_of(json_t *root, const char *path, const char *resource, const char *metric);

#endif
