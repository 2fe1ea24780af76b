/* The options set and run share (opts.h) and their parsers: every option, its range,
 * and the combinations that are refused before anything is read or written. */
#include <criterion/criterion.h>
#include <string.h>

#include "opts.h"
#include "run.h"
#include "set.h"
#include "units.h"

static struct cg_err err;
static struct set_args sa;
static struct run_args ra;

static const char *set_err(int argc, char **argv)
{
	cr_assert_eq(set_parse(argc, argv, &sa, &err), -1, "accepted: %s ...", argv[1]);
	return err.msg;
}

static const char *run_err(int argc, char **argv)
{
	cr_assert_eq(run_parse(argc, argv, &ra, &err), -1, "accepted: %s ...", argv[1]);
	return err.msg;
}

#define ARGV(...) ((char *[]){"set", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"set", __VA_ARGS__}) / sizeof(char *)))
#define SET_OK(...)                                                                                \
	cr_assert_eq(set_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), &sa, &err), 0, "%s", err.msg)
#define SET_ERR(...) set_err(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))
/* ra.cmd points into argv: keep argv beyond the compound literal's block (ASan found it). */
static int run_parse_kept(int argc, char **argv)
{
	static char *kept[64];
	memcpy(kept, argv, (size_t)(argc + 1) * sizeof(*argv));
	return run_parse(argc, kept, &ra, &err);
}
#define RUN_OK(...)                                                                                \
	cr_assert_eq(run_parse_kept(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__)), 0, "%s", err.msg)
#define RUN_ERR(...) run_err(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

Test(set_args, every_limit_option)
{
	SET_OK("web", "-m", "256m", "--memory-swap", "1g", "--memory-high", "200m", "--cpus", "0.5",
	       "--cpu-period", "50000", "--cpu-weight", "200", "--cpuset-cpus", "0-1,3",
	       "--pids-max", "100", "--nice", "-5");
	const struct cglat_limits *l = &sa.limits;
	cr_assert_eq(sa.spec.kind, CGLAT_TARGET_CONTAINER);
	cr_assert_str_eq(sa.spec.ref, "web");
	cr_assert_eq(l->memory, 256 << 20);
	cr_assert_eq(l->memory_swap, 1 << 30);
	cr_assert_eq(l->memory_high, 200 << 20);
	cr_assert_float_eq(l->cpus, 0.5, 1e-12);
	cr_assert_eq(l->cpu_period, 50000);
	cr_assert_eq(l->cpu_weight, 200);
	cr_assert_str_eq(l->cpuset_cpus, "0-1,3");
	cr_assert_eq(l->pids_max, 100);
	cr_assert_eq(l->nice, -5);
	cr_assert_eq(l->set, CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP | CGLAT_SET_MEMORY_HIGH |
	                             CGLAT_SET_CPUS | CGLAT_SET_CPU_PERIOD | CGLAT_SET_CPU_WEIGHT |
	                             CGLAT_SET_CPUSET_CPUS | CGLAT_SET_PIDS_MAX | CGLAT_SET_NICE);
}

Test(set_args, max_and_minus_one)
{
	SET_OK("--memory", "max", "--memory-swap", "-1", "--cpu-quota", "max", "--pids-max", "max",
	       "--cgroup", "cglat/x", "--cpu-shares", "2");
	cr_assert_eq(sa.limits.memory, CGLAT_UNLIMITED);
	cr_assert_eq(sa.limits.memory_swap, CGLAT_UNLIMITED);
	cr_assert_eq(sa.limits.cpu_quota, CGLAT_UNLIMITED);
	cr_assert_eq(sa.limits.pids_max, CGLAT_UNLIMITED);
	cr_assert_eq(sa.limits.cpu_shares, 2);
	cr_assert_eq(sa.spec.kind, CGLAT_TARGET_CGROUP);
	cr_assert_str_eq(sa.spec.ref, "cglat/x");
	SET_OK("--memory-swap", "max", "-p", "42", "--cpu-quota", "20000");
	cr_assert_eq(sa.spec.kind, CGLAT_TARGET_PID);
	cr_assert_eq(sa.spec.pid, 42);
	cr_assert_eq(sa.limits.cpu_quota, 20000);
}

