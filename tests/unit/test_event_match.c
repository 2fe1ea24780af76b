/* How probe events are matched to a sample: request lines, paths, values. */
#include <criterion/criterion.h>
#include <string.h>

#include "event_match.h"

#define ID "2c1c0748b166b8ece31b429da6c1c636960a3a3807b4d1fb9e6b0a1e5492f230"

static bool parse(const char *data, char *ref)
{
	return event_parse_update_request(data, strlen(data), ref, 256);
}

Test(match, update_request_gives_the_reference_the_client_sent)
{
	char ref[256];
	cr_assert(parse("POST /v1.41/containers/web/update HTTP/1.1\r\nHost: x\r\n", ref));
	cr_assert_str_eq(ref, "web");
	cr_assert(parse("POST /v1.41/containers/" ID "/update HTTP/1.1\r\n", ref));
	cr_assert_str_eq(ref, ID);
	cr_assert(parse("POST /containers/abc/update?x=1 HTTP/1.1", ref));
	cr_assert_str_eq(ref, "abc");
}

Test(match, other_requests_are_not_updates)
{
	char ref[256];
	cr_assert_not(parse("POST /v1.41/containers/web/start HTTP/1.1", ref));
	cr_assert_not(parse("POST /v1.41/containers/web/updates HTTP/1.1", ref));
	cr_assert_not(parse("GET /v1.41/containers/web/update HTTP/1.1", ref));
	cr_assert_not(parse("HEAD /_ping HTTP/1.1", ref));
	cr_assert_not(parse("POST /v1.41/containers//update HTTP/1.1", ref));
	cr_assert_not(parse("POST /v1.41/images/create HTTP/1.1", ref));
	/* Cut short by the probe's 128-byte copy: no "/update" seen, no match. */
	cr_assert_not(parse("POST /v1.41/containers/web", ref));
	cr_assert_not(parse("", ref));
}

Test(match, path_must_name_this_container_and_this_file)
{
	const char *runc_v1 = "memory/docker/" ID "/memory.limit_in_bytes";
	cr_assert(event_path_matches(runc_v1, ID, "memory.limit_in_bytes"));
	cr_assert(event_path_matches("/sys/fs/cgroup/memory/docker/" ID "/memory.limit_in_bytes",
	                             ID, "memory.limit_in_bytes"));
	cr_assert(event_path_matches("/sys/fs/cgroup/system.slice/docker-" ID ".scope/cpu.max", ID,
	                             "cpu.max"));
	/* kprobe strategy: "<parent>/<name>" */
	cr_assert(event_path_matches(ID "/memory.max", ID, "memory.max"));
	/* Same container, another file: runc writes memsw and the quota too. */
	cr_assert_not(event_path_matches("memory/docker/" ID "/memory.memsw.limit_in_bytes", ID,
	                                 "memory.limit_in_bytes"));
	cr_assert_not(event_path_matches("memory/docker/" ID "/memory.soft_limit_in_bytes", ID,
	                                 "memory.limit_in_bytes"));
	/* Same file, another container. */
	cr_assert_not(event_path_matches("memory/docker/ffff/memory.limit_in_bytes", ID,
	                                 "memory.limit_in_bytes"));
	/* The id only in the file name part does not count. */
	cr_assert_not(event_path_matches("memory.limit_in_bytes", ID, "memory.limit_in_bytes"));
}

Test(match, written_value_is_trimmed_and_printable)
{
	char out[48];
	event_written_value("134217728\n", 10, out, sizeof(out));
	cr_assert_str_eq(out, "134217728");
	event_written_value("11000 100000", 12, out, sizeof(out));
	cr_assert_str_eq(out, "11000 100000");
	event_written_value("a\x01"
	                    "b",
	                    3, out, sizeof(out));
	cr_assert_str_eq(out, "a?b");
	event_written_value("123456789", 9, out, 4);
	cr_assert_str_eq(out, "123");
}

/* A vectored write's bytes arrive gathered from its iovecs: "50000" and "\n" as one. */
Test(match, gathered_iovec_bytes_read_as_one_value)
{
	char out[48];
	event_written_value("11000 100000\n", 13, out, sizeof(out));
	cr_assert_str_eq(out, "11000 100000");
	event_written_value("", 0, out, sizeof(out));
	cr_assert_str_eq(out, "");
}

Test(match, write_calls_have_names)
{
	cr_assert_str_eq(event_write_call_name(1), "write");
	cr_assert_str_eq(event_write_call_name(2), "pwrite64");
	cr_assert_str_eq(event_write_call_name(5), "pwritev2");
	cr_assert_str_eq(event_write_call_name(7), "vfs_writev");
	cr_assert_str_eq(event_write_call_name(0), "-");
	cr_assert_str_eq(event_write_call_name(8), "-");
	cr_assert_str_eq(event_write_call_name(0xffffffffu), "-");
}
