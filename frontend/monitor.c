#include "monitor.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event_match.h"
#include "cgroup.h"
#include "cgroup_usage.h"
#include "docker.h"
#include "opts.h"
#include "signals.h"
#include "stale.h"
#include "text.h"
#include "units.h"
#include "workload.h"

extern char **environ;

/* ------------------------------------------------------------ pure parts */

static double per_s(int64_t delta, double dt)
{
	return dt > 0 && delta >= 0 ? (double)delta / dt : -1;
}

void monitor_rates(const struct monitor_raw *prev, const struct monitor_raw *cur,
                   struct monitor_sample *out)
{
	memset(out, 0, sizeof(*out));
	double dt = cur->t - prev->t;
	out->t = cur->t;
	out->mem_mib = cur->mem_bytes >= 0 ? (double)cur->mem_bytes / (1024.0 * 1024.0) : -1;
	out->mem_limit_mib = cur->mem_limit >= 0 ? (double)cur->mem_limit / (1024.0 * 1024.0) : -1;
	int64_t resident = cur->vmrss_kb + cur->vmswap_kb;
	out->rss_share = resident > 0 ? (double)cur->vmrss_kb / (double)resident : -1;
	out->faults_s = per_s(
	        (int64_t)(cur->counts[CGLAT_MON_PAGE_FAULTS] - prev->counts[CGLAT_MON_PAGE_FAULTS]),
	        dt);
	out->lru_s = per_s((int64_t)(cur->counts[CGLAT_MON_LRU_ISOLATED] -
	                             prev->counts[CGLAT_MON_LRU_ISOLATED]),
	                   dt);
	out->swapout_s = per_s((int64_t)(cur->counts[CGLAT_MON_PAGES_WRITTEN] -
	                                 prev->counts[CGLAT_MON_PAGES_WRITTEN]),
	                       dt);
	out->swapin_s =
	        cur->swapin >= 0 && prev->swapin >= 0 ? per_s(cur->swapin - prev->swapin, dt) : -1;
	out->cpu_used = cur->cpu_ns >= 0 && prev->cpu_ns >= 0
	                        ? per_s(cur->cpu_ns - prev->cpu_ns, dt) / 1e9
	                        : -1;
	out->cpu_limit = cur->cpu_quota > 0 && cur->cpu_period > 0
	                         ? (double)cur->cpu_quota / (double)cur->cpu_period
	                         : -1;
	out->throttled_s = cur->nr_throttled >= 0 && prev->nr_throttled >= 0
	                           ? per_s(cur->nr_throttled - prev->nr_throttled, dt)
	                           : -1;
	out->throttled_ms_s = cur->throttled_ns >= 0 && prev->throttled_ns >= 0
	                              ? per_s(cur->throttled_ns - prev->throttled_ns, dt) / 1e6
	                              : -1;
	out->tasks = cur->tasks;
}

static const char *const csv_columns =
        "t_s,mem_mib,mem_limit_mib,rss_share,faults_s,lru_isolated_s,swapin_s,swapout_s,"
        "cpu_used,cpu_limit,throttled_s,throttled_ms_s,tasks,changes,change";

void monitor_csv_header(FILE *out)
{
	fprintf(out, "%s\n", csv_columns);
}

/* Unknown values are empty fields, which gnuplot skips. */
static void csv_num(FILE *out, double v, const char *fmt)
{
	if (v >= 0)
		fprintf(out, fmt, v);
	fputc(',', out);
}

void monitor_csv_row(FILE *out, const struct monitor_sample *s)
{
	fprintf(out, "%.3f,", s->t);
	csv_num(out, s->mem_mib, "%.3f");
	csv_num(out, s->mem_limit_mib, "%.3f");
	csv_num(out, s->rss_share, "%.4f");
	csv_num(out, s->faults_s, "%.1f");
	csv_num(out, s->lru_s, "%.1f");
	csv_num(out, s->swapin_s, "%.1f");
	csv_num(out, s->swapout_s, "%.1f");
	csv_num(out, s->cpu_used, "%.4f");
	csv_num(out, s->cpu_limit, "%.4f");
	csv_num(out, s->throttled_s, "%.1f");
	csv_num(out, s->throttled_ms_s, "%.2f");
	fprintf(out, "%d,%d,\"%s\"\n", s->tasks, s->changes, s->change);
}

void monitor_text_header(FILE *out)
{
	fprintf(out, "%7s %9s %9s %5s %9s %9s %8s %8s %6s %6s %7s %5s  %s\n", "TIME(s)", "MEM(MiB)",
	        "LIMIT", "RSS%", "FAULTS/s", "LRU/s", "SWPIN/s", "SWPOUT/s", "CPU", "CPULIM",
	        "THRT/s", "TASKS", "LIMIT CHANGES");
}

static void field(char *buf, size_t len, double v, const char *fmt)
{
	if (v >= 0)
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "-");
}

