/* cglat probes, compiled at run time by BCC.
 *
 * End mark, one of two strategies chosen by -D:
 *  CGLAT_TRACEPOINT  syscall tracepoints only; no kernel struct is read, so any
 *                    kernel headers do. (tgid, fd) of limit files is learnt from
 *                    openat/openat2 exits, forgotten on close, dup2/dup3, exec
 *                    and exit, and write(2), pwrite64(2), writev(2), pwritev(2)
 *                    and pwritev2(2) to those fds are timed from enter to exit.
 *  CGLAT_KPROBE      vfs_write (write, pwrite64) and vfs_writev (writev, pwritev,
 *                    pwritev2) entry/return, the file named from its dentry (as
 *                    the original tool did for vfs_write); needs kprobes and
 *                    matching headers. The frontend attaches vfs_writev only where
 *                    /proc/kallsyms has it (a static function the compiler may
 *                    inline).
 * Neither sees writes that no system call makes: io_uring's (see README).
 * Start mark, both strategies: dockerd's read/recvfrom/recvmsg/recvmmsg returning
 * bytes that begin with "POST " (filtered to CGLAT_DOCKERD_TGID, and to
 * CGLAT_SERVE_TGID, a cglat serve in front of dockerd; 0 disables either).
 * With CGLAT_ORIGINAL also every socket receive of dockerd, of any call (read,
 * readv, recvfrom, recvmsg, recvmmsg), whatever it returned (CGLAT_EV_RECV_ANY): the
 * original tool's start mark, its kprobe on sock_recvmsg (see "the original's start
 * mark" below).
 * With CGLAT_WATERFALL also what the chain of processes of an update does: forks,
 * execs, exits, writes on its connections, time on a CPU (see "waterfall" below).
 *
 * Every syscall probe hangs off the two raw_syscalls tracepoints (sys_enter,
 * sys_exit), which dispatch on the syscall number (see "syscall dispatch"
 * below). They and the process life-cycle probes are raw tracepoints: closing a
 * perf event tracepoint waits for an RCU grace period under a global mutex
 * (70-80 ms apiece, one after another), closing a raw tracepoint does not. Only the
 * monitor's probes and the waterfall's fork tracepoint are perf event tracepoints
 * (fields a raw tracepoint cannot read without the kernel's headers).
 *
 * The frontend prepends cglat_event.h and passes -DCGLAT_BPF and the syscall
 * numbers, -DCGLAT_NR_<name>=N. */
#ifndef CGLAT_EVENT_H
#include "cglat_event.h"
#endif

#ifndef CGLAT_DOCKERD_TGID
#define CGLAT_DOCKERD_TGID 0
#endif
#ifndef CGLAT_SERVE_TGID
#define CGLAT_SERVE_TGID 0
#endif
#ifndef CGLAT_MAX_OPEN_FILES
#define CGLAT_MAX_OPEN_FILES 16384
#endif

/* Syscall numbers come from the frontend (tracer.c, from the C library's
 * <sys/syscall.h>), never from kernel headers, which may be another kernel's.
 * dup2 (absent on arm64 and other asm-generic architectures), openat2 and pwritev2
 * (absent from old C library headers) may be missing: their cases are left out. */
#if !defined(CGLAT_NR_read) || !defined(CGLAT_NR_recvfrom) || !defined(CGLAT_NR_recvmsg) ||        \
        !defined(CGLAT_NR_recvmmsg) || !defined(CGLAT_NR_openat) || !defined(CGLAT_NR_close) ||    \
        !defined(CGLAT_NR_dup3) || !defined(CGLAT_NR_write) || !defined(CGLAT_NR_clone) ||         \
        !defined(CGLAT_NR_pwrite64) || !defined(CGLAT_NR_writev) || !defined(CGLAT_NR_pwritev)
#error "the frontend passes -DCGLAT_NR_<name>=N for each syscall the probes handle"
#endif
#if defined(CGLAT_WATERFALL) && (!defined(CGLAT_NR_sendto) || !defined(CGLAT_NR_sendmsg) ||        \
                                 !defined(CGLAT_NR_sendmmsg) || !defined(CGLAT_NR_connect))
#error "the frontend passes -DCGLAT_NR_<name>=N for each syscall the probes handle"
#endif
#if defined(CGLAT_ORIGINAL) &&                                                                     \
        (!defined(CGLAT_NR_readv) || !defined(CGLAT_NR_socket) || !defined(CGLAT_NR_socketpair) || \
         !defined(CGLAT_NR_accept4) || !defined(CGLAT_NR_dup) || !defined(CGLAT_NR_fcntl))
#error "the frontend passes -DCGLAT_NR_<name>=N for each syscall the probes handle"
#endif

/* The raw syscall tracepoints pass the task's saved user registers (struct
 * pt_regs). Their layout is the architecture's ptrace ABI, stable across kernels,
 * so they are read at fixed offsets and no kernel header is needed. */
#if defined(__x86_64__)
/* r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax ...: the first three
 * arguments are di, si, dx; the syscall number is orig_ax. */
#define REGS_DX_OFFSET (12 * 8)
#define REGS_NR_OFFSET (15 * 8)
#define REGS_ARG4_OFFSET (7 * 8) /* r10: the fourth argument of a syscall */
#elif defined(__aarch64__)
/* regs[31] sp pc pstate orig_x0 syscallno(s32): arguments in x0, x1, x2. */
#define REGS_X0_OFFSET 0
#define REGS_NR_OFFSET (35 * 8)
#define REGS_ARG4_OFFSET (3 * 8) /* x3 */
#else
#error "the raw syscall probes know the register layout of x86_64 and arm64 only"
#endif

/* bpf_probe_read_user(_str) and _kernel under other names. BCC (0.26) looks the
 * helper up in /proc/kallsyms at every call written by its name, to fall back to
 * bpf_probe_read on kernels before 5.5, and each look-up costs ~0.1 s: with a call
 * site apiece that was most of the compile. Every kernel cglat runs on has them. */
