/* cglat serve's update path without dockerd: the body decoded as dockerd's Go code decodes
 * it (every message below was answered by dockerd 20.10.24 to the same body), dockerd's
 * checks and their messages, the record's conflicts, the writes runc would make on v1 and
 * v2, the kernel values kept across background records, the answers as dockerd writes
 * them; and libcglat's memory reservation and cpuset.mems knobs on fake cgroup trees. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "serve_relay.h"
#include "serve_update.h"

#ifndef FIXTURES_DIR
#define FIXTURES_DIR "tests/fixtures"
#endif

#define ID "c440b1daf1eb1b5b2c79d7092dada71a27e8ea021debb7be6af818d6aaed7ef2"

static struct su_body body;
static struct su_error err;

static void parse_ok(const char *json)
{
	memset(&err, 0, sizeof(err));
	cr_assert_eq(su_parse_body(json, strlen(json), true, &body, &err), 0, "%s: %s", json,
	             err.msg);
}

static void parse_err(const char *json, const char *want)
{
	memset(&err, 0, sizeof(err));
	cr_assert_eq(su_parse_body(json, strlen(json), true, &body, &err), -1, "%s accepted", json);
	cr_assert_eq(err.status, 500, "%s: status %d", json, err.status);
	cr_assert_str_eq(err.msg, want, "%s", json);
}

#define GIVEN(f) ((body.given >> (f)) & 1)

/* ---- the body ---------------------------------------------------------------------- */

TestSuite(serve_update_body);

Test(serve_update_body, what_docker_update_sends)
{
	/* The docker CLI's body for `docker update --memory 300m --memory-swap 600m --cpus
	 * 1.5`: every field, zero values included. */
	parse_ok("{\"BlkioWeight\":0,\"BlkioWeightDevice\":null,\"BlkioDeviceReadBps\":null,"
	         "\"BlkioDeviceWriteBps\":null,\"BlkioDeviceReadIOps\":null,"
	         "\"BlkioDeviceWriteIOps\":null,\"CgroupParent\":\"\",\"CpuCount\":0,"
	         "\"CpuPercent\":0,\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,"
	         "\"CpuRealtimeRuntime\":0,\"CpuShares\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\","
	         "\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"Devices\":null,"
	         "\"IOMaximumBandwidth\":0,\"IOMaximumIOps\":0,\"KernelMemory\":0,"
	         "\"KernelMemoryTCP\":0,\"Memory\":314572800,\"MemoryReservation\":0,"
	         "\"MemorySwap\":629145600,\"MemorySwappiness\":null,\"NanoCpus\":1500000000,"
	         "\"OomKillDisable\":null,\"PidsLimit\":null,\"Ulimits\":null,"
	         "\"RestartPolicy\":{\"MaximumRetryCount\":0,\"Name\":\"\"}}");
	cr_assert_eq(body.memory, 314572800);
	cr_assert_eq(body.memory_swap, 629145600);
	cr_assert_eq(body.nano_cpus, 1500000000);
	cr_assert_not(body.has_pids_limit);
	cr_assert_eq(body.given,
	             (1u << SU_F_MEMORY) | (1u << SU_F_MEMORY_SWAP) | (1u << SU_F_NANO_CPUS));
	cr_assert_str_eq(su_field_name(SU_F_NANO_CPUS), "NanoCpus");
}

Test(serve_update_body, every_enforced_field)
{
	parse_ok("{\"Memory\":314572800,\"MemorySwap\":-1,\"MemoryReservation\":104857600,"
	         "\"NanoCpus\":500000000,\"CpuQuota\":-1,\"CpuPeriod\":50000,\"CpuShares\":512,"
	         "\"CpusetCpus\":\"0-1\",\"CpusetMems\":\"0\",\"PidsLimit\":200}");
	cr_assert_eq(body.memory, 314572800);
	cr_assert_eq(body.memory_swap, -1);
	cr_assert_eq(body.memory_reservation, 104857600);
	cr_assert_eq(body.nano_cpus, 500000000);
	cr_assert_eq(body.cpu_quota, -1);
	cr_assert_eq(body.cpu_period, 50000);
	cr_assert_eq(body.cpu_shares, 512);
	cr_assert_str_eq(body.cpuset_cpus, "0-1");
	cr_assert_str_eq(body.cpuset_mems, "0");
	cr_assert(body.has_pids_limit);
	cr_assert_eq(body.pids_limit, 200);
}

Test(serve_update_body, keys_as_go_matches_them)
{
	/* Case-insensitively, the Kelvin sign for k and the long s for s (they fold to them);
	 * unknown fields are ignored; the last duplicate wins. */
	parse_ok("{\"memory\":7340032,\"CPUSHARES\":100,\"nanocpus\":1,\"Foo\":{\"x\":[1]}}");
	cr_assert_eq(body.memory, 7340032);
	cr_assert_eq(body.cpu_shares, 100);
	cr_assert_eq(body.nano_cpus, 1);
	parse_ok("{\"CpuShare\xc5\xbf\":300,\"\\u212aernelMemory\":9}");
	cr_assert_eq(body.cpu_shares, 300);
	cr_assert_eq(body.kernel_memory, 9);
	parse_ok("{\"Memory\":8388608,\"memory\":9437184}");
	cr_assert_eq(body.memory, 9437184);
	parse_ok("{\"Memory\":8388608,\"Memory\":null}"); /* null leaves it as it was */
	cr_assert_eq(body.memory, 8388608);
	parse_ok("{\"PidsLimit\":5,\"PidsLimit\":null}"); /* a pointer: null is nil */
	cr_assert_not(body.has_pids_limit);
	parse_ok(
	        "{\"RestartPolicy\":{\"Name\":\"always\"},\"RestartPolicy\":{\"MaximumRetryCount\":"
	        "3}}"); /* a struct is decoded into again */
	cr_assert_str_eq(body.restart_name, "always");
	cr_assert_eq(body.restart_max_retry, 3);
	parse_ok("{\"CpusetCpus\":\"\\u0030-\\u0031\"}");
	cr_assert_str_eq(body.cpuset_cpus, "0-1");
	/* Plain ASCII (what clients send) is copied as it is, as escapes are decoded. */
	parse_ok("{\"CpusetCpus\":\"0-1\",\"CpusetMems\":\"\",\"RestartPolicy\":{\"Name\":"
	         "\"on-failure\"}}");
	cr_assert_str_eq(body.cpuset_cpus, "0-1");
	cr_assert_str_eq(body.cpuset_mems, "");
	cr_assert_str_eq(body.restart_name, "on-failure");
	cr_assert(GIVEN(SU_F_CPUSET_CPUS));
	cr_assert_not(GIVEN(SU_F_CPUSET_MEMS));
}

Test(serve_update_body, the_first_value_only)
{
	parse_ok("{} x");
	cr_assert_eq(body.given, 0);
	parse_ok("null");
	parse_ok("  {\"Memory\":8388608}{\"Memory\":1}");
	cr_assert_eq(body.memory, 8388608);
	parse_ok("{\"Memory\":-0}");
	cr_assert_eq(body.memory, 0);
}

Test(serve_update_body, pids_limit_as_the_route_treats_it)
{
	parse_ok("{\"PidsLimit\":-5}");
	cr_assert(body.has_pids_limit);
	cr_assert_eq(body.pids_limit, 0); /* 0 and below: unlimited, as 0 */
	cr_assert(GIVEN(SU_F_PIDS_LIMIT));
	parse_ok("{\"PidsLimit\":0}");
	cr_assert(body.has_pids_limit);
	const char *json = "{\"PidsLimit\":64}";
	cr_assert_eq(su_parse_body(json, strlen(json), false, &body, &err), 0);
	cr_assert_not(body.has_pids_limit, "below API 1.40 PidsLimit is ignored");
}

