/* A limit change -> the list of writes it takes, in the order the kernel accepts them,
 * with the values they replace. Everything is checked here, before anything is written. */
#include "cglat.h"
#include "cgroup.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

/* v1 prints "unlimited" memory as a huge number; writing it back is fine, "-1" is clearer. */
static void restore_text_of(struct cglat_write *w)
{
	int64_t v;
	bool memory = w->knob == CG_KNOB_MEMORY_MAX || w->knob == CG_KNOB_MEMORY_SWAP ||
	              w->knob == CG_KNOB_MEMORY_RESERVATION;
	if (memory && w->version == 1 &&
	    cgroup_parse_limit(CG_RES_MEMORY, 1, w->old_text, &v, NULL, NULL) == 0 && v < 0)
		snprintf(w->restore_text, sizeof(w->restore_text), "-1");
	else
		memcpy(w->restore_text, w->old_text, sizeof(w->restore_text));
}

/* Reads a knob's current text; path and version out. */
static int read_knob(const struct cglat_target *t, enum cg_knob knob, char *path, size_t len,
                     int *version, char *text, size_t text_len, struct cg_err *err)
{
	if (cglat_target_path(t, knob, path, len, version, err) < 0)
		return -1;
	return cgroup_read_file(path, text, text_len, err);
}

static int add_write(struct cglat_plan *p, const struct cglat_target *t, enum cg_knob knob,
                     const char *new_text, struct cg_err *err)
{
	if (p->count == CGLAT_MAX_WRITES)
		return cg_errf(err, "too many files to write (more than %d)", CGLAT_MAX_WRITES);
	struct cglat_write *w = &p->w[p->count];
	memset(w, 0, sizeof(*w));
	w->knob = knob;
	if (read_knob(t, knob, w->path, sizeof(w->path), &w->version, w->old_text,
	              sizeof(w->old_text), err) < 0)
		return -1;
	w->file = cgroup_knob_file(knob, w->version);
	w->beneath = cglat_target_mount_len(t, knob);
	snprintf(w->new_text, sizeof(w->new_text), "%s", new_text);
	restore_text_of(w);
	p->count++;
	return 0;
}

/* A memory-like file's value: bytes, or -1 for unlimited. */
static int read_memory(const struct cglat_target *t, enum cg_knob knob, int64_t *value,
                       struct cg_err *err)
{
	char path[PATH_MAX], text[64];
	int v;
	if (read_knob(t, knob, path, sizeof(path), &v, text, sizeof(text), err) < 0)
		return -1;
	if (cgroup_parse_limit(CG_RES_MEMORY, v, text, value, NULL, err) < 0)
		return cg_err_wrap(err, "%s", path);
	return 0;
}

static void memory_text(int version, int64_t bytes, char *buf, size_t len)
{
	if (bytes < 0)
		snprintf(buf, len, "%s", version == 2 ? "max" : "-1");
	else
		snprintf(buf, len, "%" PRId64, bytes);
}

static const char *human(int64_t bytes, char *buf, size_t len)
{
	units_format_size(bytes, buf, len);
	return buf;
}

/* The kernel would reclaim, then OOM-kill, to get under a limit below the usage. */
static int check_usage(const struct cglat_target *t, const struct cglat_limits *l,
                       struct cglat_plan *p, struct cg_err *err)
{
	char path[PATH_MAX], text[64], a[32], b[32];
	int v;
	int64_t usage;
	if (read_knob(t, CG_KNOB_MEMORY_USAGE, path, sizeof(path), &v, text, sizeof(text), err) <
	            0 ||
	    units_parse_int(text, 0, INT64_MAX, path, &usage, err) < 0)
		return -1;
	p->memory_usage = usage;
	if (l->memory >= usage || l->force)
		return 0;
	return cg_errf(err,
	               "--memory %s is below the current usage of %s (%" PRId64 " bytes in %s): "
	               "the kernel would reclaim or OOM-kill; pass --force to do it anyway",
	               human(l->memory, a, sizeof(a)), human(usage, b, sizeof(b)), usage,
	               cgroup_knob_file(CG_KNOB_MEMORY_USAGE, v));
}

/* Greater, with -1 meaning unlimited. */
static bool above(int64_t a, int64_t b)
{
	if (a < 0)
		return b >= 0;
	return b >= 0 && a > b;
}

