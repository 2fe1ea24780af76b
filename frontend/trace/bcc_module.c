#include "bcc_module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef CGLAT_MODULE_DIR
#define CGLAT_MODULE_DIR "/usr/local/lib/cglat"
#endif
#ifndef CGLAT_MODULE_RELDIR
#define CGLAT_MODULE_RELDIR "../lib/cglat"
#endif

/* The directory of the running executable, from /proc/self/exe (symlinks resolved). */
static int exe_dir(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	char *slash = strrchr(out, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

static const struct bccw_api *api_of(void *handle, const char *path, struct cg_err *err)
{
	const struct bccw_api *api = dlsym(handle, BCCW_API_SYMBOL);
	if (!api) {
		cg_errf(err, "%s is not cglat's BCC module (no %s): rebuild cglat", path,
		        BCCW_API_SYMBOL);
		return NULL;
	}
	if (api->version != BCCW_API_VERSION) {
		cg_errf(err,
		        "%s is from another cglat (module API %u, this cglat needs %u): "
		        "rebuild or reinstall cglat",
		        path, api->version, BCCW_API_VERSION);
		return NULL;
	}
	return api;
}

const struct bccw_api *bcc_module_load(struct cg_err *err)
{
	static const struct bccw_api *loaded;
	if (loaded)
		return loaded;
	/* Next to the executable (a build tree), the install beside it, the prefix's. */
	char dirs[3][PATH_MAX];
	size_t ndirs = 0;
	if (exe_dir(dirs[0], sizeof(dirs[0])) == 0) {
		snprintf(dirs[1], sizeof(dirs[1]), "%.3000s/%s", dirs[0], CGLAT_MODULE_RELDIR);
		ndirs = 2;
	}
	snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", CGLAT_MODULE_DIR);
	char path[PATH_MAX + 32], why[512] = "";
	for (size_t i = 0; i < ndirs; i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], BCCW_MODULE_NAME);
		if (access(path, F_OK) != 0)
			continue;
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			snprintf(why, sizeof(why), "%s", dlerror());
			break;
		}
		loaded = api_of(h, path, err);
		if (!loaded)
			dlclose(h);
		return loaded;
	}
	if (why[0]) {
		/* The hint only when it is libbcc that is missing, not for a broken module. */
		bool no_bcc = strstr(why, "libbcc") != NULL;
		cg_errf(err, "cannot load the BCC module %s: %s%s", path, why,
		        no_bcc ? " (the tracing commands need libbcc: apt-get install libbpfcc)"
		               : "; rebuild (scripts/setup.sh) or reinstall cglat");
		return NULL;
	}
	cg_errf(err,
	        "cannot find the BCC module %s in %s%s%s: the tracing commands need it; "
	        "rebuild (scripts/setup.sh) or reinstall cglat",
	        BCCW_MODULE_NAME, dirs[0], ndirs > 1 ? " or " : "", ndirs > 1 ? dirs[1] : "");
	return NULL;
}
