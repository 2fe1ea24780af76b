/* cglat serve, the update path: POST /containers/{id}/update is checked as dockerd checks it,
 * written into the container's cgroup files through libcglat (microseconds), then recorded
 * in dockerd by forwarding the client's request, so that Docker's record follows; when
 * dockerd refuses or cannot be reached, the files are put back. With --reply-after enforce
 * the answer goes as soon as the files are written and the record follows in the
 * background, in order per container.
 *
 * The parts that need no dockerd (the body, dockerd's rules, the record, runc's writes,
 * kernel values per container, the answers) come first and are declared in
 * serve_update.h for the tests; the machinery (the cache fed by /events, per-container
 * order, record workers, the connections to dockerd, statistics) follows.
 *
 * Guarantees and choices:
 * - What dockerd refuses is refused before anything is written, with dockerd's status and
 *   message: its own checks (400, 409, 404, 500 for JSON as Go words it), and what runc or
 *   the kernel would refuse in the form dockerd passes runc's error on (500 "Cannot update
 *   container ID: runc did not terminate successfully: exit status 1: ...").
 * - Order: updates to one container are enforced and recorded in the order they came
 *   (a ticket per container); different containers in parallel.
 * - Default mode: dockerd's refusal, or no answer, puts the written files back (the
 *   values read or known before) and dockerd's answer (or 502 with the reason) goes back.
 * - --reply-after enforce: 200 with dockerd's body and headers once the files are written.
 *   A record of an older update makes runc write older values again; after each record
 *   every knob a newer update enforced is written again, and a queued record is left out
 *   when the next one gives every field it gives. A background record that dockerd refuses
 *   (or that cannot reach dockerd after a few tries to connect) puts the files of that
 *   update back to what Docker's record holds -- newer enforced values stay -- and is
 *   logged (-v) and counted (failed_records, rolled_back): Docker's record stays true and
 *   the kernel follows it.
 * - serve is taken to be the only writer of a container's limit files between dockerd's
 *   events (start, die, update by others make it read them again); a write that fails
 *   with the values it knows is planned again from the files. */
#include "serve_update.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "docker.h"
#include "docker_http.h"
#include "stats.h"
#include "units.h"

