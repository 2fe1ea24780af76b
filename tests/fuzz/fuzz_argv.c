/* Command lines: the input split on NUL bytes is argv for bench, watch, set and run, and
 * name/value pairs for the limit options. */
#include "bench_cli.h"
#include "run.h"
#include "set.h"
#include "fuzz_common.h"
#include "watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[64], *buf;
	struct cg_err err;
	enum cli_action action;
	int argc = fuzz_argv(data, size, "cglat", argv, 64, &buf);
	struct bench_config cfg;
	(void)cli_parse_bench(argc, argv, &cfg, &action, &err);
	free(buf);

	argc = fuzz_argv(data, size, "watch", argv, 64, &buf);
	struct watch_config wcfg;
	(void)watch_parse(argc, argv, &wcfg, &action, &err);
	free(buf);

	argc = fuzz_argv(data, size, "set", argv, 64, &buf);
	struct set_args sa;
	(void)set_parse(argc, argv, &sa, &err);
	free(buf);

	argc = fuzz_argv(data, size, "run", argv, 64, &buf);
	struct run_args ra;
	(void)run_parse(argc, argv, &ra, &err);
	free(buf);

	/* name, value, name, value... */
	argc = fuzz_argv(data, size, "limits", argv, 64, &buf);
	struct cglat_limits l;
	memset(&l, 0, sizeof(l));
	for (int i = 1; i + 1 < argc; i += 2)
		(void)cglat_limits_parse(&l, argv[i], argv[i + 1], &err);
	(void)cglat_limits_check(&l, &err);
	free(buf);
	return 0;
}
