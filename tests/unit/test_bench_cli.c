/* argv -> bench_config: defaults, every option, and the errors a user sees. */
#include <criterion/criterion.h>
#include <string.h>

#include "cgroup.h"
#include "bench_cli.h"

static int parse(struct bench_config *cfg, enum cli_action *action, struct cg_err *err, int argc,
                 char **argv)
{
	memset(err, 0, sizeof(*err));
	return cli_parse_bench(argc, argv, cfg, action, err);
}

#define ARGV(...) ((char *[]){"cglat", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"cglat", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(cfg, action, err, ...) parse(cfg, action, err, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

Test(cli, defaults_match_the_original_tool)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	cr_assert_eq(parse(&cfg, &action, &err, 1, (char *[]){"cglat", NULL}), 0);
	cr_assert_eq(action, CLI_RUN);
	cr_assert_eq(cfg.iterations, 100);
	cr_assert_eq(cfg.mem_base, 128 * 1024 * 1024);
	cr_assert_eq(cfg.mem_delta, 1024 * 1024);
	cr_assert_eq(cfg.cpu_base, 10000);
	cr_assert_eq(cfg.cpu_delta, 1000);
	cr_assert_eq(cfg.cpu_period, 100000);
	cr_assert_eq(cfg.paths, 7u);
	cr_assert_eq(cfg.resources, 3u);
	cr_assert_eq(cfg.probe, TRACER_AUTO);
	cr_assert_eq(cfg.format, FORMAT_TEXT);
	cr_assert_null(cfg.container);
	cr_assert_str_eq(cfg.docker_sock, "/var/run/docker.sock");
}

Test(cli, every_option_is_read)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	int rc = PARSE(&cfg, &action, &err, "-n", "7", "--warmup", "0", "--paths", "api,direct",
	               "--resources", "cpu", "--mem-base", "256m", "--mem-delta", "2m",
	               "--cpu-base", "20000", "--cpu-delta", "500", "--cpu-period", "50000", "-c",
	               "web", "--image", "img:1", "--name", "n1", "--keep", "--docker-sock",
	               "/tmp/d.sock", "--docker-bin", "/usr/bin/docker", "--timeout", "2.5",
	               "--probe", "tracepoint", "--probe-file", "p.c", "--format", "json", "-o",
	               "out.json", "--hist", "--original-method", "-v", "-v");
	cr_assert_eq(rc, 0, "%s", err.msg);
	cr_assert_eq(cfg.iterations, 7);
	cr_assert_eq(cfg.warmup, 0);
	cr_assert_eq(cfg.paths, (1u << PATH_API) | (1u << PATH_DIRECT));
	cr_assert_eq(cfg.resources, 1u << CG_RES_CPU);
	cr_assert_eq(cfg.mem_base, 256 * 1024 * 1024);
	cr_assert_eq(cfg.mem_delta, 2 * 1024 * 1024);
	cr_assert_eq(cfg.cpu_base, 20000);
	cr_assert_eq(cfg.cpu_delta, 500);
	cr_assert_eq(cfg.cpu_period, 50000);
	cr_assert_str_eq(cfg.container, "web");
	cr_assert_str_eq(cfg.image, "img:1");
	cr_assert_str_eq(cfg.name, "n1");
	cr_assert(cfg.keep);
	cr_assert_str_eq(cfg.docker_sock, "/tmp/d.sock");
	cr_assert_str_eq(cfg.docker_bin, "/usr/bin/docker");
	cr_assert_float_eq(cfg.timeout_s, 2.5, 1e-9);
	cr_assert_eq(cfg.probe, TRACER_TRACEPOINT);
	cr_assert_str_eq(cfg.probe_file, "p.c");
	cr_assert_eq(cfg.format, FORMAT_JSON);
	cr_assert_str_eq(cfg.output, "out.json");
	cr_assert(cfg.hist);
	cr_assert(cfg.original_method);
	cr_assert_eq(cfg.verbose, 2);
}

Test(cli, help_and_version_are_actions)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	cr_assert_eq(PARSE(&cfg, &action, &err, "--help"), 0);
	cr_assert_eq(action, CLI_HELP);
	cr_assert_eq(PARSE(&cfg, &action, &err, "--version"), 0);
	cr_assert_eq(action, CLI_VERSION);
}

Test(cli, usage_has_examples_and_every_option)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cli_usage(f);
	fclose(f);
	cr_assert(strstr(text, "Examples:"));
	cr_assert(strstr(text, "sudo cglat -n 100"));
	const char *opts[] = {"--iterations",     "--warmup",
	                      "--paths",          "--resources",
	                      "--mem-base",       "--mem-delta",
	                      "--cpu-base",       "--cpu-delta",
	                      "--cpu-period",     "--container",
	                      "--image",          "--name",
	                      "--keep",           "--docker-sock",
	                      "--docker-bin",     "--timeout",
	                      "--probe",          "--probe-file",
	                      "--format",         "--output",
	                      "--hist",           "--verbose",
	                      "--help",           "--version",
	                      "--serve-sock",     "--serve-reply-after",
	                      "--original-method"};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		cr_assert(strstr(text, opts[i]), "usage lacks %s", opts[i]);
	free(text);
}

struct bad_case {
	const char *args[4];
	const char *message; /* a part of the error the user sees */
};

