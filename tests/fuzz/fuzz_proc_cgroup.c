/* /proc/PID/cgroup text -> memberships, and each controller's directory from them. */
#include "cgroup.h"
#include "fuzz_common.h"

static const char mountinfo[] =
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cg_mounts mounts;
	static struct cg_memberships ms;
	static int parsed;
	if (!parsed && cgroup_parse_mountinfo(mountinfo, &mounts, NULL) == 0)
		parsed = 1;
	char *text = fuzz_string(data, size);
	struct cg_err err;
	if (cgroup_parse_proc(text, &ms, &err) == 0) {
		static const char *const ctls[] = {"memory", "cpu", "pids", "cpuset"};
		for (size_t i = 0; i < 4; i++) {
			char dir[PATH_MAX], id[65];
			int version;
			if (cgroup_dir_of(&mounts, &ms, ctls[i], dir, sizeof(dir), &version,
			                  &err) == 0) {
				(void)cgroup_mount_len(&mounts, dir);
				(void)cgroup_container_id_of_path(dir, id);
			}
		}
	}
	free(text);
	return 0;
}
