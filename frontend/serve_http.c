/* HTTP as dockerd speaks it: its answers (the headers learnt from it, the error and
 * warnings bodies) and the head an update is forwarded to it with. */
#include "serve_update.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

size_t su_head_forward(const char *head, size_t len, size_t body_len, char *out)
{
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
	return n;
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
