/* A C face for BCC's C++ API (ebpf::BPF): compile probe source at run time,
 * attach tracepoints and kprobes, read perf buffers, touch tables. Nothing of
 * C++ crosses this header; every call reports failure as a return value and
 * keeps the message for last_error().
 *
 * The wrapper is built as a module (cglat-bcc.so) that the tracer dlopens, so
 * that only the commands that trace load libbcc, LLVM and clang: the module
 * exports one symbol, BCCW_API_SYMBOL, a table of the calls below. */
#ifndef CGLAT_BCC_WRAPPER_H
#define CGLAT_BCC_WRAPPER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bccw;

typedef void (*bccw_event_cb)(void *ctx, void *data, int size);
typedef void (*bccw_lost_cb)(void *ctx, uint64_t lost);

/* Bumped whenever the table changes shape: a stale module is refused, not called. */
#define BCCW_API_VERSION 3
#define BCCW_API_SYMBOL "cglat_bccw_api"
#define BCCW_MODULE_NAME "cglat-bcc.so"

struct bccw_api {
	unsigned version; /* BCCW_API_VERSION */

	/* A handle (never NULL unless memory runs out); check last_error() when a later
	 * call fails. */
	struct bccw *(*create)(void);

	/* Compiles and loads `source` with the given -D/-I flags. -1 on failure. */
	int (*load)(struct bccw *b, const char *source, const char *const *cflags, size_t ncflags);

	/* tracepoint: "category:event", e.g. "syscalls:sys_enter_write". */
	int (*attach_tracepoint)(struct bccw *b, const char *tracepoint, const char *fn);

	/* raw tracepoint: the event name alone, e.g. "sys_enter"; the program gets the
	 * tracepoint's arguments as they are (struct bpf_raw_tracepoint_args). Closing one
	 * waits for no grace period, unlike a perf event tracepoint. */
	int (*attach_raw_tracepoint)(struct bccw *b, const char *event, const char *fn);

	/* kprobe (is_return 0) or kretprobe (is_return 1) on a kernel symbol. */
	int (*attach_kprobe)(struct bccw *b, const char *symbol, const char *fn, int is_return);

	/* Opens the BPF_PERF_OUTPUT table `table`; cb runs from poll() and consume(). The
	 * kernel wakes a poller only every `wakeup_events` events: 1 wakes on each (bcc's
	 * default), more spares the writer the cost of waking a reader, for callers that
	 * consume the buffers themselves. */
	int (*open_perf_buffer)(struct bccw *b, const char *table, bccw_event_cb cb,
	                        bccw_lost_cb lost, void *ctx, int page_cnt, int wakeup_events);

	/* Waits up to timeout_ms for a wakeup, then reads the buffers that have one;
	 * returns the number of ready buffers or -1. */
	int (*poll)(struct bccw *b, int timeout_ms);

	/* Reads whatever every open perf buffer holds now, without waiting. */
	int (*consume)(struct bccw *b);

	/* Raw table access by name; key and value sizes must match the table's. */
	int (*table_update)(struct bccw *b, const char *table, const void *key, const void *value);
	int (*table_delete)(struct bccw *b, const char *table, const void *key);
	int (*table_lookup)(struct bccw *b, const char *table, const void *key, void *value);

	/* Message of the last failure, "" when none. Valid until the next call. */
	const char *(*last_error)(const struct bccw *b);

	/* Detaches every probe (each perf event tracepoint waits for a grace period of its
	 * own in the kernel; raw tracepoints do not), closes perf buffers and maps, frees
	 * the handle. */
	void (*destroy)(struct bccw *b);
};

#ifdef __cplusplus
}
#endif

#endif
