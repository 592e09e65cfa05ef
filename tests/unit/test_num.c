/*
 * test_num.c: lib/num.c, the strict number parsers every outside number
 * goes through, and the shortest round-trip formatter.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "unit.h"

struct i64_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	int64_t		 min, max;
	int		 rc;
	int64_t		 want;
};

static const struct i64_case i64_cases[] = {
	{ "zero", "0", 0, INT64_MIN, INT64_MAX, 0, 0 },
	{ "minus zero", "-0", 0, INT64_MIN, INT64_MAX, 0, 0 },
	{ "small", "42", 0, INT64_MIN, INT64_MAX, 0, 42 },
	{ "negative", "-42", 0, INT64_MIN, INT64_MAX, 0, -42 },
	{ "leading zeros", "007", 0, INT64_MIN, INT64_MAX, 0, 7 },
	{ "max", "9223372036854775807", 0, INT64_MIN, INT64_MAX, 0,
	    INT64_MAX },
	{ "min", "-9223372036854775808", 0, INT64_MIN, INT64_MAX, 0,
	    INT64_MIN },
	{ "max + 1", "9223372036854775808", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "min - 1", "-9223372036854775809", 0, INT64_MIN, INT64_MAX, -1,
	    0 },
	{ "19 nines", "9999999999999999999", 0, INT64_MIN, INT64_MAX, -1,
	    0 },
	{ "20 digits", "10000000000000000000", 0, INT64_MIN, INT64_MAX, -1,
	    0 },
	/* Leading zeros are not digits of the value, however many. */
	{ "20 zeros", "00000000000000000000", 0, INT64_MIN, INT64_MAX,
	    0, 0 },
	{ "zeros then 1", "00000000000000000001", 0, INT64_MIN, INT64_MAX,
	    0, 1 },
	{ "zeros then max", "0000000000009223372036854775807", 0, INT64_MIN,
	    INT64_MAX, 0, INT64_MAX },
	{ "zeros then min", "-0009223372036854775808", 0, INT64_MIN,
	    INT64_MAX, 0, INT64_MIN },
	{ "zeros then 20 digits", "0010000000000000000000", 0, INT64_MIN,
	    INT64_MAX, -1, 0 },
	{ "zeros then junk", "000x", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "minus zeros", "-000", 0, INT64_MIN, INT64_MAX, 0, 0 },
	{ "uint64 wrap", "18446744073709551617", 0, INT64_MIN, INT64_MAX,
	    -1, 0 },
	{ "empty", "", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "minus only", "-", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "plus", "+1", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "double minus", "--1", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "leading space", " 1", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "trailing space", "1 ", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "trailing junk", "12x", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "fraction", "1.0", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "exponent", "1e3", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "hex", "0x10", 0, INT64_MIN, INT64_MAX, -1, 0 },
	{ "embedded NUL", "1\0002", 3, INT64_MIN, INT64_MAX, -1, 0 },
	{ "len cuts", "12345", 2, INT64_MIN, INT64_MAX, 0, 12 },
	{ "below min", "0", 0, 1, 10, -1, 0 },
	{ "above max", "11", 0, 1, 10, -1, 0 },
	{ "at min", "1", 0, 1, 10, 0, 1 },
	{ "at max", "10", 0, 1, 10, 0, 10 },
	{ "negative vs min 0", "-1", 0, 0, 10, -1, 0 },
	{ "INT64_MIN vs min -1", "-9223372036854775808", 0, -1, 0, -1, 0 },
	{ "INT64_MAX vs max 0", "9223372036854775807", 0, -1, 0, -1, 0 },
};

struct dbl_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	int		 rc;
	double		 want;
};

