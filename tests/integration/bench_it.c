/* Helpers of the bench tests on a container of their own; see bench_it.h. */
#include "bench_it.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bit_start_container(const char *name, const char *const extra[])
{
	it_ensure_image();
	const char *argv[32] = {"docker", "run",    "-d", "--network", "none",      "--cgroupns",
	                        "host",   "--name", name, "--label",   "cglat.it=1"};
	size_t n = 11;
	for (size_t i = 0; extra[i]; i++)
		argv[n++] = extra[i];
	argv[n++] = IT_IMAGE;
	argv[n] = NULL;
	char *err = NULL;
	int status = 0;
	it_run(argv, 60, NULL, &err, &status, NULL);
	cr_assert_eq(it_exit_code(status), 0, "docker run failed: %s", err);
	free(err);
}

json_t *bit_run_json(const char *const args[], char **err_out, pid_t *pid)
{
	char *out = NULL, *err = NULL;
	int status = 0;
	cr_assert_eq(it_cglat(args, &out, &err, &status, pid), 0,
	             "cglat did not finish in time; stderr:\n%s", err);
	cr_assert_eq(it_exit_code(status), 0, "cglat exited %d; stderr:\n%s", it_exit_code(status),
	             err);
	json_error_t jerr;
	json_t *root = json_loads(out, 0, &jerr);
	cr_assert_not_null(root, "stdout is not JSON (%s): %.300s", jerr.text, out);
	free(out);
	*err_out = err;
	return root;
}

json_t *bit_row_of(json_t *root, const char *path, const char *resource, const char *metric)
{
	size_t i;
	json_t *r, *found = NULL;
	json_array_foreach(json_object_get(root, "results"), i, r)
	{
		if (!strcmp(json_string_value(json_object_get(r, "path")), path) &&
		    !strcmp(json_string_value(json_object_get(r, "resource")), resource) &&
		    !strcmp(json_string_value(json_object_get(r, "metric")), metric))
			found = r;
	}
	return found;
}
