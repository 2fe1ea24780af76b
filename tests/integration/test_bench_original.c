/* `cglat bench --original-method` end to end (root, live dockerd, BPF): the original
 * tool's three lines computed its way beside the exact ones, or the reason it could
 * not have measured this host, in text and JSON. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helpers.h"

TestSuite(bench_original, .timeout = 120);

static void run_ok(const char *const args[], char **out, char **err)
{
	int status = 0;
	pid_t pid;
	int rc = it_cglat(args, out, err, &status, &pid);
	cr_assert_eq(rc, 0, "cglat did not finish in time; stderr:\n%s", *err);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "cglat exited with status 0x%x; stderr:\n%s", status, *err);
}

Test(bench_original, text_prints_the_originals_lines_or_why_it_could_not_measure)
{
	const char *args[] = {"-n", "3", "--original-method", NULL};
	char *out = NULL, *err = NULL;
	run_ok(args, &out, &err);
	const char *heads[] = {"the original tool's method (--original-method)",
	                       "Avg memory.max latency (dockerd recvmsg → cgroup write): ",
	                       "Avg cpu.max latency (dockerd recvmsg → cgroup write):    ",
	                       "Avg raw memory.max write latency: ",
	                       "published form, original method: ",
	                       "published form, exact method:    "};
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		cr_expect(strstr(out, heads[i]), "no \"%s\" in:\n%s", heads[i], out);
	if (!it_cgroup_v2()) {
		/* Docker on cgroup v1: no memory.max or cpu.max is ever written. */
		cr_expect(strstr(out, "Avg memory.max latency (dockerd recvmsg → cgroup write): "
		                      "no figure"),
		          "%s", out);
		cr_expect(strstr(out, "Avg raw memory.max write latency: no figure"), "%s", out);
		cr_expect(strstr(out, "the original tool could not have measured this host: "),
		          "%s", out);
		cr_expect(strstr(out,
		                 "its end mark never occurred (no file named memory.max or "
		                 "cpu.max was written during the run; Docker's cgroups are v1"),
		          "%s", out);
		/* Its start mark did occur: dockerd's socket receives, the update requests'
		 * read(2)s among them, counted. */
		const char *start = strstr(out, "its start mark occurred ");
		cr_expect(start, "%s", out);
		unsigned long long marks = 0;
		if (start)
			cr_expect_eq(sscanf(start,
			                    "its start mark occurred %llu times (dockerd's "
			                    "socket receives: ",
			                    &marks),
			             1, "%s", out);
		cr_expect_geq(marks, 12, "at least the update requests' receives: %s", out);
		cr_expect(strstr(out, "read(2) "), "%s", out);
		cr_expect(strstr(out, "), but its end mark never occurred"), "%s", out);
		cr_expect_not(strstr(out, "its start mark never occurred"), "%s", out);
	}
	/* Whatever the host, a line without a figure says why, and none is guessed. */
	if (strstr(out, "no figure   exact"))
		cr_expect(strstr(out, "could not have measured") || strstr(out, "has no figure"),
		          "%s", out);
	free(out);
	free(err);
}

Test(bench_original, json_has_the_original_method_fields)
{
	const char *args[] = {"-n", "3", "--original-method", "--format", "json", NULL};
	char *out = NULL, *err = NULL;
	run_ok(args, &out, &err);
	json_error_t jerr;
	json_t *root = json_loads(out, 0, &jerr);
	cr_assert_not_null(root, "stdout is not JSON (%s): %.300s", jerr.text, out);
	json_t *m = json_object_get(root, "original_method");
	cr_assert(json_is_object(m), "no original_method object: %.500s", out);
	const char *keys[] = {"start_mark",
	                      "end_mark",
	                      "daemon_path",
	                      "memory_ms",
	                      "cpu_ms",
	                      "raw_memory_ms",
	                      "raw_cpu_ms",
	                      "n",
	                      "exact",
	                      "difference_ms",
	                      "measured",
	                      "reason",
	                      "start_marks_seen",
	                      "start_marks_by_call",
	                      "other_reads_seen",
	                      "end_file_writes_seen",
	                      "update_requests_received_with"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_not_null(json_object_get(m, keys[i]), "original_method has no %s",
		                   keys[i]);
	json_t *exact = json_object_get(m, "exact");
	cr_expect(json_is_number(json_object_get(exact, "memory_ms")), "exact.memory_ms");
	/* Every update request was received by dockerd, with one of the four calls. */
	json_t *with = json_object_get(m, "update_requests_received_with");
	json_int_t total = 0;
	const char *calls[] = {"read", "recvfrom", "recvmsg", "recvmmsg"};
	for (size_t i = 0; i < 4; i++)
		total += json_integer_value(json_object_get(with, calls[i]));
	cr_expect_eq(total, 12, "update requests received: %lld", (long long)total);
	/* The start mark: dockerd's socket receives of any call, at least one per update
	 * request (which it reads from a socket), the sum of the counts by call. */
	json_int_t marks = json_integer_value(json_object_get(m, "start_marks_seen"));
	cr_expect_geq(marks, 12, "start marks: %lld", (long long)marks);
	json_t *by = json_object_get(m, "start_marks_by_call");
	json_int_t by_sum = 0;
	const char *rcalls[] = {"read", "readv", "recvfrom", "recvmsg", "recvmmsg"};
	for (size_t i = 0; i < 5; i++)
		by_sum += json_integer_value(json_object_get(by, rcalls[i]));
	cr_expect_eq(by_sum, marks);
	bool measured = json_is_true(json_object_get(m, "measured"));
	if (!it_cgroup_v2()) {
		cr_expect_not(measured);
		cr_expect(json_is_null(json_object_get(m, "memory_ms")));
		cr_expect(json_is_null(json_object_get(m, "raw_memory_ms")));
		cr_expect_eq(json_integer_value(json_object_get(m, "end_file_writes_seen")), 0);
	}
	if (!measured)
		cr_expect(json_is_string(json_object_get(m, "reason")) &&
		                  strstr(json_string_value(json_object_get(m, "reason")),
		                         "could not have measured this host"),
		          "reason: %.300s", out);
	json_decref(root);
	free(out);
	free(err);
}
