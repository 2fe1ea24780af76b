/* cglat monitor: a workload's memory, faults, reclaim, swap and CPU every
 * interval, with limit changes marked, live and as CSV and a plot. Event counts
 * come from BPF programs filtered in the kernel to the workload's processes;
 * levels come from its cgroup files.
 *
 * The command's files: monitor_cli (argv, usage, entry), monitor.c (the live loop, this
 * header), monitor_sample (rates and rows, pure), monitor_plot (the gnuplot script). */
#ifndef CGLAT_MONITOR_H
#define CGLAT_MONITOR_H

#include "error.h"
#include "monitor_cli.h"

/* Monitors what cfg names until Ctrl-C, the end of -d or CMD's exit; as root. */
int monitor_run(const struct monitor_config *cfg, struct cg_err *err);

#endif
