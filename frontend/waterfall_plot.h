/* --waterfall-plot: the waterfall drawn by gnuplot, one panel per path x resource, each
 * stage a bar of its p50 laid end to end from T0. */
#ifndef CGLAT_WATERFALL_PLOT_H
#define CGLAT_WATERFALL_PLOT_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "report_waterfall.h"

/* The gnuplot script, with the data inline; the terminal follows plot_path's extension. */
int waterfall_plot_script(FILE *out, const char *plot_path, const struct wf_row *rows, size_t n,
                          struct cg_err *err);

/* Writes the script to a private temporary file and runs gnuplot on it. */
int waterfall_plot_draw(const char *plot_path, const struct wf_row *rows, size_t n,
                        struct cg_err *err);

#endif