static const struct dbl_case dbl_cases[] = {
	{ "integer", "14", 0, 0, 14.0 },
	{ "decimal", "14.4973", 0, 0, 14.4973 },
	{ "negative", "-5.6", 0, 0, -5.6 },
	{ "minus zero", "-0", 0, 0, -0.0 },
	{ "leading dot", ".5", 0, 0, 0.5 },
	{ "trailing dot", "5.", 0, 0, 5.0 },
	{ "minus leading dot", "-.5", 0, 0, -0.5 },
	{ "exponent", "1e3", 0, 0, 1000.0 },
	{ "exponent upper", "1E3", 0, 0, 1000.0 },
	{ "exponent minus", "-1e-3", 0, 0, -0.001 },
	{ "exponent plus", "1.5e+2", 0, 0, 150.0 },
	{ "underflow to zero", "1e-400", 0, 0, 0.0 },
	{ "max double", "1.7976931348623157e308", 0, 0, DBL_MAX },
	{ "long coordinate", "50.00136875782316", 0, 0, 50.00136875782316 },
	{ "64 bytes", "1.00000000000000000000000000000000000000000000000000"
	    "000000000000", 0, 0, 1.0 },
	{ "65 bytes", "1.00000000000000000000000000000000000000000000000000"
	    "0000000000000", 0, -1, 0 },
	{ "len cuts", "14.4973", 4, 0, 14.4 },
	{ "empty", "", 0, -1, 0 },
	{ "minus only", "-", 0, -1, 0 },
	{ "dot only", ".", 0, -1, 0 },
	{ "minus dot", "-.", 0, -1, 0 },
	{ "plus", "+1", 0, -1, 0 },
	{ "leading space", " 1", 0, -1, 0 },
	{ "trailing space", "1 ", 0, -1, 0 },
	{ "trailing junk", "1.5x", 0, -1, 0 },
	{ "two dots", "1.2.3", 0, -1, 0 },
	{ "exponent no digits", "1e", 0, -1, 0 },
	{ "exponent sign only", "1e+", 0, -1, 0 },
	{ "exponent only", "e5", 0, -1, 0 },
	{ "nan", "nan", 0, -1, 0 },
	{ "NaN", "NaN", 0, -1, 0 },
	{ "inf", "inf", 0, -1, 0 },
	{ "-inf", "-inf", 0, -1, 0 },
	{ "infinity", "infinity", 0, -1, 0 },
	{ "overflow", "1e400", 0, -1, 0 },
	{ "negative overflow", "-1e400", 0, -1, 0 },
	{ "just over max", "1.8e308", 0, -1, 0 },
	{ "hex float", "0x1p3", 0, -1, 0 },
	{ "hex int", "0x10", 0, -1, 0 },
	{ "comma decimal", "14,4", 0, -1, 0 },
	{ "embedded NUL", "1\0002", 3, -1, 0 },
	{ "NUL after number", "1\0", 2, -1, 0 },
	{ "tab", "1\t", 0, -1, 0 },
	{ "newline", "1\n", 0, -1, 0 },
};

/* Doubles whose shortest text is known. */
static const struct {
	const char	*label;
	double		 v;
	const char	*want;
} fmt_cases[] = {
	{ "coordinate", 14.4973, "14.4973" },
	{ "sample lat", 50.00136875782316, "50.00136875782316" },
	{ "sample lon", 14.4973794438195, "14.4973794438195" },
	{ "zero", 0.0, "0" },
	{ "minus zero", -0.0, "-0" },
	{ "one tenth", 0.1, "0.1" },
	{ "0.1 + 0.2", 0.1 + 0.2, "0.30000000000000004" },
	{ "integer", 180.0, "180" },
	{ "negative", -90.0, "-90" },
	{ "max", DBL_MAX, "1.7976931348623157e+308" },
	{ "min normal", DBL_MIN, "2.2250738585072014e-308" },
	/* "%.15g" reads back; "%.16g" would be 9.999999999999999e+22. */
	{ "1e23", 1e23, "1e+23" },
};

