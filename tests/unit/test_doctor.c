/* cglat doctor: judging gathered facts and wording the lines (no root, no system). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"

/* A machine bench runs on: the kind of VM guest the compat matrix boots. */
static void good_facts(struct doctor_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->root = true;
	snprintf(f->kernel, sizeof(f->kernel), "6.1.0-50-amd64");
	snprintf(f->lockdown, sizeof(f->lockdown), "[none] integrity confidentiality");
	f->securityfs = true;
	f->host.tracefs = true;
	f->host.kprobes = true;
	f->host.kprobe_debugfs = true;
	f->host.headers_match = true;
	snprintf(f->host.headers, sizeof(f->host.headers),
	         "/usr/src/linux-headers-6.1.0-50-amd64 (6.1.0-50-amd64)");
	snprintf(f->host.tracefs_dir, sizeof(f->host.tracefs_dir), "/sys/kernel/tracing");
	f->cgroup_ok = true;
	f->cgroup_mode = CG_MODE_V2;
	snprintf(f->controllers, sizeof(f->controllers), "cpuset cpu io memory pids");
	f->docker_ok = true;
	snprintf(f->docker.server_version, sizeof(f->docker.server_version), "20.10.24+dfsg1");
	snprintf(f->docker.api_version, sizeof(f->docker.api_version), "1.41");
	snprintf(f->docker.runtime, sizeof(f->docker.runtime), "runc 1.1.5+ds1");
	snprintf(f->docker.cgroup_driver, sizeof(f->docker.cgroup_driver), "cgroupfs");
	snprintf(f->docker.cgroup_version, sizeof(f->docker.cgroup_version), "2");
	snprintf(f->docker_cli, sizeof(f->docker_cli), "/usr/bin/docker");
	f->vfs_writev = true;
	f->io_uring = 0;
}

static const struct doctor_line *line_of(const struct doctor_report *r, const char *what)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->line[i].what, what) == 0)
			return &r->line[i];
	cr_assert_fail("no \"%s\" line", what);
	return NULL;
}

static char *printed(const struct doctor_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	doctor_print(f, r);
	fclose(f);
	return buf;
}

Test(doctor, all_good_picks_kprobe_and_can_bench)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	doctor_assess(&f, &r);
	cr_assert(r.can_bench);
	cr_assert_eq(r.chosen, TRACER_KPROBE);
	for (size_t i = 0; i < r.count; i++)
		cr_assert(r.line[i].status == DOCTOR_OK || r.line[i].status == DOCTOR_INFO,
		          "%s: %s", r.line[i].what, r.line[i].value);
	cr_assert_str_eq(line_of(&r, "lockdown")->value, "none");
	cr_assert(strstr(line_of(&r, "cgroups")->value, "v2, controllers: cpuset cpu io"));
	cr_assert(strstr(line_of(&r, "docker")->value, "cgroup driver cgroupfs"));
	cr_assert(strstr(line_of(&r, "probe auto")->value, "kprobe (auto:"));
	char *out = printed(&r);
	cr_assert(strstr(out, "ok    kernel") == NULL, "kernel is info, not ok:\n%s", out);
	cr_assert(strstr(out, "info  kernel      6.1.0-50-amd64\n"), "%s", out);
	cr_assert(strstr(out, "cglat bench can run here (probe strategy: kprobe)"), "%s", out);
	cr_assert(strstr(out, "fix:") == NULL, "%s", out);
	free(out);
}

/* Which write calls are seen, per strategy, and io_uring's, which never are. */
Test(doctor, says_which_writes_are_seen_and_that_io_uring_is_not)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	doctor_assess(&f, &r);
	const struct doctor_line *w = line_of(&r, "writes");
	cr_assert_eq(w->status, DOCTOR_OK);
	cr_assert(strstr(w->value, "kprobe: write and pwrite64 (vfs_write), writev, pwritev and "
	                           "pwritev2 (vfs_writev)"),
	          "%s", w->value);
	const struct doctor_line *u = line_of(&r, "io_uring");
	cr_assert_eq(u->status, DOCTOR_INFO);
	cr_assert(strstr(u->value, "writes through io_uring are not seen"), "%s", u->value);

	/* vfs_writev inlined away: the vectored calls are not seen with kprobes */
	f.vfs_writev = false;
	doctor_assess(&f, &r);
	w = line_of(&r, "writes");
	cr_assert_eq(w->status, DOCTOR_WARN);
	cr_assert(strstr(w->value, "writev, pwritev and pwritev2 are not seen"), "%s", w->value);
	cr_assert(strstr(w->fix, "--probe tracepoint"), "%s", w->fix);
	cr_assert(r.can_bench, "bench's own writes are write(2)s: it can still run");

	/* no kprobes: the tracepoints see all five */
	f.host.kprobes = false;
	doctor_assess(&f, &r);
	w = line_of(&r, "writes");
	cr_assert_eq(w->status, DOCTOR_OK);
	cr_assert(strstr(w->value, "tracepoint: write, pwrite64, writev, pwritev and pwritev2"),
	          "%s", w->value);

	f.io_uring = 2;
	doctor_assess(&f, &r);
	u = line_of(&r, "io_uring");
	cr_assert_eq(u->status, DOCTOR_OK);
	cr_assert(strstr(u->value, "disabled"), "%s", u->value);
	f.io_uring = 1;
	doctor_assess(&f, &r);
	cr_assert(strstr(line_of(&r, "io_uring")->value, "io_uring_group"));
	f.io_uring = -1;
	doctor_assess(&f, &r);
	cr_assert_eq(line_of(&r, "io_uring")->status, DOCTOR_INFO);
}