void monitor_text_row(FILE *out, const struct monitor_sample *s)
{
	char f[11][24];
	field(f[0], 24, s->mem_mib, "%.1f");
	field(f[1], 24, s->mem_limit_mib, "%.1f");
	field(f[2], 24, s->rss_share * 100, "%.0f");
	field(f[3], 24, s->faults_s, "%.0f");
	field(f[4], 24, s->lru_s, "%.0f");
	field(f[5], 24, s->swapin_s, "%.0f");
	field(f[6], 24, s->swapout_s, "%.0f");
	field(f[7], 24, s->cpu_used, "%.2f");
	field(f[8], 24, s->cpu_limit, "%.2f");
	field(f[9], 24, s->throttled_s, "%.0f");
	if (s->mem_limit_mib < 0)
		snprintf(f[1], 24, "max");
	if (s->cpu_limit < 0)
		snprintf(f[8], 24, "max");
	char changes[128] = "";
	if (s->changes)
		snprintf(changes, sizeof(changes), "%s%s", s->change,
		         s->changes > 1 ? " (+more)" : "");
	fprintf(out, "%7.1f %9s %9s %5s %9s %9s %8s %8s %6s %6s %7s %5d  %s\n", s->t, f[0], f[1],
	        f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], s->tasks, changes);
}

static const char *ext_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot && !strchr(dot, '/') ? dot + 1 : "";
}

unsigned monitor_panels_with_data(const struct monitor_sample *s, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		const struct monitor_sample *x = &s[i];
		bits |= (x->mem_mib >= 0 || x->mem_limit_mib >= 0) << 0;
		bits |= (x->rss_share >= 0) << 1;
		bits |= (x->faults_s >= 0) << 2;
		bits |= (x->lru_s >= 0) << 3;
		bits |= (x->swapin_s >= 0 || x->swapout_s >= 0) << 4;
		bits |= (x->cpu_used >= 0 || x->cpu_limit >= 0) << 5;
		bits |= (x->throttled_s >= 0 || x->throttled_ms_s >= 0) << 6;
		bits |= 1u << 7; /* tasks are always counted */
	}
	return bits;
}

static bool plot_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '\'' || iscntrl((unsigned char)*s))
			return false;
	return true;
}

int monitor_plot_script(FILE *out, const char *csv_path, const char *plot_path, const char *title,
                        double t_end, unsigned with_data, const double *change_times,
                        size_t nchanges, struct cg_err *err)
{
	const char *ext = ext_of(plot_path);
	const char *terminal;
	if (strcasecmp(ext, "png") == 0)
		terminal = "pngcairo size 1200,1500 font 'sans,9'";
	else if (strcasecmp(ext, "svg") == 0)
		terminal = "svg size 1200,1500 dynamic font 'sans,9'";
	else
		return cg_errf(err, "--plot %s: the file name must end in .png or .svg", plot_path);
	/* gnuplot strings are in single quotes: a quote in a name would end them, and a newline
	 * the command, so that the rest ran as gnuplot commands (`!cmd` runs a shell). */
	if (!plot_safe(csv_path) || !plot_safe(plot_path) || !plot_safe(title))
		return cg_errf(err, "--plot: file names with a single quote or a control character "
		                    "are not supported");
	fprintf(out,
	        "set terminal %s\n"
	        "set output '%s'\n"
	        "set datafile separator ','\n"
	        "set key bmargin center horizontal\n"
	        "set grid\n"
	        "set xtics format '%%gs'\n"
	        "set xrange [0:%.3f]\n"
	        "set multiplot layout 4,2 title '%s'\n",
	        terminal, plot_path, t_end > 0 ? t_end : 1.0, title);
	for (size_t i = 0; i < nchanges; i++)
		fprintf(out,
		        "set arrow %zu from %.3f, graph 0 to %.3f, graph 1 nohead lc rgb "
		        "'red' dt 2\n",
		        i + 1, change_times[i], change_times[i]);
	static const char *const titles[MONITOR_PANELS] = {
	        "memory (MiB), limit changes dashed",
	        "RSS share: vmrss / (vmrss + vmswap)",
	        "page faults / s",
	        "LRU isolations / s (vmscan)",
	        "swap pages / s",
	        "CPU (CPUs)",
	        "CFS throttling",
	        "tasks",
	};
	static const char *const plots[MONITOR_PANELS] = {
	        "plot f using 1:2 with lines lw 2 title 'in use', "
	        "f using 1:3 with steps lw 2 title 'limit'\n",
	        "set yrange [0:1.05]\nplot f using 1:4 with lines lw 2 title 'RSS share'\n"
	        "set yrange [*:*]\n",
	        "plot f using 1:5 with lines lw 2 title 'faults/s'\n",
	        "plot f using 1:6 with lines lw 2 title 'pages isolated/s'\n",
	        "plot f using 1:7 with lines lw 2 title 'in', "
	        "f using 1:8 with lines lw 2 title 'out (reclaim writeback)'\n",
	        "plot f using 1:9 with lines lw 2 title 'used', "
	        "f using 1:10 with steps lw 2 title 'limit'\n",
	        "plot f using 1:11 with lines lw 2 title 'periods/s', "
	        "f using 1:12 with lines lw 2 title 'ms/s'\n",
	        "plot f using 1:13 with steps lw 2 title 'tasks'\n",
	};
	fprintf(out, "f = '%s'\n", csv_path);
	for (int i = 0; i < MONITOR_PANELS; i++) {
		fprintf(out, "set title '%s'\n", titles[i]);
		if (with_data & (1u << i))
			fputs(plots[i], out);
		else
			fputs("set yrange [0:1]\nset label 99 'no data' at graph 0.5, graph 0.5 "
			      "center\nplot 1/0 notitle\nunset label 99\nset yrange [*:*]\n",
			      out);
	}
	fprintf(out, "unset multiplot\n");
	return ferror(out) ? cg_errf(err, "writing the plot script failed") : 0;
}

