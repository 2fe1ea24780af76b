#include "stale.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "docker.h"

#define STALE_MAX 256

bool stale_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

int stale_remove_containers(struct docker *d, FILE *log)
{
	static char ids[STALE_MAX][65];
	size_t n = 0;
	struct cg_err err;
	if (docker_list_by_label(d, "cglat.owner", ids, STALE_MAX, &n, &err) < 0) {
		if (log)
			fprintf(log,
			        "cglat: warning: cannot list containers left by killed runs: "
			        "%s\n",
			        err.msg);
		return 0;
	}
	int removed = 0;
	for (size_t i = 0; i < n; i++) {
		struct docker_container c;
		if (docker_inspect(d, ids[i], &c, &err) < 0 || c.owner <= 0 ||
		    stale_pid_alive(c.owner))
			continue;
		if (docker_remove(d, c.id, &err) < 0) {
			if (log)
				fprintf(log,
				        "cglat: warning: cannot remove container %s left by "
				        "killed cglat %d: %s\n",
				        c.name, (int)c.owner, err.msg);
			continue;
		}
		removed++;
		if (log)
			fprintf(log,
			        "cglat: removed container %s (%.12s) left by cglat %d, which "
			        "was killed\n",
			        c.name, c.id, (int)c.owner);
	}
	return removed;
}

pid_t stale_cgroup_owner(const char *name)
{
	static const char *const prefixes[] = {"cglat-run-", "cglat-monitor-"};
	for (size_t i = 0; i < 2; i++) {
		size_t len = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], len) != 0)
			continue;
		const char *digits = name + len;
		if (!*digits || strspn(digits, "0123456789") != strlen(digits) ||
		    strlen(digits) > 9 || *digits == '0')
			return 0;
		return (pid_t)atoi(digits);
	}
	return 0;
}

static int clean_dir(const char *cglat_dir, FILE *log)
{
	DIR *d = opendir(cglat_dir);
	if (!d)
		return 0;
	int removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t owner = stale_cgroup_owner(e->d_name);
		if (owner <= 0 || stale_pid_alive(owner))
			continue;
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", cglat_dir, e->d_name) >=
		    sizeof(path))
			continue;
		if (rmdir(path) == 0) {
			removed++;
			if (log)
				fprintf(log,
				        "cglat: removed cgroup %s left by cglat %d, which was "
				        "killed\n",
				        path, (int)owner);
		} else if (log) {
			fprintf(log,
			        "cglat: warning: cannot remove cgroup %s left by killed cglat "
			        "%d: %s\n",
			        path, (int)owner,
			        errno == EBUSY ? "processes still run in it" : strerror(errno));
		}
	}
	closedir(d);
	return removed;
}

int stale_remove_cgroups(const char *mountinfo, FILE *log)
{
	struct cg_mounts *mounts = calloc(1, sizeof(*mounts));
	struct cg_err err;
	int removed = 0;
	if (!mounts || cgroup_load_mounts(mountinfo, mounts, &err) < 0) {
		free(mounts);
		return 0;
	}
	for (size_t i = 0; i < mounts->count; i++) {
		char dir[PATH_MAX];
		if ((size_t)snprintf(dir, sizeof(dir), "%s/cglat", mounts->mount[i].mountpoint) <
		    sizeof(dir))
			removed += clean_dir(dir, log);
	}
	free(mounts);
	return removed;
}