static long (*read_user)(void *dst, u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static long (*read_user_str)(void *dst, u32 size,
                             const void *src) = (void *)BPF_FUNC_probe_read_user_str;
static long (*read_kernel)(void *dst, u32 size,
                           const void *src) = (void *)BPF_FUNC_probe_read_kernel;

/* The first three arguments of the syscall whose registers are at regs. */
static __always_inline void syscall_args(u64 regs, u64 a[3])
{
#if defined(__x86_64__)
	u64 dx_si_di[3] = {};
	read_kernel(dx_si_di, sizeof(dx_si_di), (void *)(regs + REGS_DX_OFFSET));
	a[0] = dx_si_di[2];
	a[1] = dx_si_di[1];
	a[2] = dx_si_di[0];
#else
	read_kernel(a, 3 * sizeof(u64), (void *)(regs + REGS_X0_OFFSET));
#endif
}

/* The fourth argument (socketpair's int[2]). */
static __always_inline u64 syscall_arg4(u64 regs)
{
	u64 v = 0;
	read_kernel(&v, sizeof(v), (void *)(regs + REGS_ARG4_OFFSET));
	return v;
}

static __always_inline long syscall_nr(u64 regs)
{
#if defined(__x86_64__)
	long nr = -1;
#else
	s32 nr = -1;
#endif
	read_kernel(&nr, sizeof(nr), (void *)(regs + REGS_NR_OFFSET));
	return nr;
}

#define PATH_MASK (CGLAT_PATH_LEN - 1)
#define DATA_MASK (CGLAT_DATA_LEN - 1)

BPF_PERF_OUTPUT(events);
/* The event being built. The slack after it lets gather_iovecs() read each iovec's
 * bytes at a variable offset into data with a length the verifier can bound on its
 * own (offset < CGLAT_DATA_LEN, length <= CGLAT_DATA_LEN) while the code keeps their
 * sum within data; only the event itself is submitted. */
struct event_scratch {
	struct cglat_event ev;
	char slack[CGLAT_DATA_LEN];
};
BPF_PERCPU_ARRAY(scratch, struct event_scratch, 1);
/* tgid -> when it last exec'd: a write by a process exec'd after dockerd
 * received an update (runc update) can be carrying out that update. */
BPF_TABLE("lru_hash", u32, u64, exec_time, 16384);
/* tgid -> the command of the process that forked it: `runc update` is forked
 * by containerd-shim, a `cglat set` or a shell by something else. */
struct parent_info {
	char comm[CGLAT_COMM_LEN];
};
BPF_TABLE("lru_hash", u32, struct parent_info, parents, 16384);

/* The file names that hold a limit (v1 and v2), as keys of limit_names. The frontend
 * fills the table from libcglat's knob table after the load, before it attaches, so
 * the names live in one place. One lookup of the path's last component replaces a
 * compare per name, which unrolled into most of the compile's code. */
struct limit_name {
	char name[CGLAT_NAME_LEN];
};
BPF_HASH(limit_names, struct limit_name, u8, 64);
BPF_PERCPU_ARRAY(name_scratch, struct limit_name, 1);

/* True when the last component of the NUL-terminated path p of length len (without
 * NUL) is a limit file's name. The loops stay loops (the verifier bounds them), so
 * the compiler has little to do. */
static __always_inline int is_limit_file(const char *p, int len)
{
	if (len < 1 || len > PATH_MASK)
		return 0;
	u32 zero = 0;
	struct limit_name *key = name_scratch.lookup(&zero);
	if (!key)
		return 0;
	/* Each index is masked where it is used; the empty asm keeps the compiler from
	 * dropping the mask as implied by the loop's checks (the verifier needs it). */
	int start = len;
#pragma clang loop unroll(disable)
	for (int k = 1; k <= CGLAT_NAME_LEN; k++) {
		u32 at = len - k;
		asm volatile("" : "+r"(at));
		if (k > len || p[at & PATH_MASK] == '/')
			break;
		start = len - k;
	}
	int n = len - start;
	if (n < 1 || n >= CGLAT_NAME_LEN)
		return 0; /* no limit file's name is that long */
#pragma clang loop unroll(disable)
	for (int k = 0; k < CGLAT_NAME_LEN; k++) {
		u32 at = start + k;
		asm volatile("" : "+r"(at));
		key->name[k & (CGLAT_NAME_LEN - 1)] = k < n ? p[at & PATH_MASK] : 0;
	}
	return limit_names.lookup(key) != NULL;
}

static __always_inline void fill_common(struct cglat_event *ev, u32 kind)
{
	u64 id = bpf_get_current_pid_tgid();
	ev->kind = kind;
	ev->tid = (u32)id;
	ev->tgid = id >> 32;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	u32 tgid = id >> 32;
	u64 *exec = exec_time.lookup(&tgid);
	ev->exec_ns = exec ? *exec : 0;
	ev->sock = 0;
	ev->pad = 0;
	struct parent_info *parent = parents.lookup(&tgid);
	if (parent)
		read_kernel(ev->parent_comm, sizeof(ev->parent_comm), parent->comm);
	else
		ev->parent_comm[0] = 0;
}

#ifdef CGLAT_WATERFALL
/* --------------------------------------------------------------- waterfall
 *
 * bench --waterfall: the stages of an update, from what its chain of processes does.
 * wf_chain holds the chain's tgids: the frontend's roots (bench, dockerd, containerd,
 * the container's shim, serve) and whatever they fork, added at the fork (the perf event
 * sched_process_fork, which fires in the parent before the child can run), so a
 * child's first instant is already followed. The fork tracepoint fires for new threads
 * too: their tids are added and removed at their exit, unused (lookups are by tgid).
 * Values: WF_FOLLOW; WF_CLIENTS for bench, whose children are WF_CLIENT (the docker
 * CLI), the only processes whose connect(2)s are watched. Its forks, execs and exits are sent; its
 * writes on the fds of wf_fds (its connections to the next process of the chain,
 * found by the frontend from sock_diag; the CLI's connect(2)ed ones; dockerd's client
 * connection of an update) are sent at their entry; and every time one of its threads
 * leaves a CPU, the time it ran there. */
enum wf_role { WF_FOLLOW = 1, WF_CLIENTS = 2, WF_CLIENT = 3 };
BPF_HASH(wf_chain, u32, u8, 16384);
/* LRU: a process that exits without closing its sockets (every docker CLI) leaves its
 * entries behind; the oldest go first. */
BPF_TABLE("lru_hash", u64, u32, wf_fds, 16384);
BPF_PERCPU_ARRAY(wf_last_switch, u64, 1); /* this CPU's last context switch */
BPF_PERF_OUTPUT(wf_events);

static __always_inline int wf_in_chain(u32 tgid)
{
	return wf_chain.lookup(&tgid) != NULL;
}

static __always_inline void wf_emit(void *ctx, u32 kind, s32 fd, u64 ts, u64 ts_end, u32 arg)
{
	u64 id = bpf_get_current_pid_tgid();
	struct cglat_wf_event e = {.kind = kind,
	                           .tgid = id >> 32,
	                           .tid = (u32)id,
	                           .fd = fd,
	                           .ts = ts,
	                           .ts_end = ts_end,
	                           .arg = arg};
	wf_events.perf_submit(ctx, &e, sizeof(e));
}

/* The parent's side of a fork: a thread of a chain process is followed as its process
 * is (its tid is added, and removed at its exit), a new process joins the chain. */
static __always_inline void wf_fork(void *ctx, u32 child)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u8 *parent = wf_chain.lookup(&tgid);
	if (!parent)
		return;
	u8 role = *parent == WF_CLIENTS ? WF_CLIENT : WF_FOLLOW;
	wf_chain.update(&child, &role);
	u64 now = bpf_ktime_get_ns();
	wf_emit(ctx, CGLAT_WF_FORK, -1, now, now, child);
}