Test(serve_update_body, syntax_errors_in_gos_words)
{
	parse_err("", "EOF");
	parse_err(" \n\t", "EOF");
	parse_err("{\"Memory\":", "unexpected EOF");
	parse_err("{\"Memory\":1,\"x\":", "unexpected EOF");
	parse_err("tru", "unexpected EOF");
	parse_err("{\"Memory\":x}", "invalid character 'x' looking for beginning of value");
	parse_err("{\"Memory\":tru}", "invalid character '}' in literal true (expecting 'e')");
	parse_err("{\"Memory\":fals}", "invalid character '}' in literal false (expecting 'e')");
	parse_err("{\"Memory\":nul}", "invalid character '}' in literal null (expecting 'l')");
	parse_err("{\"Memory\":1.}",
	          "invalid character '}' after decimal point in numeric literal");
	parse_err("{\"Memory\":-}", "invalid character '}' in numeric literal");
	parse_err("{\"Memory\":1e}", "invalid character '}' in exponent of numeric literal");
	parse_err("{\"Memory\":\"\\q\"}", "invalid character 'q' in string escape code");
	parse_err("{\"CpusetCpus\":\"\\u00zz\"}",
	          "invalid character 'z' in \\u hexadecimal character escape");
	parse_err("{\"Memory\" 1}", "invalid character '1' after object key");
	parse_err("{\"Memory\":01}", "invalid character '1' after object key:value pair");
	parse_err("{\"Memory\":-01}", "invalid character '1' after object key:value pair");
	parse_err("{1:1}", "invalid character '1' looking for beginning of object key string");
	parse_err("{\"a\":1,}", "invalid character '}' looking for beginning of object key string");
	parse_err("[1,]", "invalid character ']' looking for beginning of value");
	parse_err("[1 2]", "invalid character '2' after array element");
	parse_err("{\"a\":\"\x01\"}", "invalid character '\\x01' in string literal");
	parse_err("{\"a\":'x'}", "invalid character '\\'' looking for beginning of value");
	parse_err("\xef\xbb\xbf{}", "invalid character '\xc3\xaf' looking for beginning of value");
	parse_err("{\"a\":\n\"\n\"}", "invalid character '\\n' in string literal");
}

Test(serve_update_body, depth_limit)
{
	char *deep = malloc(10002 * 2);
	memset(deep, '[', 10001);
	memset(deep + 10001, ']', 10001);
	deep[20002] = '\0';
	parse_err(deep, "invalid character '[' exceeded max depth");
	deep[10000] = ']'; /* 10000 deep is fine (and an array is the wrong type) */
	deep[20001] = '\0';
	parse_err(deep,
	          "json: cannot unmarshal array into Go value of type container.UpdateConfig");
	free(deep);
}

Test(serve_update_body, type_errors_in_gos_words)
{
	parse_err("[]",
	          "json: cannot unmarshal array into Go value of type container.UpdateConfig");
	parse_err("\"x\"",
	          "json: cannot unmarshal string into Go value of type container.UpdateConfig");
	parse_err("5",
	          "json: cannot unmarshal number into Go value of type container.UpdateConfig");
	parse_err("true",
	          "json: cannot unmarshal bool into Go value of type container.UpdateConfig");
	parse_err("{\"Memory\":1.5}", "json: cannot unmarshal number 1.5 into Go struct field "
	                              "UpdateConfig.Memory of type int64");
	parse_err("{\"Memory\":1e30}", "json: cannot unmarshal number 1e30 into Go struct field "
	                               "UpdateConfig.Memory of type int64");
	parse_err("{\"Memory\":99999999999999999999}",
	          "json: cannot unmarshal number 99999999999999999999 into Go struct field "
	          "UpdateConfig.Memory of type int64");
	parse_err("{\"Memory\":\"x\"}", "json: cannot unmarshal string into Go struct field "
	                                "UpdateConfig.Memory of type int64");
	parse_err("{\"Memory\":true}", "json: cannot unmarshal bool into Go struct field "
	                               "UpdateConfig.Memory of type int64");
	parse_err("{\"Memory\":\"x\",\"CpuShares\":true}",
	          "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type "
	          "int64"); /* the first one */
	parse_err("{\"PidsLimit\":\"x\"}", "json: cannot unmarshal string into Go struct field "
	                                   "UpdateConfig.PidsLimit of type int64");
	parse_err("{\"BlkioWeight\":70000}", "json: cannot unmarshal number 70000 into Go struct "
	                                     "field UpdateConfig.BlkioWeight of type uint16");
	parse_err("{\"BlkioWeight\":-1}", "json: cannot unmarshal number -1 into Go struct field "
	                                  "UpdateConfig.BlkioWeight of type uint16");
	parse_err("{\"CpusetCpus\":5}", "json: cannot unmarshal number into Go struct field "
	                                "UpdateConfig.CpusetCpus of type string");
	parse_err("{\"OomKillDisable\":5}", "json: cannot unmarshal number into Go struct field "
	                                    "UpdateConfig.OomKillDisable of type bool");
	parse_err("{\"Devices\":5}", "json: cannot unmarshal number into Go struct field "
	                             "UpdateConfig.Devices of type []container.DeviceMapping");
	parse_err("{\"Ulimits\":{}}", "json: cannot unmarshal object into Go struct field "
	                              "UpdateConfig.Ulimits of type []*units.Ulimit");
	parse_err(
	        "{\"RestartPolicy\":\"x\"}",
	        "json: cannot unmarshal string into Go struct field UpdateConfig.RestartPolicy of "
	        "type container.RestartPolicy");
	parse_err("{\"RestartPolicy\":{\"Name\":5}}",
	          "json: cannot unmarshal number into Go struct field "
	          "RestartPolicy.RestartPolicy.Name "
	          "of type string");
	parse_err("{\"RestartPolicy\":{\"MaximumRetryCount\":\"x\"}}",
	          "json: cannot unmarshal string into Go struct field "
	          "RestartPolicy.RestartPolicy.MaximumRetryCount of type int");
	parse_err("{\"Ulimits\":[{\"Name\":5}]}", "json: cannot unmarshal number into Go struct "
	                                          "field Ulimit.Ulimits.Name of type string");
	parse_err("{\"Ulimits\":[5]}", "json: cannot unmarshal number into Go struct field "
	                               "UpdateConfig.Ulimits of type units.Ulimit");
	parse_err("{\"DeviceCgroupRules\":[1]}",
	          "json: cannot unmarshal number into Go struct field "
	          "UpdateConfig.DeviceCgroupRules of type string");
	parse_err("{\"DeviceRequests\":[{\"Options\":{\"a\":1}}]}",
	          "json: cannot unmarshal number into Go struct field "
	          "DeviceRequest.DeviceRequests.Options of type string");
	parse_err("{\"IOMaximumIOps\":1.0}",
	          "json: cannot unmarshal number 1.0 into Go struct field "
	          "UpdateConfig.IOMaximumIOps of type uint64");
	/* ... and what Go takes. */
	parse_ok("{\"IOMaximumIOps\":18446744073709551615,\"Unknown\":99999999999999999999999}");
	cr_assert_eq(body.io_max_iops, UINT64_MAX);
	parse_ok("{\"BlkioWeightDevice\":[{\"Path\":\"/dev/sda\",\"Weight\":10}],"
	         "\"DeviceRequests\":[{\"Count\":-1,\"Capabilities\":[[\"gpu\"]],\"Options\":"
	         "{\"a\":\"b\",\"c\":null}}]}");
	cr_assert_eq(body.blkio_weight_device_len, 1);
}

Test(serve_update_body, go_json_strings)
{
	char out[128];
	cr_assert_eq(su_json_quote("a\"b\\c\n\t\x01</>&", out, sizeof(out)), 23);
	cr_assert_str_eq(out, "\"a\\\"b\\\\c\\n\\t\\u0001</>&\"");
	su_json_quote("\xff\xe2\x80\xa8\xc3\xa9", out, sizeof(out));
	cr_assert_str_eq(out, "\"\\ufffd\\u2028\xc3\xa9\"");
	/* bytes that start no UTF-8 sequence, overlong forms, surrogates: U+FFFD each */
	su_json_quote("\xff\xb5\xb5|\xc0\xaf|\xed\xa0\x80|\xf5\x80\x80\x80", out, sizeof(out));
	cr_assert_str_eq(out, "\"\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
	                      "\\ufffd\\ufffd\\ufffd\\ufffd\"");
	cr_assert_eq(su_json_quote("abc", out, 3), 5, "the length it needs");
	cr_assert_str_eq(out, "\"a");
}

