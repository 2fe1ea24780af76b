/* Bad input to every subcommand, as a table: each case must fail with a one-line error
 * that names the problem and the right exit status (2 for bad usage, 1 for what only
 * the running system can refuse), and must leave the host as it was: the limit files of
 * a test container unchanged, no container made, no BPF program left loaded. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"

/* Placeholders in a case's arguments, filled in at set-up. */
#define C_NAME "@name"     /* the test container's name */
#define C_LINK "@link"     /* a symlink outside the cgroup mounts to its memory cgroup */
#define C_SOCK "@sock"     /* a unix socket owned by nobody */
#define C_DIR "@dir"       /* a directory */
#define C_EMPTY "@empty"   /* an empty file */
#define C_BROKEN "@broken" /* a probe source that does not compile */
#define C_ID65 "@id65"     /* 65 hex digits */

struct bad_case {
	const char *args[10];
	int exit;
	const char *says; /* in the first line of stderr */
	bool lines;       /* more than one line allowed (compiler output follows) */
};

/* BAD(exit status, text of the error, arguments...) */
#define BAD(code, text, ...)                                                                       \
	{                                                                                          \
		{__VA_ARGS__, NULL}, code, text, false                                             \
	}
#define BAD_LINES(code, text, ...)                                                                 \
	{                                                                                          \
		{__VA_ARGS__, NULL}, code, text, true                                              \
	}

static char cid[65], cname[64], cgdir[512];
static pid_t cpid;
static char tmpdir[64], link_path[128], sock_path[128], empty_path[128], broken_path[128];
static char id65[66];
static int sock_fd = -1;

static void make_files(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cglat-bad-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(link_path, sizeof(link_path), "%s/link", tmpdir);
	cr_assert_eq(symlink(cgdir, link_path), 0, "symlink: %s", strerror(errno));
	snprintf(empty_path, sizeof(empty_path), "%s/empty.bpf.c", tmpdir);
	snprintf(broken_path, sizeof(broken_path), "%s/broken.bpf.c", tmpdir);
	FILE *f = fopen(empty_path, "w");
	cr_assert_not_null(f);
	fclose(f);
	f = fopen(broken_path, "w");
	cr_assert_not_null(f);
	fputs("int this_is_not_c = ;\n", f);
	fclose(f);
	snprintf(sock_path, sizeof(sock_path), "%s/docker.sock", tmpdir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	sock_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(sock_fd >= 0 && bind(sock_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	                  listen(sock_fd, 1) == 0,
	          "unix socket: %s", strerror(errno));
	cr_assert_eq(chown(sock_path, 65534, 65534), 0);
	memset(id65, 'a', 65);
	id65[65] = '\0';
}

static void set_up(void)
{
	it_ensure_image();
	snprintf(cname, sizeof(cname), "cglat-bad-%d", (int)getpid());
	char *out = NULL, *err = NULL;
	int rc = it_docker(&out, &err, "run", "-d", "--network", "none", "--cgroupns=host",
	                   "--memory", "256m", "--cpus", "0.5", "--pids-limit", "100", "--label",
	                   "cglat.test=bad-input", "--name", cname, IT_IMAGE, NULL);
	cr_assert_eq(rc, 0, "docker run failed: %s", err);
	snprintf(cid, sizeof(cid), "%.64s", out);
	free(out);
	free(err);
	out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "inspect", "-f", "{{.State.Pid}}", cid, NULL), 0);
	cpid = (pid_t)atoi(out);
	free(out);
	cr_assert_gt(cpid, 0);
	cr_assert_eq(it_cgroup_dir(cpid, "memory", cgdir, sizeof(cgdir)), 0);
	make_files();
}

static void tear_down(void)
{
	if (*cid)
		it_docker(NULL, NULL, "rm", "-f", cid, NULL);
	if (sock_fd >= 0)
		close(sock_fd);
	const char *files[] = {link_path, sock_path, empty_path, broken_path};
	for (size_t i = 0; i < 4; i++)
		if (*files[i])
			unlink(files[i]);
	if (*tmpdir)
		rmdir(tmpdir);
}

TestSuite(bad_input, .init = set_up, .fini = tear_down, .timeout = 300);

