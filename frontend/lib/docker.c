/* Docker Engine API client over dockerd's unix socket, and the CLI path.
 * The transport is docker_http.c (requests written here, answers read with
 * http_parser); one connection per struct docker stays open between requests, so a
 * timed update does not pay for a new connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, strsignal */
#endif
#include "docker.h"
#include "text.h"
#include "units.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_http.h"

extern char **environ;

#define START_HINT DOCKER_START_HINT
#define MIN_API_MAJOR 1
#define MIN_API_MINOR 41     /* HostConfig.CgroupnsMode needs API 1.41 */
#define MAX_BODY (64u << 20) /* answers larger than this are not dockerd's */
#define CONNECT_TIMEOUT_S 5
/* A request dockerd has not answered in a minute is taken as a hung dockerd; an image
 * import on a slow disk may take longer. */
#define REQUEST_TIMEOUT_S 60
#define IMPORT_TIMEOUT_S 300
#define IDLE_CMD_CHANGE "CMD [\"/idle\"]"

struct docker {
	struct dh_conn http;
	char api[16]; /* "1.41" after docker_open's handshake; "" on a docker_connect handle */
	char path[2048];
};

/* ---- small helpers ---- */

/* Copies ref into out for an error message, with anything unprintable as \xNN. */
static const char *printable(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p && n + 5 < cap; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			out[n++] = (char)*p;
		else
			n += (size_t)snprintf(out + n, cap - n, "\\x%02x", *p);
	}
	if (*s && n + 5 >= cap && n >= 3)
		memcpy(out + n - 3, "...", 3);
	out[n] = '\0';
	return out;
}

static const char *obj_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static int64_t obj_int(json_t *obj, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(obj, key));
}

static json_t *load_object(const char *json, const char *what, struct cg_err *err)
{
	json_error_t jerr;
	json_t *root = json_loads(json ? json : "", 0, &jerr);
	if (!root)
		cg_errf(err, "dockerd's %s answer is not JSON: %s (line %d)", what, jerr.text,
		        jerr.line);
	else if (!json_is_object(root)) {
		cg_errf(err, "dockerd's %s answer is not a JSON object", what);
		json_decref(root);
		root = NULL;
	}
	return root;
}

bool docker_is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
			return false;
	return true;
}

/* ---- pure JSON helpers ---- */

int docker_error_from_body(const char *body, long status, struct cg_err *err)
{
	json_t *root = body ? json_loads(body, 0, NULL) : NULL;
	const char *msg = obj_str(root, "message");
	if (!msg || !*msg) {
		json_decref(root);
		return cg_errf(err, "dockerd answered HTTP %ld", status);
	}
	/* runc's errors carry newlines ("...invalid argument\n: unknown"): one line reads
	 * better in a terminal and in a CSV note. */
	char line[sizeof(err->msg)];
	size_t n = 0;
	for (const char *p = msg; *p && n + 1 < sizeof(line); p++)
		if (*p != '\n' || (n && line[n - 1] != ' '))
			line[n++] = *p == '\n' ? ' ' : *p;
	while (n && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	json_decref(root);
	return cg_errf(err, "dockerd: %s (HTTP %ld)", line, status);
}

int docker_parse_version(const char *json, struct docker_info *info, struct cg_err *err)
{
	json_t *root = load_object(json, "/version", err);
	if (!root)
		return -1;
	const char *ver = obj_str(root, "Version"), *api = obj_str(root, "ApiVersion");
	if (!ver || !api) {
		json_decref(root);
		return cg_errf(err, "dockerd's /version answer has no Version or ApiVersion");
	}
	text_copy(info->server_version, sizeof(info->server_version), ver);
	text_copy(info->api_version, sizeof(info->api_version), api);
	/* /info names the default runtime but not its version; /version lists runc's.
	 * Keep it here; docker_parse_info decides whether it is the default runtime's. */
	info->runtime[0] = '\0';
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(root, "Components"), i, c)
	{
		const char *name = obj_str(c, "Name"), *cver = obj_str(c, "Version");
		if (name && cver && strcmp(name, "runc") == 0)
			snprintf(info->runtime, sizeof(info->runtime), "runc %s", cver);
	}
	json_decref(root);
	return 0;
}