Test(set_args, behaviour_options)
{
	SET_OK("3f2a", "--no-daemon", "--docker-sock", "/x.sock", "--force", "-n", "--verify",
	       "--format", "json", "--memory", "1g");
	cr_assert(sa.spec.no_daemon);
	cr_assert_str_eq(sa.spec.docker_sock, "/x.sock");
	cr_assert(sa.limits.force);
	cr_assert(sa.dry_run);
	cr_assert(sa.verify);
	cr_assert(sa.json);
	SET_OK("--format", "text", "web", "--dry-run", "--cpus", "1");
	cr_assert_not(sa.json);
	cr_assert(sa.dry_run);
	SET_OK("--help");
	cr_assert(sa.help);
	SET_OK("-h");
	cr_assert(sa.help);
}

Test(set_args, out_of_range_values)
{
	cr_assert_str_eq(SET_ERR("web", "--cpu-weight", "0"),
	                 "invalid --cpu-weight \"0\": expected a whole number from 1 to 10000");
	cr_assert_str_eq(SET_ERR("web", "--cpu-weight", "10001"),
	                 "invalid --cpu-weight \"10001\": expected a whole number from 1 to 10000");
	cr_assert_str_eq(SET_ERR("web", "--cpu-shares", "1"),
	                 "invalid --cpu-shares \"1\": expected a whole number from 2 to 262144");
	cr_assert_str_eq(SET_ERR("web", "--cpu-shares", "262145"),
	                 "invalid --cpu-shares \"262145\": expected a whole number from 2 to "
	                 "262144");
	cr_assert(strstr(SET_ERR("web", "--cpu-period", "999"), "from 1000 to 1000000"));
	cr_assert(strstr(SET_ERR("web", "--cpu-period", "1000001"), "from 1000 to 1000000"));
	cr_assert(strstr(SET_ERR("web", "--cpu-quota", "999"), "from 1000 to"));
	cr_assert(strstr(SET_ERR("web", "--cpus", "0"), "must be greater than 0"));
	cr_assert(strstr(SET_ERR("web", "--cpus", "-1"), "invalid CPU count"));
	cr_assert(strstr(SET_ERR("web", "--nice", "20"), "from -20 to 19"));
	cr_assert(strstr(SET_ERR("web", "--nice", "-21"), "from -20 to 19"));
	cr_assert(strstr(SET_ERR("web", "--pids-max", "-1"), "from 0 to 4194304"));
	cr_assert(strstr(SET_ERR("web", "--pids-max", "4194305"), "from 0 to 4194304"));
	cr_assert_str_eq(SET_ERR("web", "--memory", "12x"),
	                 "--memory: invalid size \"12x\": expected a number of bytes with an "
	                 "optional k, m, g or t suffix, like 128m");
	cr_assert(strstr(SET_ERR("web", "--memory", "-1"), "--memory: invalid size"));
	cr_assert(strstr(SET_ERR("web", "--memory-high", "1.5g"), "fractions"));
	cr_assert(strstr(SET_ERR("web", "--cpuset-cpus", "3-1"), "reversed"));
	cr_assert(strstr(SET_ERR("web", "--cpuset-cpus", "a"), "like 0-3,5"));
	cr_assert(strstr(SET_ERR("web", "--cpuset-cpus", "0,"), "like 0-3,5"));
	cr_assert(strstr(SET_ERR("web", "--cpuset-cpus", ""), "empty CPU list"));
	cr_assert(strstr(SET_ERR("web", "--pid", "0", "--cpus", "1"), "invalid --pid"));
	cr_assert(strstr(SET_ERR("web", "--format", "xml", "--cpus", "1"), "text or json"));
}

