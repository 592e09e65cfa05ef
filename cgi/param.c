/*
 * param.c: report parameter values that are more than a number, as pure
 * functions over (buf, len) (fuzzed by tests/fuzz/fuzz_param.c).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>

#include "num.h"
#include "param.h"

/*
 * "minLon,minLat,maxLon,maxLat" (OGC API - Features - Part 1: Core,
 * 7.15.3, WGS 84 longitude and latitude; the 6-number 3D form and boxes
 * crossing the antimeridian are not supported).  Returns 0 and the four
 * numbers, or -1 with the reason.
 */
int
param_bbox_parse(const char *buf, size_t len, double v[4], const char **reason)
{
	size_t	 i = 0, j, n = 0;

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

/* "YYYY-MM-DD", an existing day of the years 1900 to 2100. */
int
param_date_valid(const char *buf, size_t len)
{
	static const int mdays[12] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int64_t	 y, m, d;
	size_t	 i;

	if (len != 10 || buf[4] != '-' || buf[7] != '-')
		return 0;
	for (i = 0; i < len; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)buf[i]))
			return 0;
	if (num_parse_i64(buf, 4, 1900, 2100, &y) != 0 ||
	    num_parse_i64(buf + 5, 2, 1, 12, &m) != 0 ||
	    num_parse_i64(buf + 8, 2, 1, mdays[m - 1], &d) != 0)
		return 0;
	/* 29 February only in leap years (Gregorian rules). */
	if (m == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 0;
	return 1;
}
