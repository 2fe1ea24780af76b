/* What runc writes for an update (toContainerdResources, runc update, the fs/fs2 drivers),
 * and runc's words when it or the kernel refuses. */
#include "serve_update.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "units.h"

/* cgroups.WriteFile's error: failed to write "X": write PATH: reason. */
static void runc_write_msg(const struct su_cgroups *cg, enum cg_knob knob, int version,
                           const char *value, const char *reason, struct su_error *e)
{
	char path[CGLAT_PATH_MAX];
	const char *file = cgroup_knob_file(knob, version);
	if (!cg->t || cglat_target_path(cg->t, knob, path, sizeof(path), NULL, NULL) < 0)
		snprintf(path, sizeof(path), "%s", file ? file : "?");
	su_errf(e, 500, "failed to write \"%s\": write %s: %s", value, path, reason);
}

/* The record's quota and period as runc's config holds them (getCPUResources). */
static void record_cfs(const struct su_record *r, int64_t *quota, int64_t *period)
{
	*period = r->nano_cpus > 0 ? 100000 : 0;
	*quota = r->nano_cpus > 0 ? r->nano_cpus * 100000 / 1000000000 : 0;
	if (r->cpu_period != 0)
		*period = r->cpu_period;
	if (r->cpu_quota != 0)
		*quota = r->cpu_quota;
}

static int runc_cpu(const struct su_body *b, const struct su_record *before,
                    const struct su_cgroups *cg, struct cglat_limits *l, struct su_error *e)
{
	uint64_t shares = (uint64_t)b->cpu_shares;
	if (shares != 0) {
		if (cg->v_cpu == 1) {
			/* The kernel clamps cpu.shares (scaled by 1024) to [2, 262144]; runc reads
			 * it back and refuses what did not stick. */
			uint64_t scaled = shares << 10;
			uint64_t lo = UINT64_C(2) << 10, hi = UINT64_C(262144) << 10;
			uint64_t got = (scaled < lo ? lo : scaled > hi ? hi : scaled) >> 10;
			if (shares > got) {
				su_errf(e, 500, "the maximum allowed cpu-shares is %" PRIu64, got);
				return -1;
			}
			if (shares < got) {
				su_errf(e, 500, "the minimum allowed cpu-shares is %" PRIu64, got);
				return -1;
			}
			l->set |= CGLAT_SET_CPU_SHARES;
			l->cpu_shares = (int64_t)shares;
		} else {
			/* runc's ConvertCPUSharesToCgroupV2Value, in uint64 as runc computes it;
			 * the kernel refuses a weight out of [1, 10000]. */
			uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
			if (weight < 1 || weight > 10000) {
				char v[32];
				snprintf(v, sizeof(v), "%" PRIu64, weight);
				runc_write_msg(cg, CG_KNOB_CPU_WEIGHT, 2, v,
				               "numerical result out of range", e);
				return -1;
			}
			l->set |= CGLAT_SET_CPU_WEIGHT;
			l->cpu_weight = (int64_t)weight;
		}
	}
	/* toContainerdResources: NanoCPUs is a quota of a 100 ms period. */
	int64_t p = 0, q = 0;
	if (b->nano_cpus != 0) {
		p = 100000;
		q = b->nano_cpus * p / 1000000000;
	}
	if (q == 0 && b->cpu_quota != 0)
		q = b->cpu_quota;
	if (p == 0 && b->cpu_period != 0)
		p = b->cpu_period;
	if (p == 0 && q == 0)
		return 0;
	char v[64];
	if (q > 0 && q < 1000 && cg->v_cpu == 1) {
		/* runc writes the period, then the quota, which the kernel refuses below 1 ms. */
		snprintf(v, sizeof(v), "%" PRId64, q);
		runc_write_msg(cg, CG_KNOB_CPU_QUOTA, 1, v, "invalid argument", e);
		return -1;
	}
	if (cg->v_cpu == 1) {
		/* runc writes the period, then the quota (the one not given is its config's,
		 * which the kernel holds already). A negative quota is no limit. */
		if (p != 0) {
			l->set |= CGLAT_SET_CPU_PERIOD;
			l->cpu_period = p;
		}
		if (q != 0) {
			l->set |= CGLAT_SET_CPU_QUOTA;
			l->cpu_quota = q < 0 ? CGLAT_UNLIMITED : q;
		}
		return 0;
	}
	/* v2: one file, "quota period", the one not given from runc's config, a period of 0
	 * being the kernel's default 100000. */
	int64_t rq, rp;
	record_cfs(before, &rq, &rp);
	int64_t mq = q != 0 ? q : rq, mp = p != 0 ? p : rp;
	if (mq > 0 && mq < 1000) {
		snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, mq, mp != 0 ? mp : 100000);
		runc_write_msg(cg, CG_KNOB_CPU_QUOTA, 2, v, "invalid argument", e);
		return -1;
	}
	l->set |= CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD;
	l->cpu_quota = mq > 0 ? mq : CGLAT_UNLIMITED;
	l->cpu_period = mp != 0 ? mp : 100000;
	return 0;
}

