/* The runtime path: the container's runtime run by cglat itself (see bench_runtime.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include "bench_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "text.h"

extern char **environ;

#define SKIP_HINT "or leave out the runtime path (--paths docker,api,direct)"

bool bench_runtime_flag(const char *cmdline, size_t len, const char *flag, char *out, size_t cap)
{
	const char *bare = flag;
	while (*bare == '-')
		bare++;
	size_t blen = strlen(bare);
	bool found = false;
	for (size_t i = 0; i < len;) {
		const char *arg = cmdline + i;
		size_t alen = strnlen(arg, len - i);
		size_t next = i + alen + 1;
		const char *a = arg;
		int dashes = 0;
		while (*a == '-' && dashes < 2) {
			a++;
			dashes++;
		}
		if (dashes && strncmp(a, bare, blen) == 0) {
			if (a[blen] == '=') {
				snprintf(out, cap, "%s", a + blen + 1);
				found = true;
			} else if (a[blen] == '\0' && next < len) {
				snprintf(out, cap, "%.*s", (int)strnlen(cmdline + next, len - next),
				         cmdline + next);
				found = true;
				next += strnlen(cmdline + next, len - next) + 1;
			}
		}
		i = next;
	}
	return found; /* Go's flag package: the last one given wins, as here */
}

void bench_runtime_exec_root(const char *cmdline, size_t len, const char *daemon_json, char *out,
                             size_t cap)
{
	if (cmdline && bench_runtime_flag(cmdline, len, "--exec-root", out, cap) && out[0])
		return;
	json_t *root = daemon_json ? json_loads(daemon_json, 0, NULL) : NULL;
	const char *v = json_string_value(json_object_get(root, "exec-root"));
	snprintf(out, cap, "%s", v && *v ? v : BENCH_RUNTIME_EXEC_ROOT);
	json_decref(root);
}

int bench_runtime_root(const char *exec_root, const char *name, char *out, size_t cap,
                       struct cg_err *err)
{
	if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return cg_errf(err,
		               "runtime name \"%s\" is not a directory name; pass --runtime-root",
		               name ? name : "");
	if ((size_t)snprintf(out, cap, "%s/runtime-%s/moby", exec_root, name) >= cap)
		return cg_errf(err, "the state root of runtime %s under %s is too long", name,
		               exec_root);
	return 0;
}

static bool executable_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int bench_runtime_find_bin(const char *bin, const char *search_path, char *out, size_t cap)
{
	if (!bin || !*bin)
		return -1;
	if (strchr(bin, '/')) {
		if (!executable_file(bin) || (size_t)snprintf(out, cap, "%s", bin) >= cap)
			return -1;
		return 0;
	}
	for (const char *p = search_path ? search_path : ""; *p;) {
		size_t n = strcspn(p, ":");
		if (n > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)n, p, bin) < cap &&
		    executable_file(out))
			return 0;
		p += n + (p[n] == ':');
	}
	out[0] = '\0';
	return -1;
}

const char *bench_runtime_name(const struct docker_info *info, const struct docker_container *c)
{
	if (c && c->runtime[0])
		return c->runtime;
	return info->default_runtime;
}

int bench_runtime_argv(const struct bench_runtime_info *rt, const char *id, enum cg_resource r,
                       int64_t value, char storage[32], const char *argv[10])
{
	int argc = 0;
	snprintf(storage, 32, "%lld", (long long)value);
	argv[argc++] = rt->bin;
	argv[argc++] = "--root";
	argv[argc++] = rt->root;
	argv[argc++] = "update";
	argv[argc++] = r == CG_RES_MEMORY ? "--memory" : "--cpu-quota";
	argv[argc++] = storage;
	argv[argc++] = id;
	argv[argc] = NULL;
	return argc;
}

