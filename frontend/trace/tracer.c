#include "tracer.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bcc_module.h"
#include "bcc_wrapper.h"
#include "cgroup.h"

/* Embedded at build time (CMake's embedded.S): NUL-terminated texts. */
extern const char cglat_probe_source[];
extern const char cglat_event_header[];

/* Wake the reader once per this many events; tracer_poll() reads the rest. */
#define TRACER_WAKEUP_EVENTS 32

struct tracer {
	const struct bccw_api *bcc_api; /* the dlopen'd wrapper */
	struct bccw *bcc;
	struct tracer_timings timings;
	pthread_t detacher;
	bool detaching; /* detacher runs */
	enum tracer_strategy strategy;
	char reason[256];
	tracer_event_fn on_event;
	tracer_wf_event_fn on_wf_event;
	void *ctx;
	uint64_t lost;
	uint64_t wf_lost; /* of wf_events: the waterfall's */
	uint64_t malformed;
	char unseen[160]; /* write calls this session's probes cannot see, or "" */
};

/* A probe and where it attaches: a raw tracepoint (the event's name), a perf event
 * tracepoint ("category:event"), or, with both NULL, a kprobe attached apart. */
struct attach {
	const char *raw;        /* raw tracepoint event, e.g. "sys_enter" */
	const char *tracepoint; /* "category:event" */
	const char *fn;
};

/* Every syscall probe: the receive side (both strategies, with a dockerd to watch) and
 * the tracepoint strategy's write side, two raw tracepoints whose programs dispatch on
 * the syscall number. A perf event tracepoint's close waits for an RCU grace period
 * under a global mutex (70-80 ms here, one close after another); a raw tracepoint's
 * does not, so the probes attach raw tracepoints wherever they can. Enter first: an
 * exit whose enter went unseen is ignored. */
static const struct attach syscall_probes[] = {
        {"sys_enter", NULL, "cglat_sys_enter"},
        {"sys_exit", NULL, "cglat_sys_exit"},
};

/* The syscall numbers the probes dispatch on, from the C library's <sys/syscall.h>
 * (BCC's kernel headers may be another kernel's), passed as -DCGLAT_NR_<name>=N.
 * A new syscall for the probes is one line here and its case in probes/cglat.bpf.c.
 * dup2 is missing where the architecture has none, openat2 and pwritev2 from old C
 * libraries; the probes leave their cases out then. */
/* clang-format off */
#define PROBE_SYSCALL(name) {"-DCGLAT_NR_" #name "=", SYS_##name}
/* clang-format on */
static const struct probe_syscall {
	const char *flag; /* "-DCGLAT_NR_<name>=" */
	long nr;
} probe_syscalls[] = {
        PROBE_SYSCALL(read),
        PROBE_SYSCALL(recvfrom),
        PROBE_SYSCALL(recvmsg),
        PROBE_SYSCALL(recvmmsg),
        PROBE_SYSCALL(write),
        PROBE_SYSCALL(pwrite64),
        PROBE_SYSCALL(writev),
        PROBE_SYSCALL(pwritev),
#ifdef SYS_pwritev2
        PROBE_SYSCALL(pwritev2),
#endif
        PROBE_SYSCALL(openat),
#ifdef SYS_openat2
        PROBE_SYSCALL(openat2),
#endif
        PROBE_SYSCALL(close),
#ifdef SYS_dup2
        PROBE_SYSCALL(dup2),
#endif
        PROBE_SYSCALL(dup3),
        PROBE_SYSCALL(clone),
        /* the original method's start mark (-DCGLAT_ORIGINAL): dockerd's socket reads,
         * and the calls that make its sockets */
        PROBE_SYSCALL(readv),
        PROBE_SYSCALL(socket),
        PROBE_SYSCALL(socketpair),
        PROBE_SYSCALL(accept4),
        PROBE_SYSCALL(dup),
        PROBE_SYSCALL(fcntl),
#ifdef SYS_accept
        PROBE_SYSCALL(accept),
#endif
#ifdef SYS_clone3
        PROBE_SYSCALL(clone3),
#endif
#ifdef SYS_fork
        PROBE_SYSCALL(fork),
#endif
#ifdef SYS_vfork
        PROBE_SYSCALL(vfork),
#endif
        /* the waterfall's (-DCGLAT_WATERFALL): the chain's sends and connects */
        PROBE_SYSCALL(sendto),
        PROBE_SYSCALL(sendmsg),
        PROBE_SYSCALL(sendmmsg),
        PROBE_SYSCALL(connect),
};

