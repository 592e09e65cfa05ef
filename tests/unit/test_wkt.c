/*
 * test_wkt.c: lib/wkt.c, WKT points as the trips files write them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wkt.h"

struct wkt_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	enum wkt_err	 err;
	double		 lon, lat;
};

static const struct wkt_case cases[] = {
	{ "sample", "POINT (14.4973794438195 50.00136875782316)", 0, WKT_OK,
	    14.4973794438195, 50.00136875782316 },
	{ "no space before (", "POINT(7.5 45)", 0, WKT_OK, 7.5, 45 },
	{ "lower case", "point (1 2)", 0, WKT_OK, 1, 2 },
	{ "mixed case", "PoInT (1 2)", 0, WKT_OK, 1, 2 },
	{ "inner spaces", "POINT (  1   2  )", 0, WKT_OK, 1, 2 },
	{ "tabs", "\tPOINT\t(1\t2)\t", 0, WKT_OK, 1, 2 },
	{ "leading trailing spaces", "  POINT (1 2)  ", 0, WKT_OK, 1, 2 },
	{ "negative", "POINT (-5.6 -42.6)", 0, WKT_OK, -5.6, -42.6 },
	{ "exponent", "POINT (1e1 -2.5E-1)", 0, WKT_OK, 10, -0.25 },
	{ "integers", "POINT (0 0)", 0, WKT_OK, 0, 0 },
	{ "corner max", "POINT (180 90)", 0, WKT_OK, 180, 90 },
	{ "corner min", "POINT (-180 -90)", 0, WKT_OK, -180, -90 },
	{ "len cuts junk", "POINT (1 2)garbage", 11, WKT_OK, 1, 2 },
	/* OGC 06-103r4 7.2.1: <sign> ::= <plus sign> | <minus sign> */
	{ "plus sign", "POINT (+1 2)", 0, WKT_OK, 1, 2 },
	{ "plus both", "POINT (+14.5 +50.25)", 0, WKT_OK, 14.5, 50.25 },
	{ "plus fraction", "POINT (+.5 +5.)", 0, WKT_OK, 0.5, 5 },
	{ "plus exponent", "POINT (+1e+1 2)", 0, WKT_OK, 10, 2 },

	{ "empty", "", 0, WKT_ESYNTAX, 0, 0 },
	{ "spaces only", "   ", 0, WKT_ESYNTAX, 0, 0 },
	{ "partial tag", "POIN", 0, WKT_ESYNTAX, 0, 0 },
	{ "tag only", "POINT", 0, WKT_ESYNTAX, 0, 0 },
	{ "open only", "POINT (", 0, WKT_ESYNTAX, 0, 0 },
	{ "one number", "POINT (1", 0, WKT_ESYNTAX, 0, 0 },
	{ "one number closed", "POINT (12)", 0, WKT_ESYNTAX, 0, 0 },
	{ "unclosed", "POINT (1 2", 0, WKT_ESYNTAX, 0, 0 },
	{ "unclosed space", "POINT (1 2 ", 0, WKT_ESYNTAX, 0, 0 },
	{ "len cuts )", "POINT (1 2)", 10, WKT_ESYNTAX, 0, 0 },
	{ "EMPTY", "POINT EMPTY", 0, WKT_ESYNTAX, 0, 0 },
	{ "Z", "POINT Z (1 2 3)", 0, WKT_ESYNTAX, 0, 0 },
	{ "M", "POINT M (1 2 3)", 0, WKT_ESYNTAX, 0, 0 },
	{ "ZM glued", "POINTZ (1 2 3)", 0, WKT_ESYNTAX, 0, 0 },
	{ "three numbers", "POINT (1 2 3)", 0, WKT_ESYNTAX, 0, 0 },
	{ "comma", "POINT (1,2)", 0, WKT_ESYNTAX, 0, 0 },
	{ "comma space", "POINT (1, 2)", 0, WKT_ESYNTAX, 0, 0 },
	{ "trailing comma", "POINT (1 2,)", 0, WKT_ESYNTAX, 0, 0 },
	{ "double paren", "POINT ((1 2))", 0, WKT_ESYNTAX, 0, 0 },
	{ "multipoint", "MULTIPOINT ((1 2))", 0, WKT_ESYNTAX, 0, 0 },
	{ "linestring", "LINESTRING (1 2, 3 4)", 0, WKT_ESYNTAX, 0, 0 },
	{ "no tag", "(1 2)", 0, WKT_ESYNTAX, 0, 0 },
	{ "bare numbers", "1 2", 0, WKT_ESYNTAX, 0, 0 },
	{ "trailing junk", "POINT (1 2) x", 0, WKT_ESYNTAX, 0, 0 },
	{ "trailing newline", "POINT (1 2)\n", 0, WKT_ESYNTAX, 0, 0 },
	{ "two points", "POINT (1 2)POINT (3 4)", 0, WKT_ESYNTAX, 0, 0 },
	{ "word", "POINT (14.4 abc)", 0, WKT_ESYNTAX, 0, 0 },
	{ "word first", "POINT (abc 50)", 0, WKT_ESYNTAX, 0, 0 },
	{ "NUL in tag", "PO\0NT (1 2)", 11, WKT_ESYNTAX, 0, 0 },
	{ "SRID prefix", "SRID=4326;POINT (1 2)", 0, WKT_ESYNTAX, 0, 0 },

	{ "nan", "POINT (nan 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "NaN lat", "POINT (14 NaN)", 0, WKT_ENUMBER, 0, 0 },
	{ "inf", "POINT (inf 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "-Infinity", "POINT (-Infinity 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "1e400", "POINT (1e400 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "hex float", "POINT (0x1p3 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "plus sign only", "POINT (+ 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "plus minus", "POINT (+-1 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "two plus", "POINT (++1 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "plus nan", "POINT (+nan 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "plus in exponent only", "POINT (1e+ 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "decimal comma", "POINT (14,4 50)", 0, WKT_ESYNTAX, 0, 0 },
	{ "number junk", "POINT (12abc 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "two dots", "POINT (1.2.3 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "minus only", "POINT (- 50)", 0, WKT_ENUMBER, 0, 0 },
	/* A token that starts like a number is a number error. */
	{ "dot junk", "POINT (.x 50)", 0, WKT_ENUMBER, 0, 0 },
	{ "nine junk", "POINT (9x 50)", 0, WKT_ENUMBER, 0, 0 },
	/* Only the whole word names a non-finite number. */
	{ "nan prefix", "POINT (nanx 50)", 0, WKT_ESYNTAX, 0, 0 },
	{ "inf prefix", "POINT (14 info)", 0, WKT_ESYNTAX, 0, 0 },
	{ "NUL in number", "POINT (1\0 2)", 12, WKT_ENUMBER, 0, 0 },
	{ "64-byte number", "POINT (1.0000000000000000000000000000000000000000"
	    "0000000000000000000000 2)", 0, WKT_OK, 1, 2 },
	{ "64 bytes after a plus", "POINT (+1.000000000000000000000000000000"
	    "00000000000000000000000000000000 2)", 0, WKT_OK, 1, 2 },
	/* A finite number, too long to read: said so, not "not finite". */
	{ "65-byte number", "POINT (1.0000000000000000000000000000000000000000"
	    "00000000000000000000000 2)", 0, WKT_ELONG, 0, 0 },
	{ "65-byte latitude", "POINT (1 2.000000000000000000000000000000000000"
	    "000000000000000000000000001)", 0, WKT_ELONG, 0, 0 },
	/* 64 bytes that do not parse: a number error, not a long one. */
	{ "64-byte junk", "POINT (1.00000000000000000000000000000000000000000"
	    "00000000000000000000x 2)", 0, WKT_ENUMBER, 0, 0 },
	{ "64 bytes of junk after a plus", "POINT (+1.00000000000000000000000"
	    "00000000000000000000000000000000000000x 2)", 0, WKT_ENUMBER,
	    0, 0 },
	{ "nan stays a number error", "POINT (nan 2)", 0, WKT_ENUMBER, 0, 0 },

	{ "lon 200", "POINT (200 50)", 0, WKT_ERANGE, 0, 0 },
	{ "lon -180.0000001", "POINT (-180.0000001 0)", 0, WKT_ERANGE, 0, 0 },
	{ "lat 90.5", "POINT (0 90.5)", 0, WKT_ERANGE, 0, 0 },
	{ "lat -91", "POINT (0 -91)", 0, WKT_ERANGE, 0, 0 },
	{ "swapped", "POINT (50 100)", 0, WKT_ERANGE, 0, 0 },
	{ "huge", "POINT (1e300 0)", 0, WKT_ERANGE, 0, 0 },
};

static void
test_cases(void)
{
	size_t	 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct wkt_case *c = &cases[i];
		double	 lon = 999, lat = 999;
		enum wkt_err e;
		char	*p;

		len = c->len ? c->len : strlen(c->in);
		/*
		 * A heap copy of exactly len bytes: ASan reports a read of
		 * buf[len].
		 */
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, c->in, len);
		e = wkt_point_parse(p, len, &lon, &lat);
		free(p);
		UNIT_CHECK(e == c->err, "%s: got %d (%s), want %d (%s)",
		    c->label, e, wkt_strerror(e), c->err, wkt_strerror(c->err));
		if (c->err == WKT_OK)
			UNIT_CHECK(lon == c->lon && lat == c->lat,
			    "%s: got %.17g %.17g", c->label, lon, lat);
		else
			UNIT_CHECK(lon == 999 && lat == 999,
			    "%s: output written on error", c->label);
	}
}

static void
test_strerror(void)
{
	UNIT_CHECK(strcmp(wkt_strerror(WKT_ESYNTAX), "not a WKT point") == 0,
	    "strerror syntax");
	UNIT_CHECK(strcmp(wkt_strerror(WKT_ENUMBER), "not a finite decimal number")
	    == 0, "strerror number");
	UNIT_CHECK(strcmp(wkt_strerror(WKT_ERANGE), "coordinate out of range")
	    == 0, "strerror range");
	UNIT_CHECK(strcmp(wkt_strerror(WKT_ELONG),
	    "number longer than 64 characters") == 0, "strerror long");
	UNIT_CHECK(wkt_strerror(WKT__MAX) != NULL, "strerror out of range");
}

/* Every prefix of a valid point is refused, byte by byte. */
static void
test_prefixes(void)
{
	static const char full[] = "POINT (14.4973794438195 50.0013687578)";
	double	 lon, lat;
	size_t	 n;

	for (n = 0; n < sizeof(full) - 1; n++) {
		enum wkt_err e = wkt_point_parse(full, n, &lon, &lat);

		UNIT_CHECK(e != WKT_OK, "prefix of %zu bytes accepted", n);
	}
	UNIT_CHECK(wkt_point_parse(full, sizeof(full) - 1, &lon, &lat) ==
	    WKT_OK, "full point");
}

int
main(void)
{
	test_cases();
	test_strerror();
	test_prefixes();
	return unit_done("test_wkt");
}