/* ---- dockerd's checks ------------------------------------------------------------------ */

/* This host as dockerd 20.10 sees it: 2 CPUs, node 0, v1 with swap accounting, no
 * blkio.weight. */
static struct su_host host(void)
{
	struct su_host h = {.memory_limit = true,
	                    .swap_limit = true,
	                    .memory_reservation = true,
	                    .oom_kill_disable = true,
	                    .memory_swappiness = true,
	                    .kernel_memory = true,
	                    .cpu_shares = true,
	                    .cpu_cfs = true,
	                    .cpuset = true,
	                    .pids_limit = true,
	                    .blkio_weight_device = true,
	                    .blkio_read_bps = true,
	                    .blkio_write_bps = true,
	                    .blkio_read_iops = true,
	                    .blkio_write_iops = true,
	                    .kernel_4 = true,
	                    .ncpu = 2};
	strcpy(h.cpus, "0-1");
	strcpy(h.mems, "0");
	return h;
}

static struct su_warnings warnings;

static void verify_ok(const char *json, const struct su_host *h)
{
	parse_ok(json);
	cr_assert_eq(su_verify(&body, h, &warnings, &err), 0, "%s: %s", json, err.msg);
}

static void refused(const char *json, const char *want)
{
	struct su_host h = host();
	parse_ok(json);
	cr_assert_eq(su_verify(&body, &h, &warnings, &err), -1, "%s accepted", json);
	cr_assert_eq(err.status, 400, "%s: status %d", json, err.status);
	cr_assert_str_eq(err.msg, want, "%s", json);
}

TestSuite(serve_update_check);

Test(serve_update_check, every_refusal_of_verify)
{
	refused("{\"Memory\":1000}", "Minimum memory limit allowed is 6MB");
	refused("{\"Memory\":-5}", "Minimum memory limit allowed is 6MB");
	refused("{\"Memory\":6291455}", "Minimum memory limit allowed is 6MB");
	refused("{\"Memory\":314572800,\"MemorySwap\":104857600}",
	        "Minimum memoryswap limit should be larger than memory limit, see usage");
	refused("{\"MemorySwappiness\":200}",
	        "Invalid value: 200, valid memory swappiness range is 0-100");
	refused("{\"MemorySwappiness\":-2}",
	        "Invalid value: -2, valid memory swappiness range is 0-100");
	refused("{\"MemoryReservation\":1000}", "Minimum memory reservation allowed is 6MB");
	refused("{\"Memory\":314572800,\"MemoryReservation\":414572800,\"MemorySwap\":-1}",
	        "Minimum memory limit can not be less than memory reservation limit, see usage");
	refused("{\"KernelMemory\":1000}", "Minimum kernel memory limit allowed is 6MB");
	refused("{\"NanoCpus\":1000000000,\"CpuPeriod\":100000}",
	        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
	refused("{\"NanoCpus\":1500000000,\"CpuQuota\":50000}",
	        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	refused("{\"NanoCpus\":3000000000}",
	        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
	refused("{\"NanoCpus\":-1}",
	        "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available");
	refused("{\"CpuPeriod\":500}", "CPU cfs period can not be less than 1ms (i.e. 1000) or "
	                               "larger than 1s (i.e. 1000000)");
	refused("{\"CpuPeriod\":1000001}", "CPU cfs period can not be less than 1ms (i.e. 1000) or "
	                                   "larger than 1s (i.e. 1000000)");
	refused("{\"CpuQuota\":500}", "CPU cfs quota can not be less than 1ms (i.e. 1000)");
	refused("{\"CpusetCpus\":\"5\"}", "Requested CPUs are not available - requested 5, "
	                                  "available: 0-1");
	refused("{\"CpusetCpus\":\"0-a\"}",
	        "Invalid value 0-a for cpuset cpus: invalid format: 0-a");
	refused("{\"CpusetCpus\":\"9000\"}",
	        "Invalid value 9000 for cpuset cpus: value of out range, maximum is 8192");
	refused("{\"CpusetMems\":\"1\"}", "Requested memory nodes are not available - requested 1, "
	                                  "available: 0");
	refused("{\"CpusetMems\":\"x\"}", "Invalid value x for cpuset mems: invalid format: x");
	refused("{\"IOMaximumBandwidth\":5}",
	        "Invalid QoS settings: linux does not support Maximum "
	        "IO Bandwidth or Maximum IO IOps");
	refused("{\"IOMaximumIOps\":5}", "Invalid QoS settings: linux does not support Maximum IO "
	                                 "Bandwidth or Maximum IO IOps");
	refused("{\"RestartPolicy\":{\"Name\":\"bogus\"}}", "invalid restart policy 'bogus'");
	refused("{\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":2}}",
	        "maximum retry count cannot be used with restart policy 'always'");
	refused("{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":-1}}",
	        "maximum retry count cannot be negative");
	/* The restart policy is checked before the resources. */
	refused("{\"Memory\":5,\"RestartPolicy\":{\"Name\":\"x\"}}", "invalid restart policy 'x'");
}

Test(serve_update_check, what_verify_lets_through)
{
	struct su_host h = host();
	verify_ok("{\"Memory\":6291456}", &h);
	verify_ok("{\"NanoCpus\":2000000000}", &h);
	verify_ok("{\"NanoCpus\":1000000}", &h); /* the kernel refuses it, not dockerd */
	verify_ok("{\"CpuQuota\":-5}", &h);
	verify_ok("{\"MemorySwap\":-5}", &h);
	verify_ok("{\"MemoryReservation\":-5}", &h);
	verify_ok("{\"CpuShares\":1}", &h);
	verify_ok("{\"MemorySwappiness\":-1}", &h); /* fixMemorySwappiness: unset */
	cr_assert_not(body.has_swappiness);
	verify_ok("{\"CpusetCpus\":\"+1,0-0,1\"}", &h);
	verify_ok("{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3}}", &h);
	cr_assert_eq(warnings.n, 0);
}

Test(serve_update_check, warnings_and_what_they_discard)
{
	struct su_host h = host();
	verify_ok("{\"BlkioWeight\":5}", &h); /* no blkio.weight here: discarded unchecked */
	cr_assert_eq(warnings.n, 1);
	cr_assert_str_eq(warnings.w[0], "Your kernel does not support Block I/O weight or the "
	                                "cgroup is not mounted. Weight discarded.");
	cr_assert_eq(body.blkio_weight, 0);
	h.blkio_weight = true;
	parse_ok("{\"BlkioWeight\":5}");
	cr_assert_eq(su_verify(&body, &h, &warnings, &err), -1);
	cr_assert_str_eq(err.msg, "Range of blkio weight is from 10 to 1000");
	/* No swap accounting: the memory is limited without swap. */
	h = host();
	h.swap_limit = false;
	verify_ok("{\"Memory\":314572800,\"MemorySwap\":629145600}", &h);
	cr_assert_eq(body.memory_swap, -1);
	cr_assert_not(GIVEN(SU_F_MEMORY_SWAP) && body.memory_swap > 0);
	cr_assert_str_eq(warnings.w[0], "Your kernel does not support swap limit capabilities or "
	                                "the cgroup is not mounted. Memory limited without swap.");
	h = host();
	verify_ok("{\"KernelMemory\":7340032,\"CpuPercent\":5,\"OomKillDisable\":true}", &h);
	cr_assert_eq(warnings.n, 3);
	cr_assert_str_eq(warnings.w[0], "Specifying a kernel memory limit is deprecated and will "
	                                "be removed in a future release.");
	cr_assert_str_eq(warnings.w[1], "OOM killer is disabled for the container, but no memory "
	                                "limit is set, this can result in the system running out "
	                                "of resources.");
	cr_assert_str_eq(warnings.w[2], "linux does not support CPU percent. Percent discarded.");
	h.cpuset = h.pids_limit = h.cpu_shares = false;
	verify_ok("{\"CpusetCpus\":\"7\",\"PidsLimit\":5,\"CpuShares\":10}", &h);
	cr_assert_eq(warnings.n, 3);
	cr_assert_str_eq(body.cpuset_cpus, "");
	cr_assert_not(body.has_pids_limit);
	cr_assert_eq(body.cpu_shares, 0);
	cr_assert_eq(body.given, 0);
	h = host();
	h.cpu_cfs = false;
	parse_ok("{\"NanoCpus\":1}");
	cr_assert_eq(su_verify(&body, &h, &warnings, &err), -1);
	cr_assert_str_eq(err.msg,
	                 "NanoCPUs can not be set, as your kernel does not support CPU CFS "
	                 "scheduler or the cgroup is not mounted");
	verify_ok("{\"CpuQuota\":20000}", &h);
	cr_assert_eq(body.cpu_quota, 0);
	cr_assert_str_eq(warnings.w[0], "Your kernel does not support CPU CFS scheduler. CPU "
	                                "period/quota discarded.");
}

