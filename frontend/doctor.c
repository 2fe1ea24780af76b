/* `cglat doctor`: gathers what bench needs, judges it, prints it. */
#include "doctor.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "text.h"
#include "unix_peers.h"

#define FIX_ROOT "run it as root: sudo cglat doctor"

/* Reads a small file into buf without its trailing newline; false when unreadable. */
static bool read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return true;
}

/* Appends the words of a comma or space separated list to a space separated set,
 * skipping "name=..." (a v1 hierarchy without controllers) and words already there. */
static void add_controllers(char *set, size_t len, const char *list)
{
	char tmp[512];
	text_copy(tmp, sizeof(tmp), list);
	for (char *save = NULL, *w = strtok_r(tmp, ", ", &save); w;
	     w = strtok_r(NULL, ", ", &save)) {
		if (strncmp(w, "name=", 5) == 0)
			continue;
		char padded[600], wpad[80];
		snprintf(padded, sizeof(padded), " %s ", set);
		snprintf(wpad, sizeof(wpad), " %s ", w);
		if (strstr(padded, wpad))
			continue;
		size_t used = strlen(set);
		snprintf(set + used, len - used, "%s%s", used ? " " : "", w);
	}
}

static bool has_word(const char *set, const char *word)
{
	char padded[600], wpad[80];
	snprintf(padded, sizeof(padded), " %s ", set);
	snprintf(wpad, sizeof(wpad), " %s ", word);
	return strstr(padded, wpad) != NULL;
}

static void gather_cgroups(struct doctor_facts *f)
{
	struct cg_err err = {{0}};
	struct cg_mounts *mounts = calloc(1, sizeof(*mounts));
	FILE *mi = fopen("/proc/self/mountinfo", "r");
	char *text = NULL;
	size_t cap = 0;
	if (!mounts || !mi) {
		snprintf(f->cgroup_error, sizeof(f->cgroup_error),
		         "cannot read /proc/self/mountinfo: %s", strerror(errno));
		goto out;
	}
	if (getdelim(&text, &cap, '\0', mi) < 0) {
		snprintf(f->cgroup_error, sizeof(f->cgroup_error),
		         "cannot read /proc/self/mountinfo");
		goto out;
	}
	if (cgroup_parse_mountinfo(text, mounts, &err) < 0 ||
	    cgroup_mode_of(mounts, &f->cgroup_mode, &err) < 0) {
		text_copy(f->cgroup_error, sizeof(f->cgroup_error), err.msg);
		goto out;
	}
	f->cgroup_ok = true;
	for (size_t i = 0; i < mounts->count; i++) {
		const struct cg_mount *m = &mounts->mount[i];
		if (m->version == 1) {
			add_controllers(f->controllers, sizeof(f->controllers), m->controllers);
		} else {
			char path[PATH_MAX + 32], list[512];
			snprintf(path, sizeof(path), "%s/cgroup.controllers", m->mountpoint);
			/* In hybrid mode the v2 tree's controllers are the ones v1 does not hold.
			 */
			if (read_small(path, list, sizeof(list)))
				add_controllers(f->controllers, sizeof(f->controllers), list);
		}
	}
out:
	if (mi)
		fclose(mi);
	free(text);
	free(mounts);
}

static void find_in_path(const char *name, char *out, size_t len)
{
	out[0] = '\0';
	const char *path = getenv("PATH");
	char dirs[4096];
	text_copy(dirs, sizeof(dirs), path && *path ? path : "/usr/bin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX];
		snprintf(full, sizeof(full), "%s/%s", d, name);
		if (access(full, X_OK) == 0) {
			text_copy(out, len, full);
			return;
		}
	}
}

