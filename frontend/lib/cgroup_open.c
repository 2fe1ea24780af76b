/* Opening cgroup files without leaving the cgroup mount: the mountpoint is opened as a
 * directory and the rest of the path resolved beneath it, refusing symlinks and "..", so
 * that a crafted /proc/PID/cgroup, --cgroup path or a symlink planted in the tree cannot
 * turn a limit write into a write elsewhere. */
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

size_t cgroup_mount_len(const struct cg_mounts *mounts, const char *path)
{
	size_t best = 0;
	for (size_t i = 0; mounts && i < mounts->count; i++) {
		const char *mp = mounts->mount[i].mountpoint;
		size_t n = strlen(mp);
		while (n > 1 && mp[n - 1] == '/')
			n--;
		if (n > best && strncmp(path, mp, n) == 0 && (path[n] == '/' || path[n] == '\0'))
			best = n;
	}
	return best;
}

/* Kernels before 5.6 have no openat2: each component with O_NOFOLLOW instead. */
static int open_nofollow(int dirfd, const char *rel, int flags)
{
	char part[PATH_MAX];
	int fd = dup(dirfd);
	const char *p = rel;
	while (fd >= 0) {
		p += strspn(p, "/");
		size_t n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(part) || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.')) {
			close(fd);
			errno = n == 0 ? EISDIR : EXDEV;
			return -1;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		p += n;
		bool last = p[strspn(p, "/")] == '\0';
		int next = openat(fd, part,
		                  last ? flags | O_NOFOLLOW
		                       : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		errno = e;
		fd = next;
		if (last)
			return fd;
	}
	return -1;
}

int cgroup_open_beneath(const char *path, size_t root_len, int flags)
{
	char root[PATH_MAX];
	if (root_len == 0 || root_len >= sizeof(root) || strlen(path) <= root_len ||
	    path[root_len] != '/') {
		errno = EXDEV; /* not below the mount it was resolved from */
		return -1;
	}
	memcpy(root, path, root_len);
	root[root_len] = '\0';
	int dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -1;
	const char *rel = path + root_len + 1;
	struct open_how how = {
	        .flags = (uint64_t)(flags | O_CLOEXEC),
	        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
	                   RESOLVE_NO_XDEV,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == E2BIG))
		fd = open_nofollow(dirfd, rel, flags | O_CLOEXEC);
	int e = errno;
	close(dirfd);
	errno = e;
	return fd;
}
