/* --original-method: samples computed the original tool's way from recorded event
 * sequences, and the lines, JSON and CSV a user reads. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_original.h"
#include "report.h"

#define DOCKERD 4242u
#define RUNC 777u
#define CID "aa611dcc9f9c0000000000000000000000000000000000000000000000000001"
#define V2_DIR "/sys/fs/cgroup/system.slice/docker-" CID ".scope/"
#define V1_DIR "memory/docker/" CID "/"

/* A recorded event: what the probes hand over. A receive from a socket, of any call
 * (the probes know which of dockerd's fds are sockets), returning -EAGAIN as Go's
 * non-blocking reads often do: the original's kprobe fired at the entry all the same. */
static struct cglat_event recv_any(uint32_t tgid, uint32_t call, uint64_t ts)
{
	struct cglat_event ev = {.kind = CGLAT_EV_RECV_ANY,
	                         .tgid = tgid,
	                         .tid = tgid,
	                         .fd = 12,
	                         .call = call,
	                         .sock = 1,
	                         .ret = -11};
	ev.ts_enter = ts;
	ev.ts_exit = ts + 3;
	return ev;
}

/* dockerd's read of an fd that is no socket (a file, a pipe, an eventfd). */
static struct cglat_event read_of_no_socket(uint32_t call, uint64_t ts)
{
	struct cglat_event ev = recv_any(DOCKERD, call, ts);
	ev.fd = 30;
	ev.sock = 0;
	ev.ret = 4096;
	return ev;
}

static struct cglat_event post_read(uint64_t ts)
{
	struct cglat_event ev = {.kind = CGLAT_EV_RECV, .tgid = DOCKERD, .call = CGLAT_RECV_READ};
	ev.ts_enter = ts - 5;
	ev.ts_exit = ts;
	ev.data_len = (uint32_t)snprintf(ev.data, sizeof(ev.data),
	                                 "POST /v1.41/containers/" CID "/update HTTP/1.1");
	return ev;
}

static struct cglat_event write_of(uint32_t tgid, const char *path, uint64_t ts)
{
	struct cglat_event ev = {.kind = CGLAT_EV_WRITE, .tgid = tgid, .call = CGLAT_WRITE_WRITE};
	ev.ts_enter = ts;
	ev.ts_exit = ts + 400;
	ev.ret = 9;
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	ev.data_len = (uint32_t)snprintf(ev.data, sizeof(ev.data), "134217728");
	return ev;
}

static void feed(struct orig_log *log, const struct cglat_event *evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(orig_log_event(log, &evs[i], DOCKERD), 0);
}

static struct sample sample_at(enum sample_path p, enum cg_resource r, uint64_t t0)
{
	struct sample s = {.path = p, .resource = r, .t0_ns = t0, .t_return_ns = t0 + 9000};
	return s;
}

Test(original, marks_exist_last_socket_receive_before_the_write_to_the_first_write_after_it)
{
	struct orig_log log = {0};
	/* Out of time order, as two per-CPU buffers hand them over. */
	struct cglat_event evs[] = {
	        write_of(RUNC, V2_DIR "memory.max", 5000),
	        recv_any(DOCKERD, CGLAT_RECV_RECVMSG, 1200),
	        post_read(1100), /* the exact event: no mark of the original's by itself */
	        recv_any(DOCKERD, CGLAT_RECV_READ, 1100),     /* its socket read: a mark */
	        recv_any(DOCKERD, CGLAT_RECV_RECVMMSG, 1800), /* still recvmsg-family */
	        recv_any(DOCKERD, CGLAT_RECV_READ, 2100), /* containerd's reply, read(2): last */
	        read_of_no_socket(CGLAT_RECV_READ, 2500), /* a file: sock_recvmsg never ran */
	        write_of(RUNC, V2_DIR "cpu.max", 5100),   /* its start is consumed */
	        write_of(getpid(), V2_DIR "memory.max", 10004),
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	cr_assert_eq(log.recvs, 4);
	cr_assert_eq(log.recv_calls[CGLAT_RECV_READ], 2);
	cr_assert_eq(log.recv_calls[CGLAT_RECV_RECVMSG], 1);
	cr_assert_eq(log.recv_calls[CGLAT_RECV_RECVMMSG], 1);
	cr_assert_eq(log.other_reads, 1);
	cr_assert_eq(log.end_writes, 3);
	struct sample s[] = {sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000),
	                     sample_at(SAMPLE_DIRECT, CG_RES_MEMORY, 10000)};
	orig_compute(&log, s, 2);
	cr_assert_eq(s[0].orig_start_ns, 2100, "the last socket receive, of any call");
	cr_assert_eq(s[0].orig_end_ns, 5000);
	cr_assert_eq(orig_sample_ns(&s[0]), 2900);
	/* The raw path: the client's T0 is the start, as the original's raw loop set it. */
	cr_assert_eq(orig_sample_ns(&s[1]), 4);
	orig_log_free(&log);
}

