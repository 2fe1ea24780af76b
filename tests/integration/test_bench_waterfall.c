/* `cglat bench --waterfall` end to end (root, live dockerd, containerd, runc, BPF): every
 * docker and api sample split into its stages, every stage seen, and each sample's
 * stages adding up to its round trip, the daemon's part to its daemon_to_write, in JSON,
 * CSV, text and the gnuplot plot. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(bench_waterfall, .timeout = 180);

static void run_ok(const char *const args[], char **out, char **err)
{
	int status = 0;
	int rc = it_cglat(args, out, err, &status, NULL);
	cr_assert_eq(rc, 0, "cglat did not finish in time; stderr:\n%s", *err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "cglat exited with status 0x%x; stderr:\n%s", status, *err);
}

/* The stages of a path, in order (the report's and the CSV's). */
static const char *const docker_stages[] = {"spawn",         "client start-up", "request",
                                            "dockerd",       "containerd",      "shim",
                                            "runtime start", "runtime",         "kernel write",
                                            "runtime exit",  "reply",           "client return"};
static const char *const serve_stages[] = {
        "spawn", "client start-up", "request", "serve", "kernel write", "record", "client return"};

static const char *const *stages_of(const char *path, int *n)
{
	bool serve = strncmp(path, "serve", 5) == 0,
	     cli = !strcmp(path, "docker") || !strcmp(path, "serve");
	*n = serve ? 7 : 12;
	const char *const *seq = serve ? serve_stages : docker_stages;
	if (!cli) {
		seq += 2;
		*n -= 2;
	}
	return seq;
}

#define STAGES 12

Test(bench_waterfall, json_has_every_stage_of_every_sample_seen)
{
	const char *args[] = {"-n",          "3",        "--paths", "docker,api",
	                      "--waterfall", "--format", "json",    NULL};
	char *out = NULL, *err = NULL;
	run_ok(args, &out, &err);
	json_error_t jerr;
	json_t *root = json_loads(out, 0, &jerr);
	cr_assert_not_null(root, "not JSON (%s): %s", jerr.text, out);
	cr_expect_eq(json_integer_value(json_object_get(root, "invalid_samples")), 0, "%s", out);
	json_t *rows = json_object_get(root, "waterfall");
	cr_assert(json_is_array(rows), "no waterfall array: %s", out);
	cr_expect_eq(json_array_size(rows), 4, "docker and api x memory and cpu: %s", out);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *path = json_string_value(json_object_get(row, "path"));
		bool docker = strcmp(path, "docker") == 0;
		cr_expect_eq(json_integer_value(json_object_get(row, "samples")), 3, "%s", out);
		cr_expect_eq(json_integer_value(json_object_get(row, "complete")), 3,
		             "every stage of every %s sample seen: %s", path, out);
		json_t *stages = json_object_get(row, "stages");
		cr_assert_eq(json_array_size(stages), docker ? STAGES : STAGES - 2,
		             "%s: the api path has no CLI stages: %s", path, out);
		double share = 0;
		size_t k;
		json_t *st;
		json_array_foreach(stages, k, st)
		{
			const char *name = json_string_value(json_object_get(st, "stage"));
			cr_expect_str_eq(name, docker_stages[k + (docker ? 0 : 2)], "%s", out);
			cr_expect_eq(json_integer_value(json_object_get(st, "n")), 3, "%s %s: %s",
			             path, name, out);
			cr_expect_gt(json_real_value(json_object_get(st, "p50_ns")), 0, "%s %s",
			             path, name);
			share += json_real_value(json_object_get(st, "share"));
		}
		cr_expect(fabs(share - 1) < 1e-6, "%s: shares sum to %f", path, share);
	}
	json_decref(root);
	free(out);
	free(err);
}

/* The CSV field at index `col` of a line, quotes removed, into buf. */
static void csv_field(const char *line, int col, char *buf, size_t len)
{
	int c = 0;
	bool quoted = false;
	size_t k = 0;
	for (const char *p = line; *p && *p != '\n'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted)
			c++;
		else if (c == col && k + 1 < len)
			buf[k++] = *p;
		if (c > col)
			break;
	}
	buf[k] = '\0';
}

/* The index of a header's column. */
static int csv_col(const char *header, const char *name)
{
	char buf[64];
	for (int c = 0; c < 64; c++) {
		csv_field(header, c, buf, sizeof(buf));
		if (strcmp(buf, name) == 0)
			return c;
	}
	cr_assert_fail("no column %s in %s", name, header);
	return -1;
}

