/* cglat set: argv -> target -> plan -> apply -> one line per file changed. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "opts.h"
#include "set.h"
#include "docker.h"
#include "docker_http.h"
#include "signals.h"
#include "units.h"

#define PROG "cglat set"

/* --record: after the write, the same change goes to dockerd. (Kept here rather than in
 * struct set_args: set_parse clears it.) */
static bool opt_record;

void set_usage(FILE *out)
{
	fputs("Usage: cglat set [OPTIONS] CONTAINER | --pid PID | --cgroup PATH\n"
	      "\n"
	      "Change the memory, CPU and task limits of a running container, process or\n"
	      "cgroup by writing its cgroup files directly: a few write(2) calls on files\n"
	      "opened once, microseconds where `docker update` takes milliseconds. Every value\n"
	      "is checked before anything is written, and a change that fails half way puts\n"
	      "back the files it already wrote.\n"
	      "\n"
	      "Target (one):\n"
	      "  CONTAINER                   a container name or id (prefix): Docker's, from\n"
	      "                              dockerd, else podman's, from its storage's files\n"
	      "      --engine ENGINE         whose CONTAINER: docker, podman or auto (default)\n"
	      "      --no-daemon             find CONTAINER without dockerd: a name in\n"
	      "                              " DOCKER_DEFAULT_ROOT "/containers, an id or unique\n"
	      "                              id prefix in /proc/*/cgroup; works while dockerd is\n"
	      "                              down\n"
	      "      --docker-sock PATH      dockerd's socket (default " DOCKER_DEFAULT_SOCK ")\n"
	      "  -p, --pid PID               the cgroups of this process\n"
	      "  -g, --cgroup PATH           a cgroup: cglat/NAME, /docker/ID, or a directory\n"
	      "                              under a cgroup mount\n"
	      "\n"
	      "Limits (any combination; applied in the order the kernel accepts):\n" OPTS_LIMIT_HELP
	      "\n"
	      "Behaviour:\n"
	      "      --force                 allow --memory below the current usage (the kernel\n"
	      "                              then reclaims or OOM-kills)\n"
	      "  -n, --dry-run               print the writes, change nothing\n"
	      "      --verify                read every file back, fail when it differs\n"
	      "      --record                then send the same change to dockerd (POST\n"
	      "                              /containers/ID/update) so that Docker's record\n"
	      "                              follows; when dockerd refuses it, the files are\n"
	      "                              put back and its message is the error\n"
	      "      --format FORMAT         text or json (default text)\n"
	      "  -h, --help                  show this help\n"
	      "\n"
	      "Examples:\n"
	      "  sudo cglat set web --memory 256m --cpus 0.5      # a container, through dockerd\n"
	      "  sudo cglat set 3f2a1b --no-daemon --memory 1g    # dockerd down: by id prefix\n"
	      "  sudo cglat set web --no-daemon --memory 1g       # ... or by name\n"
	      "  sudo cglat set --pid 4242 --cpu-shares 512       # the cgroups of a process\n"
	      "  sudo cglat set --cgroup cglat/job --pids-max 64  # a cgroup of cglat run\n"
	      "  sudo cglat set web --memory 128m --dry-run       # what would be written\n"
	      "  sudo cglat set web --nice 10 --format json       # renice every task; JSON\n"
	      "  sudo cglat set --engine podman db --cpus 2       # a podman container\n"
	      "\n"
	      "Without --record Docker does not see these changes: `docker inspect` keeps\n"
	      "showing Docker's values, and a `docker update` of the same limits or a restart of\n"
	      "the container puts Docker's values back. The same holds for podman and\n"
	      "`podman inspect`; --record is for Docker's containers.\n"
	      "\n"
	      "Exit status: 0 when every change was made, 1 when one failed (files already\n"
	      "written are put back), 2 on bad usage.\n",
	      out);
}

