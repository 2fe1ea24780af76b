/* What a cglat killed by SIGKILL (which no handler sees) left behind: containers labelled
 * cglat.owner=PID and cgroups cglat/cglat-run-PID or cglat/cglat-monitor-PID whose PID
 * is gone. The next run removes them and says so on stderr. */
#ifndef CGLAT_STALE_H
#define CGLAT_STALE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct docker;

/* Is pid a live process? A pid in use by someone else counts as alive: nothing of a
 * live process is ever removed. */
bool stale_pid_alive(pid_t pid);

/* Removes containers whose cglat.owner process is gone; returns how many. Messages go to
 * log (NULL: silent). Errors are reported there and do not stop the caller. */
int stale_remove_containers(struct docker *d, FILE *log);

/* Removes empty cgroups cglat/cglat-{run,monitor}-PID of gone PIDs at the root of every
 * cgroup mount in mountinfo (NULL: /proc/self/mountinfo); returns how many. */
int stale_remove_cgroups(const char *mountinfo, FILE *log);

/* "cglat-run-123" -> 123; 0 when name is not a cgroup name cglat run/monitor make. */
pid_t stale_cgroup_owner(const char *name);

#endif
