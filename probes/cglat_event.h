/* Event records shared by the probes (BCC's C) and the frontend (C11).
 * Fixed-width fields only, so both sides agree on the layout. */
#ifndef CGLAT_EVENT_H
#define CGLAT_EVENT_H

#ifndef CGLAT_BPF
#include <stdint.h>
typedef uint32_t cglat_u32;
typedef int32_t cglat_s32;
typedef uint64_t cglat_u64;
typedef int64_t cglat_s64;
#else
typedef u32 cglat_u32;
typedef s32 cglat_s32;
typedef u64 cglat_u64;
typedef s64 cglat_s64;
#endif

/* Power of two: the probes mask indexes with LEN - 1 to satisfy the verifier. */
#define CGLAT_PATH_LEN 256
#define CGLAT_DATA_LEN 128
#define CGLAT_COMM_LEN 16
/* A limit file's name with its NUL padding: the key of the probes' limit_names. */
#define CGLAT_NAME_LEN 32

enum cglat_event_kind {
	CGLAT_EV_RECV = 1,  /* dockerd received bytes starting with "POST " */
	CGLAT_EV_WRITE = 2, /* a write to a cgroup limit file returned (call: which) */
	/* -DCGLAT_ORIGINAL (bench --original-method): dockerd returned from a receive, of
	 * any call (call: which; fd), whatever it received, even nothing or an error
	 * (ret <= 0). With sock = 1 it was a socket's: the original tool's start mark, its
	 * kprobe on sock_recvmsg (and the recvmsg/recvmmsg syscalls) at their entry
	 * (ts_enter), which every read(2), readv(2), recvfrom(2), recvmsg(2) and
	 * recvmmsg(2) of a socket reaches. sock = 0: a read/readv of another kind of fd,
	 * no mark. No data. */
	CGLAT_EV_RECV_ANY = 3,
};

/* Which receive syscall delivered a CGLAT_EV_RECV or a CGLAT_EV_RECV_ANY (readv:
 * only the latter; the exact method's start mark does not follow readv). */
enum cglat_recv_call {
	CGLAT_RECV_READ = 1,
	CGLAT_RECV_RECVFROM = 2,
	CGLAT_RECV_RECVMSG = 3,
	CGLAT_RECV_RECVMMSG = 4,
	CGLAT_RECV_READV = 5,
};
#define CGLAT_RECV_CALLS 6 /* one more than the largest enum cglat_recv_call */

/* Which call made a CGLAT_EV_WRITE. The tracepoint strategy sees the system call
 * itself; the kprobe strategy sees the kernel function under it, which serves
 * write(2) and pwrite64(2) alike (vfs_write), and writev(2), pwritev(2) and
 * pwritev2(2) alike (vfs_writev). 0: not said (a --probe-file's own probes). */
enum cglat_write_call {
	CGLAT_WRITE_WRITE = 1,
	CGLAT_WRITE_PWRITE64 = 2,
	CGLAT_WRITE_WRITEV = 3,
	CGLAT_WRITE_PWRITEV = 4,
	CGLAT_WRITE_PWRITEV2 = 5,
	CGLAT_WRITE_VFS_WRITE = 6,  /* kprobe: write or pwrite64 */
	CGLAT_WRITE_VFS_WRITEV = 7, /* kprobe: writev, pwritev or pwritev2 */
};

/* Vectored writes: the event's data gathers the first bytes of up to this many
 * iovecs (a value and its newline in two iovecs, say), CGLAT_DATA_LEN in all. */
#define CGLAT_IOV_GATHER 4

struct cglat_event {
	cglat_u32 kind;
	cglat_u32 tid;
	cglat_u32 tgid;
	cglat_s32 fd;
	cglat_u64 ts_enter; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	cglat_u64 ts_exit;
	cglat_s64 ret;      /* the syscall's return value: bytes, or -errno */
	cglat_u64 exec_ns;  /* when the process last exec'd (0: before the probes) */
	cglat_u32 call;     /* enum cglat_recv_call for RECV, enum cglat_write_call for WRITE */
	cglat_u32 data_len; /* valid bytes in data */
	/* RECV_ANY: 1 when the fd is a socket (the original's start mark), 0 for a read or
	 * readv of dockerd's that the probes know is of no socket (a file, a pipe, an
	 * eventfd), sent so that the report can say so. 0 for the other kinds. */
	cglat_u32 sock;
	cglat_u32 pad;
	char comm[CGLAT_COMM_LEN];
	char parent_comm[CGLAT_COMM_LEN]; /* of the process that forked it; "" unknown */
	char path[CGLAT_PATH_LEN];        /* WRITE: the path the file was opened with */
	/* RECV: first bytes received; WRITE: first bytes handed to the kernel (of the
	 * first CGLAT_IOV_GATHER iovecs for a vectored write) */
	char data[CGLAT_DATA_LEN];
};

/* bench --waterfall (-DCGLAT_WATERFALL): what the processes an update passes through
 * do, in a record of its own on the perf buffer wf_events. The chain is the processes
 * the frontend names (bench, dockerd, containerd, the container's shim) and every
 * process they fork from then on (the docker CLI, the runtime). */
enum cglat_wf_kind {
	CGLAT_WF_FORK = 1,  /* a chain process forked: arg the child's pid */
	CGLAT_WF_EXEC = 2,  /* a chain process exec'd */
	CGLAT_WF_EXIT = 3,  /* a chain process ended */
	CGLAT_WF_SEND = 4,  /* a write on a watched fd (fd) began: arg its enum cglat_wf_fd */
	CGLAT_WF_ONCPU = 5, /* a chain thread (tid) ran on a CPU from ts to ts_end */
};

/* Why an fd is watched (the probes' wf_fds, keyed by tgid << 32 | fd). */
enum cglat_wf_fd {
	CGLAT_WF_FD_CONNECTED = 1,  /* a child of bench connect(2)ed it: the CLI's to the daemon */
	CGLAT_WF_FD_CONTAINERD = 2, /* dockerd's connection to containerd (the frontend's) */
	CGLAT_WF_FD_SHIM = 3,       /* containerd's to the container's shim (the frontend's) */
	CGLAT_WF_FD_CLIENT = 4,     /* the daemon (dockerd or serve) received a "POST " on it */
};

struct cglat_wf_event {
	cglat_u32 kind;
	cglat_u32 tgid;
	cglat_u32 tid;
	cglat_s32 fd;     /* SEND: the fd written; else -1 */
	cglat_u64 ts;     /* bpf_ktime_get_ns() */
	cglat_u64 ts_end; /* ONCPU: when it left the CPU; else ts */
	cglat_u32 arg;
	cglat_u32 pad;
};

/* Counters the monitor's probes keep for the monitored processes. */
enum cglat_monitor_counter {
	CGLAT_MON_PAGE_FAULTS = 0,   /* exceptions:page_fault_user */
	CGLAT_MON_LRU_ISOLATED = 1,  /* pages taken off LRU lists by reclaim (vmscan) */
	CGLAT_MON_PAGES_WRITTEN = 2, /* pages reclaim wrote out (anon: to swap) */
	CGLAT_MON_COUNT = 3,
};

/* Value of the open-limit-file table, keyed by (tgid << 32 | fd). */
struct cglat_open_file {
	cglat_u64 opened_ns; /* to drop entries older than the process's last exec/exit */
	char path[CGLAT_PATH_LEN];
};

#endif