void doctor_gather(struct doctor_facts *f, const char *docker_sock)
{
	memset(f, 0, sizeof(*f));
	f->root = geteuid() == 0;
	struct utsname u;
	if (uname(&u) == 0)
		text_copy(f->kernel, sizeof(f->kernel), u.release);
	read_small("/sys/kernel/security/lockdown", f->lockdown, sizeof(f->lockdown));
	f->securityfs = access("/sys/kernel/security/lsm", F_OK) == 0;
	tracer_probe_host(&f->host);
	gather_cgroups(f);
	struct docker *d = NULL;
	struct cg_err err = {{0}};
	if (docker_open(docker_sock, &d, &f->docker, &err) == 0) {
		f->docker_ok = true;
		docker_close(d);
	} else {
		text_copy(f->docker_error, sizeof(f->docker_error), err.msg);
	}
	find_in_path("docker", f->docker_cli, sizeof(f->docker_cli));
	if (f->host.kprobes)
		f->vfs_writev = tracer_kernel_has_function("vfs_writev");
	char text[16], dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/events/io_uring", f->host.tracefs_dir);
	int fds[1];
	size_t nfds;
	f->sock_diag = unix_peer_fds(getpid(), getpid(), fds, 1, &nfds, &err) == 0 ? 1 : -1;
	if (f->sock_diag < 0)
		text_copy(f->sock_diag_error, sizeof(f->sock_diag_error), err.msg);
	if (read_small("/proc/sys/kernel/io_uring_disabled", text, sizeof(text)))
		f->io_uring = atoi(text);
	else
		f->io_uring = f->host.tracefs && access(dir, F_OK) == 0 ? 0 : -1;
}

__attribute__((format(printf, 4, 5))) static struct doctor_line *
add(struct doctor_report *r, enum doctor_status s, const char *what, const char *fmt, ...)
{
	static struct doctor_line spill;
	struct doctor_line *l = r->count < DOCTOR_MAX_LINES ? &r->line[r->count++] : &spill;
	memset(l, 0, sizeof(*l));
	l->status = s;
	text_copy(l->what, sizeof(l->what), what);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->value, sizeof(l->value), fmt, ap);
	va_end(ap);
	return l;
}

__attribute__((format(printf, 2, 3))) static void fix(struct doctor_line *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->fix, sizeof(l->fix), fmt, ap);
	va_end(ap);
}

/* The mode word of the lockdown file: "none [integrity] confidentiality" -> "integrity". */
static void lockdown_mode(const char *text, char *out, size_t len)
{
	const char *open = strchr(text, '['), *close = open ? strchr(open, ']') : NULL;
	if (open && close)
		snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
	else
		text_copy(out, len, text);
}