Test(original, a_read_of_a_socket_is_a_start_mark_a_read_of_another_fd_is_not)
{
	struct orig_log log = {0};
	struct cglat_event evs[] = {
	        post_read(1100),
	        recv_any(DOCKERD, CGLAT_RECV_READ, 1100),  /* the request, read(2) on a socket */
	        read_of_no_socket(CGLAT_RECV_READ, 1300),  /* hostconfig.json, say: no mark */
	        read_of_no_socket(CGLAT_RECV_READV, 1400), /* neither */
	        recv_any(99, CGLAT_RECV_RECVMSG, 1200),    /* not dockerd */
	        write_of(RUNC, V2_DIR "memory.max", 5000),
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	cr_assert_eq(log.recvs, 1);
	cr_assert_eq(log.recv_calls[CGLAT_RECV_READ], 1);
	cr_assert_eq(log.other_reads, 2);
	struct sample s = sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000);
	orig_compute(&log, &s, 1);
	cr_assert_eq(s.orig_start_ns, 1100, "the socket read, not the later file reads");
	cr_assert_eq(orig_sample_ns(&s), 3900);
	orig_log_free(&log);
}

Test(original, every_receive_call_on_a_socket_is_a_start_mark)
{
	struct orig_log log = {0};
	const uint32_t calls[] = {CGLAT_RECV_READ, CGLAT_RECV_READV, CGLAT_RECV_RECVFROM,
	                          CGLAT_RECV_RECVMSG, CGLAT_RECV_RECVMMSG};
	for (size_t i = 0; i < 5; i++) {
		/* each call alone before a write: it is the start */
		struct orig_log one = {0};
		struct cglat_event evs[] = {recv_any(DOCKERD, calls[i], 1500),
		                            write_of(RUNC, V2_DIR "memory.max", 5000)};
		feed(&one, evs, 2);
		feed(&log, evs, 1);
		cr_assert_eq(one.recvs, 1, "call %u", calls[i]);
		struct sample s = sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000);
		orig_compute(&one, &s, 1);
		cr_assert_eq(orig_sample_ns(&s), 3500, "call %u", calls[i]);
		orig_log_free(&one);
	}
	cr_assert_eq(log.recvs, 5);
	for (size_t i = 0; i < 5; i++)
		cr_assert_eq(log.recv_calls[calls[i]], 1);
	orig_log_free(&log);
}

Test(original, without_a_socket_receive_of_dockerd_the_start_mark_never_occurs)
{
	struct orig_log log = {0};
	struct cglat_event evs[] = {
	        post_read(1100), /* the exact event alone is no mark of the original's */
	        read_of_no_socket(CGLAT_RECV_READ, 1150),
	        recv_any(99, CGLAT_RECV_RECVMSG, 1200), /* not dockerd */
	        write_of(RUNC, V2_DIR "memory.max", 5000),
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	cr_assert_eq(log.recvs, 0);
	struct sample s[] = {sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000),
	                     sample_at(SAMPLE_API, CG_RES_MEMORY, 20000)};
	orig_compute(&log, s, 2);
	cr_assert_eq(orig_sample_ns(&s[0]), -1, "no start, no figure: never a guess");
	cr_assert_eq(s[0].orig_start_ns, 0);
	cr_assert_eq(orig_sample_ns(&s[1]), -1);
	orig_log_free(&log);
}

Test(original, cgroup_v1_files_are_no_end_mark)
{
	struct orig_log log = {0};
	struct cglat_event evs[] = {
	        recv_any(DOCKERD, CGLAT_RECV_RECVMSG, 1200),
	        write_of(RUNC, V1_DIR "memory.limit_in_bytes", 5000),
	        write_of(RUNC, "cpu/docker/" CID "/cpu.cfs_quota_us", 5100),
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	cr_assert_eq(log.end_writes, 0);
	struct sample s = sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000);
	orig_compute(&log, &s, 1);
	cr_assert_eq(orig_sample_ns(&s), -1);
	orig_log_free(&log);
}

