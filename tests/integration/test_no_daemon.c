/* cglat set --no-daemon with dockerd really down. This stops dockerd (SIGKILL, so that
 * containerd keeps the container running, as a crashed daemon would) and starts it
 * again exactly as scripts/setup.sh does, by running it: whoever else uses Docker at
 * that moment is disturbed, and dockerd's restart stops running containers (no
 * live-restore). Where it runs in the order does not matter: the tests run one at a time
 * (--jobs 1), each makes its own containers, and .fini restarts dockerd and waits until
 * it answers, also when the test fails. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#ifndef CGLAT_SOURCE_DIR
#error "CGLAT_SOURCE_DIR must name the source tree (for scripts/setup.sh)"
#endif

static char cid[65];

static bool docker_answers(void)
{
	return it_docker(NULL, NULL, "version", NULL) == 0;
}

static pid_t dockerd_pid(void)
{
	char text[32] = "";
	if (it_read_text("/var/run/docker.pid", text, sizeof(text)) < 0)
		return 0;
	pid_t pid = (pid_t)atoi(text);
	return pid > 0 && kill(pid, 0) == 0 ? pid : 0;
}

/* scripts/setup.sh starts containerd and dockerd when no dockerd answers. */
static void start_dockerd(void)
{
	if (docker_answers())
		return;
	const char *argv[] = {CGLAT_SOURCE_DIR "/scripts/setup.sh", "--no-build", NULL};
	char *out = NULL, *err = NULL;
	int status = 0;
	int rc = it_run(argv, 120, &out, &err, &status, NULL);
	cr_log_info("scripts/setup.sh --no-build: exit %d: %s", it_exit_code(status), err);
	free(out);
	free(err);
	cr_assert_eq(rc, 0, "scripts/setup.sh timed out");
	cr_assert(docker_answers(), "dockerd did not come back; see /var/log/cglat-dockerd.log");
}

static void restart_and_clean_up(void)
{
	start_dockerd();
	if (*cid)
		it_docker(NULL, NULL, "rm", "-f", cid, NULL);
}

TestSuite(no_daemon, .init = start_dockerd, .fini = restart_and_clean_up, .timeout = 300);

static void stop_dockerd(void)
{
	pid_t pid = dockerd_pid();
	cr_assert_gt(pid, 0, "no dockerd pid in /var/run/docker.pid");
	cr_assert_eq(kill(pid, SIGKILL), 0, "kill dockerd: %s", strerror(errno));
	for (int i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	cr_assert_neq(kill(pid, 0), 0, "dockerd %d did not exit", (int)pid);
	cr_assert_not(docker_answers(), "dockerd still answers");
}

static int cglat(char **out, char **err, const char *const args[])
{
	int status = 0;
	cr_assert_eq(it_cglat(args, out, err, &status, NULL), 0, "cglat timed out");
	return it_exit_code(status);
}

Test(no_daemon, set_finds_the_container_with_dockerd_stopped)
{
	it_ensure_image();
	char *out = NULL, *err = NULL;
	char cname[64];
	snprintf(cname, sizeof(cname), "cglat-no-daemon-%d", (int)getpid());
	cr_assert_eq(it_docker(&out, &err, "run", "-d", "--network", "none", "--cgroupns=host",
	                       "--label", "cglat.test=no-daemon", "--name", cname, IT_IMAGE, NULL),
	             0, "%s", err);
	snprintf(cid, sizeof(cid), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", cid, NULL), 0);
	pid_t cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);

	stop_dockerd();
	char prefix[13];
	snprintf(prefix, sizeof(prefix), "%.12s", cid);
	const char *args[] = {"set",  prefix,   "--no-daemon", "--memory",
	                      "200m", "--cpus", "0.3",         NULL};
	cr_assert_eq(cglat(&out, &err, args), 0, "%s", err);
	cr_log_info("cglat set --no-daemon: %s", out);
	cr_assert(strstr(out, "-> 209715200\n"), "%s", out);
	const char *cpu_line = it_cgroup_v2() ? "cpu.max: max 100000 -> 30000 100000\n"
	                                      : "cpu.cfs_quota_us: -1 -> 30000\n";
	cr_assert(strstr(out, cpu_line), "no %s in: %s", cpu_line, out);
	cr_assert(strstr(err, "Docker does not know"), "%s", err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 209715200);
	cr_assert_eq(it_read_limit(cpid, IT_CPU_QUOTA), 30000);
	free(out);
	free(err);

	/* Without --no-daemon: the error points at it. */
	const char *daemon[] = {"set", prefix, "--memory", "100m", NULL};
	cr_assert_eq(cglat(&out, &err, daemon), 1, "%s", err);
	cr_assert(strstr(err, "--no-daemon"), "%s", err);
	free(out);
	free(err);
	/* A name is read from dockerd's state directory. */
	const char *by_name[] = {"set", cname, "--no-daemon", "--memory", "180m", NULL};
	cr_assert_eq(cglat(&out, &err, by_name), 0, "%s", err);
	cr_assert(strstr(out, "209715200 -> 188743680\n"), "%s", out);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 188743680);
	free(out);
	free(err);
	/* A name that is not there: the error names the directory read. */
	const char *missing[] = {
	        "set", "cglat-no-such-container", "--no-daemon", "--memory", "100m", NULL};
	cr_assert_eq(cglat(&out, &err, missing), 1, "%s", err);
	cr_assert(strstr(err, "no container is named \"cglat-no-such-container\" in "
	                      "/var/lib/docker/containers"),
	          "%s", err);
	free(out);
	free(err);
	cr_assert_eq(it_read_limit(cpid, IT_MEMORY), 188743680,
	             "a refused change changed the file");

	start_dockerd();
}
