/* Plans from known values: what a container's limit files hold, as serve last read or
 * wrote them, and from that the plan cglat_limits_plan would make, without a read. */
#include "serve_update.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "text.h"
#include "cgroup.h"
#include "units.h"

const enum cg_knob su_cached_knobs[] = {
        CG_KNOB_MEMORY_MAX,  CG_KNOB_MEMORY_SWAP, CG_KNOB_MEMORY_RESERVATION,
        CG_KNOB_CPU_QUOTA,   CG_KNOB_CPU_PERIOD,  CG_KNOB_CPU_WEIGHT,
        CG_KNOB_CPUSET_CPUS, CG_KNOB_CPUSET_MEMS, CG_KNOB_PIDS_MAX};
const size_t su_cached_knob_count = NF(su_cached_knobs);

static const char *const kctl_names[CGLAT_CTL_COUNT] = {"memory", "cpu", "cpuacct", "cpuset",
                                                        "pids"};

bool knob_path(const struct cglat_target *t, enum cg_knob knob, char *path, size_t cap,
               int *version, size_t *beneath)
{
	const char *ctl = cgroup_knob_controller(knob, 1);
	int c = -1;
	for (int i = 0; ctl && i < CGLAT_CTL_COUNT; i++)
		if (!strcmp(kctl_names[i], ctl))
			c = i;
	if (c >= 0 && t->version[c] == 2) {
		ctl = cgroup_knob_controller(knob, 2);
		for (int i = 0; ctl && i < CGLAT_CTL_COUNT; i++)
			if (!strcmp(kctl_names[i], ctl))
				c = i;
	}
	if (c < 0 || !t->has[c])
		return false;
	const char *file = cgroup_knob_file(knob, t->version[c]);
	size_t dl = strlen(t->dir[c]), fl = file ? strlen(file) : 0;
	if (!file || dl + 1 + fl >= cap)
		return false;
	memcpy(path, t->dir[c], dl);
	path[dl] = '/';
	memcpy(path + dl + 1, file, fl + 1);
	*version = t->version[c];
	*beneath = t->mount_len[c];
	return true;
}

void su_kcache_set(struct su_kcache *c, enum cg_knob knob, const char *text)
{
	c->known[knob] = true;
	/* memmove: text may be a value that lies in the same entry as the cache. */
	size_t n = strnlen(text, sizeof(c->text[knob]) - 1);
	memmove(c->text[knob], text, n);
	c->text[knob][n] = '\0';
}

void su_kcache_fill(struct su_kcache *c, const struct cglat_target *t)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < su_cached_knob_count; i++) {
		char path[CGLAT_PATH_MAX], text[64];
		int v;
		size_t beneath;
		enum cg_knob k = su_cached_knobs[i];
		if (knob_path(t, k, path, sizeof(path), &v, &beneath) &&
		    cgroup_read_file(path, text, sizeof(text), NULL) == 0)
			su_kcache_set(c, k, text);
	}
}

struct fast {
	const struct cglat_target *t;
	const struct su_kcache *c;
	struct cglat_plan *p;
	bool ok;
};

static void fast_add(struct fast *f, enum cg_knob knob, const char *text)
{
	if (!f->ok)
		return;
	struct cglat_write *w = &f->p->w[f->p->count];
	int v;
	size_t beneath;
	if (f->p->count == CGLAT_MAX_WRITES || !f->c->known[knob] ||
	    !knob_path(f->t, knob, w->path, sizeof(w->path), &v, &beneath)) {
		f->ok = false;
		return;
	}
	w->knob = knob;
	w->version = v;
	w->file = cgroup_knob_file(knob, v);
	w->beneath = beneath;
	text_copy(w->old_text, sizeof(w->old_text), f->c->text[knob]);
	text_copy(w->new_text, sizeof(w->new_text), text);
	/* as the library: v1's unlimited memory is put back as -1 */
	int64_t old;
	bool memory = knob == CG_KNOB_MEMORY_MAX || knob == CG_KNOB_MEMORY_SWAP ||
	              knob == CG_KNOB_MEMORY_RESERVATION;
	if (memory && v == 1 &&
	    cgroup_parse_limit(CG_RES_MEMORY, 1, w->old_text, &old, NULL, NULL) == 0 && old < 0)
		text_copy(w->restore_text, sizeof(w->restore_text), "-1");
	else
		memcpy(w->restore_text, w->old_text, sizeof(w->restore_text));
	f->p->count++;
}