Test(original, another_cgroups_file_is_credited_as_the_original_would)
{
	struct orig_log log = {0};
	struct cglat_event evs[] = {
	        recv_any(DOCKERD, CGLAT_RECV_RECVMSG, 1500),
	        /* a systemd unit's limit, another process, another cgroup: its name matches */
	        write_of(1, "/sys/fs/cgroup/system.slice/cron.service/memory.max", 3000),
	        write_of(RUNC, V2_DIR "memory.max", 5000), /* this container's: too late */
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	struct sample s = sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000);
	orig_compute(&log, &s, 1);
	cr_assert_eq(s.orig_end_ns, 3000);
	cr_assert_eq(orig_sample_ns(&s), 1500);
	orig_log_free(&log);
}

Test(original, an_older_start_counts_until_a_write_consumes_it)
{
	struct orig_log log = {0};
	struct cglat_event evs[] = {
	        recv_any(DOCKERD, CGLAT_RECV_RECVMSG, 500), /* before the sample's T0 */
	        write_of(RUNC, V2_DIR "memory.max", 5000),
	        write_of(RUNC, V2_DIR "memory.max", 9000), /* next sample: nothing started it */
	};
	feed(&log, evs, sizeof(evs) / sizeof(evs[0]));
	struct sample s[] = {sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 1000),
	                     sample_at(SAMPLE_DOCKER, CG_RES_MEMORY, 8000)};
	orig_compute(&log, s, 2);
	cr_assert_eq(orig_sample_ns(&s[0]), 4500);
	cr_assert_eq(orig_sample_ns(&s[1]), -1);
	orig_log_free(&log);
}

Test(original, end_files_are_named_memory_max_or_cpu_max)
{
	cr_assert(orig_is_end_file("memory.max"));
	cr_assert(orig_is_end_file(V2_DIR "cpu.max"));
	cr_assert(orig_is_end_file("docker-1.scope/memory.max")); /* kprobe: parent/name */
	cr_assert_not(orig_is_end_file("memory.swap.max"));
	cr_assert_not(orig_is_end_file(V2_DIR "memory.max.bak"));
	cr_assert_not(orig_is_end_file(V2_DIR "xcpu.max"));
	cr_assert_not(orig_is_end_file(V1_DIR "memory.limit_in_bytes"));
	cr_assert_not(orig_is_end_file(""));
}

/* ------------------------------------------------------------------ report */

struct fixture {
	struct bench_config cfg;
	struct bench_result res;
};

static void make(struct fixture *f, int version)
{
	memset(f, 0, sizeof(*f));
	cli_defaults(&f->cfg);
	f->cfg.iterations = 2;
	f->cfg.original_method = true;
	f->res.original_method = true;
	struct bench_host *h = &f->res.host;
	h->cgroup_mode = version == 2 ? CG_MODE_V2 : CG_MODE_HYBRID;
	for (int r = 0; r < CG_RES_COUNT; r++) {
		h->cgroup_version[r] = version;
		snprintf(h->limit_file[r], sizeof(h->limit_file[r]), "%s",
		         cgroup_limit_file((enum cg_resource)r, version));
	}
	f->res.cap = 16;
	f->res.samples = calloc(f->res.cap, sizeof(*f->res.samples));
}

/* A valid sample: exact daemon_to_write (or direct request_to_write) of exact ns. */
static struct sample *add(struct fixture *f, enum sample_path p, enum cg_resource r, uint64_t t0,
                          int64_t exact)
{
	struct sample *s = &f->res.samples[f->res.count++];
	*s = sample_at(p, r, t0);
	s->valid = true;
	if (p == SAMPLE_DIRECT) {
		s->write_exit_ns = t0 + (uint64_t)exact;
	} else {
		s->recv_ns = t0 + 100;
		s->write_exit_ns = s->recv_ns + (uint64_t)exact;
	}
	s->write_enter_ns = s->write_exit_ns - 10;
	return s;
}

static char *render(int (*fn)(FILE *, const struct bench_config *, const struct bench_result *),
                    const struct fixture *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_eq(fn(out, &f->cfg, &f->res), 0);
	fclose(out);
	return text;
}

