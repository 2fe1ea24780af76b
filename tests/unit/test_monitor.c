/* cglat monitor: rates from raw readings, CSV rows, and the gnuplot script. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "monitor.h"

static struct monitor_raw raw_at(double t)
{
	struct monitor_raw r;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.cpu_ns = r.nr_throttled = r.throttled_ns = r.swapin = -1;
	r.mem_bytes = r.mem_limit = r.cpu_quota = r.cpu_period = -1;
	return r;
}

Test(monitor, rates_are_deltas_over_the_interval)
{
	struct monitor_raw a = raw_at(1.0), b = raw_at(1.5);
	a.counts[CGLAT_MON_PAGE_FAULTS] = 100;
	b.counts[CGLAT_MON_PAGE_FAULTS] = 600;
	a.counts[CGLAT_MON_LRU_ISOLATED] = 10;
	b.counts[CGLAT_MON_LRU_ISOLATED] = 74;
	b.counts[CGLAT_MON_PAGES_WRITTEN] = 32;
	a.cpu_ns = 1000000000;
	b.cpu_ns = 1100000000; /* 0.1 s of CPU in 0.5 s: 0.2 CPUs */
	a.nr_throttled = 3;
	b.nr_throttled = 8;
	a.throttled_ns = 0;
	b.throttled_ns = 200000000;
	a.swapin = b.swapin = 7;
	b.mem_bytes = 64 * 1024 * 1024;
	b.mem_limit = 128 * 1024 * 1024;
	b.cpu_quota = 20000;
	b.cpu_period = 100000;
	b.vmrss_kb = 300;
	b.vmswap_kb = 100;
	b.tasks = 2;
	struct monitor_sample s;
	monitor_rates(&a, &b, &s);
	cr_assert_float_eq(s.t, 1.5, 1e-9);
	cr_assert_float_eq(s.faults_s, 1000.0, 1e-9);
	cr_assert_float_eq(s.lru_s, 128.0, 1e-9);
	cr_assert_float_eq(s.swapout_s, 64.0, 1e-9);
	cr_assert_float_eq(s.swapin_s, 0.0, 1e-9);
	cr_assert_float_eq(s.cpu_used, 0.2, 1e-9);
	cr_assert_float_eq(s.cpu_limit, 0.2, 1e-9);
	cr_assert_float_eq(s.throttled_s, 10.0, 1e-9);
	cr_assert_float_eq(s.throttled_ms_s, 400.0, 1e-9);
	cr_assert_float_eq(s.mem_mib, 64.0, 1e-9);
	cr_assert_float_eq(s.mem_limit_mib, 128.0, 1e-9);
	cr_assert_float_eq(s.rss_share, 0.75, 1e-9);
	cr_assert_eq(s.tasks, 2);
}

Test(monitor, unknowns_stay_unknown)
{
	struct monitor_raw a = raw_at(0), b = raw_at(1);
	struct monitor_sample s;
	monitor_rates(&a, &b, &s);
	cr_assert_lt(s.cpu_used, 0);
	cr_assert_lt(s.cpu_limit, 0);
	cr_assert_lt(s.swapin_s, 0);
	cr_assert_lt(s.mem_limit_mib, 0);
	cr_assert_lt(s.rss_share, 0, "no tasks: no share");
	cr_assert_float_eq(s.faults_s, 0.0, 1e-9);
}

Test(monitor, csv_row_matches_the_header)
{
	struct monitor_sample s;
	memset(&s, 0, sizeof(s));
	s.t = 2.0;
	s.mem_mib = 10.5;
	s.mem_limit_mib = -1;
	s.rss_share = 1;
	s.faults_s = 250;
	s.swapin_s = -1;
	s.cpu_used = 0.5;
	s.cpu_limit = -1;
	s.throttled_s = -1;
	s.throttled_ms_s = -1;
	s.tasks = 1;
	s.changes = 1;
	snprintf(s.change, sizeof(s.change), "memory.max=67108864");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	monitor_csv_header(f);
	monitor_csv_row(f, &s);
	fclose(f);
	char *row = strchr(text, '\n') + 1;
	size_t header_fields = 1, row_fields = 1;
	for (char *p = text; p < row - 1; p++)
		header_fields += *p == ',';
	for (char *p = row; *p && *p != '\n'; p++)
		row_fields += *p == ',';
	cr_assert_eq(header_fields, 15);
	cr_assert_eq(row_fields, header_fields);
	cr_assert_str_eq(row, "2.000,10.500,,1.0000,250.0,0.0,,0.0,0.5000,,,,1,1,"
	                      "\"memory.max=67108864\"\n");
	free(text);
}

static char *script(const char *plot, const double *changes, size_t n, int *rc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct cg_err err;
	*rc = monitor_plot_script(f, "/tmp/m.csv", plot, "cglat monitor: PID 42", 12.5,
	                          0xff & ~(1u << 4), changes, n, &err);
	fclose(f);
	return text;
}

