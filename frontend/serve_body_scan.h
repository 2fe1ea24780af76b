/* Go's JSON scanner, for the update body's decoder (serve_body.c): where the first JSON
 * value of a body lies, or Go's syntax error. */
#ifndef CGLAT_SERVE_BODY_SCAN_H
#define CGLAT_SERVE_BODY_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Go's isSpace: the white space JSON allows between tokens. */
static inline bool gs_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first value of buf as Decoder.readValue finds it: 0 with [*start, *end), or -1 with
 * Go's error in msg. */
int gs_first_value(const char *buf, size_t len, size_t *start, size_t *end, char *msg, size_t cap);

#endif