Test(original_report, lines_in_the_originals_form_beside_the_exact_figures)
{
	struct fixture f;
	make(&f, 2);
	struct sample *s;
	s = add(&f, SAMPLE_DOCKER, CG_RES_MEMORY, 1000000, 8000000);
	s->orig_start_ns = 1000000, s->orig_end_ns = 9938000; /* 8.938 ms */
	s = add(&f, SAMPLE_DOCKER, CG_RES_CPU, 20000000, 9000000);
	s->orig_start_ns = 20000000, s->orig_end_ns = 30000000; /* 10 ms */
	s = add(&f, SAMPLE_DIRECT, CG_RES_MEMORY, 40000000, 8000);
	s->orig_start_ns = 40000000, s->orig_end_ns = 40006000; /* 0.006 ms */
	s = add(&f, SAMPLE_DIRECT, CG_RES_CPU, 41000000, 5000); /* no end mark: not averaged */
	f.res.orig.recvs = 4;
	f.res.orig.end_writes = 3;
	char *text = render(report_text, &f);
	cr_assert_not_null(strstr(text, "Avg memory.max latency (dockerd recvmsg → cgroup write): "
	                                "8.938 ms   exact 8.000 ms, difference +0.938 ms "
	                                "(1 of 1 samples)\n"),
	                   "%s", text);
	cr_assert_not_null(strstr(text, "Avg cpu.max latency (dockerd recvmsg → cgroup write):    "
	                                "10.000 ms   exact 9.000 ms, difference +1.000 ms"),
	                   "%s", text);
	cr_assert_not_null(strstr(text, "Avg raw memory.max write latency: 0.006 ms   exact "
	                                "0.008 ms, difference -0.002 ms"),
	                   "%s", text);
	cr_assert_not_null(strstr(text, "published form, original method: 8.938 ms vs 0.006 ms "
	                                "(memory.max, 1490x), 10.000 ms vs no figure (cpu.max)"),
	                   "%s", text);
	cr_assert_not_null(strstr(text,
	                          "published form, exact method:    8.000 ms vs 0.008 ms "
	                          "(memory.max, 1000x), 9.000 ms vs 0.005 ms (cpu.max, 1800x)"),
	                   "%s", text);
	cr_assert_null(strstr(text, "could not have measured"), "%s", text);
	cr_assert_not_null(strstr(text, "the original method has no figure for some lines: no "
	                                "write of a file named memory.max or cpu.max followed one "
	                                "of its start marks within the samples of raw cpu.max\n"),
	                   "%s", text);
	free(text);
	free(f.res.samples);
}

