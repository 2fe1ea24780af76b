/* The fast path: every file opened first, then one write(2) each, timed; a failed write
 * puts back what was already written. Then the tasks are reniced and, when asked, the
 * files read back. */
#include "cglat.h"
#include "cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "units.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A cgroup file takes each write(2) as a whole new value; a regular file (a test's
 * stand-in) must be rewritten from offset 0 and cut to length instead. */
static bool is_cgroupfs(int fd)
{
	struct statfs s;
	return fstatfs(fd, &s) == 0 &&
	       (s.f_type == CGROUP_SUPER_MAGIC || s.f_type == CGROUP2_SUPER_MAGIC);
}

static int write_value(int fd, bool cgroupfs, const char *text, uint64_t *ns)
{
	const char *buf = *text ? text : "\n"; /* an empty cpuset is written as a newline */
	size_t len = strlen(buf);
	uint64_t t0 = mono_ns();
	ssize_t n = cgroupfs ? write(fd, buf, len) : pwrite(fd, buf, len, 0);
	uint64_t t1 = mono_ns();
	if (ns)
		*ns += t1 - t0;
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	if (!cgroupfs && ftruncate(fd, (off_t)len) < 0)
		return -1;
	return 0;
}

static int err_append(struct cg_err *err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int err_append(struct cg_err *err, const char *fmt, ...)
{
	size_t used = strlen(err->msg);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends ", name" (or "name" first) to a list of file names. */
static void list_add(char *list, size_t len, const char *name)
{
	size_t used = strlen(list);
	snprintf(list + used, len - used, "%s%s", used ? ", " : "", name);
}

/* Writes back the old values of w[0..n), newest first, and says how it went. */
static int roll_back(const struct cglat_plan *plan, const int *fds, const bool *cgfs, size_t n,
                     struct cglat_apply_result *res, struct cg_err *err)
{
	char done[512] = "", failed[512] = "";
	for (size_t i = n; i-- > 0;) {
		const struct cglat_write *w = &plan->w[i];
		if (write_value(fds[i], cgfs[i], w->restore_text, NULL) == 0) {
			res->rolled_back++;
			list_add(done, sizeof(done), w->file);
		} else {
			res->restore_failed++;
			char item[256];
			snprintf(item, sizeof(item), "%s (%s, it holds \"%s\")", w->file,
			         strerror(errno), w->new_text);
			list_add(failed, sizeof(failed), item);
		}
	}
	if (n == 0)
		return err_append(err, "; nothing was written");
	if (res->restore_failed)
		return err_append(err, "; could NOT put back %s%s%s", failed,
		                  *done ? "; put back " : "", done);
	return err_append(err, "; put back the %zu file%s already written (%s)", n,
	                  n == 1 ? "" : "s", done);
}

static int renice_tasks(const struct cglat_plan *plan, struct cglat_apply_result *res,
                        struct cg_err *err)
{
	FILE *f = fopen(plan->tasks_path, "re");
	if (!f)
		return cg_errf(err, "cannot read %s to renice its tasks: %s", plan->tasks_path,
		               strerror(errno));
	long tid;
	int first_errno = 0;
	while (fscanf(f, "%ld", &tid) == 1) {
		if (setpriority(PRIO_PROCESS, (id_t)tid, plan->nice) == 0)
			res->reniced++;
		else if (errno == ESRCH)
			res->renice_gone++;
		else if (!first_errno)
			first_errno = errno;
	}
	fclose(f);
	if (first_errno)
		return cg_errf(err, "setpriority(%d) failed for a task of %s: %s (reniced %zu)",
		               plan->nice, plan->tasks_path, strerror(first_errno), res->reniced);
	return 0;
}

static int verify(const struct cglat_plan *plan, struct cglat_apply_result *res, struct cg_err *err)
{
	for (size_t i = 0; i < plan->count; i++) {
		const struct cglat_write *w = &plan->w[i];
		char text[128];
		if (cgroup_read_file(w->path, text, sizeof(text), err) < 0)
			return cg_err_wrap(err, "--verify");
		if (!cglat_value_matches(w, text))
			return cg_errf(err, "--verify: %s reads \"%s\" after writing \"%s\"",
			               w->path, text, w->new_text);
	}
	res->verified = true;
	return 0;
}

/* ---- files kept open ---- */

#define KEPT_MAX (2 * CGLAT_MAX_WRITES)

struct cglat_files {
	struct kept {
		char *path; /* malloc'd: a set per container in serve stays small */
		int fd;     /* -1: a free slot */
		bool cgfs;
	} f[KEPT_MAX];
	size_t next; /* the slot a new file takes when none is free */
};

struct cglat_files *cglat_files_new(void)
{
	struct cglat_files *f = calloc(1, sizeof(*f));
	if (f)
		for (size_t i = 0; i < KEPT_MAX; i++)
			f->f[i].fd = -1;
	return f;
}

static void kept_drop(struct kept *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	free(k->path);
	k->path = NULL;
}

void cglat_files_close(struct cglat_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < KEPT_MAX; i++)
		kept_drop(&f->f[i]);
	free(f);
}

static struct kept *kept_find(struct cglat_files *f, const char *path)
{
	for (size_t i = 0; f && i < KEPT_MAX; i++)
		if (f->f[i].fd >= 0 && strcmp(f->f[i].path, path) == 0)
			return &f->f[i];
	return NULL;
}

/* Keeps fd for path (false when memory runs out); the oldest slot gives way when all are
 * taken. */
static bool kept_add(struct cglat_files *f, const char *path, int fd, bool cgfs)
{
	struct kept *k = NULL;
	for (size_t i = 0; i < KEPT_MAX && !k; i++)
		if (f->f[i].fd < 0)
			k = &f->f[i];
	if (!k) {
		k = &f->f[f->next];
		f->next = (f->next + 1) % KEPT_MAX;
		kept_drop(k);
	}
	k->path = strdup(path);
	if (!k->path) { /* not kept: the caller closes it */
		return false;
	}
	k->fd = fd;
	k->cgfs = cgfs;
	return true;
}

/* The plan's file i: kept (owned by files) or opened here (closed by the caller). */
static int open_write(const struct cglat_write *w, struct cglat_files *files, int *fd, bool *cgfs,
                      bool *owned)
{
	struct kept *k = kept_find(files, w->path);
	if (k) {
		*fd = k->fd;
		*cgfs = k->cgfs;
		*owned = false;
		return 0;
	}
	*fd = cgroup_open_beneath(w->path, w->beneath, O_WRONLY);
	if (*fd < 0)
		return -1;
	*cgfs = is_cgroupfs(*fd);
	*owned = !files || !kept_add(files, w->path, *fd, *cgfs);
	return 0;
}

static void close_owned(const int *fds, const bool *owned, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (owned[i] && fds[i] >= 0)
			close(fds[i]);
}

/* A kept file whose cgroup was removed (and perhaps made again) fails with ENODEV or
 * ENOENT: open it once more and write again. */
static int write_kept(const struct cglat_write *w, struct cglat_files *files, int *fd, bool *cgfs,
                      bool owned, uint64_t *ns)
{
	if (write_value(*fd, *cgfs, w->new_text, ns) == 0)
		return 0;
	if (owned || (errno != ENODEV && errno != ENOENT))
		return -1;
	struct kept *k = kept_find(files, w->path);
	if (k)
		kept_drop(k);
	bool again_owned;
	if (open_write(w, files, fd, cgfs, &again_owned) < 0)
		return -1;
	return write_value(*fd, *cgfs, w->new_text, ns);
}

int cglat_limits_apply(const struct cglat_plan *plan, unsigned flags,
                       struct cglat_apply_result *res, struct cg_err *err)
{
	return cglat_limits_apply_kept(plan, flags, NULL, res, err);
}

int cglat_limits_apply_kept(const struct cglat_plan *plan, unsigned flags,
                            struct cglat_files *files, struct cglat_apply_result *res,
                            struct cg_err *err)
{
	memset(res, 0, sizeof(*res));
	int fds[CGLAT_MAX_WRITES];
	bool cgfs[CGLAT_MAX_WRITES], owned[CGLAT_MAX_WRITES];
	for (size_t i = 0; i < plan->count; i++) {
		if (open_write(&plan->w[i], files, &fds[i], &cgfs[i], &owned[i]) < 0) {
			int e = errno;
			close_owned(fds, owned, i);
			return cg_errf(err, "cannot open %s for writing: %s; nothing was written",
			               plan->w[i].path, strerror(e));
		}
	}
	int rc = 0;
	for (size_t i = 0; i < plan->count && rc == 0; i++) {
		const struct cglat_write *w = &plan->w[i];
		if (write_kept(w, files, &fds[i], &cgfs[i], owned[i], &res->write_ns) == 0) {
			res->written++;
			continue;
		}
		cg_errf(err, "writing \"%s\" to %s failed: %s", w->new_text, w->file,
		        strerror(errno));
		rc = roll_back(plan, fds, cgfs, i, res, err);
		res->written = 0;
	}
	close_owned(fds, owned, plan->count);
	if (rc == 0 && plan->renice && renice_tasks(plan, res, err) < 0)
		rc = -1;
	if (rc == 0 && (flags & CGLAT_APPLY_VERIFY))
		rc = verify(plan, res, err);
	return rc;
}

static bool memory_matches(int version, const char *want, const char *got)
{
	int64_t w, g;
	if (cgroup_parse_limit(CG_RES_MEMORY, version, want, &w, NULL, NULL) < 0 ||
	    cgroup_parse_limit(CG_RES_MEMORY, version, got, &g, NULL, NULL) < 0)
		return false;
	long page = sysconf(_SC_PAGESIZE);
	/* The kernel keeps limits in pages, rounded down. */
	return g == w || (w > 0 && page > 0 && g == w / page * page);
}

bool cglat_value_matches(const struct cglat_write *w, const char *read_back)
{
	char got[128];
	snprintf(got, sizeof(got), "%s", read_back);
	size_t n = strlen(got);
	while (n > 0 && (got[n - 1] == '\n' || got[n - 1] == ' '))
		got[--n] = '\0';
	switch (w->knob) {
	case CG_KNOB_MEMORY_MAX:
	case CG_KNOB_MEMORY_SWAP:
	case CG_KNOB_MEMORY_HIGH:
	case CG_KNOB_MEMORY_RESERVATION:
		return memory_matches(w->version, w->new_text, got);
	case CG_KNOB_CPUSET_CPUS:
	case CG_KNOB_CPUSET_MEMS: {
		/* The kernel prints "0,1" back as "0-1". */
		uint64_t a[UNITS_CPULIST_WORDS], b[UNITS_CPULIST_WORDS];
		return units_parse_cpulist(w->new_text, a, NULL) == 0 &&
		       units_parse_cpulist(got, b, NULL) == 0 && memcmp(a, b, sizeof(a)) == 0;
	}
	default:
		return strcmp(w->new_text, got) == 0;
	}
}
