/* Unit conversions users see: parsing option values and printing sizes and
 * durations. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "units.h"

static int64_t size_ok(const char *text)
{
	struct cg_err err = {{0}};
	int64_t bytes = -42;
	cr_assert_eq(units_parse_size(text, &bytes, &err), 0, "\"%s\" rejected: %s", text, err.msg);
	return bytes;
}

static const char *size_err(const char *text)
{
	static struct cg_err err;
	int64_t bytes = -42;
	err.msg[0] = '\0';
	cr_assert_eq(units_parse_size(text, &bytes, &err), -1, "\"%s\" accepted", text);
	cr_assert_eq(bytes, -42, "output written on error for \"%s\"", text);
	return err.msg;
}

Test(limits, parse_size_plain_bytes)
{
	cr_assert_eq(size_ok("134217728"), 134217728);
	cr_assert_eq(size_ok("0"), 0);
	cr_assert_eq(size_ok("64b"), 64);
	cr_assert_eq(size_ok("64B"), 64);
}

Test(limits, parse_size_binary_units_any_case)
{
	cr_assert_eq(size_ok("512k"), 512 * 1024);
	cr_assert_eq(size_ok("128m"), 128 * 1024 * 1024);
	cr_assert_eq(size_ok("128M"), 128 * 1024 * 1024);
	cr_assert_eq(size_ok("128mb"), 128 * 1024 * 1024);
	cr_assert_eq(size_ok("128MiB"), 128 * 1024 * 1024);
	cr_assert_eq(size_ok("1g"), INT64_C(1) << 30);
	cr_assert_eq(size_ok("1GB"), INT64_C(1) << 30);
	cr_assert_eq(size_ok("2t"), INT64_C(2) << 40);
	cr_assert_eq(size_ok("3p"), INT64_C(3) << 50);
}

Test(limits, parse_size_limits_at_int64_max)
{
	cr_assert_eq(size_ok("9223372036854775807"), INT64_MAX);
	cr_assert_eq(size_ok("8191p"), INT64_C(8191) << 50);
	cr_assert_str_eq(size_err("9223372036854775808"),
	                 "invalid size \"9223372036854775808\": size too large, the maximum is "
	                 "9223372036854775807 bytes");
	cr_assert_str_eq(size_err("8192p"), "invalid size \"8192p\": size too large, the maximum "
	                                    "is 9223372036854775807 bytes");
	cr_assert_str_eq(size_err("99999999999999999999999"),
	                 "invalid size \"99999999999999999999999\": size too large, the maximum "
	                 "is 9223372036854775807 bytes");
}

Test(limits, parse_size_rejects_bad_text_with_the_expected_form)
{
	const char *form = "expected a number of bytes with an optional k, m, g or t suffix, "
	                   "like 128m";
	const char *bad[] = {"",   "12XB", "1e99", "-1x", "-1",   "+5",   " 5",
	                     "5 ", "m",    "5mm",  "5ib", "5kbb", "0x10", "1."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		snprintf(want, sizeof(want), "invalid size \"%s\": %s", bad[i], form);
		cr_assert_str_eq(size_err(bad[i]), want);
	}
}

Test(limits, parse_size_rejects_fractions_and_suggests_a_smaller_unit)
{
	cr_assert_str_eq(size_err("1.5g"), "invalid size \"1.5g\": fractions are not supported; "
	                                   "use a whole number with a smaller unit, like 1536m "
	                                   "for 1.5g");
}

Test(limits, parse_int_range_and_errors)
{
	struct cg_err err = {{0}};
	int64_t v = 0;
	cr_assert_eq(units_parse_int("100", 1, 1000, "--runs", &v, &err), 0);
	cr_assert_eq(v, 100);
	cr_assert_eq(units_parse_int("-5", -10, 10, "--offset", &v, &err), 0);
	cr_assert_eq(v, -5);
	cr_assert_eq(units_parse_int("1000", 1, 1000, "--runs", &v, &err), 0);
	cr_assert_eq(v, 1000);

	const char *bad[] = {
	        "0", "1001", "", "12x", "1.0", " 1", "+1", "-", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 77;
		cr_assert_eq(units_parse_int(bad[i], 1, 1000, "--runs", &v, &err), -1,
		             "\"%s\" accepted", bad[i]);
		cr_assert_eq(v, 77);
		char want[256];
		snprintf(want, sizeof(want),
		         "invalid --runs \"%s\": expected a whole number from 1 to 1000", bad[i]);
		cr_assert_str_eq(err.msg, want);
	}
}

Test(limits, parse_seconds_takes_positive_seconds_up_to_max)
{
	struct cg_err err = {{0}};
	double s = 0;
	cr_assert_eq(units_parse_seconds("--timeout", "2.5", 3600, &s, &err), 0);
	cr_assert_float_eq(s, 2.5, 1e-12);
	cr_assert_eq(units_parse_seconds("--timeout", "3600", 3600, &s, &err), 0);
	cr_assert_float_eq(s, 3600, 1e-12);
	const char *bad[] = {"", "0", "-1", "3600.5", "nan", "inf", "1e999", "2s", " 2", "0x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = 77;
		cr_assert_eq(units_parse_seconds("--timeout", bad[i], 3600, &s, &err), -1,
		             "\"%s\" was taken", bad[i]);
		cr_assert_float_eq(s, 77, 0, "\"%s\" changed the value", bad[i]);
		char want[128];
		snprintf(want, sizeof(want), "--timeout: expected seconds in (0, 3600], got \"%s\"",
		         bad[i]);
		cr_assert_str_eq(err.msg, want);
	}
}

Test(limits, parse_cpus_accepts_positive_decimals)
{
	struct cg_err err = {{0}};
	double cpus = 0;
	cr_assert_eq(units_parse_cpus("0.5", &cpus, &err), 0);
	cr_assert_float_eq(cpus, 0.5, 1e-12);
	cr_assert_eq(units_parse_cpus("2", &cpus, &err), 0);
	cr_assert_float_eq(cpus, 2.0, 1e-12);
	cr_assert_eq(units_parse_cpus(".25", &cpus, &err), 0);
	cr_assert_float_eq(cpus, 0.25, 1e-12);
	cr_assert_eq(units_parse_cpus("0.000000001", &cpus, &err), 0, "%s", err.msg);
	cr_assert_float_eq(cpus, 1e-9, 1e-18);
}

Test(limits, parse_cpus_rejects_non_numbers_and_non_positive)
{
	struct cg_err err = {{0}};
	double cpus = 7;
	const char *junk[] = {"nan", "inf", "-1", "", "1.5x", "1e3", "0x1", " 1", "."};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		cr_assert_eq(units_parse_cpus(junk[i], &cpus, &err), -1, "\"%s\" accepted",
		             junk[i]);
		char want[256];
		snprintf(want, sizeof(want),
		         "invalid CPU count \"%s\": expected a positive decimal number, like 0.5 "
		         "or 2",
		         junk[i]);
		cr_assert_str_eq(err.msg, want);
	}
	cr_assert_eq(units_parse_cpus("0", &cpus, &err), -1);
	cr_assert_str_eq(err.msg, "invalid CPU count \"0\": it must be greater than 0");
	cr_assert_eq(units_parse_cpus("0.000", &cpus, &err), -1);
	cr_assert_str_eq(err.msg, "invalid CPU count \"0.000\": it must be greater than 0");
	cr_assert_eq(units_parse_cpus("0.0000000001", &cpus, &err), -1);
	cr_assert_str_eq(err.msg, "invalid CPU count \"0.0000000001\": at most 9 decimal places "
	                          "are supported");
	cr_assert_eq(units_parse_cpus("10000000000", &cpus, &err), -1);
	cr_assert_str_eq(err.msg, "invalid CPU count \"10000000000\": it must be below 9223372036");
	cr_assert_float_eq(cpus, 7.0, 1e-12, "output written on error");
}

Test(limits, cpus_to_quota_matches_docker)
{
	cr_assert_eq(units_cpus_to_quota(0.5, 100000), 50000);
	cr_assert_eq(units_cpus_to_quota(2, 100000), 200000);
	cr_assert_eq(units_cpus_to_quota(1.5, 50000), 75000);
	/* 0.29 * 100000 is 28999.999... in binary floating point; docker writes 29000. */
	cr_assert_eq(units_cpus_to_quota(0.29, 100000), 29000);
	cr_assert_eq(units_cpus_to_quota(0.11, 100000), 11000);
	/* dockerd truncates nano-CPUs * period / 1e9: 12345.6 us becomes 12345. */
	cr_assert_eq(units_cpus_to_quota(0.123456, 100000), 12345);
	cr_assert_eq(units_cpus_to_quota(9223372035.0, 1000000), INT64_C(9223372035000000));
}

