/* What the plots share: the output's format, safe strings, running gnuplot. */
#include "gnuplot.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *gnuplot_ext(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && !strchr(dot, '/') ? dot + 1 : "";
}

bool gnuplot_format_known(const char *plot_path)
{
	const char *ext = gnuplot_ext(plot_path);
	return strcasecmp(ext, "png") == 0 || strcasecmp(ext, "svg") == 0;
}

bool gnuplot_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '\'' || iscntrl((unsigned char)*s))
			return false;
	return true;
}

/* gnuplot warns about series without a point (monitor's swap-ins where the kernel does
 * not count them): its stderr goes to a temporary file, shown only when it fails. */
int gnuplot_run(const char *script, struct cg_err *err)
{
	char log[] = "/tmp/cglat-gnuplot-XXXXXX";
	int logfd = mkstemp(log);
	if (logfd < 0)
		return cg_errf(err, "cannot make a temporary file: %s", strerror(errno));
	unlink(log);
	pid_t pid;
	const char *argv[] = {"gnuplot", script, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, logfd, 2);
	int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		close(logfd);
		return cg_errf(err,
		               "cannot run gnuplot: %s; install it (apt-get install "
		               "gnuplot-nox)",
		               strerror(rc));
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(logfd);
			return cg_errf(err, "waiting for gnuplot: %s", strerror(errno));
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		close(logfd);
		return 0;
	}
	char text[2048] = "";
	ssize_t n = pread(logfd, text, sizeof(text) - 1, 0);
	close(logfd);
	if (n > 0)
		text[n] = '\0';
	return cg_errf(err, "gnuplot failed:\n%s", text);
}

int gnuplot_draw(const char *plot_path, gnuplot_script_fn write_script, void *ctx,
                 struct cg_err *err)
{
	char script[] = "/tmp/cglat-plot-XXXXXX";
	int fd = mkstemp(script); /* 0600 */
	if (fd < 0)
		return cg_errf(err, "cannot make a temporary file: %s", strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(script);
		return cg_errf(err, "cannot write %s: %s", script, strerror(errno));
	}
	int rc = write_script(f, ctx, err);
	if (fclose(f) != 0 && rc == 0)
		rc = cg_errf(err, "writing %s failed", script);
	if (rc == 0)
		rc = gnuplot_run(script, err);
	unlink(script);
	struct stat st;
	if (rc == 0 && (stat(plot_path, &st) != 0 || st.st_size == 0))
		rc = cg_errf(err, "gnuplot wrote no %s", plot_path);
	return rc;
}
