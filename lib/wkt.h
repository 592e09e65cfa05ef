/*
 * wkt.h: the one geometry tripline reads, a WKT point "POINT (lon lat)"
 * (OGC 06-103r4, Simple Feature Access part 1, section 7.2.1).
 */
#ifndef TRIPLINE_WKT_H
#define TRIPLINE_WKT_H

#include <stddef.h>

enum wkt_err {
	WKT_OK,
	WKT_ESYNTAX,	/* not "POINT (x y)" */
	WKT_ENUMBER,	/* a coordinate is not a finite decimal */
	WKT_ERANGE,	/* lon outside [-180, 180] or lat outside [-90, 90] */
	WKT_ELONG,	/* a coordinate longer than NUM_DOUBLE_LEN_MAX bytes */
	WKT__MAX
};

/*
 * Parse buf as a two-dimensional WKT point: optional spaces,
 * case-insensitive "POINT", optional spaces, "(", optional spaces, a
 * number, one or more spaces, a number, optional spaces, ")", optional
 * spaces and nothing else ("spaces" are SP and TAB).  POINT EMPTY, Z/M
 * points, a third number and commas are refused.  Numbers are decimals as
 * num_parse_double() reads them, with an optional leading '+' as the OGC
 * grammar allows ("POINT (+14.5 +50)"), of at most NUM_DOUBLE_LEN_MAX
 * (64) bytes each: OGC sets no limit, but a double holds 17 significant
 * digits, and a longer one is refused as such, not as "not a finite
 * number".  Sets *lon and *lat only on WKT_OK.
 */
enum wkt_err	wkt_point_parse(const char *buf, size_t len, double *lon,
		    double *lat);

/* A short lower-case message for an error ("not a WKT point"). */
const char	*wkt_strerror(enum wkt_err);

#endif
