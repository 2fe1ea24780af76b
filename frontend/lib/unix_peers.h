/* Which unix sockets of one process are connected to sockets another holds: the
 * benchmark finds dockerd's connections to containerd and containerd's to a shim.
 * Socket inodes come from /proc/<pid>/fd, peers from the kernel's sock_diag, which
 * sees the unix sockets of the caller's network namespace only. Internal: not in
 * cglat.h. */
#ifndef CGLAT_UNIX_PEERS_H
#define CGLAT_UNIX_PEERS_H

#include <stddef.h>
#include <sys/types.h>

#include "cglat.h" /* struct cg_err */

/* The fds of process `owner` that are unix sockets connected to a socket that process
 * `peer` holds open, ascending, at most cap of them in fds; *n says how many there were
 * (may exceed cap). 0, or -1 when /proc/<pid>/fd of either cannot be read or the
 * kernel's sock_diag refuses (err says which and why). */
int unix_peer_fds(pid_t owner, pid_t peer, int *fds, size_t cap, size_t *n, struct cg_err *err);

/* The pid of the one process whose /proc/<pid>/comm is exactly `comm` (the kernel keeps
 * 15 bytes of it) and that holds a unix socket connected to one held by `peer_of` (e.g.
 * comm "containerd", peer_of = dockerd's pid); peer_of itself never counts. 0 in *out
 * when none; -1 with err when several qualify or /proc cannot be read. */
int unix_peer_process(const char *comm, pid_t peer_of, pid_t *out, struct cg_err *err);

#endif
