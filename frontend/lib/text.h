/* Small text helpers that the library and the commands share. */
#ifndef CGLAT_TEXT_H
#define CGLAT_TEXT_H

#include <stddef.h>

/* Copies src into dst of len bytes (len > 0), cut short to fit and always
 * NUL-terminated; NULL copies as "". */
void text_copy(char *dst, size_t len, const char *src);

/* Reads fd (a child's stderr) to EOF, keeping in line (cap bytes, NUL-terminated) its first
 * non-empty line without the line end: what a failed command said first. */
void text_read_first_line(int fd, char *line, size_t cap);

#endif
