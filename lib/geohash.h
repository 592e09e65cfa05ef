/*
 * geohash.h: geohash cells (Gustavo Niemeyer's public-domain scheme, as at
 * geohash.org) held as integers: a cell of n characters is its 5n bits,
 * longitude bit first, exactly the bits the base32 string spells.
 *
 * Cells are half-open dyadic rectangles: a point (lon, lat) is in the
 * cell whose bounds satisfy minlon <= lon < maxlon and minlat <= lat <
 * maxlat, except that lon == 180 and lat == 90 belong to the last cell
 * (the world's upper edges are closed).  Cells nest: the cell of a point
 * at n characters is its 12-character cell shifted right by 5 * (12 - n).
 */
#ifndef TRIPLINE_GEOHASH_H
#define TRIPLINE_GEOHASH_H

#include <stddef.h>
#include <stdint.h>

#define GEOHASH_MAX_CHARS	12

/*
 * The 60-bit, 12-character cell of a point; lon in [-180, 180] and lat in
 * [-90, 90] (values outside land in the nearest edge cell).
 */
uint64_t	geohash_encode(double lon, double lat);

/*
 * The cell of 1 <= chars <= 12 characters containing the 12-character
 * cell60: cell60 >> 5 * (12 - chars).  0 for chars outside that range.
 */
uint64_t	geohash_truncate(uint64_t cell60, int chars);

/*
 * Write the base32 text ("0123456789bcdefghjkmnpqrstuvwxyz") of a cell of
 * 1 to 12 characters, NUL-terminated.  Returns chars, or 0 when chars is
 * out of range, cell has bits above 5 * chars, or outsz < chars + 1.
 */
size_t	geohash_format(uint64_t cell, int chars, char *out, size_t outsz);

/*
 * Parse 1 to 12 base32 characters (upper case accepted too).  Returns 0
 * and sets *cell and *chars, else -1.
 */
int	geohash_parse(const char *buf, size_t len, uint64_t *cell, int *chars);

/*
 * The exact bounds of a cell of 1 to 12 characters (all dyadic rationals,
 * so exactly representable).  For an invalid chars the whole world.
 */
/*
 * The column (longitude index, from -180) and row (latitude index, from
 * -90) of the cell of 1 to 12 characters that holds the 60-bit cell60:
 * the cell spans [-180 + col * w, -180 + (col + 1) * w) with w = 360 /
 * 2^ceil(5 * chars / 2), and likewise for rows with 180 / 2^floor(5 *
 * chars / 2).  The report aggregates key their cells by these.
 */
void	geohash_axes(uint64_t cell60, int chars, uint32_t *col, uint32_t *row);

/*
 * The bits of a cell of chars characters on one axis: ceil(5 * chars / 2)
 * for longitude (axis 0, which takes the odd bit), floor(5 * chars / 2)
 * for latitude (axis 1).  tripline.geohash_axis_bits() in SQL is the same.
 */
int	geohash_axis_bits(int chars, int axis);

void	geohash_bounds(uint64_t cell, int chars, double *minlon,
	    double *minlat, double *maxlon, double *maxlat);

#endif
