/* Pure conversions between the units users type and the values cgroup files
 * hold. No I/O here: everything is unit-tested without root. */
#ifndef CGLAT_UNITS_H
#define CGLAT_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "134217728", "128m", "128M", "128mb", "1g", "512k", "2t", "64b": binary units like
 * `docker update --memory`. Rejects empty text, negative values, fractions, unknown
 * suffixes and values above INT64_MAX. */
int units_parse_size(const char *text, int64_t *bytes, struct cg_err *err);

/* Decimal integer in [min, max]; `what` names the option in the error. */
int units_parse_int(const char *text, int64_t min, int64_t max, const char *what, int64_t *out,
                    struct cg_err *err);

/* "0.5", "30": seconds in (0, max] for an option like --duration; `opt` names it in
 * the error. Rejects empty text, trailing characters, nan, inf and <= 0. */
int units_parse_seconds(const char *opt, const char *text, double max, double *seconds,
                        struct cg_err *err);

/* "0.5", "2": a positive, finite number of CPUs (rejects nan, inf, <= 0). */
int units_parse_cpus(const char *text, double *cpus, struct cg_err *err);

/* CPUs -> CFS quota in microseconds for the given period, rounded like docker. */
int64_t units_cpus_to_quota(double cpus, int64_t period_us);

/* The CFS period dockerd gives a limit held as NanoCpus (`--cpus`): 100 ms. */
#define UNITS_NANO_CPUS_PERIOD_US 100000
/* NanoCpus -> the quota in microseconds dockerd has runc write for it, of a
 * UNITS_NANO_CPUS_PERIOD_US period: nano * 100000 / 1e9, truncated as dockerd does. */
int64_t units_nano_cpus_to_quota(int64_t nano_cpus);
/* A quota in microseconds of a UNITS_NANO_CPUS_PERIOD_US period -> the NanoCpus that
 * dockerd turns back into exactly that quota (quota * 10000). */
int64_t units_quota_to_nano_cpus(int64_t quota_us);
/* NanoCpus as `docker update --cpus` takes them, the exact decimal of nano / 1e9 with
 * no trailing zeros: "0.5", "2", "0.0105", "0.000000001". The CLI refuses a value
 * that is not a whole number of NanoCpus ("value is too precise"), so no rounding. */
void units_format_nano_cpus(int64_t nano_cpus, char *buf, size_t len);

/* cgroup v1 cpu.shares [2, 262144] <-> v2 cpu.weight [1, 10000], crun's formula. */
uint64_t units_shares_to_weight(uint64_t shares);
uint64_t units_weight_to_shares(uint64_t weight);
/* What cgroup version `version`'s CPU weight file gets (v1 cpu.shares, v2 cpu.weight)
 * for the shares and/or weight asked for: the file's own scale when given, else the
 * other converted. */
uint64_t units_cpu_weight_file_value(int version, bool has_shares, uint64_t shares, bool has_weight,
                                     uint64_t weight);

/* Human size with binary units: "128.0 MiB", "512 B"; "unlimited" when bytes < 0. */
void units_format_size(int64_t bytes, char *buf, size_t len);

/* Duration in nanoseconds in the unit that reads best: "412 ns", "5.31 us",
 * "8.94 ms", "1.20 s"; three significant digits. */
void units_format_duration(double ns, char *buf, size_t len);

/* CPU lists as cpuset.cpus takes and prints them: "0-3,5", "" (none). */
#define UNITS_CPULIST_MAX 4096
#define UNITS_CPULIST_WORDS (UNITS_CPULIST_MAX / 64)

/* Sets the bits of the listed CPUs in mask (cleared first). Rejects anything but
 * digits, ',' and '-', reversed ranges and CPUs from UNITS_CPULIST_MAX up. */
int units_parse_cpulist(const char *text, uint64_t mask[UNITS_CPULIST_WORDS], struct cg_err *err);

#endif
