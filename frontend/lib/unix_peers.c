#include "unix_peers.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "error.h"

/* (inode, fd) or (fd, inode) for a process's sockets, (inode, peer inode) for the kernel's
 * dump; always sorted by key, so that lookups are bsearch and fds come out ascending. */
struct pair {
	uint32_t key, val;
};

struct pairs {
	struct pair *v;
	size_t n, cap;
};

static int by_key(const void *a, const void *b)
{
	uint32_t x = ((const struct pair *)a)->key, y = ((const struct pair *)b)->key;
	return (x > y) - (x < y);
}

static const struct pair *find(const struct pairs *p, uint32_t key)
{
	if (!p->n) /* no table at all: bsearch and qsort take no null base */
		return NULL;
	return bsearch(&(struct pair){key, 0}, p->v, p->n, sizeof(*p->v), by_key);
}

/* Grows by doubling: dockerd can hold thousands of fds, a host thousands of sockets. */
static int push(struct pairs *p, uint32_t key, uint32_t val, struct cg_err *err)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct pair *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return cg_errf(err, "out of memory listing unix sockets");
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct pair){key, val};
	return 0;
}

/* Keeps errno, so that a caller scanning /proc can tell a process that just exited
 * (ENOENT) from a refusal. */
static int fd_dir_err(pid_t pid, struct cg_err *err)
{
	int e = errno;
	cg_errf(err, "cannot read /proc/%d/fd: %s%s", (int)pid,
	        e == ENOENT ? "no such process (it exited?)" : strerror(e),
	        e == EACCES || e == EPERM ? "; run cglat as root" : "");
	errno = e;
	return -1;
}

/* pid's socket fds, as (fd, inode) when by_fd, else as (inode, fd). */
static int proc_socks(pid_t pid, int by_fd, struct pairs *out, struct cg_err *err)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return fd_dir_err(pid, err);
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		char link[64];
		unsigned long ino;
		/* ".", ".." and fds closed since readdir give no link; skip them. */
		ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		uint32_t fd = (uint32_t)atoi(e->d_name);
		if (sscanf(link, "socket:[%lu]", &ino) == 1 && ino <= UINT32_MAX)
			rc = by_fd ? push(out, fd, (uint32_t)ino, err)
			           : push(out, (uint32_t)ino, fd, err);
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), by_key);
	return rc;
}

static int diag_refused(int e, struct cg_err *err)
{
	return cg_errf(err, "the kernel's sock_diag refused to list unix sockets: %s%s",
	               strerror(e),
	               e == ENOENT || e == EPROTONOSUPPORT ? "; try `modprobe unix_diag`" : "");
}

/* Records one socket's peer; sockets without one (listening, unconnected) add nothing. */
static int diag_record(struct nlmsghdr *h, struct pairs *t, struct cg_err *err)
{
	struct unix_diag_msg *m = NLMSG_DATA(h);
	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return 0;
	int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	struct rtattr *a = (struct rtattr *)((char *)m + NLMSG_ALIGN(sizeof(*m)));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t peer;
		if (a->rta_type != UNIX_DIAG_PEER || RTA_PAYLOAD(a) < sizeof(peer))
			continue;
		memcpy(&peer, RTA_DATA(a), sizeof(peer));
		return peer ? push(t, m->udiag_ino, peer, err) : 0;
	}
	return 0;
}

/* Reads the multipart reply until NLMSG_DONE, whose payload says whether the dump ended
 * early. */
static int diag_read(int s, struct pairs *t, struct cg_err *err)
{
	long buf[8192 / sizeof(long) * 4]; /* 32 KiB, aligned for nlmsghdr */
	for (;;) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return diag_refused(len < 0 ? errno : EPIPE, err);
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			int *code = NLMSG_DATA(h);
			if (h->nlmsg_type == NLMSG_DONE)
				return *code < 0 ? diag_refused(-*code, err) : 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return diag_refused(-((struct nlmsgerr *)code)->error, err);
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && diag_record(h, t, err) < 0)
				return -1;
		}
	}
}