static __always_inline void wf_exec(void *ctx)
{
	if (!wf_in_chain(bpf_get_current_pid_tgid() >> 32))
		return;
	u64 now = bpf_ktime_get_ns();
	wf_emit(ctx, CGLAT_WF_EXEC, -1, now, now, 0);
}

static __always_inline void wf_exit(void *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id, tgid = id >> 32;
	if (tid != tgid) { /* a thread: its own entry, if it had one, goes */
		wf_chain.delete(&tid);
		return;
	}
	if (!wf_in_chain(tgid))
		return;
	u64 now = bpf_ktime_get_ns();
	wf_emit(ctx, CGLAT_WF_EXIT, -1, now, now, 0);
	wf_chain.delete(&tgid);
}

static __always_inline u64 wf_fd_key(s32 fd)
{
	return (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (u32)fd;
}

static __always_inline void wf_watch_fd(s32 fd, u32 why)
{
	u64 key = wf_fd_key(fd);
	wf_fds.update(&key, &why);
}

/* A write(2), writev(2), sendto(2), sendmsg(2) or sendmmsg(2) begins. */
static __always_inline void wf_send(void *ctx, s32 fd)
{
	u64 key = wf_fd_key(fd);
	u32 *why = wf_fds.lookup(&key);
	if (!why)
		return;
	u64 now = bpf_ktime_get_ns();
	wf_emit(ctx, CGLAT_WF_SEND, fd, now, now, *why);
}

static __always_inline void wf_connect(s32 fd)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u8 *role = wf_chain.lookup(&tgid);
	if (role && *role == WF_CLIENT)
		wf_watch_fd(fd, CGLAT_WF_FD_CONNECTED);
}

static __always_inline void wf_close(s32 fd)
{
	u64 key = wf_fd_key(fd);
	wf_fds.delete(&key);
}

/* Raw tracepoint sched_switch(preempt, prev, next): current is still prev, so the
 * time since this CPU's last switch is what prev ran; next's is told at its own
 * switch out. No task struct is read. */
int cglat_switch(struct bpf_raw_tracepoint_args *ctx)
{
	u32 zero = 0;
	u64 *last = wf_last_switch.lookup(&zero);
	if (!last)
		return 0;
	u64 now = bpf_ktime_get_ns(), since = *last;
	*last = now;
	if (since && wf_in_chain(bpf_get_current_pid_tgid() >> 32))
		wf_emit(ctx, CGLAT_WF_ONCPU, -1, since, now, 0);
	return 0;
}
#endif /* CGLAT_WATERFALL */

/* ---------------------------------------------------------------- receive */

struct recv_args {
	u64 ts;
	u64 buf; /* user buffer, or user msghdr/mmsghdr */
	u32 call;
	s32 fd;
	u32 orig; /* CGLAT_ORIGINAL: enum orig_recv (orig_counts()) */
	u32 pad;
};

BPF_HASH(recv_inflight, u32, struct recv_args, 1024);
/* (tgid << 32 | fd) -> when a 1-byte read returned "P". Go's HTTP server keeps
 * a 1-byte background read pending on idle keep-alive connections, so a
 * request can arrive as "P" then "OST /v1.41/...": the first byte is the
 * moment dockerd received it. */
BPF_HASH(recv_first_byte, u64, u64, 1024);

/* User ABI layouts (not kernel structs): struct iovec, msghdr, mmsghdr. */
struct user_iovec {
	u64 base;
	u64 len;
};
struct user_msghdr_abi {
	u64 name;
	u32 namelen;
	u32 pad;
	u64 iov;
	u64 iovlen;
	u64 control;
	u64 controllen;
	u32 flags;
	u32 pad2;
};

static __always_inline bool vectored(u32 call)
{
	return call == CGLAT_WRITE_WRITEV || call == CGLAT_WRITE_PWRITEV ||
	       call == CGLAT_WRITE_PWRITEV2 || call == CGLAT_WRITE_VFS_WRITEV;
}

/* The first bytes of a vectored write into ev->data, from the writer's array of vlen
 * user ABI iovecs at vec: at most CGLAT_IOV_GATHER iovecs, CGLAT_DATA_LEN bytes in
 * all; returns how many. Runs only for writes of limit files. A 32-bit (compat)
 * process's iovecs have another layout; its vectored writes reach only the kprobe
 * strategy's vfs_writev, where the bytes shown would be wrong. */
static __always_inline u32 gather_iovecs(struct event_scratch *es, u64 vec, u64 vlen)
{
	u32 off = 0;
#pragma unroll
	for (int i = 0; i < CGLAT_IOV_GATHER; i++) {
		if (i >= vlen || off >= CGLAT_DATA_LEN)
			break;
		struct user_iovec iov = {};
		if (read_user(&iov, sizeof(iov), (void *)(vec + i * sizeof(iov))))
			break;
		u64 room = CGLAT_DATA_LEN - off;
		u64 n = iov.len < room ? iov.len : room;
		/* The verifier must see at the read: the offset < CGLAT_DATA_LEN by a mask,
		 * and n <= CGLAT_DATA_LEN by a comparison with a constant (older verifiers
		 * learn no bound from comparing two registers). The compiler would drop both
		 * as implied by the loop's checks: the empty asm hides what it knows. */
		asm volatile("" : "+r"(n));
		if (n > CGLAT_DATA_LEN)
			n = CGLAT_DATA_LEN;
		u32 at = off;
		asm volatile("" : "+r"(at));
		if (n && read_user(&es->ev.data[at & DATA_MASK], n, (void *)iov.base))
			break;
		off += n;
	}
	return off;
}

/* A process whose receives of update requests are start marks: dockerd, or serve. */
static __always_inline int is_receiver(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return (CGLAT_DOCKERD_TGID != 0 && tgid == CGLAT_DOCKERD_TGID) ||
	       (CGLAT_SERVE_TGID != 0 && tgid == CGLAT_SERVE_TGID);
}

