/* Small text helpers that the library and the commands share. */
#ifndef CGLAT_TEXT_H
#define CGLAT_TEXT_H

#include <stddef.h>

/* Copies src into dst of len bytes (len > 0), cut short to fit and always
 * NUL-terminated; NULL copies as "". */
void text_copy(char *dst, size_t len, const char *src);

#endif
