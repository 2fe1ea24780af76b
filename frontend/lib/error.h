/* Errors as values: a function that can fail returns -1 and fills a cg_err
 * with one sentence that names the problem and, where there is one, the fix. */
#ifndef CGLAT_ERROR_H
#define CGLAT_ERROR_H

#include <stddef.h>

#include "cglat.h" /* struct cg_err */

/* Formats the message into err (when err is not NULL) and returns -1, so
 * callers can write `return cg_errf(err, "...", ...);`. */
int cg_errf(struct cg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends context to an existing message: "context: old message". */
int cg_err_wrap(struct cg_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