static const char *fill(const char *arg)
{
	static const struct {
		const char *key;
		const char *value;
	} subst[] = {{C_NAME, cname}, {C_LINK, link_path},   {C_SOCK, sock_path},
	             {C_DIR, "/tmp"}, {C_EMPTY, empty_path}, {C_BROKEN, broken_path},
	             {C_ID65, id65}};
	for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
		if (strcmp(arg, subst[i].key) == 0)
			return subst[i].value;
	return arg;
}

/* Every limit file of the test container a case could touch, as one string (v1 names;
 * on v2 the files that hold the same limits). */
static char *snapshot(void)
{
	static const char *const files[][2] = {{"memory", "memory.limit_in_bytes"},
	                                       {"memory", "memory.memsw.limit_in_bytes"},
	                                       {"memory", "memory.soft_limit_in_bytes"},
	                                       {"cpu", "cpu.cfs_quota_us"},
	                                       {"cpu", "cpu.cfs_period_us"},
	                                       {"cpu", "cpu.shares"},
	                                       {"cpuset", "cpuset.cpus"},
	                                       {"cpuset", "cpuset.mems"},
	                                       {"pids", "pids.max"}};
	char *all = it_strf("%s", "");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char dir[512], path[700], text[256];
		cr_assert_eq(it_cgroup_dir(cpid, files[i][0], dir, sizeof(dir)), 0);
		snprintf(path, sizeof(path), "%s/%s", dir, it_cgroup_file(files[i][1]));
		cr_assert_eq(it_read_text(path, text, sizeof(text)), 0, "cannot read %s", path);
		char *next = it_strf("%s%s=%s\n", all, files[i][1], text);
		free(all);
		all = next;
	}
	return all;
}

#define MAX_PROGS 512

/* BPF programs of cglat's probes loaded on the host now. */
static size_t cglat_progs(unsigned *ids)
{
	return it_bpf_progs_of_cglat(ids, MAX_PROGS);
}

static void check_case(const struct bad_case *c)
{
	const char *argv[12];
	char shown[512] = "cglat";
	size_t n = 0;
	for (; c->args[n]; n++) {
		argv[n] = fill(c->args[n]);
		size_t used = strlen(shown);
		snprintf(shown + used, sizeof(shown) - used, " %s", argv[n]);
	}
	argv[n] = NULL;

	static unsigned before[MAX_PROGS], after[MAX_PROGS];
	size_t nbefore = cglat_progs(before);
	char *limits_before = snapshot();
	double since = it_now();
	char *out = NULL, *err = NULL;
	int status = 0;
	pid_t pid = 0;
	int rc = it_cglat(argv, &out, &err, &status, &pid);
	double until = it_now() + 0.5;
	cr_assert_eq(rc, 0, "%s: timed out", shown);

	cr_expect_eq(it_exit_code(status), c->exit, "%s: exit %d, expected %d; stderr: %s", shown,
	             it_exit_code(status), c->exit, err);
	const char *nl = strchr(err, '\n');
	size_t first_len = nl ? (size_t)(nl - err) : strlen(err);
	char *first = strndup(err, first_len);
	cr_expect(strstr(first, c->says), "%s: stderr's first line does not say \"%s\": %s", shown,
	          c->says, err);
	cr_expect(first_len > 0 && strncmp(first, "cglat", 5) == 0,
	          "%s: the error does not start with cglat: %s", shown, err);
	if (!c->lines)
		cr_expect_eq(it_count_lines(err), 1, "%s: not a one-line error: %s", shown, err);

	char *limits_after = snapshot();
	cr_expect_str_eq(limits_after, limits_before, "%s changed a limit file:\n%s->\n%s", shown,
	                 limits_before, limits_after);
	char *made = it_created_containers(since, until, pid);
	cr_expect_eq(it_count_lines(made), 0, "%s made containers: %s", shown, made);
	char *owned = it_owned_containers(pid);
	cr_expect_eq(it_count_lines(owned), 0, "%s left containers: %s", shown, owned);
	/* A program new since the case and held by no process is left loaded; one that
	 * another process was just closing is gone a moment later, so look twice. */
	size_t nafter = cglat_progs(after);
	for (size_t i = 0; i < nafter; i++) {
		if (it_ids_contain(before, nbefore, after[i]) || it_bpf_prog_held(after[i]))
			continue;
		usleep(300 * 1000);
		static unsigned again[MAX_PROGS];
		size_t nagain = cglat_progs(again);
		cr_expect(!it_ids_contain(again, nagain, after[i]) || it_bpf_prog_held(after[i]),
		          "%s left BPF program %u loaded", shown, after[i]);
	}
	free(first);
	free(limits_before);
	free(limits_after);
	free(made);
	free(owned);
	free(out);
	free(err);
}

