#include "stats.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

double stats_percentile_sorted(const int64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	if (p <= 0)
		return (double)sorted[0];
	if (p >= 100)
		return (double)sorted[n - 1];
	/* numpy's default ("linear", Hyndman & Fan type 7). */
	double h = (double)(n - 1) * p / 100;
	size_t lo = (size_t)floor(h);
	if (lo + 1 >= n)
		return (double)sorted[n - 1];
	double a = (double)sorted[lo], b = (double)sorted[lo + 1];
	return a + (h - (double)lo) * (b - a);
}

int stats_compute(const int64_t *samples, size_t n, struct stats *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return 0;
	int64_t *sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return -1;
	memcpy(sorted, samples, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_i64);

	/* Welford's update: no catastrophic cancellation for large, close values. */
	double mean = 0, m2 = 0;
	for (size_t i = 0; i < n; i++) {
		double x = (double)sorted[i];
		double delta = x - mean;
		mean += delta / (double)(i + 1);
		m2 += delta * (x - mean);
	}
	out->n = n;
	out->mean = mean;
	out->stddev = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;
	out->min = sorted[0];
	out->max = sorted[n - 1];
	out->p50 = stats_percentile_sorted(sorted, n, 50);
	out->p90 = stats_percentile_sorted(sorted, n, 90);
	out->p99 = stats_percentile_sorted(sorted, n, 99);
	free(sorted);
	return 0;
}

#define HIST_SLOTS 64
#define STARS_MAX 40

/* Slot i holds [2^i, 2^(i+1) - 1], slot 0 also holds 0 (as bcc's libbpf-tools). */
static int log2_slot(uint64_t v)
{
	return v <= 1 ? 0 : 63 - __builtin_clzll(v);
}

static void print_stars(FILE *out, uint64_t val, uint64_t val_max, int width)
{
	int stars = val_max ? (int)(val * (uint64_t)width / val_max) : 0;
	for (int i = 0; i < width; i++)
		fputc(i < stars ? '*' : ' ', out);
}

void stats_print_log2_hist(FILE *out, const int64_t *samples, size_t n, const char *unit)
{
	uint64_t slots[HIST_SLOTS] = {0};
	uint64_t divisor = strcmp(unit, "usecs") == 0 ? 1000 : 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = samples[i] < 0 ? 0 : (uint64_t)samples[i] / divisor;
		slots[log2_slot(v)]++;
	}
	int idx_max = -1;
	uint64_t val_max = 0;
	for (int i = 0; i < HIST_SLOTS; i++) {
		if (slots[i] > 0)
			idx_max = i;
		if (slots[i] > val_max)
			val_max = slots[i];
	}
	if (idx_max < 0)
		return;

	/* Wider columns once the upper bounds need more than 10 digits. */
	bool wide = idx_max > 32;
	int width = wide ? 20 : 10, stars = wide ? STARS_MAX / 2 : STARS_MAX;
	fprintf(out, "%*s%-*s : count     distribution\n", wide ? 15 : 5, "", wide ? 29 : 19, unit);
	for (int i = 0; i <= idx_max; i++) {
		uint64_t low = i == 0 ? 0 : UINT64_C(1) << i;
		uint64_t high = i == 63 ? UINT64_MAX : (UINT64_C(1) << (i + 1)) - 1;
		fprintf(out, "%*" PRIu64 " -> %-*" PRIu64 " : %-8" PRIu64 " |", width, low, width,
		        high, slots[i]);
		print_stars(out, slots[i], val_max, stars);
		fputs("|\n", out);
	}
}