/* dockerd: quota = NanoCpus * 100000 / 1e9 of a 100000 us period, truncated. */
Test(limits, nano_cpus_to_quota_matches_dockerd)
{
	cr_assert_eq(UNITS_NANO_CPUS_PERIOD_US, 100000);
	cr_assert_eq(units_nano_cpus_to_quota(500000000), 50000);   /* --cpus 0.5 */
	cr_assert_eq(units_nano_cpus_to_quota(200000000), 20000);   /* --cpus 0.2, seen here */
	cr_assert_eq(units_nano_cpus_to_quota(2000000000), 200000); /* --cpus 2 */
	cr_assert_eq(units_nano_cpus_to_quota(123456789), 12345);   /* truncated */
	cr_assert_eq(units_nano_cpus_to_quota(9999), 0);
	cr_assert_eq(units_nano_cpus_to_quota(INT64_MAX), INT64_MAX / 10000);
}

/* Every quota bench asks for comes back exactly through NanoCpus. */
Test(limits, quota_to_nano_cpus_round_trips)
{
	cr_assert_eq(units_quota_to_nano_cpus(11000), 110000000);
	cr_assert_eq(units_quota_to_nano_cpus(9000), 90000000);
	cr_assert_eq(units_quota_to_nano_cpus(1000), 10000000);
	for (int64_t q = 1000; q <= 10000000; q += 997)
		cr_assert_eq(units_nano_cpus_to_quota(units_quota_to_nano_cpus(q)), q, "quota %lld",
		             (long long)q);
}

