/* Small text helpers that the library and the commands share. */
#ifndef CGLAT_TEXT_H
#define CGLAT_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst of len bytes (len > 0), cut short to fit and always
 * NUL-terminated; NULL copies as "". Returns the length copied. */
size_t text_copy(char *dst, size_t len, const char *src);

/* v in decimal into dst of len bytes, NUL-terminated; returns its length, or 0 with dst
 * "" when it does not fit. */
size_t text_i64(char *dst, size_t len, int64_t v);

/* Reads fd (a child's stderr) to EOF, keeping in line (cap bytes, NUL-terminated) its first
 * non-empty line without the line end: what a failed command said first. */
void text_read_first_line(int fd, char *line, size_t cap);

#endif
