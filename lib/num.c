/*
 * num.c: strict number parsing.  strtod alone is too lenient for input
 * from outside: it accepts "nan", "inf", hex floats and leading spaces, and
 * depends on LC_NUMERIC (the servers never call setlocale, so it is "C").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int
num_parse_i64(const char *buf, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
	size_t		 i = 0;
	int		 neg = 0;
	uint64_t	 acc = 0, lim;

	if (len > 0 && buf[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len || len - i > 19)
		return -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		acc = acc * 10 + (uint64_t)(buf[i] - '0');
		if (acc > lim)
			return -1;
	}
	if (neg) {
		/* -(INT64_MAX + 1) without overflowing a signed type. */
		int64_t v = acc == 0 ? 0 : -(int64_t)(acc - 1) - 1;
		if (v < min || v > max)
			return -1;
		*out = v;
	} else {
		if ((int64_t)acc < min || (int64_t)acc > max)
			return -1;
		*out = (int64_t)acc;
	}
	return 0;
}

int
num_parse_double(const char *buf, size_t len, double *out)
{
	char	 tmp[65], *end;
	size_t	 i = 0, digits = 0;
	double	 v;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	/* Check the grammar first, so strtod sees only plain decimals. */
	if (buf[i] == '-')
		i++;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
		digits++;
	if (i < len && buf[i] == '.')
		for (i++; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return -1;
	if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
		size_t edigits = 0;

		i++;
		if (i < len && (buf[i] == '-' || buf[i] == '+'))
			i++;
		for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
			edigits++;
		if (edigits == 0)
			return -1;
	}
	if (i != len)
		return -1;
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	errno = 0;
	v = strtod(tmp, &end);
	/* ERANGE on underflow to a denormal is harmless; overflow is not. */
	if (end != tmp + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

size_t
num_format_double(double v, char *buf, size_t bufsz)
{
	static const char *const fmts[] = { "%.15g", "%.16g", "%.17g" };
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		n = snprintf(buf, bufsz, fmts[i], v);
		if (n < 0 || (size_t)n >= bufsz)
			break;
		if (strtod(buf, NULL) == v)
			break;
	}
	/*
	 * snprintf returns the length it would have written: a cut text
	 * must not be reported as whole, or a caller copies past the
	 * terminator.
	 */
	return (n < 0 || (size_t)n >= bufsz) ? 0 : (size_t)n;
}
