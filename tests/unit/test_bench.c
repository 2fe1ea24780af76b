/* bench's metrics: which timestamps each one is made of. */
#include <criterion/criterion.h>

#include "bench.h"

Test(bench, metrics_come_from_the_right_timestamps)
{
	struct sample s = {.path = SAMPLE_DOCKER,
	                   .t0_ns = 1000,
	                   .recv_ns = 5000,
	                   .write_enter_ns = 9000,
	                   .write_exit_ns = 9500,
	                   .t_return_ns = 12000,
	                   .valid = true};
	cr_assert_eq(bench_metric(&s, METRIC_DAEMON_TO_WRITE), 4500);
	cr_assert_eq(bench_metric(&s, METRIC_REQUEST_TO_WRITE), 8500);
	cr_assert_eq(bench_metric(&s, METRIC_ROUND_TRIP), 11000);
	s.path = SAMPLE_DIRECT;
	cr_assert_eq(bench_metric(&s, METRIC_DAEMON_TO_WRITE), -1);
	s.path = SAMPLE_FLOOR;
	cr_assert_eq(bench_metric(&s, METRIC_REQUEST_TO_WRITE), -1);
	cr_assert_eq(bench_metric(&s, METRIC_ROUND_TRIP), 11000);
	s.path = SAMPLE_API;
	s.recv_ns = 0; /* receive not seen */
	cr_assert_eq(bench_metric(&s, METRIC_DAEMON_TO_WRITE), -1);
}
