/* What identifies leftovers of a killed cglat: cgroup names and the owner label. */
#include <criterion/criterion.h>
#include <unistd.h>

#include "docker.h"
#include "stale.h"

Test(stale, cgroup_owner)
{
	cr_assert_eq(stale_cgroup_owner("cglat-run-123"), 123);
	cr_assert_eq(stale_cgroup_owner("cglat-monitor-42"), 42);
	cr_assert_eq(stale_cgroup_owner("cglat-run-"), 0);
	cr_assert_eq(stale_cgroup_owner("cglat-run-12x"), 0);
	cr_assert_eq(stale_cgroup_owner("cglat-run-012"), 0);
	cr_assert_eq(stale_cgroup_owner("cglat-run-99999999999"), 0);
	cr_assert_eq(stale_cgroup_owner("job"), 0);
	cr_assert_eq(stale_cgroup_owner("cglat-bench-1"), 0);
}

Test(stale, pid_alive)
{
	cr_assert(stale_pid_alive(getpid()));
	cr_assert_not(stale_pid_alive(0));
	cr_assert_not(stale_pid_alive(-1));
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define INSPECT(labels)                                                                            \
	"{\"Id\":\"" ID "\",\"Name\":\"/x\",\"State\":{\"Running\":true,\"Pid\":7},"               \
	"\"HostConfig\":{},\"Config\":{\"Labels\":" labels "}}"

Test(stale, owner_label)
{
	struct docker_container c;
	struct cg_err err;
	cr_assert_eq(docker_parse_inspect(INSPECT("{\"cglat.owner\":\"4242\"}"), &c, &err), 0);
	cr_assert_eq(c.owner, 4242);
	cr_assert_eq(docker_parse_inspect(INSPECT("{\"cglat.owner\":\"42x\"}"), &c, &err), 0);
	cr_assert_eq(c.owner, 0);
	cr_assert_eq(docker_parse_inspect(INSPECT("{\"cglat.owner\":\"-1\"}"), &c, &err), 0);
	cr_assert_eq(c.owner, 0);
	cr_assert_eq(docker_parse_inspect(INSPECT("null"), &c, &err), 0);
	cr_assert_eq(c.owner, 0);
	cr_assert_eq(docker_parse_inspect(INSPECT("{\"cglat.owner\":7}"), &c, &err), 0);
	cr_assert_eq(c.owner, 0);
}
