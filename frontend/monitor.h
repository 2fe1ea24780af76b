/* cglat monitor: a workload's memory, faults, reclaim, swap and CPU every
 * interval, with limit changes marked, live and as CSV and a plot. Event counts
 * come from BPF programs filtered in the kernel to the workload's processes;
 * levels come from its cgroup files. */
#ifndef CGLAT_MONITOR_H
#define CGLAT_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cglat_event.h"
#include "cglat.h"
#include "error.h"
#include "tracer.h"

/* What is read each interval: counters are cumulative, levels are as read. */
struct monitor_raw {
	double t; /* seconds since the start */
	uint64_t counts[CGLAT_MON_COUNT];
	int64_t cpu_ns;              /* CPU time used, cumulative; -1 unknown */
	int64_t nr_throttled;        /* periods throttled, cumulative; -1 unknown */
	int64_t throttled_ns;        /* time throttled, cumulative; -1 unknown */
	int64_t swapin;              /* pages swapped in (pswpin), cumulative; -1 unknown */
	int64_t mem_bytes;           /* memory in use; -1 unknown */
	int64_t mem_limit;           /* bytes; -1 unlimited or unknown */
	int64_t cpu_quota;           /* us; -1 no quota */
	int64_t cpu_period;          /* us */
	int64_t vmrss_kb, vmswap_kb; /* summed over the tasks */
	int tasks;
};

/* One interval, ready to show. Rates are per second; -1 means unknown. */
struct monitor_sample {
	double t;
	double mem_mib, mem_limit_mib;
	double rss_share; /* vmrss / (vmrss + vmswap), 0..1 */
	double faults_s, lru_s, swapin_s, swapout_s;
	double cpu_used, cpu_limit; /* CPUs */
	double throttled_s;         /* periods throttled per second */
	double throttled_ms_s;      /* ms throttled per second */
	int tasks;
	int changes;     /* limit writes seen in the interval */
	char change[96]; /* the last one: "memory.limit_in_bytes=67108864" */
};

/* prev -> cur: rates over the interval, levels of cur. */
void monitor_rates(const struct monitor_raw *prev, const struct monitor_raw *cur,
                   struct monitor_sample *out);

void monitor_csv_header(FILE *out);
void monitor_csv_row(FILE *out, const struct monitor_sample *s);
void monitor_text_header(FILE *out);
void monitor_text_row(FILE *out, const struct monitor_sample *s);

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

/* What the command line asks for. */
struct monitor_config {
	struct cglat_target_spec spec;
	bool has_target;
	double interval_s;
	double duration_s;
	const char *csv;
	const char *plot;
	struct cglat_limits limits; /* for -- CMD */
	const char *name;
	const char *parent;
	bool keep;
	enum tracer_strategy probe;
	char **cmd; /* after "--": run this in a cgroup of its own */
};

/* argv -> cfg (argv[0] is the command's name); -1 on bad usage with a message that
 * names the option. cfg->cmd points into argv. */
int monitor_parse(int argc, char **argv, struct monitor_config *cfg, bool *help,
                  struct cg_err *err);

int monitor_main(int argc, char **argv);

#endif
