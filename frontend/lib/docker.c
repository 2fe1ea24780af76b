/* Docker Engine API client over dockerd's unix socket, and the CLI path.
 * One curl easy handle per struct docker: curl keeps the connection open between
 * requests, so a timed update does not pay for a new connection. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, strsignal */
#endif
#include "docker.h"

#include <ctype.h>
#include <curl/curl.h>
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

extern char **environ;

#define START_HINT                                                                                 \
	"start dockerd (sudo dockerd --bridge=none ...) or point --docker-sock at its socket"
#define MIN_API_MAJOR 1
#define MIN_API_MINOR 41     /* HostConfig.CgroupnsMode needs API 1.41 */
#define MAX_BODY (64u << 20) /* answers larger than this are not dockerd's */
#define CONNECT_TIMEOUT_S 5L
#define REQUEST_TIMEOUT_S 300L /* an image import on a slow disk takes a while */
#define IDLE_CMD_CHANGE "CMD [\"/idle\"]"

struct docker {
	CURL *curl;
	struct curl_slist *json_hdr;
	struct curl_slist *tar_hdr;
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char api[16];
	char *body; /* the last answer, NUL-terminated */
	size_t len;
	size_t cap;
	char url[1024];
	char curl_err[CURL_ERROR_SIZE];
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

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
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

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
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
	copy_str(info->server_version, sizeof(info->server_version), ver);
	copy_str(info->api_version, sizeof(info->api_version), api);
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
	copy_str(info->cgroup_driver, sizeof(info->cgroup_driver), driver);
	/* Before API 1.40 there is no CgroupVersion and only v1 was supported. */
	copy_str(info->cgroup_version, sizeof(info->cgroup_version), cgver ? cgver : "1");

	const char *bin = runtime_binary(root, rt);
	size_t blen = strlen(bin);
	char known[sizeof(info->runtime)];
	copy_str(known, sizeof(known), info->runtime);
	if (strncmp(known, bin, blen) == 0 && known[blen] == ' ') {
		if (strcmp(rt, bin) != 0)
			snprintf(info->runtime, sizeof(info->runtime), "%.60s (%.60s)", rt, known);
	} else {
		copy_str(info->runtime, sizeof(info->runtime), rt);
	}
	json_decref(root);
	return 0;
}

int docker_parse_inspect(const char *json, struct docker_container *out, struct cg_err *err)
{
	json_t *root = load_object(json, "inspect", err);
	if (!root)
		return -1;
	const char *id = obj_str(root, "Id"), *name = obj_str(root, "Name");
	json_t *state = json_object_get(root, "State"), *hc = json_object_get(root, "HostConfig");
	if (!id || strlen(id) != 64 || !is_hex(id) || !json_is_object(state) ||
	    !json_is_object(hc)) {
		json_decref(root);
		return cg_errf(err, "dockerd's inspect answer lacks a 64-digit Id, State or "
		                    "HostConfig");
	}
	memset(out, 0, sizeof(*out));
	copy_str(out->id, sizeof(out->id), id);
	copy_str(out->name, sizeof(out->name), name && *name == '/' ? name + 1 : name);
	out->running = json_is_true(json_object_get(state, "Running"));
	out->pid = (pid_t)obj_int(state, "Pid");
	copy_str(out->cgroupns_mode, sizeof(out->cgroupns_mode), obj_str(hc, "CgroupnsMode"));
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

int docker_update_argv(const char *docker_bin, const char *ref, const struct docker_update *u,
                       char storage[8][64], const char *argv[16])
{
	/* The CLI's own order; numbers are plain bytes and microseconds. */
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
	};
	int argc = 0, used = 0;
	argv[argc++] = docker_bin;
	argv[argc++] = "update";
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (!(u->set & opts[i].flag))
			continue;
		int64_t v = *(const int64_t *)((const char *)u + opts[i].off);
		snprintf(storage[used], 64, "%lld", (long long)v);
		argv[argc++] = opts[i].opt;
		argv[argc++] = storage[used++];
	}
	argv[argc++] = ref;
	argv[argc] = NULL;
	return argc;
}

/* ---- references ---- */

static bool name_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

int docker_validate_ref(const char *ref, struct cg_err *err)
{
	char shown[96];
	if (!ref || !*ref)
		return cg_errf(err, "empty container reference: give a container name or id");
	printable(ref, shown, sizeof(shown));
	size_t len = strlen(ref);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ref[i];
		if (c >= 0x80 || !name_char(c) || (i == 0 && !isalnum(c)))
			return cg_errf(err,
			               "invalid container reference \"%s\": a name starts with a "
			               "letter or digit and holds only letters, digits, '_', '.' "
			               "and '-'",
			               shown);
	}
	if (len > 64 && is_hex(ref) && len <= 255)
		return cg_errf(err, "container id \"%s\" is longer than 64 hex digits", shown);
	if (len > 255)
		return cg_errf(err, "container name \"%s\" is longer than 255 characters", shown);
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
	copy_str(tag, 128, t);
	return 0;
}