Test(bench_waterfall, csv_stages_of_each_sample_add_up_to_its_round_trip)
{
	const char *args[] = {"-n",          "2",        "--paths", "docker,api,serve-api,direct",
	                      "--waterfall", "--format", "csv",     NULL};
	char *out = NULL, *err = NULL;
	run_ok(args, &out, &err);
	const char *nl = strchr(out, '\n');
	cr_assert_not_null(nl, "%s", out);
	char *header = strndup(out, (size_t)(nl - out));
	int c_path = csv_col(header, "path"), c_iter = csv_col(header, "iteration"),
	    c_res = csv_col(header, "resource"), c_stage = csv_col(header, "stage"),
	    c_ns = csv_col(header, "stage_ns"), c_cpu = csv_col(header, "stage_cpu_ns"),
	    c_rt = csv_col(header, "round_trip_ns"), c_dw = csv_col(header, "daemon_to_write_ns");
	/* Rows of one sample follow each other in its path's order: sum them as they come. */
	char key[128] = "", path[32];
	long long sum = 0, daemon = 0;
	int stages = 0, samples = 0, direct = 0;
	bool in_daemon = false;
	for (const char *line = nl + 1; *line; line = strchr(line, '\n') + 1) {
		char f[5][64], k[128];
		csv_field(line, c_path, path, sizeof(path));
		csv_field(line, c_iter, f[0], 64);
		csv_field(line, c_res, f[1], 64);
		csv_field(line, c_stage, f[2], 64);
		csv_field(line, c_ns, f[3], 64);
		csv_field(line, c_cpu, f[4], 64);
		snprintf(k, sizeof(k), "%s/%s/%s", path, f[0], f[1]);
		if (strcmp(path, "direct") == 0 || strcmp(path, "floor") == 0) {
			cr_expect_str_eq(f[2], "", "a direct row has no stage: %s", line);
			direct++;
		} else {
			int nseq;
			const char *const *seq = stages_of(path, &nseq);
			if (strcmp(k, key) != 0) {
				cr_expect(stages == 0, "%s: the sample before had %d stage rows", k,
				          stages);
				snprintf(key, sizeof(key), "%s", k);
				sum = daemon = stages = 0;
				in_daemon = false;
				samples++;
			}
			cr_assert_lt(stages, nseq, "%s: more rows than stages: %s", k, line);
			cr_expect_str_eq(f[2], seq[stages], "%s", line);
			long long ns = atoll(f[3]);
			cr_expect_geq(ns, 0, "stage %s of %s not seen: %s", f[2], k, line);
			cr_expect_geq(atoll(f[4]), 0, "%s", line);
			sum += ns;
			/* The daemon's part: from the stage after its receive to the write's
			 * return. */
			if (in_daemon)
				daemon += ns;
			if (strcmp(f[2], "request") == 0)
				in_daemon = true;
			if (strcmp(f[2], "kernel write") == 0)
				in_daemon = false;
			if (++stages == nseq) {
				csv_field(line, c_rt, f[0], 64);
				long long rt = atoll(f[0]);
				csv_field(line, c_dw, f[0], 64);
				long long dw = atoll(f[0]);
				cr_expect_eq(sum, rt, "%s: stages sum to %lld, round trip %lld", k,
				             sum, rt);
				cr_expect_eq(daemon, dw,
				             "%s: from the receive to the write %lld, "
				             "daemon_to_write %lld",
				             k, daemon, dw);
				stages = 0;
			}
		}
		if (!strchr(line, '\n'))
			break;
	}
	cr_expect_eq(samples, 2 * 3 * 2, "2 iterations x docker, api, serve-api x memory, cpu: %d",
	             samples);
	cr_expect_geq(direct, 2 * 2, "%d direct rows", direct);
	free(header);
	free(out);
	free(err);
}

Test(bench_waterfall, text_and_plot_say_where_the_time_goes)
{
	char plot[] = "/tmp/cglat-it-wf-XXXXXX.png";
	int fd = mkstemps(plot, 4);
	cr_assert_geq(fd, 0);
	close(fd);
	unlink(plot);
	const char *args[] = {"-n",
	                      "2",
	                      "--paths",
	                      "docker",
	                      "--resources",
	                      "memory",
	                      "--waterfall-plot",
	                      plot,
	                      "--original-method",
	                      NULL};
	char *out = NULL, *err = NULL;
	run_ok(args, &out, &err);
	cr_expect(strstr(out, "waterfall: docker memory, 2 samples, every stage seen in 2"), "%s",
	          out);
	for (int k = 0; k < STAGES; k++)
		cr_expect(strstr(out, docker_stages[k]), "no stage %s in:\n%s", docker_stages[k],
		          out);
	cr_expect(strstr(out, "docker memory: most time in \""), "%s", out);
	cr_expect_not(strstr(out, "unknown"), "%s", out);
	/* --original-method compiles into the same probes. */
	cr_expect(strstr(out, "the original tool's method (--original-method)"), "%s", out);
	FILE *f = fopen(plot, "rb");
	cr_assert_not_null(f, "no plot %s; stderr: %s", plot, err);
	unsigned char magic[8] = {0};
	cr_expect_eq(fread(magic, 1, 8, f), 8);
	fclose(f);
	cr_expect(memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", plot);
	unlink(plot);
	free(out);
	free(err);
}
