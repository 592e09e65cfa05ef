/*
 * query.c: strict query-string parsing (see query.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "num.h"
#include "query.h"
#include "safetext.h"

/* Room for a name as safetext_quote cuts it (safetext_plain). */
#define QUERY_NAME_SHOWN	(SAFETEXT_QUOTE_MAX + 4)
_Static_assert(sizeof(((struct query_values *)0)->bad_name) >=
    QUERY_NAME_SHOWN, "bad_name cannot hold a shown name");

/*
 * Percent-decode src into dst (room for at least len bytes).  Returns the
 * decoded length, -1 for a malformed escape, -2 for a decoded NUL.
 */
static long
decode(const char *src, size_t len, char *dst)
{
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '+') {
			dst[o++] = ' ';
		} else if (src[i] == '%') {
			if (len - i < 3 ||
			    (hi = num_hex_digit(src[i + 1])) < 0 ||
			    (lo = num_hex_digit(src[i + 2])) < 0)
				return -1;
			if (hi == 0 && lo == 0)
				return -2;
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (src[i] == '\0') {
			return -2;
		} else {
			dst[o++] = src[i];
		}
	}
	return (long)o;
}

/* Record an error: name (raw or decoded) for display, and why. */
static int
fail(struct query_values *out, char *err, size_t errsz, const char *name,
    size_t namelen, const char *value, size_t valuelen,
    const char *fmt, ...)
{
	char	 q[SAFETEXT_QUOTE_SIZE], vq[SAFETEXT_QUOTE_SIZE];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(out->bad_reason, sizeof(out->bad_reason), fmt, ap);
	va_end(ap);
	out->bad_name[0] = '\0';
	if (name != NULL) {
		/* Quoted in the detail; plain in invalid_params' name. */
		safetext_quote(name, namelen, q, sizeof(q));
		safetext_plain(name, namelen, out->bad_name, QUERY_NAME_SHOWN);
	}
	if (name == NULL)
		snprintf(err, errsz, "%s", out->bad_reason);
	else if (value == NULL)
		snprintf(err, errsz, "%s %s", out->bad_reason, q);
	else {
		safetext_quote(value, valuelen, vq, sizeof(vq));
		snprintf(err, errsz, "%s %s: %s", out->bad_name, vq,
		    out->bad_reason);
	}
	return -1;
}

/* Check and convert one decoded value against its table entry. */
static int
convert(const struct query_param *p, struct query_value *v,
    struct query_values *out, char *err, size_t errsz)
{
	size_t	 maxlen = p->maxlen == 0 ? QUERY_MAX_LEN : p->maxlen;

	switch (p->type) {
	case QUERY_INT:
		if (num_parse_i64(v->str, v->len, p->min, p->max, &v->i) != 0)
			return fail(out, err, errsz, p->name, strlen(p->name),
			    v->str, v->len,
			    "must be an integer from %lld to %lld",
			    (long long)p->min, (long long)p->max);
		break;
	case QUERY_DOUBLE:
		if (num_parse_double(v->str, v->len, &v->d) != 0 ||
		    v->d < p->dmin || v->d > p->dmax)
			return fail(out, err, errsz, p->name, strlen(p->name),
			    v->str, v->len, "must be a number from %g to %g",
			    p->dmin, p->dmax);
		break;
	case QUERY_TEXT:
	default:
		if (v->len > maxlen)
			return fail(out, err, errsz, p->name, strlen(p->name),
			    v->str, v->len, "longer than %zu bytes", maxlen);
		break;
	}
	return 0;
}

int
query_parse(const char *buf, size_t len, const struct query_param *table,
    size_t n, struct query_values *out, char *err, size_t errsz)
{
	char		*name;
	const char	*pair, *end, *eq, *stop = buf + len;
	size_t		 used = 0, k, plen, nlen;
	long		 dn;
	struct query_value *v;

	memset(out->v, 0, sizeof(out->v));
	out->bad_name[0] = '\0';
	out->bad_reason[0] = '\0';
	if (errsz > 0)
		err[0] = '\0';
	if (n > QUERY_MAX_PARAMS)
		return fail(out, err, errsz, NULL, 0, NULL, 0,
		    "too many parameters in table");
	if (len > QUERY_MAX_LEN)
		return fail(out, err, errsz, NULL, 0, NULL, 0,
		    "query string longer than %d bytes", QUERY_MAX_LEN);
	for (pair = buf; pair < stop; pair = end + 1) {
		end = memchr(pair, '&', (size_t)(stop - pair));
		if (end == NULL)
			end = stop;
		plen = (size_t)(end - pair);
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		nlen = eq == NULL ? plen : (size_t)(eq - pair);
		if (nlen == 0)
			return fail(out, err, errsz, NULL, 0, NULL, 0,
			    "empty parameter name");
		/*
		 * The name, decoded where its value goes next (a name is
		 * no longer than its text).  A raw name longer than any in a
		 * table is unknown anyway; it is shown decoded when it can
		 * be, as every other name is.
		 */
		name = out->buf + used;
		dn = decode(pair, nlen, name);
		if (nlen > QUERY_NAME_MAX)
			return dn < 0 ? fail(out, err, errsz, pair, nlen, NULL,
			    0, "unknown parameter") : fail(out, err, errsz,
			    name, (size_t)dn, NULL, 0, "unknown parameter");
		if (dn < 0)
			return fail(out, err, errsz, pair, nlen, NULL, 0,
			    dn == -1 ? "invalid percent-encoding in parameter" :
			    "nul byte in parameter");
		for (k = 0; k < n; k++)
			if (strlen(table[k].name) == (size_t)dn &&
			    memcmp(table[k].name, name, (size_t)dn) == 0)
				break;
		if (k == n)
			return fail(out, err, errsz, name, (size_t)dn, NULL, 0,
			    "unknown parameter");
		v = &out->v[k];
		/* From here on the name is table[k]'s: the value overwrites it. */
		if (v->present)
			return fail(out, err, errsz, table[k].name,
			    strlen(table[k].name), NULL, 0,
			    "duplicate parameter");
		/* The value, decoded in place in out->buf. */
		eq = eq == NULL ? end : eq + 1;
		/* The raw value is quoted: its decoded form is what failed. */
		if ((dn = decode(eq, (size_t)(end - eq), out->buf + used)) < 0)
			return fail(out, err, errsz, table[k].name,
			    strlen(table[k].name), eq, (size_t)(end - eq),
			    dn == -1 ?
			    "invalid percent-encoding" : "contains a nul byte");
		v->present = 1;
		v->str = out->buf + used;
		v->len = (size_t)dn;
		used += (size_t)dn;
		out->buf[used++] = '\0';
		if (convert(&table[k], v, out, err, errsz) != 0)
			return -1;
	}
	return 0;
}