/* ------------------------------------------------------------------ live */

struct monitor {
	const struct monitor_config *cfg;
	struct cglat_target *target;
	struct tracer *tracer;
	char match_dir[256]; /* last component of the target's cgroup: names its limit writes */
	/* limit changes of the current interval, and all of them for the plot */
	int changes;
	char change[96];
	double *change_times;
	size_t nchange_times, cap_change_times;
	uint64_t start_ns;
	FILE *csv;
	char csv_path[PATH_MAX];
	bool csv_is_temp;
	bool live; /* redraw in place */
	struct monitor_sample *history;
	size_t nhistory, cap_history;
};

static void monitor_usage(FILE *out)
{
	fputs("Usage: cglat monitor [OPTIONS] TARGET\n"
	      "       cglat monitor [OPTIONS] [LIMITS] -- CMD [ARGS...]\n"
	      "\n"
	      "Every interval, a workload's memory in use and limit, RSS share, page faults,\n"
	      "LRU isolations, swap-ins and -outs, CPU used and limit and CFS throttling, and\n"
	      "any limit change written in the interval. Event counts come from BPF programs\n"
	      "filtered in the kernel to the workload's processes. With -- CMD, CMD is started\n"
	      "in a cgroup of its own (as `cglat run` does) and monitored until it exits.\n"
	      "\n"
	      "Target (one of):\n"
	      "  CONTAINER                   a Docker container name or id\n"
	      "      --pid PID               the cgroups of a process\n"
	      "      --cgroup PATH           a cgroup, e.g. cglat/job1 or /sys/fs/cgroup/memory/x\n"
	      "      --no-daemon             find a container by id without asking dockerd\n"
	      "\n"
	      "Options:\n"
	      "  -i, --interval SECONDS      sampling interval (default 1)\n"
	      "  -d, --duration SECONDS      stop after this long (default: Ctrl-C or CMD's exit)\n"
	      "      --csv FILE              write every interval to FILE\n"
	      "      --plot FILE             draw every metric over time into FILE (.png or .svg)\n"
	      "      --probe STRATEGY        auto, tracepoint or kprobe (default auto)\n"
	      "  -h, --help                  show this help\n"
	      "\n"
	      "With -- CMD (as cglat run):\n" OPTS_LIMIT_HELP
	      "      --name NAME             the cgroup's name (default cglat-monitor-PID)\n"
	      "      --parent PATH           make cglat/NAME under this cgroup (a delegated one "
	      "on\n"
	      "                              v2) instead of the root\n"
	      "      --keep                  leave the cgroup when CMD ends\n"
	      "\n"
	      "Examples:\n"
	      "  sudo cglat monitor web --plot web.png             # a container, until Ctrl-C\n"
	      "  sudo cglat monitor --pid 4242 -i 0.5 -d 30 --csv p.csv\n"
	      "  sudo cglat monitor --memory 64m --plot m.png -- ./allocate 200\n"
	      "  sudo cglat monitor --cpus 1 --nice 10 -- make -j4  # a build, low priority\n"
	      "  # meanwhile, from another terminal: sudo cglat set --cgroup cglat/NAME --memory "
	      "32m\n",
	      out);
}

