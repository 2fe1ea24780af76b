/* The host as dockerd's pkg/sysinfo sees it: the cgroup mounts and their root files,
 * dockerd's CPUs, swap accounting. */
#include "serve_update.h"

#include <ctype.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup.h"

static bool file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return stat(path, &st) == 0;
}

void read_trimmed(const char *dir, const char *file, char *out, size_t cap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	out[0] = '\0';
	char *text = cgroup_read_all(path, &(int){0});
	if (!text)
		return;
	char *p = text;
	while (*p && isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	snprintf(out, cap, "%.*s", (int)n, p);
	free(text);
}

/* The first v1 mount whose options name controller. */
static const char *v1_mount(const struct cg_mounts *m, const char *controller)
{
	for (size_t i = 0; i < m->count; i++) {
		if (m->mount[i].version != 1)
			continue;
		const char *c = m->mount[i].controllers;
		size_t n = strlen(controller);
		for (const char *p = c; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
			if (strncmp(p, controller, n) == 0 && (p[n] == ',' || p[n] == '\0'))
				return m->mount[i].mountpoint;
	}
	return NULL;
}

static int dockerd_ncpu(pid_t pid)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(pid, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || isspace((unsigned char)p[-1])) &&
		    (p[n] == '\0' || isspace((unsigned char)p[n])))
			return true;
	return false;
}

/* cgroup v2: getSwapLimitV2 looks for memory.swap.max in dockerd's own cgroup. */
static bool v2_swap_limit(const char *mountpoint, pid_t dockerd)
{
	char path[64], line[PATH_MAX + 8];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", dockerd > 0 ? (int)dockerd : (int)getpid());
	FILE *f = fopen(path, "re");
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		char dir[PATH_MAX + 8];
		snprintf(dir, sizeof(dir), "%s%s", mountpoint, line + 3);
		found = file_exists(dir, "memory.swap.max");
	}
	fclose(f);
	return found;
}

int su_host_probe(const char *mountinfo, pid_t dockerd, struct su_host *h, struct cg_err *err)
{
	memset(h, 0, sizeof(*h));
	struct cg_mounts *m = malloc(sizeof(*m));
	enum cg_mode mode;
	if (!m)
		return cg_errf(err, "out of memory");
	if (cgroup_load_mounts(mountinfo, m, err) < 0 || cgroup_mode_of(m, &mode, err) < 0) {
		free(m);
		return -1;
	}
	h->ncpu = dockerd_ncpu(dockerd);
	struct utsname un;
	h->kernel_4 = uname(&un) == 0 && atoi(un.release) >= 4;
	if (mode == CG_MODE_V2) {
		const char *mp = NULL;
		for (size_t i = 0; i < m->count && !mp; i++)
			if (m->mount[i].version == 2)
				mp = m->mount[i].mountpoint;
		char ctl[512];
		read_trimmed(mp, "cgroup.controllers", ctl, sizeof(ctl));
		if (has_token(ctl, "memory")) {
			h->memory_limit = h->memory_reservation = true;
			h->swap_limit = v2_swap_limit(mp, dockerd);
		}
		h->cpu_shares = h->cpu_cfs = has_token(ctl, "cpu");
		if (has_token(ctl, "io"))
			h->blkio_weight = h->blkio_weight_device = h->blkio_read_bps =
			        h->blkio_write_bps = h->blkio_read_iops = h->blkio_write_iops =
			                true;
		if ((h->cpuset = has_token(ctl, "cpuset"))) {
			read_trimmed(mp, "cpuset.cpus.effective", h->cpus, sizeof(h->cpus));
			read_trimmed(mp, "cpuset.mems.effective", h->mems, sizeof(h->mems));
		}
		h->pids_limit = has_token(ctl, "pids");
		free(m);
		return 0;
	}
	const char *mp;
	if ((mp = v1_mount(m, "memory"))) {
		h->memory_limit = true;
		h->swap_limit = file_exists(mp, "memory.memsw.limit_in_bytes");
		h->memory_reservation = file_exists(mp, "memory.soft_limit_in_bytes");
		h->oom_kill_disable = file_exists(mp, "memory.oom_control");
		h->memory_swappiness = file_exists(mp, "memory.swappiness");
		h->kernel_memory = file_exists(mp, "memory.kmem.limit_in_bytes");
	}
	if ((mp = v1_mount(m, "cpu"))) {
		h->cpu_shares = file_exists(mp, "cpu.shares");
		h->cpu_cfs = file_exists(mp, "cpu.cfs_quota_us");
	}
	if ((mp = v1_mount(m, "blkio"))) {
		h->blkio_weight = file_exists(mp, "blkio.weight");
		h->blkio_weight_device = file_exists(mp, "blkio.weight_device");
		h->blkio_read_bps = file_exists(mp, "blkio.throttle.read_bps_device");
		h->blkio_write_bps = file_exists(mp, "blkio.throttle.write_bps_device");
		h->blkio_read_iops = file_exists(mp, "blkio.throttle.read_iops_device");
		h->blkio_write_iops = file_exists(mp, "blkio.throttle.write_iops_device");
	}
	if ((mp = v1_mount(m, "cpuset"))) {
		h->cpuset = true;
		read_trimmed(mp, "cpuset.cpus", h->cpus, sizeof(h->cpus));
		read_trimmed(mp, "cpuset.mems", h->mems, sizeof(h->mems));
	}
	h->pids_limit = v1_mount(m, "pids") != NULL;
	free(m);
	return 0;
}