uint64_t tracer_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *tracer_strategy_name(enum tracer_strategy s)
{
	switch (s) {
	case TRACER_TRACEPOINT:
		return "tracepoint";
	case TRACER_KPROBE:
		return "kprobe";
	default:
		return "auto";
	}
}

int tracer_parse_strategy(const char *text, enum tracer_strategy *out, struct cg_err *err)
{
	static const enum tracer_strategy all[] = {TRACER_AUTO, TRACER_TRACEPOINT, TRACER_KPROBE};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(text, tracer_strategy_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return cg_errf(err, "--probe: unknown value \"%s\"; choose auto, tracepoint or kprobe",
	               text);
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The UTS_RELEASE of the headers at dir, "" when unknown. */
static void headers_release(const char *dir, char *out, size_t len)
{
	char path[PATH_MAX], line[256];
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/include/generated/utsrelease.h", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *q = strstr(line, "UTS_RELEASE \"");
		if (!q)
			continue;
		q += strlen("UTS_RELEASE \"");
		char *end = strchr(q, '"');
		if (end)
			snprintf(out, len, "%.*s", (int)(end - q), q);
	}
	fclose(f);
}

void tracer_probe_host(struct tracer_host *host)
{
	memset(host, 0, sizeof(*host));
	if (exists("/sys/kernel/tracing/events/raw_syscalls"))
		snprintf(host->tracefs_dir, sizeof(host->tracefs_dir), "/sys/kernel/tracing");
	else if (exists("/sys/kernel/debug/tracing/events/raw_syscalls"))
		snprintf(host->tracefs_dir, sizeof(host->tracefs_dir), "/sys/kernel/debug/tracing");
	host->tracefs = host->tracefs_dir[0] != '\0';

	char path[PATH_MAX];
	if (host->tracefs) {
		snprintf(path, sizeof(path), "%s/kprobe_events", host->tracefs_dir);
		host->kprobes = exists(path);
	} else {
		host->kprobes = exists("/sys/kernel/debug/kprobes");
	}
	host->kprobe_debugfs = exists("/sys/kernel/debug/tracing/kprobe_events");

	struct utsname u;
	uname(&u);
	const char *env = getenv("BCC_KERNEL_SOURCE");
	char dir[PATH_MAX];
	if (env && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else
		snprintf(dir, sizeof(dir), "/lib/modules/%s/build", u.release);
	if (exists("/sys/kernel/kheaders.tar.xz") && !(env && *env)) {
		snprintf(host->headers, sizeof(host->headers), "/sys/kernel/kheaders.tar.xz");
		host->headers_match = true;
		return;
	}
	if (!realpath(dir, path))
		return;
	char release[128];
	headers_release(path, release, sizeof(release));
	snprintf(host->headers, sizeof(host->headers), "%s (%s)", path,
	         release[0] ? release : "release unknown");
	host->headers_match = strcmp(release, u.release) == 0;
}

int tracer_choose(enum tracer_strategy wanted, const struct tracer_host *host,
                  enum tracer_strategy *chosen, char *why, size_t why_len, struct cg_err *err)
{
	if (!host->tracefs)
		return cg_errf(err, "tracefs is not mounted, so no probe can attach: mount it with "
		                    "`sudo mount -t tracefs nodev /sys/kernel/tracing`");
	if (!host->headers[0])
		return cg_errf(err, "Unable to find kernel headers for BCC: install them "
		                    "(scripts/setup.sh links Debian's) or set BCC_KERNEL_SOURCE");
	switch (wanted) {
	case TRACER_TRACEPOINT:
		*chosen = TRACER_TRACEPOINT;
		snprintf(why, why_len, "asked for with --probe tracepoint");
		return 0;
	case TRACER_KPROBE:
		if (!host->kprobes)
			return cg_errf(err, "--probe kprobe: this kernel has no kprobes "
			                    "(CONFIG_KPROBES is off); use --probe tracepoint");
		if (!host->headers_match)
			return cg_errf(err,
			               "--probe kprobe: the kernel headers at %s are not the "
			               "running kernel's, and the kprobe reads kernel structs; "
			               "install matching headers or use --probe tracepoint",
			               host->headers);
		if (!host->kprobe_debugfs)
			return cg_errf(
			        err,
			        "--probe kprobe: BCC attaches kprobes through "
			        "/sys/kernel/debug/tracing, which is not there; mount "
			        "debugfs with `sudo mount -t debugfs nodev /sys/kernel/debug`");
		*chosen = TRACER_KPROBE;
		snprintf(why, why_len, "asked for with --probe kprobe");
		return 0;
	case TRACER_AUTO:
		break;
	}
	if (host->kprobes && host->headers_match && host->kprobe_debugfs) {
		*chosen = TRACER_KPROBE;
		snprintf(why, why_len, "auto: the kernel has kprobes and matching headers");
	} else {
		*chosen = TRACER_TRACEPOINT;
		snprintf(why, why_len, "auto: %s",
		         !host->kprobes ? "the kernel has no kprobes"
		         : !host->headers_match
		                 ? "the kernel headers are not the running kernel's"
		                 : "debugfs is not mounted, BCC needs it for kprobes");
	}
	return 0;
}

static char *read_whole_file(const char *path, struct cg_err *err)
{
	int e = 0;
	char *text = cgroup_read_all(path, &e);
	if (!text)
		cg_errf(err, "cannot read probe file %s: %s", path, strerror(e));
	return text;
}

/* The shared event header goes first so the probe file needs no include path;
 * #line keeps the compiler's line numbers those of the probe file. */
static char *probe_text(const char *probe_file, struct cg_err *err)
{
	char *body = NULL;
	const char *src = cglat_probe_source;
	if (probe_file) {
		body = read_whole_file(probe_file, err);
		if (!body)
			return NULL;
		src = body;
	}
	char line[PATH_MAX + 32];
	snprintf(line, sizeof(line), "\n#line 1 \"%s\"\n", probe_file ? probe_file : "cglat.bpf.c");
	size_t hl = strlen(cglat_event_header), ll = strlen(line), sl = strlen(src);
	char *text = malloc(hl + ll + sl + 1);
	if (text) {
		memcpy(text, cglat_event_header, hl);
		memcpy(text + hl, line, ll);
		memcpy(text + hl + ll, src, sl + 1);
	} else {
		cg_errf(err, "out of memory");
	}
	free(body);
	return text;
}

static void on_raw_event(void *ctx, void *data, int size)
{
	struct tracer *t = ctx;
	/* The record is copied: perf buffer data may be unaligned or wrap. */
	struct cglat_event ev;
	if (size < (int)sizeof(ev)) {
		t->malformed++;
		return;
	}
	memcpy(&ev, data, sizeof(ev));
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	ev.parent_comm[sizeof(ev.parent_comm) - 1] = '\0';
	ev.path[sizeof(ev.path) - 1] = '\0';
	if (ev.data_len > sizeof(ev.data))
		ev.data_len = sizeof(ev.data);
	t->on_event(t->ctx, &ev);
}

static void on_raw_wf_event(void *ctx, void *data, int size)
{
	struct tracer *t = ctx;
	struct cglat_wf_event ev;
	if (size < (int)sizeof(ev) || !t->on_wf_event) {
		t->malformed++;
		return;
	}
	memcpy(&ev, data, sizeof(ev));
	t->on_wf_event(t->ctx, &ev);
}

static void on_lost(void *ctx, uint64_t lost)
{
	struct tracer *t = ctx;
	t->lost += lost;
}

static void on_lost_wf(void *ctx, uint64_t lost)
{
	struct tracer *t = ctx;
	t->wf_lost += lost;
}

uint64_t tracer_waterfall_lost_events(const struct tracer *t)
{
	return t->wf_lost;
}

static int attach_all(struct tracer *t, const struct attach *list, size_t n, struct cg_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = list[i].raw ? t->bcc_api->attach_raw_tracepoint(t->bcc, list[i].raw,
		                                                         list[i].fn)
		                     : t->bcc_api->attach_tracepoint(t->bcc, list[i].tracepoint,
		                                                     list[i].fn);
		if (rc < 0)
			return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	}
	return 0;
}

