/* A command run to its end with nothing to read and nothing shown: stdin and stdout on
 * /dev/null, the first line of its stderr kept, its exit waited for. What `docker update`
 * (the docker path) and `runc update` (the runtime path) are run with. */
#ifndef CGLAT_RUN_QUIET_H
#define CGLAT_RUN_QUIET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_quiet {
	pid_t pid;      /* 0 until it runs */
	int status;     /* waitpid's, once it ended */
	char line[512]; /* the first non-empty line of its stderr, "" when none */
	/* When it could not be run or waited for: the errno and which ("run", "wait"). */
	int error;
	const char *failed;
};

/* Runs bin with argv (argv[0] included; bin looked up in PATH unless it has a '/') and
 * waits for it. 0 when it ran to its end (r->status says how), -1 when it could not be
 * started or waited for (r->error, r->failed). */
int run_quiet(const char *bin, const char *const argv[], struct run_quiet *r);

#endif
