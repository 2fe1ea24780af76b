/* cglat serve: argv, the checks before anything, the listening socket, the accept loop
 * and the orderly stop. The relay (serve_relay.c) serves each connection; the update
 * half (serve_update.c) answers container updates. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "serve.h"
#include "serve_relay.h"
#include "signals.h"

#define PROG "cglat serve"
#define LISTEN_BACKLOG 128
#define SOCKET_MODE 0660
#define DIR_MODE 0755

struct serve_args {
	struct serve_config cfg;
	int client_timeout_s;
	bool help, version;
};

static void serve_usage(FILE *out)
{
	fputs("Usage: cglat serve [OPTIONS]\n"
	      "\n"
	      "A Docker Engine API socket in front of dockerd. Container updates (POST\n"
	      "/containers/{id}/update) are written to the container's cgroup files directly,\n"
	      "in microseconds, then recorded in dockerd so that `docker inspect` stays true;\n"
	      "every other request is relayed to dockerd unchanged, streams (logs -f, events,\n"
	      "stats) and hijacked connections (attach, exec, run -i) included. Point any\n"
	      "Docker client at it with DOCKER_HOST.\n"
	      "\n"
	      "Options:\n"
	      "      --listen PATH         the socket to make (default " SERVE_DEFAULT_LISTEN ");\n"
	      "                            mode 0660, owner root, group docker when it exists\n"
	      "      --docker-sock PATH    dockerd's socket (default " DOCKER_DEFAULT_SOCK ")\n"
	      "      --reply-after WHEN    record (default): answer an update once dockerd has\n"
	      "                            recorded it; enforce: as soon as the kernel's files\n"
	      "                            are written, recording in dockerd in the background\n"
	      "      --client-timeout S    drop a client that stops sending in the middle of a\n"
	      "                            request for S seconds (default 60)\n"
	      "  -v, --verbose             one line per update on stderr; -vv every request too\n"
	      "  -h, --help                show this help\n"
	      "      --version             show the version\n"
	      "\n"
	      "Examples:\n"
	      "  sudo cglat serve\n"
	      "  DOCKER_HOST=unix://" SERVE_DEFAULT_LISTEN " docker update --memory 300m web\n"
	      "  DOCKER_HOST=unix://" SERVE_DEFAULT_LISTEN " docker ps   # the rest as before\n"
	      "  sudo cglat serve --reply-after enforce -v      # answer once enforced\n"
	      "  sudo cglat serve --listen /run/cglat/test.sock --docker-sock /run/docker.sock\n"
	      "  curl -s --unix-socket " SERVE_DEFAULT_LISTEN " http://localhost/cglat/v1/stats\n"
	      "\n"
	      "A stale socket left by a killed serve is replaced; a socket another server\n"
	      "answers on is not. SIGINT or SIGTERM: stop accepting, let requests in flight\n"
	      "finish (up to 10 s; a second signal cuts it short), remove the socket, exit 0.\n"
	      "\n"
	      "Exit status: 0 after SIGINT/SIGTERM, 1 when serve cannot start, 2 on bad usage.\n",
	      out);
}

static const struct option serve_options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"docker-sock", required_argument, NULL, 'S'},
        {"reply-after", required_argument, NULL, 'r'},
        {"client-timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

static int parse_seconds(const char *s, int *out, struct cg_err *err)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || !end || end == s || *end || v < 1 || v > 86400)
		return cg_errf(err,
		               "invalid --client-timeout \"%s\": expected whole seconds, 1 to "
		               "86400",
		               s);
	*out = (int)v;
	return 0;
}

static int check_path_opt(const char *opt, const char *path, struct cg_err *err)
{
	if (!*path)
		return cg_errf(err, "%s needs a path", opt);
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cg_errf(err, "%s %s is too long for a unix socket (at most %zu bytes)", opt,
		               path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	return 0;
}

static int parse_opt(struct serve_args *a, int c, struct cg_err *err)
{
	switch (c) {
	case 'l':
		a->cfg.listen = optarg;
		return check_path_opt("--listen", optarg, err);
	case 'S':
		a->cfg.docker_sock = optarg;
		return check_path_opt("--docker-sock", optarg, err);
	case 'r':
		if (strcmp(optarg, "record") == 0)
			a->cfg.reply_after = SERVE_REPLY_AFTER_RECORD;
		else if (strcmp(optarg, "enforce") == 0)
			a->cfg.reply_after = SERVE_REPLY_AFTER_ENFORCE;
		else
			return cg_errf(err,
			               "invalid --reply-after \"%s\": expected record or enforce",
			               optarg);
		return 0;
	case 't':
		return parse_seconds(optarg, &a->client_timeout_s, err);
	case 'v':
		a->cfg.verbose++;
		return 0;
	case 'h':
		a->help = true;
		return 0;
	case 'V':
		a->version = true;
		return 0;
	default:
		return cg_errf(err, "unknown option; see cglat serve --help");
	}
}

static int serve_parse(int argc, char **argv, struct serve_args *a, struct cg_err *err)
{
	memset(a, 0, sizeof(*a));
	a->cfg.listen = SERVE_DEFAULT_LISTEN;
	a->cfg.docker_sock = DOCKER_DEFAULT_SOCK;
	a->cfg.reply_after = SERVE_REPLY_AFTER_RECORD;
	a->client_timeout_s = SERVE_CLIENT_TIMEOUT_MS / 1000;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":vh", serve_options, NULL)) != -1) {
		if (c == '?')
			return cg_errf(err, "unknown option \"%s\"; see cglat serve --help",
			               argv[optind - 1]);
		if (c == ':')
			return cg_errf(err, "option \"%s\" needs a value", argv[optind - 1]);
		if (parse_opt(a, c, err) < 0)
			return -1;
		if (a->help || a->version)
			return 0;
	}
	if (optind < argc)
		return cg_errf(err, "unexpected argument \"%s\"; see cglat serve --help",
		               argv[optind]);
	return 0;
}

/* ---- the listening socket ---- */

