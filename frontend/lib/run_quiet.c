#include "run_quiet.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "text.h"

extern char **environ;

static int spawn(const char *bin, const char *const argv[], int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc != 0)
		return rc;
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	/* argv's strings are not modified; posix_spawn only lacks the const. No shell. */
	char *const *av = (char *const *)argv;
	if (strchr(bin, '/'))
		rc = posix_spawn(pid, bin, &fa, NULL, av, environ);
	else
		rc = posix_spawnp(pid, bin, &fa, NULL, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int run_quiet(const char *bin, const char *const argv[], struct run_quiet *r)
{
	memset(r, 0, sizeof(*r));
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		r->error = errno;
		r->failed = "run";
		return -1;
	}
	int rc = spawn(bin, argv, fds[1], &r->pid);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		r->pid = 0;
		r->error = rc;
		r->failed = "run";
		return -1;
	}
	text_read_first_line(fds[0], r->line, sizeof(r->line));
	close(fds[0]);
	while (waitpid(r->pid, &r->status, 0) < 0)
		if (errno != EINTR) {
			r->error = errno;
			r->failed = "wait";
			return -1;
		}
	return 0;
}
