/*
 * test_query.c: the query-string parser against a table like the job
 * listing's, plus a text and a number parameter: decoding, limits and
 * every refusal, each checked for its message and invalid_params parts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "unit.h"

enum { P_LIMIT, P_BEFORE, P_NAME, P_LAT, P__MAX };

static const struct query_param params[P__MAX] = {
	[P_LIMIT] = { "limit", QUERY_INT, 1, 500, 0, 0, 0 },
	[P_BEFORE] = { "before", QUERY_INT, 1, 2147483647, 0, 0, 0 },
	[P_NAME] = { "name", QUERY_TEXT, 0, 0, 0, 0, 8 },
	[P_LAT] = { "lat", QUERY_DOUBLE, 0, 0, -90, 90, 0 },
};

struct ok_case {
	const char	*q;
	long long	 limit, before;	/* -1: absent */
	const char	*name;		/* NULL: absent */
	double		 lat;		/* 999: absent */
};

static const struct ok_case ok_cases[] = {
	{ "", -1, -1, NULL, 999 },
	{ "&&&", -1, -1, NULL, 999 },
	{ "limit=10", 10, -1, NULL, 999 },
	{ "limit=500&before=2147483647", 500, 2147483647, NULL, 999 },
	{ "before=1&limit=1&", 1, 1, NULL, 999 },
	{ "name=a+b", -1, -1, "a b", 999 },
	{ "name=%41%2b%2F", -1, -1, "A+/", 999 },
	{ "name=", -1, -1, "", 999 },
	{ "name", -1, -1, "", 999 },
	{ "name=a=b", -1, -1, "a=b", 999 },
	{ "name=%C3%A9t%C3%A9", -1, -1, "\xc3\xa9t\xc3\xa9", 999 },
	{ "%6cimit=7", 7, -1, NULL, 999 },
	{ "lat=-12.5&limit=%32", 2, -1, NULL, -12.5 },
	{ "lat=90", -1, -1, NULL, 90 },
	{ "lat=-90", -1, -1, NULL, -90 },
	/* At the text limit (8 bytes), decoded: still taken. */
	{ "name=12345678", -1, -1, "12345678", 999 },
	{ "name=%C3%A9%C3%A9%C3%A9%C3%A9", -1, -1,
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 999 },
};

struct bad_case {
	const char	*q;
	const char	*detail;	/* the whole message */
	const char	*bad_name;
	const char	*reason;
};

