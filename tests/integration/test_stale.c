/* SIGKILL cannot be handled: what a killed cglat leaves (its container, its cgroup) is
 * removed by the next run, which says so on stderr. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(stale, .timeout = 180);

/* Polls cond for timeout_s (times it_time_scale) of wall time: each poll runs docker,
 * which takes seconds in a slow VM. */
static bool wait_for(bool (*cond)(pid_t), pid_t pid, double timeout_s)
{
	double deadline = it_now() + timeout_s * it_time_scale();
	while (it_now() < deadline) {
		if (cond(pid))
			return true;
		usleep(100 * 1000);
	}
	return cond(pid);
}

static bool has_container(pid_t pid)
{
	char *ids = it_owned_containers(pid);
	bool yes = it_count_lines(ids) > 0;
	free(ids);
	return yes;
}

static void kill_and_reap(struct it_proc *p)
{
	kill(p->pid, SIGKILL);
	int status = 0;
	it_wait(p, 30, NULL, NULL, &status);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

Test(stale, bench_container_of_a_killed_run)
{
	it_ensure_image();
	const char *argv[] = {CGLAT_BIN, "-n", "100000", "--paths", "direct", NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	bool made = wait_for(has_container, p.pid, 60);
	kill_and_reap(&p);
	cr_assert(made, "cglat %d made no container in 60 s", (int)p.pid);
	cr_assert(has_container(p.pid), "the container went away with SIGKILL");

	const char *next[] = {"-n", "1", "--paths", "direct", NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_cglat(next, &out, &err, &status, NULL), 0);
	cr_expect_eq(it_exit_code(status), 0, "%s", err);
	char *says = it_strf("removed container cglat-bench-%d", (int)p.pid);
	cr_expect(strstr(err, says), "the next run does not say \"%s\": %s", says, err);
	cr_expect(!has_container(p.pid), "container of killed cglat %d still there", (int)p.pid);
	it_remove_owned(p.pid);
	free(says);
	free(out);
	free(err);
}

static char run_dir[256];

static bool dir_exists(pid_t pid)
{
	(void)pid;
	struct stat st;
	return stat(run_dir, &st) == 0;
}

static bool dir_empty(pid_t pid)
{
	(void)pid;
	char path[300], text[256] = "";
	snprintf(path, sizeof(path), "%s/cgroup.procs", run_dir);
	return it_read_text(path, text, sizeof(text)) == 0 && !*text;
}

Test(stale, cgroup_of_a_killed_run)
{
	const char *argv[] = {CGLAT_BIN, "run", "--memory", "64m", "--", "sleep", "0.5", NULL};
	struct it_proc p;
	cr_assert_eq(it_spawn(argv, &p), 0);
	snprintf(run_dir, sizeof(run_dir), "/sys/fs/cgroup%s/cglat/cglat-run-%d",
	         it_cgroup_v2() ? "" : "/memory", (int)p.pid);
	bool made = wait_for(dir_exists, p.pid, 10);
	kill_and_reap(&p);
	cr_assert(made, "cglat run made no %s", run_dir);
	/* The command outlives cglat; its cgroup can go once it has exited. */
	cr_assert(wait_for(dir_empty, p.pid, 10), "sleep 0.5 still runs in %s", run_dir);
	cr_assert(dir_exists(p.pid));

	const char *next[] = {"run", "--", "true", NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_cglat(next, &out, &err, &status, NULL), 0);
	cr_expect_eq(it_exit_code(status), 0, "%s", err);
	cr_expect(strstr(err, run_dir), "the next run does not name %s: %s", run_dir, err);
	cr_expect(strstr(err, "which was killed"), "%s", err);
	cr_expect(!dir_exists(p.pid), "%s is still there", run_dir);
	if (dir_exists(p.pid))
		rmdir(run_dir);
	free(out);
	free(err);
}