static const struct option set_options[] = {
        OPTS_LIMIT_OPTIONS,
        {"pid", required_argument, NULL, 'p'},
        {"cgroup", required_argument, NULL, 'g'},
        {"no-daemon", no_argument, NULL, 'D'},
        {"docker-sock", required_argument, NULL, 'S'},
        {"engine", required_argument, NULL, 'E'},
        {"force", no_argument, NULL, 'f'},
        {"dry-run", no_argument, NULL, 'n'},
        {"verify", no_argument, NULL, 'V'},
        {"record", no_argument, NULL, 'R'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static int parse_target_opt(struct set_args *a, int c, const char *arg, struct cg_err *err)
{
	int64_t pid;
	if (c == 'g') {
		if (cglat_check_cgroup_path(arg, "--cgroup", err) < 0)
			return -1;
		a->spec.kind = CGLAT_TARGET_CGROUP;
		a->spec.ref = arg;
		return 0;
	}
	if (units_parse_int(arg, 1, INT32_MAX, "--pid", &pid, err) < 0)
		return -1;
	a->spec.kind = CGLAT_TARGET_PID;
	a->spec.pid = (pid_t)pid;
	return 0;
}

static int parse_engine(struct set_args *a, const char *arg, struct cg_err *err)
{
	static const char *const names[] = {"auto", "docker", "podman"};
	for (int e = CGLAT_ENGINE_AUTO; e <= CGLAT_ENGINE_PODMAN; e++)
		if (strcmp(arg, names[e]) == 0) {
			a->spec.engine = (enum cglat_engine)e;
			return 0;
		}
	return cg_errf(err, "--engine: unknown engine \"%s\": expected docker, podman or auto",
	               arg);
}

static int parse_opt(struct set_args *a, int c, int idx, bool *target_opt, struct cg_err *err)
{
	switch (c) {
	case 'm':
		return cglat_limits_parse(&a->limits, "memory", optarg, err);
	case OPTS_LIMIT:
		return cglat_limits_parse(&a->limits, set_options[idx].name, optarg, err);
	case 'p':
	case 'g':
		if (*target_opt)
			return cg_errf(err, "give one target: --pid and --cgroup go alone");
		*target_opt = true;
		return parse_target_opt(a, c, optarg, err);
	case 'D':
		a->spec.no_daemon = true;
		return 0;
	case 'S':
		a->spec.docker_sock = optarg;
		return 0;
	case 'E':
		return parse_engine(a, optarg, err);
	case 'f':
		a->limits.force = true;
		return 0;
	case 'n':
		a->dry_run = true;
		return 0;
	case 'V':
		a->verify = true;
		return 0;
	case 'R':
		opt_record = true;
		return 0;
	case 'F':
		if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
			return cg_errf(err, "invalid --format \"%s\": expected text or json",
			               optarg);
		a->json = strcmp(optarg, "json") == 0;
		return 0;
	case 'h':
		a->help = true;
		return 0;
	default:
		return cg_errf(err, "unknown option; see cglat set --help");
	}
}

static int parse_positional(struct set_args *a, int argc, char **argv, bool target_opt,
                            struct cg_err *err)
{
	int left = argc - optind;
	if (left > 1)
		return cg_errf(err, "one container at a time: unexpected \"%s\"", argv[optind + 1]);
	if (left == 1 && target_opt)
		return cg_errf(err,
		               "give one target: a container, --pid or --cgroup, not \"%s\" too",
		               argv[optind]);
	if (left == 1) {
		if (docker_validate_ref(argv[optind], err) < 0)
			return -1;
		a->spec.kind = CGLAT_TARGET_CONTAINER;
		a->spec.ref = argv[optind];
	} else if (!target_opt) {
		return cg_errf(err,
		               "no target: name a container, or give --pid PID or --cgroup PATH");
	}
	if (a->spec.no_daemon && a->spec.kind != CGLAT_TARGET_CONTAINER)
		return cg_errf(err,
		               "--no-daemon is for container targets; --pid and --cgroup never "
		               "need dockerd");
	if (a->spec.engine != CGLAT_ENGINE_AUTO && a->spec.kind != CGLAT_TARGET_CONTAINER)
		return cg_errf(err, "--engine is for container targets; --pid and --cgroup name "
		                    "the cgroup themselves");
	if (a->spec.no_daemon && a->spec.engine == CGLAT_ENGINE_PODMAN)
		return cg_errf(err, "--no-daemon is Docker's: podman containers are always found "
		                    "without a daemon; drop --no-daemon");
	if (!a->limits.set)
		return cg_errf(err,
		               "nothing to change: give at least one limit, like --memory 256m "
		               "or --cpus 0.5");
	return cglat_limits_check(&a->limits, err);
}

int set_parse(int argc, char **argv, struct set_args *a, struct cg_err *err)
{
	memset(a, 0, sizeof(*a));
	opt_record = false;
	bool target_opt = false;
	optind = 0; /* glibc: start over, also when called again (tests) */
	opterr = 0;
	int c, idx = 0;
	while ((c = getopt_long(argc, argv, ":m:p:g:nh", set_options, &idx)) != -1) {
		if (c == '?')
			return cg_errf(err, "unknown option \"%s\"; see cglat set --help",
			               argv[optind - 1]);
		if (c == ':')
			return cg_errf(err, "option \"%s\" needs a value", argv[optind - 1]);
		if (parse_opt(a, c, idx, &target_opt, err) < 0)
			return -1;
		if (a->help)
			return 0;
	}
	return parse_positional(a, argc, argv, target_opt, err);
}

/* ---- output ------------------------------------------------------------------------------ */

static void print_text(const struct set_args *a, const struct cglat_target *t,
                       const struct cglat_plan *p, const struct cglat_apply_result *r,
                       bool recorded)
{
	for (size_t i = 0; i < p->count; i++)
		printf("%s: %s -> %s\n", p->w[i].file, p->w[i].old_text, p->w[i].new_text);
	if (p->renice)
		printf("nice: %zu task%s -> %d\n", p->tasks, p->tasks == 1 ? "" : "s", p->nice);
	if (a->dry_run) {
		printf("dry run: would write %zu file%s of %s; nothing changed\n", p->count,
		       p->count == 1 ? "" : "s", t->label);
		return;
	}
	char dur[32];
	units_format_duration((double)r->write_ns, dur, sizeof(dur));
	printf("wrote %zu file%s in %s (%" PRIu64 " ns)", r->written, r->written == 1 ? "" : "s",
	       dur, r->write_ns);
	if (p->renice)
		printf(", reniced %zu task%s", r->reniced, r->reniced == 1 ? "" : "s");
	if (r->verified)
		printf(", verified");
	printf("\n");
	if (recorded)
		printf("recorded in Docker: POST /containers/%.12s/update\n", t->container_id);
}

static json_t *json_plan(const struct set_args *a, const struct cglat_target *t,
                         const struct cglat_plan *p, const struct cglat_apply_result *r,
                         bool recorded)
{
	json_t *changes = json_array();
	for (size_t i = 0; i < p->count; i++)
		json_array_append_new(changes,
		                      json_pack("{s:s, s:s, s:s, s:s}", "file", p->w[i].file,
		                                "path", p->w[i].path, "old", p->w[i].old_text,
		                                "new", p->w[i].new_text));
	json_t *nice = p->renice
	                       ? json_pack("{s:i, s:I, s:I}", "value", p->nice, "tasks",
	                                   (json_int_t)p->tasks, "reniced", (json_int_t)r->reniced)
	                       : json_null();
	return json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:s, s:b, s:o, s:o, s:I, s:I, s:b, s:b}",
	                 "tool", "cglat set", "target", t->label, "container_id",
	                 *t->container_id ? t->container_id : NULL, "engine",
	                 t->docker   ? "docker"
	                 : t->podman ? "podman"
	                             : NULL,
	                 "docker", t->docker, "mode", cgroup_mode_name(t->mode), "dry_run",
	                 a->dry_run, "changes", changes, "nice", nice, "written",
	                 (json_int_t)r->written, "write_ns", (json_int_t)r->write_ns, "verified",
	                 r->verified, "recorded", recorded);
}

