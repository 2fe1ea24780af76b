/* Changes a container's memory limit and CPU quota through libcglat, the way an
 * autoscaler written in C would, and says what the writes cost.
 *
 *   cc set_limits.c $(pkg-config --cflags --libs cglat) -o set_limits
 *   sudo ./set_limits web 256m 0.5          # container web: 256 MiB, half a CPU
 */
#include <cglat.h>
#include <stdio.h>

static int fail(const char *what, const struct cg_err *err)
{
	fprintf(stderr, "set_limits: %s: %s\n", what, err->msg);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s CONTAINER MEMORY CPUS   (e.g. web 256m 0.5)\n", argv[0]);
		return 2;
	}
	struct cg_err err;
	struct cglat_limits limits = {0};
	if (cglat_limits_parse(&limits, "memory", argv[2], &err) < 0 ||
	    cglat_limits_parse(&limits, "cpus", argv[3], &err) < 0 ||
	    cglat_limits_check(&limits, &err) < 0)
		return fail("bad limits", &err) + 1;

	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_CONTAINER, .ref = argv[1]};
	struct cglat_target *target;
	if (cglat_target_open(&spec, &target, &err) < 0)
		return fail(argv[1], &err);

	/* The plan reads the old values and checks the new ones; nothing is written yet. */
	struct cglat_plan plan;
	struct cglat_apply_result res;
	int rc = 0;
	if (cglat_limits_plan(target, &limits, &plan, &err) < 0 ||
	    cglat_limits_apply(&plan, CGLAT_APPLY_VERIFY, &res, &err) < 0) {
		rc = fail(target->label, &err);
	} else {
		for (size_t i = 0; i < plan.count; i++)
			printf("%s: %s -> %s\n", plan.w[i].file, plan.w[i].old_text,
			       plan.w[i].new_text);
		printf("wrote %zu files in %llu ns%s\n", res.written,
		       (unsigned long long)res.write_ns, res.verified ? ", verified" : "");
	}
	cglat_target_close(target);
	return rc;
}
