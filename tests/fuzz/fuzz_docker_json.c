/* Engine API answers: inspect, version, info and error bodies. */
#include "docker.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_string(data, size);
	struct cg_err err;
	struct docker_container c;
	struct docker_info info;
	(void)docker_parse_inspect(json, &c, &err);
	memset(&info, 0, sizeof(info));
	(void)docker_parse_version(json, &info, &err);
	(void)docker_parse_info(json, &info, &err);
	(void)docker_error_from_body(json, 500, &err);
	free(json);
	return 0;
}
