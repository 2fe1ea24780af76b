/* cglat monitor's plot: the gnuplot script, and which panels have data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "monitor_plot.h"

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

Test(monitor_plot, plot_script_draws_every_metric_and_marks_changes)
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

Test(monitor_plot, plot_refuses_other_formats_and_quotes)
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

Test(monitor_plot, panels_with_data)
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

Test(monitor_plot, formats_by_extension)
{
	cr_assert(gnuplot_format_known("/tmp/out.png"));
	cr_assert(gnuplot_format_known("out.SVG"));
	cr_assert_not(gnuplot_format_known("out.jpg"));
	cr_assert_not(gnuplot_format_known("png"));
	cr_assert_not(gnuplot_format_known("/tmp/x.png/out"));
}