static const struct bad_case bad_cases[] = {
	{ "foo=1", "unknown parameter \"foo\"", "foo", "unknown parameter" },
	/* Escaped in the detail; the name itself in invalid_params. */
	{ "a%22b%5Cc=1", "unknown parameter \"a\\\"b\\\\c\"", "a\"b\\c",
	  "unknown parameter" },
	{ "limit=1&Limit=2", "unknown parameter \"Limit\"", "Limit",
	  "unknown parameter" },
	{ "limit=1&limit=2", "duplicate parameter \"limit\"", "limit",
	  "duplicate parameter" },
	{ "limit=1&%6cimit=1", "duplicate parameter \"limit\"", "limit",
	  "duplicate parameter" },
	{ "limit=abc", "limit \"abc\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=0", "limit \"0\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=501", "limit \"501\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=", "limit \"\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit", "limit \"\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=+5", "limit \" 5\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=%2B5", "limit \"+5\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "limit=%205", "limit \" 5\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "before=2147483648",
	  "before \"2147483648\": must be an integer from 1 to "
	  "2147483647", "before", "must be an integer from 1 to 2147483647" },
	{ "before=99999999999999999999999",
	  "before \"99999999999999999999999\": must be an integer "
	  "from 1 to 2147483647", "before",
	  "must be an integer from 1 to 2147483647" },
	{ "lat=91", "lat \"91\": must be a number from -90 to 90",
	  "lat", "must be a number from -90 to 90" },
	{ "lat=nan", "lat \"nan\": must be a number from -90 to 90",
	  "lat", "must be a number from -90 to 90" },
	{ "name=123456789",
	  "name \"123456789\": longer than 8 bytes", "name",
	  "longer than 8 bytes" },
	/* The reason stands alone (invalid_params), the raw value quoted. */
	{ "name=%zz", "name \"%zz\": invalid percent-encoding",
	  "name", "invalid percent-encoding" },
	{ "name=%4", "name \"%4\": invalid percent-encoding",
	  "name", "invalid percent-encoding" },
	{ "name=%", "name \"%\": invalid percent-encoding",
	  "name", "invalid percent-encoding" },
	{ "name=a%00b", "name \"a%00b\": contains a nul byte", "name",
	  "contains a nul byte" },
	{ "%6eame=a+%0", "name \"a+%0\": invalid percent-encoding",
	  "name", "invalid percent-encoding" },
	{ "na%zme=1", "invalid percent-encoding in parameter \"na%zme\"",
	  "na%zme", "invalid percent-encoding in parameter" },
	{ "na%00me=1", "nul byte in parameter \"na%00me\"", "na%00me",
	  "nul byte in parameter" },
	{ "=1", "empty parameter name", "", "empty parameter name" },
	/* A raw name of QUERY_NAME_MAX bytes is still decoded first. */
	{ "%zzaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	  "invalid percent-encoding in parameter "
	  "\"%zzaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	  "%zzaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	  "invalid percent-encoding in parameter" },
	{ "%ff%fe=1", "unknown parameter \"\xef\xbf\xbd\xef\xbf\xbd\"",
	  "\xef\xbf\xbd\xef\xbf\xbd", "unknown parameter" },
	{ "x%0a%1b=1", "unknown parameter \"x\xef\xbf\xbd\xef\xbf\xbd\"",
	  "x\xef\xbf\xbd\xef\xbf\xbd", "unknown parameter" },
	{ "limit=1%26before%3d2",
	  "limit \"1&before=2\": must be an integer from 1 to 500",
	  "limit", "must be an integer from 1 to 500" },
	{ "averyveryveryveryveryveryverylongname=1",
	  "unknown parameter \"averyveryveryveryveryveryverylongname\"",
	  "averyveryveryveryveryveryverylongname", "unknown parameter" },
	/* Longer than any name of a table: still decoded, still named. */
	{ "averyveryveryveryveryveryveryveryveryveryveryverylongname=1",
	  "unknown parameter \"averyveryveryveryveryveryveryveryveryveryveryver"
	  "...\"", "averyveryveryveryveryveryveryveryveryveryveryver...",
	  "unknown parameter" },
	{ "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9=1",
	  "unknown parameter \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	  "\xc3\xa9\xc3\xa9\xc3\xa9\"",
	  "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	  "unknown parameter" },
};

/*
 * query_parse of exactly len bytes on the heap: ASan reports a read of
 * q[len].  v's strings point into v, not into the copy.
 */
static int
parse_heap(const char *q, size_t len, struct query_values *v, char *err,
    size_t errsz)
{
	char	*p;
	int	 rc;

	if ((p = malloc(len)) == NULL && len > 0)
		abort();
	memcpy(p, q, len);
	rc = query_parse(p, len, params, P__MAX, v, err, errsz);
	free(p);
	return rc;
}

static void
test_ok(void)
{
	struct query_values	 v;
	char			 err[256];
	size_t			 i;
	int			 rc;
	const struct ok_case	*c;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		c = &ok_cases[i];
		rc = parse_heap(c->q, strlen(c->q), &v, err, sizeof(err));
		if (rc != 0) {
			UNIT_CHECK(0, "\"%s\": %s", c->q, err);
			continue;
		}
		UNIT_CHECK(c->limit < 0 ? !v.v[P_LIMIT].present :
		    v.v[P_LIMIT].present && v.v[P_LIMIT].i == c->limit,
		    "\"%s\": limit", c->q);
		UNIT_CHECK(c->before < 0 ? !v.v[P_BEFORE].present :
		    v.v[P_BEFORE].present && v.v[P_BEFORE].i == c->before,
		    "\"%s\": before", c->q);
		UNIT_CHECK(c->name == NULL ? !v.v[P_NAME].present :
		    v.v[P_NAME].present && v.v[P_NAME].len == strlen(c->name) &&
		    strcmp(v.v[P_NAME].str, c->name) == 0,
		    "\"%s\": name \"%s\"", c->q,
		    v.v[P_NAME].present ? v.v[P_NAME].str : "(absent)");
		UNIT_CHECK(c->lat == 999 ? !v.v[P_LAT].present :
		    v.v[P_LAT].present && v.v[P_LAT].d == c->lat,
		    "\"%s\": lat", c->q);
	}
}

static void
test_bad(void)
{
	struct query_values	 v;
	char			 err[256];
	size_t			 i;
	const struct bad_case	*c;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		c = &bad_cases[i];
		UNIT_CHECK(parse_heap(c->q, strlen(c->q), &v, err,
		    sizeof(err)) == -1, "\"%s\" accepted", c->q);
		UNIT_CHECK(strcmp(err, c->detail) == 0,
		    "\"%s\": detail \"%s\", want \"%s\"", c->q, err, c->detail);
		UNIT_CHECK(strcmp(v.bad_name, c->bad_name) == 0,
		    "\"%s\": bad_name \"%s\", want \"%s\"", c->q, v.bad_name,
		    c->bad_name);
		UNIT_CHECK(strcmp(v.bad_reason, c->reason) == 0,
		    "\"%s\": reason \"%s\", want \"%s\"", c->q, v.bad_reason,
		    c->reason);
	}
}

