#include "watch.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "event_match.h"
#include "cgroup.h"
#include "docker.h"
#include "podman.h"
#include "signals.h"
#include "units.h"

void watch_usage(FILE *out)
{
	fprintf(out,
	        "Usage: cglat watch [OPTIONS]\n"
	        "\n"
	        "Print every write to a cgroup limit file on the host as it happens: memory,\n"
	        "swap, CPU quota/period, weight/shares, cpuset, pids. For writes that carry out\n"
	        "a `docker update`, also the time since dockerd received the request.\n"
	        "\n"
	        "Options:\n"
	        "  -c, --container REF    only this container's writes (name or id, Docker's\n"
	        "                         or podman's)\n"
	        "      --cgroup TEXT      only writes whose path contains TEXT\n"
	        "      --comm COMM        only writes by this command (e.g. runc)\n"
	        "      --format FORMAT    text or json (one object per line) (default text)\n"
	        "  -d, --duration SECONDS stop after this long (default: until Ctrl-C)\n"
	        "      --probe STRATEGY   auto, tracepoint or kprobe (default auto)\n"
	        "      --docker-sock PATH dockerd's socket (default /var/run/docker.sock)\n"
	        "  -h, --help             show this help\n"
	        "\n"
	        "Examples:\n"
	        "  sudo cglat watch                       # every limit write on the host\n"
	        "  sudo cglat watch -c web                # one container (Docker or podman)\n"
	        "  sudo cglat watch --comm runc -d 60     # what runc writes for a minute\n"
	        "  sudo cglat watch --format json > w.jsonl\n"
	        "\n"
	        "Columns: TIME (wall clock), PID and COMM of the writer, CONTAINER (its name,\n"
	        "Docker's or podman's; the short id when neither knows it) or CGROUP, FILE,\n"
	        "CALL (write, pwrite64, writev, pwritev, pwritev2; with kprobes vfs_write or\n"
	        "vfs_writev), VALUE written, RET (bytes or the error), DUR(us) of the write,\n"
	        "RECV->WRITE(ms) from dockerd's receive of the update request.\n"
	        "Not seen: writes through io_uring, which make no system call (cglat doctor).\n"
	        "Events lost under a burst are counted on stderr as it happens.\n");
}