#ifdef CGLAT_ORIGINAL
/* ------------------------------------------------- the original's start mark
 *
 * bench --original-method. The original tool's start mark was a kprobe on
 * sock_recvmsg, beside the recvmsg/recvmmsg syscall symbols, filtered to dockerd, at
 * the entry, whatever the call then returned. The kernel runs sock_recvmsg for every
 * receive from a socket: read(2) and readv(2) through sock_read_iter, recvfrom(2)
 * through __sys_recvfrom, recvmsg(2) and recvmmsg(2) through ____sys_recvmsg. So its
 * mark is every socket receive of dockerd, of any call. Here, with system calls only:
 *  - recvmsg, recvmmsg: every call (the original hooked the syscalls themselves);
 *  - recvfrom: every call but one on a bad fd or a non-socket (-EBADF, -ENOTSOCK:
 *    failed before sock_recvmsg);
 *  - read, readv: a call on one of dockerd's sockets, asking for bytes (a read of 0
 *    bytes, or readv of no iovecs, returns before sock_recvmsg). dockerd's reads of
 *    other fds are sent too, with sock = 0: no mark, counted apart in the report.
 * The time is the syscall's entry, the kprobe's by a few hundred ns at most (the fd
 * look-up comes between).
 *
 * Which of dockerd's fds are sockets is learnt here without reading a kernel struct,
 * in order with dockerd's own calls: socket(2), socketpair(2), accept(2) and
 * accept4(2) add the fds they return, close(2) forgets one, dup(2), dup2(2), dup3(2)
 * and fcntl(2) F_DUPFD/F_DUPFD_CLOEXEC give the new fd the old one's kind. The sockets
 * dockerd had before the probes attached are seeded from /proc/<dockerd>/fd right
 * after the attach (tracer.c). This is kept in the probe, not left to user space
 * reading /proc/<dockerd>/fd/<fd> when an event arrives: dockerd closes and reuses fds
 * all the time (a connection per docker command, a file per config write), and by
 * then the fd may be another file. Not learnt: fds received in SCM_RIGHTS messages or
 * taken with pidfd_getfd(2), and fds closed by close_range(2), none of which dockerd
 * does with its own sockets; a read of such an fd would be missed, or counted. */
BPF_HASH(orig_sockets, u32, u8, 16384); /* dockerd's fd -> 1: a socket */

/* A call that makes an fd, from its entry to its exit. */
enum orig_fd_op { ORIG_FD_SOCKET = 1, ORIG_FD_SOCKETPAIR = 2, ORIG_FD_DUP = 3 };
struct orig_fd_args {
	u64 arg; /* ORIG_FD_DUP: the old fd; ORIG_FD_SOCKETPAIR: the user's int[2] */
	u32 op;
	u32 pad;
};
BPF_HASH(orig_fd_inflight, u32, struct orig_fd_args, 1024);

static __always_inline int is_dockerd(void)
{
	return CGLAT_DOCKERD_TGID != 0 && bpf_get_current_pid_tgid() >> 32 == CGLAT_DOCKERD_TGID;
}

static __always_inline int orig_is_socket(u64 fd)
{
	u32 key = fd;
	u8 *v = orig_sockets.lookup(&key);
	return v && *v;
}

static __always_inline void orig_set_socket(long fd, u8 is)
{
	if (fd < 0)
		return;
	u32 key = fd;
	if (is)
		orig_sockets.update(&key, &is);
	else
		orig_sockets.delete(&key);
}

static __always_inline void orig_fd_enter(u32 op, u64 arg)
{
	if (!is_dockerd())
		return;
	u32 tid = bpf_get_current_pid_tgid();
	struct orig_fd_args a = {.arg = arg, .op = op};
	orig_fd_inflight.update(&tid, &a);
}

static __always_inline void orig_fd_exit(long ret)
{
	if (!is_dockerd())
		return;
	u32 tid = bpf_get_current_pid_tgid();
	struct orig_fd_args *p = orig_fd_inflight.lookup(&tid);
	if (!p)
		return;
	struct orig_fd_args a = *p;
	orig_fd_inflight.delete(&tid);
	if (ret < 0)
		return;
	if (a.op == ORIG_FD_SOCKET) {
		orig_set_socket(ret, 1);
	} else if (a.op == ORIG_FD_SOCKETPAIR) {
		s32 sv[2] = {-1, -1};
		if (read_user(sv, sizeof(sv), (void *)a.arg) == 0) {
			orig_set_socket(sv[0], 1);
			orig_set_socket(sv[1], 1);
		}
	} else if (a.op == ORIG_FD_DUP) {
		orig_set_socket(ret, orig_is_socket(a.arg));
	}
}

static __always_inline void orig_close(u64 fd)
{
	if (is_dockerd())
		orig_set_socket((s32)fd, 0);
}

/* What a receive is to the original's start mark, decided at its entry (recvfrom's
 * return decides too). count: read's bytes, readv's iovecs. */
enum orig_recv {
	ORIG_RECV_NONE = 0,      /* not sent: not dockerd's, or a read of 0 bytes */
	ORIG_RECV_SOCKET = 1,    /* a socket's: a start mark */
	ORIG_RECV_NO_SOCKET = 2, /* dockerd's read/readv of another fd: sent, no mark */
};
static __always_inline u32 orig_counts(s32 fd, u64 count, u32 call)
{
	if (!is_dockerd())
		return ORIG_RECV_NONE;
	if (call == CGLAT_RECV_READ || call == CGLAT_RECV_READV) {
		if (count == 0)
			return ORIG_RECV_NONE;
		return orig_is_socket(fd) ? ORIG_RECV_SOCKET : ORIG_RECV_NO_SOCKET;
	}
	return ORIG_RECV_SOCKET;
}
#endif /* CGLAT_ORIGINAL */

static __always_inline void recv_enter(s32 fd, u64 buf, u64 count, u32 call)
{
	if (!is_receiver())
		return;
	u32 orig = 0;
#ifdef CGLAT_ORIGINAL
	orig = orig_counts(fd, count, call);
#endif
	if (call == CGLAT_RECV_READV && !orig)
		return; /* readv is followed for the original's mark only */
	u32 tid = bpf_get_current_pid_tgid();
	struct recv_args a = {
	        .ts = bpf_ktime_get_ns(), .buf = buf, .call = call, .fd = fd, .orig = orig};
	recv_inflight.update(&tid, &a);
}

#ifdef CGLAT_ORIGINAL
/* The original's start mark, sent at the receive's return with its entry's time. */
static __always_inline void recv_any(void *ctx, const struct recv_args *a, long ret)
{
	if (!a->orig)
		return;
	if (a->call == CGLAT_RECV_RECVFROM && (ret == -9 /* EBADF */ || ret == -88 /* ENOTSOCK */))
		return;
	u32 zero = 0;
	struct event_scratch *es = scratch.lookup(&zero);
	if (!es)
		return;
	struct cglat_event *ev = &es->ev;
	fill_common(ev, CGLAT_EV_RECV_ANY);
	ev->fd = a->fd;
	ev->ts_enter = a->ts;
	ev->ts_exit = bpf_ktime_get_ns();
	ev->ret = ret;
	ev->call = a->call;
	ev->data_len = 0;
	ev->sock = a->orig == ORIG_RECV_SOCKET;
	ev->path[0] = 0;
	events.perf_submit(ctx, ev, sizeof(*ev));
}
#endif

