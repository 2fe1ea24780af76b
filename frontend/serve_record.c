/* The container's record as dockerd keeps it (HostConfig): read from inspect's answer,
 * and an update merged in as Container.UpdateContainer merges it. */
#include "serve_update.h"

#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "text.h"
#include "docker.h"

static int64_t jint(json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

static void jstr(json_t *o, const char *k, char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));
	snprintf(out, cap, "%s", s ? s : "");
}

int su_parse_inspect(const char *json, struct su_container_info *out, struct cg_err *err)
{
	json_error_t jerr;
	json_t *root = json_loads(json ? json : "", 0, &jerr);
	memset(out, 0, sizeof(*out));
	if (!json_is_object(root)) {
		json_decref(root);
		return cg_errf(err, "dockerd's inspect answer is not a JSON object");
	}
	const char *id = json_string_value(json_object_get(root, "Id"));
	json_t *state = json_object_get(root, "State"), *hc = json_object_get(root, "HostConfig");
	if (!id || strlen(id) != 64 || !docker_is_hex(id) || !json_is_object(state) ||
	    !json_is_object(hc)) {
		json_decref(root);
		return cg_errf(err, "dockerd's inspect answer lacks a 64-digit Id, State or "
		                    "HostConfig");
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	const char *name = json_string_value(json_object_get(root, "Name"));
	snprintf(out->name, sizeof(out->name), "%s", name ? name + (*name == '/') : "");
	out->running = json_is_true(json_object_get(state, "Running"));
	out->restarting = json_is_true(json_object_get(state, "Restarting"));
	out->pid = (pid_t)jint(state, "Pid");
	struct su_record *r = &out->rec;
	r->memory = jint(hc, "Memory");
	r->memory_swap = jint(hc, "MemorySwap");
	r->memory_reservation = jint(hc, "MemoryReservation");
	r->nano_cpus = jint(hc, "NanoCpus");
	r->cpu_quota = jint(hc, "CpuQuota");
	r->cpu_period = jint(hc, "CpuPeriod");
	r->cpu_shares = jint(hc, "CpuShares");
	jstr(hc, "CpusetCpus", r->cpuset_cpus, sizeof(r->cpuset_cpus));
	jstr(hc, "CpusetMems", r->cpuset_mems, sizeof(r->cpuset_mems));
	json_t *pids = json_object_get(hc, "PidsLimit");
	r->has_pids_limit = json_is_integer(pids);
	r->pids_limit = r->has_pids_limit ? (int64_t)json_integer_value(pids) : 0;
	r->auto_remove = json_is_true(json_object_get(hc, "AutoRemove"));
	jstr(json_object_get(hc, "RestartPolicy"), "Name", r->restart_name,
	     sizeof(r->restart_name));
	json_decref(root);
	return 0;
}

#define CONFLICT(...)                                                                              \
	do {                                                                                       \
		char m_[SU_MSG_MAX / 2];                                                           \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                                             \
		su_errf(e, 409, "Cannot update container %s: %s", id, m_);                         \
		return -1;                                                                         \
	} while (0)

void su_record_copy(struct su_record *dst, const struct su_record *src)
{
	memcpy(dst, src, offsetof(struct su_record, cpuset_cpus));
	text_copy(dst->cpuset_cpus, sizeof(dst->cpuset_cpus), src->cpuset_cpus);
	text_copy(dst->cpuset_mems, sizeof(dst->cpuset_mems), src->cpuset_mems);
	text_copy(dst->restart_name, sizeof(dst->restart_name), src->restart_name);
}

void su_body_copy(struct su_body *dst, const struct su_body *src)
{
	memcpy(dst, src, offsetof(struct su_body, cpuset_cpus));
	text_copy(dst->cpuset_cpus, sizeof(dst->cpuset_cpus), src->cpuset_cpus);
	text_copy(dst->cpuset_mems, sizeof(dst->cpuset_mems), src->cpuset_mems);
	text_copy(dst->restart_name, sizeof(dst->restart_name), src->restart_name);
}

int su_merge(const struct su_body *b, const char *id, struct su_record *rec, struct su_error *e)
{
	struct su_record r;
	su_record_copy(&r, rec);
	/* NanoCPUs updates CPUPeriod/CPUQuota in effect: one blocks the other. */
	if (b->nano_cpus > 0 && r.cpu_period > 0)
		CONFLICT("Conflicting options: Nano CPUs cannot be updated as CPU Period has "
		         "already "
		         "been set");
	if (b->nano_cpus > 0 && r.cpu_quota > 0)
		CONFLICT(
		        "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already "
		        "been set");
	if (b->cpu_period > 0 && r.nano_cpus > 0)
		CONFLICT(
		        "Conflicting options: CPU Period cannot be updated as NanoCPUs has already "
		        "been set");
	if (b->cpu_quota > 0 && r.nano_cpus > 0)
		CONFLICT("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already "
		         "been set");
	if (b->cpu_shares != 0)
		r.cpu_shares = b->cpu_shares;
	if (b->nano_cpus != 0)
		r.nano_cpus = b->nano_cpus;
	if (b->cpu_period != 0)
		r.cpu_period = b->cpu_period;
	if (b->cpu_quota != 0)
		r.cpu_quota = b->cpu_quota;
	if (b->cpuset_cpus[0])
		text_copy(r.cpuset_cpus, sizeof(r.cpuset_cpus), b->cpuset_cpus);
	if (b->cpuset_mems[0])
		text_copy(r.cpuset_mems, sizeof(r.cpuset_mems), b->cpuset_mems);
	if (b->memory != 0) {
		if (b->memory > r.memory_swap && b->memory_swap == 0)
			CONFLICT(
			        "Memory limit should be smaller than already set memoryswap limit, "
			        "update the memoryswap at the same time");
		r.memory = b->memory;
	}
	if (b->memory_swap != 0)
		r.memory_swap = b->memory_swap;
	if (b->memory_reservation != 0)
		r.memory_reservation = b->memory_reservation;
	if (b->has_pids_limit) {
		r.has_pids_limit = true;
		r.pids_limit = b->pids_limit;
	}
	if (b->restart_name[0]) {
		if (r.auto_remove && strcmp(b->restart_name, "no") != 0)
			CONFLICT("Restart policy cannot be updated because AutoRemove is enabled "
			         "for "
			         "the container");
		text_copy(r.restart_name, sizeof(r.restart_name), b->restart_name);
	}
	su_record_copy(rec, &r);
	return 0;
}

#undef CONFLICT