int monitor_parse(int argc, char **argv, struct monitor_config *cfg, bool *help, struct cg_err *err)
{
	enum {
		O_PID = OPTS_LIMIT + 1,
		O_CGROUP,
		O_NO_DAEMON,
		O_CSV,
		O_PLOT,
		O_PROBE,
		O_NAME,
		O_PARENT,
		O_KEEP,
	};
	static const struct option options[] = {
	        OPTS_LIMIT_OPTIONS,
	        {"pid", required_argument, NULL, O_PID},
	        {"cgroup", required_argument, NULL, O_CGROUP},
	        {"no-daemon", no_argument, NULL, O_NO_DAEMON},
	        {"interval", required_argument, NULL, 'i'},
	        {"duration", required_argument, NULL, 'd'},
	        {"csv", required_argument, NULL, O_CSV},
	        {"plot", required_argument, NULL, O_PLOT},
	        {"probe", required_argument, NULL, O_PROBE},
	        {"name", required_argument, NULL, O_NAME},
	        {"parent", required_argument, NULL, O_PARENT},
	        {"keep", no_argument, NULL, O_KEEP},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(cfg, 0, sizeof(*cfg));
	cfg->interval_s = 1.0;
	cfg->probe = TRACER_AUTO;
	*help = false;
	optind = 0; /* glibc: a full restart, also of a half-read "-abc" of an earlier parse */
	opterr = 0;
	/* Options end at "--": what follows is the command, untouched by getopt. */
	int dashdash = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	int optc = dashdash >= 0 ? dashdash : argc;
	int c, index = 0;
	char *end;
	while ((c = getopt_long(optc, argv, ":i:d:m:h", options, &index)) != -1) {
		switch (c) {
		case O_PID:
			errno = 0;
			long pid = strtol(optarg, &end, 10);
			if (!optarg[0] || *end || errno || pid <= 0 || pid > 4194304)
				return cg_errf(err, "--pid: expected a process id, got \"%s\"",
				               optarg);
			cfg->spec.kind = CGLAT_TARGET_PID;
			cfg->spec.pid = (pid_t)pid;
			cfg->has_target = true;
			break;
		case O_CGROUP:
			if (cglat_check_cgroup_path(optarg, "--cgroup", err))
				return -1;
			cfg->spec.kind = CGLAT_TARGET_CGROUP;
			cfg->spec.ref = optarg;
			cfg->has_target = true;
			break;
		case O_NO_DAEMON:
			cfg->spec.no_daemon = true;
			break;
		case 'i':
			if (limits_parse_seconds("-i/--interval", optarg, 1e7, &cfg->interval_s,
			                         err))
				return -1;
			if (cfg->interval_s < 0.1)
				return cg_errf(err, "-i/--interval: at least 0.1 s");
			break;
		case 'd':
			if (limits_parse_seconds("-d/--duration", optarg, 1e7, &cfg->duration_s,
			                         err))
				return -1;
			break;
		case O_CSV:
			cfg->csv = optarg;
			break;
		case O_PLOT:
			cfg->plot = optarg;
			if (strcasecmp(ext_of(optarg), "png") && strcasecmp(ext_of(optarg), "svg"))
				return cg_errf(err,
				               "--plot %s: the file name must end in .png or "
				               ".svg",
				               optarg);
			break;
		case O_PROBE:
			if (tracer_parse_strategy(optarg, &cfg->probe, err))
				return -1;
			break;
		case O_NAME:
			if (cglat_check_cgroup_name(optarg, err))
				return -1;
			cfg->name = optarg;
			break;
		case O_PARENT:
			if (cglat_check_cgroup_path(optarg, "--parent", err))
				return -1;
			cfg->parent = optarg;
			break;
		case O_KEEP:
			cfg->keep = true;
			break;
		case 'm':
			if (cglat_limits_parse(&cfg->limits, "memory", optarg, err))
				return -1;
			break;
		case OPTS_LIMIT:
			if (cglat_limits_parse(&cfg->limits, options[index].name, optarg, err))
				return -1;
			break;
		case 'h':
			*help = true;
			return 0;
		case ':':
			return cg_errf(err, "option %s needs a value; see cglat monitor --help",
			               argv[optind - 1]);
		default:
			return cg_errf(err, "unknown option %s; see cglat monitor --help",
			               argv[optind - 1]);
		}
	}
	if (dashdash >= 0) {
		if (dashdash + 1 >= argc)
			return cg_errf(err, "nothing to run after --; see cglat monitor --help");
		if (cfg->has_target || optind < optc)
			return cg_errf(err, "give either a TARGET or -- CMD, not both");
		cfg->cmd = argv + dashdash + 1;
		return cglat_limits_check(&cfg->limits, err);
	}
	if (cfg->limits.set || cfg->name || cfg->parent || cfg->keep)
		return cg_errf(err, "limits, --name, --parent and --keep go with -- CMD; to change "
		                    "a running target's limits use cglat set");
	if (optind < optc) {
		if (cfg->has_target)
			return cg_errf(err,
			               "unexpected argument \"%s\": the target is already "
			               "given",
			               argv[optind]);
		if (docker_validate_ref(argv[optind], err))
			return -1;
		cfg->spec.kind = CGLAT_TARGET_CONTAINER;
		cfg->spec.ref = argv[optind++];
		cfg->has_target = true;
	}
	if (optind < argc)
		return cg_errf(err, "unexpected argument \"%s\"; see cglat monitor --help",
		               argv[optind]);
	if (!cfg->has_target)
		return cg_errf(err, "no target: give a container, --pid, --cgroup or -- CMD; see "
		                    "cglat monitor --help");
	return 0;
}

static int64_t read_int_file(const char *path)
{
	char buf[64];
	if (cgroup_read_file(path, buf, sizeof(buf), NULL) < 0)
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	return errno || end == buf ? -1 : (int64_t)v;
}

static int64_t keyed(const char *path, const char *key)
{
	int e;
	char *text = cgroup_read_all(path, &e);
	int64_t v = -1;
	if (text && !cgroup_keyed_value(text, key, &v))
		v = -1;
	free(text);
	return v;
}

/* VmRSS and VmSwap of a process, in kB; false when it is gone. */
static bool process_memory(pid_t pid, int64_t *rss_kb, int64_t *swap_kb)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	long long v;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
			*rss_kb += v;
		else if (sscanf(line, "VmSwap: %lld kB", &v) == 1)
			*swap_kb += v;
	}
	fclose(f);
	return true;
}

