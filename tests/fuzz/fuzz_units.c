/* Values as users type them: sizes, CPU counts, integers, CPU lists, limit file text. */
#include "cgroup.h"
#include "fuzz_common.h"
#include "units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	struct cg_err err;
	int64_t v, period;
	double cpus;
	uint64_t mask[UNITS_CPULIST_WORDS];
	char buf[64];
	if (units_parse_size(text, &v, &err) == 0)
		units_format_size(v, buf, sizeof(buf));
	if (units_parse_cpus(text, &cpus, &err) == 0) {
		(void)units_cpus_to_quota(cpus, 100000);
		(void)units_cpus_to_quota(cpus, 1000);
	}
	(void)units_parse_int(text, INT64_MIN, INT64_MAX, "--fuzz", &v, &err);
	if (units_parse_int(text, 0, 300000, "--fuzz", &v, &err) == 0) {
		(void)units_shares_to_weight((uint64_t)v);
		(void)units_weight_to_shares((uint64_t)v);
	}
	(void)units_parse_cpulist(text, mask, &err);
	for (int version = 1; version <= 2; version++)
		for (int r = 0; r < CG_RES_COUNT; r++)
			if (cgroup_parse_limit((enum cg_resource)r, version, text, &v, &period,
			                       &err) == 0)
				(void)cgroup_format_limit((enum cg_resource)r, version, v, 100000,
				                          buf, sizeof(buf), &err);
	if (size >= sizeof(double)) {
		double ns;
		memcpy(&ns, data, sizeof(ns));
		units_format_duration(ns, buf, sizeof(buf));
	}
	free(text);
	return 0;
}
