/* The life cycle of a command in a cgroup of its own (cglat run, cglat monitor -- CMD). */
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "signals.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* The child the forwarded signals go to; 0 when none. */
static volatile sig_atomic_t forward_pid;

static void forward_signal(int sig)
{
	if (forward_pid > 0)
		kill((pid_t)forward_pid, sig);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void workload_init(struct workload *w)
{
	memset(w, 0, sizeof(*w));
	w->go_fd = w->report_fd = -1;
}

int workload_make_cgroup(struct workload *w, const char *parent, const char *name, unsigned want,
                         unsigned need, struct cg_err *err)
{
	if (cglat_cgroup_create(NULL, parent, name, want, need, &w->cg, err) < 0)
		return -1;
	w->cg_made = true;
	return 0;
}

/* Waits for the byte that lets it run (EOF: given up, or cglat is gone: then running
 * CMD is wrong), renices, execs; a failure goes back through report_fd. */
static void child_main(char *const *cmd, const struct workload_opts *o, int go_fd, int report_fd,
                       const sigset_t *old_mask)
{
	for (size_t i = 0; i < N_FORWARDED; i++)
		signal(forwarded[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, old_mask, NULL);
	char c;
	ssize_t n;
	do
		n = read(go_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(126);
	struct cg_err err = {{0}};
	int code = 1;
	if (o->nice_set && setpriority(PRIO_PROCESS, 0, o->nice) < 0) {
		cg_errf(&err, "setpriority(%d): %s", o->nice, strerror(errno));
	} else {
		execvp(cmd[0], cmd);
		code = errno == ENOENT ? 127 : 126;
		cg_errf(&err, "cannot run %s: %s", cmd[0], strerror(errno));
	}
	n = write(report_fd, err.msg, strlen(err.msg));
	(void)n;
	_exit(code);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int workload_start(struct workload *w, char *const *cmd, const struct workload_opts *o,
                   struct cg_err *err)
{
	int go[2], report[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return cg_errf(err, "cannot start %s: %s", cmd[0], strerror(errno));
	if (pipe2(report, O_CLOEXEC) < 0) {
		int e = errno;
		close(go[0]);
		close(go[1]);
		return cg_errf(err, "cannot start %s: %s", cmd[0], strerror(e));
	}
	/* Blocked until the child is in its cgroup and, with forward, forward_pid is set: a
	 * signal in between is then forwarded, not lost. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < N_FORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (o->forward && signals_stop_requested()) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(go[0]);
		close(go[1]);
		close(report[0]);
		close(report[1]);
		return cg_errf(err, "interrupted by %s before %s started",
		               signals_name(signals_stop_requested()), cmd[0]);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(report[0]);
		child_main(cmd, o, go[0], report[1], &old);
	}
	int fork_errno = errno;
	close(go[0]);
	close(report[1]);
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(go[1]);
		close(report[0]);
		return cg_errf(err, "cannot start %s: %s", cmd[0], strerror(fork_errno));
	}
	w->pid = pid;
	w->exited = false;
	w->go_fd = go[1];
	w->report_fd = report[0];
	int rc = cglat_cgroup_join(&w->cg, pid, err);
	if (rc == 0 && o->forward) {
		forward_pid = pid;
		struct sigaction sa = {.sa_handler = forward_signal};
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < N_FORWARDED; i++)
			sigaction(forwarded[i], &sa, NULL);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0) {
		workload_release(w, false);
		workload_wait(w, NULL);
	}
	return rc;
}

/* The held child may have died (a forwarded signal): the write must not raise SIGPIPE. */
static void write_go(int fd)
{
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old);
	if (write(fd, "g", 1) < 0 && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
		struct timespec zero = {0, 0};
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

void workload_release(struct workload *w, bool run)
{
	if (w->go_fd < 0)
		return;
	if (run) {
		w->released_ns = now_ns();
		write_go(w->go_fd);
	}
	close_fd(&w->go_fd);
	w->child_err[0] = '\0';
	if (run) {
		/* EOF when CMD is exec'd (the pipe is close-on-exec) or the child is gone. */
		size_t len = 0;
		for (;;) {
			ssize_t n = read(w->report_fd, w->child_err + len,
			                 sizeof(w->child_err) - 1 - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += (size_t)n;
			if (len == sizeof(w->child_err) - 1)
				break;
		}
		w->child_err[len] = '\0';
	}
	close_fd(&w->report_fd);
}

static void mark_exited(struct workload *w)
{
	w->exited = true;
	w->exited_ns = now_ns();
	if (forward_pid == w->pid)
		forward_pid = 0;
}

bool workload_reap(struct workload *w)
{
	if (w->exited || w->pid <= 0)
		return w->exited;
	if (waitpid(w->pid, &w->status, WNOHANG) == w->pid)
		mark_exited(w);
	return w->exited;
}

int workload_wait(struct workload *w, struct cg_err *err)
{
	if (w->exited || w->pid <= 0)
		return 0;
	while (waitpid(w->pid, &w->status, 0) < 0)
		if (errno != EINTR)
			return cg_errf(err, "waiting for PID %d: %s", (int)w->pid, strerror(errno));
	mark_exited(w);
	return 0;
}

void workload_stop(struct workload *w, double grace_s)
{
	if (w->pid <= 0 || workload_reap(w))
		return;
	kill(w->pid, SIGTERM);
	for (int i = 0; i < (int)(grace_s * 10) && !workload_reap(w); i++)
		usleep(100000);
	if (!workload_reap(w)) {
		kill(w->pid, SIGKILL);
		workload_wait(w, NULL);
	}
}

double workload_seconds(const struct workload *w)
{
	if (!w->released_ns)
		return 0;
	uint64_t end = w->exited ? w->exited_ns : now_ns();
	return end > w->released_ns ? (double)(end - w->released_ns) / 1e9 : 0;
}

int workload_remove_cgroup(struct workload *w, double timeout_s, struct cg_err *err)
{
	if (!w->cg_made)
		return 0;
	if (cglat_cgroup_remove(&w->cg, timeout_s, err) < 0)
		return -1;
	w->cg_made = false;
	return 0;
}
