/* cglat serve's update body: decoded as dockerd's Go code decodes it, then dockerd's checks,
 * the record's conflicts and the writes runc would make on v1 and v2; every answer's body
 * must be JSON that jansson reads back, and a refusal always has dockerd's status and a
 * message. A second part of the input after a NUL is a request head to rewrite. */
#include <jansson.h>

#include "fuzz_common.h"
#include "serve_update.h"

static const struct su_host host = {.memory_limit = true,
                                    .swap_limit = true,
                                    .memory_reservation = true,
                                    .oom_kill_disable = true,
                                    .memory_swappiness = true,
                                    .cpu_shares = true,
                                    .cpu_cfs = true,
                                    .cpuset = true,
                                    .pids_limit = true,
                                    .blkio_read_bps = true,
                                    .kernel_4 = true,
                                    .ncpu = 2,
                                    .cpus = "0-1",
                                    .mems = "0"};

static void answer_is_json(const char *msg)
{
	char *body = su_error_body(msg);
	json_error_t jerr;
	json_t *j = body ? json_loads(body, 0, &jerr) : NULL;
	if (!j || !json_is_string(json_object_get(j, "message")))
		abort(); /* an answer a client could not read */
	json_decref(j);
	free(body);
}

static void check(const char *body, size_t len, bool api_1_40)
{
	static struct su_body b;
	struct su_error e = {0};
	if (su_parse_body(body, len, api_1_40, &b, &e) < 0) {
		if (e.status != 500 || !e.msg[0])
			abort();
		answer_is_json(e.msg);
		return;
	}
	struct su_warnings w;
	if (su_verify(&b, &host, &w, &e) < 0) {
		if (e.status != 400 || !e.msg[0])
			abort();
		answer_is_json(e.msg);
		return;
	}
	char *ok = su_warnings_body(&w);
	json_t *j = ok ? json_loads(ok, 0, NULL) : NULL;
	if (!j)
		abort();
	json_decref(j);
	free(ok);
	static const struct su_record records[] = {
	        {0},
	        {.memory = 104857600, .memory_swap = 209715200},
	        {.nano_cpus = 1500000000},
	        {.cpu_quota = 50000, .cpu_period = 50000, .auto_remove = true},
	};
	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		struct su_record r = records[i];
		if (su_merge(&b, "0123456789abcdef", &r, &e) < 0) {
			if (e.status != 409)
				abort();
			answer_is_json(e.msg);
			continue;
		}
		for (int v = 1; v <= 2; v++) {
			struct su_cgroups cg = {.v_memory = v,
			                        .v_cpu = v,
			                        .memory_now = 104857600,
			                        .memsw_now = 209715200};
			struct cglat_limits l;
			if (su_runc_limits(&b, &records[i], &cg, &l, &e) < 0) {
				if (e.status != 500)
					abort();
				answer_is_json(e.msg);
			} else if (!l.force) {
				abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t blen = nul ? (size_t)(nul - data) : size;
	/* the body as it came (NULs and all), then as far as the first NUL */
	char *body = malloc(size + 1);
	if (!body)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';
	check(body, size, true);
	check(body, blen, false);
	if (nul) {
		const char *head = (const char *)nul + 1;
		size_t hlen = size - blen - 1;
		char *out = malloc(SU_FORWARD_HEAD_CAP(hlen));
		if (!out)
			abort();
		size_t out_len = su_head_forward(head, hlen, blen, out);
		if (out_len < 4 || out_len > SU_FORWARD_HEAD_CAP(hlen) ||
		    memcmp(out + out_len - 4, "\r\n\r\n", 4) != 0)
			abort();
		free(out);
		int a, c;
		char *path = fuzz_string((const uint8_t *)head, hlen);
		(void)su_path_version(path, &a, &c);
		char msg[256];
		(void)su_cpuset_available(path, "0-1", msg, sizeof(msg));
		free(path);
	}
	free(body);
	return 0;
}
