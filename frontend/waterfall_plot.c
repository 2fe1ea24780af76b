#include "waterfall_plot.h"

#include <strings.h>

#include "gnuplot.h"

/* One panel: a row of the data block per stage that applies and was seen, y counting
 * down from the first stage, x in ms from T0. */
static void panel(FILE *out, int index, const struct wf_row *row)
{
	fprintf(out, "$d%d << EOD\n", index);
	double start = 0;
	int y = 0;
	const enum wf_stage *seq;
	size_t nseq = sample_path_stages(row->path, &seq);
	for (size_t i = 0; i < nseq; i++) {
		enum wf_stage k = seq[i];
		const struct wf_stage_row *s = &row->stage[k];
		double len = s->n ? s->p50_ns / 1e6 : 0;
		fprintf(out, "%d \"%s%s\" %.6f %.6f %.6f\n", y++, wf_stage_name(k),
		        s->n ? "" : " (unknown)", start, start + len,
		        s->n ? s->cpu_p50_ns / 1e6 : 0);
		start += len;
	}
	fprintf(out, "EOD\n");
	fprintf(out,
	        "set title '%s %s: %zu samples, every stage seen in %zu'\n"
	        "set yrange [%d.5:-0.5]\n"
	        "plot $d%d using (($3+$4)/2):1:3:4:($1-0.4):($1+0.4):ytic(2) with boxxyerror "
	        "lc rgb '#4472c4' notitle, \\\n"
	        "     $d%d using 4:1:(sprintf(' %%.3f ms (on a CPU %%.3f)', $4-$3, $5)) with "
	        "labels "
	        "left notitle\n",
	        bench_sample_path_name(row->path), cgroup_resource_name(row->resource),
	        row->samples, row->complete, y - 1, index, index);
}

int waterfall_plot_script(FILE *out, const char *plot_path, const struct wf_row *rows, size_t n,
                          struct cg_err *err)
{
	const char *ext = gnuplot_ext(plot_path);
	int height = 120 + 330 * (int)(n ? n : 1);
	char terminal[96];
	if (strcasecmp(ext, "png") == 0)
		snprintf(terminal, sizeof(terminal), "pngcairo size 1100,%d font 'sans,9'", height);
	else if (strcasecmp(ext, "svg") == 0)
		snprintf(terminal, sizeof(terminal), "svg size 1100,%d dynamic font 'sans,9'",
		         height);
	else
		return cg_errf(err,
		               "--waterfall-plot %s: the file must end in .png or .svg (gnuplot's "
		               "terminal is chosen by it)",
		               plot_path);
	if (!gnuplot_safe(plot_path))
		return cg_errf(err, "--waterfall-plot: file names with a single quote or a control "
		                    "character are not supported");
	if (!n)
		return cg_errf(err, "--waterfall-plot: no docker or api sample has stages to draw");
	fprintf(out,
	        "set terminal %s\n"
	        "set output '%s'\n"
	        "set style fill solid 0.85 border -1\n"
	        "set grid xtics\n"
	        "set xlabel 'ms from the client''s T0 (each stage: its p50, laid end to end; in "
	        "brackets the p50 of the chain''s time on a CPU in it)'\n"
	        "set offsets 0, graph 0.25, 0, 0\n"
	        "set multiplot layout %zu,1 title 'cglat waterfall: where a limit change''s "
	        "time goes'\n",
	        terminal, plot_path, n);
	for (size_t i = 0; i < n; i++)
		panel(out, (int)i, &rows[i]);
	fprintf(out, "unset multiplot\n");
	return ferror(out) ? cg_errf(err, "writing the plot script failed") : 0;
}

struct waterfall_plot_args {
	const char *plot_path;
	const struct wf_row *rows;
	size_t n;
};

static int write_waterfall_script(FILE *out, void *ctx, struct cg_err *err)
{
	const struct waterfall_plot_args *a = ctx;
	return waterfall_plot_script(out, a->plot_path, a->rows, a->n, err);
}

int waterfall_plot_draw(const char *plot_path, const struct wf_row *rows, size_t n,
                        struct cg_err *err)
{
	struct waterfall_plot_args a = {plot_path, rows, n};
	return gnuplot_draw(plot_path, write_waterfall_script, &a, err);
}
