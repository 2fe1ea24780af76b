/* Which unix sockets of a process are connected to sockets another holds: a child keeps
 * the far ends of socketpairs whose near ends the test keeps. Needs no root: a process
 * may read its own /proc/<pid>/fd and its children's. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unix_peers.h"

struct kid {
	pid_t pid;
	int stop; /* closing it (or the test's exit) ends the child */
};

static int kept(int fd, int sp[][2], size_t n, int wait_fd)
{
	for (size_t i = 0; i < n; i++)
		if (fd == sp[i][1])
			return 1;
	return fd == wait_fd;
}

/* Forks a child that keeps sp[i][1] and nothing else of ours (an inherited copy of both
 * ends of some other pair would be reported too), names itself comm, says it is ready
 * and waits. The test keeps sp[i][0]. */
static struct kid spawn(int sp[][2], size_t n, const char *comm)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c = 'r';
		for (int fd = 0; fd < 1024; fd++)
			if (!kept(fd, sp, n, p[0]))
				close(fd);
		if (comm)
			prctl(PR_SET_NAME, comm);
		if (write(sp[0][1], &c, 1) == 1 && read(p[0], &c, 1) >= 0)
			_exit(0);
		_exit(1);
	}
	close(p[0]);
	for (size_t i = 0; i < n; i++)
		close(sp[i][1]);
	char c;
	cr_assert_eq(read(sp[0][0], &c, 1), 1, "the child did not get ready");
	return (struct kid){pid, p[1]};
}

static void reap(struct kid k)
{
	kill(k.pid, SIGKILL);
	waitpid(k.pid, NULL, 0);
	close(k.stop);
}

static void pairs(int sp[][2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]), 0);
}

Test(unix_peers, parent_end_found)
{
	int sp[1][2], own[2];
	pairs(sp, 1);
	struct kid k = spawn(sp, 1, NULL);
	pairs(&own, 1); /* both ends here: connected, but not to the child */
	int fds[8];
	size_t n = 99;
	struct cg_err err = {""};
	cr_expect_eq(unix_peer_fds(getpid(), k.pid, fds, 8, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 1);
	cr_expect_eq(fds[0], sp[0][0]);
	reap(k);
	close(own[0]);
	close(own[1]);
	close(sp[0][0]);
}

Test(unix_peers, child_end_found)
{
	int sp[1][2];
	pairs(sp, 1);
	int child_fd = sp[0][1]; /* fork keeps the number */
	struct kid k = spawn(sp, 1, NULL);
	int fds[8];
	size_t n = 99;
	struct cg_err err = {""};
	cr_expect_eq(unix_peer_fds(k.pid, getpid(), fds, 8, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 1);
	cr_expect_eq(fds[0], child_fd);
	reap(k);
	close(sp[0][0]);
}

Test(unix_peers, no_such_pid)
{
	int fds[1];
	size_t n = 99;
	struct cg_err err = {""};
	cr_expect_eq(unix_peer_fds(INT_MAX - 1, getpid(), fds, 1, &n, &err), -1);
	cr_expect_eq(n, 0);
	cr_expect(strstr(err.msg, "2147483646") != NULL, "%s", err.msg);
	err.msg[0] = '\0';
	cr_expect_eq(unix_peer_fds(getpid(), INT_MAX - 1, fds, 1, &n, &err), -1);
	cr_expect(strstr(err.msg, "/proc/2147483646/fd") != NULL, "%s", err.msg);
}

Test(unix_peers, cap_smaller_than_count)
{
	int sp[3][2];
	pairs(sp, 3);
	struct kid k = spawn(sp, 3, NULL);
	int fds[3] = {-1, -1, -1};
	size_t n = 0;
	struct cg_err err = {""};
	cr_expect_eq(unix_peer_fds(getpid(), k.pid, fds, 2, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 3);
	cr_expect_eq(fds[0], sp[0][0]); /* ascending: the pairs were made in order */
	cr_expect_eq(fds[1], sp[1][0]);
	cr_expect_eq(fds[2], -1, "wrote past cap");
	reap(k);
	for (size_t i = 0; i < 3; i++)
		close(sp[i][0]);
}

Test(unix_peers, process_by_comm)
{
	int sp[1][2];
	pairs(sp, 1);
	struct kid k = spawn(sp, 1, "cglat-peer-t");
	pid_t out = -1;
	struct cg_err err = {""};
	cr_expect_eq(unix_peer_process("cglat-peer-t", getpid(), &out, &err), 0, "%s", err.msg);
	cr_expect_eq(out, k.pid);
	out = -1;
	cr_expect_eq(unix_peer_process("cglat-nobody-x", getpid(), &out, &err), 0, "%s", err.msg);
	cr_expect_eq(out, 0);
	reap(k);
	close(sp[0][0]);
}

/* A process with no socket at all: none found, and no error (nothing to sort or search;
 * the sanitizer build once caught a sort of a table that was never made). */
Test(unix_peers, a_process_without_sockets_has_none)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		for (int fd = 0; fd < 1024; fd++)
			if (fd != p[0])
				close(fd);
		char c;
		_exit(read(p[0], &c, 1) >= 0 ? 0 : 1);
	}
	close(p[0]);
	/* Its fds are closed once /proc/PID/fd lists only the pipe. */
	for (int i = 0; i < 200; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/fd/1", (int)pid);
		if (access(path, F_OK) != 0 && errno == ENOENT)
			break;
		usleep(5000);
	}
	int fds[4];
	size_t n = 99;
	struct cg_err err = {{0}};
	cr_expect_eq(unix_peer_fds(pid, getpid(), fds, 4, &n, &err), 0, "%s", err.msg);
	cr_expect_eq(n, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[1]);
}