static int runc_memory(const struct su_body *b, const struct su_cgroups *cg, struct cglat_limits *l,
                       struct su_error *e)
{
	int64_t m = b->memory, s = b->memory_swap > 0 ? b->memory_swap : 0;
	int64_t r = b->memory_reservation;
	char v[32];
	if (cg->v_memory == 2 && s > 0 && m == 0) {
		su_errf(e, 500, "unable to set swap limit without memory limit");
		return -1;
	}
	if (cg->v_memory == 1) {
		/* The kernel keeps memory <= memory+swap at each write. */
		if (m > 0 && s == 0 && cg->memsw_now >= 0 && m > cg->memsw_now) {
			snprintf(v, sizeof(v), "%" PRId64, m);
			runc_write_msg(cg, CG_KNOB_MEMORY_MAX, 1, v, "invalid argument", e);
			return -1;
		}
		if (s > 0 && m == 0 && cg->memory_now >= 0 && s < cg->memory_now) {
			snprintf(v, sizeof(v), "%" PRId64, s);
			runc_write_msg(cg, CG_KNOB_MEMORY_SWAP, 1, v, "invalid argument", e);
			return -1;
		}
	}
	if (m != 0) {
		l->set |= CGLAT_SET_MEMORY;
		l->memory = m;
	}
	if (s != 0) {
		l->set |= CGLAT_SET_MEMORY_SWAP;
		l->memory_swap = s;
	}
	if (r != 0) {
		/* runc writes the number as it is: -1 is "no soft limit" on v1 ("max" on v2),
		 * other negative numbers the kernel refuses. */
		if (r < -1) {
			snprintf(v, sizeof(v), "%" PRId64, r);
			runc_write_msg(cg, CG_KNOB_MEMORY_RESERVATION, cg->v_memory, v,
			               "invalid argument", e);
			return -1;
		}
		l->set |= CGLAT_SET_MEMORY_RESERVATION;
		l->memory_reservation = r < 0 ? CGLAT_UNLIMITED : r;
	}
	return 0;
}

/* A list for the library's 255 characters: as given when it fits, else as ranges. */
static int cpuset_text(const char *list, char *out, size_t cap, struct su_error *e)
{
	if (strlen(list) < cap) {
		snprintf(out, cap, "%s", list);
		return 0;
	}
	uint64_t mask[UNITS_CPULIST_WORDS];
	if (units_parse_cpulist(list, mask, NULL) < 0) {
		su_errf(e, 500, "cpuset list %.64s... is longer than %zu characters", list,
		        cap - 1);
		return -1;
	}
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < UNITS_CPULIST_MAX; i++) {
		if (!(mask[i / 64] >> (i % 64) & 1))
			continue;
		int j = i;
		while (j + 1 < UNITS_CPULIST_MAX && (mask[(j + 1) / 64] >> ((j + 1) % 64) & 1))
			j++;
		int w = j > i ? snprintf(out + n, cap - n, "%s%d-%d", n ? "," : "", i, j)
		              : snprintf(out + n, cap - n, "%s%d", n ? "," : "", i);
		if (w < 0 || (size_t)w >= cap - n) {
			su_errf(e, 500, "cpuset list %.64s... is longer than %zu characters", list,
			        cap - 1);
			return -1;
		}
		n += (size_t)w;
		i = j;
	}
	return 0;
}

