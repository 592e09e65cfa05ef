/*
 * fuzz_wkt.c: lib/wkt.c.
 *
 * Properties:
 * - whatever the bytes, wkt_point_parse returns a known code with a
 *   message, and leaves lon and lat alone unless it returns WKT_OK;
 * - an accepted point is finite and within [-180, 180] x [-90, 90];
 * - round trip: its coordinates printed with num_format_double as
 *   "POINT (lon lat)" parse again to the same doubles (same bits), and so
 *   does a spelling with other case, tabs and spaces.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"
#include "wkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
reparse(const char *fmt, const char *x, const char *y, double lon,
    double lat)
{
	char	 text[128];
	double	 lon2, lat2;
	int	 n;

	n = snprintf(text, sizeof(text), fmt, x, y);
	if (n < 0 || (size_t)n >= sizeof(text))
		abort();
	if (wkt_point_parse(text, (size_t)n, &lon2, &lat2) != WKT_OK)
		abort();	/* its own coordinates refused */
	if (memcmp(&lon, &lon2, sizeof(lon)) != 0 ||
	    memcmp(&lat, &lat2, sizeof(lat)) != 0)
		abort();	/* round trip changed a coordinate */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const double	 sentinel = -12345.5;
	char		 x[32], y[32];
	double		 lon = sentinel, lat = sentinel;
	enum wkt_err	 e;
	const char	*msg;

	e = wkt_point_parse((const char *)data, size, &lon, &lat);
	if ((unsigned)e >= WKT__MAX)
		abort();
	msg = wkt_strerror(e);
	if (msg == NULL || msg[0] == '\0')
		abort();
	if (e != WKT_OK) {
		if (lon != sentinel || lat != sentinel)
			abort();	/* outputs touched on error */
		return 0;
	}
	if (!(lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0))
		abort();	/* out of range or NaN accepted */
	if (num_format_double(lon, x, sizeof(x)) == 0 ||
	    num_format_double(lat, y, sizeof(y)) == 0)
		abort();
	reparse("POINT (%s %s)", x, y, lon, lat);
	reparse(" point\t( %s \t %s )\t ", x, y, lon, lat);
	reparse("Point(%s  %s)", x, y, lon, lat);
	return 0;
}