static void su_errf(struct su_error *e, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void su_errf(struct su_error *e, int status, const char *fmt, ...)
{
	if (!e)
		return;
	va_list ap;
	va_start(ap, fmt);
	e->status = status;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* ===== Go's JSON scanner (encoding/json/scanner.go, Go 1.19) =============================== */

/* Decoder.Decode reads one value: the scanner runs over it first and reports the first
 * syntax error in Go's words; a value cut short is "unexpected EOF", no value "EOF". */

enum gs_state {
	GS_BEGIN_VALUE_OR_EMPTY,
	GS_BEGIN_VALUE,
	GS_BEGIN_STRING_OR_EMPTY,
	GS_BEGIN_STRING,
	GS_END_VALUE,
	GS_END_TOP,
	GS_IN_STRING,
	GS_IN_STRING_ESC,
	GS_IN_STRING_ESC_U,
	GS_IN_STRING_ESC_U1,
	GS_IN_STRING_ESC_U12,
	GS_IN_STRING_ESC_U123,
	GS_NEG,
	GS_1,
	GS_0,
	GS_DOT,
	GS_DOT0,
	GS_E,
	GS_ESIGN,
	GS_E0,
	GS_T,
	GS_TR,
	GS_TRU,
	GS_F,
	GS_FA,
	GS_FAL,
	GS_FALS,
	GS_N,
	GS_NU,
	GS_NUL,
};

enum gs_parse { GS_OBJECT_KEY, GS_OBJECT_VALUE, GS_ARRAY_VALUE };

enum gs_result { GS_CONTINUE, GS_END_OBJECT_OR_ARRAY, GS_END, GS_ERROR };

#define GS_MAX_DEPTH 10000

struct gscan {
	enum gs_state step;
	unsigned char *stack;
	size_t depth, cap;
	char *msg;
	size_t msg_cap;
	bool oom;
};

static bool gs_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* quoteChar: the byte as Go's strconv.Quote shows the rune U+00cc, in single quotes. */
static void gs_quote_char(unsigned char c, char *out, size_t cap)
{
	static const char esc[] = "abtnvfr";
	if (c == '\'') {
		snprintf(out, cap, "'\\''");
	} else if (c == '"') {
		snprintf(out, cap, "'\"'");
	} else if (c == '\\') {
		snprintf(out, cap, "'\\\\'");
	} else if (c >= 7 && c <= 13) {
		snprintf(out, cap, "'\\%c'", esc[c - 7]);
	} else if (c < 0x20 || c == 0x7f) {
		snprintf(out, cap, "'\\x%02x'", c);
	} else if (c < 0x7f) {
		snprintf(out, cap, "'%c'", c);
	} else if (c < 0xa1 || c == 0xad) {
		/* C1 controls, no-break space and soft hyphen are not printable in Go */
		snprintf(out, cap, "'\\u%04x'", c);
	} else {
		snprintf(out, cap, "'%c%c'", 0xc0 | (c >> 6), 0x80 | (c & 0x3f));
	}
}

static enum gs_result gs_error(struct gscan *s, unsigned char c, const char *context)
{
	char q[16];
	gs_quote_char(c, q, sizeof(q));
	snprintf(s->msg, s->msg_cap, "invalid character %s %s", q, context);
	return GS_ERROR;
}

static enum gs_result gs_push(struct gscan *s, unsigned char c, enum gs_parse p)
{
	if (s->depth == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		unsigned char *st = realloc(s->stack, cap);
		if (!st) {
			s->oom = true;
			snprintf(s->msg, s->msg_cap, "out of memory");
			return GS_ERROR;
		}
		s->stack = st;
		s->cap = cap;
	}
	s->stack[s->depth++] = (unsigned char)p;
	if (s->depth <= GS_MAX_DEPTH)
		return GS_CONTINUE;
	return gs_error(s, c, "exceeded max depth");
}

static enum gs_result gs_pop(struct gscan *s)
{
	s->depth--;
	s->step = s->depth == 0 ? GS_END_TOP : GS_END_VALUE;
	return s->depth == 0 ? GS_END_OBJECT_OR_ARRAY : GS_CONTINUE;
}

static enum gs_result gs_step(struct gscan *s, unsigned char c);

static enum gs_result gs_begin_value(struct gscan *s, unsigned char c)
{
	if (gs_space(c))
		return GS_CONTINUE;
	switch (c) {
	case '{':
		s->step = GS_BEGIN_STRING_OR_EMPTY;
		return gs_push(s, c, GS_OBJECT_KEY);
	case '[':
		s->step = GS_BEGIN_VALUE_OR_EMPTY;
		return gs_push(s, c, GS_ARRAY_VALUE);
	case '"':
		s->step = GS_IN_STRING;
		return GS_CONTINUE;
	case '-':
		s->step = GS_NEG;
		return GS_CONTINUE;
	case '0':
		s->step = GS_0;
		return GS_CONTINUE;
	case 't':
		s->step = GS_T;
		return GS_CONTINUE;
	case 'f':
		s->step = GS_F;
		return GS_CONTINUE;
	case 'n':
		s->step = GS_N;
		return GS_CONTINUE;
	}
	if (c >= '1' && c <= '9') {
		s->step = GS_1;
		return GS_CONTINUE;
	}
	return gs_error(s, c, "looking for beginning of value");
}

static enum gs_result gs_end_value(struct gscan *s, unsigned char c)
{
	if (s->depth == 0) {
		s->step = GS_END_TOP;
		return GS_END; /* a top-level scalar ends at the byte after it */
	}
	if (gs_space(c)) {
		s->step = GS_END_VALUE;
		return GS_CONTINUE;
	}
	switch ((enum gs_parse)s->stack[s->depth - 1]) {
	case GS_OBJECT_KEY:
		if (c == ':') {
			s->stack[s->depth - 1] = GS_OBJECT_VALUE;
			s->step = GS_BEGIN_VALUE;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "after object key");
	case GS_OBJECT_VALUE:
		if (c == ',') {
			s->stack[s->depth - 1] = GS_OBJECT_KEY;
			s->step = GS_BEGIN_STRING;
			return GS_CONTINUE;
		}
		if (c == '}')
			return gs_pop(s);
		return gs_error(s, c, "after object key:value pair");
	case GS_ARRAY_VALUE:
		if (c == ',') {
			s->step = GS_BEGIN_VALUE;
			return GS_CONTINUE;
		}
		if (c == ']')
			return gs_pop(s);
		return gs_error(s, c, "after array element");
	}
	return gs_error(s, c, "");
}

static bool gs_hex(unsigned char c)
{
	return isxdigit(c) != 0;
}

static enum gs_result gs_literal(struct gscan *s, unsigned char c, unsigned char want,
                                 enum gs_state next, const char *context)
{
	if (c == want) {
		s->step = next;
		return GS_CONTINUE;
	}
	return gs_error(s, c, context);
}

static enum gs_result gs_step(struct gscan *s, unsigned char c)
{
	switch (s->step) {
	case GS_BEGIN_VALUE_OR_EMPTY:
		if (gs_space(c))
			return GS_CONTINUE;
		if (c == ']')
			return gs_end_value(s, c);
		return gs_begin_value(s, c);
	case GS_BEGIN_VALUE:
		return gs_begin_value(s, c);
	case GS_BEGIN_STRING_OR_EMPTY:
		if (gs_space(c))
			return GS_CONTINUE;
		if (c == '}') {
			s->stack[s->depth - 1] = GS_OBJECT_VALUE;
			return gs_end_value(s, c);
		}
		/* fall through */
	case GS_BEGIN_STRING:
		if (gs_space(c))
			return GS_CONTINUE;
		if (c == '"') {
			s->step = GS_IN_STRING;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "looking for beginning of object key string");
	case GS_END_VALUE:
		return gs_end_value(s, c);
	case GS_END_TOP:
		return GS_END;
	case GS_IN_STRING:
		if (c == '"') {
			s->step = GS_END_VALUE;
			return GS_CONTINUE;
		}
		if (c == '\\') {
			s->step = GS_IN_STRING_ESC;
			return GS_CONTINUE;
		}
		if (c < 0x20)
			return gs_error(s, c, "in string literal");
		return GS_CONTINUE;
	case GS_IN_STRING_ESC:
		if (strchr("bfnrt\\/\"", c) && c) {
			s->step = GS_IN_STRING;
			return GS_CONTINUE;
		}
		if (c == 'u') {
			s->step = GS_IN_STRING_ESC_U;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "in string escape code");
	case GS_IN_STRING_ESC_U:
	case GS_IN_STRING_ESC_U1:
	case GS_IN_STRING_ESC_U12:
	case GS_IN_STRING_ESC_U123:
		if (gs_hex(c)) {
			s->step = s->step == GS_IN_STRING_ESC_U123 ? GS_IN_STRING : s->step + 1;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "in \\u hexadecimal character escape");
	case GS_NEG:
		if (c == '0') {
			s->step = GS_0;
			return GS_CONTINUE;
		}
		if (c >= '1' && c <= '9') {
			s->step = GS_1;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "in numeric literal");
	case GS_1:
		if (c >= '0' && c <= '9')
			return GS_CONTINUE;
		/* fall through */
	case GS_0:
		if (c == '.') {
			s->step = GS_DOT;
			return GS_CONTINUE;
		}
		if (c == 'e' || c == 'E') {
			s->step = GS_E;
			return GS_CONTINUE;
		}
		return gs_end_value(s, c);
	case GS_DOT:
		if (c >= '0' && c <= '9') {
			s->step = GS_DOT0;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "after decimal point in numeric literal");
	case GS_DOT0:
		if (c >= '0' && c <= '9')
			return GS_CONTINUE;
		if (c == 'e' || c == 'E') {
			s->step = GS_E;
			return GS_CONTINUE;
		}
		return gs_end_value(s, c);
	case GS_E:
		if (c == '+' || c == '-') {
			s->step = GS_ESIGN;
			return GS_CONTINUE;
		}
		/* fall through */
	case GS_ESIGN:
		if (c >= '0' && c <= '9') {
			s->step = GS_E0;
			return GS_CONTINUE;
		}
		return gs_error(s, c, "in exponent of numeric literal");
	case GS_E0:
		if (c >= '0' && c <= '9')
			return GS_CONTINUE;
		return gs_end_value(s, c);
	case GS_T:
		return gs_literal(s, c, 'r', GS_TR, "in literal true (expecting 'r')");
	case GS_TR:
		return gs_literal(s, c, 'u', GS_TRU, "in literal true (expecting 'u')");
	case GS_TRU:
		return gs_literal(s, c, 'e', GS_END_VALUE, "in literal true (expecting 'e')");
	case GS_F:
		return gs_literal(s, c, 'a', GS_FA, "in literal false (expecting 'a')");
	case GS_FA:
		return gs_literal(s, c, 'l', GS_FAL, "in literal false (expecting 'l')");
	case GS_FAL:
		return gs_literal(s, c, 's', GS_FALS, "in literal false (expecting 's')");
	case GS_FALS:
		return gs_literal(s, c, 'e', GS_END_VALUE, "in literal false (expecting 'e')");
	case GS_N:
		return gs_literal(s, c, 'u', GS_NU, "in literal null (expecting 'u')");
	case GS_NU:
		return gs_literal(s, c, 'l', GS_NUL, "in literal null (expecting 'l')");
	case GS_NUL:
		return gs_literal(s, c, 'l', GS_END_VALUE, "in literal null (expecting 'l')");
	}
	return gs_error(s, c, "");
}

/* The first value of buf as Decoder.readValue finds it: 0 with [*start, *end), or -1 with
 * Go's error in msg. */
static int gs_first_value(const char *buf, size_t len, size_t *start, size_t *end, char *msg,
                          size_t cap)
{
	struct gscan s = {.step = GS_BEGIN_VALUE, .msg = msg, .msg_cap = cap};
	bool seen = false;
	int rc = -1;
	*start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (!seen && !gs_space(c)) {
			seen = true;
			*start = i;
		}
		enum gs_result r = gs_step(&s, c);
		if (r == GS_ERROR)
			goto out;
		if (r == GS_END) {
			*end = i;
			rc = 0;
			goto out;
		}
		if (r == GS_END_OBJECT_OR_ARRAY) {
			*end = i + 1;
			rc = 0;
			goto out;
		}
	}
	/* At the end of the body: a space completes a top-level number or literal. */
	if (seen && gs_step(&s, ' ') == GS_END) {
		*end = len;
		rc = 0;
	} else {
		snprintf(msg, cap, "%s", seen ? "unexpected EOF" : "EOF");
	}
out:
	free(s.stack);
	return rc;
}

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

#define NF(a) (sizeof(a) / sizeof((a)[0]))

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
	while (d->i < d->end && !strchr(",}] \t\r\n", d->s[d->i]))
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

static const struct gfield *gd_field(const struct gtype *t, const char *key, size_t klen)
{
	for (size_t i = 0; i < t->nfields; i++)
		if (t->fields[i].name[0] == key[0] && strncmp(t->fields[i].name, key, klen) == 0 &&
		    t->fields[i].name[klen] == '\0')
			return &t->fields[i];
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

static void gd_number(struct gdec *d, const struct gtype *t, int sink)
{
	size_t start = d->i;
	gd_skip(d);
	size_t n = d->i - start;
	const char *lit = d->s + start;
	char value[520];
	snprintf(value, sizeof(value), "number %.*s", (int)(n > 500 ? 500 : n), lit);
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
			gd_type_error(d, value, t);
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
			gd_type_error(d, value, t);
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
	/* jansson decodes what it can (escapes, surrogate pairs); Go also takes invalid
	 * UTF-8 and NULs, which the unquote below does as Go does. */
	size_t start = d->i;
	gd_skip_string(d);
	json_t *j = json_loadb(d->s + start, d->i - start, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
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
	d->i++; /* '{' */
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
			f = gd_field(t, key, klen);
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

int su_parse_body(const char *body, size_t len, bool api_1_40, struct su_body *b,
                  struct su_error *e)
{
	memset(b, 0, sizeof(*b));
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
		memset(b, 0, sizeof(*b));
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

/* ===== cpuset lists as dockerd parses them (pkg/parsers.ParseUintList) ===================== */

/* strconv.Atoi: an optional sign and decimal digits, in int64. */
static bool go_atoi(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

struct uint_range {
	int64_t lo, hi;
};

#define LIST_RANGES_MAX 4096

/* parseUintList(val, maximum): the ranges of a list, or -1 with Go's error. */
static int parse_uint_list(const char *val, int64_t maximum, struct uint_range *r, size_t *nr,
                           char *msg, size_t cap)
{
	*nr = 0;
	if (!*val)
		return 0;
	for (const char *p = val;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *dash = memchr(p, '-', n);
		int64_t lo, hi;
		if (!dash) {
			if (!go_atoi(p, n, &lo)) {
				snprintf(msg, cap, "invalid format: %s", val);
				return -1;
			}
			hi = lo;
			if (maximum != 0 && lo > maximum) {
				snprintf(msg, cap, "value of out range, maximum is %" PRId64,
				         maximum);
				return -1;
			}
		} else {
			if (!go_atoi(p, (size_t)(dash - p), &lo) ||
			    !go_atoi(dash + 1, n - (size_t)(dash - p) - 1, &hi) || hi < lo) {
				snprintf(msg, cap, "invalid format: %s", val);
				return -1;
			}
			if (maximum != 0 && hi > maximum) {
				snprintf(msg, cap, "value of out range, maximum is %" PRId64,
				         maximum);
				return -1;
			}
		}
		if (*nr == LIST_RANGES_MAX) {
			snprintf(msg, cap, "invalid format: %s (more than %d items)", val,
			         LIST_RANGES_MAX);
			return -1;
		}
		r[(*nr)++] = (struct uint_range){lo, hi};
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

static bool in_ranges(const struct uint_range *r, size_t n, int64_t v)
{
	for (size_t i = 0; i < n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static size_t list_items(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		n += *s == ',';
	return n;
}

int su_cpuset_available(const char *provided, const char *available, char *msg, size_t cap)
{
	struct uint_range small[2][32];
	size_t ca = list_items(available), cp = list_items(provided);
	if (ca > LIST_RANGES_MAX || cp > LIST_RANGES_MAX) {
		snprintf(msg, cap, "invalid format: %s (more than %d items)",
		         cp > LIST_RANGES_MAX ? provided : available, LIST_RANGES_MAX);
		return -1;
	}
	struct uint_range *ra = ca <= 32 ? small[0] : malloc(ca * sizeof(*ra));
	struct uint_range *rp = cp <= 32 ? small[1] : malloc(cp * sizeof(*rp));
	size_t na, np;
	int rc = -1;
	if (!ra || !rp) {
		snprintf(msg, cap, "out of memory");
		goto out;
	}
	if (parse_uint_list(available, 0, ra, &na, msg, cap) < 0)
		goto out;
	/* 8192 CPUs is Linux's usual maximum; more when the host has them. */
	int64_t max = 8192;
	for (size_t i = 0; i < na; i++)
		if (ra[i].hi > max)
			max = ra[i].hi;
	if (parse_uint_list(provided, max, rp, &np, msg, cap) < 0)
		goto out;
	rc = 1;
	for (size_t i = 0; i < np && rc == 1; i++)
		for (int64_t v = rp[i].lo; v <= rp[i].hi; v++)
			if (!in_ranges(ra, na, v)) {
				rc = 0;
				break;
			}
out:
	if (ra != small[0])
		free(ra);
	if (rp != small[1])
		free(rp);
	return rc;
}

/* ===== the host as dockerd's pkg/sysinfo sees it ============================================ */

static bool file_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return stat(path, &st) == 0;
}

static void read_trimmed(const char *dir, const char *file, char *out, size_t cap)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	out[0] = '\0';
	char *text = cgroup_read_all(path, &(int){0});
	if (!text)
		return;
	char *p = text;
	while (*p && isspace((unsigned char)*p))
		p++;
	size_t n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	snprintf(out, cap, "%.*s", (int)n, p);
	free(text);
}

/* The first v1 mount whose options name controller. */
static const char *v1_mount(const struct cg_mounts *m, const char *controller)
{
	for (size_t i = 0; i < m->count; i++) {
		if (m->mount[i].version != 1)
			continue;
		const char *c = m->mount[i].controllers;
		size_t n = strlen(controller);
		for (const char *p = c; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
			if (strncmp(p, controller, n) == 0 && (p[n] == ',' || p[n] == '\0'))
				return m->mount[i].mountpoint;
	}
	return NULL;
}

static int dockerd_ncpu(pid_t pid)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(pid, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static bool has_token(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || isspace((unsigned char)p[-1])) &&
		    (p[n] == '\0' || isspace((unsigned char)p[n])))
			return true;
	return false;
}

/* cgroup v2: getSwapLimitV2 looks for memory.swap.max in dockerd's own cgroup. */
static bool v2_swap_limit(const char *mountpoint, pid_t dockerd)
{
	char path[64], line[PATH_MAX + 8];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", dockerd > 0 ? (int)dockerd : (int)getpid());
	FILE *f = fopen(path, "re");
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		char dir[PATH_MAX + 8];
		snprintf(dir, sizeof(dir), "%s%s", mountpoint, line + 3);
		found = file_exists(dir, "memory.swap.max");
	}
	fclose(f);
	return found;
}

int su_host_probe(const char *mountinfo, pid_t dockerd, struct su_host *h, struct cg_err *err)
{
	memset(h, 0, sizeof(*h));
	struct cg_mounts *m = malloc(sizeof(*m));
	enum cg_mode mode;
	if (!m)
		return cg_errf(err, "out of memory");
	if (cgroup_load_mounts(mountinfo, m, err) < 0 || cgroup_mode_of(m, &mode, err) < 0) {
		free(m);
		return -1;
	}
	h->ncpu = dockerd_ncpu(dockerd);
	struct utsname un;
	h->kernel_4 = uname(&un) == 0 && atoi(un.release) >= 4;
	if (mode == CG_MODE_V2) {
		const char *mp = NULL;
		for (size_t i = 0; i < m->count && !mp; i++)
			if (m->mount[i].version == 2)
				mp = m->mount[i].mountpoint;
		char ctl[512];
		read_trimmed(mp, "cgroup.controllers", ctl, sizeof(ctl));
		if (has_token(ctl, "memory")) {
			h->memory_limit = h->memory_reservation = true;
			h->swap_limit = v2_swap_limit(mp, dockerd);
		}
		h->cpu_shares = h->cpu_cfs = has_token(ctl, "cpu");
		if (has_token(ctl, "io"))
			h->blkio_weight = h->blkio_weight_device = h->blkio_read_bps =
			        h->blkio_write_bps = h->blkio_read_iops = h->blkio_write_iops =
			                true;
		if ((h->cpuset = has_token(ctl, "cpuset"))) {
			read_trimmed(mp, "cpuset.cpus.effective", h->cpus, sizeof(h->cpus));
			read_trimmed(mp, "cpuset.mems.effective", h->mems, sizeof(h->mems));
		}
		h->pids_limit = has_token(ctl, "pids");
		free(m);
		return 0;
	}
	const char *mp;
	if ((mp = v1_mount(m, "memory"))) {
		h->memory_limit = true;
		h->swap_limit = file_exists(mp, "memory.memsw.limit_in_bytes");
		h->memory_reservation = file_exists(mp, "memory.soft_limit_in_bytes");
		h->oom_kill_disable = file_exists(mp, "memory.oom_control");
		h->memory_swappiness = file_exists(mp, "memory.swappiness");
		h->kernel_memory = file_exists(mp, "memory.kmem.limit_in_bytes");
	}
	if ((mp = v1_mount(m, "cpu"))) {
		h->cpu_shares = file_exists(mp, "cpu.shares");
		h->cpu_cfs = file_exists(mp, "cpu.cfs_quota_us");
	}
	if ((mp = v1_mount(m, "blkio"))) {
		h->blkio_weight = file_exists(mp, "blkio.weight");
		h->blkio_weight_device = file_exists(mp, "blkio.weight_device");
		h->blkio_read_bps = file_exists(mp, "blkio.throttle.read_bps_device");
		h->blkio_write_bps = file_exists(mp, "blkio.throttle.write_bps_device");
		h->blkio_read_iops = file_exists(mp, "blkio.throttle.read_iops_device");
		h->blkio_write_iops = file_exists(mp, "blkio.throttle.write_iops_device");
	}
	if ((mp = v1_mount(m, "cpuset"))) {
		h->cpuset = true;
		read_trimmed(mp, "cpuset.cpus", h->cpus, sizeof(h->cpus));
		read_trimmed(mp, "cpuset.mems", h->mems, sizeof(h->mems));
	}
	h->pids_limit = v1_mount(m, "pids") != NULL;
	free(m);
	return 0;
}

/* ===== dockerd's checks ==================================================================== */

static void warn(struct su_warnings *w, const char *text)
{
	if (w->n < SU_MAX_WARNINGS)
		w->w[w->n++] = text;
}

/* daemon/container.go validateRestartPolicy. */
static int verify_restart(const struct su_body *b, struct su_error *e)
{
	const char *name = b->restart_name;
	if (!strcmp(name, "always") || !strcmp(name, "unless-stopped") || !strcmp(name, "no")) {
		if (b->restart_max_retry != 0) {
			su_errf(e, 400,
			        "maximum retry count cannot be used with restart policy '%s'",
			        name);
			return -1;
		}
	} else if (!strcmp(name, "on-failure")) {
		if (b->restart_max_retry < 0) {
			su_errf(e, 400, "maximum retry count cannot be negative");
			return -1;
		}
	} else if (*name) {
		su_errf(e, 400, "invalid restart policy '%s'", name);
		return -1;
	}
	return 0;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		su_errf(e, 400, __VA_ARGS__);                                                      \
		return -1;                                                                         \
	} while (0)

static void clear_given(struct su_body *b, enum su_field f)
{
	b->given &= ~(UINT64_C(1) << f);
}

/* The memory part of verifyPlatformContainerResources. */
static int verify_memory(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                         struct su_error *e)
{
	if (b->has_swappiness && b->swappiness == -1) { /* fixMemorySwappiness */
		b->has_swappiness = false;
		clear_given(b, SU_F_MEMORY_SWAPPINESS);
	}
	if (b->memory != 0 && b->memory < SU_MIN_MEMORY)
		FAIL("Minimum memory limit allowed is 6MB");
	if (b->memory > 0 && !h->memory_limit) {
		warn(w, "Your kernel does not support memory limit capabilities or the cgroup is "
		        "not mounted. Limitation discarded.");
		b->memory = 0;
		b->memory_swap = -1;
	}
	if (b->memory > 0 && b->memory_swap != -1 && !h->swap_limit) {
		warn(w, "Your kernel does not support swap limit capabilities or the cgroup is not "
		        "mounted. Memory limited without swap.");
		b->memory_swap = -1;
	}
	if (b->memory > 0 && b->memory_swap > 0 && b->memory_swap < b->memory)
		FAIL("Minimum memoryswap limit should be larger than memory limit, see usage");
	if (b->has_swappiness && !h->memory_swappiness) {
		warn(w, "Your kernel does not support memory swappiness capabilities or the cgroup "
		        "is not mounted. Memory swappiness discarded.");
		b->has_swappiness = false;
	}
	if (b->has_swappiness && (b->swappiness < 0 || b->swappiness > 100))
		FAIL("Invalid value: %" PRId64 ", valid memory swappiness range is 0-100",
		     b->swappiness);
	if (b->memory_reservation > 0 && !h->memory_reservation) {
		warn(w, "Your kernel does not support memory soft limit capabilities or the cgroup "
		        "is not mounted. Limitation discarded.");
		b->memory_reservation = 0;
	}
	if (b->memory_reservation > 0 && b->memory_reservation < SU_MIN_MEMORY)
		FAIL("Minimum memory reservation allowed is 6MB");
	if (b->memory > 0 && b->memory_reservation > 0 && b->memory < b->memory_reservation)
		FAIL("Minimum memory limit can not be less than memory reservation limit, see "
		     "usage");
	if (b->kernel_memory > 0)
		warn(w, "Specifying a kernel memory limit is deprecated and will be removed in a "
		        "future release.");
	if (b->kernel_memory > 0 && !h->kernel_memory) {
		warn(w, "Your kernel does not support kernel memory limit capabilities or the "
		        "cgroup is not mounted. Limitation discarded.");
		b->kernel_memory = 0;
	}
	if (b->kernel_memory > 0 && b->kernel_memory < SU_MIN_MEMORY)
		FAIL("Minimum kernel memory limit allowed is 6MB");
	if (b->kernel_memory > 0 && !h->kernel_4)
		warn(w,
		     "You specified a kernel memory limit on a kernel older than 4.0. Kernel "
		     "memory limits are experimental on older kernels, it won't work as expected "
		     "and can cause your system to be unstable.");
	if (b->has_oom_kill_disable && !h->oom_kill_disable) {
		if (b->oom_kill_disable)
			warn(w, "Your kernel does not support OomKillDisable. OomKillDisable "
			        "discarded.");
		b->has_oom_kill_disable = false;
	}
	if (b->has_oom_kill_disable && b->oom_kill_disable && b->memory == 0)
		warn(w,
		     "OOM killer is disabled for the container, but no memory limit is set, this "
		     "can result in the system running out of resources.");
	if (b->has_pids_limit && !h->pids_limit) {
		if (b->pids_limit > 0)
			warn(w,
			     "Your kernel does not support PIDs limit capabilities or the cgroup "
			     "is not mounted. PIDs limit discarded.");
		b->has_pids_limit = false;
		clear_given(b, SU_F_PIDS_LIMIT);
	}
	return 0;
}

/* The CPU part. */
static int verify_cpu(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                      struct su_error *e)
{
	if (b->nano_cpus > 0 && b->cpu_period > 0)
		FAIL("Conflicting options: Nano CPUs and CPU Period cannot both be set");
	if (b->nano_cpus > 0 && b->cpu_quota > 0)
		FAIL("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
	if (b->nano_cpus > 0 && !h->cpu_cfs)
		FAIL("NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler "
		     "or "
		     "the cgroup is not mounted");
	if (b->nano_cpus < 0 || b->nano_cpus > (int64_t)h->ncpu * 1000000000)
		FAIL("Range of CPUs is from 0.01 to %d.00, as there are only %d CPUs available",
		     h->ncpu, h->ncpu);
	if (b->cpu_shares > 0 && !h->cpu_shares) {
		warn(w, "Your kernel does not support CPU shares or the cgroup is not mounted. "
		        "Shares discarded.");
		b->cpu_shares = 0;
	}
	if ((b->cpu_period != 0 || b->cpu_quota != 0) && !h->cpu_cfs) {
		warn(w, "Your kernel does not support CPU CFS scheduler. CPU period/quota "
		        "discarded.");
		b->cpu_period = 0;
		b->cpu_quota = 0;
	}
	if (b->cpu_period != 0 && (b->cpu_period < 1000 || b->cpu_period > 1000000))
		FAIL("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. "
		     "1000000)");
	if (b->cpu_quota > 0 && b->cpu_quota < 1000)
		FAIL("CPU cfs quota can not be less than 1ms (i.e. 1000)");
	if (b->cpu_percent > 0) {
		warn(w, "linux does not support CPU percent. Percent discarded.");
		b->cpu_percent = 0;
	}
	return 0;
}

/* The cpuset and block I/O parts. */
static int verify_rest(struct su_body *b, const struct su_host *h, struct su_warnings *w,
                       struct su_error *e)
{
	char msg[SU_MSG_MAX / 2];
	if ((b->cpuset_cpus[0] || b->cpuset_mems[0]) && !h->cpuset) {
		warn(w, "Your kernel does not support cpuset or the cgroup is not mounted. Cpuset "
		        "discarded.");
		b->cpuset_cpus[0] = b->cpuset_mems[0] = '\0';
		clear_given(b, SU_F_CPUSET_CPUS);
		clear_given(b, SU_F_CPUSET_MEMS);
	}
	int ok = su_cpuset_available(b->cpuset_cpus, h->cpus, msg, sizeof(msg));
	if (ok < 0)
		FAIL("Invalid value %s for cpuset cpus: %s", b->cpuset_cpus, msg);
	if (ok == 0)
		FAIL("Requested CPUs are not available - requested %s, available: %s",
		     b->cpuset_cpus, h->cpus);
	ok = su_cpuset_available(b->cpuset_mems, h->mems, msg, sizeof(msg));
	if (ok < 0)
		FAIL("Invalid value %s for cpuset mems: %s", b->cpuset_mems, msg);
	if (ok == 0)
		FAIL("Requested memory nodes are not available - requested %s, available: %s",
		     b->cpuset_mems, h->mems);
	if (b->blkio_weight > 0 && !h->blkio_weight) {
		warn(w, "Your kernel does not support Block I/O weight or the cgroup is not "
		        "mounted. Weight discarded.");
		b->blkio_weight = 0;
	}
	if (b->blkio_weight > 0 && (b->blkio_weight < 10 || b->blkio_weight > 1000))
		FAIL("Range of blkio weight is from 10 to 1000");
	if (b->io_max_bandwidth != 0 || b->io_max_iops != 0)
		FAIL("Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum "
		     "IO "
		     "IOps");
	if (b->blkio_weight_device_len > 0 && !h->blkio_weight_device)
		warn(w, "Your kernel does not support Block I/O weight_device or the cgroup is not "
		        "mounted. Weight-device discarded.");
	if (b->blkio_read_bps_len > 0 && !h->blkio_read_bps)
		warn(w,
		     "Your kernel does not support BPS Block I/O read limit or the cgroup is not "
		     "mounted. Block I/O BPS read limit discarded.");
	if (b->blkio_write_bps_len > 0 && !h->blkio_write_bps)
		warn(w, "Your kernel does not support BPS Block I/O write limit or the cgroup is "
		        "not mounted. Block I/O BPS write limit discarded.");
	if (b->blkio_read_iops_len > 0 && !h->blkio_read_iops)
		warn(w, "Your kernel does not support IOPS Block read limit or the cgroup is not "
		        "mounted. Block I/O IOPS read limit discarded.");
	if (b->blkio_write_iops_len > 0 && !h->blkio_write_iops)
		warn(w, "Your kernel does not support IOPS Block write limit or the cgroup is not "
		        "mounted. Block I/O IOPS write limit discarded.");
	return 0;
}

#undef FAIL

int su_verify(struct su_body *b, const struct su_host *h, struct su_warnings *w, struct su_error *e)
{
	w->n = 0;
	if (verify_restart(b, e) < 0 || verify_memory(b, h, w, e) < 0 ||
	    verify_cpu(b, h, w, e) < 0 || verify_rest(b, h, w, e) < 0)
		return -1;
	/* The fields serve enforces, as they stand after dockerd's adjustments. */
	static const enum su_field zeroed[] = {
	        SU_F_MEMORY,     SU_F_MEMORY_SWAP, SU_F_MEMORY_RESERVATION,
	        SU_F_CPU_SHARES, SU_F_CPU_PERIOD,  SU_F_CPU_QUOTA};
	const int64_t *vals[] = {&b->memory,     &b->memory_swap, &b->memory_reservation,
	                         &b->cpu_shares, &b->cpu_period,  &b->cpu_quota};
	for (size_t i = 0; i < NF(zeroed); i++) {
		if (*vals[i])
			b->given |= UINT64_C(1) << zeroed[i];
		else
			clear_given(b, zeroed[i]);
	}
	return 0;
}

/* ===== the record: HostConfig ============================================================== */

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

int su_merge(const struct su_body *b, const char *id, struct su_record *rec, struct su_error *e)
{
	struct su_record r = *rec;
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
		snprintf(r.cpuset_cpus, sizeof(r.cpuset_cpus), "%s", b->cpuset_cpus);
	if (b->cpuset_mems[0])
		snprintf(r.cpuset_mems, sizeof(r.cpuset_mems), "%s", b->cpuset_mems);
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
		snprintf(r.restart_name, sizeof(r.restart_name), "%s", b->restart_name);
	}
	*rec = r;
	return 0;
}

#undef CONFLICT

/* ===== what runc writes ===================================================================== */

/* cgroups.WriteFile's error: failed to write "X": write PATH: reason. */
static void runc_write_msg(const struct su_cgroups *cg, enum cg_knob knob, int version,
                           const char *value, const char *reason, struct su_error *e)
{
	char path[CGLAT_PATH_MAX];
	const char *file = cgroup_knob_file(knob, version);
	if (!cg->t || cglat_target_path(cg->t, knob, path, sizeof(path), NULL, NULL) < 0)
		snprintf(path, sizeof(path), "%s", file ? file : "?");
	su_errf(e, 500, "failed to write \"%s\": write %s: %s", value, path, reason);
}

/* The record's quota and period as runc's config holds them (getCPUResources). */
static void record_cfs(const struct su_record *r, int64_t *quota, int64_t *period)
{
	*period = r->nano_cpus > 0 ? 100000 : 0;
	*quota = r->nano_cpus > 0 ? r->nano_cpus * 100000 / 1000000000 : 0;
	if (r->cpu_period != 0)
		*period = r->cpu_period;
	if (r->cpu_quota != 0)
		*quota = r->cpu_quota;
}

static int runc_cpu(const struct su_body *b, const struct su_record *before,
                    const struct su_cgroups *cg, struct cglat_limits *l, struct su_error *e)
{
	uint64_t shares = (uint64_t)b->cpu_shares;
	if (shares != 0) {
		if (cg->v_cpu == 1) {
			/* The kernel clamps cpu.shares (scaled by 1024) to [2, 262144]; runc reads
			 * it back and refuses what did not stick. */
			uint64_t scaled = shares << 10;
			uint64_t lo = UINT64_C(2) << 10, hi = UINT64_C(262144) << 10;
			uint64_t got = (scaled < lo ? lo : scaled > hi ? hi : scaled) >> 10;
			if (shares > got) {
				su_errf(e, 500, "the maximum allowed cpu-shares is %" PRIu64, got);
				return -1;
			}
			if (shares < got) {
				su_errf(e, 500, "the minimum allowed cpu-shares is %" PRIu64, got);
				return -1;
			}
			l->set |= CGLAT_SET_CPU_SHARES;
			l->cpu_shares = (int64_t)shares;
		} else {
			/* runc's ConvertCPUSharesToCgroupV2Value, in uint64 as runc computes it;
			 * the kernel refuses a weight out of [1, 10000]. */
			uint64_t weight = 1 + ((shares - 2) * 9999) / 262142;
			if (weight < 1 || weight > 10000) {
				char v[32];
				snprintf(v, sizeof(v), "%" PRIu64, weight);
				runc_write_msg(cg, CG_KNOB_CPU_WEIGHT, 2, v,
				               "numerical result out of range", e);
				return -1;
			}
			l->set |= CGLAT_SET_CPU_WEIGHT;
			l->cpu_weight = (int64_t)weight;
		}
	}
	/* toContainerdResources: NanoCPUs is a quota of a 100 ms period. */
	int64_t p = 0, q = 0;
	if (b->nano_cpus != 0) {
		p = 100000;
		q = b->nano_cpus * p / 1000000000;
	}
	if (q == 0 && b->cpu_quota != 0)
		q = b->cpu_quota;
	if (p == 0 && b->cpu_period != 0)
		p = b->cpu_period;
	if (p == 0 && q == 0)
		return 0;
	char v[64];
	if (q > 0 && q < 1000 && cg->v_cpu == 1) {
		/* runc writes the period, then the quota, which the kernel refuses below 1 ms. */
		snprintf(v, sizeof(v), "%" PRId64, q);
		runc_write_msg(cg, CG_KNOB_CPU_QUOTA, 1, v, "invalid argument", e);
		return -1;
	}
	if (cg->v_cpu == 1) {
		/* runc writes the period, then the quota (the one not given is its config's,
		 * which the kernel holds already). A negative quota is no limit. */
		if (p != 0) {
			l->set |= CGLAT_SET_CPU_PERIOD;
			l->cpu_period = p;
		}
		if (q != 0) {
			l->set |= CGLAT_SET_CPU_QUOTA;
			l->cpu_quota = q < 0 ? CGLAT_UNLIMITED : q;
		}
		return 0;
	}
	/* v2: one file, "quota period", the one not given from runc's config, a period of 0
	 * being the kernel's default 100000. */
	int64_t rq, rp;
	record_cfs(before, &rq, &rp);
	int64_t mq = q != 0 ? q : rq, mp = p != 0 ? p : rp;
	if (mq > 0 && mq < 1000) {
		snprintf(v, sizeof(v), "%" PRId64 " %" PRId64, mq, mp != 0 ? mp : 100000);
		runc_write_msg(cg, CG_KNOB_CPU_QUOTA, 2, v, "invalid argument", e);
		return -1;
	}
	l->set |= CGLAT_SET_CPU_QUOTA | CGLAT_SET_CPU_PERIOD;
	l->cpu_quota = mq > 0 ? mq : CGLAT_UNLIMITED;
	l->cpu_period = mp != 0 ? mp : 100000;
	return 0;
}

static int runc_memory(const struct su_body *b, const struct su_cgroups *cg, struct cglat_limits *l,
                       struct su_error *e)
{
	int64_t m = b->memory, s = b->memory_swap > 0 ? b->memory_swap : 0;
	int64_t r = b->memory_reservation;
	char v[32];
	if (cg->v_memory == 2 && s > 0 && m == 0) {
		su_errf(e, 500, "unable to set swap limit without memory limit");
		return -1;
	}
	if (cg->v_memory == 1) {
		/* The kernel keeps memory <= memory+swap at each write. */
		if (m > 0 && s == 0 && cg->memsw_now >= 0 && m > cg->memsw_now) {
			snprintf(v, sizeof(v), "%" PRId64, m);
			runc_write_msg(cg, CG_KNOB_MEMORY_MAX, 1, v, "invalid argument", e);
			return -1;
		}
		if (s > 0 && m == 0 && cg->memory_now >= 0 && s < cg->memory_now) {
			snprintf(v, sizeof(v), "%" PRId64, s);
			runc_write_msg(cg, CG_KNOB_MEMORY_SWAP, 1, v, "invalid argument", e);
			return -1;
		}
	}
	if (m != 0) {
		l->set |= CGLAT_SET_MEMORY;
		l->memory = m;
	}
	if (s != 0) {
		l->set |= CGLAT_SET_MEMORY_SWAP;
		l->memory_swap = s;
	}
	if (r != 0) {
		/* runc writes the number as it is: -1 is "no soft limit" on v1 ("max" on v2),
		 * other negative numbers the kernel refuses. */
		if (r < -1) {
			snprintf(v, sizeof(v), "%" PRId64, r);
			runc_write_msg(cg, CG_KNOB_MEMORY_RESERVATION, cg->v_memory, v,
			               "invalid argument", e);
			return -1;
		}
		l->set |= CGLAT_SET_MEMORY_RESERVATION;
		l->memory_reservation = r < 0 ? CGLAT_UNLIMITED : r;
	}
	return 0;
}

/* A list for the library's 255 characters: as given when it fits, else as ranges. */
static int cpuset_text(const char *list, char *out, size_t cap, struct su_error *e)
{
	if (strlen(list) < cap) {
		snprintf(out, cap, "%s", list);
		return 0;
	}
	uint64_t mask[UNITS_CPULIST_WORDS];
	if (units_parse_cpulist(list, mask, NULL) < 0) {
		su_errf(e, 500, "cpuset list %.64s... is longer than %zu characters", list,
		        cap - 1);
		return -1;
	}
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < UNITS_CPULIST_MAX; i++) {
		if (!(mask[i / 64] >> (i % 64) & 1))
			continue;
		int j = i;
		while (j + 1 < UNITS_CPULIST_MAX && (mask[(j + 1) / 64] >> ((j + 1) % 64) & 1))
			j++;
		int w = j > i ? snprintf(out + n, cap - n, "%s%d-%d", n ? "," : "", i, j)
		              : snprintf(out + n, cap - n, "%s%d", n ? "," : "", i);
		if (w < 0 || (size_t)w >= cap - n) {
			su_errf(e, 500, "cpuset list %.64s... is longer than %zu characters", list,
			        cap - 1);
			return -1;
		}
		n += (size_t)w;
		i = j;
	}
	return 0;
}

int su_runc_limits(const struct su_body *b, const struct su_record *before,
                   const struct su_cgroups *cg, struct cglat_limits *l, struct su_error *e)
{
	memset(l, 0, sizeof(*l));
	l->force = true;
	if (runc_cpu(b, before, cg, l, e) < 0 || runc_memory(b, cg, l, e) < 0)
		return -1;
	if (b->cpuset_cpus[0]) {
		if (cpuset_text(b->cpuset_cpus, l->cpuset_cpus, sizeof(l->cpuset_cpus), e) < 0)
			return -1;
		l->set |= CGLAT_SET_CPUSET_CPUS;
	}
	if (b->cpuset_mems[0]) {
		if (cpuset_text(b->cpuset_mems, l->cpuset_mems, sizeof(l->cpuset_mems), e) < 0)
			return -1;
		l->set |= CGLAT_SET_CPUSET_MEMS;
	}
	if (b->has_pids_limit) { /* getPidsLimit: 0 (unlimited) is -1, "max" */
		l->set |= CGLAT_SET_PIDS_MAX;
		l->pids_max = b->pids_limit > 0 ? b->pids_limit : CGLAT_UNLIMITED;
	}
	return 0;
}

/* strerror's words as Go's syscall.Errno prints them: lower-case first letter. */
static void go_errno_text(const char *s, size_t n, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)n, s);
	if (out[0])
		out[0] = (char)tolower((unsigned char)out[0]);
}

void su_runc_write_error(const struct cglat_plan *p, const struct cglat_apply_result *r,
                         const char *apply_msg, char *out, size_t cap)
{
	char reason[128];
	const char *failed = strstr(apply_msg, " failed: ");
	if (!strncmp(apply_msg, "cannot open ", 12)) {
		/* "cannot open PATH for writing: REASON; nothing was written" */
		const char *f = strstr(apply_msg, " for writing: ");
		if (f) {
			const char *end = strchr(f + 14, ';');
			go_errno_text(f + 14, end ? (size_t)(end - f - 14) : strlen(f + 14), reason,
			              sizeof(reason));
			snprintf(out, cap, "openat2 %.*s: %s", (int)(f - apply_msg - 12),
			         apply_msg + 12, reason);
			return;
		}
	}
	size_t i = r->rolled_back + r->restore_failed;
	if (!failed || i >= p->count) {
		snprintf(out, cap, "%s", apply_msg);
		return;
	}
	const char *end = strchr(failed + 9, ';');
	go_errno_text(failed + 9, end ? (size_t)(end - failed - 9) : strlen(failed + 9), reason,
	              sizeof(reason));
	const struct cglat_write *w = &p->w[i];
	if (w->knob == CG_KNOB_MEMORY_MAX && w->version == 1 &&
	    !strcmp(reason, "device or resource busy")) {
		/* runc's setMemory: the limit is below what the cgroup uses. */
		char dir[CGLAT_PATH_MAX], usage[64] = "0", peak[64] = "0";
		snprintf(dir, sizeof(dir), "%s", w->path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		read_trimmed(dir, "memory.usage_in_bytes", usage, sizeof(usage));
		read_trimmed(dir, "memory.max_usage_in_bytes", peak, sizeof(peak));
		snprintf(out, cap,
		         "unable to set memory limit to %s (current usage: %s, peak usage: %s)",
		         w->new_text, usage, peak);
		return;
	}
	snprintf(out, cap, "failed to write \"%s\": write %s: %s", w->new_text, w->path, reason);
}

/* ===== plans from known values ============================================================= */

const enum cg_knob su_cached_knobs[] = {
        CG_KNOB_MEMORY_MAX,  CG_KNOB_MEMORY_SWAP, CG_KNOB_MEMORY_RESERVATION,
        CG_KNOB_CPU_QUOTA,   CG_KNOB_CPU_PERIOD,  CG_KNOB_CPU_WEIGHT,
        CG_KNOB_CPUSET_CPUS, CG_KNOB_CPUSET_MEMS, CG_KNOB_PIDS_MAX};
const size_t su_cached_knob_count = NF(su_cached_knobs);

static const char *const kctl_names[CGLAT_CTL_COUNT] = {"memory", "cpu", "cpuacct", "cpuset",
                                                        "pids"};

/* The knob's file in the target, as cglat_target_path names it, without a syscall. */
static bool knob_path(const struct cglat_target *t, enum cg_knob knob, char *path, size_t cap,
                      int *version, size_t *beneath)
{
	const char *ctl = cgroup_knob_controller(knob, 1);
	int c = -1;
	for (int i = 0; ctl && i < CGLAT_CTL_COUNT; i++)
		if (!strcmp(kctl_names[i], ctl))
			c = i;
	if (c >= 0 && t->version[c] == 2) {
		ctl = cgroup_knob_controller(knob, 2);
		for (int i = 0; ctl && i < CGLAT_CTL_COUNT; i++)
			if (!strcmp(kctl_names[i], ctl))
				c = i;
	}
	if (c < 0 || !t->has[c])
		return false;
	const char *file = cgroup_knob_file(knob, t->version[c]);
	if (!file || (size_t)snprintf(path, cap, "%s/%s", t->dir[c], file) >= cap)
		return false;
	*version = t->version[c];
	*beneath = t->mount_len[c];
	return true;
}

void su_kcache_set(struct su_kcache *c, enum cg_knob knob, const char *text)
{
	c->known[knob] = true;
	/* memmove: text may be a value that lies in the same entry as the cache. */
	size_t n = strnlen(text, sizeof(c->text[knob]) - 1);
	memmove(c->text[knob], text, n);
	c->text[knob][n] = '\0';
}

void su_kcache_fill(struct su_kcache *c, const struct cglat_target *t)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < su_cached_knob_count; i++) {
		char path[CGLAT_PATH_MAX], text[64];
		int v;
		size_t beneath;
		enum cg_knob k = su_cached_knobs[i];
		if (knob_path(t, k, path, sizeof(path), &v, &beneath) &&
		    cgroup_read_file(path, text, sizeof(text), NULL) == 0)
			su_kcache_set(c, k, text);
	}
}

struct fast {
	const struct cglat_target *t;
	const struct su_kcache *c;
	struct cglat_plan *p;
	bool ok;
};

static void fast_add(struct fast *f, enum cg_knob knob, const char *text)
{
	if (!f->ok)
		return;
	struct cglat_write *w = &f->p->w[f->p->count];
	int v;
	size_t beneath;
	if (f->p->count == CGLAT_MAX_WRITES || !f->c->known[knob] ||
	    !knob_path(f->t, knob, w->path, sizeof(w->path), &v, &beneath)) {
		f->ok = false;
		return;
	}
	w->knob = knob;
	w->version = v;
	w->file = cgroup_knob_file(knob, v);
	w->beneath = beneath;
	snprintf(w->old_text, sizeof(w->old_text), "%s", f->c->text[knob]);
	snprintf(w->new_text, sizeof(w->new_text), "%s", text);
	/* as the library: v1's unlimited memory is put back as -1 */
	int64_t old;
	bool memory = knob == CG_KNOB_MEMORY_MAX || knob == CG_KNOB_MEMORY_SWAP ||
	              knob == CG_KNOB_MEMORY_RESERVATION;
	if (memory && v == 1 &&
	    cgroup_parse_limit(CG_RES_MEMORY, 1, w->old_text, &old, NULL, NULL) == 0 && old < 0)
		snprintf(w->restore_text, sizeof(w->restore_text), "-1");
	else
		memcpy(w->restore_text, w->old_text, sizeof(w->restore_text));
	f->p->count++;
}

static bool fast_memory_value(struct fast *f, enum cg_knob knob, int v, int64_t *value)
{
	if (!f->c->known[knob] ||
	    cgroup_parse_limit(CG_RES_MEMORY, v, f->c->text[knob], value, NULL, NULL) < 0) {
		f->ok = false;
		return false;
	}
	return true;
}

static void mem_text(int v, int64_t bytes, char *buf, size_t len)
{
	if (bytes < 0)
		snprintf(buf, len, "%s", v == 2 ? "max" : "-1");
	else
		snprintf(buf, len, "%" PRId64, bytes);
}

/* Greater, with -1 meaning unlimited (control_plan.c's `above`). */
static bool above_u(int64_t a, int64_t b)
{
	if (a < 0)
		return b >= 0;
	return b >= 0 && a > b;
}

static void fast_memory(struct fast *f, const struct cglat_limits *l)
{
	int vm = f->t->version[CGLAT_CTL_MEMORY];
	char text[32];
	if (l->set & (CGLAT_SET_MEMORY | CGLAT_SET_MEMORY_SWAP)) {
		int64_t old_mem;
		if (!fast_memory_value(f, CG_KNOB_MEMORY_MAX, vm, &old_mem))
			return;
		int64_t new_mem = (l->set & CGLAT_SET_MEMORY) ? l->memory : old_mem;
		bool set_mem = l->set & CGLAT_SET_MEMORY, set_sw = l->set & CGLAT_SET_MEMORY_SWAP;
		if (vm == 1) {
			char sw[32];
			int64_t old_sw;
			if (set_sw) {
				if (l->memory_swap >= 0 && above_u(new_mem, l->memory_swap)) {
					f->ok = false;
					return;
				}
				mem_text(1, l->memory_swap, sw, sizeof(sw));
			} else if (f->c->known[CG_KNOB_MEMORY_SWAP]) {
				if (!fast_memory_value(f, CG_KNOB_MEMORY_SWAP, 1, &old_sw) ||
				    above_u(new_mem, old_sw)) {
					f->ok = false; /* the library refuses it: let it say so */
					return;
				}
			}
			mem_text(1, new_mem, text, sizeof(text));
			bool raising = above_u(new_mem, old_mem);
			if (set_sw && raising)
				fast_add(f, CG_KNOB_MEMORY_SWAP, sw);
			if (set_mem)
				fast_add(f, CG_KNOB_MEMORY_MAX, text);
			if (set_sw && !raising)
				fast_add(f, CG_KNOB_MEMORY_SWAP, sw);
		} else {
			if (set_mem) {
				mem_text(2, new_mem, text, sizeof(text));
				fast_add(f, CG_KNOB_MEMORY_MAX, text);
			}
			if (set_sw) {
				if (l->memory_swap < 0)
					snprintf(text, sizeof(text), "max");
				else if (new_mem < 0 || l->memory_swap < new_mem)
					f->ok = false;
				else
					snprintf(text, sizeof(text), "%" PRId64,
					         l->memory_swap - new_mem);
				fast_add(f, CG_KNOB_MEMORY_SWAP, text);
			}
		}
	}
	if (l->set & CGLAT_SET_MEMORY_HIGH)
		f->ok = false; /* serve never sets it */
	if (l->set & CGLAT_SET_MEMORY_RESERVATION) {
		mem_text(vm, l->memory_reservation, text, sizeof(text));
		fast_add(f, CG_KNOB_MEMORY_RESERVATION, text);
	}
}

/* quota/period as a fraction, -1 (no quota) infinite (control_plan.c's `ratio_le`). */
static bool ratio_le_u(int64_t q1, int64_t p1, int64_t q2, int64_t p2)
{
	if (q2 < 0)
		return true;
	if (q1 < 0)
		return false;
	return (__int128)q1 * p2 <= (__int128)q2 * p1;
}

static void fast_cpu(struct fast *f, const struct cglat_limits *l)
{
	int vc = f->t->version[CGLAT_CTL_CPU];
	bool set_q = l->set & CGLAT_SET_CPU_QUOTA, set_p = l->set & CGLAT_SET_CPU_PERIOD;
	if (l->set & (CGLAT_SET_CPUS | CGLAT_SET_NICE))
		f->ok = false; /* serve never sets them */
	if (set_q || set_p) {
		int64_t old_q, old_p;
		char q[64], per[32];
		if (!f->c->known[CG_KNOB_CPU_QUOTA] ||
		    cgroup_parse_limit(CG_RES_CPU, vc, f->c->text[CG_KNOB_CPU_QUOTA], &old_q,
		                       &old_p, NULL) < 0) {
			f->ok = false;
			return;
		}
		if (vc == 1 && (!f->c->known[CG_KNOB_CPU_PERIOD] ||
		                units_parse_int(f->c->text[CG_KNOB_CPU_PERIOD], 1, INT64_MAX,
		                                "period", &old_p, NULL) < 0)) {
			f->ok = false;
			return;
		}
		int64_t new_p = set_p ? l->cpu_period : old_p, new_q = set_q ? l->cpu_quota : old_q;
		if (cgroup_format_limit(CG_RES_CPU, vc, new_q, new_p, q, sizeof(q), NULL) < 0) {
			f->ok = false;
			return;
		}
		if (vc == 1) {
			snprintf(per, sizeof(per), "%" PRId64, new_p);
			bool quota_first = set_q && set_p && ratio_le_u(new_q, old_p, old_q, new_p);
			if (quota_first)
				fast_add(f, CG_KNOB_CPU_QUOTA, q);
			if (set_p)
				fast_add(f, CG_KNOB_CPU_PERIOD, per);
			if (set_q && !quota_first)
				fast_add(f, CG_KNOB_CPU_QUOTA, q);
		} else {
			fast_add(f, CG_KNOB_CPU_QUOTA, q);
		}
	}
	if (l->set & (CGLAT_SET_CPU_WEIGHT | CGLAT_SET_CPU_SHARES)) {
		char text[32];
		uint64_t value = units_cpu_weight_file_value(
		        vc, l->set & CGLAT_SET_CPU_SHARES, (uint64_t)l->cpu_shares,
		        l->set & CGLAT_SET_CPU_WEIGHT, (uint64_t)l->cpu_weight);
		snprintf(text, sizeof(text), "%" PRIu64, value);
		fast_add(f, CG_KNOB_CPU_WEIGHT, text);
	}
}

bool su_fast_plan(const struct cglat_target *t, const struct su_kcache *c,
                  const struct cglat_limits *l, struct cglat_plan *p)
{
	struct fast f = {.t = t, .c = c, .p = p, .ok = true};
	p->count = 0;
	p->renice = false;
	p->memory_usage = -1;
	p->tasks_path[0] = '\0';
	p->tasks = 0;
	if (!l->set || !l->force || cglat_limits_check(l, NULL) < 0)
		return false;
	fast_memory(&f, l);
	fast_cpu(&f, l);
	if (l->set & CGLAT_SET_CPUSET_CPUS)
		fast_add(&f, CG_KNOB_CPUSET_CPUS, l->cpuset_cpus);
	if (l->set & CGLAT_SET_CPUSET_MEMS)
		fast_add(&f, CG_KNOB_CPUSET_MEMS, l->cpuset_mems);
	if (l->set & CGLAT_SET_PIDS_MAX) {
		char text[32];
		if (l->pids_max < 0)
			snprintf(text, sizeof(text), "max");
		else
			snprintf(text, sizeof(text), "%" PRId64, l->pids_max);
		fast_add(&f, CG_KNOB_PIDS_MAX, text);
	}
	if (!f.ok)
		p->count = 0;
	return f.ok;
}

/* ===== kernel values per container ========================================================== */

void su_knobs_enforced(struct su_knobs *ks, const struct cglat_plan *p, uint64_t seq,
                       struct su_written *w)
{
	w->n = 0;
	for (size_t i = 0; i < p->count; i++) {
		const struct cglat_write *pw = &p->w[i];
		struct su_knob *k = &ks->k[pw->knob];
		if (!k->known) {
			k->known = true;
			snprintf(k->recorded, sizeof(k->recorded), "%s", pw->restore_text);
		}
		snprintf(k->enforced, sizeof(k->enforced), "%s", pw->new_text);
		k->enforced_seq = seq;
		if (w->n < CGLAT_MAX_WRITES) {
			w->knob[w->n] = pw->knob;
			snprintf(w->text[w->n], sizeof(w->text[0]), "%s", pw->new_text);
			w->n++;
		}
	}
}

static void add_fix(enum cg_knob *fix, size_t *n, enum cg_knob knob)
{
	for (size_t i = 0; i < *n; i++)
		if (fix[i] == knob)
			return;
	if (*n < CG_KNOB_COUNT)
		fix[(*n)++] = knob;
}

size_t su_knobs_recorded(struct su_knobs *ks, const struct su_written *w, uint64_t seq, bool ok,
                         enum cg_knob fix[CG_KNOB_COUNT])
{
	size_t n = 0;
	for (size_t i = 0; i < w->n; i++) {
		struct su_knob *k = &ks->k[w->knob[i]];
		if (ok) {
			snprintf(k->recorded, sizeof(k->recorded), "%s", w->text[i]);
		} else if (k->enforced_seq == seq) {
			/* Docker keeps what it had: so does the kernel. */
			memcpy(k->enforced, k->recorded, sizeof(k->enforced));
			add_fix(fix, &n, w->knob[i]);
		}
	}
	for (int i = 0; i < CG_KNOB_COUNT; i++)
		if (ks->k[i].known && ks->k[i].enforced_seq > seq)
			add_fix(fix, &n, (enum cg_knob)i);
	return n;
}

bool su_supersedes(const struct su_body *newer, const struct su_body *older)
{
	return (older->given & ~newer->given) == 0;
}

/* ===== answers ============================================================================== */

void su_server_defaults(struct su_server *s)
{
	snprintf(s->api_version, sizeof(s->api_version), "1.41");
	snprintf(s->experimental, sizeof(s->experimental), "false");
	snprintf(s->ostype, sizeof(s->ostype), "linux");
	snprintf(s->server, sizeof(s->server), "Docker/20.10 (linux)");
}

/* The value of header `name` in a raw head (up to the empty line). */
static bool head_value(const char *raw, size_t len, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = raw, *end = raw + len;
	const char *stop = memmem(raw, len, "\r\n\r\n", 4);
	if (stop)
		end = stop + 2;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
			const char *v = p + nl + 1;
			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			snprintf(out, cap, "%.*s", (int)(ve - v), v);
			return true;
		}
		p = eol + 1;
	}
	return false;
}

bool su_server_learn(struct su_server *s, const char *raw, size_t len)
{
	struct su_server n = *s;
	if (!head_value(raw, len, "Server", n.server, sizeof(n.server)) ||
	    !head_value(raw, len, "Api-Version", n.api_version, sizeof(n.api_version)))
		return false;
	head_value(raw, len, "Docker-Experimental", n.experimental, sizeof(n.experimental));
	head_value(raw, len, "Ostype", n.ostype, sizeof(n.ostype));
	*s = n;
	return true;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	}
	return "Unknown";
}

