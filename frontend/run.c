/* cglat run: a cgroup of its own, limits applied, CMD started inside it (no shell),
 * signals forwarded, what it used printed, the cgroup removed. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "opts.h"
#include "run.h"
#include "signals.h"
#include "stale.h"
#include "units.h"
#include "workload.h"

#define PROG "cglat run"

void run_usage(FILE *out)
{
	fputs("Usage: cglat run [OPTIONS] [--] CMD [ARGS...]\n"
	      "\n"
	      "Run CMD (no shell) in a cgroup of its own with the given limits: PARENT/cglat/NAME\n"
	      "in each cgroup v1 hierarchy it needs (memory, cpu, cpuacct, and cpuset or pids\n"
	      "when limited), or one cgroup v2 directory with the controllers enabled above it.\n"
	      "Signals (INT, TERM, HUP, QUIT) are forwarded to CMD. When CMD ends, cglat prints\n"
	      "on stderr how it ended (OOM kills included), the cgroup's peak memory, CPU time\n"
	      "and throttling, and removes the cgroup. Change it while it runs with\n"
	      "`cglat set --cgroup cglat/NAME ...`.\n"
	      "\n"
	      "Limits:\n" OPTS_LIMIT_HELP "\n"
	      "Options:\n"
	      "      --name NAME             the cgroup's name (default cglat-run-PID)\n"
	      "      --parent PATH           make cglat/NAME under this cgroup (a delegated one "
	      "on\n"
	      "                              v2) instead of the root\n"
	      "      --keep                  leave the cgroup when CMD ends\n"
	      "  -v, --verbose               print each limit file written\n"
	      "  -h, --help                  show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo cglat run --memory 512m --cpus 1 -- make -j8     # a build, confined\n"
	      "  sudo cglat run --name job --pids-max 64 -- ./server   # then, elsewhere:\n"
	      "  sudo cglat set --cgroup cglat/job --cpus 0.5          #   throttle it live\n"
	      "  sudo cglat run --cpuset-cpus 1 --nice 10 -- ./batch   # one CPU, low priority\n"
	      "  sudo cglat run --keep --name t -- ./bench             # inspect the cgroup after\n"
	      "\n"
	      "Exit status: CMD's own, 128+N when a signal N killed it, 127 when CMD was not\n"
	      "found, 126 when it could not be run, 1 when cglat failed, 2 on bad usage.\n",
	      out);
}

static const struct option run_options[] = {
        OPTS_LIMIT_OPTIONS,
        {"name", required_argument, NULL, 'N'},
        {"parent", required_argument, NULL, 'P'},
        {"keep", no_argument, NULL, 'k'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int parse_opt(struct run_args *a, int c, int idx, struct cg_err *err)
{
	switch (c) {
	case 'm':
		return cglat_limits_parse(&a->limits, "memory", optarg, err);
	case OPTS_LIMIT:
		return cglat_limits_parse(&a->limits, run_options[idx].name, optarg, err);
	case 'N':
		a->name = optarg;
		return cglat_check_cgroup_name(optarg, err);
	case 'P':
		a->parent = optarg;
		return cglat_check_cgroup_path(optarg, "--parent", err);
	case 'k':
		a->keep = true;
		return 0;
	case 'v':
		a->verbose = true;
		return 0;
	case 'h':
		a->help = true;
		return 0;
	default:
		return cg_errf(err, "unknown option; see cglat run --help");
	}
}

int run_parse(int argc, char **argv, struct run_args *a, struct cg_err *err)
{
	memset(a, 0, sizeof(*a));
	optind = 0;
	opterr = 0;
	int c, idx = 0;
	/* '+': options end at CMD, so CMD's own options are left alone. */
	while ((c = getopt_long(argc, argv, "+:m:vh", run_options, &idx)) != -1) {
		if (c == '?')
			return cg_errf(err, "unknown option \"%s\"; see cglat run --help",
			               argv[optind - 1]);
		if (c == ':')
			return cg_errf(err, "option \"%s\" needs a value", argv[optind - 1]);
		if (parse_opt(a, c, idx, err) < 0)
			return -1;
		if (a->help)
			return 0;
	}
	if (optind >= argc)
		return cg_errf(err, "no command: give one after --, like cglat run --memory 64m -- "
		                    "make -j4");
	a->cmd = argv + optind;
	return cglat_limits_check(&a->limits, err);
}

/* ---- limits and report ---------------------------------------------------------------------- */

static unsigned ctl_bit(enum cglat_ctl c)
{
	return 1u << c;
}

static unsigned needed_ctls(const struct cglat_limits *l)
{
	unsigned need = 0;
	if (l->set & (CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP | CGLAT_SET_MEMORY_HIGH))
		need |= ctl_bit(CGLAT_CTL_MEMORY);
	if (l->set & (CGLAT_SET_CPUS | CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD |
	              CGLAT_SET_CPU_WEIGHT | CGLAT_SET_CPU_SHARES))
		need |= ctl_bit(CGLAT_CTL_CPU);
	if (l->set & CGLAT_SET_CPUSET_CPUS)
		need |= ctl_bit(CGLAT_CTL_CPUSET);
	if (l->set & CGLAT_SET_PIDS_MAX)
		need |= ctl_bit(CGLAT_CTL_PIDS);
	return need;
}

