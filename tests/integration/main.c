/* Criterion's main, with every suite's and test's timeout multiplied by
 * it_time_scale(): the compat VMs run these tests under qemu TCG, many times slower
 * than a host, and a timeout there is a hang guard, not a speed check. */
#include <criterion/criterion.h>
#include <criterion/internal/ordered-set.h>

#include "helpers.h"

int main(int argc, char *argv[])
{
	struct criterion_test_set *tests = criterion_initialize();
	double scale = it_time_scale();
	if (scale > 1) {
		FOREACH_SET (struct criterion_suite_set *s, tests->suites) {
			if (s->suite.data)
				s->suite.data->timeout *= scale;
			FOREACH_SET (struct criterion_test *t, s->tests) {
				if (t->data)
					t->data->timeout *= scale;
			}
		}
	}
	int result = 0;
	if (criterion_handle_args(argc, argv, true))
		result = !criterion_run_all_tests(tests);
	criterion_finalize(tests);
	return result;
}
