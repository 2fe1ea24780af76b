/* cglat monitor's samples: rates over an interval from two readings, and the rows of the
 * live view and the CSV file. Pure: nothing is read, only the given FILE written. */
#include "monitor_sample.h"

#include <string.h>

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
