/* The workload life cycle without root: a cgroup with no directories (joining it moves
 * nothing), so that holding, releasing, giving up, renicing, forwarding, stopping and
 * the child's own failures are checked on ordinary processes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signals.h"
#include "workload.h"

static struct workload w;
static struct cg_err err;
static const struct workload_opts plain = {0};

static void start(char *const *cmd, const struct workload_opts *o)
{
	workload_init(&w);
	cr_assert_eq(workload_start(&w, cmd, o, &err), 0, "%s", err.msg);
	cr_assert_gt(w.pid, 0);
}

static void release_and_wait(void)
{
	workload_release(&w, true);
	cr_assert_eq(workload_wait(&w, &err), 0, "%s", err.msg);
	cr_assert(w.exited);
}

Test(workload, held_until_released_then_its_exit_status)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/cglat-unit-workload-%d", (int)getpid());
	char script[128];
	snprintf(script, sizeof(script), "echo ran > %s; exit 3", path);
	char *cmd[] = {"sh", "-c", script, NULL};
	start(cmd, &plain);
	usleep(100 * 1000);
	struct stat st;
	cr_assert_neq(stat(path, &st), 0, "the child ran before it was released");
	cr_assert_not(workload_reap(&w));
	release_and_wait();
	cr_assert_str_eq(w.child_err, "");
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 3, "status %d", w.status);
	cr_assert_eq(stat(path, &st), 0, "the child did not run");
	cr_assert_gt(workload_seconds(&w), 0);
	unlink(path);
}

Test(workload, given_up_it_exits_126_unrun)
{
	char *cmd[] = {"true", NULL};
	start(cmd, &plain);
	workload_release(&w, false);
	cr_assert_eq(workload_wait(&w, &err), 0, "%s", err.msg);
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 126, "status %d", w.status);
	cr_assert_str_eq(w.child_err, "");
	cr_assert_float_eq(workload_seconds(&w), 0, 1e-12);
	workload_release(&w, true); /* once only */
}

Test(workload, a_missing_command_says_why_and_exits_127)
{
	char *cmd[] = {"/nonexistent/cglat-cmd", NULL};
	start(cmd, &plain);
	release_and_wait();
	cr_assert_str_eq(w.child_err,
	                 "cannot run /nonexistent/cglat-cmd: No such file or directory");
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 127, "status %d", w.status);
}

Test(workload, not_runnable_exits_126)
{
	char *cmd[] = {"/etc/passwd", NULL};
	start(cmd, &plain);
	release_and_wait();
	cr_assert(strstr(w.child_err, "cannot run /etc/passwd: "), "%s", w.child_err);
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 126, "status %d", w.status);
}

Test(workload, nice_is_set_before_exec)
{
	/* field 19 of /proc/PID/stat is the nice value; cut inherits the shell's */
	char *cmd[] = {"sh", "-c", "exit $(cut -d' ' -f19 /proc/self/stat)", NULL};
	struct workload_opts o = {.nice_set = true, .nice = 7};
	start(cmd, &o);
	release_and_wait();
	cr_assert(WIFEXITED(w.status) && WEXITSTATUS(w.status) == 7, "status %d", w.status);
}

Test(workload, forwarded_signals_reach_the_child)
{
	signals_install();
	char *cmd[] = {"sleep", "30", NULL};
	struct workload_opts o = {.forward = true};
	start(cmd, &o);
	workload_release(&w, true);
	kill(getpid(), SIGTERM);
	cr_assert_eq(workload_wait(&w, &err), 0, "%s", err.msg);
	cr_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGTERM, "status %d", w.status);
	cr_assert_eq(signals_stop_requested(), 0, "the signal was not forwarded but kept");
}

Test(workload, a_signal_to_the_held_child_is_no_sigpipe_here)
{
	signals_install();
	char *cmd[] = {"true", NULL};
	struct workload_opts o = {.forward = true};
	start(cmd, &o);
	kill(getpid(), SIGINT); /* forwarded: the held child dies before it is released */
	usleep(100 * 1000);
	release_and_wait();
	cr_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGINT, "status %d", w.status);
	cr_assert_str_eq(w.child_err, "");
}

Test(workload, a_stop_asked_for_before_the_start_starts_nothing)
{
	signals_install();
	kill(getpid(), SIGINT);
	char *cmd[] = {"true", NULL};
	struct workload_opts o = {.forward = true};
	workload_init(&w);
	cr_assert_eq(workload_start(&w, cmd, &o, &err), -1);
	cr_assert_str_eq(err.msg, "interrupted by SIGINT before true started");
	cr_assert_eq(w.pid, 0);
}

Test(workload, stop_terms_then_kills)
{
	char *cmd[] = {"sleep", "30", NULL};
	start(cmd, &plain);
	workload_release(&w, true);
	workload_stop(&w, 1.0);
	cr_assert(w.exited);
	cr_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGTERM, "status %d", w.status);

	/* one that ignores SIGTERM gets SIGKILL after the grace period */
	char *stubborn[] = {"sh", "-c", "trap '' TERM; exec sleep 30", NULL};
	start(stubborn, &plain);
	workload_release(&w, true);
	usleep(200 * 1000); /* the trap is set */
	workload_stop(&w, 0.3);
	cr_assert(WIFSIGNALED(w.status) && WTERMSIG(w.status) == SIGKILL, "status %d", w.status);
}

Test(workload, no_cgroup_to_remove)
{
	workload_init(&w);
	cr_assert_eq(workload_remove_cgroup(&w, 0, &err), 0);
	cr_assert_not(workload_reap(&w));
	cr_assert_eq(workload_wait(&w, &err), 0);
	workload_stop(&w, 0); /* nothing to stop */
}
