/* cglat set: argv -> plan -> apply -> print. The parser is a separate function so
 * that tests check every option without running anything. */
#ifndef CGLAT_SET_H
#define CGLAT_SET_H

#include <stdbool.h>
#include <stdio.h>

#include "cglat.h"

struct set_args {
	struct cglat_target_spec spec;
	struct cglat_limits limits;
	bool dry_run;
	bool verify;
	bool json;
	bool help;
};

/* 0 when argv is usable (or --help was asked), -1 with a one-line error (exit 2). */
int set_parse(int argc, char **argv, struct set_args *a, struct cg_err *err);
void set_usage(FILE *out);
/* The subcommand: argv[0] is "set". Returns the exit status. */
int set_main(int argc, char **argv);

#endif
