/* cglat watch: options, events -> lines, filters, and the text/JSON a user reads. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "watch.h"

#define ID "2c1c0748b166b8ece31b429da6c1c636960a3a3807b4d1fb9e6b0a1e5492f230"

static struct cglat_event write_event(const char *path, const char *data, int64_t ret)
{
	struct cglat_event ev;
	memset(&ev, 0, sizeof(ev));
	ev.kind = CGLAT_EV_WRITE;
	ev.tgid = 8098;
	snprintf(ev.comm, sizeof(ev.comm), "runc");
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	ev.data_len = (uint32_t)strlen(data);
	memcpy(ev.data, data, ev.data_len);
	ev.ts_enter = 1000000;
	ev.ts_exit = 1004650;
	ev.ret = ret;
	ev.call = CGLAT_WRITE_WRITE;
	return ev;
}

Test(watch, runc_write_names_container_file_and_value)
{
	struct cglat_event ev =
	        write_event("memory/docker/" ID "/memory.limit_in_bytes", "209715200", 9);
	struct watch_line l;
	watch_line_from_event(&ev, 1700000000.5, &l);
	cr_assert_str_eq(l.container_id, ID);
	cr_assert_str_eq(l.cgroup, "memory/docker/" ID);
	cr_assert_str_eq(l.file, "memory.limit_in_bytes");
	cr_assert_str_eq(l.value, "209715200");
	cr_assert_eq(l.pid, 8098);
	cr_assert_str_eq(l.comm, "runc");
	cr_assert_eq(l.duration_ns, 4650);
	cr_assert_eq(l.since_receive_ns, -1);
}

Test(watch, kprobe_paths_and_plain_cgroups)
{
	struct cglat_event ev = write_event(ID "/memory.max", "max\n", 4);
	struct watch_line l;
	watch_line_from_event(&ev, 0, &l);
	cr_assert_str_eq(l.container_id, ID);
	cr_assert_str_eq(l.file, "memory.max");
	cr_assert_str_eq(l.value, "max");

	ev = write_event("/sys/fs/cgroup/cpu/cglat/job1/cpu.cfs_quota_us", "20000", 5);
	watch_line_from_event(&ev, 0, &l);
	cr_assert_str_eq(l.container_id, "");
	cr_assert_str_eq(l.cgroup, "/sys/fs/cgroup/cpu/cglat/job1");
	cr_assert_str_eq(l.file, "cpu.cfs_quota_us");
}

Test(watch, filters)
{
	struct cglat_event ev =
	        write_event("memory/docker/" ID "/memory.limit_in_bytes", "209715200", 9);
	struct watch_line l;
	watch_line_from_event(&ev, 0, &l);
	cr_assert(watch_line_wanted(&l, NULL, NULL, NULL));
	cr_assert(watch_line_wanted(&l, ID, NULL, NULL));
	cr_assert_not(watch_line_wanted(&l, "ffff", NULL, NULL));
	cr_assert(watch_line_wanted(&l, NULL, "docker/2c1c", NULL));
	cr_assert_not(watch_line_wanted(&l, NULL, "cglat/", NULL));
	cr_assert(watch_line_wanted(&l, NULL, NULL, "runc"));
	cr_assert_not(watch_line_wanted(&l, NULL, NULL, "bash"));
}

Test(watch, text_line_shows_short_id_errno_name_and_durations)
{
	struct cglat_event ev =
	        write_event("memory/docker/" ID "/memory.limit_in_bytes", "1", -EBUSY);
	struct watch_line l;
	watch_line_from_event(&ev, 0, &l);
	l.since_receive_ns = 12345678;
	char buf[512];
	watch_format_line(&l, FORMAT_TEXT, buf, sizeof(buf));
	cr_assert(strstr(buf, " 8098 ") || strstr(buf, " 8098    "), "%s", buf);
	cr_assert(strstr(buf, " 2c1c0748b166 "), "%s", buf);
	cr_assert(strstr(buf, "memory.limit_in_bytes"));
	cr_assert(strstr(buf, " EBUSY "), "%s", buf);
	cr_assert(strstr(buf, " 4.65 "), "%s", buf);
	cr_assert(strstr(buf, " 12.346\n"), "%s", buf);
	char header[256];
	watch_format_header(header, sizeof(header));
	cr_assert(strncmp(header, "TIME ", 5) == 0);
	cr_assert(strstr(header, "RECV->WRITE(ms)\n"));
}

Test(watch, a_known_name_shows_instead_of_the_id)
{
	struct cglat_event ev = write_event(
	        "memory/libpod_parent/libpod-" ID "/memory.limit_in_bytes", "209715200", 9);
	struct watch_line l;
	watch_line_from_event(&ev, 0, &l);
	cr_assert_str_eq(l.container_id, ID, "podman's cgroupfs path names the container");
	char buf[512];
	watch_format_line(&l, FORMAT_TEXT, buf, sizeof(buf));
	cr_assert(strstr(buf, " 2c1c0748b166 "), "%s", buf);
	snprintf(l.container_name, sizeof(l.container_name), "%s",
	         "a-name-longer-than-the-column-is");
	watch_format_line(&l, FORMAT_TEXT, buf, sizeof(buf));
	cr_assert(strstr(buf, " a-name-longer-than-the-c "), "cut to the column: %s", buf);
	watch_format_line(&l, FORMAT_JSON, buf, sizeof(buf));
	json_t *o = json_loads(buf, 0, NULL);
	cr_assert_not_null(o);
	cr_assert_str_eq(json_string_value(json_object_get(o, "container_name")),
	                 "a-name-longer-than-the-column-is", "JSON keeps the whole name");
	cr_assert_str_eq(json_string_value(json_object_get(o, "container")), ID);
	json_decref(o);
}

Test(watch, json_line_has_every_field)
{
	struct cglat_event ev = write_event("cpu/docker/" ID "/cpu.cfs_quota_us", "11000", 5);
	struct watch_line l;
	watch_line_from_event(&ev, 1700000000.25, &l);
	l.since_receive_ns = 6000000;
	char buf[1024];
	watch_format_line(&l, FORMAT_JSON, buf, sizeof(buf));
	cr_assert_eq(buf[strlen(buf) - 1], '\n');
	cr_assert_eq(strchr(buf, '\n'), buf + strlen(buf) - 1, "not one line: %s", buf);
	json_error_t jerr;
	json_t *o = json_loads(buf, 0, &jerr);
	cr_assert_not_null(o, "%s", jerr.text);
	cr_assert_str_eq(json_string_value(json_object_get(o, "container")), ID);
	cr_assert_str_eq(json_string_value(json_object_get(o, "file")), "cpu.cfs_quota_us");
	cr_assert_str_eq(json_string_value(json_object_get(o, "value")), "11000");
	cr_assert_str_eq(json_string_value(json_object_get(o, "comm")), "runc");
	cr_assert_eq(json_integer_value(json_object_get(o, "pid")), 8098);
	cr_assert_eq(json_integer_value(json_object_get(o, "ret")), 5);
	cr_assert_eq(json_integer_value(json_object_get(o, "duration_ns")), 4650);
	cr_assert_eq(json_integer_value(json_object_get(o, "since_receive_ns")), 6000000);
	cr_assert_float_eq(json_number_value(json_object_get(o, "time")), 1700000000.25, 1e-6);
	cr_assert_str_eq(json_string_value(json_object_get(o, "call")), "write");
	cr_assert(json_is_null(json_object_get(o, "container_name")), "no name known: null");
	json_decref(o);
}

/* The call that made the write, as the probes name it, in both formats. */
Test(watch, every_write_call_is_named)
{
	static const struct {
		unsigned call;
		const char *name;
	} calls[] = {{CGLAT_WRITE_WRITE, "write"},
	             {CGLAT_WRITE_PWRITE64, "pwrite64"},
	             {CGLAT_WRITE_WRITEV, "writev"},
	             {CGLAT_WRITE_PWRITEV, "pwritev"},
	             {CGLAT_WRITE_PWRITEV2, "pwritev2"},
	             {CGLAT_WRITE_VFS_WRITE, "vfs_write"},
	             {CGLAT_WRITE_VFS_WRITEV, "vfs_writev"},
	             {0, "-"},
	             {99, "-"}};
	char header[256];
	watch_format_header(header, sizeof(header));
	cr_assert(strstr(header, " FILE ") && strstr(header, " CALL ") &&
	                  strstr(header, " FILE ") < strstr(header, " CALL ") &&
	                  strstr(header, " CALL ") < strstr(header, " VALUE "),
	          "%s", header);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		struct cglat_event ev =
		        write_event("cpu/docker/" ID "/cpu.cfs_quota_us", "50000\n", 6);
		ev.call = calls[i].call;
		struct watch_line l;
		watch_line_from_event(&ev, 0, &l);
		cr_assert_str_eq(l.call, calls[i].name);
		cr_assert_str_eq(l.value, "50000");
		char buf[1024];
		watch_format_line(&l, FORMAT_TEXT, buf, sizeof(buf));
		/* the column after FILE, then the value */
		const char *col = strstr(buf, "cpu.cfs_quota_us");
		cr_assert_not_null(col, "%s", buf);
		col += strlen("cpu.cfs_quota_us");
		while (*col == ' ')
			col++;
		size_t n = strlen(calls[i].name);
		cr_assert(strncmp(col, calls[i].name, n) == 0 && col[n] == ' ', "%s", buf);
		while (*(col + n) == ' ')
			col++;
		cr_assert(strncmp(col + n, "50000 ", 6) == 0, "%s", buf);
		watch_format_line(&l, FORMAT_JSON, buf, sizeof(buf));
		json_t *o = json_loads(buf, 0, NULL);
		cr_assert_not_null(o, "%s", buf);
		cr_assert_str_eq(json_string_value(json_object_get(o, "call")), calls[i].name);
		json_decref(o);
	}
}

