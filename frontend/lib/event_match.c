/* What the probes saw, read the way every tracing command needs it: the container
 * of an update request, whether a write names a container's file, the written value. */
#include "event_match.h"

#include <ctype.h>
#include <string.h>

bool event_parse_update_request(const char *data, size_t len, char *ref, size_t ref_len)
{
	/* "POST /v1.41/containers/REF/update HTTP/1.1" (the version part is optional). */
	static const char post[] = "POST /";
	if (len < sizeof(post) - 1 || memcmp(data, post, sizeof(post) - 1) != 0)
		return false;
	size_t i = sizeof(post) - 1;
	if (i < len && data[i] == 'v') {
		while (i < len && data[i] != '/' && data[i] != ' ')
			i++;
		if (i >= len || data[i] != '/')
			return false;
		i++;
	}
	static const char containers[] = "containers/";
	if (len - i < sizeof(containers) - 1 ||
	    memcmp(data + i, containers, sizeof(containers) - 1) != 0)
		return false;
	i += sizeof(containers) - 1;
	size_t start = i;
	while (i < len && data[i] != '/' && data[i] != ' ' && data[i] != '?')
		i++;
	size_t n = i - start;
	static const char update[] = "/update";
	if (n == 0 || n >= ref_len || len - i < sizeof(update) - 1 ||
	    memcmp(data + i, update, sizeof(update) - 1) != 0)
		return false;
	size_t after = i + sizeof(update) - 1;
	if (after < len && data[after] != ' ' && data[after] != '?')
		return false;
	memcpy(ref, data + start, n);
	ref[n] = '\0';
	return true;
}

bool event_path_matches(const char *path, const char *container_id, const char *file)
{
	size_t pl = strlen(path), fl = strlen(file);
	if (pl <= fl || strcmp(path + pl - fl, file) != 0 || path[pl - fl - 1] != '/')
		return false;
	/* The directory part must name the container: ".../<id>/" or ".../docker-<id>.scope/". */
	const char *hit = strstr(path, container_id);
	return hit && (size_t)(hit - path) < pl - fl;
}

void event_written_value(const char *data, size_t len, char *out, size_t out_len)
{
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\0'))
		len--;
	if (len >= out_len)
		len = out_len - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = isprint((unsigned char)data[i]) ? data[i] : '?';
	out[len] = '\0';
}

const char *event_write_call_name(unsigned call)
{
	/* Indexed by enum cglat_write_call (probes/cglat_event.h, outside this library's
	 * include path; watch.c checks the values against it at compile time). */
	static const char *const names[] = {"-",       "write",    "pwrite64",  "writev",
	                                    "pwritev", "pwritev2", "vfs_write", "vfs_writev"};
	return call < sizeof(names) / sizeof(names[0]) ? names[call] : "-";
}
