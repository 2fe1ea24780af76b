/* Opening cgroup files beneath their mount: no symlink, no "..", nothing outside. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

static char root[64], path[256];

static void make(void)
{
	snprintf(root, sizeof(root), "/tmp/cglat-open-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/grp", root);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/grp/memory.max", root);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fclose(f);
	char outside[128];
	snprintf(outside, sizeof(outside), "%s.outside", root);
	f = fopen(outside, "w");
	cr_assert_not_null(f);
	fclose(f);
}

static void clean(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "%s.outside", root);
	unlink(cmd);
	const char *const files[] = {"grp/memory.max", "grp/link", "grp/dirlink", "grp"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(cmd, sizeof(cmd), "%s/%s", root, files[i]);
		if (unlink(cmd) != 0)
			rmdir(cmd);
	}
	rmdir(root);
}

TestSuite(cgroup_open, .init = make, .fini = clean);

static int open_rel(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return cgroup_open_beneath(p, strlen(root), O_WRONLY);
}

Test(cgroup_open, a_file_below_the_mount)
{
	int fd = open_rel("grp/memory.max");
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

Test(cgroup_open, a_symlinked_file_is_refused)
{
	char link[256], target[256];
	snprintf(link, sizeof(link), "%s/grp/link", root);
	snprintf(target, sizeof(target), "%s.outside", root);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(open_rel("grp/link"), -1);
	cr_assert_eq(errno, ELOOP);
}

Test(cgroup_open, a_symlinked_directory_is_refused)
{
	char link[256];
	snprintf(link, sizeof(link), "%s/grp/dirlink", root);
	cr_assert_eq(symlink("/etc", link), 0);
	cr_assert_eq(open_rel("grp/dirlink/hostname"), -1);
	cr_assert_eq(errno, ELOOP);
}

Test(cgroup_open, dot_dot_out_of_the_mount_is_refused)
{
	char rel[256];
	snprintf(rel, sizeof(rel), "grp/../../%s.outside", strrchr(root, '/') + 1);
	cr_assert_eq(open_rel(rel), -1);
	cr_assert_eq(errno, EXDEV);
}

Test(cgroup_open, a_path_not_below_its_mount_is_refused)
{
	cr_assert_eq(cgroup_open_beneath("/etc/hostname", strlen(root), O_RDONLY), -1);
	cr_assert_eq(errno, EXDEV);
	cr_assert_eq(cgroup_open_beneath("/etc/hostname", 0, O_RDONLY), -1);
	cr_assert_eq(errno, EXDEV);
}

Test(cgroup_open, mount_len_picks_the_longest_mountpoint)
{
	struct cg_mounts m = {.count = 2};
	snprintf(m.mount[0].mountpoint, sizeof(m.mount[0].mountpoint), "/sys/fs/cgroup");
	snprintf(m.mount[1].mountpoint, sizeof(m.mount[1].mountpoint), "/sys/fs/cgroup/memory");
	cr_assert_eq(cgroup_mount_len(&m, "/sys/fs/cgroup/memory/docker/x"), 21);
	cr_assert_eq(cgroup_mount_len(&m, "/sys/fs/cgroup/cpu/x"), 14);
	cr_assert_eq(cgroup_mount_len(&m, "/sys/fs/cgroupx/y"), 0);
	cr_assert_eq(cgroup_mount_len(&m, "/etc/passwd"), 0);
}