/* The limits on length and pair count, the long value cut in messages. */
static void
test_limits(void)
{
	static const struct query_param text[] = {
		{ "t", QUERY_TEXT, 0, 0, 0, 0, 0 },
	};
	struct query_values	 v;
	char			 q[QUERY_MAX_LEN + 10], err[256];
	size_t			 n;
	int			 i;

	/* Exactly QUERY_MAX_LEN bytes pass; one more does not. */
	memcpy(q, "t=", 2);
	memset(q + 2, 'a', QUERY_MAX_LEN - 2);
	UNIT_CHECK(query_parse(q, QUERY_MAX_LEN, text, 1, &v, err,
	    sizeof(err)) == 0 && v.v[0].len == QUERY_MAX_LEN - 2,
	    "max length: %s", err);
	UNIT_CHECK(query_parse(q, QUERY_MAX_LEN + 1, text, 1, &v, err,
	    sizeof(err)) == -1 && strcmp(err, "query string longer than 2048 "
	    "bytes") == 0, "over max length: %s", err);
	/* Many empty pairs are skipped; a repeated unknown name fails once. */
	n = 0;
	for (i = 0; i < 100; i++) {
		memcpy(q + n, "&&x", 3);
		n += 3;
	}
	UNIT_CHECK(query_parse(q, n, text, 1, &v, err, sizeof(err)) == -1 &&
	    strcmp(err, "unknown parameter \"x\"") == 0, "pairs: %s", err);
	/* A long offending value is cut in the message. */
	memcpy(q, "lat=1&limit=", 12);
	memset(q + 12, '9', 200);
	UNIT_CHECK(query_parse(q, 212, params, P__MAX, &v, err,
	    sizeof(err)) == -1 && strlen(err) < 120 &&
	    strstr(err, "...\": must be") != NULL, "cut: %s", err);
	/* Not NUL-terminated input: only len bytes are read. */
	memcpy(q, "limit=5XXXX", 11);
	UNIT_CHECK(query_parse(q, 7, params, P__MAX, &v, err, sizeof(err)) ==
	    0 && v.v[P_LIMIT].i == 5, "len respected: %s", err);
	/* A raw NUL byte, in a value or a name. */
	UNIT_CHECK(query_parse("name=a\0b", 8, params, P__MAX, &v, err,
	    sizeof(err)) == -1 && strcmp(v.bad_reason, "contains a nul byte")
	    == 0, "raw NUL in value: %s", err);
	UNIT_CHECK(query_parse("na\0me=1", 8, params, P__MAX, &v, err,
	    sizeof(err)) == -1 && strcmp(v.bad_reason, "nul byte in "
	    "parameter") == 0, "raw NUL in name: %s", err);
	/* errsz 0: err is not written, whatever the outcome. */
	err[0] = 'Z';
	UNIT_CHECK(query_parse("limit=5", 7, params, P__MAX, &v, err, 0) ==
	    0 && err[0] == 'Z', "errsz 0, ok");
	UNIT_CHECK(query_parse("limit=0", 7, params, P__MAX, &v, err, 0) ==
	    -1 && err[0] == 'Z', "errsz 0, refused");
	/* A table too big for struct query_values. */
	UNIT_CHECK(query_parse("", 0, params, QUERY_MAX_PARAMS + 1, &v, err,
	    sizeof(err)) == -1, "table size");
}

/* A full table: every parameter once, then one pair too many. */
static void
test_pair_limit(void)
{
	static struct query_param many[QUERY_MAX_PARAMS];
	static char names[QUERY_MAX_PARAMS][4];
	struct query_values	 v;
	char			 q[512], err[256];
	size_t			 n = 0;
	int			 i;

	for (i = 0; i < QUERY_MAX_PARAMS; i++) {
		snprintf(names[i], sizeof(names[i]), "p%d", i);
		many[i].name = names[i];
		many[i].type = QUERY_TEXT;
	}
	for (i = 0; i < QUERY_MAX_PARAMS; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "p%d=%d&", i, i);
	UNIT_CHECK(query_parse(q, n, many, QUERY_MAX_PARAMS, &v, err,
	    sizeof(err)) == 0 && strcmp(v.v[15].str, "15") == 0,
	    "all params: %s", err);
	/* One pair more than the table: it must repeat a name. */
	n = 0;
	for (i = 0; i < QUERY_MAX_PARAMS + 1; i++)
		n += (size_t)snprintf(q + n, sizeof(q) - n, "p%d=1&",
		    i % QUERY_MAX_PARAMS);
	UNIT_CHECK(query_parse(q, n, many, QUERY_MAX_PARAMS, &v, err,
	    sizeof(err)) == -1 && strcmp(err, "duplicate parameter \"p0\"") ==
	    0, "pairs: %s", err);
}

int
main(void)
{
	test_ok();
	test_bad();
	test_limits();
	test_pair_limit();
	return unit_done("test_query");
}