/* Both strategies: exec times tell which process may carry out an update. */
static const struct attach exec_probe[] = {
        {"sched_process_exec", NULL, "cglat_exec"},
};

/* Process exit: the tracepoint strategy forgets fds, the monitor forgets tgids, the
 * waterfall sees the runtime end. */
static const struct attach exit_probe[] = {
        {"sched_process_exit", NULL, "cglat_exit"},
};

/* The monitor's and the waterfall's: the fork's child pid, a field that only the perf
 * event form gives without kernel headers. */
static const struct attach fork_probe[] = {
        {NULL, "sched:sched_process_fork", "tracepoint__sched__sched_process_fork"},
};

/* The waterfall's: which chain thread ran when. */
static const struct attach switch_probe[] = {
        {"sched_switch", NULL, "cglat_switch"},
};

/* The monitor's: reclaim counts, also perf event tracepoint fields. */
static const struct attach monitor_probes[] = {
        {NULL, "exceptions:page_fault_user", "tracepoint__exceptions__page_fault_user"},
        {NULL, "vmscan:mm_vmscan_lru_isolate", "tracepoint__vmscan__mm_vmscan_lru_isolate"},
};

/* Renamed in 6.2; see probes/cglat.bpf.c. */
static bool has_write_folio(void)
{
	return access("/sys/kernel/tracing/events/vmscan/mm_vmscan_write_folio", F_OK) == 0 ||
	       access("/sys/kernel/debug/tracing/events/vmscan/mm_vmscan_write_folio", F_OK) == 0;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool tracer_kernel_has_function(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	if (!f)
		return false;
	char line[512];
	bool found = false;
	size_t n = strlen(name);
	while (!found && fgets(line, sizeof(line), f)) {
		/* "ADDRESS TYPE NAME [MODULE]": a text symbol (t or T) of exactly this name. */
		char *type = strchr(line, ' ');
		if (!type || (type[1] != 't' && type[1] != 'T') || type[2] != ' ')
			continue;
		const char *sym = type + 3;
		found = strncmp(sym, name, n) == 0 &&
		        (sym[n] == '\n' || sym[n] == '\t' || sym[n] == ' ' || sym[n] == '\0');
	}
	fclose(f);
	return found;
}

static int attach_probes(struct tracer *t, bool monitor, bool waterfall, struct cg_err *err)
{
	if (attach_all(t, exec_probe, COUNT(exec_probe), err))
		return -1;
	if ((monitor || waterfall || t->strategy == TRACER_TRACEPOINT) &&
	    attach_all(t, exit_probe, COUNT(exit_probe), err))
		return -1;
	if ((monitor || waterfall) && attach_all(t, fork_probe, COUNT(fork_probe), err))
		return -1;
	if (waterfall && attach_all(t, switch_probe, COUNT(switch_probe), err))
		return -1;
	if (monitor) {
		struct attach writeback = {NULL,
		                           has_write_folio() ? "vmscan:mm_vmscan_write_folio"
		                                             : "vmscan:mm_vmscan_writepage",
		                           has_write_folio()
		                                   ? "tracepoint__vmscan__mm_vmscan_write_folio"
		                                   : "tracepoint__vmscan__mm_vmscan_writepage"};
		if (attach_all(t, monitor_probes, COUNT(monitor_probes), err) ||
		    attach_all(t, &writeback, 1, err))
			return -1;
	}
	/* Always: besides receives and the tracepoint strategy's writes, sys_exit sees the
	 * fork family's returns, which give each new process its parent's command. */
	if (attach_all(t, syscall_probes, COUNT(syscall_probes), err))
		return -1;
	if (t->strategy == TRACER_TRACEPOINT)
		return 0;
	if (t->bcc_api->attach_kprobe(t->bcc, "vfs_write", "cglat_vfs_write_entry", 0) < 0 ||
	    t->bcc_api->attach_kprobe(t->bcc, "vfs_write", "cglat_vfs_write_return", 1) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	/* The vectored calls go through vfs_writev, not vfs_write. It is static: where the
	 * compiler inlined it into its callers there is nothing to attach to. */
	if (!tracer_kernel_has_function("vfs_writev")) {
		snprintf(t->unseen, sizeof(t->unseen),
		         "writev, pwritev and pwritev2 (this kernel has no vfs_writev in "
		         "/proc/kallsyms to hook)");
		return 0;
	}
	if (t->bcc_api->attach_kprobe(t->bcc, "vfs_writev", "cglat_vfs_writev_entry", 0) < 0 ||
	    t->bcc_api->attach_kprobe(t->bcc, "vfs_writev", "cglat_vfs_write_return", 1) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	return 0;
}

static int load(struct tracer *t, const struct tracer_config *cfg, struct cg_err *err)
{
	char *text = probe_text(cfg->probe_file, err);
	if (!text)
		return -1;
	char tgid[64], serve_tgid[64];
	snprintf(tgid, sizeof(tgid), "-DCGLAT_DOCKERD_TGID=%d", (int)cfg->dockerd_tgid);
	snprintf(serve_tgid, sizeof(serve_tgid), "-DCGLAT_SERVE_TGID=%d", (int)cfg->serve_tgid);
	const char *flags[8 + COUNT(probe_syscalls)] = {
	        "-DCGLAT_BPF=1",
	        t->strategy == TRACER_KPROBE ? "-DCGLAT_KPROBE=1" : "-DCGLAT_TRACEPOINT=1",
	        tgid,
	        serve_tgid,
	};
	size_t n = 4;
	if (cfg->original)
		flags[n++] = "-DCGLAT_ORIGINAL=1";
	if (cfg->waterfall)
		flags[n++] = "-DCGLAT_WATERFALL=1";
	if (cfg->monitor) {
		flags[n++] = "-DCGLAT_MONITOR=1";
		if (has_write_folio())
			flags[n++] = "-DCGLAT_MON_WRITE_FOLIO=1";
	}
	char nr[COUNT(probe_syscalls)][48];
	for (size_t i = 0; i < COUNT(probe_syscalls); i++) {
		snprintf(nr[i], sizeof(nr[i]), "%s%ld", probe_syscalls[i].flag,
		         probe_syscalls[i].nr);
		flags[n++] = nr[i];
	}
	int rc = t->bcc_api->load(t->bcc, text, flags, n);
	free(text);
	if (rc < 0)
		return cg_errf(err,
		               "%s\nhint: when the compiler cannot find kernel headers, install "
		               "them (scripts/setup.sh links Debian's) or point BCC_KERNEL_SOURCE "
		               "at them",
		               t->bcc_api->last_error(t->bcc));
	return 0;
}

/* Is the fd named name in the /proc/<pid>/fd directory dirfd a socket ("socket:[inode]")? */
static bool fd_is_socket(int dirfd, const char *name)
{
	char target[64];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strncmp(target, "socket:[", 8) == 0;
}

/* The probes know a limit file by its name's key in limit_names; the names come from
 * libcglat's knob table, the one list of them. */
static int fill_limit_names(struct tracer *t, struct cg_err *err)
{
	const char *names[64];
	size_t n = cgroup_limit_file_names(names, COUNT(names));
	const uint8_t one = 1;
	for (size_t i = 0; i < n && i < COUNT(names); i++) {
		char key[CGLAT_NAME_LEN] = {0};
		snprintf(key, sizeof(key), "%s", names[i]);
		if (t->bcc_api->table_update(t->bcc, "limit_names", key, &one) < 0)
			return cg_errf(err,
			               "the probes' table limit_names (a hash of char[%d] -> u8) "
			               "cannot take the limit files' names: %s",
			               CGLAT_NAME_LEN, t->bcc_api->last_error(t->bcc));
	}
	return 0;
}

/* --original-method: the probes learn which of dockerd's fds are sockets from the
 * calls that make them (probes/cglat.bpf.c, "the original's start mark"); the sockets
 * it already had are told here, after the attach, from /proc/<dockerd>/fd. Each is
 * checked again after it is entered: a socket that dockerd closed between the first
 * look and the entry (its close then removed nothing) and whose fd is now another
 * file, or no file, is taken out again. A socket closed after the entry is removed by
 * the probes' own close. */
static int seed_dockerd_sockets(struct tracer *t, pid_t tgid, struct cg_err *err)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)tgid);
	DIR *d = opendir(dir);
	if (!d)
		return 0; /* dockerd gone: nothing to follow */
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) && rc == 0) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || fd < 0 || fd > INT_MAX)
			continue;
		if (!fd_is_socket(dirfd(d), de->d_name))
			continue;
		uint32_t key = (uint32_t)fd;
		const uint8_t one = 1;
		if (t->bcc_api->table_update(t->bcc, "orig_sockets", &key, &one) < 0) {
			rc = cg_errf(
			        err,
			        "the probes' table orig_sockets (a hash of u32 -> u8) cannot take "
			        "dockerd's sockets: %s",
			        t->bcc_api->last_error(t->bcc));
			break;
		}
		if (!fd_is_socket(dirfd(d), de->d_name))
			t->bcc_api->table_delete(t->bcc, "orig_sockets", &key);
	}
	closedir(d);
	return rc;
}

