/* An answer that is not dockerd's success (struct su_error), from a format. */
#include "serve_update.h"

#include <stdarg.h>
#include <stdio.h>

void su_errf(struct su_error *e, int status, const char *fmt, ...)
{
	if (!e)
		return;
	va_list ap;
	va_start(ap, fmt);
	e->status = status;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}