/* The target's processes: counted, their memory summed, and (re)added to the
 * probes' set so that processes moved in by others are followed too. */
static void read_tasks(struct monitor *m, struct monitor_raw *raw)
{
	char path[PATH_MAX];
	if (cglat_target_path(m->target, CG_KNOB_PROCS, path, sizeof(path), NULL, NULL) < 0)
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (!process_memory((pid_t)pid, &raw->vmrss_kb, &raw->vmswap_kb))
			continue;
		raw->tasks++;
		tracer_monitor_add(m->tracer, (pid_t)pid, NULL);
	}
	fclose(f);
}

static void read_memory(struct monitor *m, struct monitor_raw *raw)
{
	char path[PATH_MAX], text[64];
	int v = m->target->version[CGLAT_CTL_MEMORY];
	if (cglat_target_path(m->target, CG_KNOB_MEMORY_USAGE, path, sizeof(path), NULL, NULL) == 0)
		raw->mem_bytes = read_int_file(path);
	if (cglat_target_path(m->target, CG_KNOB_MEMORY_MAX, path, sizeof(path), NULL, NULL) == 0 &&
	    cgroup_read_file(path, text, sizeof(text), NULL) == 0 &&
	    cgroup_parse_limit(CG_RES_MEMORY, v, text, &raw->mem_limit, NULL, NULL) < 0)
		raw->mem_limit = -1;
	if (m->target->has[CGLAT_CTL_MEMORY]) {
		snprintf(path, sizeof(path), "%s/memory.stat", m->target->dir[CGLAT_CTL_MEMORY]);
		raw->swapin = keyed(path, "pswpin");
	}
}

static void read_cpu(struct monitor *m, struct monitor_raw *raw)
{
	char path[PATH_MAX], stat[PATH_MAX], text[64];
	int usage_v = 0, stat_v = 0;
	bool has_usage = cglat_target_path(m->target, CG_KNOB_CPU_USAGE, path, sizeof(path),
	                                   &usage_v, NULL) == 0;
	bool has_stat = cglat_target_path(m->target, CG_KNOB_CPU_STAT, stat, sizeof(stat), &stat_v,
	                                  NULL) == 0;
	struct cg_cpu_usage cpu;
	cgroup_read_cpu_usage(has_usage ? path : NULL, usage_v, has_stat ? stat : NULL, stat_v,
	                      &cpu);
	raw->cpu_ns = cpu.cpu_ns;
	raw->nr_throttled = cpu.nr_throttled;
	raw->throttled_ns = cpu.throttled_ns;
	int v = m->target->version[CGLAT_CTL_CPU];
	if (cglat_target_path(m->target, CG_KNOB_CPU_QUOTA, path, sizeof(path), NULL, NULL) == 0 &&
	    cgroup_read_file(path, text, sizeof(text), NULL) == 0) {
		int64_t period = -1;
		if (cgroup_parse_limit(CG_RES_CPU, v, text, &raw->cpu_quota, &period, NULL) < 0)
			raw->cpu_quota = -1;
		if (v == 1 && cglat_target_path(m->target, CG_KNOB_CPU_PERIOD, path, sizeof(path),
		                                NULL, NULL) == 0)
			period = read_int_file(path);
		raw->cpu_period = period;
	}
}

static int read_raw(struct monitor *m, struct monitor_raw *raw, struct cg_err *err)
{
	memset(raw, 0, sizeof(*raw));
	raw->cpu_ns = raw->nr_throttled = raw->throttled_ns = raw->swapin = -1;
	raw->mem_bytes = raw->mem_limit = raw->cpu_quota = raw->cpu_period = -1;
	raw->t = (double)(tracer_now_ns() - m->start_ns) / 1e9;
	if (tracer_monitor_counts(m->tracer, raw->counts, err) < 0)
		return -1;
	read_tasks(m, raw);
	read_memory(m, raw);
	read_cpu(m, raw);
	return 0;
}

