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
/* The name of a write event's call (enum cglat_write_call): "write", "pwrite64",
 * "writev", "pwritev", "pwritev2", "vfs_write", "vfs_writev"; "-" for 0 (not said)
 * or a value this cglat does not know. */
const char *event_write_call_name(unsigned call);

#endif