static void
test_i64(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(i64_cases) / sizeof(i64_cases[0]); i++) {
		const struct i64_case *c = &i64_cases[i];
		size_t	 len = c->len ? c->len : strlen(c->in);
		int64_t	 v = 12345;
		int	 rc;
		char	*p;

		/* Exactly len bytes: ASan reports a read of buf[len]. */
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, c->in, len);
		rc = num_parse_i64(p, len, c->min, c->max, &v);
		free(p);
		UNIT_CHECK(rc == c->rc, "i64 %s: rc %d, want %d", c->label,
		    rc, c->rc);
		if (c->rc == 0)
			UNIT_CHECK(v == c->want, "i64 %s: got %lld, want %lld",
			    c->label, (long long)v, (long long)c->want);
		else
			UNIT_CHECK(v == 12345, "i64 %s: output written on "
			    "error", c->label);
	}
}

static void
test_double(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(dbl_cases) / sizeof(dbl_cases[0]); i++) {
		const struct dbl_case *c = &dbl_cases[i];
		size_t	 len = c->len ? c->len : strlen(c->in);
		double	 v = 12345.0;
		int	 rc;
		char	*p;

		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, c->in, len);
		rc = num_parse_double(p, len, &v);
		free(p);
		UNIT_CHECK(rc == c->rc, "double %s: rc %d, want %d", c->label,
		    rc, c->rc);
		if (c->rc == 0)
			UNIT_CHECK(v == c->want && signbit(v) ==
			    signbit(c->want), "double %s: got %.17g, want "
			    "%.17g", c->label, v, c->want);
		else
			UNIT_CHECK(v == 12345.0, "double %s: output written on "
			    "error", c->label);
	}
}

/*
 * The input need not be NUL-terminated: parse from the end of a heap
 * block, where ASan catches any read past len.
 */
static void
test_no_nul(void)
{
	static const char *const ok[] = { "1", "-12.5e3", "9223372036854775807" };
	size_t	 i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t	 len = strlen(ok[i]);
		char	*p = malloc(len);
		double	 d;
		int64_t	 v;

		if (p == NULL)
			abort();
		memcpy(p, ok[i], len);
		UNIT_CHECK(num_parse_double(p, len, &d) == 0,
		    "no NUL: double \"%s\"", ok[i]);
		if (i != 1)
			UNIT_CHECK(num_parse_i64(p, len, INT64_MIN, INT64_MAX,
			    &v) == 0, "no NUL: i64 \"%s\"", ok[i]);
		free(p);
	}
}

static void
test_format(void)
{
	char	 buf[32], small[4];
	size_t	 i, n;
	double	 back;

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		n = num_format_double(fmt_cases[i].v, buf, sizeof(buf));
		UNIT_CHECK(strcmp(buf, fmt_cases[i].want) == 0 &&
		    n == strlen(buf), "format %s: got \"%s\" (%zu), want "
		    "\"%s\"", fmt_cases[i].label, buf, n, fmt_cases[i].want);
	}

	/* A buffer too small gets a cut, terminated string and 0. */
	n = num_format_double(50.00136875782316, small, sizeof(small));
	UNIT_CHECK(n == 0 && strlen(small) < sizeof(small),
	    "format into 4 bytes: %zu \"%s\"", n, small);
	/* One byte short of the terminator is too small too. */
	n = num_format_double(14.4973, buf, 7);
	UNIT_CHECK(n == 0, "format 7 characters into 7 bytes: %zu", n);
	n = num_format_double(14.4973, buf, 8);
	UNIT_CHECK(n == 7 && strcmp(buf, "14.4973") == 0,
	    "format 7 characters into 8 bytes: %zu \"%s\"", n, buf);

	/*
	 * Random bit patterns (finite only) must come back exactly through
	 * our own parser, in at most 17 significant digits.
	 */
	srand(4242);
	for (i = 0; i < 200000; i++) {
		uint64_t bits = 0;
		double	 v;
		int	 j;

		for (j = 0; j < 4; j++)
			bits = (bits << 16) ^ (uint64_t)(rand() & 0xffff);
		if (i % 2 == 0) {
			/* Coordinates: the common case. */
			v = ((double)(bits >> 11) / 9007199254740992.0) *
			    360.0 - 180.0;
		} else
			memcpy(&v, &bits, sizeof(v));
		if (!isfinite(v))
			continue;
		n = num_format_double(v, buf, sizeof(buf));
		back = 12345.0;
		if (num_parse_double(buf, n, &back) != 0 || back != v ||
		    signbit(back) != signbit(v)) {
			UNIT_CHECK(0, "round trip %a: \"%s\" read back as %a",
			    v, buf, back);
			break;
		}
	}
	UNIT_CHECK(i == 200000, "round trip loop stopped at %zu", i);
}