static int print_json(const struct set_args *a, const struct cglat_target *t,
                      const struct cglat_plan *p, const struct cglat_apply_result *r, bool recorded)
{
	json_t *doc = json_plan(a, t, p, r, recorded);
	int rc = doc ? json_dumpf(doc, stdout, JSON_INDENT(2)) : -1;
	json_decref(doc);
	printf("\n");
	return rc;
}

static void warn_engine(const struct cglat_target *t)
{
	const char *who = t->docker ? "Docker" : "podman", *cmd = t->docker ? "docker" : "podman";
	fprintf(stderr,
	        PROG ": warning: %s does not know about this change to %s: `%s inspect` "
	             "keeps showing %s's values, and a `%s update` of the same limits or a "
	             "restart of the container puts %s's values back\n",
	        who, t->label, cmd, who, cmd, who);
}

/* ---- --record ------------------------------------------------------------------------- */

/* POST /containers/{id}/update's body for the change set writes, in Docker's fields and
 * units; NULL with the reason for a limit Docker cannot hold (checked before writing). */
static char *record_body(const struct cglat_limits *l, struct cg_err *err)
{
	json_t *o = json_object();
	const char *why = NULL;
	if (!o) {
		cg_errf(err, "out of memory");
		return NULL;
	}
#define PUT(key, v) json_object_set_new(o, key, json_integer((json_int_t)(v)))
	if (l->set & CGLAT_SET_MEMORY) {
		if (l->memory < 0)
			why = "Docker cannot record an unlimited --memory (dockerd's update takes "
			      "6 MB or more); give a size, or drop --record";
		PUT("Memory", l->memory);
	}
	if (l->set & CGLAT_SET_MEMORY_SWAP)
		PUT("MemorySwap", l->memory_swap < 0 ? -1 : l->memory_swap);
	if (l->set & CGLAT_SET_MEMORY_HIGH)
		why = "Docker has no memory.high (--memory-high): leave it out, or drop --record";
	if (l->set & CGLAT_SET_MEMORY_RESERVATION)
		PUT("MemoryReservation", l->memory_reservation < 0 ? -1 : l->memory_reservation);
	if (l->set & CGLAT_SET_CPUS)
		PUT("NanoCpus", llround(l->cpus * 1e9));
	if (l->set & CGLAT_SET_CPU_QUOTA)
		PUT("CpuQuota", l->cpu_quota < 0 ? -1 : l->cpu_quota);
	if (l->set & CGLAT_SET_CPU_PERIOD)
		PUT("CpuPeriod", l->cpu_period);
	if (l->set & CGLAT_SET_CPU_SHARES)
		PUT("CpuShares", l->cpu_shares);
	if (l->set & CGLAT_SET_CPU_WEIGHT) /* Docker keeps shares: crun's formula back */
		PUT("CpuShares", units_weight_to_shares((uint64_t)l->cpu_weight));
	if (l->set & CGLAT_SET_CPUSET_CPUS)
		json_object_set_new(o, "CpusetCpus", json_string(l->cpuset_cpus));
	if (l->set & CGLAT_SET_CPUSET_MEMS)
		json_object_set_new(o, "CpusetMems", json_string(l->cpuset_mems));
	if (l->set & CGLAT_SET_PIDS_MAX) {
		if (l->pids_max == 0)
			why = "Docker cannot record --pids-max 0 (its PidsLimit 0 means "
			      "unlimited); "
			      "give 1 or more, or drop --record";
		PUT("PidsLimit", l->pids_max < 0 ? -1 : l->pids_max);
	}
#undef PUT
	char *body = why ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (why)
		cg_errf(err, "--record: %s", why);
	else if (!body)
		cg_errf(err, "out of memory");
	return body;
}

