/*
 * sse.c: Server-Sent Events framing (WHATWG HTML Living Standard, section
 * 9.2.6) and the Last-Event-ID header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "num.h"
#include "sse.h"

#define SSE_ID_DIGITS	20	/* INT64_MAX has 19 */

enum sse_leid
sse_last_event_id(const char *buf, size_t len, int64_t *out)
{
	size_t	 b = 0, e = len;

	if (buf == NULL)
		return SSE_LEID_ABSENT;
	while (b < e && (buf[b] == ' ' || buf[b] == '\t'))
		b++;
	while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t'))
		e--;
	if (b == e)
		return SSE_LEID_ABSENT;
	/* num_parse_i64 takes a '-', which no id of ours has. */
	if (buf[b] == '-' ||
	    num_parse_i64(buf + b, e - b, 0, INT64_MAX, out) != 0)
		return SSE_LEID_INVALID;
	return SSE_LEID_VALID;
}

/* The event name becomes a field value: a token, never a line break. */
static int
sse_name_ok(const char *event)
{
	size_t	 i;

	if (event == NULL || event[0] == '\0')
		return 0;
	for (i = 0; event[i] != '\0'; i++) {
		char c = event[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return i <= 64;
}

/*
 * The lines of data as the standard splits them (at CRLF, CR or LF) and
 * the bytes they hold without the line breaks.
 */
static size_t
sse_lines(const char *data, size_t len, size_t *content)
{
	size_t	 i, n = 1, c = 0;

	for (i = 0; i < len; i++) {
		if (data[i] == '\r') {
			n++;
			if (i + 1 < len && data[i + 1] == '\n')
				i++;
		} else if (data[i] == '\n')
			n++;
		else
			c++;
	}
	*content = c;
	return n;
}

static size_t
sse_digits(int64_t id)
{
	size_t	 n = 1;

	while (id >= 10) {
		id /= 10;
		n++;
	}
	return n;
}

size_t
sse_format_size(int64_t id, const char *event, const char *data,
    size_t datalen)
{
	size_t	 lines, content;

	if (id < 0 || !sse_name_ok(event))
		return 0;
	lines = sse_lines(data, datalen, &content);
	return strlen("id: \n") + sse_digits(id) +
	    strlen("event: \n") + strlen(event) +
	    lines * strlen("data: \n") + content + strlen("\n");
}

size_t
sse_format(char *out, size_t outsz, int64_t id, const char *event,
    const char *data, size_t datalen)
{
	size_t	 need, o, i;
	int	 n;

	need = sse_format_size(id, event, data, datalen);
	if (need == 0 || need >= outsz)
		return 0;
	n = snprintf(out, outsz, "id: %lld\nevent: %s\ndata: ",
	    (long long)id, event);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	o = (size_t)n;
	for (i = 0; i < datalen; i++) {
		if (data[i] == '\r' || data[i] == '\n') {
			if (data[i] == '\r' && i + 1 < datalen &&
			    data[i + 1] == '\n')
				i++;
			memcpy(out + o, "\ndata: ", 7);
			o += 7;
		} else
			out[o++] = data[i];
	}
	out[o++] = '\n';
	out[o++] = '\n';
	out[o] = '\0';
	/* The size was counted first; a mismatch is a bug here. */
	return o == need ? o : 0;
}

static struct sse_msg *
sse_msg_alloc(size_t len)
{
	struct sse_msg	*m;

	if ((m = malloc(sizeof(*m) + len + 1)) == NULL)
		return NULL;
	m->refs = 1;
	m->id = 0;
	m->len = len;
	return m;
}

struct sse_msg *
sse_msg_new(int64_t id, const char *event, const char *json, size_t len)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*obj = NULL;
	struct sse_msg		*m = NULL;
	const char		*line;
	size_t			 linelen, need;

	if (len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		goto out;
	obj = json_tokener_parse_ex(tok, json, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)
		goto out;
	line = json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (line == NULL)
		goto out;
	linelen = strlen(line);
	if ((need = sse_format_size(id, event, line, linelen)) == 0 ||
	    (m = sse_msg_alloc(need)) == NULL)
		goto out;
	if (sse_format(m->text, need + 1, id, event, line, linelen) != need) {
		free(m);
		m = NULL;
		goto out;
	}
	m->id = id;
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return m;
}

struct sse_msg *
sse_msg_new_text(const char *text, size_t len)
{
	struct sse_msg	*m;

	if ((m = sse_msg_alloc(len)) == NULL)
		return NULL;
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	return m;
}

struct sse_msg *
sse_msg_ref(struct sse_msg *m)
{
	m->refs++;
	return m;
}

void
sse_msg_free(struct sse_msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}
