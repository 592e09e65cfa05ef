/*
 * inboxreq.c: the JSON body of an inbox submission.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "inboxreq.h"
#include "safetext.h"

/*
 * The members of the top-level object of buf, a text json-c parsed as
 * valid JSON: the strings inside it, outside nested values, that a ':'
 * follows.  json-c keeps only the last of a repeated name, so a count
 * above its object's length means a name came twice (RFC 8259 section
 * 4: then "the behavior ... is unpredictable"; here it is refused).
 */
static size_t
top_members(const char *buf, size_t len)
{
	size_t	 i, j, n = 0;
	int	 depth = 0;

	for (i = 0; i < len; i++) {
		switch (buf[i]) {
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case '"':
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
			for (j = i + 1; j < len && strchr(" \t\r\n",
			    buf[j]) != NULL && buf[j] != '\0'; j++)
				;
			if (depth == 1 && j < len && buf[j] == ':')
				n++;
			break;
		default:
			break;
		}
	}
	return n;
}

/* The value of the 4 hex digits at s, or -1. */
static long
hex4(const char *s)
{
	long	 v = 0;
	int	 i, d;

	for (i = 0; i < 4; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/*
 * The first \u escape of buf, a text json-c parsed as valid JSON, that
 * names half a surrogate pair without the other half (RFC 8259 section
 * 7: a character outside the BMP is a high then a low escape).  json-c
 * makes such a half U+FFFD, so "\ud800.csv" would name another file,
 * "\xef\xbf\xbd.csv"; RFC 8259 section 8.2 leaves the behaviour open,
 * here it is refused.  Returns its offset (the backslash), or len.
 */
static size_t
lone_surrogate(const char *buf, size_t len)
{
	size_t	 i;
	long	 v, w;

	/* Valid JSON: a backslash is always an escape inside a string. */
	for (i = 0; i + 1 < len; i++) {
		if (buf[i] != '\\')
			continue;
		if (buf[i + 1] != 'u' || len - i < 6) {
			i++;
			continue;
		}
		v = hex4(buf + i + 2);
		if (v >= 0xDC00 && v <= 0xDFFF)
			return i;
		if (v >= 0xD800 && v <= 0xDBFF) {
			if (len - i < 12 || buf[i + 6] != '\\' ||
			    buf[i + 7] != 'u' || (w = hex4(buf + i + 8)) <
			    0xDC00 || w > 0xDFFF)
				return i;
			i += 6;
		}
		i += 5;
	}
	return len;
}

int
inboxreq_parse(const char *buf, size_t len, struct json_object **obj,
    const char **path, size_t *plen, char *err, size_t errsz, char *param,
    size_t paramsz, const char **reason)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL, *p;
	enum json_tokener_error	 jerr;
	char			 q[SAFETEXT_QUOTE_SIZE];
	size_t			 end;
	int			 rc = -1;

	param[0] = '\0';
	*reason = NULL;
	/*
	 * RFC 8259 section 8.1: a parser may ignore a byte order mark; a
	 * body saved by an editor that writes one is meant as the same JSON
	 * (it was "invalid utf-8 string", which it is not).
	 */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if ((tok = json_tokener_new_ex(INBOXREQ_DEPTH)) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	/*
	 * A number or literal that ends the body (1, true) is whole only
	 * once the tokener sees what follows it: a NUL, as the end of a
	 * string (json_tokener.h).  Then buf was read to its end.
	 */
	if ((jerr = json_tokener_get_error(tok)) == json_tokener_continue) {
		o = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	} else
		end = json_tokener_get_parse_end(tok);
	/* A body of null is a value too: o is NULL then. */
	if (jerr != json_tokener_success) {
		snprintf(err, errsz, "invalid json: %s",
		    jerr == json_tokener_error_parse_eof ?
		    "unexpected end of input" : json_tokener_error_desc(jerr));
		goto out;
	}
	for (; end < len; end++)
		if (strchr(" \t\r\n", buf[end]) == NULL || buf[end] == '\0') {
			snprintf(err, errsz, "invalid json: data after the "
			    "value");
			goto out;
		}
	if ((end = lone_surrogate(buf, len)) < len) {
		snprintf(err, errsz, "invalid json: unpaired surrogate "
		    "\"%.6s\"", buf + end);
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errsz, "the body must be a json object "
		    "{\"path\": \"name.csv\"}");
		goto out;
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "path") != 0) {
			safetext_quote(key, strlen(key), q, sizeof(q));
			snprintf(err, errsz, "unknown member %s in the body", q);
			/* Plain in invalid_params' name: JSON escapes it. */
			safetext_plain(key, strlen(key), param, paramsz);
			*reason = "unknown member";
			goto out;
		}
	}
	if (top_members(buf, len) != (size_t)json_object_object_length(o)) {
		/* Only "path" is left that can come twice. */
		snprintf(err, errsz, "duplicate member \"path\" in the body");
		snprintf(param, paramsz, "path");
		*reason = "duplicate member";
		goto out;
	}
	if (!json_object_object_get_ex(o, "path", &p)) {
		snprintf(err, errsz, "the body needs a \"path\" member");
		snprintf(param, paramsz, "path");
		*reason = "missing";
		goto out;
	}
	if (!json_object_is_type(p, json_type_string)) {
		snprintf(err, errsz, "\"path\" must be a string");
		snprintf(param, paramsz, "path");
		*reason = "must be a string";
		goto out;
	}
	*path = json_object_get_string(p);
	*plen = (size_t)json_object_get_string_len(p);
	*obj = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(o);
	json_tokener_free(tok);
	return rc;
}
