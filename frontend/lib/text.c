#include "text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Neither uses printf: they serve paths timed in microseconds, where printf's code, cold
 * in the cache, costs more than the copy. */
size_t text_copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return n;
}

size_t text_i64(char *dst, size_t len, int64_t v)
{
	char digits[24];
	size_t n = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		digits[n++] = '-';
	if (n >= len) { /* does not fit: "" rather than a wrong number */
		dst[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = digits[n - 1 - i];
	dst[n] = '\0';
	return n;
}

void text_read_first_line(int fd, char *line, size_t cap)
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
