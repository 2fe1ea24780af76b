/* cglat monitor's samples: what is read each interval (cumulative counters, levels),
 * the rates over an interval, and the rows of the live view and the CSV file. */
#ifndef CGLAT_MONITOR_SAMPLE_H
#define CGLAT_MONITOR_SAMPLE_H

#include <stdint.h>
#include <stdio.h>

#include "cglat_event.h"

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

#endif