static const char *nano_text(int64_t nano)
{
	static char buf[32];
	units_format_nano_cpus(nano, buf, sizeof(buf));
	return buf;
}

Test(limits, nano_cpus_as_docker_cli_decimal)
{
	cr_assert_str_eq(nano_text(500000000), "0.5");
	cr_assert_str_eq(nano_text(110000000), "0.11");
	cr_assert_str_eq(nano_text(2000000000), "2");
	cr_assert_str_eq(nano_text(2500000000), "2.5");
	cr_assert_str_eq(nano_text(105000000), "0.105");
	cr_assert_str_eq(nano_text(1), "0.000000001");
	cr_assert_str_eq(nano_text(0), "0");
	cr_assert_str_eq(nano_text(INT64_MAX), "9223372036.854775807");
	cr_assert_str_eq(nano_text(-1500000000), "-1.5");
	/* What the text says is what units_parse_cpus reads: the same NanoCpus. */
	double cpus = 0;
	struct cg_err err = {{0}};
	cr_assert_eq(units_parse_cpus(nano_text(123456789), &cpus, &err), 0, "%s", err.msg);
	cr_assert_eq(llround(cpus * 1e9), 123456789);
	char small[4];
	units_format_nano_cpus(110000000, small, sizeof(small));
	cr_assert_str_eq(small, "0.1", "a short buffer is cut, not overrun");
}

Test(limits, shares_to_weight_crun_formula)
{
	cr_assert_eq(units_shares_to_weight(2), 1);
	cr_assert_eq(units_shares_to_weight(1024), 39);
	cr_assert_eq(units_shares_to_weight(262144), 10000);
	/* out-of-range inputs are clamped to [2, 262144] */
	cr_assert_eq(units_shares_to_weight(0), 1);
	cr_assert_eq(units_shares_to_weight(1), 1);
	cr_assert_eq(units_shares_to_weight(1000000), 10000);
}

