/*
 * fuzz_query.c: cgi/query.c against an independent reading of query.h.
 *
 * The input is a query string, parsed against a table like the report
 * endpoints' (text, integer and number parameters).  Properties:
 * - query_parse succeeds exactly when the reference below does: pairs
 *   split on '&' (empty ones skipped), name and value on the first '=',
 *   '+' as space and %XX decoded (WHATWG urlencoded), and refused for an
 *   unknown or repeated name, an empty name, a bad escape, a decoded NUL,
 *   a value out of its type or range, or too many bytes;
 * - on success each parameter has the reference's decoded value,
 *   NUL-terminated, and the converted number; on failure err, bad_reason
 *   are non-empty and err and bad_name are valid UTF-8;
 * - any error buffer size is respected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "query.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct query_param table[] = {
	{ "region", QUERY_TEXT, 0, 0, 0, 0, 64 },
	{ "datasource", QUERY_TEXT, 0, 0, 0, 0, 0 },
	{ "bbox", QUERY_TEXT, 0, 0, 0, 0, 200 },
	{ "limit", QUERY_INT, 1, 1000, 0, 0, 0 },
	{ "offset", QUERY_INT, 0, INT64_MAX, 0, 0, 0 },
	{ "min_trips", QUERY_INT, -5, 1000000, 0, 0, 0 },
	{ "lon", QUERY_DOUBLE, 0, 0, -180.0, 180.0, 0 },
	{ "lat", QUERY_DOUBLE, 0, 0, -90.0, 90.0, 0 },
};
#define NPARAMS	(sizeof(table) / sizeof(table[0]))

struct ref_value {
	int	 present;
	char	 str[QUERY_MAX_LEN + 1];
	size_t	 len;
	int64_t	 i;
	double	 d;
};

static int
hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode; -1 for a bad escape or a NUL (raw or decoded). */
static long
ref_decode(const char *s, size_t n, char *out)
{
	size_t	 i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			if (n - i < 3)
				return -1;
			if (hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
				return -1;
			c = (char)(hex(s[i + 1]) * 16 + hex(s[i + 2]));
			i += 2;
		} else if (c == '+')
			c = ' ';
		if (c == '\0')
			return -1;
		out[o++] = c;
	}
	return (long)o;
}

/* 0 with the values, or -1 when the query must be refused. */
static int
reference(const char *q, size_t len, struct ref_value *rv)
{
	char		 name[QUERY_MAX_LEN + 1];
	size_t		 start, end, eq, k, maxlen;
	long		 nl, vl;

	memset(rv, 0, sizeof(*rv) * NPARAMS);
	if (len > QUERY_MAX_LEN)
		return -1;
	for (start = 0; start < len; start = end + 1) {
		for (end = start; end < len && q[end] != '&'; end++)
			;
		if (end == start)
			continue;
		for (eq = start; eq < end && q[eq] != '='; eq++)
			;
		if (eq == start)
			return -1;
		/* query.c: a raw name longer than QUERY_NAME_MAX is unknown. */
		if (eq - start > QUERY_NAME_MAX)
			return -1;
		if ((nl = ref_decode(q + start, eq - start, name)) < 0)
			return -1;
		for (k = 0; k < NPARAMS; k++)
			if (strlen(table[k].name) == (size_t)nl &&
			    memcmp(table[k].name, name, (size_t)nl) == 0)
				break;
		if (k == NPARAMS || rv[k].present)
			return -1;
		eq = eq < end ? eq + 1 : end;
		if ((vl = ref_decode(q + eq, end - eq, rv[k].str)) < 0)
			return -1;
		rv[k].present = 1;
		rv[k].len = (size_t)vl;
		rv[k].str[vl] = '\0';
		switch (table[k].type) {
		case QUERY_INT:
			if (num_parse_i64(rv[k].str, rv[k].len, table[k].min,
			    table[k].max, &rv[k].i) != 0)
				return -1;
			break;
		case QUERY_DOUBLE:
			if (num_parse_double(rv[k].str, rv[k].len,
			    &rv[k].d) != 0 || !(rv[k].d >= table[k].dmin &&
			    rv[k].d <= table[k].dmax))
				return -1;
			break;
		default:
			maxlen = table[k].maxlen ? table[k].maxlen :
			    QUERY_MAX_LEN;
			if (rv[k].len > maxlen)
				return -1;
			break;
		}
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct query_values	 qv;
	static struct ref_value		 rv[NPARAMS];
	const char			*q = (const char *)data;
	char				 err[512], *small;
	size_t				 k, smallsz;
	int				 rc, ref;

	rc = query_parse(q, size, table, NPARAMS, &qv, err, sizeof(err));
	ref = reference(q, size, rv);
	if (rc != ref)
		abort();	/* accepts or refuses unlike query.h says */
	if (strnlen(err, sizeof(err)) == sizeof(err))
		abort();
	if (rc != 0) {
		if (err[0] == '\0' || qv.bad_reason[0] == '\0')
			abort();	/* refused without saying why */
		if (!utf8_valid(err, strlen(err)) ||
		    strnlen(qv.bad_name, sizeof(qv.bad_name)) ==
		    sizeof(qv.bad_name) ||
		    !utf8_valid(qv.bad_name, strlen(qv.bad_name)))
			abort();	/* unsafe text for the client */
	} else {
		for (k = 0; k < NPARAMS; k++) {
			const struct query_value *v = &qv.v[k];

			if (v->present != rv[k].present)
				abort();
			if (!v->present)
				continue;
			if (v->len != rv[k].len || v->str[v->len] != '\0' ||
			    memcmp(v->str, rv[k].str, v->len) != 0)
				abort();	/* decoded unlike the reference */
			if (table[k].type == QUERY_INT && v->i != rv[k].i)
				abort();
			if (table[k].type == QUERY_DOUBLE &&
			    memcmp(&v->d, &rv[k].d, sizeof(v->d)) != 0)
				abort();
		}
	}

	/* Small error buffers, exactly sized so ASan sees any overrun. */
	smallsz = size % 24;
	if ((small = malloc(smallsz ? smallsz : 1)) == NULL)
		return 0;
	rc = query_parse(q, size, table, NPARAMS, &qv, small, smallsz);
	if (rc != ref || (smallsz > 0 && strnlen(small, smallsz) == smallsz))
		abort();
	free(small);
	return 0;
}