Test(serve_update_check, cpuset_lists_as_go_parses_them)
{
	char msg[256];
	cr_assert_eq(su_cpuset_available("", "0-1", msg, sizeof(msg)), 1);
	cr_assert_eq(su_cpuset_available("0,1,0-1", "0-1", msg, sizeof(msg)), 1);
	cr_assert_eq(su_cpuset_available("03", "0-3", msg, sizeof(msg)), 1);
	cr_assert_eq(su_cpuset_available("2", "0-1", msg, sizeof(msg)), 0);
	cr_assert_eq(su_cpuset_available("1-", "0-1", msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, "invalid format: 1-");
	cr_assert_eq(su_cpuset_available("2-1", "0-3", msg, sizeof(msg)), -1);
	cr_assert_eq(su_cpuset_available("0,,1", "0-3", msg, sizeof(msg)), -1);
	cr_assert_eq(su_cpuset_available("-1", "0-3", msg, sizeof(msg)), -1);
	cr_assert_eq(su_cpuset_available("1", "", msg, sizeof(msg)), 0);
	cr_assert_eq(su_cpuset_available("0-8193", "0-1", msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, "value of out range, maximum is 8192");
	cr_assert_eq(su_cpuset_available("9000", "0-9000", msg, sizeof(msg)), 1);
}

/* ---- the record ---------------------------------------------------------------------- */

TestSuite(serve_update_record);

static void conflict(const char *json, const struct su_record *r, const char *want)
{
	struct su_record rec = *r;
	parse_ok(json);
	cr_assert_eq(su_merge(&body, ID, &rec, &err), -1, "%s merged", json);
	cr_assert_eq(err.status, 409);
	char full[SU_MSG_MAX];
	snprintf(full, sizeof(full), "Cannot update container %s: %s", ID, want);
	cr_assert_str_eq(err.msg, full);
	cr_assert_eq(memcmp(&rec, r, sizeof(rec)), 0, "the record changed");
}

Test(serve_update_record, conflicts_with_the_record)
{
	struct su_record cpus = {.nano_cpus = 1500000000}, quota = {.cpu_quota = 50000},
	                 period = {.cpu_period = 50000}, unlimited = {0},
	                 mem = {.memory = 104857600, .memory_swap = 209715200},
	                 autoremove = {.auto_remove = true};
	/* docker run --cpus 1.5, then docker update --cpu-quota: */
	conflict("{\"CpuQuota\":50000}", &cpus,
	         "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been "
	         "set");
	conflict("{\"CpuPeriod\":50000}", &cpus,
	         "Conflicting options: CPU Period cannot be updated "
	         "as NanoCPUs has already been set");
	conflict("{\"NanoCpus\":1000000000}", &quota,
	         "Conflicting options: Nano CPUs cannot be "
	         "updated as CPU Quota has already been set");
	conflict("{\"NanoCpus\":1000000000}", &period,
	         "Conflicting options: Nano CPUs cannot be "
	         "updated as CPU Period has already been set");
	/* --memory alone above the memory+swap Docker holds (0 when never set). */
	conflict("{\"Memory\":314572800}", &unlimited,
	         "Memory limit should be smaller than already set memoryswap limit, update the "
	         "memoryswap at the same time");
	conflict("{\"Memory\":314572800}", &mem,
	         "Memory limit should be smaller than already set memoryswap limit, update the "
	         "memoryswap at the same time");
	conflict(
	        "{\"RestartPolicy\":{\"Name\":\"always\"}}", &autoremove,
	        "Restart policy cannot be updated because AutoRemove is enabled for the container");
}

Test(serve_update_record, merged_as_update_container_does)
{
	struct su_record rec = {
	        .nano_cpus = 1500000000, .memory = 104857600, .memory_swap = 209715200};
	parse_ok("{\"Memory\":157286400,\"CpuQuota\":-1,\"CpuShares\":512,\"PidsLimit\":0,"
	         "\"RestartPolicy\":{\"Name\":\"no\"}}");
	cr_assert_eq(su_merge(&body, ID, &rec, &err), 0, "%s", err.msg);
	cr_assert_eq(rec.memory, 157286400);
	cr_assert_eq(rec.memory_swap, 209715200);
	cr_assert_eq(rec.cpu_quota, -1, "a quota of -1 is not a conflict with NanoCpus");
	cr_assert_eq(rec.nano_cpus, 1500000000);
	cr_assert_eq(rec.cpu_shares, 512);
	cr_assert(rec.has_pids_limit);
	cr_assert_eq(rec.pids_limit, 0);
	cr_assert_str_eq(rec.restart_name, "no");
}

Test(serve_update_record, inspect)
{
	FILE *f = fopen(FIXTURES_DIR "/docker/inspect_running.json", "r");
	cr_assert_not_null(f);
	char *json = calloc(1, 1 << 16);
	cr_assert_gt(fread(json, 1, (1 << 16) - 1, f), 0);
	fclose(f);
	struct su_container_info info;
	struct cg_err cerr;
	cr_assert_eq(su_parse_inspect(json, &info, &cerr), 0, "%s", cerr.msg);
	cr_assert_str_eq(info.id,
	                 "5946c36d473681a53413de9abefaf0242aeb14e34f51edf2fc5a1d56908f11a8");
	cr_assert(info.running);
	cr_assert_eq(info.pid, 5365);
	cr_assert_eq(su_parse_inspect("[]", &info, &cerr), -1);
	cr_assert_eq(su_parse_inspect("{\"Id\":\"x\"}", &info, &cerr), -1);
	free(json);
}

/* ---- what runc writes ------------------------------------------------------------------ */

TestSuite(serve_update_runc);

static struct cglat_limits limits;

static struct su_cgroups cgroups(int v)
{
	return (struct su_cgroups){.v_memory = v, .v_cpu = v, .memory_now = -1, .memsw_now = -1};
}

static void runc_ok(const char *json, const struct su_record *before, int v)
{
	struct su_host h = host();
	struct su_cgroups cg = cgroups(v);
	verify_ok(json, &h);
	cr_assert_eq(su_runc_limits(&body, before, &cg, &limits, &err), 0, "%s: %s", json, err.msg);
	cr_assert(limits.force, "runc never checks the usage");
}

static void runc_refused(const char *json, const struct su_cgroups *cg, const char *want)
{
	struct su_host h = host();
	struct su_record none = {0};
	verify_ok(json, &h);
	cr_assert_eq(su_runc_limits(&body, &none, cg, &limits, &err), -1, "%s accepted", json);
	cr_assert_eq(err.status, 500);
	cr_assert_str_eq(err.msg, want, "%s", json);
}

Test(serve_update_runc, nano_cpus_is_a_quota_of_100ms)
{
	struct su_record none = {0};
	runc_ok("{\"NanoCpus\":1500000000}", &none, 1);
	cr_assert_eq(limits.set, CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD);
	cr_assert_eq(limits.cpu_quota, 150000);
	cr_assert_eq(limits.cpu_period, 100000);
	runc_ok("{\"NanoCpus\":333333333}", &none, 2);
	cr_assert_eq(limits.cpu_quota, 33333, "truncated as Go's integer division");
	cr_assert_eq(limits.cpu_period, 100000);
	/* A quota of -1 alongside NanoCpus: toContainerdResources keeps NanoCpus' quota. */
	struct su_record cpus = {.nano_cpus = 1500000000};
	runc_ok("{\"NanoCpus\":1000000000,\"CpuQuota\":-1}", &cpus, 1);
	cr_assert_eq(limits.cpu_quota, 100000);
}

Test(serve_update_runc, quota_and_period)
{
	struct su_record none = {0}, set = {.cpu_quota = 20000, .cpu_period = 50000};
	struct su_cgroups v1 = cgroups(1), v2 = cgroups(2);
	runc_refused("{\"NanoCpus\":1000000}", &v1,
	             "failed to write \"100\": write cpu.cfs_quota_us: invalid argument");
	runc_refused("{\"NanoCpus\":1000000}", &v2,
	             "failed to write \"100 100000\": write cpu.max: invalid argument");
	runc_ok("{\"CpuQuota\":-5}", &none, 1); /* negative: no limit */
	cr_assert_eq(limits.set, CGLAT_SET_CPU_QUOTA);
	cr_assert_eq(limits.cpu_quota, CGLAT_UNLIMITED);
	runc_ok("{\"CpuPeriod\":50000}", &none, 1); /* v1: the period alone */
	cr_assert_eq(limits.set, CGLAT_SET_CPU_PERIOD);
	/* v2: cpu.max holds both; the one not given comes from the record (runc's config),
	 * a period never set being the kernel's default. */
	runc_ok("{\"CpuQuota\":30000}", &set, 2);
	cr_assert_eq(limits.set, CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD);
	cr_assert_eq(limits.cpu_quota, 30000);
	cr_assert_eq(limits.cpu_period, 50000);
	runc_ok("{\"CpuQuota\":30000}", &none, 2);
	cr_assert_eq(limits.cpu_period, 100000);
	runc_ok("{\"CpuPeriod\":200000}", &set, 2);
	cr_assert_eq(limits.cpu_quota, 20000);
	runc_ok("{\"CpuPeriod\":200000}", &none, 2);
	cr_assert_eq(limits.cpu_quota, CGLAT_UNLIMITED);
}

Test(serve_update_runc, shares_and_weight)
{
	struct su_record none = {0};
	runc_ok("{\"CpuShares\":512}", &none, 1);
	cr_assert_eq(limits.set, CGLAT_SET_CPU_SHARES);
	cr_assert_eq(limits.cpu_shares, 512);
	runc_ok("{\"CpuShares\":512}", &none, 2);
	cr_assert_eq(limits.set, CGLAT_SET_CPU_WEIGHT);
	cr_assert_eq(limits.cpu_weight, 20, "1 + (512 - 2) * 9999 / 262142");
	runc_ok("{\"CpuShares\":262144}", &none, 2);
	cr_assert_eq(limits.cpu_weight, 10000);
	struct su_cgroups v1 = cgroups(1), v2 = cgroups(2);
	runc_refused("{\"CpuShares\":1}", &v1, "the minimum allowed cpu-shares is 2");
	runc_refused("{\"CpuShares\":300000}", &v1, "the maximum allowed cpu-shares is 262144");
	runc_refused("{\"CpuShares\":-5}", &v1, "the maximum allowed cpu-shares is 262144");
	runc_refused("{\"CpuShares\":300000}", &v2,
	             "failed to write \"11443\": write cpu.weight: numerical result out of range");
}

Test(serve_update_runc, memory_swap_and_reservation)
{
	struct su_record none = {0};
	runc_ok("{\"Memory\":314572800,\"MemorySwap\":629145600}", &none, 1);
	cr_assert_eq(limits.set, CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP);
	cr_assert_eq(limits.memory, 314572800);
	cr_assert_eq(limits.memory_swap, 629145600);
	/* MemorySwap -1 is not passed to runc (toContainerdResources: only > 0). */
	runc_ok("{\"Memory\":314572800,\"MemorySwap\":-1}", &none, 1);
	cr_assert_eq(limits.set, CGLAT_SET_MEMORY);
	runc_ok("{\"MemorySwap\":-5}", &none, 1);
	cr_assert_eq(limits.set, 0, "nothing to write");
	runc_ok("{\"MemoryReservation\":104857600}", &none, 2);
	cr_assert_eq(limits.set, CGLAT_SET_MEMORY_RESERVATION);
	cr_assert_eq(limits.memory_reservation, 104857600);
	runc_ok("{\"MemoryReservation\":-1}", &none, 1);
	cr_assert_eq(limits.memory_reservation, CGLAT_UNLIMITED);
	struct su_cgroups v1 = cgroups(1), v2 = cgroups(2);
	runc_refused("{\"MemoryReservation\":-5}", &v1,
	             "failed to write \"-5\": write memory.soft_limit_in_bytes: invalid argument");
	runc_refused("{\"MemoryReservation\":-5}", &v2,
	             "failed to write \"-5\": write memory.low: invalid argument");
	/* v2: memory.swap.max is memory+swap minus memory: runc needs the memory too. */
	runc_refused("{\"MemorySwap\":629145600}", &v2,
	             "unable to set swap limit without memory limit");
	runc_ok("{\"Memory\":314572800,\"MemorySwap\":314572800}", &none, 2);
	cr_assert_eq(limits.set, CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP);
	/* v1: the kernel keeps memory <= memory+swap at every write. */
	v1.memory_now = 104857600;
	v1.memsw_now = 209715200;
	runc_refused(
	        "{\"Memory\":314572800,\"MemorySwap\":-1}", &v1,
	        "failed to write \"314572800\": write memory.limit_in_bytes: invalid argument");
	runc_refused("{\"MemorySwap\":52428800}", &v1,
	             "failed to write \"52428800\": write memory.memsw.limit_in_bytes: invalid "
	             "argument");
}

Test(serve_update_runc, cpusets_and_pids)
{
	struct su_record none = {0};
	runc_ok("{\"CpusetCpus\":\"0-1\",\"CpusetMems\":\"0\",\"PidsLimit\":0}", &none, 1);
	cr_assert_eq(limits.set,
	             CGLAT_SET_CPUSET_CPUS | CGLAT_SET_CPUSET_MEMS | CGLAT_SET_PIDS_MAX);
	cr_assert_str_eq(limits.cpuset_cpus, "0-1");
	cr_assert_str_eq(limits.cpuset_mems, "0");
	cr_assert_eq(limits.pids_max, CGLAT_UNLIMITED);
	runc_ok("{\"PidsLimit\":100}", &none, 2);
	cr_assert_eq(limits.pids_max, 100);
	runc_ok("{\"BlkioWeight\":500,\"CpuRealtimeRuntime\":5}", &none, 1);
	cr_assert_eq(limits.set, 0, "left to dockerd");
}

Test(serve_update_runc, write_errors_as_runc_words_them)
{
	struct cglat_plan p = {.count = 2};
	p.w[0].knob = CG_KNOB_CPU_PERIOD;
	strcpy(p.w[0].path, "/sys/fs/cgroup/cpu/docker/x/cpu.cfs_period_us");
	strcpy(p.w[0].new_text, "100000");
	p.w[1].knob = CG_KNOB_CPU_QUOTA;
	strcpy(p.w[1].path, "/sys/fs/cgroup/cpu/docker/x/cpu.cfs_quota_us");
	strcpy(p.w[1].new_text, "100");
	struct cglat_apply_result r = {.rolled_back = 1};
	char out[512];
	su_runc_write_error(
	        &p, &r,
	        "writing \"100\" to cpu.cfs_quota_us failed: Invalid argument; put back "
	        "the 1 file already written (cpu.cfs_period_us)",
	        out, sizeof(out));
	cr_assert_str_eq(out, "failed to write \"100\": write "
	                      "/sys/fs/cgroup/cpu/docker/x/cpu.cfs_quota_us: invalid argument");
	su_runc_write_error(&p, &r,
	                    "cannot open /sys/fs/cgroup/x/cpu.max for writing: No such file or "
	                    "directory; nothing was written",
	                    out, sizeof(out));
	cr_assert_str_eq(out, "openat2 /sys/fs/cgroup/x/cpu.max: no such file or directory");
}

/* ---- kernel values across background records --------------------------------------------- */

TestSuite(serve_update_order);

static void plan_of(struct cglat_plan *p, enum cg_knob knob, const char *old, const char *new)
{
	memset(p, 0, sizeof(*p));
	p->count = 1;
	p->w[0].knob = knob;
	strcpy(p->w[0].old_text, old);
	strcpy(p->w[0].restore_text, old);
	strcpy(p->w[0].new_text, new);
}

Test(serve_update_order, a_record_of_an_older_update_is_followed_by_the_newest_values)
{
	static struct su_knobs ks;
	memset(&ks, 0, sizeof(ks));
	struct cglat_plan p;
	struct su_written w1, w2;
	enum cg_knob fix[CG_KNOB_COUNT];
	/* Two updates back to back, both enforced before the first record ends. */
	plan_of(&p, CG_KNOB_MEMORY_MAX, "104857600", "209715200");
	su_knobs_enforced(&ks, &p, 1, &w1);
	plan_of(&p, CG_KNOB_MEMORY_MAX, "209715200", "314572800");
	su_knobs_enforced(&ks, &p, 2, &w2);
	/* runc's record of #1 wrote 200 MiB: the newest, 300 MiB, goes back. */
	cr_assert_eq(su_knobs_recorded(&ks, &w1, 1, true, fix), 1);
	cr_assert_eq(fix[0], CG_KNOB_MEMORY_MAX);
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].enforced, "314572800");
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].recorded, "209715200");
	/* The record of #2 is the newest: nothing to rewrite. */
	cr_assert_eq(su_knobs_recorded(&ks, &w2, 2, true, fix), 0);
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].recorded, "314572800");
}