/* Puts the files of an applied plan back, newest first, one file at a time (a value the
 * kernel refuses in that order is tried again after the others); the names go in list. */
static size_t put_back(const struct cglat_plan *p, char *list, size_t cap)
{
	struct cglat_plan *one = calloc(1, sizeof(*one));
	bool done[CGLAT_MAX_WRITES] = {0};
	size_t failed = 0, n = 0;
	list[0] = '\0';
	if (!one)
		return p->count;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = p->count; i-- > 0;) {
			struct cglat_apply_result r;
			struct cg_err e;
			if (done[i])
				continue;
			one->count = 1;
			one->w[0] = p->w[i];
			memcpy(one->w[0].new_text, p->w[i].restore_text,
			       sizeof(one->w[0].new_text));
			if (cglat_limits_apply(one, 0, &r, &e) == 0) {
				done[i] = true;
				n += (size_t)snprintf(list + n, n < cap ? cap - n : 0, "%s%s",
				                      n ? ", " : "", p->w[i].file);
			} else if (pass == 1) {
				failed++;
			}
		}
	free(one);
	return failed;
}

/* The change, sent to dockerd; on its refusal (or no answer) the files are put back. */
static int record_change(const struct set_args *a, const struct cglat_target *t,
                         const struct cglat_plan *p, const char *body, struct cg_err *err)
{
	struct docker *d = NULL;
	int rc = docker_connect(a->spec.docker_sock ? a->spec.docker_sock : DOCKER_DEFAULT_SOCK, &d,
	                        err);
	if (rc == 0)
		rc = docker_update_json(d, t->container_id, body, err);
	docker_close(d);
	if (rc == 0)
		return 0;
	char list[512];
	size_t failed = put_back(p, list, sizeof(list));
	if (failed)
		return cg_err_wrap(err,
		                   "Docker did not record the change (%zu file%s could NOT be put "
		                   "back; put back: %s)",
		                   failed, failed == 1 ? "" : "s", *list ? list : "none");
	return cg_err_wrap(err, "Docker did not record the change, so it was undone (put back: %s)",
	                   *list ? list : "nothing was written");
}

