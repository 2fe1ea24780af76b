/* cglat: subcommand dispatch. `cglat -n 100` is `cglat bench -n 100`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "cmd.h"
#include "doctor.h"
#include "report.h"
#include "signals.h"
#include "watch.h"
#include "monitor.h"

static int write_report(const struct bench_config *cfg, const struct bench_result *res)
{
	FILE *out = stdout;
	if (cfg->output && !(out = fopen(cfg->output, "w"))) {
		fprintf(stderr, "cglat: cannot write %s: %s\n", cfg->output, strerror(errno));
		return -1;
	}
	int rc;
	switch (cfg->format) {
	case FORMAT_JSON:
		rc = report_json(out, cfg, res);
		break;
	case FORMAT_CSV:
		rc = report_csv(out, res);
		break;
	default:
		rc = report_text(out, cfg, res);
	}
	if (out != stdout && fclose(out) != 0)
		rc = -1;
	if (rc < 0)
		fprintf(stderr, "cglat: writing the report failed\n");
	return rc;
}

static int cmd_bench(int argc, char **argv, const char *prog)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	if (cli_parse_bench(argc, argv, &cfg, &action, &err) < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		return 2;
	}
	if (action == CLI_HELP) {
		cli_usage(stdout, prog);
		return 0;
	}
	if (action == CLI_VERSION) {
		printf("cglat %s\n", CGLAT_VERSION);
		return 0;
	}
	signals_install();
	struct bench_result res;
	int rc = bench_run(&cfg, &res, &err);
	if (rc < 0) {
		fprintf(stderr, "cglat: %s\n", err.msg);
		if (res.interrupted || res.container_created || res.limits_restored)
			fprintf(stderr, "cglat: cleaned up: %s\n",
			        res.container_created
			                ? (res.containers_removed ? "container removed"
			                                          : "container NOT removed")
			                : (res.limits_restored ? "original limits restored"
			                                       : "nothing to restore"));
	}
	/* Partial results of an interrupted run are still worth printing. */
	if ((rc == 0 || res.interrupted) && res.count > 0 && write_report(&cfg, &res) < 0)
		rc = -1;
	bench_result_free(&res);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *prog = "cglat";
	if (argc > 1 && strcmp(argv[1], "monitor") == 0)
		return monitor_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "watch") == 0)
		return watch_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "doctor") == 0)
		return doctor_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(argc - 1, argv + 1, prog);
	if (argc > 1 && strcmp(argv[1], "set") == 0)
		return cmd_set(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr,
		        "cglat: unknown command \"%s\"; commands: bench (the default), set, "
		        "run, watch, monitor, doctor; see cglat --help\n",
		        argv[1]);
		return 2;
	}
	return cmd_bench(argc, argv, prog);
}