/* A limit write to the target's cgroup: its directory's last component is the
 * target's (the path runc, cglat set or a shell opened may be relative). */
static void on_event(void *ctx, const struct cglat_event *ev)
{
	struct monitor *m = ctx;
	if (ev->kind != CGLAT_EV_WRITE || ev->ret < 0)
		return;
	const char *slash = strrchr(ev->path, '/');
	if (!slash)
		return;
	size_t dl = (size_t)(slash - ev->path), ml = strlen(m->match_dir);
	if (dl < ml || strncmp(slash - ml, m->match_dir, ml) != 0 ||
	    (dl > ml && slash[-(long)ml - 1] != '/'))
		return;
	char value[CGLAT_DATA_LEN + 1];
	event_written_value(ev->data, ev->data_len, value, sizeof(value));
	m->changes++;
	snprintf(m->change, sizeof(m->change), "%s=%s", slash + 1, value);
	if (m->nchange_times == m->cap_change_times) {
		size_t cap = m->cap_change_times ? m->cap_change_times * 2 : 16;
		double *bigger = realloc(m->change_times, cap * sizeof(*bigger));
		if (!bigger)
			return;
		m->change_times = bigger;
		m->cap_change_times = cap;
	}
	m->change_times[m->nchange_times++] =
	        ev->ts_exit > m->start_ns ? (double)(ev->ts_exit - m->start_ns) / 1e9 : 0;
}

static int terminal_rows(void)
{
	struct winsize ws;
	return ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 8 ? ws.ws_row : 24;
}

static void show(struct monitor *m, const struct monitor_sample *s)
{
	if (!m->live) {
		if (m->nhistory == 1)
			monitor_text_header(stdout);
		monitor_text_row(stdout, s);
		fflush(stdout);
		return;
	}
	/* Redraw in place, like top: title, header, as many recent rows as fit. */
	size_t rows = (size_t)terminal_rows() - 4;
	size_t first = m->nhistory > rows ? m->nhistory - rows : 0;
	printf("\033[H\033[2J");
	printf("cglat monitor: %s (Ctrl-C to stop)\n", m->target->label);
	monitor_text_header(stdout);
	for (size_t i = first; i < m->nhistory; i++)
		monitor_text_row(stdout, &m->history[i]);
	fflush(stdout);
}

static int record(struct monitor *m, const struct monitor_sample *s, struct cg_err *err)
{
	if (m->nhistory == m->cap_history) {
		size_t cap = m->cap_history ? m->cap_history * 2 : 256;
		struct monitor_sample *bigger = realloc(m->history, cap * sizeof(*bigger));
		if (!bigger)
			return cg_errf(err, "out of memory");
		m->history = bigger;
		m->cap_history = cap;
	}
	m->history[m->nhistory++] = *s;
	if (m->csv) {
		monitor_csv_row(m->csv, s);
		fflush(m->csv);
	}
	show(m, s);
	return 0;
}

/* ------------------------------------------------------------- -- CMD */

/* CMD joins the cgroup and the probes' set before it runs a single instruction of its
 * own. */
static int start_workload(const struct monitor_config *cfg, struct monitor *m, struct workload *w,
                          struct cg_err *err)
{
	char name[128];
	text_copy(name, sizeof(name), cfg->name);
	if (!cfg->name)
		snprintf(name, sizeof(name), "cglat-monitor-%d", (int)getpid());
	unsigned want = (1u << CGLAT_CTL_MEMORY) | (1u << CGLAT_CTL_CPU) |
	                (1u << CGLAT_CTL_CPUACCT) | (1u << CGLAT_CTL_PIDS) |
	                (1u << CGLAT_CTL_CPUSET);
	unsigned need = (1u << CGLAT_CTL_MEMORY) | (1u << CGLAT_CTL_CPU);
	if (workload_make_cgroup(w, cfg->parent, name, want, need, err) < 0)
		return -1;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CGROUP, .ref = w->cg.path};
	if (cglat_target_open(&spec, &m->target, err) < 0)
		return -1;
	struct cglat_limits l = cfg->limits;
	l.set &= ~(unsigned)CGLAT_SET_NICE; /* the child renices itself before exec */
	if (l.set) {
		struct cglat_plan plan;
		struct cglat_apply_result res;
		if (cglat_limits_plan(m->target, &l, &plan, err) < 0 ||
		    cglat_limits_apply(&plan, 0, &res, err) < 0)
			return -1;
	}
	struct workload_opts o = {.nice_set = (cfg->limits.set & CGLAT_SET_NICE) != 0,
	                          .nice = cfg->limits.nice};
	if (workload_start(w, cfg->cmd, &o, err) < 0)
		return -1;
	if (tracer_monitor_add(m->tracer, w->pid, err) < 0) {
		workload_release(w, false);
		return -1;
	}
	workload_release(w, true);
	fprintf(stderr, "cglat monitor: started %s as PID %d in cgroup %s\n", cfg->cmd[0],
	        (int)w->pid, w->cg.path);
	if (*w->child_err)
		fprintf(stderr, "cglat monitor: %s\n", w->child_err);
	return 0;
}

