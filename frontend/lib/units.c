#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SIZE_FORM "expected a number of bytes with an optional k, m, g or t suffix, like 128m"

/* Digits only: rules out signs, spaces, hex and exponents before strto* sees them. */
static size_t count_digits(const char *s)
{
	size_t n = 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* Shift for a unit suffix ("", "b", "k", "kb", "kib", ... case-insensitive), or -1. */
static int size_suffix_shift(const char *suffix)
{
	static const char units[] = "kmgtp";
	if (*suffix == '\0' || strcasecmp(suffix, "b") == 0)
		return 0;
	const char *u = strchr(units, tolower((unsigned char)suffix[0]));
	if (!u)
		return -1;
	const char *rest = suffix + 1;
	if (*rest != '\0' && strcasecmp(rest, "b") != 0 && strcasecmp(rest, "ib") != 0)
		return -1;
	return 10 * (int)(u - units + 1);
}

int units_parse_size(const char *text, int64_t *bytes, struct cg_err *err)
{
	size_t digits = count_digits(text);
	if (digits == 0)
		return cg_errf(err, "invalid size \"%s\": " SIZE_FORM, text);
	if (text[digits] == '.' && isdigit((unsigned char)text[digits + 1]))
		return cg_errf(err,
		               "invalid size \"%s\": fractions are not supported; use a whole "
		               "number with a smaller unit, like 1536m for 1.5g",
		               text);
	int shift = size_suffix_shift(text + digits);
	if (shift < 0)
		return cg_errf(err, "invalid size \"%s\": " SIZE_FORM, text);

	errno = 0;
	unsigned long long n = strtoull(text, NULL, 10);
	if (errno == ERANGE || n > (unsigned long long)(INT64_MAX >> shift))
		return cg_errf(err,
		               "invalid size \"%s\": size too large, the maximum is %" PRId64
		               " bytes",
		               text, INT64_MAX);
	*bytes = (int64_t)(n << shift);
	return 0;
}

int units_parse_int(const char *text, int64_t min, int64_t max, const char *what, int64_t *out,
                    struct cg_err *err)
{
	const char *digits = text[0] == '-' ? text + 1 : text;
	size_t n = count_digits(digits);
	errno = 0;
	long long v = n > 0 && digits[n] == '\0' ? strtoll(text, NULL, 10) : 0;
	if (n == 0 || digits[n] != '\0' || errno == ERANGE || v < min || v > max)
		return cg_errf(err,
		               "invalid %s \"%s\": expected a whole number from %" PRId64
		               " to %" PRId64,
		               what, text, min, max);
	*out = v;
	return 0;
}

int units_parse_seconds(const char *opt, const char *text, double max, double *seconds,
                        struct cg_err *err)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(text, &end);
	if (!text[0] || isspace((unsigned char)text[0]) || *end || errno || !(v > 0 && v <= max))
		return cg_errf(err, "%s: expected seconds in (0, %.0f], got \"%s\"", opt, max,
		               text);
	*seconds = v;
	return 0;
}

/* Docker keeps CPUs as an int64 of nano-CPUs: the same limits apply here. */
#define CPUS_MAX_DECIMALS 9
#define CPUS_MAX 9223372036.0

int units_parse_cpus(const char *text, double *cpus, struct cg_err *err)
{
	size_t whole = count_digits(text);
	size_t frac = 0;
	if (text[whole] == '.')
		frac = count_digits(text + whole + 1);
	size_t end = whole + (text[whole] == '.' ? 1 + frac : 0);
	if (whole + frac == 0 || text[end] != '\0')
		return cg_errf(err,
		               "invalid CPU count \"%s\": expected a positive decimal number, "
		               "like 0.5 or 2",
		               text);
	if (frac > CPUS_MAX_DECIMALS)
		return cg_errf(err,
		               "invalid CPU count \"%s\": at most %d decimal places are "
		               "supported",
		               text, CPUS_MAX_DECIMALS);
	double v = strtod(text, NULL);
	if (!isfinite(v) || v <= 0)
		return cg_errf(err, "invalid CPU count \"%s\": it must be greater than 0", text);
	if (v >= CPUS_MAX)
		return cg_errf(err, "invalid CPU count \"%s\": it must be below %.0f", text,
		               CPUS_MAX);
	*cpus = v;
	return 0;
}

int64_t units_cpus_to_quota(double cpus, int64_t period_us)
{
	/* Like dockerd: exact nano-CPUs, then quota = nano * period / 1e9 truncated.
	 * Rounding to nano-CPUs first absorbs binary noise (0.29 * 1e5 = 28999.99...). */
	int64_t nano = llround(cpus * 1e9);
	return (int64_t)((__int128)nano * period_us / 1000000000);
}

