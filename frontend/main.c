/* cglat: the command table and dispatch. `cglat -n 100` is `cglat bench -n 100`. */
#include <stdio.h>
#include <string.h>

#include "bench_cli.h"
#include "doctor.h"
#include "monitor.h"
#include "run.h"
#include "serve.h"
#include "set.h"
#include "watch.h"

struct command {
	const char *name;
	int (*entry)(int argc, char **argv); /* argv[0] is the command's name */
	const char *help;                    /* one line for the top-level help */
};

static const struct command commands[] = {
        {"bench", bench_main, "(the default) time limit changes: docker update, API, direct write"},
        {"set", set_main, "change limits and CPU priority of a container, PID or cgroup now"},
        {"run", run_main, "start a command in a cgroup of its own, with limits"},
        {"watch", watch_main, "print every cgroup limit write on the host as it happens"},
        {"monitor", monitor_main, "a workload's memory, faults, reclaim and CPU live, with plots"},
        {"serve", serve_main, "a Docker API socket: updates in microseconds, the rest relayed"},
        {"doctor", doctor_main, "what this machine offers cglat, and the fix for what is missing"},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: cglat [bench] [OPTIONS]\n"
	             "       cglat COMMAND [OPTIONS]    (cglat COMMAND --help for each)\n"
	             "\n"
	             "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
	fputc('\n', out);
	cli_usage(out);
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				return commands[i].entry(argc - 1, argv + 1);
		fprintf(stderr, "cglat: unknown command \"%s\"; commands:", argv[1]);
		for (size_t i = 0; i < NCOMMANDS; i++)
			fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
		fprintf(stderr, " (bench is the default); see cglat --help\n");
		return 2;
	}
	return bench_main(argc, argv);
}
