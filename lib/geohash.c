/*
 * geohash.c: geohash cells as 60-bit integers.
 *
 * The reference algorithm bisects [-180, 180] and [-90, 90], longitude
 * first, taking bit 1 when the coordinate is >= the midpoint.  Every
 * midpoint is a grid point -180 + k * 360 / 2^n (or -90 + k * 180 / 2^n),
 * a dyadic rational exactly representable in a double, so the 30 bits of
 * one axis are the largest k with gridpoint(k) <= v on the 2^30 grid.
 * We compute that k directly: a floating estimate, then corrected with
 * exact comparisons against the exact grid points.  This gives bit for bit
 * the bisection's result (tests/unit/test_geohash.c checks it against the
 * bisection) at a fraction of the cost of 60 unpredictable branches.
 */
#include "geohash.h"

#define GEOHASH_AXIS_BITS	30
#define GEOHASH_AXIS_CELLS	(UINT32_C(1) << GEOHASH_AXIS_BITS)
#define GEOHASH_BITS		(5 * GEOHASH_MAX_CHARS)

static const char geohash_alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";

/* The cell index of v on an axis [-lim, lim] cut in 2^30 cells. */
static uint32_t
geohash_axis(double v, double lim)
{
	const double	 w = 2.0 * lim / (double)GEOHASH_AXIS_CELLS;
	const uint32_t	 last = GEOHASH_AXIS_CELLS - 1;
	double		 est;
	uint32_t	 k;

	/* Below the world (or NaN): the bisection never sets a bit. */
	if (!(v >= -lim))
		return 0;
	/* At or above the upper edge: every bit set. */
	if (v >= lim)
		return last;
	est = (v + lim) / w;
	k = est >= (double)last ? last : (uint32_t)est;
	/* -lim + k * w is exact: at most 36 significant bits. */
	while (k < last && -lim + (double)(k + 1) * w <= v)
		k++;
	while (k > 0 && -lim + (double)k * w > v)
		k--;
	return k;
}

/* Spread the 30 low bits of x to the even bits 0, 2, ..., 58. */
static uint64_t
geohash_spread(uint32_t x)
{
	uint64_t v = x;

	v = (v | (v << 16)) & UINT64_C(0x0000ffff0000ffff);
	v = (v | (v << 8)) & UINT64_C(0x00ff00ff00ff00ff);
	v = (v | (v << 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	v = (v | (v << 2)) & UINT64_C(0x3333333333333333);
	v = (v | (v << 1)) & UINT64_C(0x5555555555555555);
	return v;
}

/* The inverse of geohash_spread: the even bits of v, packed. */
static uint32_t
geohash_compact(uint64_t v)
{
	v &= UINT64_C(0x5555555555555555);
	v = (v | (v >> 1)) & UINT64_C(0x3333333333333333);
	v = (v | (v >> 2)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
	v = (v | (v >> 4)) & UINT64_C(0x00ff00ff00ff00ff);
	v = (v | (v >> 8)) & UINT64_C(0x0000ffff0000ffff);
	v = (v | (v >> 16)) & UINT64_C(0x00000000ffffffff);
	return (uint32_t)v;
}

int
geohash_axis_bits(int chars, int axis)
{
	return axis == 0 ? (5 * chars + 1) / 2 : 5 * chars / 2;
}

void
geohash_axes(uint64_t cell60, int chars, uint32_t *col, uint32_t *row)
{
	/* Longitude takes the odd bits of the 60, latitude the even. */
	*col = geohash_compact(cell60 >> 1) >>
	    (GEOHASH_AXIS_BITS - geohash_axis_bits(chars, 0));
	*row = geohash_compact(cell60) >>
	    (GEOHASH_AXIS_BITS - geohash_axis_bits(chars, 1));
}

uint64_t
geohash_encode(double lon, double lat)
{
	/* Bit 59 is the first longitude bit, bit 58 the first latitude. */
	return geohash_spread(geohash_axis(lon, 180.0)) << 1 |
	    geohash_spread(geohash_axis(lat, 90.0));
}

uint64_t
geohash_truncate(uint64_t cell60, int chars)
{
	if (chars < 1 || chars > GEOHASH_MAX_CHARS)
		return 0;
	return cell60 >> (5 * (GEOHASH_MAX_CHARS - chars));
}

size_t
geohash_format(uint64_t cell, int chars, char *out, size_t outsz)
{
	int	 i;

	if (chars < 1 || chars > GEOHASH_MAX_CHARS ||
	    (chars < GEOHASH_MAX_CHARS && cell >> (5 * chars) != 0) ||
	    (chars == GEOHASH_MAX_CHARS && cell >> GEOHASH_BITS != 0) ||
	    outsz < (size_t)chars + 1)
		return 0;
	for (i = chars - 1; i >= 0; i--) {
		out[i] = geohash_alphabet[cell & 31];
		cell >>= 5;
	}
	out[chars] = '\0';
	return (size_t)chars;
}

/* The value of a base32 character, or -1. */
static int
geohash_value(char c)
{
	int	 i;

	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	for (i = 0; i < 32; i++)
		if (geohash_alphabet[i] == c)
			return i;
	return -1;
}

int
geohash_parse(const char *buf, size_t len, uint64_t *cell, int *chars)
{
	uint64_t v = 0;
	size_t	 i;
	int	 d;

	if (len < 1 || len > GEOHASH_MAX_CHARS)
		return -1;
	for (i = 0; i < len; i++) {
		if ((d = geohash_value(buf[i])) < 0)
			return -1;
		v = v << 5 | (uint64_t)d;
	}
	*cell = v;
	*chars = (int)len;
	return 0;
}

void
geohash_bounds(uint64_t cell, int chars, double *minlon, double *minlat,
    double *maxlon, double *maxlat)
{
	int	 bits, lonbits, latbits;
	uint64_t full;
	uint32_t lonk, latk;
	double	 w;

	if (chars < 1 || chars > GEOHASH_MAX_CHARS) {
		*minlon = -180.0;
		*minlat = -90.0;
		*maxlon = 180.0;
		*maxlat = 90.0;
		return;
	}
	bits = 5 * chars;
	lonbits = geohash_axis_bits(chars, 0);
	latbits = geohash_axis_bits(chars, 1);
	full = (cell << (GEOHASH_BITS - bits)) &
	    ((UINT64_C(1) << GEOHASH_BITS) - 1);
	geohash_axes(full, chars, &lonk, &latk);
	/* k * w and -lim + k * w are exact, as in geohash_axis(). */
	w = 360.0 / (double)(UINT64_C(1) << lonbits);
	*minlon = -180.0 + (double)lonk * w;
	*maxlon = -180.0 + (double)(lonk + 1) * w;
	w = 180.0 / (double)(UINT64_C(1) << latbits);
	*minlat = -90.0 + (double)latk * w;
	*maxlat = -90.0 + (double)(latk + 1) * w;
}
