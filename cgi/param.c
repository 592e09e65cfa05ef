/*
 * param.c: report parameter values that are more than a number, as pure
 * functions over (buf, len) (fuzzed by tests/fuzz/fuzz_param.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "datetime.h"
#include "num.h"
#include "param.h"

/*
 * "minLon,minLat,maxLon,maxLat" (OGC API - Features - Part 1: Core,
 * 7.15.3, WGS 84 longitude and latitude; the 6-number 3D form and boxes
 * crossing the antimeridian are not supported).  Returns 0 and the four
 * numbers, or -1 with the reason.
 *
 * Numbers and commas only, as OpenAPI's form style writes an array:
 * "14.35, 50.0" (a space, or a "+" in the query) is refused as the
 * others are, but its reason names the spaces, which a reader may not
 * see in the quoted value.
 */
int
param_bbox_parse(const char *buf, size_t len, double v[4], const char **reason)
{
	size_t	 i = 0, j, n = 0;

	if (memchr(buf, ' ', len) != NULL || memchr(buf, '\t', len) != NULL) {
		*reason = "must be four numbers separated by commas, "
		    "without spaces";
		return -1;
	}
	for (;;) {
		for (j = i; j < len && buf[j] != ','; j++)
			;
		if (n == 4) {
			*reason = "must be four numbers";
			return -1;
		}
		if (num_parse_double(buf + i, j - i, &v[n]) != 0) {
			*reason = "must be four finite numbers";
			return -1;
		}
		n++;
		if (j == len)
			break;
		i = j + 1;
	}
	if (n != 4) {
		*reason = "must be four numbers";
		return -1;
	}
	if (v[0] < -180 || v[2] > 180 || v[1] < -90 || v[3] > 90 ||
	    v[0] > 180 || v[2] < -180 || v[1] > 90 || v[3] < -90) {
		*reason = "longitudes must be within -180 to 180 and "
		    "latitudes within -90 to 90";
		return -1;
	}
	if (v[0] > v[2] || v[1] > v[3]) {
		*reason = "minimum above maximum";
		return -1;
	}
	return 0;
}

/*
 * "YYYY-MM-DD", an existing day of the years 1900 to 2100: the calendar
 * of lib/datetime.c (the one trip datetimes are checked by), at midnight.
 */
int
param_date_valid(const char *buf, size_t len)
{
	char	 t[sizeof("YYYY-MM-DD 00:00:00")];
	int64_t	 us;

	if (len != 10)
		return 0;
	memcpy(t, buf, 10);
	memcpy(t + 10, " 00:00:00", 9);
	return datetime_parse(t, sizeof(t) - 1, &us) == DATETIME_OK;
}
