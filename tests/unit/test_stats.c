/* Latency summaries and the bcc-style histogram printed at the end of a run. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

Test(stats, one_to_ten)
{
	const int64_t s[] = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};
	struct stats st;
	cr_assert_eq(stats_compute(s, 10, &st), 0);
	cr_assert_eq(st.n, 10);
	cr_assert_float_eq(st.mean, 5.5, 1e-12);
	/* sum of squared deviations 82.5, over n - 1 = 9 */
	cr_assert_float_eq(st.stddev, 3.0276503540974917, 1e-12);
	cr_assert_eq(st.min, 1);
	cr_assert_eq(st.max, 10);
	cr_assert_float_eq(st.p50, 5.5, 1e-9);
	cr_assert_float_eq(st.p90, 9.1, 1e-9);
	cr_assert_float_eq(st.p99, 9.91, 1e-9);
}

Test(stats, samples_are_not_modified)
{
	int64_t s[] = {50, 10, 40};
	struct stats st;
	cr_assert_eq(stats_compute(s, 3, &st), 0);
	cr_assert_eq(s[0], 50);
	cr_assert_eq(s[1], 10);
	cr_assert_eq(s[2], 40);
	cr_assert_float_eq(st.p50, 40.0, 1e-12);
}

Test(stats, empty_is_all_zero)
{
	struct stats st;
	memset(&st, 0xff, sizeof(st));
	cr_assert_eq(stats_compute(NULL, 0, &st), 0);
	cr_assert_eq(st.n, 0);
	cr_assert_float_eq(st.mean, 0.0, 1e-12);
	cr_assert_float_eq(st.stddev, 0.0, 1e-12);
	cr_assert_eq(st.min, 0);
	cr_assert_eq(st.max, 0);
	cr_assert_float_eq(st.p50, 0.0, 1e-12);
	cr_assert_float_eq(st.p90, 0.0, 1e-12);
	cr_assert_float_eq(st.p99, 0.0, 1e-12);
}

Test(stats, single_sample_has_zero_stddev)
{
	const int64_t s[] = {8938000};
	struct stats st;
	cr_assert_eq(stats_compute(s, 1, &st), 0);
	cr_assert_float_eq(st.mean, 8938000.0, 1e-6);
	cr_assert_float_eq(st.stddev, 0.0, 1e-12);
	cr_assert_float_eq(st.p99, 8938000.0, 1e-6);
	cr_assert_eq(st.min, 8938000);
	cr_assert_eq(st.max, 8938000);
}

Test(stats, stddev_stays_exact_for_large_close_values)
{
	/* Naive sum-of-squares loses everything here: x^2 is around 1e30. */
	const int64_t s[] = {1000000000000000, 1000000000000001, 1000000000000002};
	struct stats st;
	cr_assert_eq(stats_compute(s, 3, &st), 0);
	cr_assert_float_eq(st.stddev, 1.0, 1e-9);
	cr_assert_float_eq(st.mean, 1000000000000001.0, 0.5);
}

Test(stats, percentile_sorted_interpolates_and_clamps)
{
	const int64_t s[] = {10, 20};
	cr_assert_float_eq(stats_percentile_sorted(s, 2, 25), 12.5, 1e-12);
	cr_assert_float_eq(stats_percentile_sorted(s, 2, 0), 10.0, 1e-12);
	cr_assert_float_eq(stats_percentile_sorted(s, 2, 100), 20.0, 1e-12);
	cr_assert_float_eq(stats_percentile_sorted(s, 2, -5), 10.0, 1e-12);
	cr_assert_float_eq(stats_percentile_sorted(s, 2, 150), 20.0, 1e-12);
	cr_assert_float_eq(stats_percentile_sorted(s, 0, 50), 0.0, 1e-12);
	const int64_t big[] = {INT64_MIN + 1, INT64_MAX};
	cr_assert_float_eq(stats_percentile_sorted(big, 2, 50), 0.0, 1.0, "overflowed");
}

/* Runs the printer into memory and returns the text (caller frees). */
static char *hist_text(const int64_t *samples, size_t n, const char *unit)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	stats_print_log2_hist(f, samples, n, unit);
	cr_assert_eq(fclose(f), 0);
	return text;
}

Test(stats, log2_hist_usecs_matches_bcc)
{
	/* usecs: 0, 1, 1, 2, 3, 5, 9, 9 */
	const int64_t s[] = {999, 1000, 1999, 2500, 3000, 5000, 9000, 9999};
	char *text = hist_text(s, 8, "usecs");
	cr_assert_str_eq(
	        text,
	        "     usecs               : count     distribution\n"
	        "         0 -> 1          : 3        |****************************************|\n"
	        "         2 -> 3          : 2        |**************************              |\n"
	        "         4 -> 7          : 1        |*************                           |\n"
	        "         8 -> 15         : 2        |**************************              |\n");
	free(text);
}

Test(stats, log2_hist_nsecs_keeps_empty_slots_below_the_last)
{
	const int64_t s[] = {412, 300, -5};
	char *text = hist_text(s, 3, "nsecs");
	cr_assert_str_eq(
	        text,
	        "     nsecs               : count     distribution\n"
	        "         0 -> 1          : 1        |********************                    |\n"
	        "         2 -> 3          : 0        |                                        |\n"
	        "         4 -> 7          : 0        |                                        |\n"
	        "         8 -> 15         : 0        |                                        |\n"
	        "        16 -> 31         : 0        |                                        |\n"
	        "        32 -> 63         : 0        |                                        |\n"
	        "        64 -> 127        : 0        |                                        |\n"
	        "       128 -> 255        : 0        |                                        |\n"
	        "       256 -> 511        : 2        |****************************************|\n");
	free(text);
}

Test(stats, log2_hist_switches_to_wide_columns_past_slot_32)
{
	const int64_t s[] = {INT64_C(1) << 40};
	char *text = hist_text(s, 1, "nsecs");
	const char *first =
	        "               nsecs                         : count     distribution\n"
	        "                   0 -> 1                    : 0        |"
	        "                    |\n";
	cr_assert_eq(strncmp(text, first, strlen(first)), 0, "got:\n%s", text);
	const char *last = "       1099511627776 -> 2199023255551        : 1        "
	                   "|********************|\n";
	size_t tl = strlen(text), ll = strlen(last);
	cr_assert(tl > ll && strcmp(text + tl - ll, last) == 0, "got:\n%s", text);
	free(text);
}

Test(stats, log2_hist_prints_nothing_without_samples)
{
	char *text = hist_text(NULL, 0, "usecs");
	cr_assert_str_eq(text, "");
	free(text);
}