char *su_http_response(const struct su_server *s, int status, const char *body, bool close,
                       bool http10, size_t *len)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	gmtime_r(&now, &tm);
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
	const char *conn = http10 ? (close ? "" : "Connection: keep-alive\r\n")
	                          : (close ? "Connection: close\r\n" : "");
	char *out = NULL;
	int n = asprintf(&out,
	                 "HTTP/1.%d %d %s\r\nApi-Version: %s\r\nContent-Type: application/json\r\n"
	                 "Docker-Experimental: %s\r\nOstype: %s\r\nServer: %s\r\nDate: %s\r\n"
	                 "Content-Length: %zu\r\n%s\r\n%s",
	                 http10 ? 0 : 1, status, status_text(status), s->api_version,
	                 s->experimental, s->ostype, s->server, date, strlen(body), conn, body);
	if (n < 0)
		return NULL;
	*len = (size_t)n;
	return out;
}

char *su_error_body(const char *msg)
{
	size_t need = su_json_quote(msg, NULL, 0);
	char *out = malloc(need + 16);
	if (!out)
		return NULL;
	memcpy(out, "{\"message\":", 11);
	su_json_quote(msg, out + 11, need + 1);
	memcpy(out + 11 + need, "}\n", 3);
	return out;
}

char *su_warnings_body(const struct su_warnings *w)
{
	if (!w || w->n == 0)
		return strdup("{\"Warnings\":null}\n");
	size_t need = 16;
	for (size_t i = 0; i < w->n; i++)
		need += su_json_quote(w->w[i], NULL, 0) + 1;
	char *out = malloc(need);
	if (!out)
		return NULL;
	size_t n = (size_t)sprintf(out, "{\"Warnings\":[");
	for (size_t i = 0; i < w->n; i++) {
		if (i)
			out[n++] = ',';
		n += su_json_quote(w->w[i], out + n, need - n);
	}
	snprintf(out + n, need - n, "]}\n");
	return out;
}