Test(limits, weight_to_shares_crun_formula)
{
	cr_assert_eq(units_weight_to_shares(1), 2);
	cr_assert_eq(units_weight_to_shares(39), 998);
	cr_assert_eq(units_weight_to_shares(100), 2597);
	cr_assert_eq(units_weight_to_shares(10000), 262144);
	cr_assert_eq(units_weight_to_shares(0), 2);
	cr_assert_eq(units_weight_to_shares(20000), 262144);
}

static const char *size_text(int64_t bytes)
{
	static char buf[64];
	units_format_size(bytes, buf, sizeof(buf));
	return buf;
}

Test(limits, format_size_binary_units)
{
	cr_assert_str_eq(size_text(0), "0 B");
	cr_assert_str_eq(size_text(512), "512 B");
	cr_assert_str_eq(size_text(1023), "1023 B");
	cr_assert_str_eq(size_text(1024), "1.0 KiB");
	cr_assert_str_eq(size_text(1536), "1.5 KiB");
	cr_assert_str_eq(size_text(134217728), "128.0 MiB");
	cr_assert_str_eq(size_text(INT64_C(1) << 30), "1.0 GiB");
	cr_assert_str_eq(size_text(1048575), "1.0 MiB"); /* not "1024.0 KiB" */
	cr_assert_str_eq(size_text(INT64_C(3) << 40), "3.0 TiB");
	cr_assert_str_eq(size_text(INT64_MAX), "8.0 EiB");
	cr_assert_str_eq(size_text(-1), "unlimited");
}

Test(limits, format_size_truncates_to_buffer)
{
	char buf[5];
	units_format_size(134217728, buf, sizeof(buf));
	cr_assert_str_eq(buf, "128.");
}

static const char *duration_text(double ns)
{
	static char buf[64];
	units_format_duration(ns, buf, sizeof(buf));
	return buf;
}

Test(limits, format_duration_three_significant_digits)
{
	cr_assert_str_eq(duration_text(412), "412 ns");
	cr_assert_str_eq(duration_text(5310), "5.31 us");
	cr_assert_str_eq(duration_text(8938000), "8.94 ms");
	cr_assert_str_eq(duration_text(26723000), "26.7 ms");
	cr_assert_str_eq(duration_text(1.2e9), "1.20 s");
	cr_assert_str_eq(duration_text(45.67), "45.7 ns");
	cr_assert_str_eq(duration_text(0), "0 ns");
	cr_assert_str_eq(duration_text(3600e9), "3600 s");
}

Test(limits, format_duration_rounding_moves_to_the_next_unit)
{
	cr_assert_str_eq(duration_text(999.4), "999 ns");
	cr_assert_str_eq(duration_text(999.6), "1.00 us");
	cr_assert_str_eq(duration_text(999999), "1.00 ms");
	cr_assert_str_eq(duration_text(99960), "100 us");    /* not "100.0 us" */
	cr_assert_str_eq(duration_text(9996000), "10.0 ms"); /* not "10.00 ms" */
}

/* cglat set and run convert with these. */
static struct cg_err uerr;

Test(conversions, shares_and_weight_end_points)
{
	cr_assert_eq(units_shares_to_weight(2), 1);
	cr_assert_eq(units_shares_to_weight(1024), 39);
	cr_assert_eq(units_shares_to_weight(262144), 10000);
	cr_assert_eq(units_weight_to_shares(1), 2);
	cr_assert_eq(units_weight_to_shares(10000), 262144);
	cr_assert_eq(units_weight_to_shares(100), 2597);
}

Test(conversions, cpus_to_quota_and_cpulists)
{
	cr_assert_eq(units_cpus_to_quota(0.2, 100000), 20000);
	cr_assert_eq(units_cpus_to_quota(1.5, 50000), 75000);
	uint64_t mask[UNITS_CPULIST_WORDS];
	cr_assert_eq(units_parse_cpulist("0-2,5,64", mask, &uerr), 0, "%s", uerr.msg);
	cr_assert_eq(mask[0], 0x27);
	cr_assert_eq(mask[1], 1);
	cr_assert_eq(units_parse_cpulist("", mask, &uerr), 0);
	cr_assert_eq(mask[0], 0);
	cr_assert_eq(units_parse_cpulist("4096", mask, &uerr), -1);
	cr_assert(strstr(uerr.msg, "above the limit of 4095"), "%s", uerr.msg);
}
