/* The update body as dockerd reads it: Go's decoder into container.UpdateConfig, with Go's
 * words for every error, and Go's JSON string encoding for the answers' messages. */
#include "serve_update.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

#include "serve_body_scan.h"

/* ===== Go's decoder into container.UpdateConfig (encoding/json/decode.go) ================== */

/* The Go types of the struct, enough to give every type error in Go's words: the kind,
 * Go's name for the type (reflect.Type.String), the element or the fields. */
enum gk {
	GK_INT64,
	GK_INT,
	GK_UINT16,
	GK_UINT64,
	GK_STRING,
	GK_BOOL,
	GK_PTR,
	GK_SLICE,
	GK_STRUCT,
	GK_MAP
};

struct gfield;

struct gtype {
	enum gk kind;
	const char *name;        /* "int64", "[]*units.Ulimit", "container.RestartPolicy" */
	const char *struct_name; /* reflect.Type.Name() of a struct: "RestartPolicy" */
	const struct gtype *elem;
	const struct gfield *fields;
	size_t nfields;
};

/* Where a decoded value goes in struct su_body. */
enum sink {
	SINK_NONE = -1,
	/* 0 .. SU_F_COUNT-1: the fields of enum su_field */
	SINK_RESTART_NAME = SU_F_COUNT,
	SINK_RESTART_MAX,
};

struct gfield {
	const char *name;
	const struct gtype *type;
	int sink;
};

static const struct gtype t_int64 = {GK_INT64, "int64", NULL, NULL, NULL, 0};
static const struct gtype t_int = {GK_INT, "int", NULL, NULL, NULL, 0};
static const struct gtype t_uint16 = {GK_UINT16, "uint16", NULL, NULL, NULL, 0};
static const struct gtype t_uint64 = {GK_UINT64, "uint64", NULL, NULL, NULL, 0};
static const struct gtype t_string = {GK_STRING, "string", NULL, NULL, NULL, 0};
static const struct gtype t_bool = {GK_BOOL, "bool", NULL, NULL, NULL, 0};
static const struct gtype t_pint64 = {GK_PTR, "*int64", NULL, &t_int64, NULL, 0};
static const struct gtype t_pbool = {GK_PTR, "*bool", NULL, &t_bool, NULL, 0};
static const struct gtype t_strings = {GK_SLICE, "[]string", NULL, &t_string, NULL, 0};
static const struct gtype t_stringss = {GK_SLICE, "[][]string", NULL, &t_strings, NULL, 0};
static const struct gtype t_map = {GK_MAP, "map[string]string", NULL, &t_string, NULL, 0};

static const struct gfield f_weight_device[] = {{"Path", &t_string, SINK_NONE},
                                                {"Weight", &t_uint16, SINK_NONE}};
static const struct gtype t_weight_device = {GK_STRUCT,       "blkiodev.WeightDevice",
                                             "WeightDevice",  NULL,
                                             f_weight_device, NF(f_weight_device)};
static const struct gtype t_pweight_device = {
        GK_PTR, "*blkiodev.WeightDevice", NULL, &t_weight_device, NULL, 0};
static const struct gtype t_weight_devices = {
        GK_SLICE, "[]*blkiodev.WeightDevice", NULL, &t_pweight_device, NULL, 0};
static const struct gfield f_throttle[] = {{"Path", &t_string, SINK_NONE},
                                           {"Rate", &t_uint64, SINK_NONE}};
static const struct gtype t_throttle = {
        GK_STRUCT, "blkiodev.ThrottleDevice", "ThrottleDevice", NULL, f_throttle, NF(f_throttle)};
static const struct gtype t_pthrottle = {
        GK_PTR, "*blkiodev.ThrottleDevice", NULL, &t_throttle, NULL, 0};
static const struct gtype t_throttles = {
        GK_SLICE, "[]*blkiodev.ThrottleDevice", NULL, &t_pthrottle, NULL, 0};
static const struct gfield f_device[] = {{"PathOnHost", &t_string, SINK_NONE},
                                         {"PathInContainer", &t_string, SINK_NONE},
                                         {"CgroupPermissions", &t_string, SINK_NONE}};
static const struct gtype t_device = {
        GK_STRUCT, "container.DeviceMapping", "DeviceMapping", NULL, f_device, NF(f_device)};
static const struct gtype t_devices = {GK_SLICE, "[]container.DeviceMapping", NULL, &t_device, NULL,
                                       0};