/* The binary a runtime name runs: Runtimes[name].path's base name, else the name. */
static const char *runtime_binary(json_t *root, const char *name)
{
	const char *path =
	        obj_str(json_object_get(json_object_get(root, "Runtimes"), name), "path");
	if (!path || !*path)
		return name;
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

int docker_parse_info(const char *json, struct docker_info *info, struct cg_err *err)
{
	json_t *root = load_object(json, "/info", err);
	if (!root)
		return -1;
	const char *driver = obj_str(root, "CgroupDriver");
	const char *cgver = obj_str(root, "CgroupVersion");
	const char *rt = obj_str(root, "DefaultRuntime");
	if (!driver || !rt) {
		json_decref(root);
		return cg_errf(err, "dockerd's /info answer has no CgroupDriver or DefaultRuntime");
	}
	text_copy(info->cgroup_driver, sizeof(info->cgroup_driver), driver);
	text_copy(info->default_runtime, sizeof(info->default_runtime), rt);
	info->nruntimes = 0;
	const char *key;
	json_t *val;
	json_object_foreach(json_object_get(root, "Runtimes"), key, val)
	{
		if (info->nruntimes == DOCKER_MAX_RUNTIMES)
			break;
		struct docker_runtime *r = &info->runtimes[info->nruntimes++];
		text_copy(r->name, sizeof(r->name), key);
		text_copy(r->path, sizeof(r->path), obj_str(val, "path"));
	}
	/* Before API 1.40 there is no CgroupVersion and only v1 was supported. */
	text_copy(info->cgroup_version, sizeof(info->cgroup_version), cgver ? cgver : "1");

	const char *bin = runtime_binary(root, rt);
	size_t blen = strlen(bin);
	char known[sizeof(info->runtime)];
	text_copy(known, sizeof(known), info->runtime);
	if (strncmp(known, bin, blen) == 0 && known[blen] == ' ') {
		if (strcmp(rt, bin) != 0)
			snprintf(info->runtime, sizeof(info->runtime), "%.60s (%.60s)", rt, known);
	} else {
		text_copy(info->runtime, sizeof(info->runtime), rt);
	}
	json_decref(root);
	return 0;
}

const char *docker_runtime_path(const struct docker_info *info, const char *name)
{
	if (!name || !*name)
		return NULL;
	for (size_t i = 0; i < info->nruntimes; i++)
		if (strcmp(info->runtimes[i].name, name) == 0 && info->runtimes[i].path[0])
			return info->runtimes[i].path;
	return name;
}

int docker_parse_inspect(const char *json, struct docker_container *out, struct cg_err *err)
{
	json_t *root = load_object(json, "inspect", err);
	if (!root)
		return -1;
	const char *id = obj_str(root, "Id"), *name = obj_str(root, "Name");
	json_t *state = json_object_get(root, "State"), *hc = json_object_get(root, "HostConfig");
	if (!id || strlen(id) != 64 || !docker_is_hex(id) || !json_is_object(state) ||
	    !json_is_object(hc)) {
		json_decref(root);
		return cg_errf(err, "dockerd's inspect answer lacks a 64-digit Id, State or "
		                    "HostConfig");
	}
	memset(out, 0, sizeof(*out));
	text_copy(out->id, sizeof(out->id), id);
	text_copy(out->name, sizeof(out->name), name && *name == '/' ? name + 1 : name);
	out->running = json_is_true(json_object_get(state, "Running"));
	out->pid = (pid_t)obj_int(state, "Pid");
	text_copy(out->cgroupns_mode, sizeof(out->cgroupns_mode), obj_str(hc, "CgroupnsMode"));
	text_copy(out->runtime, sizeof(out->runtime), obj_str(hc, "Runtime"));
	json_t *labels = json_object_get(json_object_get(root, "Config"), "Labels");
	const char *owner = json_is_object(labels) ? obj_str(labels, "cglat.owner") : NULL;
	char *end = NULL;
	long pid = owner ? strtol(owner, &end, 10) : 0;
	out->owner =
	        owner && *owner && end && !*end && pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
	out->limits = (struct docker_limits){
	        .memory = obj_int(hc, "Memory"),
	        .memory_swap = obj_int(hc, "MemorySwap"),
	        .cpu_quota = obj_int(hc, "CpuQuota"),
	        .cpu_period = obj_int(hc, "CpuPeriod"),
	        .nano_cpus = obj_int(hc, "NanoCpus"),
	        .cpu_shares = obj_int(hc, "CpuShares"),
	};
	json_decref(root);
	return 0;
}

char *docker_update_body(const struct docker_update *u)
{
	static const struct {
		unsigned flag;
		const char *key;
		size_t off;
	} fields[] = {
	        {DOCKER_SET_MEMORY, "Memory", offsetof(struct docker_update, memory)},
	        {DOCKER_SET_MEMORY_SWAP, "MemorySwap", offsetof(struct docker_update, memory_swap)},
	        {DOCKER_SET_CPU_QUOTA, "CpuQuota", offsetof(struct docker_update, cpu_quota)},
	        {DOCKER_SET_CPU_PERIOD, "CpuPeriod", offsetof(struct docker_update, cpu_period)},
	        {DOCKER_SET_NANO_CPUS, "NanoCpus", offsetof(struct docker_update, nano_cpus)},
	};
	json_t *obj = json_object();
	if (!obj)
		return NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (!(u->set & fields[i].flag))
			continue;
		int64_t v = *(const int64_t *)((const char *)u + fields[i].off);
		json_object_set_new(obj, fields[i].key, json_integer(v));
	}
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return s;
}