Test(set_args, targets_and_combinations)
{
	cr_assert_str_eq(SET_ERR("--memory", "1g"),
	                 "no target: name a container, or give --pid PID or --cgroup PATH");
	cr_assert(strstr(SET_ERR("web"), "nothing to change"));
	cr_assert(strstr(SET_ERR("a", "b", "--cpus", "1"), "one container at a time"));
	cr_assert(strstr(SET_ERR("web", "--pid", "1", "--cpus", "1"), "give one target"));
	cr_assert(strstr(SET_ERR("--pid", "1", "--cgroup", "x", "--cpus", "1"), "give one target"));
	cr_assert(strstr(SET_ERR("--pid", "1", "--no-daemon", "--cpus", "1"),
	                 "--no-daemon is for container targets"));
	cr_assert(strstr(SET_ERR("web", "--cpus", "1", "--cpu-quota", "5000"),
	                 "--cpus and --cpu-quota both set"));
	cr_assert(strstr(SET_ERR("web", "--cpu-weight", "1", "--cpu-shares", "5"),
	                 "--cpu-weight and --cpu-shares"));
	cr_assert(strstr(SET_ERR("web", "--memory", "1g", "--memory-swap", "512m"),
	                 "must be at least --memory"));
	cr_assert(strstr(SET_ERR("web", "--memory", "max", "--memory-swap", "512m"),
	                 "must be at least --memory"));
	cr_assert(strstr(SET_ERR("--pid", "1", "--engine", "podman", "--cpus", "1"),
	                 "--engine is for container targets"));
	cr_assert(strstr(SET_ERR("web", "--engine", "podman", "--no-daemon", "--cpus", "1"),
	                 "--no-daemon is Docker's"));
	cr_assert_str_eq(SET_ERR("web", "--engine", "lxc", "--cpus", "1"),
	                 "--engine: unknown engine \"lxc\": expected docker, podman or auto");
	SET_OK("web", "--engine", "podman", "--cpus", "1");
	cr_assert_eq(sa.spec.engine, CGLAT_ENGINE_PODMAN);
	SET_OK("web", "--engine", "docker", "--no-daemon", "--cpus", "1");
	cr_assert_eq(sa.spec.engine, CGLAT_ENGINE_DOCKER);
	SET_OK("web", "--cpus", "1");
	cr_assert_eq(sa.spec.engine, CGLAT_ENGINE_AUTO);
	cr_assert_str_eq(SET_ERR("web", "--bogus"),
	                 "unknown option \"--bogus\"; see cglat set --help");
	cr_assert_str_eq(SET_ERR("web", "--memory"), "option \"--memory\" needs a value");
}

Test(run_args, limits_name_parent_and_command)
{
	RUN_OK("--memory", "32m", "--cpus", "0.2", "--name", "job", "--parent", "/delegated",
	       "--keep", "-v", "--", "./workload", "alloc", "64");
	cr_assert_eq(ra.limits.memory, 32 << 20);
	cr_assert_float_eq(ra.limits.cpus, 0.2, 1e-12);
	cr_assert_str_eq(ra.name, "job");
	cr_assert_str_eq(ra.parent, "/delegated");
	cr_assert(ra.keep);
	cr_assert(ra.verbose);
	cr_assert_str_eq(ra.cmd[0], "./workload");
	cr_assert_str_eq(ra.cmd[2], "64");
	cr_assert_null(ra.cmd[3]);
}

Test(run_args, command_options_are_left_alone)
{
	RUN_OK("--pids-max", "10", "ls", "-l", "--memory", "1");
	cr_assert_str_eq(ra.cmd[0], "ls");
	cr_assert_str_eq(ra.cmd[1], "-l");
	cr_assert_eq(ra.limits.set, CGLAT_SET_PIDS_MAX);
	RUN_OK("true");
	cr_assert_eq(ra.limits.set, 0);
	cr_assert_null(ra.name);
}

Test(run_args, errors)
{
	cr_assert(strstr(RUN_ERR("--memory", "32m"), "no command"));
	cr_assert(strstr(RUN_ERR("--memory", "32m", "--"), "no command"));
	cr_assert(strstr(RUN_ERR("--cpus", "abc", "--", "true"), "invalid CPU count"));
	cr_assert(strstr(RUN_ERR("--cpus", "1", "--cpu-quota", "2000", "true"), "both set"));
	cr_assert(strstr(RUN_ERR("--frobnicate", "true"), "unknown option"));
}
