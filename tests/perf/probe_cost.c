/* What cglat's probes cost the rest of the host: the median time of a write(2),
 * a pwrite64(2) and a writev(2) of one byte to /dev/null (each the probes look
 * up in their table of limit-file fds), of an openat(2)+close(2) of an ordinary
 * file, and of a getppid(2), a syscall the probes do not handle (they run on every
 * syscall and return at once for it), measured with no probes, with the probes
 * attached (bench's tracepoint strategy), and after they are gone, in one run;
 * printed as ratios. PROBE_FILE measures another probe source (an older
 * probes/cglat.bpf.c, say) the same way. Run as root:
 *   sudo build/probe_cost [ROUNDS [PROBE_FILE]]                               */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stats.h"
#include "tracer.h"

#define BATCH 1000

enum call { CALL_WRITE, CALL_PWRITE, CALL_WRITEV, CALL_OPEN_CLOSE, CALL_GETPPID, CALL_COUNT };

static void ignore_event(void *ctx, const struct cglat_event *ev)
{
	(void)ctx;
	(void)ev;
}

/* Median over rounds of the mean cost of one call in a batch of BATCH. */
static double measure(int rounds, enum call what, int fd)
{
	int64_t *per = calloc((size_t)rounds, sizeof(*per));
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = tracer_now_ns();
		for (int i = 0; i < BATCH; i++) {
			switch (what) {
			case CALL_WRITE:
				if (write(fd, "x", 1) != 1)
					abort();
				break;
			case CALL_PWRITE:
				if (pwrite(fd, "x", 1, 0) != 1)
					abort();
				break;
			case CALL_WRITEV: {
				struct iovec iov = {"x", 1};
				if (writev(fd, &iov, 1) != 1)
					abort();
				break;
			}
			case CALL_OPEN_CLOSE: {
				int f = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
				if (f < 0)
					abort();
				close(f);
				break;
			}
			default: /* CALL_GETPPID: a syscall no probe handles */
				if (syscall(SYS_getppid) < 0)
					abort();
				break;
			}
		}
		per[r] = (int64_t)(tracer_now_ns() - t0) / BATCH;
	}
	struct stats st;
	stats_compute(per, (size_t)rounds, &st);
	free(per);
	return st.p50;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 200;
	if (rounds < 3 || argc > 3) {
		fprintf(stderr, "usage: probe_cost [ROUNDS >= 3 [PROBE_FILE]]\n");
		return 2;
	}
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double before[CALL_COUNT], with[CALL_COUNT], after[CALL_COUNT];
	for (int w = 0; w < CALL_COUNT; w++)
		before[w] = measure(rounds, w, fd);
	struct tracer_config tc = {.strategy = TRACER_TRACEPOINT,
	                           .probe_file = argc > 2 ? argv[2] : NULL,
	                           .on_event = ignore_event};
	struct tracer *t;
	struct cg_err err;
	if (tracer_open(&tc, &t, &err) < 0) {
		fprintf(stderr, "probe_cost: %s\n", err.msg);
		return 1;
	}
	for (int w = 0; w < CALL_COUNT; w++)
		with[w] = measure(rounds, w, fd);
	tracer_close(t);
	for (int w = 0; w < CALL_COUNT; w++)
		after[w] = measure(rounds, w, fd);
	const char *names[CALL_COUNT] = {"write(2) to /dev/null", "pwrite64(2) to /dev/null",
	                                 "writev(2) to /dev/null", "openat(2)+close(2)",
	                                 "getppid(2)"};
	printf("%-24s %12s %12s %12s %8s\n", "call (median of means)", "no probes", "probes",
	       "after", "ratio");
	for (int w = 0; w < CALL_COUNT; w++) {
		double base = (before[w] + after[w]) / 2;
		printf("%-24s %9.0f ns %9.0f ns %9.0f ns %7.2fx\n", names[w], before[w], with[w],
		       after[w], with[w] / base);
	}
	close(fd);
	return 0;
}
