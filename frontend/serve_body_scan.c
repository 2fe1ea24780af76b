/* Go's JSON scanner (encoding/json/scanner.go, Go 1.19), as the update body's decoder runs
 * it: Decoder.Decode reads one value: the scanner runs over it first and reports the first
 * syntax error in Go's words; a value cut short is "unexpected EOF", no value "EOF". */
#include "serve_body_scan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int gs_first_value(const char *buf, size_t len, size_t *start, size_t *end, char *msg, size_t cap)
{
	struct gscan s = {.step = GS_BEGIN_VALUE, .msg = msg, .msg_cap = cap};
	bool seen = false;
	int rc = -1;
	*start = 0;
	for (size_t i = 0; i < len; i++) {
		/* Where the state would only continue, the bytes are skipped in a run: a
		 * string's plain bytes (stateInString) and a number's digits (state1), most
		 * of a body. */
		if (s.step == GS_IN_STRING)
			while (i < len && (unsigned char)buf[i] >= 0x20 && buf[i] != '"' &&
			       buf[i] != '\\')
				i++;
		else if (s.step == GS_1)
			while (i < len && buf[i] >= '0' && buf[i] <= '9')
				i++;
		if (i == len)
			break;
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
