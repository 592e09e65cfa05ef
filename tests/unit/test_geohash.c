/*
 * test_geohash.c: lib/geohash.c against the reference bisection (written
 * out here exactly as the scheme defines it), known vectors, and the
 * half-open bounds property that makes the reports exact.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geohash.h"
#include "unit.h"

/* The scheme itself: 60 bisections, longitude first, ">=" takes bit 1. */
static uint64_t
ref_encode(double lon, double lat)
{
	double	 lonlo = -180.0, lonhi = 180.0, latlo = -90.0, lathi = 90.0;
	double	 mid;
	uint64_t cell = 0;
	int	 i;

	for (i = 0; i < 60; i++) {
		cell <<= 1;
		if (i % 2 == 0) {
			mid = (lonlo + lonhi) / 2;
			if (lon >= mid) {
				cell |= 1;
				lonlo = mid;
			} else
				lonhi = mid;
		} else {
			mid = (latlo + lathi) / 2;
			if (lat >= mid) {
				cell |= 1;
				latlo = mid;
			} else
				lathi = mid;
		}
	}
	return cell;
}

/* The bounds the bisection arrives at after 5 * chars steps. */
static void
ref_bounds(uint64_t cell, int chars, double b[4])
{
	double	 lonlo = -180.0, lonhi = 180.0, latlo = -90.0, lathi = 90.0;
	double	 mid;
	int	 i, n = 5 * chars, bit;

	for (i = 0; i < n; i++) {
		bit = (int)(cell >> (n - 1 - i)) & 1;
		if (i % 2 == 0) {
			mid = (lonlo + lonhi) / 2;
			if (bit)
				lonlo = mid;
			else
				lonhi = mid;
		} else {
			mid = (latlo + lathi) / 2;
			if (bit)
				latlo = mid;
			else
				lathi = mid;
		}
	}
	b[0] = lonlo;
	b[1] = latlo;
	b[2] = lonhi;
	b[3] = lathi;
}

static const struct {
	const char	*label;
	double		 lon, lat;
	int		 chars;
	const char	*want;
} vectors[] = {
	{ "wikipedia", 10.40744, 57.64911, 11, "u4pruydqqvj" },
	{ "ezs42", -5.6, 42.6, 5, "ezs42" },
	{ "sample prague", 14.4973794438195, 50.00136875782316, 12,
	    "u2fk3ykxj6tw" },
	{ "origin", 0, 0, 12, "s00000000000" },
	{ "upper corner", 180, 90, 12, "zzzzzzzzzzzz" },
	{ "lower corner", -180, -90, 12, "000000000000" },
	{ "one char", 10.40744, 57.64911, 1, "u" },
	{ "lon 180 lat 0", 180, 0, 2, "xb" },
	{ "minus zero", -0.0, -0.0, 3, "s00" },
};

static void
test_vectors(void)
{
	char	 buf[GEOHASH_MAX_CHARS + 1];
	uint64_t cell, back;
	size_t	 i, n;
	int	 chars;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		cell = geohash_truncate(geohash_encode(vectors[i].lon,
		    vectors[i].lat), vectors[i].chars);
		n = geohash_format(cell, vectors[i].chars, buf, sizeof(buf));
		UNIT_CHECK(n == strlen(vectors[i].want) &&
		    strcmp(buf, vectors[i].want) == 0, "%s: got \"%s\"",
		    vectors[i].label, buf);
		UNIT_CHECK(geohash_parse(vectors[i].want,
		    strlen(vectors[i].want), &back, &chars) == 0 &&
		    back == cell && chars == vectors[i].chars,
		    "%s: parse", vectors[i].label);
	}
}

static const struct {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen */
	int		 rc;
} parses[] = {
	{ "empty", "", 0, -1 },
	{ "one", "u", 0, 0 },
	{ "twelve", "u4pruydqqvjx", 0, 0 },
	{ "thirteen", "u4pruydqqvjxx", 0, -1 },
	{ "upper case", "U4PRUYD", 0, 0 },
	{ "upper Z", "UZ", 0, 0 },
	{ "letter a", "ua", 0, -1 },
	{ "letter i", "ui", 0, -1 },
	{ "letter l", "ul", 0, -1 },
	{ "letter o", "uo", 0, -1 },
	{ "space", "u4 p", 0, -1 },
	{ "trailing space", "u4p ", 0, -1 },
	{ "NUL", "u\0p", 3, -1 },
	{ "high byte", "u\xc3\xa9", 0, -1 },
	{ "dash", "-u4", 0, -1 },
};