static __always_inline void recv_exit(void *ctx, long ret)
{
	if (!is_receiver())
		return;
	u32 tid = bpf_get_current_pid_tgid();
	struct recv_args *a = recv_inflight.lookup(&tid);
	if (!a)
		return;
	struct recv_args args = *a;
	recv_inflight.delete(&tid);
#ifdef CGLAT_ORIGINAL
	recv_any(ctx, &args, ret);
#endif
	if (ret < 1 || args.call == CGLAT_RECV_READV)
		return;

	u64 data = args.buf;
	if (args.call == CGLAT_RECV_RECVMSG || args.call == CGLAT_RECV_RECVMMSG) {
		/* mmsghdr starts with a msghdr: the first message's first iovec. */
		struct user_msghdr_abi m = {};
		struct user_iovec iov = {};
		if (read_user(&m, sizeof(m), (void *)args.buf) ||
		    read_user(&iov, sizeof(iov), (void *)m.iov))
			return;
		data = iov.base;
		if (args.call == CGLAT_RECV_RECVMMSG) {
			u32 msg_len = 0; /* mmsghdr.msg_len follows the msghdr */
			read_user(&msg_len, sizeof(msg_len),
			          (void *)(args.buf + sizeof(struct user_msghdr_abi)));
			ret = msg_len;
		}
	}
	u64 now = bpf_ktime_get_ns();
	u64 fdkey = (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (u32)args.fd;
	u64 *first = recv_first_byte.lookup(&fdkey);
	u64 first_ts = first ? *first : 0;
	if (first)
		recv_first_byte.delete(&fdkey);

	char head[5] = {};
	if (read_user(head, sizeof(head), (void *)data))
		return;
	if (ret == 1 && head[0] == 'P') {
		recv_first_byte.update(&fdkey, &now);
		return;
	}
	bool whole = head[0] == 'P' && head[1] == 'O' && head[2] == 'S' && head[3] == 'T' &&
	             head[4] == ' ';
	bool rest =
	        first_ts && head[0] == 'O' && head[1] == 'S' && head[2] == 'T' && head[3] == ' ';
	if (!whole && !rest)
		return;

#ifdef CGLAT_WATERFALL
	wf_watch_fd(args.fd, CGLAT_WF_FD_CLIENT); /* the reply goes out on it */
#endif
	u32 zero = 0;
	struct event_scratch *es = scratch.lookup(&zero);
	if (!es)
		return;
	struct cglat_event *ev = &es->ev;
	fill_common(ev, CGLAT_EV_RECV);
	ev->fd = args.fd;
	ev->ts_enter = args.ts;
	ev->ts_exit = rest ? first_ts : now;
	ev->ret = ret;
	ev->call = args.call;
	u64 n = ret;
	if (rest) {
		ev->data[0] = 'P';
		if (n > CGLAT_DATA_LEN - 1)
			n = CGLAT_DATA_LEN - 1;
		ev->data_len = n + 1;
		read_user(&ev->data[1], n, (void *)data);
	} else {
		if (n > CGLAT_DATA_LEN)
			n = CGLAT_DATA_LEN;
		ev->data_len = n;
		read_user(ev->data, n, (void *)data);
	}
	ev->path[0] = 0;
	events.perf_submit(ctx, ev, sizeof(*ev));
}

/* ------------------------------------------------------------ write: tracepoints */
#ifdef CGLAT_TRACEPOINT

/* (tgid << 32 | fd) -> the limit file open there. LRU: entries of processes
 * that exit without closing age out instead of filling the table. */
BPF_TABLE("lru_hash", u64, struct cglat_open_file, open_files, CGLAT_MAX_OPEN_FILES);
/* tgid -> time of its last exec or exit: older open_files entries are stale,
 * since exec closes O_CLOEXEC fds and exit closes all without close(2). */
BPF_TABLE("lru_hash", u32, u64, fd_epoch, CGLAT_MAX_OPEN_FILES);
/* tid -> path of a limit file being opened (enter -> exit). */
BPF_HASH(open_inflight, u32, struct cglat_open_file, 1024);

struct write_args {
	u64 ts;
	u64 buf;   /* the bytes, or for a vectored call the user's iovec array */
	u64 count; /* bytes, or iovecs */
	s32 fd;
	u32 call; /* enum cglat_write_call */
};
BPF_HASH(write_inflight, u32, struct write_args, 1024);

BPF_PERCPU_ARRAY(open_scratch, struct cglat_open_file, 1);

static __always_inline void open_enter(const char *filename)
{
	u32 zero = 0;
	struct cglat_open_file *f = open_scratch.lookup(&zero);
	if (!f)
		return;
	int len = read_user_str(f->path, sizeof(f->path), filename);
	if (len <= 1 || !is_limit_file(f->path, len - 1))
		return;
	u32 tid = bpf_get_current_pid_tgid();
	open_inflight.update(&tid, f);
}

static __always_inline void open_exit(long ret)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct cglat_open_file *f = open_inflight.lookup(&tid);
	if (!f)
		return;
	if (ret >= 0) {
		u64 key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (u32)ret;
		f->opened_ns = bpf_ktime_get_ns();
		open_files.update(&key, f);
	}
	open_inflight.delete(&tid);
}

