/* The serve paths' cglat serve: one started for the run (its own process group, so a
 * Ctrl-C reaches only cglat, which stops it in order), or one already running
 * (--serve-sock). Its pid is what the probes time the receive of. */
#ifndef CGLAT_BENCH_SERVE_H
#define CGLAT_BENCH_SERVE_H

#include <stdbool.h>
#include <sys/types.h>

#include "bench_cli.h"
#include "docker_http.h"
#include "error.h"

struct bench_serve {
	pid_t pid;    /* the serve process; 0: none */
	pid_t child;  /* started by this run, stopped by bench_serve_stop; 0: not ours */
	char dir[64]; /* the directory of the socket of a serve we started */
	char sock[108];
	char host[120];       /* "unix://" sock, for the Docker CLI's -H */
	int log_fd;           /* the started serve's stderr (an unlinked file); -1: none */
	struct dh_conn stats; /* GET /cglat/v1/stats, to wait for background records */
	bool stats_ready;
};

/* Starts `cglat serve` (this executable) on a socket of its own, or finds the process
 * behind cfg->serve_sock; waits until it accepts connections. */
int bench_serve_start(const struct bench_config *cfg, struct bench_serve *s, struct cg_err *err);
/* Waits until serve has no update record pending in dockerd (--reply-after enforce
 * records in the background), up to timeout_s. */
int bench_serve_settle(struct bench_serve *s, double timeout_s, struct cg_err *err);
/* Stops a serve this run started (SIGTERM: it finishes what is in flight) and removes its
 * socket and directory; forgets one it did not start. */
int bench_serve_stop(struct bench_serve *s, struct cg_err *err);

#endif