/* ---- the client's head ---- */

struct head_parse {
	struct su_head *h;
	char field[64];
	size_t field_len;
	bool in_ct;
	bool done;
};

static int hp_field(http_parser *p, const char *at, size_t n)
{
	struct head_parse *hp = p->data;
	if (hp->in_ct)
		hp->field_len = 0;
	hp->in_ct = false;
	if (hp->field_len + n < sizeof(hp->field)) {
		memcpy(hp->field + hp->field_len, at, n);
		hp->field_len += n;
	} else {
		hp->field_len = sizeof(hp->field); /* too long to be Content-Type */
	}
	return 0;
}

static int hp_value(http_parser *p, const char *at, size_t n)
{
	struct head_parse *hp = p->data;
	bool ct = hp->field_len == 12 && !strncasecmp(hp->field, "Content-Type", 12);
	if (!hp->in_ct && ct) {
		/* Go's Header.Get: the first Content-Type. */
		if (!hp->h->has_content_type) {
			hp->h->has_content_type = true;
			snprintf(hp->h->content_type, sizeof(hp->h->content_type), "%.*s", (int)n,
			         at);
		}
	}
	hp->in_ct = true;
	hp->field_len = 0;
	return 0;
}

static int hp_headers_complete(http_parser *p)
{
	struct head_parse *hp = p->data;
	hp->done = true;
	hp->h->close = !http_should_keep_alive(p);
	hp->h->http10 = p->http_major == 1 && p->http_minor == 0;
	hp->h->chunked = (p->flags & F_CHUNKED) != 0;
	hp->h->post = p->method == HTTP_POST;
	http_parser_pause(p, 1);
	return 0;
}