/* v1 keeps memory <= memory+swap at every moment: raising writes memsw first, lowering
 * writes memory first. */
static int plan_memory_v1(const struct cglat_target *t, const struct cglat_limits *l,
                          struct cglat_plan *p, int64_t old_mem, int64_t new_mem,
                          struct cg_err *err)
{
	char path[PATH_MAX], mem[32], sw[32], a[32], b[32];
	bool set_mem = l->set & CGLAT_SET_MEMORY, set_sw = l->set & CGLAT_SET_MEMORY_SWAP;
	memory_text(1, new_mem, mem, sizeof(mem));
	if (set_sw) {
		if (cglat_target_path(t, CG_KNOB_MEMORY_SWAP, path, sizeof(path), NULL, err) < 0)
			return cg_err_wrap(err, "--memory-swap");
		if (l->memory_swap >= 0 && above(new_mem, l->memory_swap))
			return cg_errf(err,
			               "--memory-swap %s is below the memory limit %s: memory+swap "
			               "must be at least the memory limit",
			               human(l->memory_swap, a, sizeof(a)),
			               human(new_mem, b, sizeof(b)));
		memory_text(1, l->memory_swap, sw, sizeof(sw));
	} else if (cglat_target_path(t, CG_KNOB_MEMORY_SWAP, path, sizeof(path), NULL, NULL) == 0) {
		int64_t old_sw;
		if (read_memory(t, CG_KNOB_MEMORY_SWAP, &old_sw, err) < 0)
			return -1;
		if (above(new_mem, old_sw))
			return cg_errf(err,
			               "--memory %s is above the memory+swap limit %s (%s): raise "
			               "that too with --memory-swap",
			               human(new_mem, a, sizeof(a)), human(old_sw, b, sizeof(b)),
			               cgroup_knob_file(CG_KNOB_MEMORY_SWAP, 1));
	}
	bool raising = above(new_mem, old_mem);
	if (set_sw && raising && add_write(p, t, CG_KNOB_MEMORY_SWAP, sw, err) < 0)
		return -1;
	if (set_mem && add_write(p, t, CG_KNOB_MEMORY_MAX, mem, err) < 0)
		return -1;
	if (set_sw && !raising && add_write(p, t, CG_KNOB_MEMORY_SWAP, sw, err) < 0)
		return -1;
	return 0;
}

/* v2 has separate memory.max and memory.swap.max; Docker's --memory-swap is their sum. */
static int plan_memory_v2(const struct cglat_target *t, const struct cglat_limits *l,
                          struct cglat_plan *p, int64_t new_mem, struct cg_err *err)
{
	char text[32];
	if (l->set & CGLAT_SET_MEMORY) {
		memory_text(2, new_mem, text, sizeof(text));
		if (add_write(p, t, CG_KNOB_MEMORY_MAX, text, err) < 0)
			return -1;
	}
	if (!(l->set & CGLAT_SET_MEMORY_SWAP))
		return 0;
	if (l->memory_swap < 0) {
		snprintf(text, sizeof(text), "max");
	} else if (new_mem < 0) {
		return cg_errf(err,
		               "--memory-swap needs a memory limit on cgroup v2: memory.swap.max "
		               "is memory-swap minus memory; give --memory too");
	} else if (l->memory_swap < new_mem) {
		return cg_errf(err, "--memory-swap is memory plus swap, so it must be at least the "
		                    "memory limit");
	} else {
		snprintf(text, sizeof(text), "%" PRId64, l->memory_swap - new_mem);
	}
	return add_write(p, t, CG_KNOB_MEMORY_SWAP, text, err);
}

