/* Summary statistics of latency samples in nanoseconds. */
#ifndef CGLAT_STATS_H
#define CGLAT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct stats {
	size_t n;
	double mean;
	double stddev; /* sample standard deviation (n - 1); 0 when n < 2 */
	int64_t min;
	double p50, p90, p99; /* linear interpolation between closest ranks (numpy's default) */
	int64_t max;
};

/* Computes the summary of n samples (n may be 0: everything is then 0). The
 * samples are not modified. Returns -1 only when memory runs out. */
int stats_compute(const int64_t *samples, size_t n, struct stats *out);

/* Percentile p in [0, 100] of sorted samples, linear interpolation. */
double stats_percentile_sorted(const int64_t *sorted, size_t n, double p);

/* bcc-style log2 histogram of the samples, in the given unit ("usecs" for
 * values divided by 1000, "nsecs" as they are), printed to out. */
void stats_print_log2_hist(FILE *out, const int64_t *samples, size_t n, const char *unit);

#endif
