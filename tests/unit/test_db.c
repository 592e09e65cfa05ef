/*
 * test_db.c: db_get_i64, db_get_int and db_get_counts, which read every
 * number the programs take from a query's result.  The results are made
 * by libpq itself (PQmakeEmptyPGresult, PQsetResultAttrs, PQsetvalue:
 * "Miscellaneous Functions" in the libpq docs), so no server is needed:
 * what is tested is the reading of a text field, NULL and all.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "unit.h"

/* A value of the one-column result; NULL stands for SQL NULL. */
struct get_case {
	const char	*label;
	const char	*value;
	int64_t		 min, max;
	int		 rc;
	int64_t		 want;
};

static const struct get_case get_cases[] = {
	{ "count", "42", 0, INT64_MAX, 0, 42 },
	{ "zero", "0", 0, INT64_MAX, 0, 0 },
	{ "bigint max", "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
	{ "negative where allowed", "-1", INT64_MIN, INT64_MAX, 0, -1 },
	{ "negative where not", "-1", 0, INT64_MAX, -1, 0 },
	{ "above max", "11", 0, 10, -1, 0 },
	{ "null, not zero", NULL, 0, INT64_MAX, -1, 0 },
	{ "empty", "", 0, INT64_MAX, -1, 0 },
	{ "numeric with a fraction", "1.5", 0, INT64_MAX, -1, 0 },
	{ "trailing text", "12abc", 0, INT64_MAX, -1, 0 },
	{ "over bigint", "9223372036854775808", 0, INT64_MAX, -1, 0 },
};

/* A result of n int8 columns and one row holding values. */
static PGresult *
result_row_new(int n, const char *const *values)
{
	PGresAttDesc	 att[4];
	PGresult	*res;
	int		 i;

	if (n < 1 || n > 4)
		return NULL;
	memset(att, 0, sizeof(att));
	for (i = 0; i < n; i++) {
		att[i].name = (char *)"n";
		att[i].typid = 20;	/* int8 */
		att[i].typlen = 8;
		att[i].atttypmod = -1;
	}
	if ((res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL)
		return NULL;
	if (!PQsetResultAttrs(res, n, att)) {
		PQclear(res);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (!PQsetvalue(res, 0, i, (char *)values[i],
		    values[i] == NULL ? -1 : (int)strlen(values[i]))) {
			PQclear(res);
			return NULL;
		}
	return res;
}

/* A result of one text column and one row holding value. */
static PGresult *
result_new(const char *value)
{
	return result_row_new(1, &value);
}

static void
test_cases(void)
{
	const struct get_case	*c;
	PGresult		*res;
	int64_t			 v;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(get_cases) / sizeof(get_cases[0]); i++) {
		c = &get_cases[i];
		res = result_new(c->value);
		UNIT_CHECK(res != NULL, "%s: no result made", c->label);
		if (res == NULL)
			continue;
		v = -7;
		rc = db_get_i64(res, 0, 0, c->min, c->max, &v);
		UNIT_CHECK(rc == c->rc, "%s: rc %d, want %d", c->label, rc,
		    c->rc);
		if (c->rc == 0)
			UNIT_CHECK(v == c->want, "%s: %lld, want %lld",
			    c->label, (long long)v, (long long)c->want);
		else
			UNIT_CHECK(v == -7, "%s: out set on failure",
			    c->label);
		PQclear(res);
	}
}

/* Outside the result: no row, no column, no result at all. */
static void
test_outside(void)
{
	PGresult	*res = result_new("5");
	int64_t		 v;
	int		 n;

	UNIT_CHECK(res != NULL, "no result made");
	if (res == NULL)
		return;
	UNIT_CHECK(db_get_i64(res, 0, 0, 0, 9, &v) == 0 && v == 5,
	    "the one field");
	UNIT_CHECK(db_get_i64(res, 1, 0, 0, 9, &v) == -1, "row 1 of 1");
	UNIT_CHECK(db_get_i64(res, -1, 0, 0, 9, &v) == -1, "row -1");
	UNIT_CHECK(db_get_i64(res, 0, 1, 0, 9, &v) == -1, "column 1 of 1");
	UNIT_CHECK(db_get_i64(res, 0, -1, 0, 9, &v) == -1, "column -1");
	UNIT_CHECK(db_get_i64(NULL, 0, 0, 0, 9, &v) == -1, "no result");
	UNIT_CHECK(db_get_int(res, 0, 0, 0, INT_MAX, &n) == 0 && n == 5,
	    "as an int");
	UNIT_CHECK(db_get_int(res, 0, 0, 6, INT_MAX, &n) == -1,
	    "as an int below its min");
	PQclear(res);
	res = result_new("2147483648");
	UNIT_CHECK(res != NULL &&
	    db_get_int(res, 0, 0, 0, INT_MAX, &n) == -1,
	    "over INT_MAX as an int");
	PQclear(res);
}

/* A run of counts is read whole or not at all. */
static void
test_counts(void)
{
	static const char *const good[] = { "7", "0", "9223372036854775807",
	    "3" };
	static const char *const bad[] = { "7", "8", NULL, "3" };
	static const char *const neg[] = { "7", "-8", "9", "3" };
	PGresult	*res;
	uint64_t	 out[4] = { 1, 1, 1, 1 };

	res = result_row_new(4, good);
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, 0, 4, out) == 0 &&
	    out[0] == 7 && out[1] == 0 && out[2] == INT64_MAX && out[3] == 3,
	    "four counts");
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, 1, 3, out) == 0 &&
	    out[0] == 0 && out[2] == 3, "three from column 1");
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, 2, 3, out) == -1,
	    "a run past the last column");
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, -1, 2, out) == -1,
	    "a run from column -1");
	PQclear(res);
	out[0] = out[1] = out[2] = out[3] = 1;
	res = result_row_new(4, bad);
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, 0, 4, out) == -1 &&
	    out[0] == 1 && out[1] == 1, "a NULL among them: none set");
	PQclear(res);
	res = result_row_new(4, neg);
	UNIT_CHECK(res != NULL && db_get_counts(res, 0, 0, 4, out) == -1 &&
	    out[0] == 1, "a negative among them: none set");
	PQclear(res);
}

int
main(void)
{
	test_cases();
	test_outside();
	test_counts();
	return unit_done("test_db");
}