int64_t units_nano_cpus_to_quota(int64_t nano_cpus)
{
	return (int64_t)((__int128)nano_cpus * UNITS_NANO_CPUS_PERIOD_US / 1000000000);
}

int64_t units_quota_to_nano_cpus(int64_t quota_us)
{
	return quota_us * (1000000000 / UNITS_NANO_CPUS_PERIOD_US);
}

void units_format_nano_cpus(int64_t nano_cpus, char *buf, size_t len)
{
	const char *sign = nano_cpus < 0 ? "-" : "";
	uint64_t mag = nano_cpus < 0 ? -(uint64_t)nano_cpus : (uint64_t)nano_cpus;
	uint64_t whole = mag / 1000000000u, frac = mag % 1000000000u;
	if (!frac) {
		snprintf(buf, len, "%s%" PRIu64, sign, whole);
		return;
	}
	char digits[10];
	snprintf(digits, sizeof(digits), "%09" PRIu64, frac);
	size_t n = strlen(digits);
	while (n > 1 && digits[n - 1] == '0')
		n--;
	snprintf(buf, len, "%s%" PRIu64 ".%.*s", sign, whole, (int)n, digits);
}

#define SHARES_MIN 2
#define SHARES_MAX 262144
#define WEIGHT_MIN 1
#define WEIGHT_MAX 10000

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

uint64_t units_shares_to_weight(uint64_t shares)
{
	shares = clamp_u64(shares, SHARES_MIN, SHARES_MAX);
	return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t units_weight_to_shares(uint64_t weight)
{
	weight = clamp_u64(weight, WEIGHT_MIN, WEIGHT_MAX);
	return 2 + ((weight - 1) * 262142) / 9999;
}

void units_format_size(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (bytes < 0) {
		snprintf(buf, len, "unlimited");
		return;
	}
	if (bytes < 1024) {
		snprintf(buf, len, "%" PRId64 " B", bytes);
		return;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	/* 1048575 B is 1023.999 KiB, which "%.1f" would round up to "1024.0 KiB". */
	while (v >= 1023.95 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* Decimals that leave three significant digits for |v| < 1000. */
static int sig3_decimals(double v)
{
	v = fabs(v);
	return v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
}

void units_format_duration(double ns, char *buf, size_t len)
{
	static const char *const units[] = {"ns", "us", "ms", "s"};
	if (ns == 0 || !isfinite(ns)) {
		snprintf(buf, len, "%g ns", ns);
		return;
	}
	double v = ns;
	size_t u = 0;
	/* Move up while the value would print as 1000 or more once rounded. */
	while (fabs(v) >= 999.5 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.*f %s", sig3_decimals(v), v, units[u]);
}

static int cpulist_number(const char **p, const char *text, long *out, struct cg_err *err)
{
	size_t n = count_digits(*p);
	if (n == 0 || n > 5)
		return cg_errf(err,
		               "invalid CPU list \"%s\": expected CPU numbers and ranges like "
		               "0-3,5",
		               text);
	*out = strtol(*p, NULL, 10);
	*p += n;
	if (*out >= UNITS_CPULIST_MAX)
		return cg_errf(err, "invalid CPU list \"%s\": CPU %ld is above the limit of %d",
		               text, *out, UNITS_CPULIST_MAX - 1);
	return 0;
}

int units_parse_cpulist(const char *text, uint64_t mask[UNITS_CPULIST_WORDS], struct cg_err *err)
{
	memset(mask, 0, UNITS_CPULIST_WORDS * sizeof(mask[0]));
	const char *p = text;
	while (*p) {
		long lo = 0, hi = 0; /* 0: GCC 12 -O3 warns (maybe-uninitialized) */
		if (cpulist_number(&p, text, &lo, err) < 0)
			return -1;
		hi = lo;
		if (*p == '-') {
			p++;
			if (cpulist_number(&p, text, &hi, err) < 0)
				return -1;
			if (hi < lo)
				return cg_errf(err,
				               "invalid CPU list \"%s\": range %ld-%ld is reversed",
				               text, lo, hi);
		}
		for (long c = lo; c <= hi; c++)
			mask[c / 64] |= UINT64_C(1) << (c % 64);
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return cg_errf(err,
			               "invalid CPU list \"%s\": expected CPU numbers and ranges "
			               "like 0-3,5",
			               text);
	}
	return 0;
}

uint64_t units_cpu_weight_file_value(int version, bool has_shares, uint64_t shares, bool has_weight,
                                     uint64_t weight)
{
	if (version == 1)
		return has_shares ? shares : units_weight_to_shares(weight);
	return has_weight ? weight : units_shares_to_weight(shares);
}
