/*
 * fuzz_sse.c: cgi/sse.c, read back by the event stream interpretation of
 * the WHATWG HTML Living Standard, section 9.2.6, written again here.
 *
 * Input: the whole of it is a Last-Event-ID value; when it is 8 bytes or
 * more, the first 8 are an event id, the next line an event name and the
 * rest the event data (and, for sse_msg_new, JSON text).  Properties:
 * - sse_last_event_id agrees with a reading of its header comment;
 * - sse_format_size refuses exactly negative ids and names that are not
 *   1 to 64 of [A-Za-z0-9_-]; otherwise sse_format writes that many bytes
 *   (and nothing into a buffer one byte short), and a client reading them
 *   sees exactly one event, with that id, that name and that data (line
 *   breaks as LF), whatever bytes the data holds: no injected fields or
 *   events;
 * - sse_msg_new's message reads back as one event whose data is one line;
 *   for input json-c reads in strict mode, that line is json-c's text of
 *   the input and parses again.  (json-c's strict mode still takes NaN,
 *   which PostgreSQL's jsonb never holds.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct client {
	char	*data, *type, *id;		/* buffers of 9.2.6 */
	size_t	 datalen, typelen, idlen;
	int	 events;			/* dispatched */
	char	*ev_data, *ev_type, *ev_id;	/* the last event */
	size_t	 ev_datalen, ev_typelen, ev_idlen;
};

static void
set(char **dst, size_t *dlen, const char *src, size_t n)
{
	free(*dst);
	if ((*dst = malloc(n + 1)) == NULL)
		abort();
	memcpy(*dst, src, n);
	(*dst)[n] = '\0';
	*dlen = n;
}

static void
append(char **dst, size_t *dlen, const char *src, size_t n)
{
	char *p;

	if ((p = realloc(*dst, *dlen + n + 1)) == NULL)
		abort();
	memcpy(p + *dlen, src, n);
	*dlen += n;
	p[*dlen] = '\0';
	*dst = p;
}

/* "Dispatch the event". */
static void
dispatch(struct client *c)
{
	if (c->datalen == 0) {
		c->typelen = 0;
		return;
	}
	if (c->data[c->datalen - 1] == '\n')
		c->datalen--;
	c->events++;
	set(&c->ev_data, &c->ev_datalen, c->data, c->datalen);
	if (c->typelen > 0)
		set(&c->ev_type, &c->ev_typelen, c->type, c->typelen);
	else
		set(&c->ev_type, &c->ev_typelen, "message", 7);
	set(&c->ev_id, &c->ev_idlen, c->id ? c->id : "", c->id ? c->idlen : 0);
	c->datalen = 0;
	c->typelen = 0;
}

/* One line, without its end: "Process the field". */
static void
line(struct client *c, const char *s, size_t n)
{
	const char	*colon, *v;
	size_t		 fl, vl;

	if (n == 0) {
		dispatch(c);
		return;
	}
	if (s[0] == ':')
		return;
	colon = memchr(s, ':', n);
	fl = colon ? (size_t)(colon - s) : n;
	v = colon ? colon + 1 : s + n;
	vl = colon ? n - fl - 1 : 0;
	if (vl > 0 && v[0] == ' ') {
		v++;
		vl--;
	}
	if (fl == 5 && memcmp(s, "event", 5) == 0)
		set(&c->type, &c->typelen, v, vl);
	else if (fl == 4 && memcmp(s, "data", 4) == 0) {
		append(&c->data, &c->datalen, v, vl);
		append(&c->data, &c->datalen, "\n", 1);
	} else if (fl == 2 && memcmp(s, "id", 2) == 0 &&
	    memchr(v, '\0', vl) == NULL)
		set(&c->id, &c->idlen, v, vl);
}

/* Read a whole stream; returns the bytes of an unfinished last line. */
static size_t
client_read(struct client *c, const char *s, size_t n)
{
	size_t	 i, start = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '\r' && s[i] != '\n')
			continue;
		line(c, s + start, i - start);
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	return n - start;
}

static void
client_free(struct client *c)
{
	free(c->data);
	free(c->type);
	free(c->id);
	free(c->ev_data);
	free(c->ev_type);
	free(c->ev_id);
}

/* Data as the client sees it: CRLF and CR become LF. */
static char *
normalise(const char *d, size_t n, size_t *outlen)
{
	char	*o = malloc(n + 1);
	size_t	 i, k = 0;

	if (o == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (d[i] == '\r') {
			o[k++] = '\n';
			if (i + 1 < n && d[i + 1] == '\n')
				i++;
		} else
			o[k++] = d[i];
	}
	*outlen = k;
	return o;
}

static int
name_ok(const char *e)
{
	size_t i;

	for (i = 0; e[i] != '\0'; i++)
		if (!((e[i] >= 'a' && e[i] <= 'z') || (e[i] >= 'A' &&
		    e[i] <= 'Z') || (e[i] >= '0' && e[i] <= '9') ||
		    e[i] == '_' || e[i] == '-'))
			return 0;
	return i >= 1 && i <= 64;
}