/* SIGINT/SIGTERM before the first write: stop with nothing changed. Once writing has
 * begun, the few write(2) calls finish (or roll back) so no half change is left. */
static bool interrupted(struct cg_err *err)
{
	int sig = signals_stop_requested();
	if (sig)
		cg_errf(err, "interrupted by %s before anything was written; nothing changed",
		        signals_name(sig));
	return sig != 0;
}

/* With --record: a Docker container, and a change Docker can hold (body out; NULL when
 * only --nice is given, which is not Docker's to record). */
static bool record_ready(const struct cglat_target *t, const struct set_args *a, char **body,
                         struct cg_err *err)
{
	if (!opt_record)
		return true;
	if (t->podman) {
		cg_errf(err,
		        "--record: %s is a podman container, and --record records in dockerd; "
		        "podman has no daemon to record in: run `podman update` with the same "
		        "limits instead, or drop --record",
		        t->label);
		return false;
	}
	if (!t->docker || !t->container_id[0]) {
		cg_errf(err,
		        "--record: %s is not a Docker container, so Docker has no record of it",
		        t->label);
		return false;
	}
	if (!(a->limits.set & ~(unsigned)CGLAT_SET_NICE))
		return true;
	*body = record_body(&a->limits, err);
	return *body != NULL;
}

static int run_set(struct set_args *a)
{
	struct cg_err err = {{0}};
	struct cglat_target *t = NULL;
	struct cglat_plan *p = calloc(1, sizeof(*p));
	struct cglat_apply_result r = {0};
	char *body = NULL;
	bool recorded = false;
	int rc = 1;
	if (!p)
		cg_errf(&err, "out of memory");
	else if (!a->dry_run && geteuid() != 0)
		cg_errf(&err, "must run as root: it writes cgroup files; try: sudo cglat set ... "
		              "(--dry-run works without)");
	else if (cglat_target_open(&a->spec, &t, &err) == 0 &&
	         cglat_limits_plan(t, &a->limits, p, &err) == 0 &&
	         record_ready(t, a, &body, &err) && !interrupted(&err) &&
	         (a->dry_run ||
	          cglat_limits_apply(p, a->verify ? CGLAT_APPLY_VERIFY : 0, &r, &err) == 0))
		rc = 0;
	if (rc == 0 && body && !a->dry_run) {
		if (record_change(a, t, p, body, &err) < 0)
			rc = 1;
		else
			recorded = true;
	}
	if (t && (t->docker || t->podman) && !a->dry_run && !opt_record &&
	    (rc == 0 || r.written > 0))
		warn_engine(t);
	if (rc != 0)
		fprintf(stderr, PROG ": %s\n", err.msg);
	else if (a->json ? print_json(a, t, p, &r, recorded) < 0
	                 : (print_text(a, t, p, &r, recorded), false))
		rc = 1;
	free(body);
	cglat_target_close(t);
	free(p);
	return rc;
}

int set_main(int argc, char **argv)
{
	struct set_args a;
	struct cg_err err = {{0}};
	if (set_parse(argc, argv, &a, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	}
	if (a.help) {
		set_usage(stdout);
		return 0;
	}
	signals_install();
	return run_set(&a);
}
