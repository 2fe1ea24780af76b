/* The BCC module is loaded only where probes run: set, run, doctor, --help and
 * --version never map libbcc, LLVM or clang (the dynamic loader's own record,
 * LD_DEBUG=files, says what each process loaded); watch and bench load them through
 * cglat-bcc.so; a cglat without its module says so and where it looked. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

static char cname[64];

static void start_container(void)
{
	it_ensure_image();
	snprintf(cname, sizeof(cname), "cglat-module-%d", (int)getpid());
	char *out = NULL;
	cr_assert_eq(it_docker(&out, NULL, "run", "-d", "--network", "none", "--label",
	                       "cglat.test=module", "--name", cname, IT_IMAGE, NULL),
	             0, "docker run failed");
	free(out);
}

static void remove_container(void)
{
	if (cname[0])
		it_docker(NULL, NULL, "rm", "-f", cname, NULL);
}

static char *read_whole(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "no loader log %s: %s", path, strerror(errno));
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[8192];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, mem);
	fclose(f);
	fclose(mem);
	return text;
}

/* Runs cglat with LD_DEBUG=files and returns what the loader logged (malloc'd). */
static char *loaded_by(const char *const args[], int *exit_code)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "/tmp/cglat-lddebug-%d", (int)getpid());
	setenv("LD_DEBUG", "files", 1);
	setenv("LD_DEBUG_OUTPUT", prefix, 1);
	int status = 0;
	pid_t pid = 0;
	char *out = NULL, *err = NULL;
	it_cglat(args, &out, &err, &status, &pid);
	unsetenv("LD_DEBUG");
	unsetenv("LD_DEBUG_OUTPUT");
	*exit_code = it_exit_code(status);
	char path[96];
	snprintf(path, sizeof(path), "%s.%d", prefix, (int)pid);
	char *text = read_whole(path);
	/* Children (the command of `run`) leave logs of their own. */
	char pattern[80];
	glob_t g;
	snprintf(pattern, sizeof(pattern), "%s.*", prefix);
	if (glob(pattern, 0, NULL, &g) == 0)
		for (size_t i = 0; i < g.gl_pathc; i++)
			unlink(g.gl_pathv[i]);
	globfree(&g);
	free(out);
	free(err);
	cr_assert_not_null(strstr(text, "file="), "the loader log %s names no file", path);
	return text;
}

static void assert_no_bcc(const char *const args[])
{
	int code = -1;
	char *log = loaded_by(args, &code);
	cr_expect_eq(code, 0, "cglat %s ... exited %d", args[0], code);
	const char *heavy[] = {"libbcc", "libLLVM", "libclang", "cglat-bcc.so"};
	for (size_t i = 0; i < sizeof(heavy) / sizeof(heavy[0]); i++)
		cr_expect_null(strstr(log, heavy[i]), "cglat %s %s loaded %s", args[0],
		               args[1] ? args[1] : "", heavy[i]);
	free(log);
}

Test(bcc_module, commands_that_do_not_trace_never_load_it, .init = start_container,
     .fini = remove_container, .timeout = 120)
{
	const char *version[] = {"--version", NULL};
	const char *help[] = {"--help", NULL};
	const char *set_help[] = {"set", "--help", NULL};
	const char *set_name[] = {"set", cname, "--memory", "100m", NULL};
	const char *set_dry[] = {"set", cname, "--cpus", "0.5", "--dry-run", NULL};
	const char *run[] = {"run", "--memory", "64m", "--", "true", NULL};
	const char *doctor[] = {"doctor", NULL};
	assert_no_bcc(version);
	assert_no_bcc(help);
	assert_no_bcc(set_help);
	assert_no_bcc(set_name);
	assert_no_bcc(set_dry);
	assert_no_bcc(run);
	assert_no_bcc(doctor);
}

Test(bcc_module, tracing_commands_load_it_from_beside_the_executable, .timeout = 120)
{
	const char *watch[] = {"watch", "-d", "0.5", NULL};
	int code = -1;
	char *log = loaded_by(watch, &code);
	cr_expect_eq(code, 0, "cglat watch -d 0.5 exited %d", code);
	char module[4096];
	snprintf(module, sizeof(module), "%s", CGLAT_BIN);
	char *slash = strrchr(module, '/');
	cr_assert_not_null(slash);
	snprintf(slash + 1, sizeof(module) - (size_t)(slash + 1 - module), "cglat-bcc.so");
	cr_expect_not_null(strstr(log, module), "watch did not load %s", module);
	cr_expect_not_null(strstr(log, "libbcc"), "watch did not load libbcc");
	free(log);
}

Test(bcc_module, a_cglat_without_its_module_says_where_it_looked, .timeout = 60)
{
	char dir[] = "/tmp/cglat-nomodule-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char *bindir = it_strf("%s/bin", dir), *bin = it_strf("%s/bin/cglat", dir);
	cr_assert_eq(mkdir(bindir, 0755), 0);
	const char *cp[] = {"cp", CGLAT_BIN, bin, NULL};
	int status = 0;
	cr_assert_eq(it_run(cp, 10, NULL, NULL, &status, NULL), 0);
	const char *watch[] = {bin, "watch", "-d", "0.5", NULL};
	char *err = NULL;
	it_run(watch, 30, NULL, &err, &status, NULL);
	cr_expect_eq(it_exit_code(status), 1, "exit %d: %s", it_exit_code(status), err);
	cr_expect_not_null(strstr(err, "cannot find the BCC module cglat-bcc.so in"), "%s", err);
	cr_expect_not_null(strstr(err, bindir), "the error does not name %s: %s", bindir, err);
	/* The commands that do not trace work without it. */
	const char *version[] = {bin, "--version", NULL};
	it_run(version, 10, NULL, NULL, &status, NULL);
	cr_expect_eq(it_exit_code(status), 0);
	unlink(bin);
	rmdir(bindir);
	rmdir(dir);
	free(err);
	free(bindir);
	free(bin);
}