static void
test_parse(void)
{
	uint64_t cell = 77;
	size_t	 i, len;
	int	 chars = 77;
	char	 buf[GEOHASH_MAX_CHARS + 1];

	for (i = 0; i < sizeof(parses) / sizeof(parses[0]); i++) {
		len = parses[i].len ? parses[i].len : strlen(parses[i].in);
		UNIT_CHECK(geohash_parse(parses[i].in, len, &cell, &chars) ==
		    parses[i].rc, "parse %s", parses[i].label);
	}
	geohash_parse("U4PRUYD", 7, &cell, &chars);
	geohash_format(cell, chars, buf, sizeof(buf));
	UNIT_CHECK(strcmp(buf, "u4pruyd") == 0, "upper case formats lower");

	UNIT_CHECK(geohash_format(1, 0, buf, sizeof(buf)) == 0, "chars 0");
	UNIT_CHECK(geohash_format(1, 13, buf, sizeof(buf)) == 0, "chars 13");
	UNIT_CHECK(geohash_format(32, 1, buf, sizeof(buf)) == 0,
	    "cell wider than chars");
	UNIT_CHECK(geohash_format(UINT64_C(1) << 60, 12, buf, sizeof(buf))
	    == 0, "cell wider than 12 chars");
	UNIT_CHECK(geohash_format(31, 1, buf, 1) == 0, "outsz 1");
	UNIT_CHECK(geohash_format(31, 1, buf, 2) == 1 && strcmp(buf, "z") ==
	    0, "outsz 2");
	UNIT_CHECK(geohash_truncate(UINT64_C(0xfffffffffffffff), 0) == 0,
	    "truncate 0");
	UNIT_CHECK(geohash_truncate(UINT64_C(0xfffffffffffffff), 12) ==
	    UINT64_C(0xfffffffffffffff), "truncate 12");
	UNIT_CHECK(geohash_truncate(UINT64_C(0xfffffffffffffff), 1) == 31,
	    "truncate 1");
	/* The aggregates' fine level: 18 longitude and 17 latitude bits. */
	UNIT_CHECK(geohash_axis_bits(7, 0) == 18 && geohash_axis_bits(7, 1) ==
	    17, "axis bits 7");
	UNIT_CHECK(geohash_axis_bits(1, 0) == 3 && geohash_axis_bits(1, 1) ==
	    2 && geohash_axis_bits(12, 0) == 30 && geohash_axis_bits(12, 1) ==
	    30, "axis bits 1 and 12");
}

/*
 * The property the reports rely on: the cell of a point at every
 * precision holds it half-open, its bounds are the bisection's own, and
 * the fast encoder agrees with the bisection bit for bit.
 */
static int
check_point(double lon, double lat)
{
	uint64_t cell60 = geohash_encode(lon, lat), c;
	double	 b[4], r[4];
	int	 chars, inlon, inlat;

	if (cell60 != ref_encode(lon, lat)) {
		UNIT_CHECK(0, "encode %.17g %.17g: %llx, bisection %llx",
		    lon, lat, (unsigned long long)cell60,
		    (unsigned long long)ref_encode(lon, lat));
		return -1;
	}
	for (chars = 1; chars <= GEOHASH_MAX_CHARS; chars++) {
		c = geohash_truncate(cell60, chars);
		geohash_bounds(c, chars, &b[0], &b[1], &b[2], &b[3]);
		ref_bounds(c, chars, r);
		if (memcmp(b, r, sizeof(b)) != 0) {
			UNIT_CHECK(0, "bounds %.17g %.17g at %d differ", lon,
			    lat, chars);
			return -1;
		}
		inlon = (b[0] <= lon && lon < b[2]) ||
		    (lon == 180.0 && b[2] == 180.0);
		inlat = (b[1] <= lat && lat < b[3]) ||
		    (lat == 90.0 && b[3] == 90.0);
		if (!inlon || !inlat) {
			UNIT_CHECK(0, "%.17g %.17g not in its cell at %d: "
			    "[%.17g, %.17g) x [%.17g, %.17g)", lon, lat, chars,
			    b[0], b[2], b[1], b[3]);
			return -1;
		}
	}
	return 0;
}

static double
rnd01(void)
{
	uint64_t r = ((uint64_t)(rand() & 0xffffff) << 29) ^
	    (uint64_t)(rand() & 0x1fffffff);

	return (double)(r & ((UINT64_C(1) << 53) - 1)) / 9007199254740992.0;
}

static void
test_random_points(void)
{
	int	 i, bad = 0;

	srand(12345);
	for (i = 0; i < 300000 && bad == 0; i++)
		bad = check_point(rnd01() * 360.0 - 180.0,
		    rnd01() * 180.0 - 90.0);
	/* Around Prague, Turin and Hamburg, where the data is. */
	for (i = 0; i < 100000 && bad == 0; i++)
		bad = check_point(7.0 + rnd01() * 8.0, 44.0 + rnd01() * 10.0);
	UNIT_CHECK(bad == 0, "random points");
}

/*
 * Points exactly on cell edges at every precision, and the doubles just
 * below and above them: where an inexact encoder would go wrong.
 */