/* A small /proc file whole (cmdline, environ: NUL-separated); NULL when unreadable. */
static char *read_proc(pid_t pid, const char *what, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf && n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static char *read_text_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 1 << 16;
	char *buf = malloc(cap + 1);
	size_t n = buf ? fread(buf, 1, cap, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Where the runtime binary is looked for: dockerd's PATH (containerd and the shim that
 * run the runtime inherit a PATH like it), then cglat's, then the usual directories. */
static void search_path(pid_t dockerd_pid, char *out, size_t cap)
{
	size_t len = 0;
	char *env = dockerd_pid > 0 ? read_proc(dockerd_pid, "environ", &len) : NULL;
	const char *theirs = NULL;
	for (size_t i = 0; env && i < len; i += strlen(env + i) + 1)
		if (strncmp(env + i, "PATH=", 5) == 0)
			theirs = env + i + 5;
	const char *ours = getenv("PATH");
	snprintf(out, cap, "%s:%s:%s", theirs ? theirs : "", ours ? ours : "",
	         BENCH_RUNTIME_SEARCH_PATH);
	free(env);
}

static void dockerd_exec_root(pid_t dockerd_pid, char *out, size_t cap)
{
	size_t len = 0;
	char *cmdline = dockerd_pid > 0 ? read_proc(dockerd_pid, "cmdline", &len) : NULL;
	char config[PATH_MAX] = "/etc/docker/daemon.json";
	if (cmdline)
		bench_runtime_flag(cmdline, len, "--config-file", config, sizeof(config));
	char *json = read_text_file(config);
	bench_runtime_exec_root(cmdline, len, json, out, cap);
	free(json);
	free(cmdline);
}

int bench_runtime_resolve(const struct bench_config *cfg, const struct docker_info *info,
                          const struct docker_container *c, pid_t dockerd_pid,
                          struct bench_runtime_info *rt, struct cg_err *err)
{
	memset(rt, 0, sizeof(*rt));
	const char *name = bench_runtime_name(info, c);
	const char *what = c ? c->name : "the container cglat makes";
	if (!name || !*name)
		return cg_errf(err,
		               "runtime path: dockerd names no runtime for %s; pass --runtime-bin "
		               "and --runtime-root, " SKIP_HINT,
		               what);
	snprintf(rt->name, sizeof(rt->name), "%s", name);

	const char *bin = cfg->runtime_bin ? cfg->runtime_bin : docker_runtime_path(info, name);
	char where[3 * PATH_MAX];
	search_path(dockerd_pid, where, sizeof(where));
	if (bench_runtime_find_bin(bin, where, rt->bin, sizeof(rt->bin)) < 0) {
		if (cfg->runtime_bin)
			return cg_errf(err,
			               "--runtime-bin %s: no such executable; give the path of the "
			               "container's runtime (runc, crun), " SKIP_HINT,
			               cfg->runtime_bin);
		return cg_errf(err,
		               "runtime path: cannot find %s, the binary of Docker's runtime %s "
		               "(of %s), in dockerd's PATH or /usr/sbin, /usr/bin; install it or "
		               "pass --runtime-bin PATH, " SKIP_HINT,
		               bin, name, what);
	}

	char exec_root[PATH_MAX] = "";
	if (cfg->runtime_root) {
		snprintf(rt->root, sizeof(rt->root), "%s", cfg->runtime_root);
	} else {
		dockerd_exec_root(dockerd_pid, exec_root, sizeof(exec_root));
		if (bench_runtime_root(exec_root, name, rt->root, sizeof(rt->root), err))
			return -1;
	}
	struct stat st;
	int e = stat(rt->root, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (e == 0)
		return 0;
	if (cfg->runtime_root)
		return cg_errf(err,
		               "--runtime-root %s: %s; give the directory where %s keeps its "
		               "containers' state, " SKIP_HINT,
		               cfg->runtime_root, strerror(e), name);
	/* A dockerd that has not run a container with this runtime yet has no root: the
	 * container cglat makes creates it (its state is checked once it runs). One named
	 * with --container must have it. */
	if (!c && e == ENOENT && stat(exec_root, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return cg_errf(err,
	               "runtime path: %s's state root %s does not exist: %s was not started "
	               "by this dockerd with runtime %s, or dockerd keeps its state elsewhere "
	               "(rootless, another --exec-root); pass --runtime-root DIR, " SKIP_HINT,
	               name, rt->root, c ? c->name : "no container was", name);
}

int bench_runtime_check_state(const struct bench_runtime_info *rt, const char *id, const char *name,
                              struct cg_err *err)
{
	char path[PATH_MAX + 128];
	snprintf(path, sizeof(path), "%s/%s/state.json", rt->root, id);
	if (access(path, F_OK) == 0)
		return 0;
	return cg_errf(err,
	               "runtime path: %s keeps no state of container %s under %s (no %.12s.../"
	               "state.json there): it was not started by this dockerd with runtime %s, "
	               "or dockerd keeps its state elsewhere (rootless, another --exec-root); "
	               "pass --runtime-root DIR, " SKIP_HINT,
	               rt->name, name, rt->root, id, rt->name);
}

int bench_runtime_update(const struct bench_runtime_info *rt, const char *id, enum cg_resource r,
                         int64_t value, pid_t *pid, struct cg_err *err)
{
	char storage[32], line[512];
	const char *argv[10];
	int fds[2], status = 0;
	*pid = 0;
	bench_runtime_argv(rt, id, r, value, storage, argv);
	if (pipe2(fds, O_CLOEXEC) != 0)
		return cg_errf(err, "cannot create a pipe for %s's stderr: %s", rt->name,
		               strerror(errno));
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc == 0) {
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
		/* rt->bin is absolute: posix_spawn execve's it, no PATH search, no shell. */
		rc = posix_spawn(pid, rt->bin, &fa, NULL, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return cg_errf(err, "cannot run %s: %s; pass --runtime-bin", rt->bin, strerror(rc));
	}
	text_read_first_line(fds[0], line, sizeof(line));
	close(fds[0]);
	while (waitpid(*pid, &status, 0) < 0)
		if (errno != EINTR)
			return cg_errf(err, "waiting for %s: %s", rt->bin, strerror(errno));
	if (WIFSIGNALED(status))
		return cg_errf(err, "%s update was killed by signal %d (%s)", rt->name,
		               WTERMSIG(status), strsignal(WTERMSIG(status)));
	if (WEXITSTATUS(status) == 127 && !line[0])
		return cg_errf(err,
		               "cannot run %s: not found or not executable; pass --runtime-bin",
		               rt->bin);
	if (WEXITSTATUS(status) != 0)
		return cg_errf(err, "%s update failed (exit %d): %s", rt->name, WEXITSTATUS(status),
		               line[0] ? line : "no message on stderr");
	return 0;
}