static int plan_memory(const struct cglat_target *t, const struct cglat_limits *l,
                       struct cglat_plan *p, struct cg_err *err)
{
	if (l->set & (CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP)) {
		int64_t old_mem, new_mem;
		if (read_memory(t, CG_KNOB_MEMORY_MAX, &old_mem, err) < 0)
			return -1;
		new_mem = (l->set & CGLAT_SET_MEMORY) ? l->memory : old_mem;
		if ((l->set & CGLAT_SET_MEMORY) && new_mem >= 0 && check_usage(t, l, p, err) < 0)
			return -1;
		int rc = t->version[CGLAT_CTL_MEMORY] == 2
		                 ? plan_memory_v2(t, l, p, new_mem, err)
		                 : plan_memory_v1(t, l, p, old_mem, new_mem, err);
		if (rc < 0)
			return -1;
	}
	if (l->set & CGLAT_SET_MEMORY_HIGH) {
		char text[32];
		memory_text(2, l->memory_high, text, sizeof(text));
		if (add_write(p, t, CG_KNOB_MEMORY_HIGH, text, err) < 0)
			return cg_err_wrap(err, "--memory-high");
	}
	if (l->set & CGLAT_SET_MEMORY_RESERVATION) {
		/* After the limits, as runc writes it; unlimited is "-1" (v1) or "max" (v2). */
		char path[PATH_MAX], text[32];
		int v;
		if (cglat_target_path(t, CG_KNOB_MEMORY_RESERVATION, path, sizeof(path), &v, err) <
		    0)
			return cg_err_wrap(err, "--memory-reservation");
		memory_text(v, l->memory_reservation, text, sizeof(text));
		if (add_write(p, t, CG_KNOB_MEMORY_RESERVATION, text, err) < 0)
			return cg_err_wrap(err, "--memory-reservation");
	}
	return 0;
}

/* quota/period as a fraction compared by cross-multiplying; -1 (no quota) is infinite. */
static bool ratio_le(int64_t q1, int64_t p1, int64_t q2, int64_t p2)
{
	if (q2 < 0)
		return true;
	if (q1 < 0)
		return false;
	return (__int128)q1 * p2 <= (__int128)q2 * p1;
}

static int plan_cfs_v1(const struct cglat_target *t, const struct cglat_limits *l,
                       struct cglat_plan *p, int64_t old_q, int64_t old_p, int64_t new_q,
                       int64_t new_p, struct cg_err *err)
{
	char q[32], per[32];
	bool set_q = l->set & (CGLAT_SET_CPUS | CGLAT_SET_CPU_QUOTA);
	bool set_p = l->set & CGLAT_SET_CPU_PERIOD;
	if (set_q && cgroup_format_limit(CG_RES_CPU, 1, new_q, new_p, q, sizeof(q), err) < 0)
		return -1;
	snprintf(per, sizeof(per), "%" PRId64, new_p);
	/* The kernel checks each write against the parent's bandwidth: pass through the
	 * smaller of the two in-between quota/period ratios. */
	bool quota_first = set_q && set_p && ratio_le(new_q, old_p, old_q, new_p);
	if (quota_first && add_write(p, t, CG_KNOB_CPU_QUOTA, q, err) < 0)
		return -1;
	if (set_p && add_write(p, t, CG_KNOB_CPU_PERIOD, per, err) < 0)
		return -1;
	if (set_q && !quota_first && add_write(p, t, CG_KNOB_CPU_QUOTA, q, err) < 0)
		return -1;
	return 0;
}

static int read_cfs(const struct cglat_target *t, int *version, int64_t *quota, int64_t *period,
                    struct cg_err *err)
{
	char path[PATH_MAX], text[64];
	if (read_knob(t, CG_KNOB_CPU_QUOTA, path, sizeof(path), version, text, sizeof(text), err) <
	            0 ||
	    cgroup_parse_limit(CG_RES_CPU, *version, text, quota, period, err) < 0)
		return -1;
	if (*version == 2)
		return 0;
	if (read_knob(t, CG_KNOB_CPU_PERIOD, path, sizeof(path), version, text, sizeof(text), err) <
	    0)
		return -1;
	return units_parse_int(text, 1, INT64_MAX, path, period, err);
}