static void
check_leid(const char *s, size_t n)
{
	enum sse_leid	 r;
	int64_t		 v = -5, ref = 0;
	size_t		 b = 0, e = n, i;
	int		 digits = 1;
	char		 tmp[32];

	if (sse_last_event_id(NULL, 0, &v) != SSE_LEID_ABSENT)
		abort();
	r = sse_last_event_id(s, n, &v);
	while (b < e && (s[b] == ' ' || s[b] == '\t'))
		b++;
	while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t'))
		e--;
	if (b == e) {
		if (r != SSE_LEID_ABSENT)
			abort();
		return;
	}
	for (i = b; i < e; i++)
		if (s[i] < '0' || s[i] > '9')
			digits = 0;
	/* Leading zeros are no digits of the value (num_parse_i64). */
	while (digits && e - b > 1 && s[b] == '0')
		b++;
	if (digits && e - b <= 19) {
		memcpy(tmp, s + b, e - b);
		tmp[e - b] = '\0';
		ref = (int64_t)strtoull(tmp, NULL, 10);
		digits = strtoull(tmp, NULL, 10) <= INT64_MAX;
	} else
		digits = 0;
	if (r != (digits ? SSE_LEID_VALID : SSE_LEID_INVALID))
		abort();
	if (r == SSE_LEID_VALID && v != ref)
		abort();
}

/* Read text back as a client: one event, this id and this name. */
static struct client
read_back(const char *text, size_t n, int64_t id, const char *event)
{
	struct client	 c;
	char		 idtext[32];

	memset(&c, 0, sizeof(c));
	if (client_read(&c, text, n) != 0 || c.datalen != 0)
		abort();	/* an unfinished line or event is left */
	if (c.events != 1)
		abort();	/* not exactly one event */
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	if (c.ev_idlen != strlen(idtext) || strcmp(c.ev_id, idtext) != 0 ||
	    c.ev_typelen != strlen(event) || strcmp(c.ev_type, event) != 0)
		abort();	/* id or name changed on the way */
	return c;
}

static void
check_format(int64_t id, const char *event, const char *d, size_t n)
{
	struct client	 c;
	size_t		 need, got, nl;
	char		*out, *norm;

	need = sse_format_size(id, event, d, n);
	if ((need != 0) != (id >= 0 && name_ok(event)))
		abort();	/* refuses unlike sse.h says */
	if (need == 0)
		return;
	if ((out = malloc(need + 1)) == NULL)
		abort();
	if (sse_format(out, need, id, event, d, n) != 0)
		abort();	/* wrote into too small a buffer */
	got = sse_format(out, need + 1, id, event, d, n);
	if (got != need || out[need] != '\0')
		abort();
	c = read_back(out, need, id, event);
	norm = normalise(d, n, &nl);
	if (c.ev_datalen != nl || memcmp(c.ev_data, norm, nl) != 0)
		abort();	/* the client sees other data */
	free(norm);
	client_free(&c);
	free(out);
}

static void
check_msg(int64_t id, const char *event, const char *json, size_t n)
{
	struct json_tokener	*tok;
	struct json_object	*in = NULL, *back;
	struct sse_msg		*m;
	struct client		 c;
	const char		*text;
	int			 strict = 0;

	m = sse_msg_new(id, event, json, n);
	if ((tok = json_tokener_new()) == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	in = json_tokener_parse_ex(tok, json, (int)n);
	strict = in != NULL && json_tokener_get_error(tok) ==
	    json_tokener_success && json_tokener_get_parse_end(tok) == n;
	json_tokener_free(tok);
	if (m == NULL) {
		json_object_put(in);
		return;
	}
	if (m->id != id || m->refs != 1 || m->text[m->len] != '\0')
		abort();
	c = read_back(m->text, m->len, id, event);
	if (memchr(c.ev_data, '\n', c.ev_datalen) != NULL)
		abort();	/* data over more than one line */
	if (strict) {
		/* What sse.c prints is json-c's own text of the input. */
		text = json_object_to_json_string_ext(in,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		if (text == NULL || strlen(text) != c.ev_datalen ||
		    memcmp(text, c.ev_data, c.ev_datalen) != 0)
			abort();	/* the client gets other JSON */
		if ((back = json_tokener_parse(c.ev_data)) == NULL)
			abort();	/* data that does not parse back */
		json_object_put(back);
	}
	json_object_put(in);
	client_free(&c);
	sse_msg_free(sse_msg_ref(m));
	sse_msg_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nl;
	char		*event, *rest;
	int64_t		 id;
	size_t		 elen, rlen;

	check_leid(s, size);
	if (size < 8 || size > 8192)
		return 0;
	memcpy(&id, data, sizeof(id));
	/* Mostly small non-negative ids; the sign bit still reaches 0. */
	if (data[7] & 0x40)
		id &= INT64_C(0x00000000ffffffff);
	nl = memchr(s + 8, '\n', size - 8);
	elen = nl ? (size_t)(nl - (s + 8)) : size - 8;
	if ((event = malloc(elen + 1)) == NULL)
		return 0;
	memcpy(event, s + 8, elen);
	event[elen] = '\0';
	rlen = nl ? size - 8 - elen - 1 : 0;
	if ((rest = malloc(rlen ? rlen : 1)) == NULL)
		abort();
	if (rlen > 0)
		memcpy(rest, nl + 1, rlen);
	check_format(id, event, rest, rlen);
	check_msg(id, event, rest, rlen);
	free(rest);
	free(event);
	return 0;
}