static const struct gfield f_request[] = {{"Driver", &t_string, SINK_NONE},
                                          {"Count", &t_int, SINK_NONE},
                                          {"DeviceIDs", &t_strings, SINK_NONE},
                                          {"Capabilities", &t_stringss, SINK_NONE},
                                          {"Options", &t_map, SINK_NONE}};
static const struct gtype t_request = {
        GK_STRUCT, "container.DeviceRequest", "DeviceRequest", NULL, f_request, NF(f_request)};
static const struct gtype t_requests = {
        GK_SLICE, "[]container.DeviceRequest", NULL, &t_request, NULL, 0};
static const struct gfield f_ulimit[] = {{"Name", &t_string, SINK_NONE},
                                         {"Hard", &t_int64, SINK_NONE},
                                         {"Soft", &t_int64, SINK_NONE}};
static const struct gtype t_ulimit = {GK_STRUCT, "units.Ulimit", "Ulimit",
                                      NULL,      f_ulimit,       NF(f_ulimit)};
static const struct gtype t_pulimit = {GK_PTR, "*units.Ulimit", NULL, &t_ulimit, NULL, 0};
static const struct gtype t_ulimits = {GK_SLICE, "[]*units.Ulimit", NULL, &t_pulimit, NULL, 0};
static const struct gfield f_restart[] = {{"Name", &t_string, SINK_RESTART_NAME},
                                          {"MaximumRetryCount", &t_int, SINK_RESTART_MAX}};
static const struct gtype t_restart = {
        GK_STRUCT, "container.RestartPolicy", "RestartPolicy", NULL, f_restart, NF(f_restart)};

/* container.UpdateConfig: Resources' fields (promoted) in their order, then RestartPolicy. */
static const struct gfield f_update[SU_F_COUNT] = {
        [SU_F_CPU_SHARES] = {"CpuShares", &t_int64, SU_F_CPU_SHARES},
        [SU_F_MEMORY] = {"Memory", &t_int64, SU_F_MEMORY},
        [SU_F_NANO_CPUS] = {"NanoCpus", &t_int64, SU_F_NANO_CPUS},
        [SU_F_CGROUP_PARENT] = {"CgroupParent", &t_string, SU_F_CGROUP_PARENT},
        [SU_F_BLKIO_WEIGHT] = {"BlkioWeight", &t_uint16, SU_F_BLKIO_WEIGHT},
        [SU_F_BLKIO_WEIGHT_DEVICE] = {"BlkioWeightDevice", &t_weight_devices,
                                      SU_F_BLKIO_WEIGHT_DEVICE},
        [SU_F_BLKIO_READ_BPS] = {"BlkioDeviceReadBps", &t_throttles, SU_F_BLKIO_READ_BPS},
        [SU_F_BLKIO_WRITE_BPS] = {"BlkioDeviceWriteBps", &t_throttles, SU_F_BLKIO_WRITE_BPS},
        [SU_F_BLKIO_READ_IOPS] = {"BlkioDeviceReadIOps", &t_throttles, SU_F_BLKIO_READ_IOPS},
        [SU_F_BLKIO_WRITE_IOPS] = {"BlkioDeviceWriteIOps", &t_throttles, SU_F_BLKIO_WRITE_IOPS},
        [SU_F_CPU_PERIOD] = {"CpuPeriod", &t_int64, SU_F_CPU_PERIOD},
        [SU_F_CPU_QUOTA] = {"CpuQuota", &t_int64, SU_F_CPU_QUOTA},
        [SU_F_CPU_RT_PERIOD] = {"CpuRealtimePeriod", &t_int64, SU_F_CPU_RT_PERIOD},
        [SU_F_CPU_RT_RUNTIME] = {"CpuRealtimeRuntime", &t_int64, SU_F_CPU_RT_RUNTIME},
        [SU_F_CPUSET_CPUS] = {"CpusetCpus", &t_string, SU_F_CPUSET_CPUS},
        [SU_F_CPUSET_MEMS] = {"CpusetMems", &t_string, SU_F_CPUSET_MEMS},
        [SU_F_DEVICES] = {"Devices", &t_devices, SU_F_DEVICES},
        [SU_F_DEVICE_CGROUP_RULES] = {"DeviceCgroupRules", &t_strings, SU_F_DEVICE_CGROUP_RULES},
        [SU_F_DEVICE_REQUESTS] = {"DeviceRequests", &t_requests, SU_F_DEVICE_REQUESTS},
        [SU_F_KERNEL_MEMORY] = {"KernelMemory", &t_int64, SU_F_KERNEL_MEMORY},
        [SU_F_KERNEL_MEMORY_TCP] = {"KernelMemoryTCP", &t_int64, SU_F_KERNEL_MEMORY_TCP},
        [SU_F_MEMORY_RESERVATION] = {"MemoryReservation", &t_int64, SU_F_MEMORY_RESERVATION},
        [SU_F_MEMORY_SWAP] = {"MemorySwap", &t_int64, SU_F_MEMORY_SWAP},
        [SU_F_MEMORY_SWAPPINESS] = {"MemorySwappiness", &t_pint64, SU_F_MEMORY_SWAPPINESS},
        [SU_F_OOM_KILL_DISABLE] = {"OomKillDisable", &t_pbool, SU_F_OOM_KILL_DISABLE},
        [SU_F_PIDS_LIMIT] = {"PidsLimit", &t_pint64, SU_F_PIDS_LIMIT},
        [SU_F_ULIMITS] = {"Ulimits", &t_ulimits, SU_F_ULIMITS},
        [SU_F_CPU_COUNT] = {"CpuCount", &t_int64, SU_F_CPU_COUNT},
        [SU_F_CPU_PERCENT] = {"CpuPercent", &t_int64, SU_F_CPU_PERCENT},
        [SU_F_IO_MAX_IOPS] = {"IOMaximumIOps", &t_uint64, SU_F_IO_MAX_IOPS},
        [SU_F_IO_MAX_BANDWIDTH] = {"IOMaximumBandwidth", &t_uint64, SU_F_IO_MAX_BANDWIDTH},
        [SU_F_RESTART_POLICY] = {"RestartPolicy", &t_restart, SU_F_RESTART_POLICY},
};
static const struct gtype t_update = {
        GK_STRUCT, "container.UpdateConfig", "UpdateConfig", NULL, f_update, SU_F_COUNT};