static int start(struct tracer *t, const struct tracer_config *cfg, struct cg_err *err)
{
	t->bcc = t->bcc_api->create();
	if (!t->bcc)
		return cg_errf(err, "out of memory");
	t->unseen[0] = '\0'; /* of this attempt: auto may retry with another strategy */
	uint64_t t0 = tracer_now_ns();
	if (load(t, cfg, err))
		return -1;
	uint64_t t1 = tracer_now_ns();
	t->timings.compile_ns = t1 - t0;
	if (fill_limit_names(t, err) || attach_probes(t, cfg->monitor, cfg->waterfall, err))
		return -1;
	if (cfg->original && cfg->dockerd_tgid > 0 &&
	    seed_dockerd_sockets(t, cfg->dockerd_tgid, err))
		return -1;
	if (t->bcc_api->open_perf_buffer(t->bcc, "events", on_raw_event, on_lost, t, 64,
	                                 TRACER_WAKEUP_EVENTS) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	/* Every context switch of the chain: room for bursts of them. */
	if (cfg->waterfall &&
	    t->bcc_api->open_perf_buffer(t->bcc, "wf_events", on_raw_wf_event, on_lost_wf, t, 256,
	                                 TRACER_WAKEUP_EVENTS) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	t->timings.attach_ns = tracer_now_ns() - t1;
	return 0;
}

int tracer_open(const struct tracer_config *cfg, struct tracer **out, struct cg_err *err)
{
	struct tracer_host host;
	tracer_probe_host(&host);
	const struct bccw_api *api = bcc_module_load(err);
	if (!api)
		return -1;
	struct tracer *t = calloc(1, sizeof(*t));
	if (!t)
		return cg_errf(err, "out of memory");
	t->bcc_api = api;
	t->on_event = cfg->on_event;
	t->on_wf_event = cfg->on_wf_event;
	t->ctx = cfg->ctx;
	if (tracer_choose(cfg->strategy, &host, &t->strategy, t->reason, sizeof(t->reason), err))
		goto fail;
	if (start(t, cfg, err) < 0) {
		/* auto falls back to the strategy that needs the least of the kernel. */
		if (cfg->strategy != TRACER_AUTO || t->strategy != TRACER_KPROBE)
			goto fail;
		snprintf(t->reason, sizeof(t->reason), "auto: kprobe failed (%.180s)", err->msg);
		t->bcc_api->destroy(t->bcc);
		t->bcc = NULL;
		t->strategy = TRACER_TRACEPOINT;
		if (start(t, cfg, err) < 0)
			goto fail;
	}
	*out = t;
	return 0;
fail:
	tracer_close(t);
	return -1;
}

struct tracer_opening {
	pthread_t thread;
	struct tracer_config cfg;
	struct tracer *tracer;
	struct cg_err err;
	int rc;
};

static void *open_thread(void *arg)
{
	struct tracer_opening *o = arg;
	o->rc = tracer_open(&o->cfg, &o->tracer, &o->err);
	return NULL;
}

/* Signals blocked in the thread: SIGINT and SIGTERM must reach the main thread, whose
 * handler sets the stop flag its loops check. */
static int start_blocked(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	sigset_t stop, old;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	int rc = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int tracer_open_begin(const struct tracer_config *cfg, struct tracer_opening **out,
                      struct cg_err *err)
{
	struct tracer_opening *o = calloc(1, sizeof(*o));
	if (!o)
		return cg_errf(err, "out of memory");
	o->cfg = *cfg;
	int rc = start_blocked(&o->thread, open_thread, o);
	if (rc != 0) {
		free(o);
		return cg_errf(err, "starting the thread that compiles the probes: %s",
		               strerror(rc));
	}
	*out = o;
	return 0;
}

int tracer_open_end(struct tracer_opening *o, struct tracer **out, struct cg_err *err)
{
	pthread_join(o->thread, NULL);
	int rc = o->rc;
	if (rc == 0)
		*out = o->tracer;
	else
		*err = o->err;
	free(o);
	return rc;
}

int tracer_poll(struct tracer *t, int timeout_ms, struct cg_err *err)
{
	if (t->detaching || !t->bcc)
		return cg_errf(err, "the probes are being detached: no more events");
	if (t->bcc_api->consume(t->bcc) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	if (timeout_ms <= 0)
		return 0;
	if (t->bcc_api->poll(t->bcc, timeout_ms) < 0 && errno != EINTR)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	if (t->bcc_api->consume(t->bcc) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	return 0;
}

/* The waterfall's tables: a tgid the chain starts from, an fd of a chain process whose
 * writes are sent. */
int tracer_waterfall_follow(struct tracer *t, pid_t tgid, bool children_are_clients,
                            struct cg_err *err)
{
	uint32_t key = (uint32_t)tgid;
	const uint8_t role = children_are_clients ? 2 : 1; /* the probes' WF_CLIENTS, WF_FOLLOW */
	if (t->bcc_api->table_update(t->bcc, "wf_chain", &key, &role) < 0)
		return cg_errf(err, "the probes' table wf_chain cannot take process %d: %s",
		               (int)tgid, t->bcc_api->last_error(t->bcc));
	return 0;
}

int tracer_waterfall_watch_fd(struct tracer *t, pid_t tgid, int fd, enum cglat_wf_fd why,
                              struct cg_err *err)
{
	uint64_t key = (uint64_t)(uint32_t)tgid << 32 | (uint32_t)fd;
	uint32_t value = why;
	if (t->bcc_api->table_update(t->bcc, "wf_fds", &key, &value) < 0)
		return cg_errf(err, "the probes' table wf_fds cannot take fd %d of process %d: %s",
		               fd, (int)tgid, t->bcc_api->last_error(t->bcc));
	return 0;
}

int tracer_monitor_add(struct tracer *t, pid_t tgid, struct cg_err *err)
{
	uint32_t key = (uint32_t)tgid;
	uint8_t one = 1;
	if (t->bcc_api->table_update(t->bcc, "monitor_tgids", &key, &one) < 0)
		return cg_errf(err, "%s", t->bcc_api->last_error(t->bcc));
	return 0;
}

int tracer_monitor_counts(struct tracer *t, uint64_t counts[CGLAT_MON_COUNT], struct cg_err *err)
{
	for (uint32_t i = 0; i < CGLAT_MON_COUNT; i++)
		if (t->bcc_api->table_lookup(t->bcc, "monitor_counts", &i, &counts[i]) < 0)
			return cg_errf(err, "reading the monitor's counters: %s",
			               t->bcc_api->last_error(t->bcc));
	return 0;
}

enum tracer_strategy tracer_strategy(const struct tracer *t)
{
	return t->strategy;
}

const char *tracer_reason(const struct tracer *t)
{
	return t->reason;
}

uint64_t tracer_lost_events(const struct tracer *t)
{
	return t->lost;
}

const char *tracer_unseen_writes(const struct tracer *t)
{
	return t->unseen;
}

bool tracer_fd_watched(struct tracer *t, int fd)
{
	if (t->strategy != TRACER_TRACEPOINT || !t->bcc)
		return false;
	uint64_t key = (uint64_t)(uint32_t)getpid() << 32 | (uint32_t)fd;
	struct cglat_open_file f;
	return t->bcc_api->table_lookup(t->bcc, "open_files", &key, &f) == 0;
}

static void detach(struct tracer *t)
{
	uint64_t t0 = tracer_now_ns();
	t->bcc_api->destroy(t->bcc);
	t->bcc = NULL;
	t->timings.detach_ns = tracer_now_ns() - t0;
}

static void *detach_thread(void *arg)
{
	detach(arg);
	return NULL;
}

void tracer_detach_begin(struct tracer *t)
{
	if (!t || !t->bcc || t->detaching)
		return;
	/* Nothing reads the perf buffers from here on; only the detacher touches t->bcc. */
	t->detaching = start_blocked(&t->detacher, detach_thread, t) == 0;
	if (!t->detaching)
		detach(t);
}

void tracer_timings(struct tracer *t, struct tracer_timings *out)
{
	if (t && t->detaching) {
		pthread_join(t->detacher, NULL);
		t->detaching = false;
	}
	if (t && t->bcc)
		detach(t);
	*out = t ? t->timings : (struct tracer_timings){0};
}

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	struct tracer_timings unused;
	tracer_timings(t, &unused);
	free(t);
}