static __always_inline void close_fd(u32 fd)
{
	u64 key = (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | fd;
	open_files.delete(&key);
}

/* dup2/dup3 close newfd and make it a copy of oldfd: a shell's `echo 1 > file`
 * writes the limit file through fd 1. Done at entry; a failing dup2 is rare and
 * leaves at worst a stale entry that the next close or exit removes. */
static __always_inline void dup_fd(u32 oldfd, u32 newfd)
{
	u64 tgid = bpf_get_current_pid_tgid() & 0xffffffff00000000ULL;
	u64 oldkey = tgid | oldfd, newkey = tgid | newfd;
	if (oldfd == newfd)
		return;
	struct cglat_open_file *f = open_files.lookup(&oldkey);
	if (f)
		open_files.update(&newkey, f);
	else
		open_files.delete(&newkey);
}

/* exec closes O_CLOEXEC fds and exit closes all fds, neither through close(2). */
static __always_inline void forget_fds(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 now = bpf_ktime_get_ns();
	fd_epoch.update(&tgid, &now);
}
#endif /* CGLAT_TRACEPOINT */

/* The raw tracepoints' programs are named cglat_* (the kernel keeps 15 characters of
 * a name), so that they can be told from other tools' on the host.
 *
 * Raw tracepoint sched_process_exec(task, old_pid, bprm): only the current task is
 * used, which is the one that exec'd. */
int cglat_exec(struct bpf_raw_tracepoint_args *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 now = bpf_ktime_get_ns();
	exec_time.update(&tgid, &now);
#ifdef CGLAT_TRACEPOINT
	forget_fds();
#endif
#ifdef CGLAT_WATERFALL
	wf_exec(ctx);
#endif
	return 0;
}

/* A new process's first return to user space, from fork/vfork/clone/clone3 with 0:
 * its command is still its parent's (exec has not run yet), so it records that as
 * the parent's command. The fork tracepoint would tell the same, but its child is a
 * kernel struct a raw tracepoint cannot read without the kernel's headers, and as a
 * perf event tracepoint it costs a grace period to detach. Threads are skipped: their
 * process keeps the entry its leader made. */
static __always_inline void forked_child(void)
{
	u64 id = bpf_get_current_pid_tgid();
	if ((u32)id != id >> 32)
		return;
	u32 tgid = id >> 32;
	struct parent_info p = {};
	bpf_get_current_comm(p.comm, sizeof(p.comm));
	parents.update(&tgid, &p);
}

#ifdef CGLAT_MONITOR
static __always_inline void monitor_forget(u32 tgid);
static __always_inline void monitor_fork(u32 child);
#endif

#if defined(CGLAT_MONITOR) || defined(CGLAT_WATERFALL)
/* The monitor and the waterfall follow forks from the parent's side, which this perf
 * event tracepoint gives with the child's pid, at the moment of the fork. */
TRACEPOINT_PROBE(sched, sched_process_fork)
{
#ifdef CGLAT_MONITOR
	monitor_fork(args->child_pid);
#endif
#ifdef CGLAT_WATERFALL
	wf_fork(args, args->child_pid);
#endif
	return 0;
}
#endif

/* Raw tracepoint sched_process_exit(task): the current task is the one exiting. */
int cglat_exit(struct bpf_raw_tracepoint_args *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
#ifdef CGLAT_WATERFALL
	wf_exit(ctx);
#endif
	if ((u32)id != id >> 32) /* a thread: only the group leader ends the process */
		return 0;
#ifdef CGLAT_TRACEPOINT
	forget_fds();
#endif
#ifdef CGLAT_MONITOR
	monitor_forget(id >> 32);
#endif
	return 0;
}

#ifdef CGLAT_TRACEPOINT

/* This runs on every write(2), pwrite64(2), writev(2), pwritev(2) and pwritev2(2) of
 * the host: one table lookup when the fd is not a limit file, nothing more. */
static __always_inline void write_enter(u32 fd, u64 buf, u64 count, u32 call)
{
	u64 id = bpf_get_current_pid_tgid();
	u64 key = (id & 0xffffffff00000000ULL) | fd;
	struct cglat_open_file *f = open_files.lookup(&key);
	if (!f)
		return;
	u32 tgid = id >> 32;
	u64 *epoch = fd_epoch.lookup(&tgid);
	if (epoch && *epoch >= f->opened_ns) {
		open_files.delete(&key);
		return;
	}
	u32 tid = id;
	struct write_args a = {
	        .ts = bpf_ktime_get_ns(), .buf = buf, .count = count, .fd = fd, .call = call};
	write_inflight.update(&tid, &a);
}

static __always_inline void write_exit(void *ctx, long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct write_args *a = write_inflight.lookup(&tid);
	if (!a)
		return;
	u64 ts_exit = bpf_ktime_get_ns();
	struct write_args w = *a;
	write_inflight.delete(&tid);

	u32 zero = 0;
	struct event_scratch *es = scratch.lookup(&zero);
	if (!es)
		return;
	struct cglat_event *ev = &es->ev;
	fill_common(ev, CGLAT_EV_WRITE);
	ev->fd = w.fd;
	ev->ts_enter = w.ts;
	ev->ts_exit = ts_exit;
	ev->ret = ret;
	ev->call = w.call;
	u64 key = (id & 0xffffffff00000000ULL) | (u32)w.fd;
	struct cglat_open_file *f = open_files.lookup(&key);
	if (f)
		read_kernel(ev->path, sizeof(ev->path), f->path);
	else
		ev->path[0] = 0;
	if (vectored(w.call)) {
		ev->data_len = gather_iovecs(es, w.buf, w.count);
	} else {
		u64 n = w.count;
		if (n > CGLAT_DATA_LEN)
			n = CGLAT_DATA_LEN;
		ev->data_len = n;
		read_user(ev->data, n, (void *)w.buf);
	}
	events.perf_submit(ctx, ev, sizeof(*ev));
}
#endif /* CGLAT_TRACEPOINT */

/* ---------------------------------------------------------- syscall dispatch */

/* Every syscall of the host runs these two programs. For one that is not below,
 * sys_enter is the switch and nothing else, sys_exit the switch and the read of the
 * number; the rest is the kernel's call of the program. A syscall is one case in
 * sys_enter, taking its arguments from syscall_args(), and, when its return
 * matters, one more case label in sys_exit's group for its kind (reads, forks,
 * opens, writes).
 *
 * Unlike syscalls:sys_enter_*, raw_syscalls also fire for a 32-bit (ia32)
 * process's syscalls, numbered from the ia32 table, and nothing here tells them
 * apart: one that shares a number with a case below is taken for that syscall.
 * That only touches the calling process's own (tgid, fd) entries, or for reads
 * dockerd's (a 64-bit program); an ia32 write(2) has another number than
 * x86-64's and stays unseen, as it was, and so do ia32 pwrite64/writev/pwritev/
 * pwritev2. The other way round, ia32 getpid(2) has x86-64's writev number: it is
 * taken for a writev of whatever fd its rdi holds, which can only match a limit
 * file the 32-bit process itself holds open. */
#ifdef CGLAT_TRACEPOINT
#define WRITE_ENTER(fd, buf, count, call) write_enter(fd, buf, count, call)
#else
#define WRITE_ENTER(fd, buf, count, call)
#endif
#ifdef CGLAT_WATERFALL
#define WF_SEND(ctx, fd) wf_send(ctx, fd)
#else
#define WF_SEND(ctx, fd)
#endif

int cglat_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	/* sys_enter(regs, id) */
	u64 regs = ctx->args[0];
	u64 a[3];
	switch (ctx->args[1]) {
	case CGLAT_NR_read: /* (fd, buf, count) */
		syscall_args(regs, a);
		recv_enter(a[0], a[1], a[2], CGLAT_RECV_READ);
		break;
	case CGLAT_NR_recvfrom: /* (fd, buf, len, flags, addr, addrlen) */
		syscall_args(regs, a);
		recv_enter(a[0], a[1], a[2], CGLAT_RECV_RECVFROM);
		break;
	case CGLAT_NR_recvmsg: /* (fd, msg, flags) */
		syscall_args(regs, a);
		recv_enter(a[0], a[1], a[2], CGLAT_RECV_RECVMSG);
		break;
	case CGLAT_NR_recvmmsg: /* (fd, msgvec, vlen, flags, timeout) */
		syscall_args(regs, a);
		recv_enter(a[0], a[1], a[2], CGLAT_RECV_RECVMMSG);
		break;
#ifdef CGLAT_ORIGINAL
	case CGLAT_NR_readv: /* (fd, vec, vlen) */
		syscall_args(regs, a);
		recv_enter(a[0], a[1], a[2], CGLAT_RECV_READV);
		break;
	case CGLAT_NR_socket:
	case CGLAT_NR_accept4:
#ifdef CGLAT_NR_accept
	case CGLAT_NR_accept:
#endif
		orig_fd_enter(ORIG_FD_SOCKET, 0);
		break;
	case CGLAT_NR_socketpair: /* (domain, type, protocol, sv) */
		orig_fd_enter(ORIG_FD_SOCKETPAIR, syscall_arg4(regs));
		break;
	case CGLAT_NR_dup: /* (oldfd) */
		syscall_args(regs, a);
		orig_fd_enter(ORIG_FD_DUP, a[0]);
		break;
	case CGLAT_NR_fcntl: /* (fd, cmd, arg): F_DUPFD 0, F_DUPFD_CLOEXEC 1030, all arches */
		syscall_args(regs, a);
		if (a[1] == 0 || a[1] == 1030)
			orig_fd_enter(ORIG_FD_DUP, a[0]);
		break;
#endif /* CGLAT_ORIGINAL */
#if defined(CGLAT_TRACEPOINT) || defined(CGLAT_WATERFALL)
	case CGLAT_NR_write: /* (fd, buf, count) */
		syscall_args(regs, a);
		WF_SEND(ctx, a[0]);
		WRITE_ENTER(a[0], a[1], a[2], CGLAT_WRITE_WRITE);
		break;
	case CGLAT_NR_writev: /* (fd, vec, vlen) */
		syscall_args(regs, a);
		WF_SEND(ctx, a[0]);
		WRITE_ENTER(a[0], a[1], a[2], CGLAT_WRITE_WRITEV);
		break;
#endif
#ifdef CGLAT_WATERFALL
	case CGLAT_NR_sendto:   /* (fd, buf, len, flags, addr, addrlen) */
	case CGLAT_NR_sendmsg:  /* (fd, msg, flags) */
	case CGLAT_NR_sendmmsg: /* (fd, msgvec, vlen, flags) */
		syscall_args(regs, a);
		wf_send(ctx, a[0]);
		break;
	case CGLAT_NR_connect: /* (fd, addr, addrlen) */
		syscall_args(regs, a);
		wf_connect(a[0]);
		break;
#endif
#ifdef CGLAT_TRACEPOINT
	case CGLAT_NR_pwrite64: /* (fd, buf, count, pos) */
		syscall_args(regs, a);
		write_enter(a[0], a[1], a[2], CGLAT_WRITE_PWRITE64);
		break;
	case CGLAT_NR_pwritev: /* (fd, vec, vlen, pos_l, pos_h) */
		syscall_args(regs, a);
		write_enter(a[0], a[1], a[2], CGLAT_WRITE_PWRITEV);
		break;
#ifdef CGLAT_NR_pwritev2
	case CGLAT_NR_pwritev2: /* (fd, vec, vlen, pos_l, pos_h, flags) */
		syscall_args(regs, a);
		write_enter(a[0], a[1], a[2], CGLAT_WRITE_PWRITEV2);
		break;
#endif
	case CGLAT_NR_openat: /* (dfd, filename, flags, mode) */
#ifdef CGLAT_NR_openat2
	case CGLAT_NR_openat2: /* (dfd, filename, how, size) */
#endif
		syscall_args(regs, a);
		open_enter((const char *)a[1]);
		break;
#endif /* CGLAT_TRACEPOINT */
#if defined(CGLAT_TRACEPOINT) || defined(CGLAT_ORIGINAL) || defined(CGLAT_WATERFALL)
	case CGLAT_NR_close: /* (fd) */
		syscall_args(regs, a);
#ifdef CGLAT_TRACEPOINT
		close_fd(a[0]);
#endif
#ifdef CGLAT_WATERFALL
		wf_close(a[0]);
#endif
#ifdef CGLAT_ORIGINAL
		orig_close(a[0]);
#endif
		break;
#ifdef CGLAT_NR_dup2
	case CGLAT_NR_dup2: /* (oldfd, newfd) */
#endif
	case CGLAT_NR_dup3: /* (oldfd, newfd, flags) */
		syscall_args(regs, a);
#ifdef CGLAT_TRACEPOINT
		dup_fd(a[0], a[1]);
#endif
#ifdef CGLAT_ORIGINAL
		orig_fd_enter(ORIG_FD_DUP, a[0]);
#endif
		break;
#endif
	}
	return 0;
}

