/* cglat monitor against the real kernel: a workload that touches fresh memory shows
 * page faults and growing memory; lowering its limit mid-run shows up as a marked
 * change and as reclaim (LRU isolations); the plot is written; nothing is left. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "helpers.h"

#ifndef CGLAT_WORKLOAD_BIN
#error "CGLAT_WORKLOAD_BIN must name the test workload"
#endif

/* Does cglat/NAME exist in any cgroup hierarchy? */
static bool cgroup_left(const char *name)
{
	struct cg_mounts mounts;
	if (cgroup_load_mounts(NULL, &mounts, NULL) < 0)
		return false;
	for (size_t i = 0; i < mounts.count; i++) {
		char path[PATH_MAX + 300];
		struct stat st;
		snprintf(path, sizeof(path), "%s/cglat/%s", mounts.mount[i].mountpoint, name);
		if (stat(path, &st) == 0)
			return true;
	}
	return false;
}

struct csv {
	char *text;
	char *rows[512];
	size_t nrows;
};

/* Column index by name in the header. */
static int column(char *header, const char *name)
{
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", header);
	char *fields[32];
	size_t n = it_csv_split(copy, fields, 32);
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i], name) == 0)
			return (int)i;
	cr_assert_fail("no column %s in %s", name, header);
	return -1;
}

static double field(const char *row, int col)
{
	char copy[1024];
	snprintf(copy, sizeof(copy), "%s", row);
	char *fields[32];
	size_t n = it_csv_split(copy, fields, 32);
	cr_assert_lt((size_t)col, n);
	return fields[col][0] ? atof(fields[col]) : -1;
}

