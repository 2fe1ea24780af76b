/* run_quiet: the first line of a command's stderr, its exit, and why it could not run. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "run_quiet.h"

Test(run_quiet, keeps_the_first_line_of_stderr_and_the_exit)
{
	const char *argv[] = {"sh", "-c", "echo out; printf '\\n\\nfirst\\nsecond\\n' >&2; exit 3",
	                      NULL};
	struct run_quiet r;
	cr_assert_eq(run_quiet("sh", argv, &r), 0);
	cr_expect_gt(r.pid, 0);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3, "status 0x%x", r.status);
	cr_expect_str_eq(r.line, "first", "stdout is not kept, empty lines are skipped");
}

Test(run_quiet, a_signal_is_told)
{
	const char *argv[] = {"sh", "-c", "kill -TERM $$", NULL};
	struct run_quiet r;
	cr_assert_eq(run_quiet("/bin/sh", argv, &r), 0);
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM, "status 0x%x", r.status);
	cr_expect_str_eq(r.line, "");
}

Test(run_quiet, a_missing_program_cannot_run)
{
	const char *argv[] = {"cglat-no-such-program", NULL};
	struct run_quiet r;
	cr_assert_eq(run_quiet("/nonexistent/cglat-no-such-program", argv, &r), -1);
	cr_expect_str_eq(r.failed, "run");
	cr_expect_eq(r.error, ENOENT, "%s", strerror(r.error));
	cr_expect_eq(r.pid, 0);
}
