/*
 * fuzz_param.c: cgi/param.c, the report parameters bbox and from/to.
 *
 * Byte 0 picks the parser; the rest is the value.  Properties:
 * - an accepted bbox is four finite numbers within WGS 84 with min <= max,
 *   and printing them back (num_format_double, shortest exact) and parsing
 *   again gives the same four numbers;
 * - a refused bbox always says why, and a bbox with a space or a tab
 *   is refused saying so (and only such a bbox);
 * - an accepted date is "YYYY-MM-DD" of the years 1900 to 2100, the same
 *   verdict as an independent Gregorian calendar check.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "num.h"
#include "param.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The calendar, written again independently of param.c. */
static int
date_ok(const char *s, size_t n)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int	 y = 0, m = 0, d = 0;
	size_t	 i;

	if (n != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (i < 4)
			y = y * 10 + (s[i] - '0');
		else if (i < 7)
			m = m * 10 + (s[i] - '0');
		else
			d = d * 10 + (s[i] - '0');
	}
	if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= days[m - 1] + (m == 2 && leap(y));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data + 1, *reason = NULL;
	double		 v[4], w[4];
	char		 text[4 * 32 + 4];
	size_t		 n, k, at = 0;
	int		 spaced;

	if (size < 1)
		return 0;
	n = size - 1;
	if (data[0] & 1) {
		assert(param_date_valid(s, n) == date_ok(s, n));
		return 0;
	}
	spaced = memchr(s, ' ', n) != NULL || memchr(s, '\t', n) != NULL;
	if (param_bbox_parse(s, n, v, &reason) != 0) {
		assert(reason != NULL && reason[0] != '\0');
		assert((strstr(reason, "spaces") != NULL) == spaced);
		return 0;
	}
	assert(!spaced);
	for (k = 0; k < 4; k++)
		assert(isfinite(v[k]));
	assert(v[0] >= -180 && v[2] <= 180 && v[1] >= -90 && v[3] <= 90);
	assert(v[0] <= v[2] && v[1] <= v[3]);
	for (k = 0; k < 4; k++) {
		if (k > 0)
			text[at++] = ',';
		at += num_format_double(v[k], text + at, sizeof(text) - at);
	}
	assert(param_bbox_parse(text, at, w, &reason) == 0);
	assert(memcmp(v, w, sizeof(v)) == 0);
	return 0;
}