static bool drop_header(const char *line, size_t n)
{
	static const char *const names[] = {"Content-Length", "Transfer-Encoding", "Expect"};
	for (size_t i = 0; i < NF(names); i++) {
		size_t k = strlen(names[i]);
		if (n > k && line[k] == ':' && !strncasecmp(line, names[i], k))
			return true;
	}
	return false;
}

char *su_forward_head(const char *head, size_t len, size_t body_len, struct su_head *h,
                      size_t *out_len)
{
	memset(h, 0, sizeof(*h));
	struct head_parse hp = {.h = h};
	http_parser p;
	http_parser_settings st = {.on_header_field = hp_field,
	                           .on_header_value = hp_value,
	                           .on_headers_complete = hp_headers_complete};
	http_parser_init(&p, HTTP_REQUEST);
	p.data = &hp;
	http_parser_execute(&p, &st, head, len);
	if (!hp.done)
		return NULL;
	char *out = malloc(2 * len + 64);
	if (!out)
		return NULL;
	size_t n = 0;
	bool dropping = false;
	const char *q = head, *end = head + len;
	bool first = true;
	while (q < end) {
		const char *eol = memchr(q, '\n', (size_t)(end - q));
		size_t ln = eol ? (size_t)(eol - q) + 1 : (size_t)(end - q);
		size_t content = ln;
		while (content && (q[content - 1] == '\n' || q[content - 1] == '\r'))
			content--;
		if (content == 0)
			break; /* the empty line */
		bool cont = !first && (q[0] == ' ' || q[0] == '\t');
		if (!first && !cont)
			dropping = drop_header(q, content);
		if (!dropping || first) {
			memcpy(out + n, q, content);
			n += content;
			out[n++] = '\r';
			out[n++] = '\n';
		}
		first = false;
		q += ln;
	}
	n += (size_t)snprintf(out + n, 64, "Content-Length: %zu\r\n\r\n", body_len);
	*out_len = n;
	return out;
}

bool su_path_version(const char *path, int *major, int *minor)
{
	if (strncmp(path, "/v", 2) != 0)
		return false;
	char *end;
	long a = strtol(path + 2, &end, 10);
	if (end == path + 2 || *end != '.')
		return false;
	char *end2;
	long b = strtol(end + 1, &end2, 10);
	if (end2 == end + 1 || *end2 != '/' || a < 0 || b < 0 || a > 1000 || b > 1000)
		return false;
	*major = (int)a;
	*minor = (int)b;
	return true;
}

/* ===== the machinery ======================================================================== */

#define WORKERS 4
#define SAMPLES 16384 /* percentiles over the last this many updates */
#define CONNECT_TIMEOUT_MS 5000
#define RECORD_TIMEOUT_MS 120000 /* dockerd -> containerd -> runc can take a while */
#define INSPECT_TIMEOUT_MS 30000
#define ANSWER_MAX (16u << 20)
#define CONNECT_TRIES 3 /* records retried when dockerd took no connection */
/* Connections to dockerd kept open between requests. A burst of updates to many
 * containers opens one per record running at once; more than this many are closed as
 * they come back, so that serve's fds go back down after the burst. */
#define POOL_IDLE_MAX 4
#define RETRY_MS 200

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return (int64_t)(now_ns() / 1000000);
}

/* ---- talking to dockerd: the client's bytes out, dockerd's bytes back ---- */

struct upconn {
	struct dh_conn c;
	struct upconn *next;
};

/* dockerd's answer, as it came. */
struct fwd {
	char *raw;
	size_t len, cap;
	char *body; /* NUL-terminated copy of the body */
	size_t body_len, body_cap;
	long status;
	bool keep_alive;
	bool complete, interim, too_big;
	bool sent; /* a byte of the request went out (the outcome is then unknown on error) */
	char err[512];
};

static void fwd_free(struct fwd *f)
{
	free(f->raw);
	free(f->body);
	memset(f, 0, sizeof(*f));
}

static int fp_headers(http_parser *p)
{
	struct fwd *f = p->data;
	f->status = p->status_code;
	return 0;
}

static int fp_body(http_parser *p, const char *at, size_t n)
{
	struct fwd *f = p->data;
	if (p->status_code < 200)
		return 0;
	if (f->body_len + n + 1 > ANSWER_MAX) {
		f->too_big = true;
		return -1;
	}
	if (f->body_len + n + 1 > f->body_cap) {
		size_t cap = f->body_cap ? f->body_cap : 1024;
		while (cap < f->body_len + n + 1)
			cap *= 2;
		char *b = realloc(f->body, cap);
		if (!b)
			return -1;
		f->body = b;
		f->body_cap = cap;
	}
	memcpy(f->body + f->body_len, at, n);
	f->body_len += n;
	f->body[f->body_len] = '\0';
	return 0;
}

static int fp_complete(http_parser *p)
{
	struct fwd *f = p->data;
	if (p->status_code < 200)
		f->interim = true; /* 100 Continue and the like: the answer follows */
	else {
		f->complete = true;
		f->keep_alive = http_should_keep_alive(p) != 0;
	}
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings fwd_settings = {
        .on_headers_complete = fp_headers,
        .on_body = fp_body,
        .on_message_complete = fp_complete,
};

static bool raw_add(struct fwd *f, const char *data, size_t n)
{
	if (f->len + n > ANSWER_MAX)
		return false;
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 4096;
		while (cap < f->len + n)
			cap *= 2;
		char *r = realloc(f->raw, cap);
		if (!r)
			return false;
		f->raw = r;
		f->cap = cap;
	}
	memcpy(f->raw + f->len, data, n);
	f->len += n;
	return true;
}

/* Feeds bytes (n == 0: dockerd closed); 1 when the answer is whole, 0 for more, -1. */
static int fwd_feed(http_parser *p, struct fwd *f, const char *data, size_t n)
{
	if (n == 0) {
		http_parser_execute(p, &fwd_settings, NULL, 0);
		if (f->complete)
			return 1;
		snprintf(f->err, sizeof(f->err), "dockerd closed the connection %s",
		         f->len ? "in the middle of its answer" : "without answering");
		return -1;
	}
	size_t off = 0;
	while (off < n) {
		size_t done = http_parser_execute(p, &fwd_settings, data + off, n - off);
		if (!raw_add(f, data + off, done)) {
			snprintf(f->err, sizeof(f->err), "dockerd's answer is larger than %u MiB",
			         ANSWER_MAX >> 20);
			return -1;
		}
		off += done;
		if (f->complete) {
			if (off < n)
				f->keep_alive = false; /* bytes after the answer: start afresh */
			return 1;
		}
		if (f->interim) {
			f->interim = false;
			f->len = 0;
			http_parser_pause(p, 0);
			continue;
		}
		enum http_errno e = HTTP_PARSER_ERRNO(p);
		if (e != HPE_OK) {
			snprintf(f->err, sizeof(f->err), "dockerd's answer is not HTTP: %s",
			         f->too_big ? "too large" : http_errno_description(e));
			return -1;
		}
	}
	return 0;
}

static bool idle_open(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 0) == 0;
}

/* One exchange on c: the whole request out, the whole answer in. */
static int exchange(struct dh_conn *c, const char *head, size_t hlen, const char *body, size_t blen,
                    int timeout_ms, struct fwd *f)
{
	http_parser p;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = f;
	int64_t deadline = now_ms() + timeout_ms;
	size_t sent = 0, total = hlen + blen;
	char buf[16384];
	for (;;) {
		while (sent < total) {
			const char *src = sent < hlen ? head + sent : body + (sent - hlen);
			size_t n = sent < hlen ? hlen - sent : total - sent;
			ssize_t w = send(c->fd, src, n, MSG_NOSIGNAL);
			if (w > 0) {
				sent += (size_t)w;
				f->sent = true;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				sent = total; /* read what dockerd said, if anything */
				break;
			}
			snprintf(f->err, sizeof(f->err), "sending to dockerd at %s: %s", c->sock,
			         strerror(errno));
			return -1;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			snprintf(f->err, sizeof(f->err), "dockerd at %s did not answer within %d s",
			         c->sock, timeout_ms / 1000);
			return -1;
		}
		struct pollfd pfd = {.fd = c->fd,
		                     .events = (short)(POLLIN | (sent < total ? POLLOUT : 0))};
		int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno != EINTR) {
			snprintf(f->err, sizeof(f->err), "poll: %s", strerror(errno));
			return -1;
		}
		if (pr <= 0 || !(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		for (;;) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0 && errno != ECONNRESET) {
				snprintf(f->err, sizeof(f->err), "reading dockerd's answer: %s",
				         strerror(errno));
				return -1;
			}
			int rc = fwd_feed(&p, f, buf, n > 0 ? (size_t)n : 0);
			if (rc < 0)
				return -1;
			if (rc == 1) {
				if (sent < total)
					f->keep_alive = false;
				return 0;
			}
			if (n <= 0)
				return -1;
		}
	}
}

struct serve_updates;
static struct upconn *conn_get(struct serve_updates *u);
static void conn_put(struct serve_updates *u, struct upconn *uc, bool keep);

/* A request to dockerd on a connection of the pool; dockerd closing a kept connection
 * just then costs one more try on a new one. f->err says why on -1. */
static int upstream(struct serve_updates *u, const char *head, size_t hlen, const char *body,
                    size_t blen, int timeout_ms, struct fwd *f)
{
	memset(f, 0, sizeof(*f));
	struct upconn *uc = conn_get(u);
	if (!uc) {
		snprintf(f->err, sizeof(f->err), "out of memory");
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		bool reused = uc->c.fd >= 0;
		if (reused && !idle_open(uc->c.fd)) {
			dh_disconnect(&uc->c);
			reused = false;
		}
		struct cg_err err = {{0}};
		if (!reused && dh_connect(&uc->c, &err) < 0) {
			snprintf(f->err, sizeof(f->err), "%s", err.msg);
			conn_put(u, uc, false);
			return -1;
		}
		int rc = exchange(&uc->c, head, hlen, body, blen, timeout_ms, f);
		if (rc == 0) {
			conn_put(u, uc, f->keep_alive);
			return 0;
		}
		dh_disconnect(&uc->c);
		bool nothing = f->len == 0;
		if (!reused || !nothing || attempt > 0) {
			conn_put(u, uc, false);
			return -1;
		}
		/* The request may have reached dockerd before it closed: that stays known
		 * (f->sent) whatever the second try does, so that the outcome is taken as
		 * unknown when it fails too. */
		bool sent = f->sent;
		fwd_free(f);
		f->sent = sent;
	}
}

/* ---- the cache of containers ---- */

struct job {
	struct job *next;
	uint64_t seq;
	char *head, *body;
	size_t head_len, body_len;
	struct su_body b;
	struct su_written w;
	bool wrote;
	uint64_t received_ns, enforced_ns;
	char fields[300];
	/* a handler waits for it (a container that is not running, in enforce mode) */
	bool wait, done;
	struct fwd res;
	int rc;
};

struct entry {
	struct entry *next;
	int refs;     /* under u->mu */
	bool indexed; /* in the table, under u->mu */
	char id[65];
	char name[256]; /* under u->mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* everything below under mu */
	uint64_t ticket_next, ticket_now; /* arrival order */
	bool known;                       /* inspected at least once */
	bool limits_stale, target_stale;
	struct su_container_info info; /* info.rec: Docker's record as dockerd holds it */
	struct su_record expected;     /* ... with the queued records in */
	struct cglat_target *t;
	struct cglat_files *files; /* t's limit files, kept open between updates (the turn) */
	struct su_kcache kc;       /* what t's files hold, as serve last read or wrote them */
	struct cglat_plan *plan;   /* the update holding the turn plans here */
	struct su_knobs ks;
	int expect_events; /* "update" events our records will cause */
	uint64_t seq;
	struct job *q_head, *q_tail;
	size_t q_len;
	bool busy; /* a worker has it, or it waits for one */
	struct entry *ready_next;
	bool refresh_queued; /* under u->mu: waits for the refresher */
	struct entry *refresh_next;
};

static void job_free(struct job *j);

struct ring {
	int64_t *v;
	size_t n, next;
};

struct serve_updates {
	struct serve_config cfg;
	char sock[108];
	struct su_host host;
	pthread_mutex_t mu; /* the table */
	struct entry *entries;
	uint64_t unknown_gen; /* events about containers not in the table */
	/* the pool of connections to dockerd */
	pthread_mutex_t pool_mu;
	struct upconn *pool;
	size_t pool_len;
	/* records waiting for a worker */
	pthread_mutex_t rmu;
	pthread_cond_t rcv;
	struct entry *ready_head, *ready_tail;
	bool stopping;
	pthread_t workers[WORKERS];
	size_t nworkers;
	/* the events stream */
	pthread_t events;
	bool events_started;
	/* entries an event made stale, refreshed in the background (under mu) */
	pthread_t refresher;
	bool refresher_started, refresher_stop;
	pthread_cond_t refresh_cv;
	struct entry *refresh_head, *refresh_tail;
	int stop_pipe[2];
	pthread_mutex_t emu;
	pthread_cond_t ecv;
	bool events_up;
	/* statistics, under smu */
	pthread_mutex_t smu;
	struct su_server server;
	bool server_learnt;
	struct su_counts counts;
	struct ring enforced_ns, recorded_ns;
};

static struct upconn *conn_get(struct serve_updates *u)
{
	pthread_mutex_lock(&u->pool_mu);
	struct upconn *uc = u->pool;
	if (uc) {
		u->pool = uc->next;
		u->pool_len--;
	}
	pthread_mutex_unlock(&u->pool_mu);
	if (!uc && (uc = calloc(1, sizeof(*uc))))
		dh_init(&uc->c, u->sock, CONNECT_TIMEOUT_MS, RECORD_TIMEOUT_MS, ANSWER_MAX);
	return uc;
}

static void conn_put(struct serve_updates *u, struct upconn *uc, bool keep)
{
	if (!keep)
		dh_disconnect(&uc->c);
	pthread_mutex_lock(&u->pool_mu);
	bool full = u->pool_len >= POOL_IDLE_MAX;
	if (!full) {
		uc->next = u->pool;
		u->pool = uc;
		u->pool_len++;
	}
	pthread_mutex_unlock(&u->pool_mu);
	if (full) {
		dh_free(&uc->c);
		free(uc);
	}
}

static void ring_add(struct ring *r, int64_t v)
{
	if (!r->v)
		return;
	r->v[r->next] = v;
	r->next = (r->next + 1) % SAMPLES;
	if (r->n < SAMPLES)
		r->n++;
}

static void count(struct serve_updates *u, uint64_t *field, uint64_t by)
{
	pthread_mutex_lock(&u->smu);
	*field += by;
	pthread_mutex_unlock(&u->smu);
}

#define COUNT(u, f, n) count((u), &(u)->counts.f, (n))

static void vlog(struct serve_updates *u, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void vlog(struct serve_updates *u, const char *fmt, ...)
{
	if (!u->cfg.verbose)
		return;
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "cglat serve: %s\n", line);
}

/* Is the /events stream subscribed? While it is not (dockerd restarting, say), an event
 * may be missed at any moment, so nothing cached is taken as current. */
static bool events_current(struct serve_updates *u)
{
	pthread_mutex_lock(&u->emu);
	bool up = u->events_up;
	pthread_mutex_unlock(&u->emu);
	return up;
}

static void entry_free(struct entry *e)
{
	for (struct job *j = e->q_head, *next; j; j = next) {
		next = j->next;
		free(j->head);
		free(j->body);
		fwd_free(&j->res);
		free(j);
	}
	cglat_target_close(e->t);
	cglat_files_close(e->files);
	free(e->plan);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
}

static void unref(struct serve_updates *u, struct entry *e)
{
	pthread_mutex_lock(&u->mu);
	bool gone = --e->refs == 0 && !e->indexed;
	pthread_mutex_unlock(&u->mu);
	if (gone)
		entry_free(e);
}

/* Under u->mu: an entry of the table by full id, or by name. */
static struct entry *find(struct serve_updates *u, const char *ref, bool by_name)
{
	for (struct entry *e = u->entries; e; e = e->next)
		if (by_name ? !strcmp(e->name, ref) : !strcmp(e->id, ref))
			return e;
	return NULL;
}

