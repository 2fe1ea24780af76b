/* cglat run: a command in a cgroup of its own, with limits. */
#ifndef CGLAT_RUN_H
#define CGLAT_RUN_H

#include <stdbool.h>
#include <stdio.h>

#include "cglat.h"

struct run_args {
	struct cglat_limits limits;
	const char *name;   /* NULL: cglat-run-PID */
	const char *parent; /* NULL: the root of each hierarchy */
	bool keep;
	bool verbose;
	bool help;
	char **cmd; /* NULL-terminated, from argv */
};

int run_parse(int argc, char **argv, struct run_args *a, struct cg_err *err);
void run_usage(FILE *out);
int run_main(int argc, char **argv);

#endif