Test(serve_update_order, a_refused_record_puts_back_what_docker_holds)
{
	static struct su_knobs ks;
	memset(&ks, 0, sizeof(ks));
	struct cglat_plan p;
	struct su_written w1, w2, w3;
	enum cg_knob fix[CG_KNOB_COUNT];
	plan_of(&p, CG_KNOB_MEMORY_MAX, "104857600", "209715200");
	su_knobs_enforced(&ks, &p, 1, &w1);
	plan_of(&p, CG_KNOB_CPU_QUOTA, "-1", "50000");
	su_knobs_enforced(&ks, &p, 2, &w2);
	plan_of(&p, CG_KNOB_MEMORY_MAX, "209715200", "314572800");
	su_knobs_enforced(&ks, &p, 3, &w3);
	/* #1 refused: memory was written again by #3, which stays (and is rewritten in case
	 * runc wrote something); the quota of #2 too. */
	size_t n = su_knobs_recorded(&ks, &w1, 1, false, fix);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].enforced, "314572800");
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].recorded, "104857600");
	/* #2 refused: the quota goes back to what Docker holds. */
	n = su_knobs_recorded(&ks, &w2, 2, false, fix);
	cr_assert_eq(n, 2);
	cr_assert_eq(fix[0], CG_KNOB_CPU_QUOTA);
	cr_assert_str_eq(ks.k[CG_KNOB_CPU_QUOTA].enforced, "-1");
	/* #3 refused too: memory back to the value before #1. */
	n = su_knobs_recorded(&ks, &w3, 3, false, fix);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(ks.k[CG_KNOB_MEMORY_MAX].enforced, "104857600");
}