/* One dump of every unix socket of this network namespace with its peer, sorted by
 * inode: one syscall round per call instead of one query per socket. */
static int diag_dump(struct pairs *t, struct cg_err *err)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req req;
	} msg = {
	        .nh = {.nlmsg_len = sizeof(msg),
	               .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	               .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	        .req = {.sdiag_family = AF_UNIX,
	                .udiag_states = ~0u,
	                .udiag_show = UDIAG_SHOW_PEER},
	};
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return diag_refused(errno, err);
	int rc =
	        send(s, &msg, sizeof(msg), 0) < 0 ? diag_refused(errno, err) : diag_read(s, t, err);
	close(s);
	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), by_key);
	return rc;
}

/* How many of own's sockets (fd, inode) have their peer among theirs (inode, fd); the
 * first cap of those fds go to fds. */
static size_t match(const struct pairs *table, const struct pairs *own, const struct pairs *theirs,
                    int *fds, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < own->n; i++) {
		const struct pair *p = find(table, own->v[i].val);
		if (!p || !find(theirs, p->val))
			continue;
		if (n < cap)
			fds[n] = (int)own->v[i].key;
		n++;
	}
	return n;
}

int unix_peer_fds(pid_t owner, pid_t peer, int *fds, size_t cap, size_t *n, struct cg_err *err)
{
	struct pairs table = {0}, own = {0}, theirs = {0};
	int rc = proc_socks(owner, 1, &own, err);
	if (rc == 0)
		rc = proc_socks(peer, 0, &theirs, err);
	if (rc == 0)
		rc = diag_dump(&table, err);
	*n = rc == 0 ? match(&table, &own, &theirs, fds, cap) : 0;
	free(table.v);
	free(own.v);
	free(theirs.v);
	return rc;
}

static int comm_is(pid_t pid, const char *comm)
{
	char path[32], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* exited since readdir, or a name, not a pid */
	int got = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	buf[got ? strcspn(buf, "\n") : 0] = '\0';
	return got && strcmp(buf, comm) == 0;
}

/* 1 when pid holds a socket connected to one of theirs, 0 when not or when it exited
 * meanwhile, -1 when its fds cannot be read (then the answer would be a guess). */
static int connected(pid_t pid, const struct pairs *table, const struct pairs *theirs,
                     struct cg_err *err)
{
	struct pairs own = {0};
	int rc = proc_socks(pid, 1, &own, err);
	if (rc == 0)
		rc = match(table, &own, theirs, NULL, 0) > 0;
	else if (errno == ENOENT)
		rc = 0;
	free(own.v);
	return rc;
}

/* Walks /proc for comm's processes; two that qualify is an error, not a pick. */
static int scan_proc(const char *comm, pid_t peer_of, const struct pairs *table,
                     const struct pairs *theirs, pid_t *out, struct cg_err *err)
{
	DIR *d = opendir("/proc");
	if (!d)
		return cg_errf(err, "cannot read /proc: %s; is procfs mounted?", strerror(errno));
	int rc = 0;
	for (struct dirent *e; rc == 0 && (e = readdir(d));) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == peer_of || !comm_is(pid, comm))
			continue;
		int q = connected(pid, table, theirs, err);
		if (q > 0 && *out)
			rc = cg_errf(err,
			             "several processes named %s are connected to process %d "
			             "(%d and %d), so which one serves it cannot be told",
			             comm, (int)peer_of, (int)*out, (int)pid);
		else if (q > 0)
			*out = pid;
		else if (q < 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int unix_peer_process(const char *comm, pid_t peer_of, pid_t *out, struct cg_err *err)
{
	struct pairs table = {0}, theirs = {0};
	*out = 0;
	int rc = proc_socks(peer_of, 0, &theirs, err);
	if (rc == 0)
		rc = diag_dump(&table, err);
	if (rc == 0)
		rc = scan_proc(comm, peer_of, &table, &theirs, out, err);
	if (rc < 0)
		*out = 0;
	free(table.v);
	free(theirs.v);
	return rc;
}
