/* cglat monitor's live loop: the target opened (or -- CMD started in a cgroup of its
 * own), the probes attached, every interval the cgroup files and event counts read into a
 * sample that is shown and written, limit writes to the target named; at the end the
 * plot drawn and everything removed. */
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_usage.h"
#include "event_match.h"
#include "monitor_plot.h"
#include "monitor_sample.h"
#include "signals.h"
#include "stale.h"
#include "text.h"
#include "units.h"
#include "workload.h"

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
		units_format_size(st.memory_peak, peak, sizeof(peak));
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

static int write_plot(struct monitor *m, struct cg_err *err)
{
	char title[512];
	snprintf(title, sizeof(title), "cglat monitor: %s", m->target->label);
	if (monitor_plot_draw(m->csv_path, m->cfg->plot, title, m->history, m->nhistory,
	                      m->change_times, m->nchange_times, err) < 0)
		return -1;
	fprintf(stderr, "cglat monitor: plot written to %s\n", m->cfg->plot);
	return 0;
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

int monitor_run(const struct monitor_config *cfg, struct cg_err *err)
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
