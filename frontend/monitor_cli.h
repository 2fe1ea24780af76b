/* cglat monitor's command line: argv -> one configuration, the usage text, the entry. */
#ifndef CGLAT_MONITOR_CLI_H
#define CGLAT_MONITOR_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cglat.h"
#include "error.h"
#include "tracer.h"

/* What the command line asks for. */
struct monitor_config {
	struct cglat_target_spec spec;
	bool has_target;
	double interval_s;
	double duration_s;
	const char *csv;
	const char *plot;
	struct cglat_limits limits; /* for -- CMD */
	const char *name;
	const char *parent;
	bool keep;
	enum tracer_strategy probe;
	char **cmd; /* after "--": run this in a cgroup of its own */
};

/* argv -> cfg (argv[0] is the command's name); -1 on bad usage with a message that
 * names the option. cfg->cmd points into argv. */
int monitor_parse(int argc, char **argv, struct monitor_config *cfg, bool *help,
                  struct cg_err *err);

void monitor_usage(FILE *out);

/* The monitor command; returns the exit status (2 on bad usage). */
int monitor_main(int argc, char **argv);

#endif
