/* `cglat doctor`: what `cglat bench` needs, checked on the machine it runs on:
 * kernel, lockdown, kprobes, tracefs, headers, cgroup mode and controllers,
 * Docker, and the strategy `--probe auto` would pick. Facts are gathered
 * first (doctor_gather), then judged and worded by pure functions
 * (doctor_assess, doctor_print) so that the judgement is unit-tested. */
#ifndef CGLAT_DOCTOR_H
#define CGLAT_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cgroup.h"
#include "docker.h"
#include "tracer.h"

enum doctor_status { DOCTOR_OK, DOCTOR_INFO, DOCTOR_WARN, DOCTOR_FAIL };

struct doctor_facts {
	bool root;
	char kernel[128];   /* uname -r */
	char lockdown[128]; /* /sys/kernel/security/lockdown, "" when absent */
	bool securityfs;    /* /sys/kernel/security is mounted (lockdown absent means no LSM) */
	struct tracer_host host;
	bool cgroup_ok; /* a cgroup filesystem is mounted */
	char cgroup_error[512];
	enum cg_mode cgroup_mode;
	char controllers[512]; /* space separated, e.g. "cpu memory pids" */
	bool docker_ok;        /* dockerd answered on the socket */
	char docker_error[512];
	struct docker_info docker;
	char docker_cli[256]; /* the docker CLI found in PATH, "" when none */
	bool vfs_writev;      /* /proc/kallsyms has vfs_writev (gathered with kprobes only) */
	/* io_uring: -1 unknown (no io_uring tracepoints, no io_uring_disabled), or the
	 * value of kernel.io_uring_disabled (0 on, 1 for io_uring_group only, 2 off); 0 on
	 * kernels before 6.6 that have io_uring's tracepoints but no such switch. */
	int io_uring;
	/* bench --waterfall finds dockerd's connections through sock_diag: 1 it lists unix
	 * sockets' peers, -1 it refused (sock_diag_error says why), 0 not asked */
	int sock_diag;
	char sock_diag_error[256];
};

struct doctor_line {
	enum doctor_status status;
	char what[24];
	char value[512];
	char fix[512]; /* "" when there is nothing to fix */
};

#define DOCTOR_MAX_LINES 20

struct doctor_report {
	struct doctor_line line[DOCTOR_MAX_LINES];
	size_t count;
	bool can_bench;              /* `cglat bench` with its defaults could run */
	enum tracer_strategy chosen; /* what --probe auto picks, when can_bench */
};

/* Reads the live system. docker_sock NULL: the default socket. */
void doctor_gather(struct doctor_facts *f, const char *docker_sock);

/* Judges the facts: one line per item, with the fix when one is needed. Pure. */
void doctor_assess(const struct doctor_facts *f, struct doctor_report *r);

/* "ok", "info", "warn", "FAIL". */
const char *doctor_status_name(enum doctor_status s);

/* Prints the report: one line per item, "fix:" lines under them, a verdict. Pure. */
void doctor_print(FILE *out, const struct doctor_report *r);

/* The `cglat doctor` subcommand; argv[0] is "doctor". Exit status: 0 when
 * bench can run, 1 when it could not, 2 on bad usage. */
int doctor_main(int argc, char **argv);

#endif
