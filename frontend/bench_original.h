/* --original-method: each sample computed the way the original Python tool measured
 * it, from the same run's events, beside cglat's exact figures.
 *
 * The original's start mark was a kprobe at the entry of dockerd's recvmsg-family
 * symbols, sock_recvmsg among them, that kept one timestamp, overwritten by every later
 * call whatever it received (also containerd's replies), and, for its raw path, the
 * client's clock just before the write. The kernel runs sock_recvmsg for every receive
 * from a socket, read(2) and readv(2) as well as recvfrom(2), recvmsg(2) and
 * recvmmsg(2): its start mark was each socket receive of dockerd, of any call. Its end
 * mark was the entry of the first vfs_write of a file named memory.max or cpu.max, of
 * any cgroup and by any process, after that start, which it consumed. Here the same
 * state machine runs over the run's events in time order: the start marks are
 * dockerd's socket receives of any call (CGLAT_EV_RECV_ANY with sock set, at their
 * entry) and the direct path's T0, the end marks the write-family calls (at their
 * entry) of a file whose name is memory.max or cpu.max. A sample is credited with the
 * first start -> end pair whose end falls between its T0 and the next sample's T0. */
#ifndef CGLAT_BENCH_ORIGINAL_H
#define CGLAT_BENCH_ORIGINAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cglat_event.h"

struct sample; /* bench.h, which includes this header for struct orig_log */

enum orig_mark_kind { ORIG_MARK_RECV = 1, ORIG_MARK_WRITE = 2 };

struct orig_mark {
	uint64_t ts_ns;
	enum orig_mark_kind kind;
};

/* The original's marks seen during a run, as they arrive (per-CPU buffers: not in
 * time order), and counts of what the exact method's start marks were. */
struct orig_log {
	struct orig_mark *marks;
	size_t n, cap;
	uint64_t recvs; /* start marks seen: dockerd's socket receives, of any call */
	/* the same by enum cglat_recv_call (read, readv, recvfrom, recvmsg, recvmmsg) */
	uint64_t recv_calls[CGLAT_RECV_CALLS];
	uint64_t other_reads; /* dockerd's reads (read, readv) of fds that are no socket */
	uint64_t end_writes;  /* writes of files named memory.max or cpu.max seen */
	/* the receives of the update requests that started exact samples, by enum
	 * cglat_recv_call: how dockerd really received them */
	uint64_t update_recv_calls[CGLAT_RECV_CALLS];
	bool out_of_memory; /* a mark could not be kept: the figures would be wrong */
};

/* Is the file one the original's end mark matched: named exactly memory.max or
 * cpu.max (the last component of the path)? */
bool orig_is_end_file(const char *path);

/* Keeps ev if it is one of the original's marks: a CGLAT_EV_RECV_ANY of dockerd
 * (dockerd_tgid) of a socket (ev->sock), whichever call, or a CGLAT_EV_WRITE of a
 * memory.max or cpu.max file; counts dockerd's reads of other fds apart. -1 (and
 * log->out_of_memory) when it cannot be kept. */
int orig_log_event(struct orig_log *log, const struct cglat_event *ev, uint32_t dockerd_tgid);

/* Counts the call that delivered an exact sample's receive (enum cglat_recv_call). */
void orig_log_update_recv(struct orig_log *log, uint32_t call);

/* Fills orig_start_ns / orig_end_ns of samples[0..count) (in the order they ran) from
 * the marks, which it sorts. A sample that got no pair keeps 0 in both. */
void orig_compute(struct orig_log *log, struct sample *samples, size_t count);

/* The original's latency of a sample in ns, or -1 when its marks did not occur. */
int64_t orig_sample_ns(const struct sample *s);

void orig_log_free(struct orig_log *log);

#endif
