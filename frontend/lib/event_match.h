/* Matching probe events to what was asked for: pure functions over the bytes a probe
 * handed up, shared by bench, watch and monitor. */
#ifndef CGLAT_EVENT_MATCH_H
#define CGLAT_EVENT_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* The container reference in "POST /v1.41/containers/REF/update ...", copied to ref. */
bool event_parse_update_request(const char *data, size_t len, char *ref, size_t ref_len);
/* Does a write event's path name this container's file? */
bool event_path_matches(const char *path, const char *container_id, const char *file);
/* The written bytes without a trailing newline, as a string. */
void event_written_value(const char *data, size_t len, char *out, size_t out_len);

#endif