static void print_summary(const struct workload *w)
{
	struct cglat_cgroup_stats st;
	cglat_cgroup_stats(&w->cg, &st);
	char peak[32] = "-";
	if (st.memory_peak >= 0)
		limits_format_size(st.memory_peak, peak, sizeof(peak));
	if (WIFEXITED(w->status))
		fprintf(stderr, "cglat monitor: %d exited with status %d", (int)w->pid,
		        WEXITSTATUS(w->status));
	else if (WIFSIGNALED(w->status))
		fprintf(stderr, "cglat monitor: %d was killed by signal %d%s", (int)w->pid,
		        WTERMSIG(w->status),
		        st.oom_kills > 0 && WTERMSIG(w->status) == SIGKILL ? " (OOM-killed)" : "");
	fprintf(stderr, "; peak memory %s, CPU %.2f s, throttled %lld of %lld periods\n", peak,
	        st.cpu_ns >= 0 ? (double)st.cpu_ns / 1e9 : 0.0, (long long)st.nr_throttled,
	        (long long)st.nr_periods);
}

/* ------------------------------------------------------------------ plot */

/* gnuplot warns about panels with a series that has no point (swap-ins where the
 * kernel does not count them): its stderr goes to a temporary file, shown only
 * when it fails. */
static int run_gnuplot(const char *script, struct cg_err *err)
{
	char log[] = "/tmp/cglat-gnuplot-XXXXXX";
	int logfd = mkstemp(log);
	if (logfd < 0)
		return cg_errf(err, "cannot make a temporary file: %s", strerror(errno));
	unlink(log);
	pid_t pid;
	const char *argv[] = {"gnuplot", script, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, logfd, 2);
	int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		close(logfd);
		return cg_errf(err,
		               "cannot run gnuplot: %s; install it (apt-get install "
		               "gnuplot-nox)",
		               strerror(rc));
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			close(logfd);
			return cg_errf(err, "waiting for gnuplot: %s", strerror(errno));
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		close(logfd);
		return 0;
	}
	char text[2048] = "";
	ssize_t n = pread(logfd, text, sizeof(text) - 1, 0);
	close(logfd);
	if (n > 0)
		text[n] = '\0';
	return cg_errf(err, "gnuplot failed:\n%s", text);
}

static int write_plot(struct monitor *m, struct cg_err *err)
{
	const char *plot = m->cfg->plot;
	char script[] = "/tmp/cglat-plot-XXXXXX";
	int fd = mkstemp(script); /* 0600 */
	if (fd < 0)
		return cg_errf(err, "cannot make a temporary file: %s", strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(script);
		return cg_errf(err, "cannot write %s: %s", script, strerror(errno));
	}
	char title[512];
	snprintf(title, sizeof(title), "cglat monitor: %s", m->target->label);
	for (char *p = title; *p; p++)
		if (*p == '\'')
			*p = '"';
	double t_end = m->history[m->nhistory - 1].t;
	int rc = monitor_plot_script(f, m->csv_path, plot, title, t_end,
	                             monitor_panels_with_data(m->history, m->nhistory),
	                             m->change_times, m->nchange_times, err);
	if (fclose(f) != 0 && rc == 0)
		rc = cg_errf(err, "writing %s failed", script);
	if (rc == 0)
		rc = run_gnuplot(script, err);
	unlink(script);
	struct stat st;
	if (rc == 0 && (stat(plot, &st) != 0 || st.st_size == 0))
		rc = cg_errf(err, "gnuplot wrote no %s", plot);
	if (rc == 0)
		fprintf(stderr, "cglat monitor: plot written to %s\n", plot);
	return rc;
}

static int open_csv(struct monitor *m, struct cg_err *err)
{
	if (m->cfg->csv) {
		text_copy(m->csv_path, sizeof(m->csv_path), m->cfg->csv);
		m->csv = fopen(m->csv_path, "w");
	} else if (m->cfg->plot) {
		/* The plot reads the samples from a CSV file: a private temporary one. */
		snprintf(m->csv_path, sizeof(m->csv_path), "/tmp/cglat-monitor-XXXXXX");
		int fd = mkstemp(m->csv_path);
		m->csv = fd >= 0 ? fdopen(fd, "w") : NULL;
		m->csv_is_temp = true;
	} else {
		return 0;
	}
	if (!m->csv)
		return cg_errf(err, "cannot write %s: %s", m->csv_path, strerror(errno));
	monitor_csv_header(m->csv);
	return 0;
}

/* ------------------------------------------------------------------ loop */

