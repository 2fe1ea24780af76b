/* cglat monitor's plot: every metric of the CSV file over time, one gnuplot panel each,
 * with the times of limit changes marked. */
#ifndef CGLAT_MONITOR_PLOT_H
#define CGLAT_MONITOR_PLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "monitor_sample.h"

#define MONITOR_PANELS 8

/* Which panels have at least one known value in the samples (bit i: panel i),
 * since gnuplot refuses to draw a panel without a single point. */
unsigned monitor_panels_with_data(const struct monitor_sample *s, size_t n);

/* A gnuplot script drawing every metric of the CSV file over time, one panel
 * each, with the times of limit changes marked in every panel. The terminal
 * follows the output's extension (.png or .svg); the time axis runs from 0 to
 * t_end; panels not in `with_data` say "no data". */
int monitor_plot_script(FILE *out, const char *csv_path, const char *plot_path, const char *title,
                        double t_end, unsigned with_data, const double *change_times,
                        size_t nchanges, struct cg_err *err);

/* Draws plot_path from csv_path, which holds the n samples s: the script in a private
 * temporary file, then gnuplot (its messages shown only when it fails). Single quotes
 * in the title become double ones. */
int monitor_plot_draw(const char *csv_path, const char *plot_path, const char *title,
                      const struct monitor_sample *s, size_t n, const double *change_times,
                      size_t nchanges, struct cg_err *err);

#endif