void doctor_assess(const struct doctor_facts *f, struct doctor_report *r)
{
	memset(r, 0, sizeof(*r));
	bool ok = true;
	struct doctor_line *l;

	if (f->root) {
		add(r, DOCTOR_OK, "root", "yes");
	} else {
		l = add(r, DOCTOR_FAIL, "root",
		        "no: bench loads BPF programs and writes cgroup files");
		fix(l, FIX_ROOT " (some checks below need root to see the truth)");
		ok = false;
	}

	add(r, DOCTOR_INFO, "kernel", "%s", f->kernel[0] ? f->kernel : "unknown");

	if (!f->lockdown[0] && f->securityfs) {
		add(r, DOCTOR_INFO, "lockdown", "none (the kernel has no lockdown LSM)");
	} else if (!f->lockdown[0]) {
		l = add(r, DOCTOR_INFO, "lockdown", "unknown: securityfs is not mounted");
		fix(l, "to see it: sudo mount -t securityfs securityfs /sys/kernel/security");
	} else {
		char mode[64];
		lockdown_mode(f->lockdown, mode, sizeof(mode));
		if (strcmp(mode, "confidentiality") == 0) {
			l = add(r, DOCTOR_WARN, "lockdown",
			        "confidentiality: BPF may not read kernel memory, so the kprobe "
			        "strategy cannot name files");
			fix(l, "use --probe tracepoint, or boot with lockdown=integrity");
		} else {
			add(r, DOCTOR_OK, "lockdown", "%s", mode);
		}
	}

	const struct tracer_host *h = &f->host;
	if (h->tracefs) {
		add(r, DOCTOR_OK, "tracefs", "mounted at %s", h->tracefs_dir);
	} else {
		l = add(r, DOCTOR_FAIL, "tracefs", "not mounted: no probe can attach");
		fix(l, "sudo mount -t tracefs nodev /sys/kernel/tracing");
		ok = false;
	}

	if (!h->kprobes) {
		add(r, DOCTOR_INFO, "kprobes",
		    "no (CONFIG_KPROBES is off%s): only the tracepoint strategy can run",
		    h->tracefs ? "" : ", or tracefs is not mounted to tell");
	} else if (!h->kprobe_debugfs) {
		l = add(r, DOCTOR_WARN, "kprobes",
		        "yes, but /sys/kernel/debug/tracing is missing and BCC 0.26 attaches "
		        "kprobes there");
		fix(l, "sudo mount -t debugfs nodev /sys/kernel/debug");
	} else {
		add(r, DOCTOR_OK, "kprobes", "yes (attached through /sys/kernel/debug/tracing)");
	}

	if (!h->headers[0]) {
		l = add(r, DOCTOR_FAIL, "headers",
		        "none for kernel %s: BCC cannot compile the probes", f->kernel);
		fix(l,
		    "install linux-headers-%s (or Debian's linux-headers-amd64 and link "
		    "/lib/modules/%s/build to it: scripts/setup.sh does), or set BCC_KERNEL_SOURCE",
		    f->kernel, f->kernel);
		ok = false;
	} else if (!h->headers_match) {
		l = add(r, DOCTOR_WARN, "headers",
		        "%s: not the running kernel's; fine for tracepoints, not for kprobes",
		        h->headers);
		if (h->kprobes)
			fix(l, "install linux-headers-%s for the kprobe strategy", f->kernel);
	} else {
		add(r, DOCTOR_OK, "headers", "%s, matching the running kernel", h->headers);
	}

	if (!f->cgroup_ok) {
		l = add(r, DOCTOR_FAIL, "cgroups", "%s", f->cgroup_error);
		fix(l, "sudo mount -t cgroup2 none /sys/fs/cgroup");
		ok = false;
	} else {
		bool mem = has_word(f->controllers, "memory"),
		     cpu = has_word(f->controllers, "cpu");
		l = add(r, mem && cpu ? DOCTOR_OK : DOCTOR_FAIL, "cgroups", "%s, controllers: %s",
		        cgroup_mode_name(f->cgroup_mode),
		        f->controllers[0] ? f->controllers : "none");
		if (!mem || !cpu) {
			fix(l, "the %s controller%s missing: enable %s in the kernel and mount it",
			    !mem && !cpu ? "memory and cpu"
			    : !mem       ? "memory"
			                 : "cpu",
			    !mem && !cpu ? "s are" : " is", !mem ? "memory" : "cpu");
			ok = false;
		}
	}

	if (f->docker_ok) {
		const struct docker_info *di = &f->docker;
		add(r, DOCTOR_OK, "docker",
		    "Docker %s (API %s), runtime %s, cgroup driver %s, cgroup v%s",
		    di->server_version, di->api_version, di->runtime[0] ? di->runtime : "unknown",
		    di->cgroup_driver[0] ? di->cgroup_driver : "unknown",
		    di->cgroup_version[0] ? di->cgroup_version : "?");
	} else {
		l = add(r, DOCTOR_FAIL, "docker", "%s",
		        f->docker_error[0] ? f->docker_error : "dockerd did not answer");
		fix(l,
		    "start dockerd (scripts/setup.sh does), or point --docker-sock at its socket");
		ok = false;
	}

	if (f->docker_cli[0]) {
		add(r, DOCTOR_OK, "docker CLI", "%s", f->docker_cli);
	} else {
		l = add(r, DOCTOR_WARN, "docker CLI", "not in PATH: the `docker` path cannot run");
		fix(l, "install docker.io, pass --docker-bin, or bench with --paths api,direct");
	}

	enum tracer_strategy chosen = TRACER_TRACEPOINT;
	char why[256] = "";
	struct cg_err err = {{0}};
	bool can_choose = tracer_choose(TRACER_AUTO, h, &chosen, why, sizeof(why), &err) == 0;
	if (can_choose) {
		add(r, DOCTOR_OK, "probe auto", "%s (%s)", tracer_strategy_name(chosen), why);
		r->chosen = chosen;
	} else {
		add(r, DOCTOR_FAIL, "probe auto", "no strategy can run: %s", err.msg);
		ok = false;
	}

	/* Which write calls to limit files watch and bench see with that strategy. */
	if (can_choose && chosen == TRACER_KPROBE && !f->vfs_writev) {
		l = add(r, DOCTOR_WARN, "writes",
		        "kprobe: write and pwrite64 (vfs_write); writev, pwritev and pwritev2 "
		        "are not seen: this kernel has no vfs_writev in /proc/kallsyms (inlined)");
		fix(l, "use --probe tracepoint, which sees all five");
	} else if (can_choose && chosen == TRACER_KPROBE) {
		add(r, DOCTOR_OK, "writes",
		    "kprobe: write and pwrite64 (vfs_write), writev, pwritev and pwritev2 "
		    "(vfs_writev)");
	} else if (can_choose) {
		add(r, DOCTOR_OK, "writes",
		    "tracepoint: write, pwrite64, writev, pwritev and pwritev2 (syscall "
		    "tracepoints)");
	}
	if (f->io_uring == 2)
		add(r, DOCTOR_OK, "io_uring",
		    "disabled (kernel.io_uring_disabled=2): no write can go around the probes");
	else if (f->io_uring >= 0)
		add(r, DOCTOR_INFO, "io_uring",
		    "writes through io_uring are not seen: they make no write system call, "
		    "and io_uring's tracepoints carry no bytes written (README, cglat "
		    "watch)%s",
		    f->io_uring == 1 ? "; only members of kernel.io_uring_group may use it" : "");
	else
		add(r, DOCTOR_INFO, "io_uring", "not in this kernel, or unknown (no tracefs)");
	if (f->sock_diag > 0) {
		add(r, DOCTOR_OK, "sock_diag",
		    "lists unix sockets' peers (bench --waterfall finds dockerd -> containerd -> "
		    "shim with it)");
	} else if (f->sock_diag < 0) {
		l = add(r, DOCTOR_WARN, "sock_diag", "%s: bench --waterfall cannot run",
		        f->sock_diag_error);
		if (strstr(f->sock_diag_error, "modprobe unix_diag"))
			fix(l, "sudo modprobe unix_diag (CONFIG_UNIX_DIAG)");
	}
	r->can_bench = ok;
}