Test(cli, bad_usage_is_refused_with_a_message_naming_the_option)
{
	static const struct bad_case cases[] = {
	        {{"-n", "0"}, "-n/--iterations"},
	        {{"-n", "-5"}, "-n/--iterations"},
	        {{"-n", "10000000000"}, "-n/--iterations"},
	        {{"-n", "ten"}, "-n/--iterations"},
	        {{"--paths", "foo"}, "unknown value \"foo\"; choose from docker, api, direct"},
	        {{"--paths", ""}, "--paths"},
	        {{"--resources", "disk"}, "--resources"},
	        {{"--format", "xml"}, "--format"},
	        {{"--probe", "uprobe"}, "--probe"},
	        {{"--mem-base", "12XB"}, "--mem-base"},
	        {{"--mem-delta", "-1x"}, "--mem-delta"},
	        {{"--cpu-period", "10"}, "--cpu-period"},
	        {{"--timeout", "0"}, "--timeout"},
	        {{"--timeout", "nan"}, "--timeout"},
	        {{"--bogus"}, "unknown option --bogus"},
	        {{"-x"}, "unknown option -x"},
	        {{"-n"}, "needs a value"},
	        {{"extra"}, "unexpected argument \"extra\""},
	        {{"--mem-base", "6m"}, "below 6 MiB"},
	        {{"--mem-base", "4m", "--mem-delta", "8m"}, "--mem-delta must be smaller"},
	        {{"--cpu-base", "1500"}, "below 1000 us"},
	        {{"--paths", "serve,foo"},
	         "choose from docker, api, direct, serve, serve-api, runtime"},
	        {{"--runtime-bin", "/usr/sbin/runc"}, "add runtime to --paths"},
	        {{"--runtime-root", "/run/x"}, "add runtime to --paths"},
	        {{"--paths", "runtime", "--runtime-root", "run/x"}, "not an absolute directory"},
	        {{"--paths", "runtime", "--runtime-bin", ""}, "--runtime-bin"},
	        {{"--serve-sock", "/run/x.sock"}, "add serve or serve-api to --paths"},
	        {{"--serve-reply-after", "enforce"}, "add serve or serve-api to --paths"},
	        {{"--paths", "serve", "--serve-reply-after", "soon"}, "--serve-reply-after"},
	        {{"--paths", "serve", "--serve-sock", ""}, "not a unix socket path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = {"cglat"};
		int argc = 1;
		for (int k = 0; k < 4 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		struct bench_config cfg;
		enum cli_action action;
		struct cg_err err;
		cr_assert_eq(parse(&cfg, &action, &err, argc, argv), -1, "case %zu (%s) passed", i,
		             cases[i].args[0]);
		cr_assert(strstr(err.msg, cases[i].message), "case %zu: \"%s\" lacks \"%s\"", i,
		          err.msg, cases[i].message);
		cr_assert_null(strchr(err.msg, '\n'), "case %zu: not one line", i);
	}
}

Test(cli, path_names)
{
	cr_assert_str_eq(cli_path_name(PATH_DOCKER), "docker");
	cr_assert_str_eq(cli_path_name(PATH_API), "api");
	cr_assert_str_eq(cli_path_name(PATH_DIRECT), "direct");
	cr_assert_str_eq(cli_path_name(PATH_SERVE), "serve");
	cr_assert_str_eq(cli_path_name(PATH_SERVE_API), "serve-api");
	cr_assert_str_eq(cli_path_name(PATH_RUNTIME), "runtime");
}

Test(cli, runtime_path_and_its_options)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "docker,runtime,direct"), 0, "%s",
	             err.msg);
	cr_assert_eq(cfg.paths, (1u << PATH_DOCKER) | (1u << PATH_RUNTIME) | (1u << PATH_DIRECT));
	cr_assert_null(cfg.runtime_bin, "dockerd's runtime by default");
	cr_assert_null(cfg.runtime_root);
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "runtime", "--runtime-bin",
	                   "/usr/bin/crun", "--runtime-root", "/run/docker/runtime-crun/moby"),
	             0, "%s", err.msg);
	cr_assert_str_eq(cfg.runtime_bin, "/usr/bin/crun");
	cr_assert_str_eq(cfg.runtime_root, "/run/docker/runtime-crun/moby");
	cli_defaults(&cfg);
	cr_assert_eq(cfg.paths & (1u << PATH_RUNTIME), 0, "not run by default");
}

Test(cli, serve_paths_and_their_options)
{
	struct bench_config cfg;
	enum cli_action action;
	struct cg_err err;
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "docker,serve,serve-api"), 0, "%s",
	             err.msg);
	cr_assert_eq(cfg.paths, (1u << PATH_DOCKER) | BENCH_SERVE_PATHS);
	cr_assert_null(cfg.serve_sock, "a serve is started for the run by default");
	cr_assert_not(cfg.serve_reply_enforce, "the default mode is record");
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "serve-api", "--serve-reply-after",
	                   "enforce"),
	             0, "%s", err.msg);
	cr_assert(cfg.serve_reply_enforce);
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "serve", "--serve-sock",
	                   "/run/cglat/docker.sock"),
	             0, "%s", err.msg);
	cr_assert_str_eq(cfg.serve_sock, "/run/cglat/docker.sock");
	cr_assert_eq(PARSE(&cfg, &action, &err, "--paths", "serve", "--serve-sock",
	                   "/run/cglat/docker.sock", "--serve-reply-after", "enforce"),
	             -1);
	cr_assert(strstr(err.msg, "keeps the mode it was started with"), "%s", err.msg);
}