/*
 * Random decimals against strtod itself, bit for bit: the fast path for
 * short mantissas (Clinger) and the strtod path must agree with it.
 */
static void
test_vs_strtod(void)
{
	char	 buf[80];
	size_t	 n, k;
	double	 mine, ref;
	int	 i, nd, rc, bad = 0, fast = 0;

	srand(31337);
	for (i = 0; i < 1000000 && bad < 5; i++) {
		n = 0;
		if (rand() % 2)
			buf[n++] = '-';
		nd = rand() % 12;
		for (k = 0; k < (size_t)nd; k++)
			buf[n++] = (char)('0' + rand() % 10);
		if (rand() % 4 != 0) {
			buf[n++] = '.';
			nd = rand() % 20;
			for (k = 0; k < (size_t)nd; k++)
				buf[n++] = (char)('0' + rand() % 10);
		}
		if (rand() % 3 == 0)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%d",
			    rand() % 80 - 40);
		buf[n] = '\0';
		rc = num_parse_double(buf, n, &mine);
		ref = strtod(buf, NULL);
		if (strspn(buf, "-.") == n || buf[strspn(buf, "-")] == 'e' ||
		    (buf[strspn(buf, "-")] == '.' && (buf[strspn(buf, "-") + 1]
		    < '0' || buf[strspn(buf, "-") + 1] > '9'))) {
			/* No digits before the exponent: refused. */
			if (rc != -1) {
				UNIT_CHECK(0, "vs strtod: \"%s\" accepted", buf);
				bad++;
			}
			continue;
		}
		if (n > 64 || !isfinite(ref)) {
			if (rc != -1) {
				UNIT_CHECK(0, "vs strtod: \"%s\" accepted", buf);
				bad++;
			}
			continue;
		}
		if (rc != 0 || memcmp(&mine, &ref, sizeof(ref)) != 0) {
			UNIT_CHECK(0, "vs strtod: \"%s\": %d %a, strtod %a",
			    buf, rc, mine, ref);
			bad++;
		}
		if (n <= 17)
			fast++;
	}
	UNIT_CHECK(bad == 0 && fast > 100000, "vs strtod: %d bad", bad);
	/* The edges of the fast path. */
	{
		static const char *const edge[] = {
			"9007199254740992", "9007199254740993",
			"9007199254740992e22", "9007199254740993e-22",
			"1e22", "1e23", "1e-22", "1e-23", "123456789012345678",
			"0.1", "0.3", "2.2250738585072011e-308",
			"4.9e-324", "1e-400", "179769313486231570000e288",
			"0.000000000000000000000000000001", "-0.0", "0e500",
			"14.4973794438195", "50.00136875782316",
			"50.000000000000000000000001",
			/* w would wrap to 0 without the overflow check. */
			"18446744073709551616", "1844674407370955161.6",
		};
		for (k = 0; k < sizeof(edge) / sizeof(edge[0]); k++) {
			ref = strtod(edge[k], NULL);
			rc = num_parse_double(edge[k], strlen(edge[k]), &mine);
			UNIT_CHECK(rc == 0 && memcmp(&mine, &ref, sizeof(ref))
			    == 0, "edge \"%s\": %a vs %a", edge[k], mine, ref);
		}
	}
}

/* Every byte: a hexadecimal digit's value, either case, else -1. */
static void
test_hex(void)
{
	int		 c, want;

	for (c = 0; c < 256; c++) {
		want = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		UNIT_CHECK(num_hex_digit((char)c) == want,
		    "hex %d: %d, want %d", c, num_hex_digit((char)c), want);
	}
}

int
main(void)
{
	test_hex();
	test_i64();
	test_double();
	test_no_nul();
	test_format();
	test_vs_strtod();
	return unit_done("test_num");
}