const char *doctor_status_name(enum doctor_status s)
{
	switch (s) {
	case DOCTOR_OK:
		return "ok";
	case DOCTOR_INFO:
		return "info";
	case DOCTOR_WARN:
		return "warn";
	default:
		return "FAIL";
	}
}

void doctor_print(FILE *out, const struct doctor_report *r)
{
	for (size_t i = 0; i < r->count; i++) {
		const struct doctor_line *l = &r->line[i];
		fprintf(out, "%-4s  %-10s  %s\n", doctor_status_name(l->status), l->what, l->value);
		if (l->fix[0])
			fprintf(out, "%-4s  %-10s  fix: %s\n", "", "", l->fix);
	}
	if (r->can_bench)
		fprintf(out, "\ncglat bench can run here (probe strategy: %s)\n",
		        tracer_strategy_name(r->chosen));
	else
		fprintf(out, "\ncglat bench cannot run here: fix the FAIL lines above\n");
}

static void doctor_usage(FILE *out)
{
	fprintf(out,
	        "Usage: cglat doctor [--docker-sock PATH]\n\n"
	        "Checks what `cglat bench` needs on this machine: kernel, lockdown, kprobes,\n"
	        "tracefs, kernel headers, cgroup mode and controllers, Docker, and which probe\n"
	        "strategy --probe auto would pick; says how to fix what is missing.\n\n"
	        "Exit status: 0 when bench can run, 1 when it could not, 2 on bad usage.\n");
}

int doctor_main(int argc, char **argv)
{
	static const struct option opts[] = {{"docker-sock", required_argument, NULL, 's'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *sock = NULL;
	int c;
	optind = 0; /* glibc: a full restart, also of a half-read "-abc" of an earlier parse */
	opterr = 0; /* one line of our own instead of getopt's */
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'h':
			doctor_usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "cglat doctor: option %s needs a value\n",
			        argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
			        "cglat doctor: unknown option %s; see cglat doctor --help\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cglat doctor: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	struct doctor_facts *f = malloc(sizeof(*f));
	struct doctor_report *r = malloc(sizeof(*r));
	if (!f || !r) {
		free(f);
		free(r);
		fprintf(stderr, "cglat doctor: out of memory\n");
		return 1;
	}
	doctor_gather(f, sock);
	doctor_assess(f, r);
	doctor_print(stdout, r);
	int rc = r->can_bench ? 0 : 1;
	free(f);
	free(r);
	return rc;
}