static bool fast_memory_value(struct fast *f, enum cg_knob knob, int v, int64_t *value)
{
	if (!f->c->known[knob] ||
	    cgroup_parse_limit(CG_RES_MEMORY, v, f->c->text[knob], value, NULL, NULL) < 0) {
		f->ok = false;
		return false;
	}
	return true;
}

static void mem_text(int v, int64_t bytes, char *buf, size_t len)
{
	if (bytes < 0)
		text_copy(buf, len, v == 2 ? "max" : "-1");
	else
		text_i64(buf, len, bytes);
}

/* Greater, with -1 meaning unlimited (control_plan.c's `above`). */
static bool above_u(int64_t a, int64_t b)
{
	if (a < 0)
		return b >= 0;
	return b >= 0 && a > b;
}

static void fast_memory(struct fast *f, const struct cglat_limits *l)
{
	int vm = f->t->version[CGLAT_CTL_MEMORY];
	char text[32];
	if (l->set & (CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP)) {
		int64_t old_mem;
		if (!fast_memory_value(f, CG_KNOB_MEMORY_MAX, vm, &old_mem))
			return;
		int64_t new_mem = (l->set & CGLAT_SET_MEMORY) ? l->memory : old_mem;
		bool set_mem = l->set & CGLAT_SET_MEMORY, set_sw = l->set & CGLAT_SET_MEMORY_SWAP;
		if (vm == 1) {
			char sw[32];
			int64_t old_sw;
			if (set_sw) {
				if (l->memory_swap >= 0 && above_u(new_mem, l->memory_swap)) {
					f->ok = false;
					return;
				}
				mem_text(1, l->memory_swap, sw, sizeof(sw));
			} else if (f->c->known[CG_KNOB_MEMORY_SWAP]) {
				if (!fast_memory_value(f, CG_KNOB_MEMORY_SWAP, 1, &old_sw) ||
				    above_u(new_mem, old_sw)) {
					f->ok = false; /* the library refuses it: let it say so */
					return;
				}
			}
			mem_text(1, new_mem, text, sizeof(text));
			bool raising = above_u(new_mem, old_mem);
			if (set_sw && raising)
				fast_add(f, CG_KNOB_MEMORY_SWAP, sw);
			if (set_mem)
				fast_add(f, CG_KNOB_MEMORY_MAX, text);
			if (set_sw && !raising)
				fast_add(f, CG_KNOB_MEMORY_SWAP, sw);
		} else {
			if (set_mem) {
				mem_text(2, new_mem, text, sizeof(text));
				fast_add(f, CG_KNOB_MEMORY_MAX, text);
			}
			if (set_sw) {
				if (l->memory_swap < 0)
					text_copy(text, sizeof(text), "max");
				else if (new_mem < 0 || l->memory_swap < new_mem)
					f->ok = false;
				else
					text_i64(text, sizeof(text), l->memory_swap - new_mem);
				fast_add(f, CG_KNOB_MEMORY_SWAP, text);
			}
		}
	}
	if (l->set & CGLAT_SET_MEMORY_HIGH)
		f->ok = false; /* serve never sets it */
	if (l->set & CGLAT_SET_MEMORY_RESERVATION) {
		mem_text(vm, l->memory_reservation, text, sizeof(text));
		fast_add(f, CG_KNOB_MEMORY_RESERVATION, text);
	}
}

/* quota/period as a fraction, -1 (no quota) infinite (control_plan.c's `ratio_le`). */
static bool ratio_le_u(int64_t q1, int64_t p1, int64_t q2, int64_t p2)
{
	if (q2 < 0)
		return true;
	if (q1 < 0)
		return false;
	return (__int128)q1 * p2 <= (__int128)q2 * p1;
}

