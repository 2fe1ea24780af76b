#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cg_errf(struct cg_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int cg_err_wrap(struct cg_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char prefix[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Built by hand: snprintf("%s: %s") trips -Wformat-truncation, and cutting
	 * the end of an over-long message is what we want anyway. */
	size_t cap = sizeof(err->msg) - 1, len = 0;
	for (const char *parts[] = {prefix, ": ", old}, **p = parts; p < parts + 3; p++) {
		size_t n = strlen(*p);
		if (n > cap - len)
			n = cap - len;
		memcpy(err->msg + len, *p, n);
		len += n;
	}
	err->msg[len] = '\0';
	return -1;
}