/* host: the CLI's -H (unix://PATH), or NULL for its default. */
static int update_argv(const char *docker_bin, const char *host, const char *ref,
                       const struct docker_update *u, char storage[8][64], const char *argv[16])
{
	/* The CLI's own order; numbers are plain bytes and microseconds, --cpus a decimal. */
	static const struct {
		unsigned flag;
		const char *opt;
		size_t off;
	} opts[] = {
	        {DOCKER_SET_MEMORY, "--memory", offsetof(struct docker_update, memory)},
	        {DOCKER_SET_MEMORY_SWAP, "--memory-swap",
	         offsetof(struct docker_update, memory_swap)},
	        {DOCKER_SET_CPU_PERIOD, "--cpu-period", offsetof(struct docker_update, cpu_period)},
	        {DOCKER_SET_CPU_QUOTA, "--cpu-quota", offsetof(struct docker_update, cpu_quota)},
	        {DOCKER_SET_NANO_CPUS, "--cpus", offsetof(struct docker_update, nano_cpus)},
	};
	int argc = 0, used = 0;
	argv[argc++] = docker_bin;
	if (host) {
		argv[argc++] = "-H";
		argv[argc++] = host;
	}
	argv[argc++] = "update";
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!(u->set & opts[i].flag))
			continue;
		int64_t v = *(const int64_t *)((const char *)u + opts[i].off);
		if (opts[i].flag == DOCKER_SET_NANO_CPUS)
			units_format_nano_cpus(v, storage[used], 64);
		else
			snprintf(storage[used], 64, "%lld", (long long)v);
		argv[argc++] = opts[i].opt;
		argv[argc++] = storage[used++];
	}
	argv[argc++] = ref;
	argv[argc] = NULL;
	return argc;
}

int docker_update_argv(const char *docker_bin, const char *ref, const struct docker_update *u,
                       char storage[8][64], const char *argv[16])
{
	return update_argv(docker_bin, NULL, ref, u, storage, argv);
}

/* ---- references ---- */

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

enum ref_fault { REF_CHARS, REF_LONG_ID, REF_LONG_NAME };

/* The error for an invalid reference, shown printable: made only then, since serve checks
 * every update's reference on its way to the kernel's files. */
static int ref_error(struct cg_err *err, const char *ref, enum ref_fault fault)
{
	char shown[96];
	printable(ref, shown, sizeof(shown));
	switch (fault) {
	case REF_CHARS:
		return cg_errf(err,
		               "invalid container reference \"%s\": a name starts with a letter or "
		               "digit and holds only letters, digits, '_', '.' and '-'",
		               shown);
	case REF_LONG_ID:
		return cg_errf(err, "container id \"%s\" is longer than 64 hex digits", shown);
	default:
		return cg_errf(err, "container name \"%s\" is longer than 255 characters", shown);
	}
}

