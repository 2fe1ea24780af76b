/* cglat watch: every cgroup limit write on the host as it happens, one line
 * each, like bcc's opensnoop is for opens. */
#ifndef CGLAT_WATCH_H
#define CGLAT_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cglat_event.h"
#include "bench_cli.h"
#include "error.h"
#include "tracer.h"

struct watch_config {
	const char *container;     /* name or id: only this container's writes */
	const char *cgroup;        /* only writes whose path contains this text */
	const char *comm;          /* only writes by this command */
	enum output_format format; /* text or json (lines) */
	double duration_s;         /* 0: until SIGINT/SIGTERM */
	enum tracer_strategy probe;
	const char *docker_sock;
};

/* One limit write, ready to print. */
struct watch_line {
	uint64_t ts_ns; /* CLOCK_MONOTONIC of the write's return */
	double wall;    /* seconds since the epoch, same moment */
	uint32_t pid;
	char comm[16];
	char container_id[65];    /* "" when the cgroup is not a container's */
	char container_name[128]; /* its name (Docker's or podman's); "" when not known */
	char cgroup[CGLAT_PATH_LEN];
	char file[64];
	char call[16]; /* the write call: event_write_call_name() */
	char value[CGLAT_DATA_LEN + 1];
	int64_t ret;              /* bytes written or -errno */
	uint64_t duration_ns;     /* write enter -> return */
	int64_t since_receive_ns; /* dockerd's receive of the update -> return; -1 if none */
};

int watch_parse(int argc, char **argv, struct watch_config *cfg, enum cli_action *action,
                struct cg_err *err);
void watch_usage(FILE *out);

/* Splits an event's path into cgroup directory and file, finds the container. */
void watch_line_from_event(const struct cglat_event *ev, double wall, struct watch_line *line);

/* Does the line pass the filters (container id already resolved)? */
bool watch_line_wanted(const struct watch_line *line, const char *container_id, const char *cgroup,
                       const char *comm);

/* The header (text only) and one line, each ending in '\n'. */
void watch_format_header(char *buf, size_t len);
void watch_format_line(const struct watch_line *line, enum output_format format, char *buf,
                       size_t len);

/* Events lost while watch runs (the probes' perf buffer full, or more events in one
 * poll than watch holds), said on stderr as it happens, at most once a second. */
#define WATCH_LOSS_INTERVAL_NS 1000000000ull
struct watch_loss {
	uint64_t reported; /* lost events already said */
	uint64_t last_ns;  /* CLOCK_MONOTONIC of the last line; 0: none yet */
};
/* lost is the count since the start; true (with the line in buf, ending in '\n') when
 * it grew since the last line and that line is WATCH_LOSS_INTERVAL_NS old or more. */
bool watch_loss_line(struct watch_loss *l, uint64_t lost, uint64_t now_ns, char *buf, size_t len);

int watch_main(int argc, char **argv);

#endif