const char *su_field_name(enum su_field f)
{
	return (unsigned)f < SU_F_COUNT ? f_update[f].name : "?";
}

/* The decoder walks a value the scanner found valid, so it needs no error checks of its
 * own for syntax. */
struct gdec {
	const char *s;
	size_t i, end;
	struct su_body *b;
	bool failed;
	char *msg;
	size_t msg_cap;
	const char *ctx_struct; /* errorContext.Struct.Name() */
	char ctx_field[512];    /* errorContext.FieldStack joined with '.' */
};

static void gd_ws(struct gdec *d)
{
	while (d->i < d->end && gs_space((unsigned char)d->s[d->i]))
		d->i++;
}

/* Skips a string at d->i (its opening quote). */
static void gd_skip_string(struct gdec *d)
{
	for (d->i++; d->i < d->end; d->i++) {
		if (d->s[d->i] == '\\')
			d->i++;
		else if (d->s[d->i] == '"') {
			d->i++;
			return;
		}
	}
}

/* Skips any value at d->i. */
/* A byte that ends a number or literal: ",}] \t\r\n" (or NUL). */
static bool ends_literal(char c)
{
	switch (c) {
	case ',':
	case '}':
	case ']':
	case ' ':
	case '\t':
	case '\r':
	case '\n':
	case '\0':
		return true;
	default:
		return false;
	}
}

static void gd_skip(struct gdec *d)
{
	gd_ws(d);
	if (d->i >= d->end)
		return;
	char c = d->s[d->i];
	if (c == '"') {
		gd_skip_string(d);
		return;
	}
	if (c == '{' || c == '[') {
		size_t depth = 0;
		while (d->i < d->end) {
			c = d->s[d->i];
			if (c == '"') {
				gd_skip_string(d);
				continue;
			}
			d->i++;
			if (c == '{' || c == '[')
				depth++;
			else if ((c == '}' || c == ']') && --depth == 0)
				return;
		}
		return;
	}
	while (d->i < d->end && !ends_literal(d->s[d->i]))
		d->i++;
}