int docker_validate_image(const char *image, struct cg_err *err)
{
	char repo[256], tag[128];
	return split_image(image, repo, tag, err);
}

/* ---- HTTP ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct docker *d = user;
	size_t n = size * nmemb;
	if (d->len + n + 1 > d->cap) {
		size_t cap = d->cap ? d->cap : 4096;
		while (cap < d->len + n + 1)
			cap *= 2;
		if (cap > MAX_BODY)
			return 0; /* curl fails the request with CURLE_WRITE_ERROR */
		char *p = realloc(d->body, cap);
		if (!p)
			return 0;
		d->body = p;
		d->cap = cap;
	}
	memcpy(d->body + d->len, data, n);
	d->len += n;
	d->body[d->len] = '\0';
	return n;
}

/* curl says "Couldn't connect" for every failure; connect once more to learn why. */
static int connect_errno(const char *sock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	copy_str(sa.sun_path, sizeof(sa.sun_path), sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
	close(fd);
	return e;
}

static int curl_failure(struct docker *d, CURLcode rc, struct cg_err *err)
{
	if (rc == CURLE_COULDNT_CONNECT) {
		int e = connect_errno(d->sock);
		if (e == ECONNREFUSED || e == ENOENT)
			return cg_errf(err, "dockerd is not running at %s (connection refused): %s",
			               d->sock, START_HINT);
		if (e == EACCES || e == EPERM)
			return cg_errf(err, "no permission to connect to %s: run cglat as root",
			               d->sock);
	}
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return cg_errf(err, "dockerd at %s did not answer in time: is it hung? (%s)",
		               d->sock, d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
	return cg_errf(err, "request to dockerd at %s failed: %s", d->sock,
	               d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
}

enum method { GET, POST, DELETE };

/* One request on the kept connection; the answer is left in d->body. */
static int request(struct docker *d, enum method m, const char *path, const void *body, size_t len,
                   struct curl_slist *hdr, long *status, struct cg_err *err)
{
	CURL *c = d->curl;
	/* "/version" is asked before the API version is known, so it goes unversioned. */
	if (d->api[0])
		snprintf(d->url, sizeof(d->url), "http://localhost/v%s%s", d->api, path);
	else
		snprintf(d->url, sizeof(d->url), "http://localhost%s", path);
	d->len = 0;
	if (d->body)
		d->body[0] = '\0';
	d->curl_err[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	if (m == POST) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		if (m == DELETE)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		return curl_failure(d, rc, err);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static int get(struct docker *d, const char *path, long *status, struct cg_err *err)
{
	return request(d, GET, path, NULL, 0, NULL, status, err);
}

static int post_json(struct docker *d, const char *path, const char *json, long *status,
                     struct cg_err *err)
{
	return request(d, POST, path, json, json ? strlen(json) : 0, d->json_hdr, status, err);
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

static int setup_curl(struct docker *d, struct cg_err *err)
{
	d->curl = curl_easy_init();
	d->json_hdr = curl_slist_append(NULL, "Content-Type: application/json");
	d->tar_hdr = curl_slist_append(NULL, "Content-Type: application/x-tar");
	/* No "Expect: 100-continue" round trip before a large body. */
	if (d->json_hdr)
		d->json_hdr = curl_slist_append(d->json_hdr, "Expect:");
	if (d->tar_hdr)
		d->tar_hdr = curl_slist_append(d->tar_hdr, "Expect:");
	if (!d->curl || !d->json_hdr || !d->tar_hdr)
		return cg_errf(err, "cannot set up libcurl: out of memory");
	CURL *c = d->curl;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
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
		return docker_error_from_body(d->body, status, err);
	if (docker_parse_version(d->body, info, err) < 0 || check_api(info->api_version, err) < 0)
		return -1;
	copy_str(d->api, sizeof(d->api), info->api_version);
	if (get(d, "/info", &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(d->body, status, err);
	return docker_parse_info(d->body, info, err);
}

int docker_open(const char *sock_path, struct docker **out, struct docker_info *info,
                struct cg_err *err)
{
	struct docker_info scratch;
	const char *path = sock_path && *sock_path ? sock_path : DOCKER_DEFAULT_SOCK;
	*out = NULL;
	if (strlen(path) >= sizeof(((struct docker *)0)->sock))
		return cg_errf(err, "Docker socket path %s is too long for a unix socket", path);
	if (check_socket(path, err) < 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return cg_errf(err, "cannot initialise libcurl");
	struct docker *d = calloc(1, sizeof(*d));
	if (!d) {
		curl_global_cleanup();
		return cg_errf(err, "out of memory");
	}
	copy_str(d->sock, sizeof(d->sock), path);
	memset(&scratch, 0, sizeof(scratch));
	if (setup_curl(d, err) < 0 || handshake(d, &scratch, err) < 0) {
		docker_close(d);
		return -1;
	}
	if (info)
		*info = scratch;
	*out = d;
	return 0;
}

void docker_close(struct docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	curl_slist_free_all(d->json_hdr);
	curl_slist_free_all(d->tar_hdr);
	free(d->body);
	free(d);
	curl_global_cleanup(); /* reference-counted against docker_open's init */
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
		return docker_error_from_body(d->body, status, err);
	return docker_parse_inspect(d->body, out, err);
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
		return docker_error_from_body(d->body, status, err);
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
	return docker_error_from_body(d->body, status, err);
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
		return docker_error_from_body(d->body, status, err);
	json_t *root = json_loads(d->body, 0, NULL);
	const char *id = obj_str(root, "Id");
	rc = id && strlen(id) == 64 && is_hex(id) ? 0 : -1;
	if (rc == 0)
		copy_str(id_out, 65, id);
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
		rc = docker_error_from_body(d->body, status, err);
	if (rc < 0) {
		struct cg_err ignored;
		cg_err_wrap(err, "starting container %.12s", id);
		/* Leave nothing half-made behind; when that fails, the caller gets the id. */
		if (docker_remove(d, id, &ignored) < 0)
			copy_str(id_out, 65, id);
		return -1;
	}
	copy_str(id_out, 65, id);
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
	char *esc = fjson ? curl_easy_escape(d->curl, fjson, 0) : NULL;
	free(fjson);
	if (!esc)
		return cg_errf(err, "out of memory building the container filter");
	char path[1024];
	long status = 0;
	int n = snprintf(path, sizeof(path), "/containers/json?all=1&filters=%s", esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cg_errf(err, "label %.64s is too long", label);
	if (get(d, path, &status, err) < 0)
		return -1;
	if (!ok(status))
		return docker_error_from_body(d->body, status, err);
	json_t *arr = json_loads(d->body, 0, NULL);
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
			copy_str(ids[(*count)++], 65, id);
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
		return docker_error_from_body(d->body, status, err);
	*exists = ok(status);
	return 0;
}

static int import_image(struct docker *d, const char *repo, const char *tag, const void *tar,
                        size_t tar_len, struct cg_err *err)
{
	char *erepo = curl_easy_escape(d->curl, repo, 0);
	char *etag = curl_easy_escape(d->curl, tag, 0);
	char *echange = curl_easy_escape(d->curl, IDLE_CMD_CHANGE, 0);
	char path[1024];
	long status = 0;
	int rc = -1;
	if (!erepo || !etag || !echange) {
		cg_errf(err, "out of memory building the import request");
		goto out;
	}
	/* `changes` is the only way an import can give the image its Cmd. */
	snprintf(path, sizeof(path), "/images/create?fromSrc=-&repo=%s&tag=%s&changes=%s", erepo,
	         etag, echange);
	if (request(d, POST, path, tar, tar_len, d->tar_hdr, &status, err) < 0)
		goto out;
	if (!ok(status))
		docker_error_from_body(d->body, status, err);
	else
		rc = import_stream_error(d->body, err);
out:
	curl_free(erepo);
	curl_free(etag);
	curl_free(echange);
	return rc;
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

/* Reads the child's stderr to EOF, keeping its first line. */
static void read_first_line(int fd, char *line, size_t cap)
{
	char buf[4096];
	size_t n = 0;
	bool done = false;
	line[0] = '\0';
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && !done; i++) {
			if (buf[i] == '\n' && n > 0)
				done = true;
			else if (buf[i] != '\n' && buf[i] != '\r' && n + 1 < cap)
				line[n++] = buf[i];
		}
		line[n] = '\0';
	}
}

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
	char storage[8][64], line[512];
	const char *argv[16];
	int fds[2], status = 0;
	pid_t pid;
	if (!docker_bin || !*docker_bin)
		return cg_errf(err, "no docker binary given: pass --docker-bin");
	if (docker_validate_ref(ref, err) < 0)
		return -1;
	docker_update_argv(docker_bin, ref, u, storage, argv);
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
	read_first_line(fds[0], line, sizeof(line));
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