/* ---- answers ------------------------------------------------------------------------ */

TestSuite(serve_update_answer);

Test(serve_update_answer, dockerds_success_and_error_bodies)
{
	char *b = su_warnings_body(NULL);
	cr_assert_str_eq(b, "{\"Warnings\":null}\n");
	free(b);
	struct su_warnings w = {.n = 2, .w = {"a \"b\"", "c"}};
	b = su_warnings_body(&w);
	cr_assert_str_eq(b, "{\"Warnings\":[\"a \\\"b\\\"\",\"c\"]}\n");
	free(b);
	b = su_error_body("Cannot update container x: runc did not terminate successfully: exit "
	                  "status 1: failed to write \"100\": x\n: unknown");
	cr_assert_str_eq(b, "{\"message\":\"Cannot update container x: runc did not terminate "
	                    "successfully: exit status 1: failed to write \\\"100\\\": x\\n: "
	                    "unknown\"}\n");
	free(b);
}

Test(serve_update_answer, headers_as_dockerd_writes_them)
{
	/* dockerd 20.10.24's answer to an update, as it came off its socket. */
	static const char dockerd[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: "
	                              "application/json\r\nDocker-Experimental: false\r\nOstype: "
	                              "linux\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\nDate: "
	                              "Tue, 01 Dec 2026 20:59:10 GMT\r\nContent-Length: "
	                              "18\r\n\r\n{\"Warnings\":null}\n";
	struct su_server s;
	su_server_defaults(&s);
	cr_assert(su_server_learn(&s, dockerd, sizeof(dockerd) - 1));
	cr_assert_str_eq(s.server, "Docker/20.10.24+dfsg1 (linux)");
	size_t len;
	char *r = su_http_response(&s, 200, "{\"Warnings\":null}\n", false, false, &len);
	cr_assert_eq(len, sizeof(dockerd) - 1);
	/* the same bytes but for the date */
	size_t d = (size_t)(strstr(dockerd, "Date: ") - dockerd) + 6;
	cr_assert_eq(memcmp(r, dockerd, d), 0, "%s", r);
	cr_assert_str_eq(r + d + 29, dockerd + d + 29);
	free(r);
	r = su_http_response(&s, 409, "{}\n", true, false, &len);
	cr_assert(strstr(r, "HTTP/1.1 409 Conflict\r\n") == r);
	cr_assert(strstr(r, "Content-Length: 3\r\nConnection: close\r\n\r\n{}\n"), "%s", r);
	free(r);
	r = su_http_response(&s, 400, "{}\n", true, true, &len);
	cr_assert(strstr(r, "HTTP/1.0 400 Bad Request\r\n") == r);
	cr_assert_null(strstr(r, "Connection"));
	free(r);
}

/* The head as the relay's reader (serve_rr) takes it: what the update half is handed. */
static void read_head(struct serve_rr *r, const char *head)
{
	cr_assert_eq(serve_rr_init(r), 0);
	size_t fwd;
	serve_rr_feed(r, head, strlen(head), &fwd);
}

/* What dockerd gets, built from that head. */
static char *forward(const char *head, size_t body_len)
{
	char *out = malloc(SU_FORWARD_HEAD_CAP(strlen(head)));
	cr_assert_not_null(out);
	size_t len = su_head_forward(head, strlen(head), body_len, out);
	cr_assert_eq(len, strlen(out));
	return out;
}

Test(serve_update_answer, the_head_dockerd_gets)
{
	static const char head[] = "POST /v1.41/containers/web/update HTTP/1.1\r\nHost: "
	                           "api.moby.localhost\r\nUser-Agent: Docker-Client/20.10.24 "
	                           "(linux)\r\nContent-Length: 17\r\nContent-Type: "
	                           "application/json\r\nExpect: 100-continue\r\nX-Long: a\r\n "
	                           "b\r\n\r\n";
	struct serve_rr r;
	read_head(&r, head);
	cr_assert(r.head_ready);
	char *out = forward(head, 9);
	cr_assert_str_eq(out, "POST /v1.41/containers/web/update HTTP/1.1\r\nHost: "
	                      "api.moby.localhost\r\nUser-Agent: Docker-Client/20.10.24 "
	                      "(linux)\r\nContent-Type: application/json\r\nX-Long: a\r\n "
	                      "b\r\nContent-Length: 9\r\n\r\n");
	cr_assert(r.keep_alive); /* not close */
	cr_assert_eq(r.method, HTTP_POST);
	cr_assert_not(r.http10);
	cr_assert(r.has_ctype);
	cr_assert_str_eq(r.ctype, "application/json");
	free(out);
	serve_rr_free(&r);
	static const char chunked[] = "POST /containers/web/update HTTP/1.1\r\nTransfer-Encoding: "
	                              "chunked\r\nConnection: close\r\n\r\n";
	read_head(&r, chunked);
	out = forward(chunked, 0);
	cr_assert_str_eq(out, "POST /containers/web/update HTTP/1.1\r\nConnection: "
	                      "close\r\nContent-Length: 0\r\n\r\n");
	cr_assert_not(r.keep_alive); /* close */
	cr_assert(r.chunked);
	free(out);
	serve_rr_free(&r);
	static const char get[] = "GET /containers/web/update HTTP/1.0\r\n\r\n";
	read_head(&r, get);
	cr_assert(r.head_ready);
	cr_assert_neq(r.method, HTTP_POST);
	cr_assert(r.http10 && !r.keep_alive);
	cr_assert_not(r.has_ctype);
	serve_rr_free(&r);
	read_head(&r, "garbage\r\n\r\n");
	cr_assert_eq(r.state, SERVE_RR_ERROR);
	serve_rr_free(&r);
	int a, b;
	cr_assert(su_path_version("/v1.39/containers/x/update", &a, &b));
	cr_assert_eq(a, 1);
	cr_assert_eq(b, 39);
	cr_assert_not(su_path_version("/containers/x/update", &a, &b));
	cr_assert_not(su_path_version("/v1/containers/x/update", &a, &b));
}

/* ---- libcglat's knobs: memory reservation and cpuset.mems ----------------------------- */

static char root[256];
static char mountinfo[300];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fprintf(f, "%s\n", text);
	fclose(f);
}