static void fast_cpu(struct fast *f, const struct cglat_limits *l)
{
	int vc = f->t->version[CGLAT_CTL_CPU];
	bool set_q = l->set & CGLAT_SET_CPU_QUOTA, set_p = l->set & CGLAT_SET_CPU_PERIOD;
	if (l->set & (CGLAT_SET_CPUS | CGLAT_SET_NICE))
		f->ok = false; /* serve never sets them */
	if (set_q || set_p) {
		int64_t old_q, old_p;
		char q[64], per[32];
		if (!f->c->known[CG_KNOB_CPU_QUOTA] ||
		    cgroup_parse_limit(CG_RES_CPU, vc, f->c->text[CG_KNOB_CPU_QUOTA], &old_q,
		                       &old_p, NULL) < 0) {
			f->ok = false;
			return;
		}
		if (vc == 1 && (!f->c->known[CG_KNOB_CPU_PERIOD] ||
		                units_parse_int(f->c->text[CG_KNOB_CPU_PERIOD], 1, INT64_MAX,
		                                "period", &old_p, NULL) < 0)) {
			f->ok = false;
			return;
		}
		int64_t new_p = set_p ? l->cpu_period : old_p, new_q = set_q ? l->cpu_quota : old_q;
		if (cgroup_format_limit(CG_RES_CPU, vc, new_q, new_p, q, sizeof(q), NULL) < 0) {
			f->ok = false;
			return;
		}
		if (vc == 1) {
			text_i64(per, sizeof(per), new_p);
			bool quota_first = set_q && set_p && ratio_le_u(new_q, old_p, old_q, new_p);
			if (quota_first)
				fast_add(f, CG_KNOB_CPU_QUOTA, q);
			if (set_p)
				fast_add(f, CG_KNOB_CPU_PERIOD, per);
			if (set_q && !quota_first)
				fast_add(f, CG_KNOB_CPU_QUOTA, q);
		} else {
			fast_add(f, CG_KNOB_CPU_QUOTA, q);
		}
	}
	if (l->set & (CGLAT_SET_CPU_WEIGHT | CGLAT_SET_CPU_SHARES)) {
		char text[32];
		uint64_t value = units_cpu_weight_file_value(
		        vc, l->set & CGLAT_SET_CPU_SHARES, (uint64_t)l->cpu_shares,
		        l->set & CGLAT_SET_CPU_WEIGHT, (uint64_t)l->cpu_weight);
		text_i64(text, sizeof(text), value > INT64_MAX ? INT64_MAX : (int64_t)value);
		fast_add(f, CG_KNOB_CPU_WEIGHT, text);
	}
}

bool su_fast_plan(const struct cglat_target *t, const struct su_kcache *c,
                  const struct cglat_limits *l, struct cglat_plan *p)
{
	struct fast f = {.t = t, .c = c, .p = p, .ok = true};
	p->count = 0;
	p->renice = false;
	p->memory_usage = -1;
	p->tasks_path[0] = '\0';
	p->tasks = 0;
	if (!l->set || !l->force || cglat_limits_check(l, NULL) < 0)
		return false;
	fast_memory(&f, l);
	fast_cpu(&f, l);
	if (l->set & CGLAT_SET_CPUSET_CPUS)
		fast_add(&f, CG_KNOB_CPUSET_CPUS, l->cpuset_cpus);
	if (l->set & CGLAT_SET_CPUSET_MEMS)
		fast_add(&f, CG_KNOB_CPUSET_MEMS, l->cpuset_mems);
	if (l->set & CGLAT_SET_PIDS_MAX) {
		char text[32];
		if (l->pids_max < 0)
			text_copy(text, sizeof(text), "max");
		else
			text_i64(text, sizeof(text), l->pids_max);
		fast_add(&f, CG_KNOB_PIDS_MAX, text);
	}
	if (!f.ok)
		p->count = 0;
	return f.ok;
}