Test(doctor, the_machine_without_kprobes_runs_tracepoints)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	f.host.kprobes = false;
	f.host.headers_match = false;
	f.lockdown[0] = '\0';
	f.securityfs = false;
	f.cgroup_mode = CG_MODE_HYBRID;
	doctor_assess(&f, &r);
	cr_assert(r.can_bench);
	cr_assert_eq(r.chosen, TRACER_TRACEPOINT);
	cr_assert_eq(line_of(&r, "kprobes")->status, DOCTOR_INFO);
	cr_assert_eq(line_of(&r, "headers")->status, DOCTOR_WARN);
	cr_assert_str_eq(line_of(&r, "headers")->fix, "", "no kprobes: nothing to fix");
	cr_assert(strstr(line_of(&r, "lockdown")->fix, "mount -t securityfs"));
	cr_assert(strstr(line_of(&r, "probe auto")->value, "no kprobes"));
}

Test(doctor, missing_tracefs_headers_docker_fail_with_fixes)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	f.host.tracefs = false;
	f.host.headers[0] = '\0';
	f.docker_ok = false;
	snprintf(f.docker_error, sizeof(f.docker_error),
	         "no Docker socket at /var/run/docker.sock");
	doctor_assess(&f, &r);
	cr_assert_not(r.can_bench);
	cr_assert_eq(line_of(&r, "tracefs")->status, DOCTOR_FAIL);
	cr_assert(strstr(line_of(&r, "tracefs")->fix, "mount -t tracefs"));
	cr_assert_eq(line_of(&r, "headers")->status, DOCTOR_FAIL);
	cr_assert(strstr(line_of(&r, "headers")->fix, "linux-headers-6.1.0-50-amd64"));
	cr_assert_eq(line_of(&r, "docker")->status, DOCTOR_FAIL);
	cr_assert(strstr(line_of(&r, "docker")->fix, "start dockerd"));
	cr_assert_eq(line_of(&r, "probe auto")->status, DOCTOR_FAIL);
	char *out = printed(&r);
	cr_assert(strstr(out, "FAIL  tracefs     not mounted"), "%s", out);
	cr_assert(strstr(out, "\n                  fix: sudo mount -t tracefs"), "%s", out);
	cr_assert(strstr(out, "cglat bench cannot run here"), "%s", out);
	free(out);
}

Test(doctor, kprobes_without_debugfs_and_confidentiality_warn)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	f.host.kprobe_debugfs = false;
	snprintf(f.lockdown, sizeof(f.lockdown), "none integrity [confidentiality]");
	doctor_assess(&f, &r);
	cr_assert(r.can_bench);
	cr_assert_eq(r.chosen, TRACER_TRACEPOINT);
	cr_assert_eq(line_of(&r, "kprobes")->status, DOCTOR_WARN);
	cr_assert(strstr(line_of(&r, "kprobes")->fix, "mount -t debugfs"));
	cr_assert_eq(line_of(&r, "lockdown")->status, DOCTOR_WARN);
	cr_assert(strncmp(line_of(&r, "lockdown")->value, "confidentiality", 15) == 0);
}

Test(doctor, missing_controller_and_root_fail)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	f.root = false;
	snprintf(f.controllers, sizeof(f.controllers), "cpuset io pids memory");
	doctor_assess(&f, &r);
	cr_assert_not(r.can_bench);
	cr_assert_eq(line_of(&r, "root")->status, DOCTOR_FAIL);
	cr_assert_eq(line_of(&r, "cgroups")->status, DOCTOR_FAIL);
	cr_assert(strstr(line_of(&r, "cgroups")->fix, "the cpu controller is missing"), "%s",
	          line_of(&r, "cgroups")->fix);
}

Test(doctor, no_docker_cli_warns_only)
{
	struct doctor_facts f;
	struct doctor_report r;
	good_facts(&f);
	f.docker_cli[0] = '\0';
	doctor_assess(&f, &r);
	cr_assert(r.can_bench);
	cr_assert_eq(line_of(&r, "docker CLI")->status, DOCTOR_WARN);
	cr_assert(strstr(line_of(&r, "docker CLI")->fix, "--paths api,direct"));
}

Test(doctor, says_whether_the_waterfall_can_find_dockerds_connections)
{
	struct doctor_facts f;
	good_facts(&f);
	struct doctor_report r;
	doctor_assess(&f, &r);
	for (size_t i = 0; i < r.count; i++)
		cr_assert_str_neq(r.line[i].what, "sock_diag", "not asked: no line");
	f.sock_diag = 1;
	doctor_assess(&f, &r);
	cr_assert_eq(line_of(&r, "sock_diag")->status, DOCTOR_OK);
	cr_assert(strstr(line_of(&r, "sock_diag")->value, "--waterfall"));
	f.sock_diag = -1;
	snprintf(f.sock_diag_error, sizeof(f.sock_diag_error),
	         "the kernel's sock_diag refused to list unix sockets: No such file or directory; "
	         "try `modprobe unix_diag`");
	doctor_assess(&f, &r);
	const struct doctor_line *l = line_of(&r, "sock_diag");
	cr_assert_eq(l->status, DOCTOR_WARN);
	cr_assert(strstr(l->value, "`modprobe unix_diag`: bench --waterfall cannot run"), "%s",
	          l->value);
	cr_assert(strstr(l->fix, "modprobe unix_diag"), "%s", l->fix);
	cr_assert(r.can_bench, "the waterfall is an option: bench runs without it");
}
