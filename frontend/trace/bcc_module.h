/* Loads the BCC wrapper module (cglat-bcc.so) on first use, so that commands that do
 * not trace never map libbcc, LLVM or clang. */
#ifndef CGLAT_BCC_MODULE_H
#define CGLAT_BCC_MODULE_H

#include "bcc_wrapper.h"
#include "error.h"

/* The wrapper's call table: from the module next to the running executable (a build
 * tree, or ./cglat linked to it), else from the install's module directory. The
 * error names what was looked for and where, and why it failed to load. */
const struct bccw_api *bcc_module_load(struct cg_err *err);

#endif
