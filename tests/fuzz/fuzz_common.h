/* Helpers for the libFuzzer targets: inputs as NUL-terminated strings and argv vectors. */
#ifndef CGLAT_FUZZ_COMMON_H
#define CGLAT_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd NUL-terminated copy (embedded NULs end the string early, as in a file
 * read with a C API). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits the input on NUL bytes into argv[0..argc) after argv0; storage is malloc'd in
 * *buf. At most max - 1 arguments; argv[argc] is NULL. */
static inline int fuzz_argv(const uint8_t *data, size_t size, const char *argv0, char **argv,
                            int max, char **buf)
{
	*buf = malloc(size + 1);
	if (!*buf)
		abort();
	memcpy(*buf, data, size);
	(*buf)[size] = '\0';
	int argc = 0;
	argv[argc++] = (char *)argv0;
	for (size_t i = 0; i <= size && argc < max - 1;) {
		argv[argc++] = *buf + i;
		i += strlen(*buf + i) + 1;
	}
	argv[argc] = NULL;
	return argc;
}

#endif
