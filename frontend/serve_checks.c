/* dockerd's checks of an update (validateRestartPolicy, verifyPlatformContainerResources):
 * its errors and warnings, word for word, and the cpuset lists they parse. */
#include "serve_update.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ===== cpuset lists as dockerd parses them (pkg/parsers.ParseUintList) ===================== */

/* strconv.Atoi: an optional sign and decimal digits, in int64. */
static bool go_atoi(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

struct uint_range {
	int64_t lo, hi;
};

#define LIST_RANGES_MAX 4096

/* parseUintList(val, maximum): the ranges of a list, or -1 with Go's error. */
static int parse_uint_list(const char *val, int64_t maximum, struct uint_range *r, size_t *nr,
                           char *msg, size_t cap)
{
	*nr = 0;
	if (!*val)
		return 0;
	for (const char *p = val;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', n);
		int64_t lo, hi;
		if (!dash) {
			if (!go_atoi(p, n, &lo)) {
				snprintf(msg, cap, "invalid format: %s", val);
				return -1;
			}
			hi = lo;
			if (maximum != 0 && lo > maximum) {
				snprintf(msg, cap, "value of out range, maximum is %" PRId64,
				         maximum);
				return -1;
			}
		} else {
			if (!go_atoi(p, (size_t)(dash - p), &lo) ||
			    !go_atoi(dash + 1, n - (size_t)(dash - p) - 1, &hi) || hi < lo) {
				snprintf(msg, cap, "invalid format: %s", val);
				return -1;
			}
			if (maximum != 0 && hi > maximum) {
				snprintf(msg, cap, "value of out range, maximum is %" PRId64,
				         maximum);
				return -1;
			}
		}
		if (*nr == LIST_RANGES_MAX) {
			snprintf(msg, cap, "invalid format: %s (more than %d items)", val,
			         LIST_RANGES_MAX);
			return -1;
		}
		r[(*nr)++] = (struct uint_range){lo, hi};
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static bool in_ranges(const struct uint_range *r, size_t n, int64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static size_t list_items(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == ',';
	return n;
}

int su_cpuset_available(const char *provided, const char *available, char *msg, size_t cap)
{
	struct uint_range small[2][32];
	size_t ca = list_items(available), cp = list_items(provided);
	if (ca > LIST_RANGES_MAX || cp > LIST_RANGES_MAX) {
		snprintf(msg, cap, "invalid format: %s (more than %d items)",
		         cp > LIST_RANGES_MAX ? provided : available, LIST_RANGES_MAX);
		return -1;
	}
	struct uint_range *ra = ca <= 32 ? small[0] : malloc(ca * sizeof(*ra));
	struct uint_range *rp = cp <= 32 ? small[1] : malloc(cp * sizeof(*rp));
	size_t na, np;
	int rc = -1;
	if (!ra || !rp) {
		snprintf(msg, cap, "out of memory");
		goto out;
	}
	if (parse_uint_list(available, 0, ra, &na, msg, cap) < 0)
		goto out;
	/* 8192 CPUs is Linux's usual maximum; more when the host has them. */
	int64_t max = 8192;
	for (size_t i = 0; i < na; i++)
		if (ra[i].hi > max)
			max = ra[i].hi;
	if (parse_uint_list(provided, max, rp, &np, msg, cap) < 0)
		goto out;
	rc = 1;
	for (size_t i = 0; i < np && rc == 1; i++)
		for (int64_t v = rp[i].lo; v <= rp[i].hi; v++)
			if (!in_ranges(ra, na, v)) {
				rc = 0;
				break;
			}
out:
	if (ra != small[0])
		free(ra);
	if (rp != small[1])
		free(rp);
	return rc;
}

/* ===== dockerd's checks ==================================================================== */

static void warn(struct su_warnings *w, const char *text)
{
	if (w->n < SU_MAX_WARNINGS)
		w->w[w->n++] = text;
}

/* daemon/container.go validateRestartPolicy. */
static int verify_restart(const struct su_body *b, struct su_error *e)
{
	const char *name = b->restart_name;
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped") || !strcmp(name, "no")) {
		if (b->restart_max_retry != 0) {
			su_errf(e, 400,
			        "maximum retry count cannot be used with restart policy '%s'",
			        name);
			return -1;
		}
	} else if (!strcmp(name, "on-failure")) {
		if (b->restart_max_retry < 0) {
			su_errf(e, 400, "maximum retry count cannot be negative");
			return -1;
		}
	} else if (*name) {
		su_errf(e, 400, "invalid restart policy '%s'", name);
		return -1;
	}
	return 0;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		su_errf(e, 400, __VA_ARGS__);                                                      \
		return -1;                                                                         \
	} while (0)

static void clear_given(struct su_body *b, enum su_field f)
{
	b->given &= ~(UINT64_C(1) << f);
}

/* The memory part of verifyPlatformContainerResources. */
static int verify_memory(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                         struct su_error *e)
{
	if (b->has_swappiness && b->swappiness == -1) { /* fixMemorySwappiness */
		b->has_swappiness = false;
		clear_given(b, SU_F_MEMORY_SWAPPINESS);
	}
	if (b->memory != 0 && b->memory < SU_MIN_MEMORY)
		FAIL("Minimum memory limit allowed is 6MB");
	if (b->memory > 0 && !h->memory_limit) {
		warn(w, "Your kernel does not support memory limit capabilities or the cgroup is "
		        "not mounted. Limitation discarded.");
		b->memory = 0;
		b->memory_swap = -1;
	}
	if (b->memory > 0 && b->memory_swap != -1 && !h->swap_limit) {
		warn(w, "Your kernel does not support swap limit capabilities or the cgroup is not "
		        "mounted. Memory limited without swap.");
		b->memory_swap = -1;
	}
	if (b->memory > 0 && b->memory_swap > 0 && b->memory_swap < b->memory)
		FAIL("Minimum memoryswap limit should be larger than memory limit, see usage");
	if (b->has_swappiness && !h->memory_swappiness) {
		warn(w, "Your kernel does not support memory swappiness capabilities or the cgroup "
		        "is not mounted. Memory swappiness discarded.");
		b->has_swappiness = false;
	}
	if (b->has_swappiness && (b->swappiness < 0 || b->swappiness > 100))
		FAIL("Invalid value: %" PRId64 ", valid memory swappiness range is 0-100",
		     b->swappiness);
	if (b->memory_reservation > 0 && !h->memory_reservation) {
		warn(w, "Your kernel does not support memory soft limit capabilities or the cgroup "
		        "is not mounted. Limitation discarded.");
		b->memory_reservation = 0;
	}
	if (b->memory_reservation > 0 && b->memory_reservation < SU_MIN_MEMORY)
		FAIL("Minimum memory reservation allowed is 6MB");
	if (b->memory > 0 && b->memory_reservation > 0 && b->memory < b->memory_reservation)
		FAIL("Minimum memory limit can not be less than memory reservation limit, see "
		     "usage");
	if (b->kernel_memory > 0)
		warn(w, "Specifying a kernel memory limit is deprecated and will be removed in a "
		        "future release.");
	if (b->kernel_memory > 0 && !h->kernel_memory) {
		warn(w, "Your kernel does not support kernel memory limit capabilities or the "
		        "cgroup is not mounted. Limitation discarded.");
		b->kernel_memory = 0;
	}
	if (b->kernel_memory > 0 && b->kernel_memory < SU_MIN_MEMORY)
		FAIL("Minimum kernel memory limit allowed is 6MB");
	if (b->kernel_memory > 0 && !h->kernel_4)
		warn(w,
		     "You specified a kernel memory limit on a kernel older than 4.0. Kernel "
		     "memory limits are experimental on older kernels, it won't work as expected "
		     "and can cause your system to be unstable.");
	if (b->has_oom_kill_disable && !h->oom_kill_disable) {
		if (b->oom_kill_disable)
			warn(w, "Your kernel does not support OomKillDisable. OomKillDisable "
			        "discarded.");
		b->has_oom_kill_disable = false;
	}
	if (b->has_oom_kill_disable && b->oom_kill_disable && b->memory == 0)
		warn(w,
		     "OOM killer is disabled for the container, but no memory limit is set, this "
		     "can result in the system running out of resources.");
	if (b->has_pids_limit && !h->pids_limit) {
		if (b->pids_limit > 0)
			warn(w,
			     "Your kernel does not support PIDs limit capabilities or the cgroup "
			     "is not mounted. PIDs limit discarded.");
		b->has_pids_limit = false;
		clear_given(b, SU_F_PIDS_LIMIT);
	}
	return 0;
}

/* The CPU part. */
static int verify_cpu(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                      struct su_error *e)
{
	if (b->nano_cpus > 0 && b->cpu_period > 0)
		FAIL("Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (b->nano_cpus > 0 && b->cpu_quota > 0)
		FAIL("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (b->nano_cpus > 0 && !h->cpu_cfs)
		FAIL("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler "
		     "or "
		     "the cgroup is not mounted");
	if (b->nano_cpus < 0 || b->nano_cpus > (int64_t)h->ncpu * 1000000000)
		FAIL("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
		     h->ncpu, h->ncpu);
	if (b->cpu_shares > 0 && !h->cpu_shares) {
		warn(w, "Your kernel does not support CPU shares or the cgroup is not mounted. "
		        "Shares discarded.");
		b->cpu_shares = 0;
	}
	if ((b->cpu_period != 0 || b->cpu_quota != 0) && !h->cpu_cfs) {
		warn(w, "Your kernel does not support CPU CFS scheduler. CPU period/quota "
		        "discarded.");
		b->cpu_period = 0;
		b->cpu_quota = 0;
	}
	if (b->cpu_period != 0 && (b->cpu_period < 1000 || b->cpu_period > 1000000))
		FAIL("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. "
		     "1000000)");
	if (b->cpu_quota > 0 && b->cpu_quota < 1000)
		FAIL("CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (b->cpu_percent > 0) {
		warn(w, "linux does not support CPU percent. Percent discarded.");
		b->cpu_percent = 0;
	}
	return 0;
}

/* The cpuset and block I/O parts. */
static int verify_rest(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                       struct su_error *e)
{
	char msg[SU_MSG_MAX / 2];
	if ((b->cpuset_cpus[0] || b->cpuset_mems[0]) && !h->cpuset) {
		warn(w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset "
		        "discarded.");
		b->cpuset_cpus[0] = b->cpuset_mems[0] = '\0';
		clear_given(b, SU_F_CPUSET_CPUS);
		clear_given(b, SU_F_CPUSET_MEMS);
	}
	int ok = su_cpuset_available(b->cpuset_cpus, h->cpus, msg, sizeof(msg));
	if (ok < 0)
		FAIL("Invalid value %s for cpuset cpus: %s", b->cpuset_cpus, msg);
	if (ok == 0)
		FAIL("Requested CPUs are not available - requested %s, available: %s",
		     b->cpuset_cpus, h->cpus);
	ok = su_cpuset_available(b->cpuset_mems, h->mems, msg, sizeof(msg));
	if (ok < 0)
		FAIL("Invalid value %s for cpuset mems: %s", b->cpuset_mems, msg);
	if (ok == 0)
		FAIL("Requested memory nodes are not available - requested %s, available: %s",
		     b->cpuset_mems, h->mems);
	if (b->blkio_weight > 0 && !h->blkio_weight) {
		warn(w, "Your kernel does not support Block I/O weight or the cgroup is not "
		        "mounted. Weight discarded.");
		b->blkio_weight = 0;
	}
	if (b->blkio_weight > 0 && (b->blkio_weight < 10 || b->blkio_weight > 1000))
		FAIL("Range of blkio weight is from 10 to 1000");
	if (b->io_max_bandwidth != 0 || b->io_max_iops != 0)
		FAIL("Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum "
		     "IO "
		     "IOps");
	if (b->blkio_weight_device_len > 0 && !h->blkio_weight_device)
		warn(w, "Your kernel does not support Block I/O weight_device or the cgroup is not "
		        "mounted. Weight-device discarded.");
	if (b->blkio_read_bps_len > 0 && !h->blkio_read_bps)
		warn(w,
		     "Your kernel does not support BPS Block I/O read limit or the cgroup is not "
		     "mounted. Block I/O BPS read limit discarded.");
	if (b->blkio_write_bps_len > 0 && !h->blkio_write_bps)
		warn(w, "Your kernel does not support BPS Block I/O write limit or the cgroup is "
		        "not mounted. Block I/O BPS write limit discarded.");
	if (b->blkio_read_iops_len > 0 && !h->blkio_read_iops)
		warn(w, "Your kernel does not support IOPS Block read limit or the cgroup is not "
		        "mounted. Block I/O IOPS read limit discarded.");
	if (b->blkio_write_iops_len > 0 && !h->blkio_write_iops)
		warn(w, "Your kernel does not support IOPS Block write limit or the cgroup is not "
		        "mounted. Block I/O IOPS write limit discarded.");
	return 0;
}

#undef FAIL

int su_verify(struct su_body *b, const struct su_host *h, struct su_warnings *w, struct su_error *e)
{
	w->n = 0;
	if (verify_restart(b, e) < 0 || verify_memory(b, h, w, e) < 0 ||
	    verify_cpu(b, h, w, e) < 0 || verify_rest(b, h, w, e) < 0)
		return -1;
	/* The fields serve enforces, as they stand after dockerd's adjustments. */
	static const enum su_field zeroed[] = {
	        SU_F_MEMORY,     SU_F_MEMORY_SWAP, SU_F_MEMORY_RESERVATION,
	        SU_F_CPU_SHARES, SU_F_CPU_PERIOD,  SU_F_CPU_QUOTA};
	const int64_t *vals[] = {&b->memory,     &b->memory_swap, &b->memory_reservation,
	                         &b->cpu_shares, &b->cpu_period,  &b->cpu_quota};
	for (size_t i = 0; i < NF(zeroed); i++) {
		if (*vals[i])
			b->given |= UINT64_C(1) << zeroed[i];
		else
			clear_given(b, zeroed[i]);
	}
	return 0;
}
