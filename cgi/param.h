/*
 * param.h: report parameter values: the bounding box and dates.
 */
#ifndef TRIPLINE_PARAM_H
#define TRIPLINE_PARAM_H

#include <stddef.h>

/*
 * "minLon,minLat,maxLon,maxLat" (OGC API - Features - Part 1: Core,
 * 7.15.3, WGS 84): four finite decimals, longitudes within [-180, 180],
 * latitudes within [-90, 90], min <= max, without spaces.  Returns 0
 * with the numbers in v, or -1 with a short reason.
 */
int	param_bbox_parse(const char *buf, size_t len, double v[4],
	    const char **reason);

/* 1 when buf is "YYYY-MM-DD", an existing day of the years 1900 to 2100. */
int	param_date_valid(const char *buf, size_t len);

#endif
