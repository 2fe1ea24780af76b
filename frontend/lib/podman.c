/* Podman's containers found in containers/storage's own files: see podman.h. */
#include "podman.h"

#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h" /* docker_validate_ref, docker_is_hex: the same rules for names and ids */
#include "text.h"

/* The driver's name from ".../<driver>-containers/containers.json". */
static void driver_of(const char *path, char *out, size_t cap)
{
	const char *end = strstr(path, "-containers/containers.json");
	const char *start = end;
	while (start && start > path && start[-1] != '/')
		start--;
	size_t n = start ? (size_t)(end - start) : 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, start ? start : "", n);
	out[n] = '\0';
}

static bool fill(struct podman_container *out, json_t *c, const char *source)
{
	const char *id = json_string_value(json_object_get(c, "id"));
	json_t *names = json_object_get(c, "names");
	if (!id || strlen(id) != 64 || !docker_is_hex(id))
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out->id, id, 65);
	text_copy(out->name, sizeof(out->name), json_string_value(json_array_get(names, 0)));
	driver_of(source, out->driver, sizeof(out->driver));
	return true;
}

static bool has_name(json_t *c, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(c, "names"), i, n)
	{
		const char *s = json_string_value(n);
		if (s && strcmp(s, name) == 0)
			return true;
	}
	return false;
}

int podman_find_in_json(const char *json, const char *source, const char *ref,
                        struct podman_container *out, struct cg_err *err)
{
	json_error_t jerr;
	json_t *all = json_loads(json, 0, &jerr);
	if (!json_is_array(all)) {
		json_decref(all);
		return cg_errf(err,
		               "%s is not containers/storage's list of containers (%s): podman "
		               "itself could not read it either; check it with podman ps -a",
		               source, all ? "not a JSON array" : jerr.text);
	}
	size_t i, prefixed = 0, ref_len = strlen(ref);
	json_t *c, *by_name = NULL, *by_prefix = NULL, *other = NULL;
	int rc = 0;
	json_array_foreach(all, i, c)
	{
		const char *id = json_string_value(json_object_get(c, "id"));
		if (!id)
			continue;
		if (strcmp(id, ref) == 0) {
			rc = fill(out, c, source) ? 1 : 0;
			goto done;
		}
		if (!by_name && has_name(c, ref))
			by_name = c;
		if (strncmp(id, ref, ref_len) == 0 && prefixed++ == 0)
			by_prefix = c;
		else if (strncmp(id, ref, ref_len) == 0 && !other)
			other = c;
	}
	if (by_name) {
		rc = fill(out, by_name, source) ? 1 : 0;
	} else if (prefixed > 1 && docker_is_hex(ref)) {
		rc = cg_errf(err,
		             "podman container id prefix \"%s\" is ambiguous: it matches %.12s and "
		             "%.12s%s; give more digits",
		             ref, json_string_value(json_object_get(by_prefix, "id")),
		             json_string_value(json_object_get(other, "id")),
		             prefixed > 2 ? " and more" : "");
	} else if (prefixed == 1 && docker_is_hex(ref)) {
		rc = fill(out, by_prefix, source) ? 1 : 0;
	}
done:
	json_decref(all);
	return rc;
}

/* Small enough for any host's containers, large enough to refuse a runaway file. */
#define CONTAINERS_JSON_MAX (64u << 20)

static char *read_text(const char *path, int *saved_errno)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		*saved_errno = errno;
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 16384;
			char *grown = cap <= CONTAINERS_JSON_MAX ? realloc(buf, cap) : NULL;
			if (!grown) {
				free(buf);
				fclose(f);
				*saved_errno = EFBIG;
				return NULL;
			}
			buf = grown;
		}
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	*saved_errno = ferror(f) ? EIO : 0;
	fclose(f);
	if (*saved_errno) {
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

int podman_find(const char *root, const char *ref, struct podman_container *out, struct cg_err *err)
{
	if (docker_validate_ref(ref, err) < 0)
		return -1;
	char pattern[4200];
	snprintf(pattern, sizeof(pattern), "%s/*-containers/containers.json",
	         root && *root ? root : PODMAN_DEFAULT_ROOT);
	glob_t g;
	int grc = glob(pattern, 0, NULL, &g);
	if (grc == GLOB_NOMATCH)
		return 0; /* no podman storage: no podman container */
	if (grc != 0)
		return cg_errf(err, "cannot list %s: glob failed", pattern);
	int rc = 0;
	for (size_t i = 0; i < g.gl_pathc && rc == 0; i++) {
		int e = 0;
		char *text = read_text(g.gl_pathv[i], &e);
		if (!text) {
			rc = cg_errf(err, "cannot read %s, where podman keeps its containers: %s",
			             g.gl_pathv[i], strerror(e));
			break;
		}
		rc = podman_find_in_json(text, g.gl_pathv[i], ref, out, err);
		free(text);
	}
	globfree(&g);
	return rc;
}

int podman_pid(const char *run_root, const struct podman_container *c, pid_t *pid,
               struct cg_err *err)
{
	char path[4300];
	snprintf(path, sizeof(path), "%s/%s-containers/%s/userdata/pidfile",
	         run_root && *run_root ? run_root : PODMAN_DEFAULT_RUN_ROOT, c->driver, c->id);
	int e = 0;
	char *text = read_text(path, &e);
	if (!text)
		return cg_errf(err,
		               "podman container %s (%.12s) is not running: %s has no pid (%s); "
		               "start it with podman start %s",
		               c->name, c->id, path, strerror(e), c->name);
	char *end = NULL;
	errno = 0;
	long v = strtol(text, &end, 10);
	bool ok = errno == 0 && end != text && (*end == '\0' || *end == '\n') && v > 0 &&
	          v <= 0x3fffffff;
	free(text);
	if (!ok)
		return cg_errf(err, "%s does not hold a pid: podman container %s is not running",
		               path, c->name);
	*pid = (pid_t)v;
	return 0;
}
