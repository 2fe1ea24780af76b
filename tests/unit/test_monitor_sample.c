/* cglat monitor's samples: rates from raw readings, and CSV rows. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor_sample.h"

static struct monitor_raw raw_at(double t)
{
	struct monitor_raw r;
	memset(&r, 0, sizeof(r));
	r.t = t;
	r.cpu_ns = r.nr_throttled = r.throttled_ns = r.swapin = -1;
	r.mem_bytes = r.mem_limit = r.cpu_quota = r.cpu_period = -1;
	return r;
}

Test(monitor_sample, rates_are_deltas_over_the_interval)
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

Test(monitor_sample, unknowns_stay_unknown)
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

Test(monitor_sample, csv_row_matches_the_header)
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
