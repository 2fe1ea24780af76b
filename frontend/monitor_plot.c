/* cglat monitor's plot: a gnuplot script of every metric over time, with the limit
 * changes marked, and gnuplot run on it. */
#include "monitor_plot.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gnuplot.h"
#include "text.h"

unsigned monitor_panels_with_data(const struct monitor_sample *s, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		const struct monitor_sample *x = &s[i];
		bits |= (x->mem_mib >= 0 || x->mem_limit_mib >= 0) << 0;
		bits |= (x->rss_share >= 0) << 1;
		bits |= (x->faults_s >= 0) << 2;
		bits |= (x->lru_s >= 0) << 3;
		bits |= (x->swapin_s >= 0 || x->swapout_s >= 0) << 4;
		bits |= (x->cpu_used >= 0 || x->cpu_limit >= 0) << 5;
		bits |= (x->throttled_s >= 0 || x->throttled_ms_s >= 0) << 6;
		bits |= 1u << 7; /* tasks are always counted */
	}
	return bits;
}

int monitor_plot_script(FILE *out, const char *csv_path, const char *plot_path, const char *title,
                        double t_end, unsigned with_data, const double *change_times,
                        size_t nchanges, struct cg_err *err)
{
	const char *ext = gnuplot_ext(plot_path);
	const char *terminal;
	if (strcasecmp(ext, "png") == 0)
		terminal = "pngcairo size 1200,1500 font 'sans,9'";
	else if (strcasecmp(ext, "svg") == 0)
		terminal = "svg size 1200,1500 dynamic font 'sans,9'";
	else
		return cg_errf(err, "--plot %s: the file name must end in .png or .svg", plot_path);
	/* gnuplot strings are in single quotes: a quote in a name would end them, and a newline
	 * the command, so that the rest ran as gnuplot commands (`!cmd` runs a shell). */
	if (!gnuplot_safe(csv_path) || !gnuplot_safe(plot_path) || !gnuplot_safe(title))
		return cg_errf(err, "--plot: file names with a single quote or a control character "
		                    "are not supported");
	fprintf(out,
	        "set terminal %s\n"
	        "set output '%s'\n"
	        "set datafile separator ','\n"
	        "set key bmargin center horizontal\n"
	        "set grid\n"
	        "set xtics format '%%gs'\n"
	        "set xrange [0:%.3f]\n"
	        "set multiplot layout 4,2 title '%s'\n",
	        terminal, plot_path, t_end > 0 ? t_end : 1.0, title);
	for (size_t i = 0; i < nchanges; i++)
		fprintf(out,
		        "set arrow %zu from %.3f, graph 0 to %.3f, graph 1 nohead lc rgb "
		        "'red' dt 2\n",
		        i + 1, change_times[i], change_times[i]);
	static const char *const titles[MONITOR_PANELS] = {
	        "memory (MiB), limit changes dashed",
	        "RSS share: vmrss / (vmrss + vmswap)",
	        "page faults / s",
	        "LRU isolations / s (vmscan)",
	        "swap pages / s",
	        "CPU (CPUs)",
	        "CFS throttling",
	        "tasks",
	};
	static const char *const plots[MONITOR_PANELS] = {
	        "plot f using 1:2 with lines lw 2 title 'in use', "
	        "f using 1:3 with steps lw 2 title 'limit'\n",
	        "set yrange [0:1.05]\nplot f using 1:4 with lines lw 2 title 'RSS share'\n"
	        "set yrange [*:*]\n",
	        "plot f using 1:5 with lines lw 2 title 'faults/s'\n",
	        "plot f using 1:6 with lines lw 2 title 'pages isolated/s'\n",
	        "plot f using 1:7 with lines lw 2 title 'in', "
	        "f using 1:8 with lines lw 2 title 'out (reclaim writeback)'\n",
	        "plot f using 1:9 with lines lw 2 title 'used', "
	        "f using 1:10 with steps lw 2 title 'limit'\n",
	        "plot f using 1:11 with lines lw 2 title 'periods/s', "
	        "f using 1:12 with lines lw 2 title 'ms/s'\n",
	        "plot f using 1:13 with steps lw 2 title 'tasks'\n",
	};
	fprintf(out, "f = '%s'\n", csv_path);
	for (int i = 0; i < MONITOR_PANELS; i++) {
		fprintf(out, "set title '%s'\n", titles[i]);
		if (with_data & (1u << i))
			fputs(plots[i], out);
		else
			fputs("set yrange [0:1]\nset label 99 'no data' at graph 0.5, graph 0.5 "
			      "center\nplot 1/0 notitle\nunset label 99\nset yrange [*:*]\n",
			      out);
	}
	fprintf(out, "unset multiplot\n");
	return ferror(out) ? cg_errf(err, "writing the plot script failed") : 0;
}

struct monitor_plot_args {
	const char *csv_path, *plot_path, *title;
	double t_end;
	unsigned with_data;
	const double *change_times;
	size_t nchanges;
};

static int write_monitor_script(FILE *out, void *ctx, struct cg_err *err)
{
	const struct monitor_plot_args *a = ctx;
	return monitor_plot_script(out, a->csv_path, a->plot_path, a->title, a->t_end, a->with_data,
	                           a->change_times, a->nchanges, err);
}

int monitor_plot_draw(const char *csv_path, const char *plot_path, const char *title,
                      const struct monitor_sample *s, size_t n, const double *change_times,
                      size_t nchanges, struct cg_err *err)
{
	char safe_title[512];
	text_copy(safe_title, sizeof(safe_title), title);
	for (char *p = safe_title; *p; p++)
		if (*p == '\'')
			*p = '"';
	struct monitor_plot_args a = {.csv_path = csv_path,
	                              .plot_path = plot_path,
	                              .title = safe_title,
	                              .t_end = n > 0 ? s[n - 1].t : 0,
	                              .with_data = monitor_panels_with_data(s, n),
	                              .change_times = change_times,
	                              .nchanges = nchanges};
	return gnuplot_draw(plot_path, write_monitor_script, &a, err);
}