static int apply_limits(const struct run_args *a, const struct cglat_target *t, struct cg_err *err)
{
	struct cglat_limits l = a->limits;
	l.set &= ~(unsigned)CGLAT_SET_NICE; /* the child renices itself before exec */
	if (!l.set) {
		fprintf(stderr, PROG ": cgroup %s (%s): no limits\n", t->label + 7,
		        cgroup_mode_name(t->mode));
		return 0;
	}
	struct cglat_plan *p = calloc(1, sizeof(*p));
	struct cglat_apply_result r;
	int rc = p ? 0 : cg_errf(err, "out of memory");
	if (rc == 0 && (cglat_limits_plan(t, &l, p, err) < 0 ||
	                cglat_limits_apply(p, CGLAT_APPLY_VERIFY, &r, err) < 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && a->verbose && i < p->count; i++)
		fprintf(stderr, PROG ": %s: %s -> %s\n", p->w[i].file, p->w[i].old_text,
		        p->w[i].new_text);
	if (rc == 0) {
		char dur[32];
		units_format_duration((double)r.write_ns, dur, sizeof(dur));
		fprintf(stderr, PROG ": cgroup %s (%s): wrote %zu limit file%s in %s\n",
		        t->label + 7, cgroup_mode_name(t->mode), r.written,
		        r.written == 1 ? "" : "s", dur);
	}
	free(p);
	return rc;
}

static void print_status(const struct run_args *a, int status, int64_t oom_before,
                         int64_t oom_after)
{
	fprintf(stderr, PROG ": %s: ", a->cmd[0]);
	if (WIFEXITED(status))
		fprintf(stderr, "exit status %d", WEXITSTATUS(status));
	else
		fprintf(stderr, "killed by signal %d (SIG%s)", WTERMSIG(status),
		        sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
	if (oom_after > oom_before && oom_before >= 0)
		fprintf(stderr, ", OOM-killed (oom_kill %" PRId64 " -> %" PRId64 ")", oom_before,
		        oom_after);
	fprintf(stderr, "\n");
}

static void print_usage(const struct cglat_cgroup_stats *st, double wall_s)
{
	char a[32], b[32];
	fprintf(stderr, PROG ": ");
	if (st->memory_peak >= 0) {
		units_format_size(st->memory_peak, a, sizeof(a));
		fprintf(stderr, "peak memory %s, ", a);
	}
	if (st->cpu_ns >= 0) {
		units_format_duration((double)st->cpu_ns, a, sizeof(a));
		fprintf(stderr, "CPU time %s (%.2f CPUs over %.2f s), ", a,
		        wall_s > 0 ? (double)st->cpu_ns / 1e9 / wall_s : 0.0, wall_s);
	}
	if (st->nr_throttled >= 0) {
		units_format_duration((double)(st->throttled_ns > 0 ? st->throttled_ns : 0), b,
		                      sizeof(b));
		fprintf(stderr, "throttled %" PRId64 " of %" PRId64 " periods (%s)",
		        st->nr_throttled, st->nr_periods, b);
	}
	fprintf(stderr, "\n");
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Everything after the cgroup exists; the caller removes it. */
static int run_in(const struct run_args *a, struct workload *w, struct cg_err *err)
{
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CGROUP, .ref = w->cg.path};
	struct cglat_target *t = NULL;
	if (cglat_target_open(&spec, &t, err) < 0)
		return -1;
	struct cglat_cgroup_stats before, after;
	int rc = -1;
	cglat_cgroup_stats(&w->cg, &before);
	if (apply_limits(a, t, err) < 0)
		goto out;

	struct workload_opts o = {.nice_set = (a->limits.set & CGLAT_SET_NICE) != 0,
	                          .nice = a->limits.nice,
	                          .forward = true};
	if (workload_start(w, a->cmd, &o, err) < 0) {
		if (w->pid == 0 && signals_stop_requested()) /* "interrupted by ..." */
			rc = 128 + signals_stop_requested();
		goto out;
	}
	workload_release(w, true);
	if (workload_wait(w, err) < 0)
		goto out;
	if (*w->child_err) {
		cg_errf(err, "%s", w->child_err);
		rc = WIFEXITED(w->status) && WEXITSTATUS(w->status) >= 126 ? WEXITSTATUS(w->status)
		                                                           : -1;
		goto out;
	}
	cglat_cgroup_stats(&w->cg, &after);
	print_status(a, w->status, before.oom_kills, after.oom_kills);
	print_usage(&after, workload_seconds(w));
	rc = exit_code(w->status);
out:
	cglat_target_close(t);
	return rc;
}

int run_main(int argc, char **argv)
{
	struct run_args a;
	struct cg_err err = {{0}};
	if (run_parse(argc, argv, &a, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	}
	if (a.help) {
		run_usage(stdout);
		return 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, PROG ": must run as root: it makes cgroups and writes their limit "
		                     "files; try: sudo cglat run ...\n");
		return 1;
	}
	/* Until the child runs, SIGINT/SIGTERM only set a flag, so the cgroup is removed; then
	 * the workload forwards them to it. */
	signals_install();
	stale_remove_cgroups(NULL, stderr);
	char name[64];
	snprintf(name, sizeof(name), "cglat-run-%d", (int)getpid());
	unsigned need = needed_ctls(&a.limits);
	unsigned want = need | ctl_bit(CGLAT_CTL_MEMORY) | ctl_bit(CGLAT_CTL_CPU) |
	                ctl_bit(CGLAT_CTL_CPUACCT);
	struct workload w;
	workload_init(&w);
	if (workload_make_cgroup(&w, a.parent, a.name ? a.name : name, want, need, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	memset(&err, 0, sizeof(err));
	int rc = run_in(&a, &w, &err);
	if (rc == -1)
		fprintf(stderr, PROG ": %s\n", err.msg);
	else if (rc >= 126 && *err.msg)
		fprintf(stderr, PROG ": %s\n", err.msg);
	if (a.keep) {
		fprintf(stderr, PROG ": kept cgroup %s\n", w.cg.path);
	} else if (workload_remove_cgroup(&w, 2.0, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		if (rc == 0)
			rc = 1;
	}
	return rc == -1 ? 1 : rc;
}