int docker_validate_ref(const char *ref, struct cg_err *err)
{
	if (!ref || !*ref)
		return cg_errf(err, "empty container reference: give a container name or id");
	size_t len = strlen(ref);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ref[i];
		if (c >= 0x80 || !name_char(c) || (i == 0 && !isalnum(c)))
			return ref_error(err, ref, REF_CHARS);
	}
	if (len > 64 && docker_is_hex(ref) && len <= 255)
		return ref_error(err, ref, REF_LONG_ID);
	if (len > 255)
		return ref_error(err, ref, REF_LONG_NAME);
	return 0;
}

static bool all_in(const char *s, size_t n, const char *extra, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(islower(c) || isdigit(c) || (upper && isupper(c)) || strchr(extra, c)))
			return false;
	}
	return true;
}

/* Image references as cglat makes them: repo[:tag], repo in lower case, no registry
 * port, nothing that needs escaping in a URL path. */
static int split_image(const char *image, char repo[256], char tag[128], struct cg_err *err)
{
	char shown[96];
	printable(image ? image : "", shown, sizeof(shown));
	const char *colon = image ? strchr(image, ':') : NULL;
	size_t rlen = colon ? (size_t)(colon - image) : (image ? strlen(image) : 0);
	const char *t = colon ? colon + 1 : "latest";
	if (rlen == 0 || rlen > 255 || !*t || strlen(t) > 127 ||
	    !all_in(image, rlen, "._-/", false) || !all_in(t, strlen(t), "._-", true) ||
	    !isalnum((unsigned char)*image))
		return cg_errf(err,
		               "invalid image name \"%s\": give repo:tag with a lower-case repo "
		               "(letters, digits, '.', '_', '-', '/')",
		               shown);
	snprintf(repo, 256, "%.*s", (int)rlen, image);
	text_copy(tag, 128, t);
	return 0;
}

int docker_validate_image(const char *image, struct cg_err *err)
{
	char repo[256], tag[128];
	return split_image(image, repo, tag, err);
}

/* ---- HTTP ---- */

enum method { GET = DH_GET, POST = DH_POST, DELETE = DH_DELETE };

/* One request on the kept connection; the answer is left in d->http.resp. Paths go
 * under /v<api> once the API version is known (docker_open), unversioned before and on
 * a docker_connect handle. */
