/* cglat monitor's command line: the limit options it shares with run, and what it refuses. */
#include <criterion/criterion.h>
#include <string.h>

#include "monitor_cli.h"

/* cfg.cmd points into argv: keep argv beyond the compound literal's block. */
static int parse_kept(int argc, char **argv, struct monitor_config *cfg, bool *help,
                      struct cg_err *err)
{
	static char *kept[64];
	memcpy(kept, argv, (size_t)(argc + 1) * sizeof(*argv));
	return monitor_parse(argc, kept, cfg, help, err);
}

#define MON_ARGV(...) ((char *[]){"monitor", __VA_ARGS__, NULL})
#define MON_ARGC(...) ((int)(sizeof((char *[]){"monitor", __VA_ARGS__}) / sizeof(char *)))
#define MON_PARSE(cfg, help, err, ...)                                                             \
	parse_kept(MON_ARGC(__VA_ARGS__), MON_ARGV(__VA_ARGS__), cfg, help, err)

Test(monitor_cli, parse_takes_the_limit_options_of_run)
{
	struct monitor_config cfg;
	struct cg_err err;
	bool help;
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "10", "-m", "64m", "--pids-max", "50",
	                       "--", "make", "-j4"),
	             0, "%s", err.msg);
	cr_assert_not(help);
	cr_assert_eq(cfg.limits.set, CGLAT_SET_NICE | CGLAT_SET_MEMORY | CGLAT_SET_PIDS_MAX);
	cr_assert_eq(cfg.limits.nice, 10);
	cr_assert_eq(cfg.limits.memory, 64 << 20);
	cr_assert_eq(cfg.limits.pids_max, 50);
	cr_assert_str_eq(cfg.cmd[0], "make");
	cr_assert_str_eq(cfg.cmd[1], "-j4");
	cr_assert_null(cfg.cmd[2]);
	cr_assert_not(cfg.has_target);

	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--memory", "32m", "--", "true"), 0, "%s",
	             err.msg);
	cr_assert_eq(cfg.limits.set, CGLAT_SET_MEMORY);
	cr_assert_eq(cfg.limits.memory, 32 << 20);
}

Test(monitor_cli, parse_refuses_a_bad_nice_and_limits_without_a_command)
{
	struct monitor_config cfg;
	struct cg_err err;
	bool help;
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "20", "--", "true"), -1);
	cr_assert(strstr(err.msg, "--nice"), "%s", err.msg);
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "x", "--", "true"), -1);
	cr_assert(strstr(err.msg, "--nice"), "%s", err.msg);
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice"), -1);
	cr_assert(strstr(err.msg, "needs a value"), "%s", err.msg);
	/* a running target's priority is cglat set's */
	cr_assert_eq(MON_PARSE(&cfg, &help, &err, "--nice", "5", "web"), -1);
	cr_assert(strstr(err.msg, "go with -- CMD"), "%s", err.msg);
	cr_assert_eq(
	        MON_PARSE(&cfg, &help, &err, "--cpus", "1", "--cpu-quota", "1000", "--", "true"),
	        -1);
}
