#include "bench_original.h"

#include "bench.h"

#include <stdlib.h>
#include <string.h>

bool orig_is_end_file(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	return strcmp(name, "memory.max") == 0 || strcmp(name, "cpu.max") == 0;
}

static int add_mark(struct orig_log *log, uint64_t ts, enum orig_mark_kind kind)
{
	if (log->n == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 1024;
		struct orig_mark *bigger = realloc(log->marks, cap * sizeof(*bigger));
		if (!bigger) {
			log->out_of_memory = true;
			return -1;
		}
		log->marks = bigger;
		log->cap = cap;
	}
	log->marks[log->n++] = (struct orig_mark){.ts_ns = ts, .kind = kind};
	return 0;
}

int orig_log_event(struct orig_log *log, const struct cglat_event *ev, uint32_t dockerd_tgid)
{
	if (ev->kind == CGLAT_EV_RECV_ANY) {
		if (ev->tgid != dockerd_tgid || ev->call < CGLAT_RECV_READ ||
		    ev->call >= CGLAT_RECV_CALLS)
			return 0;
		if (!ev->sock) {
			/* a read of a file, pipe or eventfd: sock_recvmsg never ran */
			log->other_reads++;
			return 0;
		}
		log->recvs++;
		log->recv_calls[ev->call]++;
		return add_mark(log, ev->ts_enter, ORIG_MARK_RECV);
	}
	if (ev->kind == CGLAT_EV_WRITE && orig_is_end_file(ev->path)) {
		log->end_writes++;
		return add_mark(log, ev->ts_enter, ORIG_MARK_WRITE);
	}
	return 0;
}

void orig_log_update_recv(struct orig_log *log, uint32_t call)
{
	if (call < sizeof(log->update_recv_calls) / sizeof(log->update_recv_calls[0]))
		log->update_recv_calls[call]++;
}

static int by_time(const void *a, const void *b)
{
	const struct orig_mark *x = a, *y = b;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	/* a receive and a write at the same ns: the receive first, as a start */
	return (int)x->kind - (int)y->kind;
}

void orig_compute(struct orig_log *log, struct sample *samples, size_t count)
{
	if (log->n)
		qsort(log->marks, log->n, sizeof(log->marks[0]), by_time);
	uint64_t start = 0; /* the original's one timestamp; 0: none (consumed) */
	size_t m = 0;
	/* Round i takes the marks before sample i's T0 (all that are left after the last
	 * sample): the window of sample i - 1. Then sample i's own start, if it sets one. */
	for (size_t i = 0; i <= count; i++) {
		uint64_t until = i < count ? samples[i].t0_ns : UINT64_MAX;
		struct sample *window = i > 0 ? &samples[i - 1] : NULL;
		for (; m < log->n && log->marks[m].ts_ns < until; m++) {
			const struct orig_mark *k = &log->marks[m];
			if (k->kind == ORIG_MARK_RECV) {
				start = k->ts_ns;
				continue;
			}
			if (!start)
				continue; /* the original: "no_start", nothing recorded */
			if (window && !window->orig_end_ns) {
				window->orig_start_ns = start;
				window->orig_end_ns = k->ts_ns;
			}
			start = 0;
		}
		if (i == count)
			break;
		samples[i].orig_start_ns = samples[i].orig_end_ns = 0;
		/* The original's raw loop set its start from user space before the write. */
		if (samples[i].path == SAMPLE_DIRECT)
			start = samples[i].t0_ns;
	}
}

int64_t orig_sample_ns(const struct sample *s)
{
	if (!s->orig_start_ns || !s->orig_end_ns || s->orig_end_ns < s->orig_start_ns)
		return -1;
	return (int64_t)(s->orig_end_ns - s->orig_start_ns);
}

void orig_log_free(struct orig_log *log)
{
	free(log->marks);
	log->marks = NULL;
	log->n = log->cap = 0;
}