static void unlink_entry(struct serve_updates *u, struct entry *e)
{
	for (struct entry **pp = &u->entries; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	e->indexed = false;
}

/* GET /containers/{ref}/json: 0 with info, or -1 with the answer to give (dockerd's
 * error, or 502 when it cannot be reached). */
static int inspect(struct serve_updates *u, const char *ref, struct su_container_info *info,
                   struct su_error *e)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "GET /containers/%s/json HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                 "cglat/" CGLAT_VERSION "\r\n\r\n",
	                 ref);
	struct fwd f;
	int rc = -1;
	if (upstream(u, head, (size_t)n, NULL, 0, INSPECT_TIMEOUT_MS, &f) < 0) {
		su_errf(e, 502, "cglat serve cannot reach dockerd to look up container %s: %s", ref,
		        f.err);
	} else if (f.status < 200 || f.status > 299) {
		json_t *j = f.body ? json_loads(f.body, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(j, "message"));
		su_errf(e, (int)f.status, "%s", m ? m : "dockerd refused to inspect the container");
		json_decref(j);
	} else {
		struct cg_err err;
		if (su_parse_inspect(f.body, info, &err) == 0)
			rc = 0;
		else
			su_errf(e, 502, "cglat serve: %s", err.msg);
	}
	fwd_free(&f);
	return rc;
}

/* The cgroups of a running container, from its process (no request to dockerd). */
static struct cglat_target *open_target(const struct su_container_info *info)
{
	struct cglat_target *t = NULL;
	struct cg_err err = {{0}};
	if (!info->running || info->pid <= 0)
		return NULL;
	struct cglat_target_spec spec = {.kind = CGLAT_TARGET_PID, .pid = info->pid};
	if (cglat_target_open(&spec, &t, &err) < 0)
		return NULL; /* it stopped meanwhile: treated as not running */
	return t;
}

static struct entry *entry_new(const struct su_container_info *info)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->plan = malloc(sizeof(*e->plan)))) {
		free(e);
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	snprintf(e->id, sizeof(e->id), "%s", info->id);
	snprintf(e->name, sizeof(e->name), "%s", info->name);
	e->info = *info;
	e->expected = info->rec;
	e->known = true;
	e->indexed = true;
	return e;
}

/* The entry of ref with a reference held: a cached full id or name, else what dockerd
 * resolves ref to (a name, an id or an id prefix, as for the update itself). */
static struct entry *lookup(struct serve_updates *u, const char *ref, char *name_out,
                            size_t name_cap, struct su_error *e)
{
	/* Without the events stream a name may have moved to another container: dockerd
	 * is asked, and the cache answers only when dockerd cannot be reached (the record
	 * then fails too, and what was written is put back). */
	bool ask = !events_current(u);
	pthread_mutex_lock(&u->mu);
	struct entry *en = strlen(ref) == 64 ? find(u, ref, false) : NULL;
	if (!en)
		en = find(u, ref, true);
	if (en && !ask) {
		en->refs++;
		snprintf(name_out, name_cap, "%s", en->name);
		pthread_mutex_unlock(&u->mu);
		return en;
	}
	bool cached = en != NULL;
	uint64_t gen = u->unknown_gen;
	pthread_mutex_unlock(&u->mu);
	struct su_container_info *info = malloc(sizeof(*info));
	if (!info) {
		su_errf(e, 500, "out of memory");
		return NULL;
	}
	if (inspect(u, ref, info, e) < 0) {
		free(info);
		if (!cached || e->status != 502)
			return NULL;
		pthread_mutex_lock(&u->mu); /* dockerd unreachable: the cache it is */
		en = strlen(ref) == 64 ? find(u, ref, false) : NULL;
		if (!en)
			en = find(u, ref, true);
		if (en) {
			en->refs++;
			snprintf(name_out, name_cap, "%s", en->name);
		}
		pthread_mutex_unlock(&u->mu);
		return en;
	}
	struct cglat_target *t = open_target(info);
	if (!t)
		info->running = false;
	pthread_mutex_lock(&u->mu);
	en = find(u, info->id, false);
	if (!en && (en = entry_new(info))) {
		/* an event about it may have come while dockerd answered */
		en->limits_stale = en->target_stale = gen != u->unknown_gen;
		en->t = t;
		if (t)
			su_kcache_fill(&en->kc, t);
		t = NULL;
		en->next = u->entries;
		u->entries = en;
	}
	cglat_target_close(t);
	if (en) {
		en->refs++;
		snprintf(name_out, name_cap, "%s", en->name);
	}
	pthread_mutex_unlock(&u->mu);
	free(info);
	if (!en)
		su_errf(e, 500, "out of memory");
	return en;
}

/* ---- order ---- */

static void turn_take(struct entry *e)
{
	pthread_mutex_lock(&e->mu);
	uint64_t mine = e->ticket_next++;
	while (e->ticket_now != mine)
		pthread_cond_wait(&e->cv, &e->mu);
	pthread_mutex_unlock(&e->mu);
}

static void turn_give(struct entry *e)
{
	pthread_mutex_lock(&e->mu);
	e->ticket_now++;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
}

/* Under e->mu: waits until no record is queued or running. */
static void drain(struct entry *e)
{
	while (e->busy || e->q_len)
		pthread_cond_wait(&e->cv, &e->mu);
}

/* With the turn held: the record and the cgroup as dockerd has them now, when an event
 * (or a lost one, or no events stream) says they may have changed. Queued records go
 * first. */
static int refresh(struct serve_updates *u, struct entry *e, struct su_error *err)
{
	bool current = events_current(u);
	pthread_mutex_lock(&e->mu);
	bool known_stale = e->limits_stale || e->target_stale;
	bool stale = known_stale || !current;
	if (stale)
		drain(e);
	pthread_mutex_unlock(&e->mu);
	if (!stale)
		return 0;
	struct su_container_info *info = malloc(sizeof(*info));
	if (!info) {
		su_errf(err, 500, "out of memory");
		return -1;
	}
	if (inspect(u, e->id, info, err) < 0) {
		free(info);
		/* Stale only for want of the events stream, and dockerd cannot be reached: the
		 * cache is all there is (the record fails too, and the files are put back). */
		return !known_stale && err->status == 502 ? 0 : -1;
	}
	struct cglat_target *t = open_target(info);
	pthread_mutex_lock(&u->mu);
	snprintf(e->name, sizeof(e->name), "%s", info->name);
	pthread_mutex_unlock(&u->mu);
	pthread_mutex_lock(&e->mu);
	e->info = *info;
	if (!t)
		e->info.running = false;
	e->expected = info->rec;
	cglat_target_close(e->t);
	e->t = t;
	cglat_files_close(e->files); /* the cgroup may be another one now */
	e->files = NULL;
	memset(&e->kc, 0, sizeof(e->kc));
	if (t)
		su_kcache_fill(&e->kc, t);
	memset(&e->ks, 0, sizeof(e->ks));
	e->limits_stale = e->target_stale = false;
	e->expect_events = 0;
	pthread_mutex_unlock(&e->mu);
	free(info);
	return 0;
}

/* ---- writing ---- */

/* One file, through the library (a plan of one write: no rollback between files). */
static bool write_one(enum cg_knob knob, int version, const char *path, size_t beneath,
                      const char *text, struct cg_err *err)
{
	struct cglat_plan *p = calloc(1, sizeof(*p));
	struct cglat_apply_result r;
	if (!p)
		return false;
	p->count = 1;
	p->w[0].knob = knob;
	p->w[0].version = version;
	p->w[0].file = cgroup_knob_file(knob, version);
	snprintf(p->w[0].path, sizeof(p->w[0].path), "%s", path);
	p->w[0].beneath = beneath;
	snprintf(p->w[0].new_text, sizeof(p->w[0].new_text), "%s", text);
	snprintf(p->w[0].restore_text, sizeof(p->w[0].restore_text), "%s", text);
	bool ok = cglat_limits_apply(p, 0, &r, err) == 0;
	free(p);
	return ok;
}

/* Writes the files of a plan back to their old values, newest first; a value the kernel
 * refuses in that order (memory above memory+swap) is tried again after the others. */
static size_t put_back(const struct cglat_plan *p, struct su_kcache *kc, char *why, size_t cap)
{
	bool done[CGLAT_MAX_WRITES] = {0};
	size_t failed = 0;
	why[0] = '\0';
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = p->count; i-- > 0;) {
			const struct cglat_write *w = &p->w[i];
			struct cg_err err = {{0}};
			if (done[i])
				continue;
			if (write_one(w->knob, w->version, w->path, w->beneath, w->restore_text,
			              &err)) {
				done[i] = true;
				su_kcache_set(kc, w->knob, w->restore_text);
			} else if (pass == 1) {
				failed++;
				kc->known[w->knob] = false;
				snprintf(why, cap, "%s", err.msg);
			}
		}
	return failed;
}

/* Under e->mu: the fixes after a record (su_knobs_recorded), twice for order. */
static void write_fixes(struct entry *e, const enum cg_knob *fix, size_t n)
{
	bool done[CG_KNOB_COUNT] = {0};
	for (int pass = 0; pass < 2 && e->t; pass++)
		for (size_t i = 0; i < n; i++) {
			char path[CGLAT_PATH_MAX];
			int v;
			size_t beneath;
			if (done[i] || !knob_path(e->t, fix[i], path, sizeof(path), &v, &beneath))
				continue;
			done[i] =
			        write_one(fix[i], v, path, beneath, e->ks.k[fix[i]].enforced, NULL);
			if (done[i])
				su_kcache_set(&e->kc, fix[i], e->ks.k[fix[i]].enforced);
			else if (pass == 1)
				e->kc.known[fix[i]] = false;
		}
}

/* ---- one update ---- */

static void fields_text(const struct su_body *b, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int f = 0; f < SU_F_COUNT; f++)
		if (b->given & (UINT64_C(1) << f))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "",
			                      su_field_name((enum su_field)f));
	if (!out[0])
		snprintf(out, cap, "(no field)");
}

static void set_response(struct serve_updates *u, struct serve_response *resp, int status,
                         const char *body, const struct su_head *h)
{
	struct su_server s;
	pthread_mutex_lock(&u->smu);
	s = u->server;
	pthread_mutex_unlock(&u->smu);
	resp->raw = su_http_response(&s, status, body ? body : "", h->close, h->http10, &resp->len);
	resp->close = h->close;
}

static void error_response(struct serve_updates *u, struct serve_response *resp,
                           const struct su_error *e, const struct su_head *h)
{
	char *body = su_error_body(e->msg);
	set_response(u, resp, e->status, body, h);
	free(body);
}

static void learn_server(struct serve_updates *u, const struct fwd *f)
{
	pthread_mutex_lock(&u->smu);
	if (!u->server_learnt && f->raw)
		u->server_learnt = su_server_learn(&u->server, f->raw, f->len);
	pthread_mutex_unlock(&u->smu);
}

/* dockerd's answer handed back as it came. */
static void raw_response(struct serve_updates *u, struct serve_response *resp, struct fwd *f,
                         const struct su_head *h)
{
	learn_server(u, f);
	resp->raw = f->raw;
	resp->len = f->len;
	resp->close = h->close || !f->keep_alive;
	f->raw = NULL;
}

/* "Cannot update container <id>: runc did not terminate successfully: ...": how dockerd
 * words what runc refused. */
static void runc_error(struct su_error *e, const char *id, const char *msg)
{
	char m[SU_MSG_MAX];
	snprintf(m, sizeof(m), "%s", msg);
	su_errf(e, 500,
	        "Cannot update container %s: runc did not terminate successfully: exit status 1: "
	        "%s\n: unknown",
	        id, m);
}

static void ns_to_us(uint64_t ns, char *out, size_t cap)
{
	snprintf(out, cap, "%" PRIu64 ".%01" PRIu64, ns / 1000, ns % 1000 / 100);
}

/* The record of a job in dockerd: forwarded with retries while dockerd takes no
 * connection; then Docker's record and the kernel's files brought to agree. Returns 0
 * when dockerd recorded it (2xx). */