int su_runc_limits(const struct su_body *b, const struct su_record *before,
                   const struct su_cgroups *cg, struct cglat_limits *l, struct su_error *e)
{
	memset(l, 0, sizeof(*l));
	l->force = true;
	if (runc_cpu(b, before, cg, l, e) < 0 || runc_memory(b, cg, l, e) < 0)
		return -1;
	if (b->cpuset_cpus[0]) {
		if (cpuset_text(b->cpuset_cpus, l->cpuset_cpus, sizeof(l->cpuset_cpus), e) < 0)
			return -1;
		l->set |= CGLAT_SET_CPUSET_CPUS;
	}
	if (b->cpuset_mems[0]) {
		if (cpuset_text(b->cpuset_mems, l->cpuset_mems, sizeof(l->cpuset_mems), e) < 0)
			return -1;
		l->set |= CGLAT_SET_CPUSET_MEMS;
	}
	if (b->has_pids_limit) { /* getPidsLimit: 0 (unlimited) is -1, "max" */
		l->set |= CGLAT_SET_PIDS_MAX;
		l->pids_max = b->pids_limit > 0 ? b->pids_limit : CGLAT_UNLIMITED;
	}
	return 0;
}

/* strerror's words as Go's syscall.Errno prints them: lower-case first letter. */
static void go_errno_text(const char *s, size_t n, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)n, s);
	if (out[0])
		out[0] = (char)tolower((unsigned char)out[0]);
}

void su_runc_write_error(const struct cglat_plan *p, const struct cglat_apply_result *r,
                         const char *apply_msg, char *out, size_t cap)
{
	char reason[128];
	const char *failed = strstr(apply_msg, " failed: ");
	if (!strncmp(apply_msg, "cannot open ", 12)) {
		/* "cannot open PATH for writing: REASON; nothing was written" */
		const char *f = strstr(apply_msg, " for writing: ");
		if (f) {
			const char *end = strchr(f + 14, ';');
			go_errno_text(f + 14, end ? (size_t)(end - f - 14) : strlen(f + 14), reason,
			              sizeof(reason));
			snprintf(out, cap, "openat2 %.*s: %s", (int)(f - apply_msg - 12),
			         apply_msg + 12, reason);
			return;
		}
	}
	size_t i = r->rolled_back + r->restore_failed;
	if (!failed || i >= p->count) {
		snprintf(out, cap, "%s", apply_msg);
		return;
	}
	const char *end = strchr(failed + 9, ';');
	go_errno_text(failed + 9, end ? (size_t)(end - failed - 9) : strlen(failed + 9), reason,
	              sizeof(reason));
	const struct cglat_write *w = &p->w[i];
	if (w->knob == CG_KNOB_MEMORY_MAX && w->version == 1 &&
	    !strcmp(reason, "device or resource busy")) {
		/* runc's setMemory: the limit is below what the cgroup uses. */
		char dir[CGLAT_PATH_MAX], usage[64] = "0", peak[64] = "0";
		snprintf(dir, sizeof(dir), "%s", w->path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		read_trimmed(dir, "memory.usage_in_bytes", usage, sizeof(usage));
		read_trimmed(dir, "memory.max_usage_in_bytes", peak, sizeof(peak));
		snprintf(out, cap,
		         "unable to set memory limit to %s (current usage: %s, peak usage: %s)",
		         w->new_text, usage, peak);
		return;
	}
	snprintf(out, cap, "failed to write \"%s\": write %s: %s", w->new_text, w->path, reason);
}