/* Lost events are said as they happen: at once the first time, then at most once a
 * second, each line with the new losses and the total; nothing when none were lost. */
Test(watch, losses_are_said_while_running_at_most_once_a_second)
{
	struct watch_loss loss = {0};
	char buf[256];
	const uint64_t s = 1000000000ull, t0 = 5 * s;
	cr_assert_not(watch_loss_line(&loss, 0, t0, buf, sizeof(buf)));
	cr_assert(watch_loss_line(&loss, 700, t0 + 1, buf, sizeof(buf)));
	cr_assert(strstr(buf, "cglat watch: 700 events lost just now (700 in all)"), "%s", buf);
	cr_assert_eq(buf[strlen(buf) - 1], '\n');
	/* more within the second: held back, then said together */
	cr_assert_not(watch_loss_line(&loss, 900, t0 + s / 2, buf, sizeof(buf)));
	cr_assert_not(watch_loss_line(&loss, 1000, t0 + s - 1, buf, sizeof(buf)));
	cr_assert(watch_loss_line(&loss, 1000, t0 + s + 1, buf, sizeof(buf)));
	cr_assert(strstr(buf, "300 events lost just now (1000 in all)"), "%s", buf);
	/* no new loss: quiet however long it is */
	cr_assert_not(watch_loss_line(&loss, 1000, t0 + 60 * s, buf, sizeof(buf)));
	cr_assert(watch_loss_line(&loss, 1001, t0 + 61 * s, buf, sizeof(buf)));
	cr_assert(strstr(buf, "cglat watch: 1 event lost just now (1001 in all)"), "%s", buf);
}