static int plan_cfs(const struct cglat_target *t, const struct cglat_limits *l,
                    struct cglat_plan *p, struct cg_err *err)
{
	int v;
	int64_t old_q, old_p, new_q, new_p;
	if (read_cfs(t, &v, &old_q, &old_p, err) < 0)
		return -1;
	new_p = (l->set & CGLAT_SET_CPU_PERIOD) ? l->cpu_period : old_p;
	new_q = old_q;
	if (l->set & CGLAT_SET_CPU_QUOTA)
		new_q = l->cpu_quota;
	if (l->set & CGLAT_SET_CPUS) {
		new_q = units_cpus_to_quota(l->cpus, new_p);
		if (new_q < 1000)
			return cg_errf(
			        err,
			        "--cpus %g with a period of %" PRId64 " us is a quota of %" PRId64
			        " us, below the kernel's minimum of 1000 us; raise --cpus or "
			        "--cpu-period",
			        l->cpus, new_p, new_q);
	}
	if (v == 1)
		return plan_cfs_v1(t, l, p, old_q, old_p, new_q, new_p, err);
	char text[64];
	if (cgroup_format_limit(CG_RES_CPU, 2, new_q, new_p, text, sizeof(text), err) < 0)
		return -1;
	return add_write(p, t, CG_KNOB_CPU_QUOTA, text, err);
}

static int plan_cpu(const struct cglat_target *t, const struct cglat_limits *l,
                    struct cglat_plan *p, struct cg_err *err)
{
	if ((l->set & (CGLAT_SET_CPUS | CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD)) &&
	    plan_cfs(t, l, p, err) < 0)
		return -1;
	if (!(l->set & (CGLAT_SET_CPU_WEIGHT | CGLAT_SET_CPU_SHARES)))
		return 0;
	char path[PATH_MAX], text[32];
	int v;
	if (cglat_target_path(t, CG_KNOB_CPU_WEIGHT, path, sizeof(path), &v, err) < 0)
		return -1;
	uint64_t value = units_cpu_weight_file_value(
	        v, l->set & CGLAT_SET_CPU_SHARES, (uint64_t)l->cpu_shares,
	        l->set & CGLAT_SET_CPU_WEIGHT, (uint64_t)l->cpu_weight);
	snprintf(text, sizeof(text), "%" PRIu64, value);
	return add_write(p, t, CG_KNOB_CPU_WEIGHT, text, err);
}

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	size_t n = 0;
	int c;
	if (!f)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int plan_rest(const struct cglat_target *t, const struct cglat_limits *l,
                     struct cglat_plan *p, struct cg_err *err)
{
	char text[32];
	if ((l->set & CGLAT_SET_CPUSET_CPUS) &&
	    add_write(p, t, CG_KNOB_CPUSET_CPUS, l->cpuset_cpus, err) < 0)
		return cg_err_wrap(err, "--cpuset-cpus");
	if ((l->set & CGLAT_SET_CPUSET_MEMS) &&
	    add_write(p, t, CG_KNOB_CPUSET_MEMS, l->cpuset_mems, err) < 0)
		return cg_err_wrap(err, "--cpuset-mems");
	if (l->set & CGLAT_SET_PIDS_MAX) {
		if (l->pids_max < 0)
			snprintf(text, sizeof(text), "max");
		else
			snprintf(text, sizeof(text), "%" PRId64, l->pids_max);
		if (add_write(p, t, CG_KNOB_PIDS_MAX, text, err) < 0)
			return cg_err_wrap(err, "--pids-max");
	}
	if (l->set & CGLAT_SET_NICE) {
		if (cglat_target_path(t, CG_KNOB_TASKS, p->tasks_path, sizeof(p->tasks_path), NULL,
		                      err) < 0)
			return cg_err_wrap(err, "--nice");
		p->renice = true;
		p->nice = l->nice;
		p->tasks = count_lines(p->tasks_path);
	}
	return 0;
}

int cglat_limits_plan(const struct cglat_target *t, const struct cglat_limits *l,
                      struct cglat_plan *plan, struct cg_err *err)
{
	/* Field by field: each write is cleared when it is added (add_write), so the pages
	 * of the writes not used are never touched (a page fault costs more than the write). */
	plan->count = 0;
	plan->renice = false;
	plan->nice = 0;
	plan->tasks_path[0] = '\0';
	plan->tasks = 0;
	plan->memory_usage = -1;
	if (!l->set)
		return cg_errf(err,
		               "nothing to change: give at least one limit, like --memory 256m "
		               "or --cpus 0.5");
	if (cglat_limits_check(l, err) < 0)
		return -1;
	if (plan_memory(t, l, plan, err) < 0 || plan_cpu(t, l, plan, err) < 0 ||
	    plan_rest(t, l, plan, err) < 0) {
		plan->count = 0;
		plan->renice = false;
		return -1;
	}
	return 0;
}