static void
test_edges(void)
{
	static const double specials[] = { -180, -90, 0, 90, 180, -0.0 };
	double	 lon, lat, e[3][2];
	int	 chars, i, j, k, bad = 0;
	uint64_t c;

	srand(99);
	for (chars = 1; chars <= GEOHASH_MAX_CHARS && bad == 0; chars++) {
		for (i = 0; i < 3000 && bad == 0; i++) {
			c = geohash_truncate(geohash_encode(rnd01() * 360 -
			    180, rnd01() * 180 - 90), chars);
			geohash_bounds(c, chars, &e[0][0], &e[0][1], &e[1][0],
			    &e[1][1]);
			e[2][0] = (e[0][0] + e[1][0]) / 2;
			e[2][1] = (e[0][1] + e[1][1]) / 2;
			for (j = 0; j < 3 && bad == 0; j++)
				for (k = 0; k < 3 && bad == 0; k++) {
					lon = e[j][0];
					lat = e[k][1];
					bad = check_point(lon, lat);
					if (bad == 0 && lon > -180)
						bad = check_point(nextafter(lon,
						    -180), lat);
					if (bad == 0 && lat > -90)
						bad = check_point(lon,
						    nextafter(lat, -90));
					if (bad == 0 && lon < 180)
						bad = check_point(nextafter(lon,
						    180), lat);
					if (bad == 0 && lat < 90)
						bad = check_point(lon,
						    nextafter(lat, 90));
				}
		}
	}
	for (i = 0; i < 6 && bad == 0; i++)
		for (j = 0; j < 6 && bad == 0; j++)
			if (fabs(specials[j]) <= 90)
				bad = check_point(specials[i], specials[j]);
	bad |= check_point(1e-300, -1e-300);
	bad |= check_point(-1e-300, 1e-300);
	bad |= check_point(nextafter(180, 0), nextafter(90, 0));
	bad |= check_point(nextafter(-180, 0), nextafter(-90, 0));
	UNIT_CHECK(bad == 0, "edge points");
	/* Out of the world and NaN land where the bisection puts them. */
	UNIT_CHECK(geohash_encode(181, 91) == ref_encode(181, 91), "above");
	UNIT_CHECK(geohash_encode(-181, -91) == 0, "below");
	UNIT_CHECK(geohash_encode(NAN, NAN) == ref_encode(NAN, NAN), "nan");
	UNIT_CHECK(geohash_encode(INFINITY, -INFINITY) ==
	    ref_encode(INFINITY, -INFINITY), "inf");
}

/* A prefix is a right shift, and the bounds nest. */
static void
test_nesting(void)
{
	double	 p[4], q[4];
	uint64_t cell60;
	int	 i, chars, bad = 0;

	srand(5);
	for (i = 0; i < 20000; i++) {
		cell60 = geohash_encode(rnd01() * 360 - 180,
		    rnd01() * 180 - 90);
		for (chars = 2; chars <= GEOHASH_MAX_CHARS; chars++) {
			geohash_bounds(geohash_truncate(cell60, chars - 1),
			    chars - 1, &p[0], &p[1], &p[2], &p[3]);
			geohash_bounds(geohash_truncate(cell60, chars), chars,
			    &q[0], &q[1], &q[2], &q[3]);
			if (geohash_truncate(cell60, chars) >> 5 !=
			    geohash_truncate(cell60, chars - 1) ||
			    q[0] < p[0] || q[1] < p[1] || q[2] > p[2] ||
			    q[3] > p[3])
				bad++;
		}
	}
	UNIT_CHECK(bad == 0, "nesting: %d", bad);
	geohash_bounds(0, 0, &p[0], &p[1], &p[2], &p[3]);
	UNIT_CHECK(p[0] == -180 && p[1] == -90 && p[2] == 180 && p[3] == 90,
	    "bounds of chars 0: the world");
}

int
main(void)
{
	test_vectors();
	test_parse();
	test_random_points();
	test_edges();
	test_nesting();
	/* geohash_axes agrees with geohash_bounds at every precision. */
	{
		static const double pts[][2] = { { 14.4973794438195, 50.00136875782316 },
		    { -180, -90 }, { 180, 90 }, { 0, 0 }, { -0.0001, 45.5 } };
		size_t	 k;
		int	 c;

		for (k = 0; k < sizeof(pts) / sizeof(pts[0]); k++)
			for (c = 1; c <= GEOHASH_MAX_CHARS; c++) {
				uint64_t cell = geohash_encode(pts[k][0], pts[k][1]);
				double	 a, b, x, y, w;
				uint32_t col, row;

				geohash_axes(cell, c, &col, &row);
				geohash_bounds(geohash_truncate(cell, c), c, &a, &b, &x, &y);
				w = 360.0 / (double)(UINT64_C(1) << ((5 * c + 1) / 2));
				UNIT_CHECK(a == -180.0 + (double)col * w,
				    "axes col, point %zu, %d chars", k, c);
				w = 180.0 / (double)(UINT64_C(1) << (5 * c / 2));
				UNIT_CHECK(b == -90.0 + (double)row * w,
				    "axes row, point %zu, %d chars", k, c);
			}
	}
	return unit_done("test_geohash");
}