struct listener {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[PATH_MAX];
	bool made_dir;  /* serve made the directory: it removes it */
	bool made_sock; /* the socket file is serve's */
	dev_t dev;
	ino_t ino;
	gid_t gid;
	bool docker_group;
};

/* The socket's directory: made (0755, root) when missing, and refused when someone
 * other than root could replace the socket in it. */
static int prepare_dir(struct listener *l, struct cg_err *err)
{
	snprintf(l->dir, sizeof(l->dir), "%s", l->path);
	char *slash = strrchr(l->dir, '/');
	if (!slash)
		snprintf(l->dir, sizeof(l->dir), ".");
	else if (slash == l->dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	struct stat st;
	if (stat(l->dir, &st) != 0 && errno == ENOENT) {
		if (mkdir(l->dir, DIR_MODE) != 0)
			return cg_errf(err, "cannot make the directory %s for the socket: %s",
			               l->dir, strerror(errno));
		l->made_dir = true;
		if (chmod(l->dir, DIR_MODE) != 0 || stat(l->dir, &st) != 0)
			return cg_errf(err, "cannot set up the directory %s: %s", l->dir,
			               strerror(errno));
	} else if (stat(l->dir, &st) != 0) {
		return cg_errf(err, "cannot use the directory %s for the socket: %s", l->dir,
		               strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return cg_errf(err, "%s is not a directory: --listen needs a path in one", l->dir);
	if (st.st_uid != 0)
		return cg_errf(err,
		               "the directory %s is owned by uid %u, not root: another user could "
		               "replace the socket; choose another --listen",
		               l->dir, (unsigned)st.st_uid);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		return cg_errf(err,
		               "the directory %s is writable by others (mode %04o, no sticky bit): "
		               "another user could replace the socket; choose another --listen",
		               l->dir, (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A file already at the path: a socket nobody answers on (a killed serve's) goes; a
 * socket a server answers on, or anything else, stays and serve refuses to start. */
static int clear_stale(const struct listener *l, const char *docker_sock, struct cg_err *err)
{
	struct stat st;
	if (lstat(l->path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return cg_errf(err, "cannot look at %s: %s", l->path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return cg_errf(err,
		               "%s exists and is not a socket; serve does not replace it: "
		               "remove it or choose another --listen",
		               l->path);
	struct stat ds;
	if (stat(docker_sock, &ds) == 0 && ds.st_dev == st.st_dev && ds.st_ino == st.st_ino)
		return cg_errf(err, "%s is dockerd's own socket: choose another --listen", l->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cg_errf(err, "cannot make a socket: %s", strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	int rc, e;
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 && errno == EINTR)
		;
	e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN)
		return cg_errf(err,
		               "a server is already listening on %s (another cglat serve?); stop "
		               "it or choose another --listen",
		               l->path);
	if (e != ECONNREFUSED)
		return cg_errf(err, "cannot tell whether a server answers on %s: %s", l->path,
		               strerror(e));
	if (unlink(l->path) != 0 && errno != ENOENT)
		return cg_errf(err, "cannot remove the stale socket %s: %s", l->path,
		               strerror(errno));
	return 0;
}

static int listen_on(struct listener *l, struct cg_err *err)
{
	struct group *g = getgrnam("docker");
	l->gid = g ? g->gr_gid : 0;
	l->docker_group = g != NULL;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return cg_errf(err, "cannot make a socket: %s", strerror(errno));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	/* Made 0600, so that nobody connects before owner, group and mode are right. */
	mode_t old = umask(0177);
	int rc = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc != 0)
		return cg_errf(err, "cannot listen on %s: %s", l->path, strerror(e));
	l->made_sock = true;
	struct stat st;
	if (chown(l->path, 0, l->gid) != 0 || chmod(l->path, SOCKET_MODE) != 0 ||
	    lstat(l->path, &st) != 0)
		return cg_errf(err, "cannot set the owner and mode of %s: %s", l->path,
		               strerror(errno));
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (listen(l->fd, LISTEN_BACKLOG) != 0)
		return cg_errf(err, "cannot listen on %s: %s", l->path, strerror(errno));
	return 0;
}

/* Removes what serve made: the socket (while it is still serve's) and its directory. */
static void listener_close(struct listener *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	struct stat st;
	if (l->made_sock && lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	l->made_sock = false;
	if (l->made_dir)
		rmdir(l->dir); /* only when empty */
	l->made_dir = false;
}

/* ---- running ---- */

static void accept_loop(struct listener *l, struct serve_relay *relay, const sigset_t *waitmask)
{
	while (!signals_stop_requested()) {
		struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
		struct timespec ts = {1, 0};
		int pr = ppoll(&pfd, 1, &ts, waitmask);
		if (signals_stop_requested())
			break;
		if (pr <= 0) {
			serve_relay_reap(relay);
			continue;
		}
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0) {
			serve_relay_add(relay, fd);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			fprintf(stderr, PROG ": cannot accept a connection: %s; waiting\n",
			        strerror(errno));
			struct timespec pause = {0, 100 * 1000000};
			nanosleep(&pause, NULL);
			serve_relay_reap(relay);
		}
	}
}

static int run_serve(struct serve_args *a)
{
	struct cg_err err = {{0}};
	struct serve_config *cfg = &a->cfg;
	if (geteuid() != 0) {
		fprintf(stderr, PROG ": must run as root: it writes cgroup files and fronts "
		                     "dockerd's socket; try: sudo cglat serve\n");
		return 1;
	}
	/* dockerd: its socket is a root-owned socket, and dockerd accepts connections. */
	struct docker *d = NULL;
	if (docker_connect(cfg->docker_sock, &d, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 1;
	}
	docker_close(d);

	struct listener l = {.fd = -1};
	snprintf(l.path, sizeof(l.path), "%s", cfg->listen);
	if (prepare_dir(&l, &err) < 0 || clear_stale(&l, cfg->docker_sock, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		listener_close(&l);
		return 1;
	}

	/* SIGINT/SIGTERM reach this thread only, and only inside ppoll, so that a signal
	 * never falls between the check and the wait. Threads made from here on inherit
	 * the mask. */
	sigset_t stops, old, waitmask;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stops, &old);
	waitmask = old;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	signals_install();
	signal(SIGPIPE, SIG_IGN);

	struct serve_updates *updates = NULL;
	struct serve_relay *relay = NULL;
	if (serve_updates_open(cfg, &updates, &err) < 0 || listen_on(&l, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		listener_close(&l);
		if (updates)
			serve_updates_close(updates);
		return 1;
	}
	struct serve_relay_config rc = {
	        .docker_sock = cfg->docker_sock,
	        .updates = updates,
	        .client_timeout_ms = a->client_timeout_s * 1000,
	        .verbose = cfg->verbose,
	};
	if (serve_relay_open(&rc, &relay, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		listener_close(&l);
		serve_updates_close(updates);
		return 1;
	}
	fprintf(stderr,
	        PROG ": listening on %s (mode 0660, group %s), dockerd at %s, updates answered "
	             "after %s\n",
	        l.path, l.docker_group ? "docker" : "root", cfg->docker_sock,
	        cfg->reply_after == SERVE_REPLY_AFTER_ENFORCE ? "enforce" : "record");

	accept_loop(&l, relay, &waitmask);

	int sig = signals_stop_requested();
	fprintf(stderr, PROG ": %s: no new connections; finishing the requests in flight\n",
	        signals_name(sig));
	listener_close(&l);                       /* new clients find no socket */
	pthread_sigmask(SIG_SETMASK, &old, NULL); /* a second signal cuts the wait short */
	size_t left = serve_relay_stop(relay, SERVE_GRACE_MS);
	if (left == 0) {
		serve_updates_close(updates);
		serve_relay_free(relay);
	} else {
		fprintf(stderr, PROG ": %zu connection%s did not end; exiting without them\n", left,
		        left == 1 ? "" : "s");
	}
	fprintf(stderr, PROG ": stopped\n");
	return 0;
}

int serve_main(int argc, char **argv)
{
	struct serve_args a;
	struct cg_err err = {{0}};
	if (serve_parse(argc, argv, &a, &err) < 0) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return 2;
	}
	if (a.help) {
		serve_usage(stdout);
		return 0;
	}
	if (a.version) {
		printf("cglat %s\n", CGLAT_VERSION);
		return 0;
	}
	return run_serve(&a);
}
