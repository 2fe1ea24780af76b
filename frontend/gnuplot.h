/* What the plots share (monitor's, the waterfall's): the output's format, strings safe
 * in a gnuplot script, and gnuplot run on a script. */
#ifndef CGLAT_GNUPLOT_H
#define CGLAT_GNUPLOT_H

#include <stdbool.h>
#include <stdio.h>

#include "error.h"

/* The file name's extension without the dot, "" when none. */
const char *gnuplot_ext(const char *path);
/* Does the file name end in .png or .svg (any case), the formats there is a terminal for? */
bool gnuplot_format_known(const char *plot_path);
/* gnuplot strings are in single quotes: a quote in a name would end them, and a newline
 * the command, so that the rest ran as gnuplot commands (`!cmd` runs a shell). */
bool gnuplot_safe(const char *s);
/* Runs gnuplot on the script file; its messages are in err only when it fails. */
int gnuplot_run(const char *script, struct cg_err *err);

/* Writes a script with write_script(out, ctx, err) to a private temporary file, runs
 * gnuplot on it, removes it, and checks that plot_path was written. */
typedef int (*gnuplot_script_fn)(FILE *out, void *ctx, struct cg_err *err);
int gnuplot_draw(const char *plot_path, gnuplot_script_fn write_script, void *ctx,
                 struct cg_err *err);

#endif