static void check_table(const struct bad_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check_case(&cases[i]);
}

#define CHECK_TABLE(t) check_table(t, sizeof(t) / sizeof(t[0]))

Test(bad_input, bench)
{
	static const struct bad_case cases[] = {
	        BAD(2, "-n/--iterations \"0\"", "-n", "0"),
	        BAD(2, "-n/--iterations \"-5\"", "-n", "-5"),
	        BAD(2, "-n/--iterations \"10000000000\"", "-n", "10000000000"),
	        BAD(2, "--warmup", "--warmup", "-1"),
	        BAD(2, "invalid size \"-1x\"", "--mem-base", "-1x"),
	        BAD(2, "invalid size \"12XB\"", "--mem-base", "12XB"),
	        BAD(2, "invalid size \"1e99\"", "--mem-base", "1e99"),
	        BAD(2, "invalid size \"\"", "--mem-base", ""),
	        BAD(2, "too large", "--mem-delta", "99999999999999999999"),
	        BAD(2, "--cpu-base \"-1\"", "--cpu-base", "-1"),
	        BAD(2, "--cpu-base \"0\"", "--cpu-base", "0"),
	        BAD(2, "--cpu-base \"nan\"", "--cpu-base", "nan"),
	        BAD(2, "--timeout", "--timeout", "nan"),
	        BAD(2, "invalid container reference \"../../etc\"", "-c", "../../etc"),
	        BAD(2, "invalid container reference \"a/b\"", "-c", "a/b"),
	        BAD(2, "longer than 64 hex digits", "-c", C_ID65),
	        BAD(1, "no such container", "-c", "cglat-no-such-container"),
	        BAD(1, "no such container", "-c", "12g4"),
	        BAD(1, "was started with --cpus", "-c", C_NAME, "--cpu-period", "50000"),
	        BAD(2, "invalid container reference \"a/b\"", "--name", "a/b"),
	        BAD(2, "invalid image name", "--image", "../x"),
	        BAD(2, "--paths", "--paths", "ftp"),
	        BAD(2, "unknown option --bogus", "--bogus"),
	        BAD(1, "No such file", "--probe-file", "/nonexistent/probe.c"),
	        BAD(1, "not a regular file", "--probe-file", C_DIR),
	        BAD(1, "the file is empty", "--probe-file", C_EMPTY),
	        BAD_LINES(1, "compiling the probes", "--probe-file", C_BROKEN, "-n", "1"),
	        BAD(1, "/etc/passwd is not a socket", "--docker-sock", "/etc/passwd"),
	        BAD(1, "is not a socket", "--docker-sock", C_DIR),
	        BAD(1, "not root", "--docker-sock", C_SOCK),
	        BAD(1, "--docker-bin", "--docker-bin", "/nonexistent/docker"),
	        BAD(1, "cannot write in", "-o", "/nonexistent/dir/report.txt"),
	        BAD(2, "unknown command \"frobnicate\"", "frobnicate"),
	        BAD(2,
	            "--waterfall splits the samples of the docker, api, serve and serve-api paths",
	            "--waterfall", "--paths", "direct,runtime"),
	        BAD(2, "--waterfall-plot wf.jpg: the file must end in .png or .svg",
	            "--waterfall-plot", "wf.jpg"),
	};
	CHECK_TABLE(cases);
}