static int sample_loop(struct monitor *m, struct workload *w, struct cg_err *err)
{
	const struct monitor_config *cfg = m->cfg;
	struct monitor_raw prev, cur;
	if (read_raw(m, &prev, err) < 0)
		return -1;
	uint64_t interval = (uint64_t)(cfg->interval_s * 1e9);
	uint64_t next = m->start_ns + interval;
	uint64_t end = cfg->duration_s > 0 ? m->start_ns + (uint64_t)(cfg->duration_s * 1e9) : 0;
	bool last = false;
	while (!last) {
		/* Limit writes arrive as events between samples. */
		for (uint64_t now = tracer_now_ns(); now < next; now = tracer_now_ns()) {
			if (signals_stop_requested() || (w && workload_reap(w)))
				break;
			int ms = (int)((next - now) / 1000000) + 1;
			if (tracer_poll(m->tracer, ms > 100 ? 100 : ms, err) < 0)
				return -1;
		}
		last = signals_stop_requested() || (w && workload_reap(w)) ||
		       (end && tracer_now_ns() >= end);
		if (tracer_poll(m->tracer, 0, err) < 0 || read_raw(m, &cur, err) < 0)
			return -1;
		struct monitor_sample s;
		monitor_rates(&prev, &cur, &s);
		s.changes = m->changes;
		text_copy(s.change, sizeof(s.change), m->change);
		m->changes = 0;
		m->change[0] = '\0';
		if (record(m, &s, err) < 0)
			return -1;
		prev = cur;
		next += interval;
	}
	return 0;
}

static int run(const struct monitor_config *cfg, struct cg_err *err)
{
	if (geteuid() != 0)
		return cg_errf(err, "cglat monitor must run as root: it loads BPF programs; try: "
		                    "sudo cglat monitor ...");
	struct monitor m = {.cfg = cfg, .live = isatty(1)};
	struct workload w;
	workload_init(&w);
	struct tracer_config tc = {
	        .strategy = cfg->probe, .monitor = true, .on_event = on_event, .ctx = &m};
	int rc = -1;
	if (cfg->cmd)
		stale_remove_cgroups(NULL, stderr);
	if (!cfg->cmd && cglat_target_open(&cfg->spec, &m.target, err) < 0)
		return -1;
	if (tracer_open(&tc, &m.tracer, err) < 0)
		goto out;
	m.start_ns = tracer_now_ns();
	if (cfg->cmd && start_workload(cfg, &m, &w, err) < 0)
		goto out;
	const char *dir = m.target->has[CGLAT_CTL_MEMORY] ? m.target->dir[CGLAT_CTL_MEMORY]
	                                                  : m.target->dir[CGLAT_CTL_CPU];
	const char *base = strrchr(dir, '/');
	text_copy(m.match_dir, sizeof(m.match_dir), base ? base + 1 : dir);
	if (open_csv(&m, err) < 0)
		goto out;
	if (!m.live)
		fprintf(stderr, "cglat monitor: %s, every %.3g s; probes %s\n", m.target->label,
		        cfg->interval_s, tracer_strategy_name(tracer_strategy(m.tracer)));
	rc = sample_loop(&m, cfg->cmd ? &w : NULL, err);
out:
	if (cfg->cmd) {
		workload_release(&w, false);
		workload_stop(&w, 5.0);
		if (w.pid > 0)
			print_summary(&w);
	}
	tracer_close(m.tracer);
	if (m.csv && fclose(m.csv) != 0 && rc == 0)
		rc = cg_errf(err, "writing %s failed", m.csv_path);
	struct cg_err plot_err;
	if (rc == 0 && cfg->plot && m.nhistory > 0 && write_plot(&m, &plot_err) < 0) {
		*err = plot_err;
		rc = -1;
	}
	if (m.csv_is_temp)
		unlink(m.csv_path);
	if (w.cg_made && !cfg->keep) {
		struct cg_err rm_err;
		if (workload_remove_cgroup(&w, 5.0, &rm_err) < 0)
			fprintf(stderr, "cglat monitor: warning: %s\n", rm_err.msg);
	} else if (w.cg_made) {
		fprintf(stderr, "cglat monitor: kept cgroup %s (--keep)\n", w.cg.path);
	}
	cglat_target_close(m.target);
	free(m.history);
	free(m.change_times);
	return rc;
}

int monitor_main(int argc, char **argv)
{
	struct monitor_config cfg;
	bool help;
	struct cg_err err;
	if (monitor_parse(argc, argv, &cfg, &help, &err) < 0) {
		fprintf(stderr, "cglat monitor: %s\n", err.msg);
		return 2;
	}
	if (help) {
		monitor_usage(stdout);
		return 0;
	}
	signals_install();
	int rc = run(&cfg, &err);
	if (rc < 0) {
		fprintf(stderr, "cglat monitor: %s\n", err.msg);
		return 1;
	}
	return 0;
}