static char *get(const char *rel)
{
	static char text[256];
	char path[512];
	struct cg_err cerr;
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(cgroup_read_file(path, text, sizeof(text), &cerr), 0, "%s", cerr.msg);
	return text;
}

static void mkdir_rel(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0755), 0, "mkdir %s: %s", path, strerror(errno));
}

static void add_mount(FILE *f, int id, const char *name, const char *fs, const char *opts)
{
	fprintf(f, "%d 31 0:%d / %s/%s rw,relatime - %s %s %s\n", id, id, root, name, fs, fs, opts);
	char rel[64];
	mkdir_rel(name);
	snprintf(rel, sizeof(rel), "%s/grp", name);
	mkdir_rel(rel);
}

/* A v1 or v2 tree with the group "grp", as tests/unit/test_control.c lays them out. */
static void make_tree(bool v2)
{
	snprintf(root, sizeof(root), "/tmp/cglat-su-test-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	snprintf(mountinfo, sizeof(mountinfo), "%s/mountinfo", root);
	FILE *f = fopen(mountinfo, "w");
	cr_assert_not_null(f);
	if (!v2) {
		add_mount(f, 32, "cpu", "cgroup", "rw,cpu");
		add_mount(f, 34, "cpuset", "cgroup", "rw,cpuset");
		add_mount(f, 35, "memory", "cgroup", "rw,memory");
		add_mount(f, 36, "blkio", "cgroup", "rw,blkio");
		add_mount(f, 39, "pids", "cgroup", "rw,pids");
		put("memory/grp/memory.limit_in_bytes", "134217728");
		put("memory/grp/memory.memsw.limit_in_bytes", "268435456");
		put("memory/grp/memory.soft_limit_in_bytes", "9223372036854771712");
		put("memory/grp/memory.usage_in_bytes", "1048576");
		put("memory/memory.memsw.limit_in_bytes", "9223372036854771712");
		put("memory/memory.soft_limit_in_bytes", "9223372036854771712");
		put("memory/memory.oom_control", "oom_kill_disable 0");
		put("cpu/cpu.shares", "1024");
		put("cpu/cpu.cfs_quota_us", "-1");
		put("cpuset/cpuset.cpus", "0-3");
		put("cpuset/cpuset.mems", "0-1");
		put("cpuset/grp/cpuset.cpus", "0-1");
		put("cpuset/grp/cpuset.mems", "0");
		put("blkio/blkio.throttle.read_bps_device", "");
	} else {
		add_mount(f, 41, "unified", "cgroup2", "rw");
		put("unified/cgroup.controllers", "cpuset cpu io memory pids");
		put("unified/cpuset.cpus.effective", "0-7");
		put("unified/cpuset.mems.effective", "0");
		put("unified/grp/memory.max", "max");
		put("unified/grp/memory.low", "0");
		put("unified/grp/memory.current", "1048576");
		put("unified/grp/cpuset.cpus", "");
		put("unified/grp/cpuset.mems", "");
	}
	fclose(f);
}

static void remove_tree(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

static struct cglat_target *open_grp(void)
{
	struct cglat_target_spec spec = {
	        .kind = CGLAT_TARGET_CGROUP, .ref = "grp", .mountinfo = mountinfo};
	struct cglat_target *t = NULL;
	struct cg_err cerr;
	cr_assert_eq(cglat_target_open(&spec, &t, &cerr), 0, "%s", cerr.msg);
	return t;
}

TestSuite(serve_update_knob, .fini = remove_tree);

Test(serve_update_knob, memory_reservation_and_cpuset_mems_on_v1)
{
	make_tree(false);
	struct cglat_target *t = open_grp();
	struct cglat_limits l = {0};
	struct cg_err cerr;
	cr_assert_eq(cglat_limits_parse(&l, "memory-reservation", "64m", &cerr), 0, "%s", cerr.msg);
	cr_assert_eq(cglat_limits_parse(&l, "cpuset-mems", "0", &cerr), 0, "%s", cerr.msg);
	cr_assert_eq(cglat_limits_parse(&l, "memory", "256m", &cerr), 0);
	static struct cglat_plan p;
	cr_assert_eq(cglat_limits_plan(t, &l, &p, &cerr), 0, "%s", cerr.msg);
	cr_assert_eq(p.count, 3);
	cr_assert_str_eq(p.w[0].file, "memory.limit_in_bytes");
	cr_assert_str_eq(p.w[1].file, "memory.soft_limit_in_bytes", "after the limits, as runc");
	cr_assert_str_eq(p.w[1].new_text, "67108864");
	cr_assert_str_eq(p.w[1].restore_text, "-1", "v1's unlimited is put back as -1");
	cr_assert_str_eq(p.w[2].file, "cpuset.mems");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&p, CGLAT_APPLY_VERIFY, &r, &cerr), 0, "%s", cerr.msg);
	cr_assert_str_eq(get("memory/grp/memory.soft_limit_in_bytes"), "67108864");
	cr_assert_str_eq(get("cpuset/grp/cpuset.mems"), "0");
	/* unlimited, and the kernel's way of printing it matches */
	struct cglat_write w = {.knob = CG_KNOB_MEMORY_RESERVATION, .version = 1};
	strcpy(w.new_text, "-1");
	cr_assert(cglat_value_matches(&w, "9223372036854771712\n"));
	w.knob = CG_KNOB_CPUSET_MEMS;
	strcpy(w.new_text, "0,1");
	cr_assert(cglat_value_matches(&w, "0-1\n"));
	l = (struct cglat_limits){0};
	cr_assert_eq(cglat_limits_parse(&l, "memory-reservation", "-1", &cerr), 0);
	cr_assert_eq(l.memory_reservation, CGLAT_UNLIMITED);
	cr_assert_eq(cglat_limits_parse(&l, "cpuset-mems", "", &cerr), -1);
	cr_assert(strstr(cerr.msg, "--cpuset-mems: empty memory node list"), "%s", cerr.msg);
	cr_assert_eq(cglat_limits_parse(&l, "cpuset-mems", "0-x", &cerr), -1);
	cr_assert_eq(cglat_limits_parse(&l, "memory-reservation", "lots", &cerr), -1);
	cglat_target_close(t);
}

Test(serve_update_knob, memory_low_on_v2)
{
	make_tree(true);
	struct cglat_target *t = open_grp();
	struct cglat_limits l = {.set = CGLAT_SET_MEMORY_RESERVATION,
	                         .memory_reservation = CGLAT_UNLIMITED};
	static struct cglat_plan p;
	struct cg_err cerr;
	cr_assert_eq(cglat_limits_plan(t, &l, &p, &cerr), 0, "%s", cerr.msg);
	cr_assert_eq(p.count, 1);
	cr_assert_str_eq(p.w[0].file, "memory.low");
	cr_assert_str_eq(p.w[0].new_text, "max");
	cr_assert_str_eq(p.w[0].old_text, "0");
	struct cglat_apply_result r;
	cr_assert_eq(cglat_limits_apply(&p, CGLAT_APPLY_VERIFY, &r, &cerr), 0, "%s", cerr.msg);
	cr_assert_str_eq(get("unified/grp/memory.low"), "max");
	cglat_target_close(t);
}