Test(bad_input, set)
{
	static const struct bad_case cases[] = {
	        BAD(2, "invalid size \"-1x\"", "set", C_NAME, "--memory", "-1x"),
	        BAD(2, "invalid size \"12XB\"", "set", C_NAME, "--memory", "12XB"),
	        BAD(2, "invalid size \"1e99\"", "set", C_NAME, "--memory", "1e99"),
	        BAD(2, "invalid size \"\"", "set", C_NAME, "--memory", ""),
	        BAD(2, "too large", "set", C_NAME, "--memory", "9223372036854775808"),
	        BAD(2, "--memory-swap", "set", C_NAME, "--memory-swap", "-2"),
	        BAD(2, "invalid CPU count \"-1\"", "set", C_NAME, "--cpus", "-1"),
	        BAD(2, "greater than 0", "set", C_NAME, "--cpus", "0"),
	        BAD(2, "invalid CPU count \"nan\"", "set", C_NAME, "--cpus", "nan"),
	        BAD(2, "CPU", "set", C_NAME, "--cpus", "100000"),
	        BAD(2, "--cpu-period", "set", C_NAME, "--cpu-period", "10"),
	        BAD(2, "--pids-max", "set", C_NAME, "--pids-max", "-5"),
	        BAD(2, "reversed", "set", C_NAME, "--cpuset-cpus", "3-1"),
	        BAD(2, "--nice", "set", C_NAME, "--nice", "20"),
	        BAD(2, "invalid container reference", "set", "../../etc", "--memory", "1g"),
	        BAD(2, "invalid container reference", "set", "a/b", "--memory", "1g"),
	        BAD(2, "longer than 64 hex digits", "set", C_ID65, "--memory", "1g"),
	        BAD(1, "no such container", "set", "cglat-no-such-container", "--memory", "1g"),
	        BAD(1, "not a container id", "set", "12g4", "--no-daemon", "--memory", "1g"),
	        BAD(2, "\"..\" are not allowed", "set", "--cgroup", "..", "--memory", "1g"),
	        BAD(2, "\"..\" are not allowed", "set", "--cgroup",
	            "/sys/fs/cgroup/memory/../../../etc", "--memory", "1g"),
	        BAD(1, "no cgroup \"/etc\"", "set", "--cgroup", "/etc", "--memory", "1g"),
	        BAD(1, "no cgroup", "set", "--cgroup", C_LINK, "--memory", "1g"),
	        BAD(2, "empty cgroup path", "set", "--cgroup", "", "--memory", "1g"),
	        BAD(1, "below the current usage", "set", C_NAME, "--memory", "4k"),
	        BAD(1, "nothing was written", "set", C_NAME, "--cpuset-cpus", "4000"),
	        BAD(2, "unknown option \"--bogus\"", "set", C_NAME, "--bogus"),
	        BAD(2, "nothing to change", "set", C_NAME),
	        BAD(2, "--pid \"0\"", "set", "--pid", "0", "--memory", "1g"),
	        BAD(2, "--pid \"-5\"", "set", "--pid", "-5", "--memory", "1g"),
	        BAD(1, "is not a socket", "set", C_NAME, "--memory", "1g", "--docker-sock",
	            "/etc/passwd"),
	        BAD(1, "not root", "set", C_NAME, "--memory", "1g", "--docker-sock", C_SOCK),
	};
	CHECK_TABLE(cases);
}

Test(bad_input, run_watch_monitor_doctor)
{
	static const struct bad_case cases[] = {
	        BAD(2, "invalid size \"1x\"", "run", "--memory", "1x", "--", "true"),
	        BAD(2, "invalid CPU count \"nan\"", "run", "--cpus", "nan", "--", "true"),
	        BAD(2, "invalid --name \"../x\"", "run", "--name", "../x", "--", "true"),
	        BAD(2, "invalid --name \"a/b\"", "run", "--name", "a/b", "--", "true"),
	        BAD(2, "\"..\" are not allowed", "run", "--parent", "../..", "--", "true"),
	        BAD(2, "unknown option \"--bogus\"", "run", "--bogus", "--", "true"),
	        BAD(2, "no command", "run", "--memory", "1m"),
	        BAD(2, "unknown option --bogus", "watch", "--bogus"),
	        BAD(2, "invalid container reference \"../x\"", "watch", "-c", "../x"),
	        BAD(2, "--duration", "watch", "--duration", "-1"),
	        BAD(2, "--duration", "watch", "--duration", "nan"),
	        BAD(2, "unknown option --bogus", "monitor", "--bogus"),
	        BAD(2, "invalid container reference \"a/b\"", "monitor", "a/b"),
	        BAD(2, "\"..\" are not allowed", "monitor", "--cgroup", "../x"),
	        BAD(2, "invalid --name", "monitor", "--name", "../x", "--", "true"),
	        BAD(2, "--interval", "monitor", "-i", "0", C_NAME),
	        BAD(2, "nothing to run", "monitor", "--"),
	        BAD(2, "unknown option --bogus", "doctor", "--bogus"),
	};
	CHECK_TABLE(cases);
}
