/*
 * fuzz_geohash.c: lib/geohash.c against the textbook bisection.
 *
 * Input: a longitude and a latitude (the first 16 bytes, as doubles), a
 * cell length (the next byte), then text for geohash_parse.  Properties:
 * - geohash_encode gives, bit for bit, the cell of 60 rounds of bisection
 *   (bit 1 when the coordinate is >= the midpoint, longitude first), for
 *   any double, NaN and infinities included;
 * - every truncation of that cell has bounds containing the point
 *   (half-open, upper world edges closed), cells nest, and the bounds of a
 *   cell are the bisection's interval;
 * - format and parse are inverses; parse takes exactly 1 to 12 base32
 *   characters in either case and format refuses what it cannot spell.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geohash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";

/* The bisection of geohash.org, bits of 'bits' rounds, and its interval. */
static uint64_t
bisect(double lon, double lat, int bits, double box[4])
{
	double		 lo[2] = { -180.0, -90.0 }, hi[2] = { 180.0, 90.0 };
	double		 v[2] = { lon, lat }, mid;
	uint64_t	 cell = 0;
	int		 i, a;

	for (i = 0; i < bits; i++) {
		a = i % 2;		/* 0: longitude, 1: latitude */
		mid = (lo[a] + hi[a]) / 2;
		if (v[a] >= mid) {
			cell = cell << 1 | 1;
			lo[a] = mid;
		} else {
			cell <<= 1;
			hi[a] = mid;
		}
	}
	box[0] = lo[0];
	box[1] = lo[1];
	box[2] = hi[0];
	box[3] = hi[1];
	return cell;
}

static int
inside(double v, double lo, double hi, double lim)
{
	return (v >= lo && v < hi) || (v >= lim && hi == lim);
}

static void
check_point(double lon, double lat)
{
	double		 box[4], minlon, minlat, maxlon, maxlat;
	uint64_t	 cell60, cell, prev = 0, ref;
	char		 text[GEOHASH_MAX_CHARS + 1];
	uint64_t	 back;
	int		 chars, n;

	cell60 = geohash_encode(lon, lat);
	if (cell60 != bisect(lon, lat, 60, box))
		abort();	/* not the bisection's cell */
	for (chars = 1; chars <= GEOHASH_MAX_CHARS; chars++) {
		cell = geohash_truncate(cell60, chars);
		ref = bisect(lon, lat, 5 * chars, box);
		if (cell != ref)
			abort();
		if (chars > 1 && cell >> 5 != prev)
			abort();	/* cells do not nest */
		prev = cell;
		geohash_bounds(cell, chars, &minlon, &minlat, &maxlon,
		    &maxlat);
		if (minlon != box[0] || minlat != box[1] ||
		    maxlon != box[2] || maxlat != box[3])
			abort();	/* bounds differ from the bisection */
		if (lon >= -180.0 && lon <= 180.0 &&
		    lat >= -90.0 && lat <= 90.0 &&
		    (!inside(lon, minlon, maxlon, 180.0) ||
		    !inside(lat, minlat, maxlat, 90.0)))
			abort();	/* point outside its own cell */
		if (geohash_format(cell, chars, text, sizeof(text)) !=
		    (size_t)chars || strlen(text) != (size_t)chars)
			abort();
		if (geohash_parse(text, (size_t)chars, &back, &n) != 0 ||
		    back != cell || n != chars)
			abort();	/* format -> parse is not the identity */
	}
	if (geohash_truncate(cell60, 0) != 0 ||
	    geohash_truncate(cell60, GEOHASH_MAX_CHARS + 1) != 0)
		abort();
}

static void
check_text(const char *s, size_t len, int chars_hint)
{
	char		 text[GEOHASH_MAX_CHARS + 1], small[4];
	uint64_t	 cell = 12345, cut;
	size_t		 i;
	int		 chars = -7, ok = len >= 1 && len <= GEOHASH_MAX_CHARS;

	for (i = 0; ok && i < len; i++)
		ok = s[i] != '\0' && strchr(alphabet,
		    tolower((unsigned char)s[i])) != NULL;
	if ((geohash_parse(s, len, &cell, &chars) == 0) != ok)
		abort();	/* accepts or refuses unlike the alphabet */
	if (!ok) {
		if (cell != 12345 || chars != -7)
			abort();	/* outputs touched on error */
		return;
	}
	if (chars != (int)len || (len < 12 && cell >> (5 * len) != 0))
		abort();
	if (geohash_format(cell, chars, text, sizeof(text)) != len)
		abort();
	for (i = 0; i < len; i++)
		if (text[i] != tolower((unsigned char)s[i]))
			abort();	/* format does not spell the input */
	/* Too small a buffer, or too short a length for the bits: 0. */
	if (geohash_format(cell, chars, text, len) != 0)
		abort();
	if (len > 3 && geohash_format(cell, chars, small, sizeof(small)) != 0)
		abort();
	cut = cell;
	if (chars_hint >= 1 && chars_hint < chars && cut >> (5 * chars_hint) &&
	    geohash_format(cut, chars_hint, text, sizeof(text)) != 0)
		abort();	/* spelled a cell in too few characters */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double	 lon, lat;
	char	*s;
	size_t	 len;
	int	 hint = 0;

	if (size < 16)
		return 0;
	memcpy(&lon, data, sizeof(lon));
	memcpy(&lat, data + 8, sizeof(lat));
	check_point(lon, lat);
	/* The same point folded into the world, where the values matter. */
	if (isfinite(lon) && isfinite(lat))
		check_point(fmod(lon, 180.0), fmod(lat, 90.0));
	if (size > 16)
		hint = data[16] % 16;
	len = size > 17 ? size - 17 : 0;
	if ((s = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(s, data + 17, len);
	check_text(s, len, hint);
	free(s);
	return 0;
}