Test(monitor, workload_under_a_lowered_limit, .timeout = 120)
{
	char name[64], csv[128], png[128];
	snprintf(name, sizeof(name), "it-monitor-%d", (int)getpid());
	snprintf(csv, sizeof(csv), "/tmp/cglat-it-monitor-%d.csv", (int)getpid());
	snprintf(png, sizeof(png), "/tmp/cglat-it-monitor-%d.png", (int)getpid());
	/* 8 s of growth, 16 intervals, with the limit lowered 3 s in; a slow VM gets
	 * it_time_scale() times as long for each, so that it shows as many intervals. */
	char seconds[16];
	snprintf(seconds, sizeof(seconds), "%g", 8 * it_time_scale());
	const char *argv[] = {
	        CGLAT_BIN, "monitor", "--name", name,     "--memory", "200m", "-i",
	        "0.5",     "--csv",   csv,      "--plot", png,        "--",   CGLAT_WORKLOAD_BIN,
	        "grow",    "60",      "100",    seconds,  NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	/* The cgroup exists once the probes are loaded, which takes longer under sanitizers
	 * or load: wait for it, then let the workload grow a while. */
	for (int i = 0; i < 600 * it_time_scale() && !cgroup_left(name); i++)
		usleep(100 * 1000);
	usleep((useconds_t)(3e6 * it_time_scale()));
	char *cg = it_strf("cglat/%s", name);
	const char *set[] = {"set", "--cgroup", cg, "--memory", "70m", "--force", NULL};
	char *err = NULL;
	int status;
	cr_assert_eq(it_cglat(set, NULL, &err, &status, NULL), 0);
	it_drain(&p);
	cr_assert_eq(it_exit_code(status), 0, "cglat set: %s\ncglat monitor said: %s", err,
	             p.buf[1] ? p.buf[1] : "");
	free(err);
	char *out = NULL;
	err = NULL;
	cr_assert_eq(it_wait(&p, 60, &out, &err, &status), 0);
	cr_assert_eq(it_exit_code(status), 0, "%s", err);
	cr_assert(strstr(err, "exited with status 0") || strstr(err, "OOM-killed"), "%s", err);
	cr_assert(strstr(err, "plot written to"), "%s", err);

	char *text = NULL;
	FILE *f = fopen(csv, "r");
	cr_assert_not_null(f);
	char line[1024], header[1024];
	cr_assert_not_null(fgets(header, sizeof(header), f));
	int c_mem = column(header, "mem_mib"), c_faults = column(header, "faults_s"),
	    c_lru = column(header, "lru_isolated_s"), c_changes = column(header, "changes"),
	    c_change = column(header, "change"), c_t = column(header, "t_s");
	double max_faults = 0, first_mem = -1, max_mem = 0, lru_after = 0, change_t = -1;
	size_t rows = 0;
	while (fgets(line, sizeof(line), f)) {
		rows++;
		double t = field(line, c_t), mem = field(line, c_mem);
		if (first_mem < 0)
			first_mem = mem;
		if (mem > max_mem)
			max_mem = mem;
		if (field(line, c_faults) > max_faults)
			max_faults = field(line, c_faults);
		char copy[1024], *fields[32];
		snprintf(copy, sizeof(copy), "%s", line);
		it_csv_split(copy, fields, 32);
		if (field(line, c_changes) > 0 && strstr(fields[c_change], "=73400320"))
			change_t = t;
		if (change_t >= 0 && field(line, c_lru) > lru_after)
			lru_after = field(line, c_lru);
	}
	fclose(f);
	cr_assert_geq(rows, 12, "only %zu intervals", rows);
	cr_assert_gt(max_faults, 100, "page faults: %f", max_faults);
	cr_assert_gt(max_mem, first_mem + 10, "memory did not grow: %f -> %f", first_mem, max_mem);
	/* When it shows depends on how long the probes took to compile (load, sanitizers). */
	cr_assert_gt(change_t, 0, "the limit change is not marked");
	cr_assert_gt(lru_after, 0, "no LRU isolations after the limit was lowered");

	struct stat st;
	cr_assert_eq(stat(png, &st), 0);
	cr_assert_gt(st.st_size, 10000);
	cr_assert_not(cgroup_left(name), "cglat/%s is still there", name);
	unlink(csv);
	unlink(png);
	free(cg);
	free(text);
	free(out);
	free(err);
}

Test(monitor, container_target_for_a_while, .timeout = 60)
{
	it_ensure_image();
	char name[64];
	snprintf(name, sizeof(name), "cglat-it-monitor-%d", (int)getpid());
	cr_assert_eq(it_docker(NULL, NULL, "run", "-d", "--network", "none", "--name", name,
	                       "--memory", "64m", IT_IMAGE, NULL),
	             0);
	const char *args[] = {"monitor", name, "-i", "0.5", "-d", "2", NULL};
	char *out = NULL, *err = NULL;
	int status;
	cr_assert_eq(it_cglat(args, &out, &err, &status, NULL), 0);
	it_docker(NULL, NULL, "rm", "-f", name, NULL);
	cr_assert_eq(it_exit_code(status), 0, "%s", err);
	cr_assert(strstr(out, "TIME(s)"), "%s", out);
	cr_assert_geq(it_count_lines(out), 4, "%s", out);
	/* the container's limit, 64 MiB */
	cr_assert(strstr(out, "     64.0 "), "%s", out);
	free(out);
	free(err);
}

Test(monitor, bad_usage_exits_2_and_makes_nothing)
{
	const char *cases[][8] = {
	        {"monitor", NULL},
	        {"monitor", "--plot", "x.jpg", "--pid", "1", NULL},
	        {"monitor", "web", "--", "true", NULL},
	        {"monitor", "--memory", "64m", "web", NULL},
	        {"monitor", "-i", "0", "web", NULL},
	        {"monitor", "--memory", "12XB", "--", "true", NULL},
	        {"monitor", "--", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		int status;
		cr_assert_eq(it_cglat(cases[i], NULL, &err, &status, NULL), 0);
		cr_assert_eq(it_exit_code(status), 2, "case %zu: %s", i, err);
		cr_assert(strncmp(err, "cglat monitor: ", 15) == 0, "case %zu: %s", i, err);
		free(err);
	}
}
