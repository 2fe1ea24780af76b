#include "text.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

void text_copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
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