static int record(struct serve_updates *u, struct entry *e, struct job *j, bool enforce_mode)
{
	pthread_mutex_lock(&e->mu);
	e->expect_events++;
	pthread_mutex_unlock(&e->mu);
	int rc;
	for (int attempt = 0;; attempt++) {
		fwd_free(&j->res);
		rc = upstream(u, j->head, j->head_len, j->body, j->body_len, RECORD_TIMEOUT_MS,
		              &j->res);
		if (rc == 0 || j->res.sent || attempt + 1 >= CONNECT_TRIES || !enforce_mode)
			break;
		struct timespec ts = {0, RETRY_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	uint64_t rec_ns = now_ns();
	bool ok = rc == 0 && j->res.status >= 200 && j->res.status <= 299;
	if (rc == 0)
		learn_server(u, &j->res);
	pthread_mutex_lock(&e->mu);
	if (!ok) {
		e->expect_events--;
		if (rc < 0 && j->res.sent)
			e->limits_stale = true; /* dockerd may have taken it: look again */
	}
	if (ok) {
		struct su_error ignored;
		su_merge(&j->b, e->id, &e->info.rec, &ignored);
	} else {
		/* Docker keeps its record: expected is that plus the records still queued. */
		e->expected = e->info.rec;
		for (struct job *q = e->q_head; q; q = q->next) {
			struct su_error ignored;
			su_merge(&q->b, e->id, &e->expected, &ignored);
		}
	}
	size_t nfix = 0;
	if (enforce_mode) {
		enum cg_knob fix[CG_KNOB_COUNT];
		nfix = su_knobs_recorded(&e->ks, &j->w, j->seq, ok, fix);
		write_fixes(e, fix, nfix);
	}
	pthread_mutex_unlock(&e->mu);
	pthread_mutex_lock(&u->smu);
	if (ok) {
		u->counts.recorded++;
		ring_add(&u->recorded_ns, (int64_t)(rec_ns - j->received_ns));
	} else {
		u->counts.failed_records++;
		if (enforce_mode && j->wrote)
			u->counts.rolled_back++;
	}
	pthread_mutex_unlock(&u->smu);
	if (u->cfg.verbose && enforce_mode) {
		char a[32], b[32];
		ns_to_us(j->enforced_ns - j->received_ns, a, sizeof(a));
		ns_to_us(rec_ns - j->received_ns, b, sizeof(b));
		if (ok)
			vlog(u,
			     "update %.12s %s: received -> enforced %s us -> recorded %s us (%ld)",
			     e->id, j->fields, j->wrote ? a : "-", b, j->res.status);
		else
			vlog(u,
			     "update %.12s %s: received -> enforced %s us -> record FAILED after "
			     "%s "
			     "us: %s; the files follow Docker's record (%zu rewritten)",
			     e->id, j->fields, j->wrote ? a : "-", b,
			     rc < 0 ? j->res.err
			            : (j->res.body && *j->res.body ? j->res.body : "refused"),
			     nfix);
	}
	return ok ? 0 : -1;
}

/* A worker: the records of one container at a time, in order. */
static void *worker_main(void *arg)
{
	struct serve_updates *u = arg;
	for (;;) {
		pthread_mutex_lock(&u->rmu);
		while (!u->ready_head && !u->stopping)
			pthread_cond_wait(&u->rcv, &u->rmu);
		struct entry *e = u->ready_head;
		if (!e) {
			pthread_mutex_unlock(&u->rmu);
			return NULL;
		}
		u->ready_head = e->ready_next;
		if (!u->ready_head)
			u->ready_tail = NULL;
		pthread_mutex_unlock(&u->rmu);
		for (;;) {
			pthread_mutex_lock(&e->mu);
			struct job *j = e->q_head;
			if (!j) {
				e->busy = false;
				pthread_cond_broadcast(&e->cv);
				pthread_mutex_unlock(&e->mu);
				break;
			}
			e->q_head = j->next;
			if (!e->q_head)
				e->q_tail = NULL;
			if (!j->wait && j->next && su_supersedes(&j->next->b, &j->b)) {
				/* the next record says all this one would: one record for both */
				e->q_len--;
				pthread_mutex_unlock(&e->mu);
				pthread_mutex_lock(&u->smu);
				u->counts.coalesced++;
				u->counts.pending--;
				pthread_mutex_unlock(&u->smu);
				vlog(u,
				     "update %.12s %s: recorded with the next update (it gives the "
				     "same "
				     "fields)",
				     e->id, j->fields);
				job_free(j);
				unref(u, e);
				continue;
			}
			pthread_mutex_unlock(&e->mu);
			j->rc = record(u, e, j, true);
			pthread_mutex_lock(&e->mu);
			e->q_len--;
			pthread_mutex_unlock(&e->mu);
			COUNT(u, pending, (uint64_t)-1);
			if (j->wait) {
				pthread_mutex_lock(&e->mu);
				j->done = true;
				pthread_cond_broadcast(&e->cv);
				pthread_mutex_unlock(&e->mu);
			} else {
				job_free(j);
			}
			unref(u, e);
		}
	}
}

/* Under e->mu: a job at the end of the container's queue (it holds a reference). */
static void enqueue(struct serve_updates *u, struct entry *e, struct job *j)
{
	j->next = NULL;
	if (e->q_tail)
		e->q_tail->next = j;
	else
		e->q_head = j;
	e->q_tail = j;
	e->q_len++;
	COUNT(u, pending, 1);
	if (!e->busy) {
		e->busy = true;
		pthread_mutex_lock(&u->rmu);
		e->ready_next = NULL;
		if (u->ready_tail)
			u->ready_tail->ready_next = e;
		else
			u->ready_head = e;
		u->ready_tail = e;
		pthread_cond_signal(&u->rcv);
		pthread_mutex_unlock(&u->rmu);
	}
}

/* Is the Content-Type Go's mime.ParseMediaType would call application/json? */
static bool json_content_type(const char *ct)
{
	size_t n = strcspn(ct, ";");
	while (n && isspace((unsigned char)ct[n - 1]))
		n--;
	while (n && isspace((unsigned char)*ct)) {
		ct++;
		n--;
	}
	return n == 16 && !strncasecmp(ct, "application/json", 16);
}

/* Reads what runc's checks on v1 need: the memory limits the kernel holds now. */
static void kernel_memory(const struct cglat_target *t, const struct su_kcache *kc,
                          struct su_cgroups *cg)
{
	char path[CGLAT_PATH_MAX], text[64];
	int v;
	cg->memory_now = cg->memsw_now = -1;
	if (kc->known[CG_KNOB_MEMORY_MAX] &&
	    cgroup_parse_limit(CG_RES_MEMORY, 1, kc->text[CG_KNOB_MEMORY_MAX], &cg->memory_now,
	                       NULL, NULL) == 0) {
		if (!kc->known[CG_KNOB_MEMORY_SWAP])
			cg->memsw_now = -2;
		else if (cgroup_parse_limit(CG_RES_MEMORY, 1, kc->text[CG_KNOB_MEMORY_SWAP],
		                            &cg->memsw_now, NULL, NULL) < 0)
			cg->memsw_now = -1;
		return;
	}
	if (cglat_target_path(t, CG_KNOB_MEMORY_MAX, path, sizeof(path), &v, NULL) == 0 &&
	    cgroup_read_file(path, text, sizeof(text), NULL) == 0)
		cgroup_parse_limit(CG_RES_MEMORY, v, text, &cg->memory_now, NULL, NULL);
	if (cglat_target_path(t, CG_KNOB_MEMORY_SWAP, path, sizeof(path), &v, NULL) < 0)
		cg->memsw_now = -2;
	else if (cgroup_read_file(path, text, sizeof(text), NULL) == 0)
		cgroup_parse_limit(CG_RES_MEMORY, v, text, &cg->memsw_now, NULL, NULL);
}

struct update {
	struct serve_updates *u;
	const struct serve_request *req;
	struct serve_response *resp;
	struct su_head h;
	char *fhead;
	size_t fhead_len;
	struct su_body *b;
	char name[256];
	char fields[300];
	struct su_error err;
	struct su_warnings warn;
};

static void refuse(struct update *up)
{
	COUNT(up->u, refused, 1);
	error_response(up->u, up->resp, &up->err, &up->h);
	vlog(up->u, "update %s %s: refused (%d): %s", up->req->container, up->fields,
	     up->err.status, up->err.msg);
}

/* Passed to dockerd as it is (not a POST, or an API version serve does not speak):
 * dockerd answers. */
static void pass_through(struct update *up)
{
	struct fwd f;
	if (upstream(up->u, up->fhead, up->fhead_len, up->req->body, up->req->body_len,
	             RECORD_TIMEOUT_MS, &f) < 0) {
		su_errf(&up->err, 502, "cglat serve cannot reach dockerd: %s", f.err);
		error_response(up->u, up->resp, &up->err, &up->h);
	} else {
		raw_response(up->u, up->resp, &f, &up->h);
	}
	fwd_free(&f);
}

static struct job *job_new(struct update *up, uint64_t seq)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->head = malloc(up->fhead_len);
	j->body = malloc(up->req->body_len + 1);
	if (!j->head || !j->body) {
		free(j->head);
		free(j->body);
		free(j);
		return NULL;
	}
	memcpy(j->head, up->fhead, up->fhead_len);
	j->head_len = up->fhead_len;
	if (up->req->body_len)
		memcpy(j->body, up->req->body, up->req->body_len);
	j->body_len = up->req->body_len;
	j->b = *up->b;
	j->seq = seq;
	j->received_ns = up->req->received_ns;
	snprintf(j->fields, sizeof(j->fields), "%s", up->fields);
	return j;
}

#define ENFORCE_GONE (-2)

/* Has the process serve knows as the container's ended (it stopped or was removed, and
 * the event saying so is still on its way)? */
static bool process_gone(pid_t pid)
{
	return pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH);
}

/* With the turn held, under e->mu: dockerd's checks, then the writes. 1 when files were
 * written (plan filled), 0 when nothing is to be written, -1 refused (up->err),
 * ENFORCE_GONE when a write failed and the container's process is gone (up->err as for
 * -1). */
static int enforce(struct update *up, struct entry *e, struct su_record *merged,
                   struct cglat_plan *plan, struct cglat_apply_result *res)
{
	struct serve_updates *u = up->u;
	if (su_verify(up->b, &u->host, &up->warn, &up->err) < 0)
		return -1;
	fields_text(up->b, up->fields, sizeof(up->fields));
	*merged = e->expected;
	if (su_merge(up->b, e->id, merged, &up->err) < 0)
		return -1;
	if (!e->info.running || e->info.restarting || !e->t)
		return 0; /* dockerd only records it; runc applies it at the next start */
	struct su_cgroups cg = {.t = e->t,
	                        .v_memory = e->t->version[CGLAT_CTL_MEMORY],
	                        .v_cpu = e->t->version[CGLAT_CTL_CPU],
	                        .memory_now = -1,
	                        .memsw_now = -1};
	if (cg.v_memory == 1 && (up->b->memory || up->b->memory_swap > 0))
		kernel_memory(e->t, &e->kc, &cg);
	struct cglat_limits l;
	if (su_runc_limits(up->b, &e->expected, &cg, &l, &up->err) < 0) {
		runc_error(&up->err, e->id, up->err.msg);
		return -1;
	}
	if (!l.set)
		return 0;
	/* The old values are the ones serve knows (it wrote them, or read them when the
	 * container started); the library plans from the files when one is not known, and
	 * when a write with the known values fails (someone else wrote a file meanwhile). */
	struct cg_err cerr = {{0}};
	bool fast = su_fast_plan(e->t, &e->kc, &l, plan);
	for (;;) {
		if (!fast && cglat_limits_plan(e->t, &l, plan, &cerr) < 0) {
			runc_error(&up->err, e->id, cerr.msg);
			return process_gone(e->info.pid) ? ENFORCE_GONE : -1;
		}
		if (!e->files)
			e->files = cglat_files_new(); /* NULL: each apply opens its files */
		if (cglat_limits_apply_kept(plan, 0, e->files, res, &cerr) == 0)
			break;
		if (fast) {
			su_kcache_fill(&e->kc, e->t);
			fast = false;
			continue;
		}
		if (res->restore_failed)
			su_kcache_fill(&e->kc, e->t);
		char m[SU_MSG_MAX];
		su_runc_write_error(plan, res, cerr.msg, m, sizeof(m));
		runc_error(&up->err, e->id, m);
		return process_gone(e->info.pid) ? ENFORCE_GONE : -1;
	}
	for (size_t i = 0; i < plan->count; i++)
		su_kcache_set(&e->kc, plan->w[i].knob, plan->w[i].new_text);
	return 1;
}

/* refresh() for an update: a container removed meanwhile is "No such container" with
 * the name the client gave, as dockerd says it. */
static int refresh_for(struct update *up, struct entry *e)
{
	if (refresh(up->u, e, &up->err) == 0)
		return 0;
	if (up->err.status == 404)
		su_errf(&up->err, 404, "No such container: %s", up->req->container);
	return -1;
}

/* With the turn held: enforce(), and once more after looking at the container again
 * when its process turned out to be gone: dockerd then answers for the container as it
 * is now (stopped: recorded only; removed: 404), not for the cgroup that was. Returns with
 * e->mu held. */
static int enforce_current(struct update *up, struct entry *e, struct su_record *merged,
                           struct cglat_plan *plan, struct cglat_apply_result *res)
{
	pthread_mutex_lock(&e->mu);
	int wrote = enforce(up, e, merged, plan, res);
	if (wrote != ENFORCE_GONE)
		return wrote;
	e->limits_stale = e->target_stale = true;
	pthread_mutex_unlock(&e->mu);
	vlog(up->u, "update %s: its process is gone; looking at the container again", up->name);
	int rc = refresh_for(up, e);
	pthread_mutex_lock(&e->mu);
	if (rc < 0)
		return -1;
	*res = (struct cglat_apply_result){0};
	wrote = enforce(up, e, merged, plan, res);
	return wrote == ENFORCE_GONE ? -1 : wrote;
}

static void log_done(struct update *up, struct entry *e, int wrote, uint64_t enforced,
                     uint64_t recorded, long status, const char *how)
{
	if (!up->u->cfg.verbose)
		return;
	char a[32], b[32];
	ns_to_us(enforced - up->req->received_ns, a, sizeof(a));
	ns_to_us(recorded - up->req->received_ns, b, sizeof(b));
	vlog(up->u, "update %s (%.12s) %s: received -> enforced %s us -> recorded %s us (%ld)%s",
	     up->name, e->id, up->fields, wrote > 0 ? a : "-", recorded ? b : "-", status, how);
}

/* The default: the answer is dockerd's, after the record. */
static void update_record_mode(struct update *up, struct entry *e)
{
	struct serve_updates *u = up->u;
	struct cglat_plan *plan = e->plan; /* the turn is ours */
	struct cglat_apply_result res = {0};
	struct su_record merged;
	if (!plan) {
		su_errf(&up->err, 500, "out of memory");
		refuse(up);
		return;
	}
	int wrote = enforce_current(up, e, &merged, plan, &res);
	pthread_mutex_unlock(&e->mu);
	if (wrote < 0) {
		refuse(up);
		return;
	}
	uint64_t enforced = now_ns();
	if (wrote > 0) {
		COUNT(u, enforced, 1);
		pthread_mutex_lock(&u->smu);
		ring_add(&u->enforced_ns, (int64_t)(enforced - up->req->received_ns));
		pthread_mutex_unlock(&u->smu);
	}
	struct job j = {.head = up->fhead,
	                .head_len = up->fhead_len,
	                .body = (char *)up->req->body,
	                .body_len = up->req->body_len,
	                .b = *up->b,
	                .received_ns = up->req->received_ns,
	                .wrote = wrote > 0};
	int rc = record(u, e, &j, false);
	uint64_t recorded = now_ns();
	bool answered = j.res.complete;
	char why[512] = "";
	if (rc < 0 && wrote > 0) {
		pthread_mutex_lock(&e->mu);
		size_t failed = put_back(plan, &e->kc, why, sizeof(why));
		pthread_mutex_unlock(&e->mu);
		COUNT(u, rolled_back, 1);
		if (failed)
			vlog(u, "update %s: %zu file(s) could not be put back: %s", up->name,
			     failed, why);
	}
	if (rc < 0 && !answered) {
		su_errf(&up->err, 502,
		        "cglat serve could not record the update of container %s in dockerd: %s%s",
		        up->req->container, j.res.err,
		        wrote > 0 ? (*why ? "; the limits written could NOT all be put back"
		                          : "; the limits written were put back")
		                  : "");
		error_response(u, up->resp, &up->err, &up->h);
	} else {
		raw_response(u, up->resp, &j.res, &up->h);
	}
	if (rc == 0) {
		pthread_mutex_lock(&e->mu);
		e->expected = e->info.rec;
		pthread_mutex_unlock(&e->mu);
	}
	log_done(up, e, wrote, enforced, rc == 0 ? recorded : 0, answered ? j.res.status : 502,
	         rc < 0 && wrote > 0 ? ", files put back" : "");
	fwd_free(&j.res);
}

/* --reply-after enforce: answered once the files are written; recorded by a worker. */
static void job_free(struct job *j)
{
	free(j->head);
	free(j->body);
	fwd_free(&j->res);
	free(j);
}

static void entry_ref(struct serve_updates *u, struct entry *e)
{
	pthread_mutex_lock(&u->mu);
	e->refs++;
	pthread_mutex_unlock(&u->mu);
}

static void update_enforce_mode(struct update *up, struct entry *e)
{
	struct serve_updates *u = up->u;
	struct cglat_plan *plan = e->plan; /* the turn is ours */
	struct job *j = job_new(up, 0);
	struct cglat_apply_result res = {0};
	struct su_record merged;
	if (!plan || !j) {
		if (j)
			job_free(j);
		su_errf(&up->err, 500, "out of memory");
		refuse(up);
		return;
	}
	entry_ref(u, e); /* the job's, taken before e->mu (u->mu comes first) */
	int wrote = enforce_current(up, e, &merged, plan, &res);
	if (wrote < 0) {
		pthread_mutex_unlock(&e->mu);
		job_free(j);
		unref(u, e);
		refuse(up);
		return;
	}
	uint64_t enforced = now_ns();
	j->seq = ++e->seq;
	j->b = *up->b; /* as dockerd's checks left it */
	snprintf(j->fields, sizeof(j->fields), "%s", up->fields);
	j->enforced_ns = enforced;
	j->wrote = wrote > 0;
	if (wrote > 0)
		su_knobs_enforced(&e->ks, plan, j->seq, &j->w);
	/* A container that is not running: nothing to answer before dockerd does. */
	j->wait = wrote == 0 && (!e->info.running || e->info.restarting || !e->t);
	e->expected = merged;
	enqueue(u, e, j);
	if (j->wait) {
		while (!j->done)
			pthread_cond_wait(&e->cv, &e->mu);
		pthread_mutex_unlock(&e->mu);
		if (j->rc < 0 && !j->res.complete) {
			su_errf(&up->err, 502,
			        "cglat serve could not record the update of container %s in "
			        "dockerd: %s",
			        up->req->container, j->res.err);
			error_response(u, up->resp, &up->err, &up->h);
		} else {
			raw_response(u, up->resp, &j->res, &up->h);
		}
		job_free(j);
		return;
	}
	pthread_mutex_unlock(&e->mu);
	if (wrote > 0) {
		pthread_mutex_lock(&u->smu);
		u->counts.enforced++;
		ring_add(&u->enforced_ns, (int64_t)(enforced - up->req->received_ns));
		pthread_mutex_unlock(&u->smu);
	}
	char *body = su_warnings_body(&up->warn);
	set_response(u, up->resp, 200, body, &up->h);
	free(body);
}