/* sys_exit(regs, ret) carries no syscall number: it is read from the registers,
 * one 8-byte read per syscall of the host. */
int cglat_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	long ret = ctx->args[1];
	switch (syscall_nr(ctx->args[0])) {
	case CGLAT_NR_read:
	case CGLAT_NR_recvfrom:
	case CGLAT_NR_recvmsg:
	case CGLAT_NR_recvmmsg:
#ifdef CGLAT_ORIGINAL
	case CGLAT_NR_readv:
#endif
		recv_exit(ctx, ret);
		break;
#ifdef CGLAT_ORIGINAL
	case CGLAT_NR_socket:
	case CGLAT_NR_accept4:
#ifdef CGLAT_NR_accept
	case CGLAT_NR_accept:
#endif
	case CGLAT_NR_socketpair:
	case CGLAT_NR_dup:
	case CGLAT_NR_fcntl:
#ifdef CGLAT_NR_dup2
	case CGLAT_NR_dup2:
#endif
	case CGLAT_NR_dup3:
		orig_fd_exit(ret);
		break;
#endif /* CGLAT_ORIGINAL */
	case CGLAT_NR_clone:
#ifdef CGLAT_NR_clone3
	case CGLAT_NR_clone3:
#endif
#ifdef CGLAT_NR_fork
	case CGLAT_NR_fork:
#endif
#ifdef CGLAT_NR_vfork
	case CGLAT_NR_vfork:
#endif
		if (ret == 0)
			forked_child();
		break;
#ifdef CGLAT_TRACEPOINT
	case CGLAT_NR_write:
	case CGLAT_NR_pwrite64:
	case CGLAT_NR_writev:
	case CGLAT_NR_pwritev:
#ifdef CGLAT_NR_pwritev2
	case CGLAT_NR_pwritev2:
#endif
		write_exit(ctx, ret);
		break;
	case CGLAT_NR_openat:
#ifdef CGLAT_NR_openat2
	case CGLAT_NR_openat2:
#endif
		open_exit(ret);
		break;
#endif /* CGLAT_TRACEPOINT */
	}
	return 0;
}