/* Appends the UTF-8 encoding of rune r. */
static size_t utf8_put(uint32_t r, char *out)
{
	if (r < 0x80) {
		out[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		out[0] = (char)(0xc0 | (r >> 6));
		out[1] = (char)(0x80 | (r & 0x3f));
		return 2;
	}
	if (r < 0x10000) {
		out[0] = (char)(0xe0 | (r >> 12));
		out[1] = (char)(0x80 | ((r >> 6) & 0x3f));
		out[2] = (char)(0x80 | (r & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (r >> 18));
	out[1] = (char)(0x80 | ((r >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((r >> 6) & 0x3f));
	out[3] = (char)(0x80 | (r & 0x3f));
	return 4;
}

/* Decodes one UTF-8 rune from s (n bytes left); invalid sequences are one byte of
 * U+FFFD, as Go's utf8.DecodeRune. */
static uint32_t utf8_get(const unsigned char *s, size_t n, size_t *size)
{
	*size = 1;
	if (s[0] < 0x80)
		return s[0];
	int len = s[0] >= 0xf5 ? 0 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || (size_t)len > n)
		return 0xfffd;
	uint32_t r = s[0] & (0x7f >> len);
	for (int k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0xfffd;
		r = (r << 6) | (s[k] & 0x3f);
	}
	if ((len == 3 && (r < 0x800 || (r >= 0xd800 && r <= 0xdfff))) ||
	    (len == 4 && (r < 0x10000 || r > 0x10ffff)))
		return 0xfffd;
	*size = (size_t)len;
	return r;
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static uint32_t gd_u4(const char *p)
{
	return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 |
	                  hexval(p[3]));
}

/* Go's unquote of the string at d->i into out (UTF-8, invalid input as U+FFFD, lone
 * surrogates as U+FFFD); returns the length, truncated at cap - 1. */
static size_t gd_string(struct gdec *d, char *out, size_t cap)
{
	size_t n = 0;
	const char *s = d->s;
	size_t i = d->i + 1;
	char tmp[4];
	while (i < d->end && s[i] != '"') {
		size_t k = 0;
		unsigned char c0 = (unsigned char)s[i];
		if (c0 >= 0x20 && c0 < 0x80 && c0 != '\\') { /* plain ASCII: most of every body */
			if (n + 1 < cap)
				out[n++] = (char)c0;
			i++;
			continue;
		}
		if (s[i] == '\\') {
			char c = s[i + 1];
			i += 2;
			switch (c) {
			case 'b':
				tmp[k++] = '\b';
				break;
			case 'f':
				tmp[k++] = '\f';
				break;
			case 'n':
				tmp[k++] = '\n';
				break;
			case 'r':
				tmp[k++] = '\r';
				break;
			case 't':
				tmp[k++] = '\t';
				break;
			case 'u': {
				uint32_t r = gd_u4(s + i);
				i += 4;
				if (r >= 0xd800 && r < 0xdc00 && i + 6 <= d->end && s[i] == '\\' &&
				    s[i + 1] == 'u') {
					uint32_t r2 = gd_u4(s + i + 2);
					if (r2 >= 0xdc00 && r2 < 0xe000) {
						r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
						i += 6;
					}
				}
				if (r >= 0xd800 && r < 0xe000)
					r = 0xfffd;
				k = utf8_put(r, tmp);
				break;
			}
			default: /* '"', '\\', '/' */
				tmp[k++] = c;
			}
		} else {
			size_t sz;
			uint32_t r = utf8_get((const unsigned char *)s + i, d->end - i, &sz);
			if (r == 0xfffd && sz == 1 && (unsigned char)s[i] >= 0x80)
				k = utf8_put(0xfffd, tmp);
			else {
				memcpy(tmp, s + i, sz);
				k = sz;
			}
			i += sz;
		}
		if (n + k < cap) {
			memcpy(out + n, tmp, k);
			n += k;
		}
	}
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	d->i = i + 1;
	return n;
}

/* Go's field lookup: the exact name, else case-insensitively (equalFoldRight: ASCII case,
 * and the Kelvin sign for k and the long s for s, which fold to them in Unicode). */
static bool fold_match(const char *name, const char *key, size_t klen)
{
	size_t j = 0;
	for (const char *p = name; *p; p++) {
		if (j >= klen)
			return false;
		unsigned char tb = (unsigned char)key[j];
		if (tb < 0x80) {
			if (tolower((unsigned char)*p) != tolower(tb))
				return false;
			j++;
			continue;
		}
		size_t sz;
		uint32_t r = utf8_get((const unsigned char *)key + j, klen - j, &sz);
		char lc = (char)tolower((unsigned char)*p);
		if (!((lc == 's' && r == 0x17f) || (lc == 'k' && r == 0x212a)))
			return false;
		j += sz;
	}
	return j == klen;
}

static bool exact_name(const struct gfield *f, const char *key, size_t klen)
{
	return f->name[0] == key[0] && strncmp(f->name, key, klen) == 0 && f->name[klen] == '\0';
}

/* The field a key names: its exact name first, then Go's case folding. Clients send the
 * fields in the struct's order (Go's encoder does), so the one after the last match is
 * tried first: *next. */
static const struct gfield *gd_field(const struct gtype *t, const char *key, size_t klen,
                                     size_t *next)
{
	if (*next < t->nfields && exact_name(&t->fields[*next], key, klen))
		return &t->fields[(*next)++];
	for (size_t i = 0; i < t->nfields; i++)
		if (exact_name(&t->fields[i], key, klen)) {
			*next = i + 1;
			return &t->fields[i];
		}
	for (size_t i = 0; i < t->nfields; i++)
		if (fold_match(t->fields[i].name, key, klen))
			return &t->fields[i];
	return NULL;
}

/* d.saveError(&UnmarshalTypeError{...}) with d.addErrorContext: the first one only. */
static void gd_type_error(struct gdec *d, const char *value, const struct gtype *t)
{
	if (d->failed)
		return;
	d->failed = true;
	if (d->ctx_struct || d->ctx_field[0])
		snprintf(d->msg, d->msg_cap,
		         "json: cannot unmarshal %s into Go struct field %s.%s of type %s", value,
		         d->ctx_struct ? d->ctx_struct : "", d->ctx_field, t->name);
	else
		snprintf(d->msg, d->msg_cap, "json: cannot unmarshal %s into Go value of type %s",
		         value, t->name);
}

static void sink_given(struct gdec *d, int sink, bool nonzero)
{
	if (sink >= 0 && sink < SU_F_COUNT) {
		if (nonzero)
			d->b->given |= UINT64_C(1) << sink;
		else
			d->b->given &= ~(UINT64_C(1) << sink);
	}
}

static int64_t *sink_i64(struct su_body *b, int sink)
{
	switch (sink) {
	case SU_F_CPU_SHARES:
		return &b->cpu_shares;
	case SU_F_MEMORY:
		return &b->memory;
	case SU_F_NANO_CPUS:
		return &b->nano_cpus;
	case SU_F_CPU_PERIOD:
		return &b->cpu_period;
	case SU_F_CPU_QUOTA:
		return &b->cpu_quota;
	case SU_F_CPU_RT_PERIOD:
		return &b->cpu_rt_period;
	case SU_F_CPU_RT_RUNTIME:
		return &b->cpu_rt_runtime;
	case SU_F_KERNEL_MEMORY:
		return &b->kernel_memory;
	case SU_F_KERNEL_MEMORY_TCP:
		return &b->kernel_memory_tcp;
	case SU_F_MEMORY_RESERVATION:
		return &b->memory_reservation;
	case SU_F_MEMORY_SWAP:
		return &b->memory_swap;
	case SU_F_CPU_COUNT:
		return &b->cpu_count;
	case SU_F_CPU_PERCENT:
		return &b->cpu_percent;
	case SU_F_MEMORY_SWAPPINESS:
		return &b->swappiness;
	case SU_F_PIDS_LIMIT:
		return &b->pids_limit;
	case SINK_RESTART_MAX:
		return &b->restart_max_retry;
	}
	return NULL;
}

static size_t *sink_len(struct su_body *b, int sink)
{
	switch (sink) {
	case SU_F_BLKIO_WEIGHT_DEVICE:
		return &b->blkio_weight_device_len;
	case SU_F_BLKIO_READ_BPS:
		return &b->blkio_read_bps_len;
	case SU_F_BLKIO_WRITE_BPS:
		return &b->blkio_write_bps_len;
	case SU_F_BLKIO_READ_IOPS:
		return &b->blkio_read_iops_len;
	case SU_F_BLKIO_WRITE_IOPS:
		return &b->blkio_write_iops_len;
	}
	return NULL;
}

/* A pointer field set to nil (null) or allocated (any other value). */
static void sink_pointer(struct gdec *d, int sink, bool set)
{
	if (sink == SU_F_MEMORY_SWAPPINESS)
		d->b->has_swappiness = set;
	else if (sink == SU_F_OOM_KILL_DISABLE)
		d->b->has_oom_kill_disable = set;
	else if (sink == SU_F_PIDS_LIMIT)
		d->b->has_pids_limit = set;
	if (!set) {
		int64_t *v = sink_i64(d->b, sink);
		if (v)
			*v = 0;
		if (sink == SU_F_OOM_KILL_DISABLE)
			d->b->oom_kill_disable = false;
	}
	if (sink >= 0 && sink < SU_F_COUNT)
		sink_given(d, sink, set);
}

/* A number literal into an integer kind: ParseInt/ParseUint of its text, in range. */

/* A JSON integer literal with no fraction or exponent, -?(0|[1-9][0-9]*), that fits int64:
 * its value. Anything else returns false (the caller asks jansson). */
static bool plain_int64(const char *lit, size_t n, int64_t *out)
{
	size_t k = 0;
	bool neg = n > 0 && lit[0] == '-';
	k += neg;
	if (k >= n || (lit[k] == '0' && n - k > 1))
		return false;
	uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; k < n; k++) {
		if (lit[k] < '0' || lit[k] > '9')
			return false;
		unsigned digit = (unsigned)(lit[k] - '0');
		if (v > (limit - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return true;
}

/* gd_type_error for the number literal lit of n bytes: the text made only for the error. */
static void gd_number_error(struct gdec *d, const char *lit, size_t n, const struct gtype *t)
{
	char value[520];
	snprintf(value, sizeof(value), "number %.*s", (int)(n > 500 ? 500 : n), lit);
	gd_type_error(d, value, t);
}

static void gd_number(struct gdec *d, const struct gtype *t, int sink)
{
	size_t start = d->i;
	gd_skip(d);
	size_t n = d->i - start;
	const char *lit = d->s + start;
	if (t->kind == GK_UINT16 || t->kind == GK_UINT64) {
		uint64_t v = 0;
		bool ok = n > 0 && n <= 20;
		for (size_t k = 0; ok && k < n; k++) {
			if (!isdigit((unsigned char)lit[k]) ||
			    v > (UINT64_MAX - (uint64_t)(lit[k] - '0')) / 10)
				ok = false;
			else
				v = v * 10 + (uint64_t)(lit[k] - '0');
		}
		if (!ok || (t->kind == GK_UINT16 && v > UINT16_MAX)) {
			gd_number_error(d, lit, n, t);
			return;
		}
		if (sink == SU_F_BLKIO_WEIGHT)
			d->b->blkio_weight = (uint16_t)v;
		else if (sink == SU_F_IO_MAX_IOPS)
			d->b->io_max_iops = v;
		else if (sink == SU_F_IO_MAX_BANDWIDTH)
			d->b->io_max_bandwidth = v;
		sink_given(d, sink, v != 0);
		return;
	}
	/* int64 and int (64 bits here): a real or a number out of int64's range is what
	 * ParseInt refuses. */
	int64_t v;
	if (!plain_int64(lit, n, &v)) {
		/* Anything but a plain integer in range: jansson says what it is (a real, or an
		 * integer too large), which is an error either way. Plain integers, nearly all
		 * of a body, take the path above: a jansson parse per field cost ~0.6 us. */
		json_error_t jerr;
		json_t *j = json_loadb(lit, n, JSON_DECODE_ANY, &jerr);
		if (!json_is_integer(j)) {
			json_decref(j);
			gd_number_error(d, lit, n, t);
			return;
		}
		v = (int64_t)json_integer_value(j);
		json_decref(j);
	}
	int64_t *dst = sink_i64(d->b, sink);
	if (dst)
		*dst = v;
	if (sink != SU_F_MEMORY_SWAPPINESS && sink != SU_F_PIDS_LIMIT)
		sink_given(d, sink, v != 0);
}

/* A string literal into a string kind. */
static void gd_string_value(struct gdec *d, int sink)
{
	char *dst = NULL;
	size_t cap = 0;
	if (sink == SU_F_CPUSET_CPUS) {
		dst = d->b->cpuset_cpus;
		cap = sizeof(d->b->cpuset_cpus);
	} else if (sink == SU_F_CPUSET_MEMS) {
		dst = d->b->cpuset_mems;
		cap = sizeof(d->b->cpuset_mems);
	} else if (sink == SINK_RESTART_NAME) {
		dst = d->b->restart_name;
		cap = sizeof(d->b->restart_name);
	}
	if (!dst) {
		gd_skip_string(d);
		return;
	}
	size_t start = d->i;
	gd_skip_string(d);
	/* Plain printable ASCII (every string of a real body, most of them ""): no escape to
	 * decode, and the unquote below takes the bytes as they are. A call into jansson,
	 * cold on each update, cost more than the rest of the parse. */
	bool plain = true;
	for (size_t k = start + 1; plain && k + 1 < d->i; k++)
		plain = (unsigned char)d->s[k] >= 0x20 && (unsigned char)d->s[k] < 0x80 &&
		        d->s[k] != '\\';
	/* jansson decodes what it can (escapes, surrogate pairs); Go also takes invalid
	 * UTF-8 and NULs, which the unquote below does as Go does. */
	json_t *j = plain ? NULL
	                  : json_loadb(d->s + start, d->i - start, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	                               NULL);
	size_t n;
	if (json_is_string(j) && json_string_length(j) < cap &&
	    strlen(json_string_value(j)) == json_string_length(j)) {
		n = json_string_length(j);
		memcpy(dst, json_string_value(j), n + 1);
	} else {
		size_t end = d->i;
		d->i = start;
		n = gd_string(d, dst, cap);
		d->i = end;
	}
	json_decref(j);
	sink_given(d, sink, n > 0);
}

static void gd_value(struct gdec *d, const struct gtype *t, int sink);

static void gd_object(struct gdec *d, const struct gtype *t, int sink)
{
	(void)sink;
	d->i++;          /* '{' */
	size_t next = 0; /* gd_field's guess */
	for (;;) {
		gd_ws(d);
		if (d->i >= d->end || d->s[d->i] == '}') {
			d->i++;
			return;
		}
		if (d->s[d->i] == ',') {
			d->i++;
			continue;
		}
		char key[512];
		size_t klen = gd_string(d, key, sizeof(key));
		if (klen >= sizeof(key))
			klen = sizeof(key) - 1; /* no field name is that long: no match */
		gd_ws(d);
		d->i++; /* ':' */
		const struct gfield *f = NULL;
		if (t->kind == GK_STRUCT)
			f = gd_field(t, key, klen, &next);
		if (t->kind == GK_MAP) {
			gd_value(d, t->elem, SINK_NONE);
			continue;
		}
		if (!f) {
			gd_skip(d);
			continue;
		}
		const char *old_struct = d->ctx_struct;
		/* The field stack, appended by hand: snprintf here was a tenth of a body's parse.
		 */
		size_t old_len = strlen(d->ctx_field), name_len = strlen(f->name);
		if (old_len + 1 + name_len < sizeof(d->ctx_field)) {
			char *at = d->ctx_field + old_len;
			if (old_len)
				*at++ = '.';
			memcpy(at, f->name, name_len + 1);
		}
		d->ctx_struct = t->struct_name;
		gd_value(d, f->type, f->sink);
		d->ctx_field[old_len] = '\0';
		d->ctx_struct = old_struct;
	}
}

static void gd_array(struct gdec *d, const struct gtype *t, int sink)
{
	size_t count = 0;
	d->i++; /* '[' */
	for (;;) {
		gd_ws(d);
		if (d->i >= d->end || d->s[d->i] == ']') {
			d->i++;
			break;
		}
		if (d->s[d->i] == ',') {
			d->i++;
			continue;
		}
		gd_value(d, t->elem, SINK_NONE);
		count++;
	}
	size_t *len = sink_len(d->b, sink);
	if (len)
		*len = count;
	sink_given(d, sink, count > 0);
}

static void gd_value(struct gdec *d, const struct gtype *t, int sink)
{
	gd_ws(d);
	if (d->i >= d->end)
		return;
	char c = d->s[d->i];
	if (t->kind == GK_PTR) {
		if (c == 'n') { /* null sets the pointer to nil */
			gd_skip(d);
			sink_pointer(d, sink, false);
			return;
		}
		sink_pointer(d, sink, true);
		t = t->elem;
	}
	switch (c) {
	case 'n': /* null leaves a value as it is; a slice or map becomes nil */
		gd_skip(d);
		if (t->kind == GK_SLICE || t->kind == GK_MAP) {
			size_t *len = sink_len(d->b, sink);
			if (len)
				*len = 0;
			sink_given(d, sink, false);
		}
		return;
	case '{':
		if (t->kind == GK_STRUCT || t->kind == GK_MAP) {
			gd_object(d, t, sink);
			return;
		}
		gd_type_error(d, "object", t);
		gd_skip(d);
		return;
	case '[':
		if (t->kind == GK_SLICE) {
			gd_array(d, t, sink);
			return;
		}
		gd_type_error(d, "array", t);
		gd_skip(d);
		return;
	case '"':
		if (t->kind == GK_STRING) {
			gd_string_value(d, sink);
			return;
		}
		gd_type_error(d, "string", t);
		gd_skip(d);
		return;
	case 't':
	case 'f':
		if (t->kind == GK_BOOL) {
			if (sink == SU_F_OOM_KILL_DISABLE)
				d->b->oom_kill_disable = c == 't';
		} else {
			gd_type_error(d, "bool", t);
		}
		gd_skip(d);
		return;
	}
	/* a number */
	if (t->kind == GK_INT64 || t->kind == GK_INT || t->kind == GK_UINT16 ||
	    t->kind == GK_UINT64) {
		gd_number(d, t, sink);
		return;
	}
	gd_type_error(d, "number", t);
	gd_skip(d);
}

/* Go's zero UpdateConfig, the strings empty: not all of their room is touched. */
static void body_zero(struct su_body *b)
{
	memset(b, 0, offsetof(struct su_body, cpuset_cpus));
	b->cpuset_cpus[0] = b->cpuset_mems[0] = b->restart_name[0] = '\0';
}

int su_parse_body(const char *body, size_t len, bool api_1_40, struct su_body *b,
                  struct su_error *e)
{
	body_zero(b);
	size_t start = 0, end = 0;
	char msg[SU_MSG_MAX];
	if (gs_first_value(body ? body : "", body ? len : 0, &start, &end, msg, sizeof(msg)) < 0) {
		su_errf(e, 500, "%s", msg);
		return -1;
	}
	struct gdec d = {
	        .s = body, .i = start, .end = end, .b = b, .msg = msg, .msg_cap = sizeof(msg)};
	gd_value(&d, &t_update, SINK_NONE);
	if (d.failed) {
		su_errf(e, 500, "%s", msg);
		body_zero(b);
		return -1;
	}
	/* postContainerUpdate: PidsLimit only from API 1.40; 0 and below mean unlimited. */
	if (!api_1_40) {
		b->has_pids_limit = false;
		b->pids_limit = 0;
		b->given &= ~(UINT64_C(1) << SU_F_PIDS_LIMIT);
	}
	if (b->has_pids_limit && b->pids_limit < 0)
		b->pids_limit = 0;
	if (b->has_pids_limit)
		b->given |= UINT64_C(1) << SU_F_PIDS_LIMIT;
	if (b->has_swappiness)
		b->given |= UINT64_C(1) << SU_F_MEMORY_SWAPPINESS;
	if (b->has_oom_kill_disable)
		b->given |= UINT64_C(1) << SU_F_OOM_KILL_DISABLE;
	/* UpdateContainer takes a restart policy that has a name. */
	if (b->restart_name[0])
		b->given |= UINT64_C(1) << SU_F_RESTART_POLICY;
	return 0;
}

/* ===== Go's JSON string encoding =========================================================== */

size_t su_json_quote(const char *s, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
#define PUT(ch)                                                                                    \
	do {                                                                                       \
		if (n + 1 < cap)                                                                   \
			out[n] = (char)(ch);                                                       \
		n++;                                                                               \
	} while (0)
	PUT('"');
	size_t len = strlen(s);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			i++;
			if (c >= 0x20 && c != '"' && c != '\\') {
				PUT(c);
				continue;
			}
			PUT('\\');
			switch (c) {
			case '"':
			case '\\':
				PUT(c);
				break;
			case '\n':
				PUT('n');
				break;
			case '\r':
				PUT('r');
				break;
			case '\t':
				PUT('t');
				break;
			default:
				PUT('u');
				PUT('0');
				PUT('0');
				PUT(hex[c >> 4]);
				PUT(hex[c & 15]);
			}
			continue;
		}
		size_t sz;
		uint32_t r = utf8_get((const unsigned char *)s + i, len - i, &sz);
		if (r == 0xfffd && sz == 1) {
			PUT('\\');
			PUT('u');
			PUT('f');
			PUT('f');
			PUT('f');
			PUT('d');
		} else if (r == 0x2028 || r == 0x2029) {
			PUT('\\');
			PUT('u');
			PUT('2');
			PUT('0');
			PUT('2');
			PUT(r == 0x2028 ? '8' : '9');
		} else {
			for (size_t k = 0; k < sz; k++)
				PUT(s[i + k]);
		}
		i += sz;
	}
	PUT('"');
#undef PUT
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	return n;
}