Test(original_report, a_host_the_original_could_not_have_measured_gets_the_reason)
{
	struct fixture f;
	make(&f, 1);
	add(&f, SAMPLE_DOCKER, CG_RES_MEMORY, 1000000, 26000000);
	add(&f, SAMPLE_DOCKER, CG_RES_CPU, 30000000, 23000000);
	add(&f, SAMPLE_API, CG_RES_MEMORY, 60000000, 20000000);
	add(&f, SAMPLE_API, CG_RES_CPU, 90000000, 18000000);
	add(&f, SAMPLE_DIRECT, CG_RES_MEMORY, 120000000, 8000);
	add(&f, SAMPLE_DIRECT, CG_RES_CPU, 121000000, 6000);
	f.res.orig.update_recv_calls[CGLAT_RECV_READ] = 4;
	/* What this host shows: dockerd's socket receives happen (read(2) mostly), no
	 * memory.max or cpu.max is ever written. */
	f.res.orig.recvs = 57;
	f.res.orig.recv_calls[CGLAT_RECV_READ] = 55;
	f.res.orig.recv_calls[CGLAT_RECV_RECVMSG] = 2;
	f.res.orig.other_reads = 3;
	char *text = render(report_text, &f);
	cr_assert_not_null(strstr(text, "Avg memory.max latency (dockerd recvmsg → cgroup write): "
	                                "no figure   exact 26.000 ms (0 of 1 samples)"),
	                   "%s", text);
	cr_assert_not_null(strstr(text, "Avg raw memory.max write latency: no figure   exact "
	                                "0.008 ms"),
	                   "%s", text);
	cr_assert_not_null(
	        strstr(text,
	               "the original tool could not have measured this host: its start mark "
	               "occurred 57 times (dockerd's socket receives: read(2) 55, recvmsg(2) 2; "
	               "not its 3 reads of fds that are no socket; the 4 update requests came "
	               "with read(2)), but its end mark never occurred (no file named memory.max "
	               "or cpu.max was written during the run; Docker's cgroups are v1 here: its "
	               "limit files are memory.limit_in_bytes and cpu.cfs_quota_us)\n"),
	        "%s", text);
	cr_assert_not_null(strstr(text, "start at dockerd's last socket\nreceive of any call "
	                                "(read, readv, recvfrom, recvmsg, recvmmsg: its kprobe on "
	                                "sock_recvmsg; any data)"),
	                   "%s", text);
	cr_assert_null(strstr(text, "difference"), "no number is guessed: %s", text);

	char *js = render(report_json, &f);
	json_error_t jerr;
	json_t *root = json_loads(js, 0, &jerr);
	cr_assert_not_null(root, "%s", jerr.text);
	json_t *m = json_object_get(root, "original_method");
	cr_assert(json_is_object(m), "%s", js);
	cr_assert(json_is_null(json_object_get(m, "memory_ms")));
	cr_assert(json_is_null(json_object_get(m, "cpu_ms")));
	cr_assert(json_is_null(json_object_get(m, "raw_memory_ms")));
	cr_assert(json_is_false(json_object_get(m, "measured")));
	cr_assert_not_null(strstr(json_string_value(json_object_get(m, "reason")),
	                          "could not have measured this host"));
	cr_assert_float_eq(
	        json_number_value(json_object_get(json_object_get(m, "exact"), "memory_ms")), 26.0,
	        1e-9);
	cr_assert(json_is_null(json_object_get(json_object_get(m, "difference_ms"), "memory")));
	cr_assert_eq(json_integer_value(json_object_get(m, "start_marks_seen")), 57);
	cr_assert_eq(json_integer_value(
	                     json_object_get(json_object_get(m, "start_marks_by_call"), "read")),
	             55);
	cr_assert_eq(json_integer_value(
	                     json_object_get(json_object_get(m, "start_marks_by_call"), "recvmsg")),
	             2);
	cr_assert_eq(json_integer_value(json_object_get(m, "other_reads_seen")), 3);
	cr_assert_eq(json_integer_value(json_object_get(m, "end_file_writes_seen")), 0);
	cr_assert_eq(json_integer_value(json_object_get(
	                     json_object_get(m, "update_requests_received_with"), "read")),
	             4);
	cr_assert_str_eq(json_string_value(json_object_get(m, "daemon_path")), "docker");
	json_decref(root);
	free(js);
	free(text);
	free(f.res.samples);
}

Test(original_report, no_socket_receive_at_all_says_the_start_mark_never_occurred)
{
	struct fixture f;
	make(&f, 1);
	add(&f, SAMPLE_DOCKER, CG_RES_MEMORY, 1000000, 26000000);
	add(&f, SAMPLE_DOCKER, CG_RES_CPU, 30000000, 23000000);
	add(&f, SAMPLE_DIRECT, CG_RES_MEMORY, 120000000, 8000);
	f.res.orig.update_recv_calls[CGLAT_RECV_READ] = 2;
	char *text = render(report_text, &f);
	cr_assert_not_null(
	        strstr(text,
	               "the original tool could not have measured this host: its start mark never "
	               "occurred (dockerd made no socket receive, of any call, during the run; it "
	               "received the 2 update requests with read(2)), and its end mark never "
	               "occurred (no file named memory.max or cpu.max was written"),
	        "%s", text);
	free(text);
	free(f.res.samples);
}

Test(original_report, json_null_and_csv_unchanged_without_the_option)
{
	struct fixture f;
	make(&f, 2);
	f.cfg.original_method = f.res.original_method = false;
	struct sample *s = add(&f, SAMPLE_DOCKER, CG_RES_MEMORY, 1000000, 8000000);
	char *js = render(report_json, &f);
	json_t *root = json_loads(js, 0, NULL);
	cr_assert_not_null(root);
	cr_assert(json_is_null(json_object_get(root, "original_method")));
	json_decref(root);
	free(js);
	char *csv = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&csv, &len);
	cr_assert_eq(report_csv(out, &f.res), 0);
	fclose(out);
	cr_assert_null(strstr(csv, "orig_"));
	free(csv);

	f.res.original_method = true;
	s->orig_start_ns = 1000000, s->orig_end_ns = 3000000;
	out = open_memstream(&csv, &len);
	cr_assert_eq(report_csv(out, &f.res), 0);
	fclose(out);
	cr_assert_not_null(strstr(csv, ",round_trip_ns,orig_start_ns,orig_end_ns,orig_ns\n"), "%s",
	                   csv);
	cr_assert_not_null(strstr(csv, ",1000000,3000000,2000000\n"), "%s", csv);
	free(csv);
	free(f.res.samples);
}