void serve_update_handle(struct serve_updates *u, const struct serve_request *req,
                         struct serve_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	struct update up = {.u = u, .req = req, .resp = resp};
	snprintf(up.fields, sizeof(up.fields), "?");
	snprintf(up.name, sizeof(up.name), "%s", req->container);
	COUNT(u, updates, 1);
	up.fhead = su_forward_head(req->head, req->head_len, req->body_len, &up.h, &up.fhead_len);
	if (!up.fhead) {
		up.h.close = true;
		su_errf(&up.err, 400, "malformed HTTP request head");
		refuse(&up);
		return;
	}
	/* Names and ids only: a {id} with '/' or '..' never reaches a URL or a lookup. */
	struct cg_err cerr;
	const char *ref = req->container;
	if (!*ref || strchr(ref, '/') || strstr(ref, "..") || docker_validate_ref(ref, &cerr) < 0) {
		su_errf(&up.err, 404, "No such container: %s", ref);
		refuse(&up);
		free(up.fhead);
		return;
	}
	int major = 0, minor = 0;
	bool versioned = su_path_version(req->path, &major, &minor);
	int smajor = 1, sminor = 41;
	pthread_mutex_lock(&u->smu);
	sscanf(u->server.api_version, "%d.%d", &smajor, &sminor);
	pthread_mutex_unlock(&u->smu);
	if (!up.h.post || (versioned && (major != 1 || minor < 12 || major > smajor ||
	                                 (major == smajor && minor > sminor)))) {
		pass_through(&up);
		free(up.fhead);
		return;
	}
	/* httputils.CheckForJSON, then the body. */
	if ((up.h.content_type[0] || req->body_len > 0 || up.h.chunked) &&
	    !json_content_type(up.h.content_type)) {
		su_errf(&up.err, 400, "Content-Type specified (%s) must be 'application/json'",
		        up.h.content_type);
		refuse(&up);
		free(up.fhead);
		return;
	}
	struct su_body body; /* on the stack: no heap to touch on the way to the write */
	up.b = &body;
	if (su_parse_body(req->body, req->body_len, !versioned || minor >= 40, up.b, &up.err) < 0) {
		refuse(&up);
		free(up.fhead);
		return;
	}
	fields_text(up.b, up.fields, sizeof(up.fields));
	struct entry *e = lookup(u, ref, up.name, sizeof(up.name), &up.err);
	if (!e) {
		refuse(&up);
	} else {
		turn_take(e);
		if (refresh_for(&up, e) < 0)
			refuse(&up);
		else if (u->cfg.reply_after == SERVE_REPLY_AFTER_ENFORCE)
			update_enforce_mode(&up, e);
		else
			update_record_mode(&up, e);
		turn_give(e);
		unref(u, e);
	}
	free(up.fhead);
}

/* ---- the events stream: the cache kept current ---- */

struct events_reader {
	struct serve_updates *u;
	char *line;
	size_t len, cap;
	bool ok_status;
	bool headers;
};

/* Under u->mu: have the refresher read e again now, so that the next update finds its
 * cache current instead of asking dockerd on its way to the kernel's files (someone
 * else's `docker update` costs the next update through serve a round trip otherwise). */
static void queue_refresh(struct serve_updates *u, struct entry *e)
{
	if (e->refresh_queued || !u->refresher_started)
		return;
	e->refresh_queued = true;
	e->refs++;
	e->refresh_next = NULL;
	if (u->refresh_tail)
		u->refresh_tail->refresh_next = e;
	else
		u->refresh_head = e;
	u->refresh_tail = e;
	pthread_cond_signal(&u->refresh_cv);
}

/* Takes each entry's turn like an update, so it never reads while one writes; an update
 * that arrives meanwhile waits for a refresh that started before it. */
static void *refresher_main(void *arg)
{
	struct serve_updates *u = arg;
	pthread_mutex_lock(&u->mu);
	for (;;) {
		while (!u->refresher_stop && !u->refresh_head)
			pthread_cond_wait(&u->refresh_cv, &u->mu);
		struct entry *e = u->refresh_head;
		if (!e)
			break;
		u->refresh_head = e->refresh_next;
		if (!u->refresh_head)
			u->refresh_tail = NULL;
		e->refresh_queued = false;
		bool stop = u->refresher_stop;
		pthread_mutex_unlock(&u->mu);
		if (!stop) {
			struct su_error err;
			turn_take(e);
			if (refresh(u, e, &err) < 0) /* the next update tries again, and says why */
				vlog(u, "refreshing %.12s after an event: %s", e->id, err.msg);
			turn_give(e);
		}
		unref(u, e);
		pthread_mutex_lock(&u->mu);
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

static void on_event(struct serve_updates *u, const char *text, size_t n)
{
	json_t *ev = json_loadb(text, n, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "Type"));
	const char *action = json_string_value(json_object_get(ev, "Action"));
	json_t *actor = json_object_get(ev, "Actor");
	const char *id = json_string_value(json_object_get(actor, "ID"));
	if (!type || strcmp(type, "container") != 0 || !action || !id) {
		json_decref(ev);
		return;
	}
	const char *name =
	        json_string_value(json_object_get(json_object_get(actor, "Attributes"), "name"));
	pthread_mutex_lock(&u->mu);
	struct entry *e = find(u, id, false);
	if (!e) {
		u->unknown_gen++;
	} else if (!strcmp(action, "destroy")) {
		unlink_entry(u, e);
		pthread_mutex_lock(&e->mu);
		e->target_stale = e->limits_stale = true;
		pthread_mutex_unlock(&e->mu);
		if (e->refs == 0) {
			pthread_mutex_unlock(&u->mu);
			entry_free(e);
			json_decref(ev);
			return;
		}
	} else {
		if (!strcmp(action, "rename") && name)
			snprintf(e->name, sizeof(e->name), "%s", name);
		pthread_mutex_lock(&e->mu);
		bool stale = false;
		if (!strcmp(action, "start") || !strcmp(action, "die"))
			stale = e->target_stale = e->limits_stale = true;
		else if (!strcmp(action, "update")) {
			if (e->expect_events > 0)
				e->expect_events--;
			else
				stale = e->limits_stale = true; /* someone else's update */
		}
		pthread_mutex_unlock(&e->mu);
		if (stale)
			queue_refresh(u, e);
	}
	pthread_mutex_unlock(&u->mu);
	json_decref(ev);
}

static int er_headers(http_parser *p)
{
	struct events_reader *r = p->data;
	r->ok_status = p->status_code == 200;
	r->headers = true;
	return r->ok_status ? 0 : -1;
}

static int er_body(http_parser *p, const char *at, size_t n)
{
	struct events_reader *r = p->data;
	for (size_t i = 0; i < n; i++) {
		if (at[i] == '\n') {
			if (r->len)
				on_event(r->u, r->line, r->len);
			r->len = 0;
			continue;
		}
		if (r->len + 1 > r->cap) {
			if (r->cap >= (1u << 20))
				continue; /* an event this large is not one: dropped */
			size_t cap = r->cap ? r->cap * 2 : 4096;
			char *l = realloc(r->line, cap);
			if (!l)
				return -1;
			r->line = l;
			r->cap = cap;
		}
		r->line[r->len++] = at[i];
	}
	return 0;
}

static void mark_all_stale(struct serve_updates *u)
{
	pthread_mutex_lock(&u->mu);
	for (struct entry *e = u->entries; e; e = e->next) {
		pthread_mutex_lock(&e->mu);
		e->limits_stale = e->target_stale = true;
		pthread_mutex_unlock(&e->mu);
	}
	u->unknown_gen++;
	pthread_mutex_unlock(&u->mu);
}

static void events_set_up(struct serve_updates *u, bool up)
{
	pthread_mutex_lock(&u->emu);
	u->events_up = up;
	pthread_cond_broadcast(&u->ecv);
	pthread_mutex_unlock(&u->emu);
}

/* Reads one events stream until it ends or serve stops; false when stopping. */
static bool events_once(struct serve_updates *u, struct dh_conn *c, struct events_reader *r)
{
	static const char filters[] =
	        "{\"type\":[\"container\"],\"event\":[\"start\",\"die\",\"destroy\",\"rename\","
	        "\"update\"]}";
	char esc[512], head[1024];
	dh_escape(filters, esc, sizeof(esc));
	int hl = snprintf(head, sizeof(head),
	                  "GET /events?filters=%s HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                  "cglat/" CGLAT_VERSION "\r\n\r\n",
	                  esc);
	struct cg_err err = {{0}};
	if (dh_connect(c, &err) < 0)
		return true;
	for (int off = 0; off < hl;) {
		ssize_t w = send(c->fd, head + off, (size_t)(hl - off), MSG_NOSIGNAL);
		if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
			struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
			poll(&pfd, 1, 100);
			continue;
		}
		if (w <= 0) {
			dh_disconnect(c);
			return true;
		}
		off += (int)w;
	}
	http_parser p;
	http_parser_settings st = {.on_headers_complete = er_headers, .on_body = er_body};
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = r;
	r->len = 0;
	r->headers = r->ok_status = false;
	char buf[16384];
	bool announced = false;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = c->fd, .events = POLLIN},
		                        {.fd = u->stop_pipe[0], .events = POLLIN}};
		int pr = poll(pfd, 2, -1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0 || pfd[1].revents) {
			dh_disconnect(c);
			return false;
		}
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		size_t done = http_parser_execute(&p, &st, buf, n > 0 ? (size_t)n : 0);
		if (r->headers && r->ok_status && !announced) {
			/* Subscribed: what was cached before may have changed unseen. */
			announced = true;
			mark_all_stale(u);
			events_set_up(u, true);
		}
		if (n <= 0 || done != (size_t)n || HTTP_PARSER_ERRNO(&p) != HPE_OK)
			break;
	}
	dh_disconnect(c);
	events_set_up(u, false);
	return true;
}

static void *events_main(void *arg)
{
	struct serve_updates *u = arg;
	struct dh_conn c;
	struct events_reader r = {.u = u};
	dh_init(&c, u->sock, CONNECT_TIMEOUT_MS, 0, 0);
	int backoff = 50;
	for (;;) {
		uint64_t t0 = now_ns();
		if (!events_once(u, &c, &r))
			break;
		if (now_ns() - t0 > 5000000000u)
			backoff = 50; /* it was up a while: try again soon */
		struct pollfd pfd = {.fd = u->stop_pipe[0], .events = POLLIN};
		if (poll(&pfd, 1, backoff) > 0)
			break;
		backoff = backoff < 1000 ? backoff * 2 : 1000;
	}
	dh_free(&c);
	free(r.line);
	return NULL;
}

/* ---- open, close, stats ---- */

int serve_updates_open(const struct serve_config *cfg, struct serve_updates **out,
                       struct cg_err *err)
{
	*out = NULL;
	struct serve_updates *u = calloc(1, sizeof(*u));
	if (!u)
		return cg_errf(err, "out of memory");
	u->cfg = *cfg;
	snprintf(u->sock, sizeof(u->sock), "%s",
	         cfg->docker_sock && *cfg->docker_sock ? cfg->docker_sock : DOCKER_DEFAULT_SOCK);
	pthread_mutex_init(&u->mu, NULL);
	pthread_mutex_init(&u->pool_mu, NULL);
	pthread_mutex_init(&u->rmu, NULL);
	pthread_cond_init(&u->rcv, NULL);
	pthread_mutex_init(&u->emu, NULL);
	pthread_cond_init(&u->ecv, NULL);
	pthread_mutex_init(&u->smu, NULL);
	pthread_cond_init(&u->refresh_cv, NULL);
	su_server_defaults(&u->server);
	u->enforced_ns.v = calloc(SAMPLES, sizeof(int64_t));
	u->recorded_ns.v = calloc(SAMPLES, sizeof(int64_t));
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	if (!u->enforced_ns.v || !u->recorded_ns.v || pipe2(u->stop_pipe, O_CLOEXEC) < 0) {
		serve_updates_close(u);
		return cg_errf(err, "cannot set up the update path: %s", strerror(errno));
	}
	if (su_host_probe(NULL, docker_daemon_pid(), &u->host, err) < 0) {
		serve_updates_close(u);
		return cg_err_wrap(err, "reading the host's cgroups");
	}
	/* dockerd's headers, for the answers serve writes itself. */
	static const char ping[] = "GET /_ping HTTP/1.1\r\nHost: docker\r\nUser-Agent: "
	                           "cglat/" CGLAT_VERSION "\r\n\r\n";
	struct fwd f;
	if (upstream(u, ping, sizeof(ping) - 1, NULL, 0, INSPECT_TIMEOUT_MS, &f) == 0)
		learn_server(u, &f);
	fwd_free(&f);
	for (size_t i = 0; i < WORKERS; i++) {
		if (pthread_create(&u->workers[i], NULL, worker_main, u) != 0)
			break;
		u->nworkers++;
	}
	if (pthread_create(&u->refresher, NULL, refresher_main, u) == 0)
		u->refresher_started = true;
	if (pthread_create(&u->events, NULL, events_main, u) == 0)
		u->events_started = true;
	if (u->nworkers == 0 || !u->events_started || !u->refresher_started) {
		serve_updates_close(u);
		return cg_errf(err, "cannot start the update path's threads");
	}
	/* Wait a little for the events stream, so the cache starts current. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	pthread_mutex_lock(&u->emu);
	while (!u->events_up)
		if (pthread_cond_timedwait(&u->ecv, &u->emu, &ts) != 0)
			break;
	pthread_mutex_unlock(&u->emu);
	*out = u;
	return 0;
}

void serve_updates_close(struct serve_updates *u)
{
	if (!u)
		return;
	/* The events stream first (nothing frees an entry after it), then the background
	 * records still queued. */
	if (u->stop_pipe[1] >= 0 && write(u->stop_pipe[1], "x", 1) < 0) {
		/* the events thread then stops when its stream ends */
	}
	if (u->events_started)
		pthread_join(u->events, NULL);
	u->events_started = false;
	/* Nothing queues a refresh now: the refresher ends, dropping what is still queued. */
	if (u->refresher_started) {
		pthread_mutex_lock(&u->mu);
		u->refresher_stop = true;
		pthread_cond_broadcast(&u->refresh_cv);
		pthread_mutex_unlock(&u->mu);
		pthread_join(u->refresher, NULL);
	}
	u->refresher_started = false;
	for (;;) {
		pthread_mutex_lock(&u->mu);
		struct entry *e = u->entries;
		bool any = false;
		for (; e; e = e->next) {
			pthread_mutex_lock(&e->mu);
			any = e->busy || e->q_len;
			pthread_mutex_unlock(&e->mu);
			if (any)
				break;
		}
		pthread_mutex_unlock(&u->mu);
		if (!any || u->nworkers == 0)
			break;
		pthread_mutex_lock(&e->mu);
		drain(e);
		pthread_mutex_unlock(&e->mu);
	}
	pthread_mutex_lock(&u->rmu);
	u->stopping = true;
	pthread_cond_broadcast(&u->rcv);
	pthread_mutex_unlock(&u->rmu);
	for (size_t i = 0; i < u->nworkers; i++)
		pthread_join(u->workers[i], NULL);
	for (struct entry *e = u->entries, *next; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	for (struct upconn *c = u->pool, *next; c; c = next) {
		next = c->next;
		dh_free(&c->c);
		free(c);
	}
	if (u->stop_pipe[0] >= 0)
		close(u->stop_pipe[0]);
	if (u->stop_pipe[1] >= 0)
		close(u->stop_pipe[1]);
	free(u->enforced_ns.v);
	free(u->recorded_ns.v);
	pthread_mutex_destroy(&u->mu);
	pthread_mutex_destroy(&u->pool_mu);
	pthread_mutex_destroy(&u->rmu);
	pthread_cond_destroy(&u->rcv);
	pthread_mutex_destroy(&u->emu);
	pthread_cond_destroy(&u->ecv);
	pthread_cond_destroy(&u->refresh_cv);
	pthread_mutex_destroy(&u->smu);
	free(u);
}

void su_counts(struct serve_updates *u, struct su_counts *out)
{
	pthread_mutex_lock(&u->smu);
	*out = u->counts;
	pthread_mutex_unlock(&u->smu);
}

static json_t *ring_json(const struct ring *r)
{
	struct stats st;
	if (stats_compute(r->v, r->n, &st) < 0)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "n", (json_int_t)st.n, "p50_ns",
	                 (json_int_t)st.p50, "p90_ns", (json_int_t)st.p90, "p99_ns",
	                 (json_int_t)st.p99, "max_ns", (json_int_t)st.max);
}

void serve_stats_response(struct serve_updates *u, struct serve_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	pthread_mutex_lock(&u->smu);
	struct su_counts c = u->counts;
	json_t *enforced = ring_json(&u->enforced_ns), *recorded = ring_json(&u->recorded_ns);
	struct su_server s = u->server;
	pthread_mutex_unlock(&u->smu);
	json_t *doc = json_pack(
	        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "tool",
	        "cglat serve", "reply_after",
	        u->cfg.reply_after == SERVE_REPLY_AFTER_ENFORCE ? "enforce" : "record", "updates",
	        (json_int_t)c.updates, "enforced", (json_int_t)c.enforced, "recorded",
	        (json_int_t)c.recorded, "coalesced", (json_int_t)c.coalesced, "refused",
	        (json_int_t)c.refused, "failed_records", (json_int_t)c.failed_records,
	        "rolled_back", (json_int_t)c.rolled_back, "pending_records", (json_int_t)c.pending,
	        "received_to_enforced", enforced, "received_to_recorded", recorded);
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	char *body = NULL;
	if (text && asprintf(&body, "%s\n", text) < 0)
		body = NULL;
	free(text);
	resp->raw = su_http_response(&s, body ? 200 : 500, body ? body : "{}\n", false, false,
	                             &resp->len);
	free(body);
}
