/* /proc/self/mountinfo text -> cgroup mounts, the cgroup mode, and directories for a
 * fixed process. */
#include "cgroup.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cg_mounts mounts;
	static struct cg_memberships ms;
	static int parsed;
	if (!parsed &&
	    cgroup_parse_proc("4:memory:/docker/abc\n3:cpu:/docker/abc\n0::/x\n", &ms, NULL) == 0)
		parsed = 1;
	char *text = fuzz_string(data, size);
	struct cg_err err;
	enum cg_mode mode;
	if (cgroup_parse_mountinfo(text, &mounts, &err) == 0 &&
	    cgroup_mode_of(&mounts, &mode, &err) == 0) {
		char dir[PATH_MAX];
		int version;
		if (cgroup_dir_of(&mounts, &ms, "memory", dir, sizeof(dir), &version, &err) == 0)
			(void)cgroup_mount_len(&mounts, dir);
	}
	free(text);
	return 0;
}