/* --------------------------------------------------------------- write: kprobes */
#ifdef CGLAT_KPROBE
#include <linux/fs.h>
#include <linux/dcache.h>

struct vfs_write_args {
	u64 ts;
	u64 buf;   /* the bytes, or vfs_writev's user iovec array */
	u64 count; /* bytes, or iovecs */
	u32 call;  /* CGLAT_WRITE_VFS_WRITE or CGLAT_WRITE_VFS_WRITEV */
	u32 pad;
	char path[CGLAT_PATH_LEN];
};
BPF_HASH(vfs_inflight, u32, struct vfs_write_args, 1024);
BPF_PERCPU_ARRAY(vfs_scratch, struct vfs_write_args, 1);

/* "<parent dir>/<file name>": the parent is the container's cgroup directory. */
static __always_inline void vfs_enter(struct file *file, u64 buf, u64 count, u32 call)
{
	u32 zero = 0;
	struct vfs_write_args *a = vfs_scratch.lookup(&zero);
	if (!a)
		return;
	struct dentry *de = file->f_path.dentry;
	struct dentry *parent = de->d_parent;
	int plen = bpf_probe_read_kernel_str(a->path, 128, parent->d_name.name);
	if (plen <= 0)
		return;
	int off = (plen - 1) & 127;
	a->path[off] = '/';
	int nlen = bpf_probe_read_kernel_str(&a->path[(off + 1) & 127], 128, de->d_name.name);
	if (nlen <= 1 || !is_limit_file(a->path, (off + nlen) & PATH_MASK))
		return;
	a->ts = bpf_ktime_get_ns();
	a->buf = buf;
	a->count = count;
	a->call = call;
	u32 tid = bpf_get_current_pid_tgid();
	vfs_inflight.update(&tid, a);
}

/* write(2) and pwrite64(2) (and in-kernel writers that call vfs_write). */
int cglat_vfs_write_entry(struct pt_regs *ctx, struct file *file, const char __user *buf,
                          size_t count)
{
	vfs_enter(file, (u64)buf, count, CGLAT_WRITE_VFS_WRITE);
	return 0;
}

/* writev(2), pwritev(2) and pwritev2(2): vfs_writev(file, vec, vlen, pos, flags), the
 * same in 5.10, 6.1 and 6.12; it does not call vfs_write, so no write is seen twice. */
int cglat_vfs_writev_entry(struct pt_regs *ctx, struct file *file, const struct iovec __user *vec,
                           unsigned long vlen)
{
	vfs_enter(file, (u64)vec, vlen, CGLAT_WRITE_VFS_WRITEV);
	return 0;
}

/* The return of either: vfs_write and vfs_writev do not nest. */
int cglat_vfs_write_return(struct pt_regs *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct vfs_write_args *a = vfs_inflight.lookup(&tid);
	if (!a)
		return 0;
	u64 ts_exit = bpf_ktime_get_ns();
	u32 zero = 0;
	struct event_scratch *es = scratch.lookup(&zero);
	if (!es) {
		vfs_inflight.delete(&tid);
		return 0;
	}
	struct cglat_event *ev = &es->ev;
	fill_common(ev, CGLAT_EV_WRITE);
	ev->fd = -1;
	ev->ts_enter = a->ts;
	ev->ts_exit = ts_exit;
	ev->ret = PT_REGS_RC(ctx);
	ev->call = a->call;
	bpf_probe_read_kernel(ev->path, sizeof(ev->path), a->path);
	if (vectored(a->call)) {
		ev->data_len = gather_iovecs(es, a->buf, a->count);
	} else {
		u64 n = a->count;
		if (n > CGLAT_DATA_LEN)
			n = CGLAT_DATA_LEN;
		ev->data_len = n;
		read_user(ev->data, n, (void *)a->buf);
	}
	vfs_inflight.delete(&tid);
	events.perf_submit(ctx, ev, sizeof(*ev));
	return 0;
}
#endif /* CGLAT_KPROBE */

/* ------------------------------------------------------------------ monitor */
#ifdef CGLAT_MONITOR
/* The monitored workload's processes: the frontend seeds the set from the
 * cgroup's procs, forks are followed here, exits leave. A set of tgids rather
 * than a cgroup id works alike on v1, v2 and hybrid hosts. */
BPF_HASH(monitor_tgids, u32, u8, 8192);
BPF_ARRAY(monitor_counts, u64, CGLAT_MON_COUNT);

static __always_inline void monitor_forget(u32 tgid)
{
	monitor_tgids.delete(&tgid);
}

static __always_inline int monitored(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return monitor_tgids.lookup(&tgid) != 0;
}

static __always_inline void monitor_fork(u32 child)
{
	if (!monitored())
		return;
	u8 one = 1;
	monitor_tgids.update(&child, &one);
}

static __always_inline void monitor_add(u32 counter, u64 n)
{
	u64 *c = monitor_counts.lookup(&counter);
	if (c)
		__sync_fetch_and_add(c, n);
}

TRACEPOINT_PROBE(exceptions, page_fault_user)
{
	if (monitored())
		monitor_add(CGLAT_MON_PAGE_FAULTS, 1);
	return 0;
}

/* Reclaim on behalf of a memory limit runs in the allocating task: the
 * workload's own pages taken off the LRU lists. */
TRACEPOINT_PROBE(vmscan, mm_vmscan_lru_isolate)
{
	if (monitored())
		monitor_add(CGLAT_MON_LRU_ISOLATED, args->nr_taken);
	return 0;
}

/* Pages reclaim writes out: anonymous ones go to swap. The event was renamed
 * in 6.2 (writepage -> write_folio); the frontend says which one exists. */
#ifdef CGLAT_MON_WRITE_FOLIO
TRACEPOINT_PROBE(vmscan, mm_vmscan_write_folio)
#else
TRACEPOINT_PROBE(vmscan, mm_vmscan_writepage)
#endif
{
	if (monitored())
		monitor_add(CGLAT_MON_PAGES_WRITTEN, 1);
	return 0;
}
#endif /* CGLAT_MONITOR */