static int request(struct docker *d, enum method m, const char *path, const void *body, size_t len,
                   const char *content_type, long *status, struct cg_err *err)
{
	int n = d->api[0] ? snprintf(d->path, sizeof(d->path), "/v%s%s", d->api, path)
	                  : snprintf(d->path, sizeof(d->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(d->path))
		return cg_errf(err, "request path %.64s... is too long", path);
	struct dh_request rq = {.method = (enum dh_method)m,
	                        .path = d->path,
	                        .content_type = content_type,
	                        .body = body,
	                        .len = len};
	if (dh_request(&d->http, &rq, err) < 0)
		return -1;
	*status = d->http.resp.status;
	return 0;
}

/* The body of the last answer, NUL-terminated. */
static const char *answer(const struct docker *d)
{
	return d->http.resp.body ? d->http.resp.body : "";
}

static int get(struct docker *d, const char *path, long *status, struct cg_err *err)
{
	return request(d, GET, path, NULL, 0, NULL, status, err);
}

static int post_json(struct docker *d, const char *path, const char *json, long *status,
                     struct cg_err *err)
{
	return request(d, POST, path, json, json ? strlen(json) : 0, "application/json", status,
	               err);
}

static bool ok(long status)
{
	return status >= 200 && status < 300;
}

/* ---- open / close ---- */

static int check_socket(const char *path, struct cg_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return cg_errf(err, "no Docker socket at %s: %s", path, START_HINT);
		return cg_errf(err, "cannot stat Docker socket %s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return cg_errf(err, "%s is not a socket: point --docker-sock at dockerd's socket",
		               path);
	if (st.st_uid != 0)
		return cg_errf(err,
		               "%s is owned by uid %u, not root: cglat only talks to a root "
		               "dockerd; point --docker-sock at its socket",
		               path, (unsigned)st.st_uid);
	return 0;
}

static int check_api(const char *api, struct cg_err *err)
{
	unsigned major = 0, minor = 0;
	if (sscanf(api, "%u.%u", &major, &minor) != 2)
		return cg_errf(err, "dockerd reports API version \"%s\", which cglat cannot read",
		               api);
	if (major < MIN_API_MAJOR || (major == MIN_API_MAJOR && minor < MIN_API_MINOR))
		return cg_errf(err,
		               "dockerd speaks API %s; cglat needs %d.%d (Docker 20.10) or "
		               "newer",
		               api, MIN_API_MAJOR, MIN_API_MINOR);
	return 0;
}

/* /version then /info; the first also proves dockerd is there. */
static int handshake(struct docker *d, struct docker_info *info, struct cg_err *err)
{
	long status = 0;
	if (get(d, "/version", &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	if (docker_parse_version(answer(d), info, err) < 0 || check_api(info->api_version, err) < 0)
		return -1;
	text_copy(d->api, sizeof(d->api), info->api_version);
	if (get(d, "/info", &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	return docker_parse_info(answer(d), info, err);
}

/* The socket path's checks and the handle; nothing is sent yet. */
static int docker_new(const char *sock_path, struct docker **out, struct cg_err *err)
{
	const char *path = sock_path && *sock_path ? sock_path : DOCKER_DEFAULT_SOCK;
	if (strlen(path) >= sizeof(((struct dh_conn *)0)->sock))
		return cg_errf(err, "Docker socket path %s is too long for a unix socket", path);
	if (check_socket(path, err) < 0)
		return -1;
	struct docker *d = calloc(1, sizeof(*d));
	if (!d)
		return cg_errf(err, "out of memory");
	dh_init(&d->http, path, CONNECT_TIMEOUT_S * 1000, REQUEST_TIMEOUT_S * 1000, MAX_BODY);
	*out = d;
	return 0;
}

int docker_open(const char *sock_path, struct docker **out, struct docker_info *info,
                struct cg_err *err)
{
	struct docker_info scratch;
	struct docker *d = NULL;
	*out = NULL;
	if (docker_new(sock_path, &d, err) < 0)
		return -1;
	memset(&scratch, 0, sizeof(scratch));
	if (handshake(d, &scratch, err) < 0) {
		docker_close(d);
		return -1;
	}
	if (info)
		*info = scratch;
	*out = d;
	return 0;
}

int docker_connect(const char *sock_path, struct docker **out, struct cg_err *err)
{
	struct docker *d = NULL;
	*out = NULL;
	if (docker_new(sock_path, &d, err) < 0)
		return -1;
	/* Connected now, so that a dockerd that is down is an error of this call. */
	if (dh_connect(&d->http, err) < 0) {
		docker_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	dh_free(&d->http);
	free(d);
}

/* ---- containers ---- */

int docker_inspect(struct docker *d, const char *ref, struct docker_container *out,
                   struct cg_err *err)
{
	char path[512];
	long status = 0;
	if (docker_validate_ref(ref, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/containers/%s/json", ref);
	if (get(d, path, &status, err) < 0)
		return -1;
	if (status == 404)
		return cg_errf(err, "no such container: %s (`docker ps -a` lists them)", ref);
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	return docker_parse_inspect(answer(d), out, err);
}

int docker_update_api(struct docker *d, const char *id, const struct docker_update *u,
                      struct cg_err *err)
{
	char path[512];
	long status = 0;
	if (docker_validate_ref(id, err) < 0)
		return -1;
	char *body = docker_update_body(u);
	if (!body)
		return cg_errf(err, "out of memory building the update request");
	snprintf(path, sizeof(path), "/containers/%s/update", id);
	int rc = post_json(d, path, body, &status, err);
	free(body);
	if (rc < 0)
		return -1;
	if (status == 404)
		return cg_errf(err, "no such container: %s (`docker ps -a` lists them)", id);
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	return 0;
}

int docker_update_json(struct docker *d, const char *id, const char *json, struct cg_err *err)
{
	char path[512];
	long status = 0;
	if (docker_validate_ref(id, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/containers/%s/update", id);
	if (post_json(d, path, json, &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	return 0;
}

int docker_remove(struct docker *d, const char *id, struct cg_err *err)
{
	char path[512];
	long status = 0;
	if (docker_validate_ref(id, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", id);
	if (request(d, DELETE, path, NULL, 0, NULL, &status, err) < 0)
		return -1;
	if (status == 404 || ok(status))
		return 0;
	return docker_error_from_body(answer(d), status, err);
}

static int create_body(const char *image, const char *label, char **out, struct cg_err *err)
{
	const char *eq = strchr(label, '=');
	char key[256];
	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - label) : (int)strlen(label), label);
	json_t *root =
	        json_pack("{s:s, s:[s], s:{s:s}, s:{s:s, s:s}, s:b}", "Image", image, "Cmd",
	                  "/idle", "Labels", key, eq ? eq + 1 : "", "HostConfig", "NetworkMode",
	                  "none", "CgroupnsMode", "host", "NetworkDisabled", 1);
	*out = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	return *out ? 0 : cg_errf(err, "out of memory building the create request");
}

static int create_container(struct docker *d, const char *image, const char *name,
                            const char *label, char id_out[65], struct cg_err *err)
{
	char path[512], *body = NULL;
	long status = 0;
	if (create_body(image, label, &body, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "/containers/create%s%s", name && *name ? "?name=" : "",
	         name && *name ? name : "");
	int rc = post_json(d, path, body, &status, err);
	free(body);
	if (rc < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	json_t *root = json_loads(answer(d), 0, NULL);
	const char *id = obj_str(root, "Id");
	rc = id && strlen(id) == 64 && docker_is_hex(id) ? 0 : -1;
	if (rc == 0)
		text_copy(id_out, 65, id);
	json_decref(root);
	return rc == 0 ? 0 : cg_errf(err, "dockerd's create answer has no container Id");
}

int docker_run_idle(struct docker *d, const char *image, const char *name, const char *label,
                    char id_out[65], struct cg_err *err)
{
	char path[512], repo[256], tag[128], id[65];
	long status = 0;
	if (split_image(image, repo, tag, err) < 0)
		return -1;
	if (name && *name && docker_validate_ref(name, err) < 0)
		return -1;
	if (!label || !*label || *label == '=')
		return cg_errf(err, "a container label (key or key=value) is required");
	if (create_container(d, image, name, label, id, err) < 0)
		return cg_err_wrap(err, "creating a container from %s", image);
	snprintf(path, sizeof(path), "/containers/%s/start", id);
	int rc = post_json(d, path, NULL, &status, err);
	if (rc == 0 && !ok(status) && status != 304) /* 304: already started */
		rc = docker_error_from_body(answer(d), status, err);
	if (rc < 0) {
		struct cg_err ignored;
		cg_err_wrap(err, "starting container %.12s", id);
		/* Leave nothing half-made behind; when that fails, the caller gets the id. */
		if (docker_remove(d, id, &ignored) < 0)
			text_copy(id_out, 65, id);
		return -1;
	}
	text_copy(id_out, 65, id);
	return 0;
}

int docker_list_by_label(struct docker *d, const char *label, char (*ids)[65], size_t max,
                         size_t *count, struct cg_err *err)
{
	*count = 0;
	if (!label || !*label)
		return cg_errf(err, "a container label (key or key=value) is required");
	json_t *filters = json_pack("{s:[s]}", "label", label);
	char *fjson = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
	json_decref(filters);
	if (!fjson)
		return cg_errf(err, "out of memory building the container filter");
	/* The filter is JSON: every byte but letters, digits and -._~ is percent-encoded. */
	char esc[768], path[1024];
	long status = 0;
	int elen = dh_escape(fjson, esc, sizeof(esc));
	free(fjson);
	if (elen < 0)
		return cg_errf(err, "label %.64s is too long", label);
	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", esc);
	if (get(d, path, &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	json_t *arr = json_loads(answer(d), 0, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return cg_errf(err, "dockerd's container list is not a JSON array");
	}
	/* More than max are left for a later call: the caller removes what it got. */
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		const char *id = obj_str(c, "Id");
		if (*count < max && id && strlen(id) == 64)
			text_copy(ids[(*count)++], 65, id);
	}
	json_decref(arr);
	return 0;
}

/* ---- images ---- */

/* The import answer is 200 with JSON lines even when it failed: look for "error". */
static int import_stream_error(const char *body, struct cg_err *err)
{
	const char *p = body ? body : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		json_t *line = json_loadb(p, n, 0, NULL);
		const char *msg = obj_str(line, "error");
		if (msg) {
			cg_errf(err, "dockerd: %s", msg);
			json_decref(line);
			return -1;
		}
		json_decref(line);
		p += n + (nl ? 1 : 0);
	}
	return 0;
}

static int image_exists(struct docker *d, const char *image, bool *exists, struct cg_err *err)
{
	char path[512];
	long status = 0;
	snprintf(path, sizeof(path), "/images/%s/json", image);
	if (get(d, path, &status, err) < 0)
		return -1;
	if (status != 404 && !ok(status))
		return docker_error_from_body(answer(d), status, err);
	*exists = ok(status);
	return 0;
}

static int import_image(struct docker *d, const char *repo, const char *tag, const void *tar,
                        size_t tar_len, struct cg_err *err)
{
	/* repo and tag are of split_image's charset already; they are percent-encoded all
	 * the same (repo's '/' becomes %2F), like the `changes` value, which holds a space,
	 * quotes and brackets. */
	char erepo[3 * 256], etag[3 * 128], echange[3 * sizeof(IDLE_CMD_CHANGE)], path[2048];
	long status = 0;
	if (dh_escape(repo, erepo, sizeof(erepo)) < 0 || dh_escape(tag, etag, sizeof(etag)) < 0 ||
	    dh_escape(IDLE_CMD_CHANGE, echange, sizeof(echange)) < 0)
		return cg_errf(err, "image name %.64s:%.32s is too long", repo, tag);
	/* `changes` is the only way an import can give the image its Cmd. */
	snprintf(path, sizeof(path), "/images/create?fromSrc=-&repo=%s&tag=%s&changes=%s", erepo,
	         etag, echange);
	int saved = d->http.request_timeout_ms;
	d->http.request_timeout_ms = IMPORT_TIMEOUT_S * 1000;
	int sent = request(d, POST, path, tar, tar_len, "application/x-tar", &status, err);
	d->http.request_timeout_ms = saved;
	if (sent < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(answer(d), status, err);
	return import_stream_error(answer(d), err);
}

int docker_ensure_image(struct docker *d, const char *image, const void *tar, size_t tar_len,
                        struct cg_err *err)
{
	char repo[256], tag[128];
	bool exists = false;
	if (split_image(image, repo, tag, err) < 0 || image_exists(d, image, &exists, err) < 0)
		return -1;
	if (exists)
		return 0;
	if (!tar || tar_len == 0)
		return cg_errf(err, "no image tar to make image %s from", image);
	if (import_image(d, repo, tag, tar, tar_len, err) < 0)
		return cg_err_wrap(err, "importing image %s", image);
	if (image_exists(d, image, &exists, err) < 0)
		return -1;
	return exists ? 0
	              : cg_errf(err, "dockerd accepted the import of %s but has no such image",
	                        image);
}

/* ---- the CLI ---- */

static int spawn_cli(const char *bin, const char *const argv[], int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc != 0)
		return rc;
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err_fd, STDERR_FILENO);
	/* The CLI's argv strings are not modified; posix_spawn only lacks the const. */
	char *const *av = (char *const *)argv;
	if (strchr(bin, '/'))
		rc = posix_spawn(pid, bin, &fa, NULL, av, environ);
	else
		rc = posix_spawnp(pid, bin, &fa, NULL, av, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

int docker_update_cli(const char *docker_bin, const char *ref, const struct docker_update *u,
                      struct cg_err *err)
{
	return docker_update_cli_host(docker_bin, NULL, ref, u, err);
}

int docker_update_cli_host(const char *docker_bin, const char *host, const char *ref,
                           const struct docker_update *u, struct cg_err *err)
{
	char storage[8][64], line[512];
	const char *argv[16];
	int fds[2], status = 0;
	pid_t pid;
	if (!docker_bin || !*docker_bin)
		return cg_errf(err, "no docker binary given: pass --docker-bin");
	if (docker_validate_ref(ref, err) < 0)
		return -1;
	update_argv(docker_bin, host, ref, u, storage, argv);
	if (pipe2(fds, O_CLOEXEC) != 0)
		return cg_errf(err, "cannot create a pipe for docker's stderr: %s",
		               strerror(errno));
	int rc = spawn_cli(docker_bin, argv, fds[1], &pid);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		return cg_errf(err,
		               "cannot run %s: %s; install the Docker CLI or pass --docker-bin",
		               docker_bin, strerror(rc));
	}
	text_read_first_line(fds[0], line, sizeof(line));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cg_errf(err, "waiting for %s: %s", docker_bin, strerror(errno));
	if (WIFSIGNALED(status))
		return cg_errf(err, "docker update was killed by signal %d (%s)", WTERMSIG(status),
		               strsignal(WTERMSIG(status)));
	/* 127 and silence: the child could not exec and the libc could not say why. */
	if (WEXITSTATUS(status) == 127 && !line[0])
		return cg_errf(err,
		               "cannot run %s: not found or not executable; install the "
		               "Docker CLI or pass --docker-bin",
		               docker_bin);
	if (WEXITSTATUS(status) != 0)
		return cg_errf(err, "docker update failed (exit %d): %s", WEXITSTATUS(status),
		               line[0] ? line : "no message on stderr");
	return 0;
}

/* ---- the state directory, without dockerd ---- */

#define STATE_FILE_MAX (16u << 20) /* a config.v2.json larger than this is skipped */

/* The whole of a small file, NUL-terminated; NULL when it cannot be read. */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size < STATE_FILE_MAX &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		size_t n = 0;
		while (n < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		buf[n] = '\0';
	}
	close(fd);
	return buf;
}

/* Is the config's "Name" exactly "/name"? Only a file that holds "/name" in quotes
 * somewhere is parsed: the others cannot match. */
static bool config_names(const char *text, const char *quoted, const char *name)
{
	if (!strstr(text, quoted))
		return false;
	json_t *root = json_loads(text, 0, NULL);
	const char *got = obj_str(root, "Name");
	bool match = got && got[0] == '/' && strcmp(got + 1, name) == 0;
	json_decref(root);
	return match;
}

int docker_state_find_name(const char *root, const char *name, char id[65], size_t *scanned,
                           struct cg_err *err)
{
	char dir[4096], path[4200], quoted[300];
	*scanned = 0;
	if (docker_validate_ref(name, err) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/containers", root && *root ? root : DOCKER_DEFAULT_ROOT);
	DIR *dp = opendir(dir);
	if (!dp)
		return cg_errf(err, "cannot read %s, where dockerd keeps its containers' names: %s",
		               dir, strerror(errno));
	/* Names are [a-zA-Z0-9][a-zA-Z0-9_.-]*: nothing JSON would escape. */
	snprintf(quoted, sizeof(quoted), "\"/%s\"", name);
	size_t found = 0;
	char other[65] = "";
	for (struct dirent *e; (e = readdir(dp));) {
		if (strlen(e->d_name) != 64 || !docker_is_hex(e->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s/config.v2.json", dir, e->d_name);
		char *text = read_small_file(path);
		if (!text)
			continue; /* removed meanwhile, or half made */
		(*scanned)++;
		if (config_names(text, quoted, name)) {
			if (found++)
				text_copy(other, sizeof(other), e->d_name);
			else
				text_copy(id, 65, e->d_name);
		}
		free(text);
	}
	closedir(dp);
	if (found > 1)
		return cg_errf(err,
		               "two containers in %s are named \"%s\": %.12s and %.12s; give "
		               "the id",
		               dir, name, id, other);
	return found ? 1 : 0;
}

pid_t docker_daemon_pid(void)
{
	char comm[64], path[64];
	FILE *f = fopen("/var/run/docker.pid", "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	DIR *proc = pid > 0 ? NULL : opendir("/proc");
	struct dirent *de = NULL;
	for (;;) {
		if (pid > 0) {
			snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
			f = fopen(path, "r");
			bool ok =
			        f && fgets(comm, sizeof(comm), f) && strcmp(comm, "dockerd\n") == 0;
			if (f)
				fclose(f);
			if (ok) {
				if (proc)
					closedir(proc);
				return (pid_t)pid;
			}
		}
		if (!proc && !(proc = opendir("/proc")))
			return 0;
		if (!(de = readdir(proc)))
			break;
		pid = strtol(de->d_name, NULL, 10);
	}
	closedir(proc);
	return 0;
}