Test(monitor, plot_script_draws_every_metric_and_marks_changes)
{
	double changes[] = {3.5, 7.25};
	int rc;
	char *text = script("/tmp/out.png", changes, 2, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(text, "set terminal pngcairo"));
	cr_assert(strstr(text, "set output '/tmp/out.png'"));
	cr_assert(strstr(text, "set datafile separator ','"));
	cr_assert(strstr(text, "set multiplot layout 4,2"));
	cr_assert(strstr(text, "set arrow 1 from 3.500, graph 0 to 3.500, graph 1 nohead"));
	cr_assert(strstr(text, "set arrow 2 from 7.250, graph 0 to 7.250, graph 1 nohead"));
	const char *panels[] = {"memory (MiB)", "RSS share",  "page faults",    "LRU isolations",
	                        "swap pages",   "CPU (CPUs)", "CFS throttling", "tasks"};
	for (size_t i = 0; i < sizeof(panels) / sizeof(panels[0]); i++)
		cr_assert(strstr(text, panels[i]), "no panel %s", panels[i]);
	cr_assert(strstr(text, "f = '/tmp/m.csv'"));
	cr_assert(strstr(text, "set xrange [0:12.500]"));
	/* swap had no data: a labelled empty panel instead of a gnuplot error */
	cr_assert(strstr(text, "set title 'swap pages / s'\nset yrange [0:1]\nset label 99 "
	                       "'no data'"));
	cr_assert_null(strstr(text, "title 'out (reclaim writeback)'"));
	free(text);

	text = script("/tmp/out.svg", NULL, 0, &rc);
	cr_assert_eq(rc, 0);
	cr_assert(strstr(text, "set terminal svg"));
	cr_assert_null(strstr(text, "set arrow"));
	free(text);
}

Test(monitor, plot_refuses_other_formats_and_quotes)
{
	int rc;
	free(script("/tmp/out.jpg", NULL, 0, &rc));
	cr_assert_eq(rc, -1);
	free(script("/tmp/it's.png", NULL, 0, &rc));
	cr_assert_eq(rc, -1);
	/* A newline would end gnuplot's command and start another: `!cmd` runs a shell. */
	free(script("/tmp/x\n!touch /tmp/cglat-pwned\n.png", NULL, 0, &rc));
	cr_assert_eq(rc, -1);
}

Test(monitor, panels_with_data)
{
	struct monitor_sample s[2];
	memset(s, 0, sizeof(s));
	for (int i = 0; i < 2; i++) {
		s[i].mem_mib = s[i].mem_limit_mib = s[i].rss_share = -1;
		s[i].swapin_s = s[i].swapout_s = s[i].cpu_used = s[i].cpu_limit = -1;
		s[i].throttled_s = s[i].throttled_ms_s = -1;
	}
	s[1].cpu_used = 0.5;
	/* faults and lru are 0, which is data; memory, rss, swap, throttling are unknown */
	cr_assert_eq(monitor_panels_with_data(s, 2), (1u << 2) | (1u << 3) | (1u << 5) | (1u << 7));
}

/* cfg.cmd points into argv: keep argv beyond the compound literal's block. */
static int parse_kept(int argc, char **argv, struct monitor_config *cfg, bool *help,
                      struct cg_err *err)
{
	static char *kept[64];
	memcpy(kept, argv, (size_t)(argc + 1) * sizeof(*argv));
	return monitor_parse(argc, kept, cfg, help, err);
}

#define MON_ARGV(...) ((char *[]){"monitor", __VA_ARGS__, NULL})
#define MON_ARGC(...) ((int)(sizeof((char *[]){"monitor", __VA_ARGS__}) / sizeof(char *)))
#define MON_PARSE(cfg, help, err, ...)                                                             \
	parse_kept(MON_ARGC(__VA_ARGS__), MON_ARGV(__VA_ARGS__), cfg, help, err)

Test(monitor, parse_takes_the_limit_options_of_run)
{
	struct monitor_config cfg;
	struct cg_err err;
	bool help;
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "10", "-m", "64m", "--pids-max", "50",
	                       "--", "make", "-j4"),
	             0, "%s", err.msg);
	cr_assert_not(help);
	cr_assert_eq(cfg.limits.set, CGLAT_SET_NICE | CGLAT_SET_MEMORY | CGLAT_SET_PIDS_MAX);
	cr_assert_eq(cfg.limits.nice, 10);
	cr_assert_eq(cfg.limits.memory, 64 << 20);
	cr_assert_eq(cfg.limits.pids_max, 50);
	cr_assert_str_eq(cfg.cmd[0], "make");
	cr_assert_str_eq(cfg.cmd[1], "-j4");
	cr_assert_null(cfg.cmd[2]);
	cr_assert_not(cfg.has_target);

	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--memory", "32m", "--", "true"), 0, "%s",
	             err.msg);
	cr_assert_eq(cfg.limits.set, CGLAT_SET_MEMORY);
	cr_assert_eq(cfg.limits.memory, 32 << 20);
}

Test(monitor, parse_refuses_a_bad_nice_and_limits_without_a_command)
{
	struct monitor_config cfg;
	struct cg_err err;
	bool help;
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "20", "--", "true"), -1);
	cr_assert(strstr(err.msg, "--nice"), "%s", err.msg);
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "x", "--", "true"), -1);
	cr_assert(strstr(err.msg, "--nice"), "%s", err.msg);
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice"), -1);
	cr_assert(strstr(err.msg, "needs a value"), "%s", err.msg);
	/* a running target's priority is cglat set's */
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "5", "web"), -1);
	cr_assert(strstr(err.msg, "go with -- CMD"), "%s", err.msg);
	cr_assert_eq(
	        MON_PARSE(&cfg, &help, &err, "--cpus", "1", "--cpu-quota", "1000", "--", "true"),
	        -1);
}