int watch_parse(int argc, char **argv, struct watch_config *cfg, enum cli_action *action,
                struct cg_err *err)
{
	static const struct option options[] = {
	        {"container", required_argument, NULL, 'c'},
	        {"cgroup", required_argument, NULL, 'g'},
	        {"comm", required_argument, NULL, 'm'},
	        {"format", required_argument, NULL, 'f'},
	        {"duration", required_argument, NULL, 'd'},
	        {"probe", required_argument, NULL, 'p'},
	        {"docker-sock", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	*cfg = (struct watch_config){
	        .format = FORMAT_TEXT, .probe = TRACER_AUTO, .docker_sock = DOCKER_DEFAULT_SOCK};
	*action = CLI_RUN;
	optind = 0; /* glibc: a full restart, also of a half-read "-abc" of an earlier parse */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":c:d:h", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (docker_validate_ref(optarg, err))
				return cg_err_wrap(err, "--container");
			cfg->container = optarg;
			break;
		case 'g':
			cfg->cgroup = optarg;
			break;
		case 'm':
			if (!optarg[0] || strlen(optarg) > 15)
				return cg_errf(err, "--comm: expected a command name of 1 to 15 "
				                    "characters, as the kernel keeps it");
			cfg->comm = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				cfg->format = FORMAT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				cfg->format = FORMAT_JSON;
			else
				return cg_errf(err,
				               "--format: unknown value \"%s\"; choose text "
				               "or json",
				               optarg);
			break;
		case 'd':
			if (units_parse_seconds("-d/--duration", optarg, 1e7, &cfg->duration_s,
			                        err))
				return -1;
			break;
		case 'p':
			if (tracer_parse_strategy(optarg, &cfg->probe, err))
				return -1;
			break;
		case 's':
			cfg->docker_sock = optarg;
			break;
		case 'h':
			*action = CLI_HELP;
			return 0;
		case ':':
			return cg_errf(err, "option %s needs a value; see cglat watch --help",
			               argv[optind - 1]);
		default:
			return cg_errf(err, "unknown option %s; see cglat watch --help",
			               argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cg_errf(err, "unexpected argument \"%s\"; see cglat watch --help",
		               argv[optind]);
	return 0;
}

/* event_write_call_name() indexes its names by these values. */
_Static_assert(CGLAT_WRITE_WRITE == 1 && CGLAT_WRITE_PWRITE64 == 2 && CGLAT_WRITE_WRITEV == 3 &&
                       CGLAT_WRITE_PWRITEV == 4 && CGLAT_WRITE_PWRITEV2 == 5 &&
                       CGLAT_WRITE_VFS_WRITE == 6 && CGLAT_WRITE_VFS_WRITEV == 7,
               "event_write_call_name's table follows enum cglat_write_call");

void watch_line_from_event(const struct cglat_event *ev, double wall, struct watch_line *line)
{
	memset(line, 0, sizeof(*line));
	line->ts_ns = ev->ts_exit;
	line->wall = wall;
	line->pid = ev->tgid;
	snprintf(line->comm, sizeof(line->comm), "%s", ev->comm);
	const char *slash = strrchr(ev->path, '/');
	if (slash) {
		snprintf(line->cgroup, sizeof(line->cgroup), "%.*s", (int)(slash - ev->path),
		         ev->path);
		snprintf(line->file, sizeof(line->file), "%s", slash + 1);
	} else {
		snprintf(line->file, sizeof(line->file), "%s", ev->path);
	}
	if (!cgroup_container_id_of_path(line->cgroup, line->container_id))
		line->container_id[0] = '\0';
	snprintf(line->call, sizeof(line->call), "%s", event_write_call_name(ev->call));
	event_written_value(ev->data, ev->data_len, line->value, sizeof(line->value));
	line->ret = ev->ret;
	line->duration_ns = ev->ts_exit - ev->ts_enter;
	line->since_receive_ns = -1;
}

bool watch_line_wanted(const struct watch_line *line, const char *container_id, const char *cgroup,
                       const char *comm)
{
	if (container_id && strcmp(line->container_id, container_id) != 0)
		return false;
	if (cgroup && !strstr(line->cgroup, cgroup))
		return false;
	return !comm || strcmp(line->comm, comm) == 0;
}

void watch_format_header(char *buf, size_t len)
{
	snprintf(buf, len, "%-15s %-7s %-15s %-24s %-28s %-10s %-20s %6s %8s %15s\n", "TIME", "PID",
	         "COMM", "CONTAINER/CGROUP", "FILE", "CALL", "VALUE", "RET", "DUR(us)",
	         "RECV->WRITE(ms)");
}

static void ret_text(int64_t ret, char *buf, size_t len)
{
	if (ret >= 0)
		snprintf(buf, len, "%lld", (long long)ret);
	else
		snprintf(buf, len, "%s",
		         strerrorname_np((int)-ret) ? strerrorname_np((int)-ret) : "error");
}

void watch_format_line(const struct watch_line *l, enum output_format format, char *buf, size_t len)
{
	char ret[32];
	ret_text(l->ret, ret, sizeof(ret));
	if (format == FORMAT_JSON) {
		json_t *o = json_pack(
		        "{s:f, s:I, s:I, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:I, s:s?, s:I}",
		        "time", l->wall, "ts_ns", (json_int_t)l->ts_ns, "pid", (json_int_t)l->pid,
		        "comm", l->comm, "container", l->container_id[0] ? l->container_id : NULL,
		        "container_name", l->container_name[0] ? l->container_name : NULL, "cgroup",
		        l->cgroup, "file", l->file, "call", l->call, "value", l->value, "ret",
		        (json_int_t)l->ret, "error", l->ret < 0 ? ret : NULL, "duration_ns",
		        (json_int_t)l->duration_ns);
		if (o && l->since_receive_ns >= 0)
			json_object_set_new(o, "since_receive_ns",
			                    json_integer(l->since_receive_ns));
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
		snprintf(buf, len, "%s\n", text ? text : "{}");
		free(text);
		json_decref(o);
		return;
	}
	time_t secs = (time_t)l->wall;
	struct tm tm;
	localtime_r(&secs, &tm);
	char when[32], where[32], since[32];
	snprintf(when, sizeof(when), "%02d:%02d:%02d.%06d", tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (int)((l->wall - (double)secs) * 1e6));
	if (l->container_name[0]) {
		snprintf(where, sizeof(where), "%.24s", l->container_name);
	} else if (l->container_id[0]) {
		snprintf(where, sizeof(where), "%.12s", l->container_id);
	} else {
		size_t n = strlen(l->cgroup);
		/* The end of a long path says more than its start. */
		snprintf(where, sizeof(where), "%s%s", n > 24 ? "..." : "",
		         l->cgroup + (n > 24 ? n - 21 : 0));
	}
	if (l->since_receive_ns >= 0)
		snprintf(since, sizeof(since), "%.3f", (double)l->since_receive_ns / 1e6);
	else
		snprintf(since, sizeof(since), "-");
	snprintf(buf, len, "%-15s %-7u %-15s %-24s %-28s %-10s %-20s %6s %8.2f %15s\n", when,
	         l->pid, l->comm, where, l->file, l->call, l->value, ret,
	         (double)l->duration_ns / 1e3, since);
}

bool watch_loss_line(struct watch_loss *l, uint64_t lost, uint64_t now_ns, char *buf, size_t len)
{
	if (lost <= l->reported || (l->last_ns && now_ns - l->last_ns < WATCH_LOSS_INTERVAL_NS))
		return false;
	uint64_t now_lost = lost - l->reported;
	snprintf(buf, len,
	         "cglat watch: %llu event%s lost just now (%llu in all): the probes wrote "
	         "faster than watch read, so some writes are not shown\n",
	         (unsigned long long)now_lost, now_lost == 1 ? "" : "s", (unsigned long long)lost);
	l->reported = lost;
	l->last_ns = now_ns;
	return true;
}

/* ------------------------------------------------------------------- live */

#define RECV_RING 64
#define REF_CACHE 32
#define NAME_CACHE 64
#define BATCH_MAX 4096

struct watcher {
	const struct watch_config *cfg;
	struct docker *docker; /* NULL when dockerd is not reachable */
	char container_id[65]; /* --container resolved */
	double wall_offset;    /* CLOCK_REALTIME - CLOCK_MONOTONIC, seconds */
	struct {
		char ref[72];
		char id[65];
		uint64_t ts;
	} recv[RECV_RING];
	unsigned recv_next;
	struct {
		char ref[72];
		char id[65];
	} refs[REF_CACHE];
	unsigned refs_next;
	struct {
		char id[65];
		char name[128]; /* "" when neither engine knows it */
	} names[NAME_CACHE];
	unsigned names_next;
	unsigned long shown;
	/* Events of one poll, handled in time order: perf buffers are per CPU, and
	 * a write read from one CPU's buffer before the request that caused it
	 * from another's would miss its receive time. */
	struct cglat_event *batch;
	size_t nbatch;
	unsigned long dropped;
};

static bool is_full_id(const char *s)
{
	size_t n = strlen(s);
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* A request's container reference (name, short or full id) -> full id, cached. */
static void resolve_ref(struct watcher *w, const char *ref, char id[65])
{
	id[0] = '\0';
	if (is_full_id(ref)) {
		snprintf(id, 65, "%s", ref);
		return;
	}
	for (unsigned i = 0; i < REF_CACHE; i++)
		if (strcmp(w->refs[i].ref, ref) == 0) {
			memcpy(id, w->refs[i].id, 65);
			return;
		}
	struct docker_container c;
	if (!w->docker || docker_inspect(w->docker, ref, &c, NULL) < 0)
		return;
	memcpy(id, c.id, 65);
	unsigned slot = w->refs_next++ % REF_CACHE;
	snprintf(w->refs[slot].ref, sizeof(w->refs[slot].ref), "%s", ref);
	snprintf(w->refs[slot].id, sizeof(w->refs[slot].id), "%s", c.id);
}

/* A container id -> its name, asked once per container: Docker's, else podman's. */
static void name_of(struct watcher *w, const char *id, char *name, size_t cap)
{
	name[0] = '\0';
	for (unsigned i = 0; i < NAME_CACHE; i++)
		if (strcmp(w->names[i].id, id) == 0) {
			snprintf(name, cap, "%s", w->names[i].name);
			return;
		}
	struct docker_container c;
	struct podman_container pc;
	if (w->docker && docker_inspect(w->docker, id, &c, NULL) == 0)
		snprintf(name, cap, "%s", c.name);
	else if (podman_find(NULL, id, &pc, NULL) == 1)
		snprintf(name, cap, "%s", pc.name);
	unsigned slot = w->names_next++ % NAME_CACHE;
	snprintf(w->names[slot].id, sizeof(w->names[slot].id), "%s", id);
	snprintf(w->names[slot].name, sizeof(w->names[slot].name), "%s", name);
}

/* Is the writer the runtime carrying out a request: a process containerd (or
 * its shim, or dockerd) forked? A shell or `cglat set` is not. */
static bool runtime_child(const char *parent_comm)
{
	return strncmp(parent_comm, "containerd", 10) == 0 || strcmp(parent_comm, "dockerd") == 0;
}

/* The latest update request for this container received before the write,
 * when the writer is the runtime and was started after it, as `runc update`
 * is for each update. */
static int64_t since_receive(const struct watcher *w, const struct watch_line *l, uint64_t enter,
                             uint64_t exec_ns, const char *parent_comm)
{
	if (!l->container_id[0] || !exec_ns || !runtime_child(parent_comm))
		return -1;
	uint64_t best = 0;
	for (unsigned i = 0; i < RECV_RING; i++)
		if (w->recv[i].ts && w->recv[i].ts <= exec_ns && exec_ns <= enter &&
		    w->recv[i].ts > best && strcmp(w->recv[i].id, l->container_id) == 0)
			best = w->recv[i].ts;
	/* An update older than 10 s is not what caused this write. */
	if (!best || l->ts_ns - best > 10000000000ull)
		return -1;
	return (int64_t)(l->ts_ns - best);
}

static void handle(struct watcher *w, const struct cglat_event *ev)
{
	if (ev->kind == CGLAT_EV_RECV) {
		char ref[72];
		if (!event_parse_update_request(ev->data, ev->data_len, ref, sizeof(ref)))
			return;
		unsigned slot = w->recv_next++ % RECV_RING;
		snprintf(w->recv[slot].ref, sizeof(w->recv[slot].ref), "%s", ref);
		resolve_ref(w, ref, w->recv[slot].id);
		w->recv[slot].ts = ev->ts_exit;
		return;
	}
	if (ev->kind != CGLAT_EV_WRITE)
		return;
	struct watch_line line;
	watch_line_from_event(ev, w->wall_offset + (double)ev->ts_exit / 1e9, &line);
	if (!watch_line_wanted(&line, w->container_id[0] ? w->container_id : NULL, w->cfg->cgroup,
	                       w->cfg->comm))
		return;
	line.since_receive_ns = since_receive(w, &line, ev->ts_enter, ev->exec_ns, ev->parent_comm);
	if (line.container_id[0])
		name_of(w, line.container_id, line.container_name, sizeof(line.container_name));
	char buf[1024];
	watch_format_line(&line, w->cfg->format, buf, sizeof(buf));
	fputs(buf, stdout);
	fflush(stdout);
	w->shown++;
}

static void on_event(void *ctx, const struct cglat_event *ev)
{
	struct watcher *w = ctx;
	if (w->nbatch == BATCH_MAX) {
		w->dropped++;
		return;
	}
	w->batch[w->nbatch++] = *ev;
}

static int by_time(const void *a, const void *b)
{
	const struct cglat_event *x = a, *y = b;
	return x->ts_exit < y->ts_exit ? -1 : x->ts_exit > y->ts_exit;
}

static void handle_batch(struct watcher *w)
{
	qsort(w->batch, w->nbatch, sizeof(*w->batch), by_time);
	for (size_t i = 0; i < w->nbatch; i++)
		handle(w, &w->batch[i]);
	w->nbatch = 0;
}

static double wall_offset(void)
{
	struct timespec rt, mono;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return (double)(rt.tv_sec - mono.tv_sec) + (double)(rt.tv_nsec - mono.tv_nsec) / 1e9;
}

/* --container: a full id as given; a name or id prefix Docker's, else podman's. */
static int resolve_container(struct watcher *w, const char *ref, struct cg_err *err)
{
	struct docker_container c;
	struct podman_container pc;
	struct cg_err docker_err = {{0}};
	if (is_full_id(ref)) {
		snprintf(w->container_id, sizeof(w->container_id), "%s", ref);
		return 0;
	}
	if (w->docker && docker_inspect(w->docker, ref, &c, &docker_err) == 0) {
		snprintf(w->container_id, sizeof(w->container_id), "%s", c.id);
		return 0;
	}
	int found = podman_find(NULL, ref, &pc, err);
	if (found < 0)
		return cg_err_wrap(err, "--container %s", ref);
	if (found == 1) {
		snprintf(w->container_id, sizeof(w->container_id), "%s", pc.id);
		return 0;
	}
	if (!w->docker)
		return cg_errf(err,
		               "--container %s: no podman container has that name or id, and "
		               "dockerd is not reachable to resolve it; give the full 64-digit id "
		               "instead",
		               ref);
	return cg_errf(err, "--container %s: %s; nor is it a podman container's name or id", ref,
	               docker_err.msg);
}

static int run(const struct watch_config *cfg, struct cg_err *err)
{
	if (geteuid() != 0)
		return cg_errf(err, "cglat watch must run as root: it loads BPF programs; try: "
		                    "sudo cglat watch");
	struct watcher w = {.cfg = cfg, .wall_offset = wall_offset()};
	struct docker_info info;
	if (docker_open(cfg->docker_sock, &w.docker, &info, NULL) < 0)
		w.docker = NULL; /* fine: no receive times, ids only */
	if (cfg->container && resolve_container(&w, cfg->container, err) < 0) {
		docker_close(w.docker);
		return -1;
	}
	struct tracer_config tc = {.strategy = cfg->probe,
	                           .dockerd_tgid = w.docker ? docker_daemon_pid() : 0,
	                           .on_event = on_event,
	                           .ctx = &w};
	struct tracer *t;
	w.batch = malloc(BATCH_MAX * sizeof(*w.batch));
	if (!w.batch || tracer_open(&tc, &t, err) < 0) {
		if (!w.batch)
			cg_errf(err, "out of memory");
		free(w.batch);
		docker_close(w.docker);
		return -1;
	}
	if (tracer_unseen_writes(t)[0])
		fprintf(stderr, "cglat watch: not seen with these probes: %s\n",
		        tracer_unseen_writes(t));
	fprintf(stderr, "cglat watch: probes %s (%s); Ctrl-C to stop\n",
	        tracer_strategy_name(tracer_strategy(t)), tracer_reason(t));
	if (cfg->format == FORMAT_TEXT) {
		char header[256];
		watch_format_header(header, sizeof(header));
		fputs(header, stdout);
		fflush(stdout);
	}
	uint64_t deadline =
	        cfg->duration_s > 0 ? tracer_now_ns() + (uint64_t)(cfg->duration_s * 1e9) : 0;
	int rc = 0;
	struct watch_loss loss = {0};
	char loss_text[256];
	while (!signals_stop_requested() && (!deadline || tracer_now_ns() < deadline)) {
		if (tracer_poll(t, 100, err) < 0) {
			rc = -1;
			break;
		}
		handle_batch(&w);
		if (watch_loss_line(&loss, tracer_lost_events(t) + w.dropped, tracer_now_ns(),
		                    loss_text, sizeof(loss_text)))
			fputs(loss_text, stderr);
	}
	if (tracer_poll(t, 0, NULL) == 0)
		handle_batch(&w);
	uint64_t lost = tracer_lost_events(t) + w.dropped;
	tracer_close(t);
	docker_close(w.docker);
	free(w.batch);
	if (lost)
		fprintf(stderr, "cglat watch: %llu events lost in all (perf buffer full)\n",
		        (unsigned long long)lost);
	return rc;
}

int watch_main(int argc, char **argv)
{
	struct watch_config cfg;
	enum cli_action action;
	struct cg_err err;
	if (watch_parse(argc, argv, &cfg, &action, &err) < 0) {
		fprintf(stderr, "cglat watch: %s\n", err.msg);
		return 2;
	}
	if (action == CLI_HELP) {
		watch_usage(stdout);
		return 0;
	}
	signals_install();
	if (run(&cfg, &err) < 0) {
		fprintf(stderr, "cglat watch: %s\n", err.msg);
		return 1;
	}
	return 0;
}