static int parse(struct watch_config *cfg, struct cg_err *err, int argc, char **argv)
{
	enum cli_action action;
	return watch_parse(argc, argv, cfg, &action, err);
}

Test(watch, options_and_bad_usage)
{
	struct watch_config cfg;
	struct cg_err err;
	char *good[] = {"watch",    "-c",   "web", "--cgroup", "docker/", "--comm",     "runc",
	                "--format", "json", "-d",  "2.5",      "--probe", "tracepoint", NULL};
	cr_assert_eq(parse(&cfg, &err, 13, good), 0, "%s", err.msg);
	cr_assert_str_eq(cfg.container, "web");
	cr_assert_str_eq(cfg.cgroup, "docker/");
	cr_assert_str_eq(cfg.comm, "runc");
	cr_assert_eq(cfg.format, FORMAT_JSON);
	cr_assert_float_eq(cfg.duration_s, 2.5, 1e-9);
	cr_assert_eq(cfg.probe, TRACER_TRACEPOINT);

	struct {
		char *argv[4];
		const char *message;
	} bad[] = {
	        {{"watch", "-d", "0"}, "-d/--duration"},
	        {{"watch", "-d", "x"}, "-d/--duration"},
	        {{"watch", "--format", "csv"}, "--format"},
	        {{"watch", "-c", "../../etc"}, "--container"},
	        {{"watch", "--comm", "a-very-long-command-name"}, "--comm"},
	        {{"watch", "--probe", "uprobe"}, "--probe"},
	        {{"watch", "--nope"}, "unknown option --nope"},
	        {{"watch", "stray"}, "unexpected argument"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = bad[i].argv[2] ? 3 : 2;
		cr_assert_eq(parse(&cfg, &err, argc, bad[i].argv), -1, "case %zu passed", i);
		cr_assert(strstr(err.msg, bad[i].message), "case %zu: %s", i, err.msg);
	}
}