Test(serve_update_knob, the_host_as_sysinfo_sees_it)
{
	make_tree(false);
	struct su_host h;
	struct cg_err cerr;
	cr_assert_eq(su_host_probe(mountinfo, 0, &h, &cerr), 0, "%s", cerr.msg);
	cr_assert(h.memory_limit && h.swap_limit && h.memory_reservation && h.oom_kill_disable);
	cr_assert_not(h.memory_swappiness || h.kernel_memory);
	cr_assert(h.cpu_shares && h.cpu_cfs && h.cpuset && h.pids_limit);
	cr_assert_not(h.blkio_weight);
	cr_assert(h.blkio_read_bps);
	cr_assert_str_eq(h.cpus, "0-3");
	cr_assert_str_eq(h.mems, "0-1");
	cr_assert_gt(h.ncpu, 0);
	remove_tree();
	make_tree(true);
	cr_assert_eq(su_host_probe(mountinfo, 0, &h, &cerr), 0, "%s", cerr.msg);
	cr_assert(h.memory_limit && h.memory_reservation && h.cpu_shares && h.cpu_cfs);
	cr_assert(h.blkio_weight && h.cpuset && h.pids_limit);
	cr_assert_not(h.oom_kill_disable || h.memory_swappiness || h.kernel_memory);
	cr_assert_str_eq(h.cpus, "0-7");
}

/* The plan serve makes from the values it knows is the library's, write for write. */
static void same_plan(struct cglat_target *t, const struct cglat_limits *l)
{
	static struct cglat_plan want, got;
	static struct su_kcache c;
	struct cg_err cerr;
	su_kcache_fill(&c, t);
	cr_assert_eq(cglat_limits_plan(t, l, &want, &cerr), 0, "%s", cerr.msg);
	cr_assert(su_fast_plan(t, &c, l, &got), "no fast plan for set %#x", l->set);
	cr_assert_eq(got.count, want.count, "set %#x", l->set);
	for (size_t i = 0; i < want.count; i++) {
		cr_assert_eq(got.w[i].knob, want.w[i].knob, "set %#x write %zu", l->set, i);
		cr_assert_str_eq(got.w[i].path, want.w[i].path);
		cr_assert_str_eq(got.w[i].file, want.w[i].file);
		cr_assert_eq(got.w[i].beneath, want.w[i].beneath);
		cr_assert_eq(got.w[i].version, want.w[i].version);
		cr_assert_str_eq(got.w[i].old_text, want.w[i].old_text);
		cr_assert_str_eq(got.w[i].new_text, want.w[i].new_text);
		cr_assert_str_eq(got.w[i].restore_text, want.w[i].restore_text);
	}
}

static void fast_cases(void)
{
	struct cglat_target *t = open_grp();
	const struct cglat_limits cases[] = {
	        {.set = CGLAT_SET_MEMORY, .memory = 157286400},
	        {.set = CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP,
	         .memory = 314572800,
	         .memory_swap = 629145600},
	        {.set = CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP,
	         .memory = 67108864,
	         .memory_swap = 134217728},
	        {.set = CGLAT_SET_MEMORY_SWAP | CGLAT_SET_MEMORY,
	         .memory = 67108864,
	         .memory_swap = CGLAT_UNLIMITED},
	        {.set = CGLAT_SET_MEMORY_RESERVATION, .memory_reservation = 52428800},
	        {.set = CGLAT_SET_CPU_QUOTA, .cpu_quota = 50000},
	        {.set = CGLAT_SET_CPU_QUOTA, .cpu_quota = CGLAT_UNLIMITED},
	        {.set = CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD,
	         .cpu_quota = 150000,
	         .cpu_period = 100000},
	        {.set = CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD,
	         .cpu_quota = 5000,
	         .cpu_period = 50000},
	        {.set = CGLAT_SET_CPU_PERIOD, .cpu_period = 200000},
	        {.set = CGLAT_SET_CPU_SHARES, .cpu_shares = 512},
	        {.set = CGLAT_SET_CPU_WEIGHT, .cpu_weight = 20},
	        {.set = CGLAT_SET_CPUSET_CPUS | CGLAT_SET_CPUSET_MEMS | CGLAT_SET_PIDS_MAX,
	         .cpuset_cpus = "0",
	         .cpuset_mems = "0",
	         .pids_max = 64},
	        {.set = CGLAT_SET_PIDS_MAX, .pids_max = CGLAT_UNLIMITED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cglat_limits l = cases[i];
		l.force = true;
		same_plan(t, &l);
	}
	/* What it cannot know, or what the library refuses, goes to the library. */
	static struct su_kcache c;
	static struct cglat_plan p;
	memset(&c, 0, sizeof(c));
	struct cglat_limits l = {.set = CGLAT_SET_MEMORY, .memory = 157286400, .force = true};
	cr_assert_not(su_fast_plan(t, &c, &l, &p));
	su_kcache_fill(&c, t);
	l.force = false;
	cr_assert_not(su_fast_plan(t, &c, &l, &p), "usage is the library's to check");
	l = (struct cglat_limits){.set = CGLAT_SET_CPU_QUOTA, .cpu_quota = 10, .force = true};
	cr_assert_not(su_fast_plan(t, &c, &l, &p));
	cglat_target_close(t);
}

Test(serve_update_knob, fast_plans_are_the_librarys_on_v1)
{
	make_tree(false);
	put("cpu/grp/cpu.cfs_quota_us", "-1");
	put("cpu/grp/cpu.cfs_period_us", "100000");
	put("cpu/grp/cpu.shares", "1024");
	put("pids/grp/pids.max", "max");
	fast_cases();
}

Test(serve_update_knob, fast_plans_are_the_librarys_on_v2)
{
	make_tree(true);
	put("unified/grp/memory.swap.max", "max");
	put("unified/grp/cpu.max", "max 100000");
	put("unified/grp/cpu.weight", "100");
	put("unified/grp/pids.max", "max");
	fast_cases();
}

Test(serve_update_order, a_record_left_out_when_the_next_says_it_all)
{
	static struct su_body older, newer;
	struct su_host h = host();
	const char *a = "{\"Memory\":136314880,\"CpuQuota\":30000}";
	const char *b = "{\"Memory\":146800640,\"CpuQuota\":40000,\"CpuShares\":256}";
	const char *c = "{\"Memory\":146800640}";
	cr_assert_eq(su_parse_body(a, strlen(a), true, &older, &err), 0);
	cr_assert_eq(su_verify(&older, &h, &warnings, &err), 0);
	cr_assert_eq(su_parse_body(b, strlen(b), true, &newer, &err), 0);
	cr_assert_eq(su_verify(&newer, &h, &warnings, &err), 0);
	cr_assert(su_supersedes(&newer, &older));
	cr_assert_not(su_supersedes(&older, &newer), "CpuShares would be lost");
	cr_assert_eq(su_parse_body(c, strlen(c), true, &newer, &err), 0);
	cr_assert_not(su_supersedes(&newer, &older), "CpuQuota would be lost");
	/* A zero is no field (UpdateContainer skips it); a restart policy needs its name. */
	const char *d = "{\"Memory\":146800640,\"CpuQuota\":0,\"RestartPolicy\":{\"Name\":\"\","
	                "\"MaximumRetryCount\":3}}";
	const char *e = "{\"RestartPolicy\":{\"Name\":\"always\"}}";
	cr_assert_eq(su_parse_body(d, strlen(d), true, &newer, &err), 0);
	cr_assert_eq(su_parse_body(e, strlen(e), true, &older, &err), 0);
	cr_assert_not(su_supersedes(&newer, &older));
	cr_assert(su_supersedes(&older, &older));
}
