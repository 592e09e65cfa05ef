/*
 * num.c: strict number parsing.  strtod alone is too lenient for input
 * from outside: it accepts "nan", "inf", hex floats and leading spaces, and
 * depends on LC_NUMERIC (the servers never call setlocale, so it is "C").
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int
num_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
num_parse_i64(const char *buf, size_t len, int64_t min, int64_t max,
    int64_t *out)
{
	size_t		 i = 0, z;
	int		 neg = 0;
	uint64_t	 acc = 0, lim;

	if (len > 0 && buf[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	/*
	 * Leading zeros add nothing: "0001" is 1, however many there are.
	 * Past them, 19 digits keep acc * 10 + 9 within uint64_t below.
	 */
	for (z = i; z + 1 < len && buf[z] == '0'; z++)
		;
	if (len - z > 19)
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

/*
 * Powers of ten that are exact doubles: 10^22 = 2^22 * 5^22 and 5^22 <
 * 2^53.
 */
static const double num_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};
#define NUM_POW10_MAX	22
#define NUM_EXACT_MAX	(UINT64_C(1) << 53)

int
num_parse_double(const char *buf, size_t len, double *out)
{
	char		 tmp[NUM_DOUBLE_LEN_MAX + 1], *end;
	size_t		 i = 0, digits = 0;
	uint64_t	 w = 0;		/* the digits as an integer */
	int		 neg = 0, fast = 1, e = 0, eneg = 0, fd = 0, k;
	double		 v;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	/* Check the grammar first, so strtod sees only plain decimals. */
	if (buf[i] == '-') {
		neg = 1;
		i++;
	}
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		digits++;
		if (w > (UINT64_MAX - 9) / 10)
			fast = 0;
		else
			w = w * 10 + (uint64_t)(buf[i] - '0');
	}
	if (i < len && buf[i] == '.')
		for (i++; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
			digits++;
			fd++;
			if (w > (UINT64_MAX - 9) / 10)
				fast = 0;
			else
				w = w * 10 + (uint64_t)(buf[i] - '0');
		}
	if (digits == 0)
		return -1;
	if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
		size_t edigits = 0;

		i++;
		if (i < len && (buf[i] == '-' || buf[i] == '+'))
			eneg = buf[i++] == '-';
		for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
			edigits++;
			if (e < 10000)
				e = e * 10 + (buf[i] - '0');
		}
		if (edigits == 0)
			return -1;
	}
	if (i != len)
		return -1;

	/*
	 * Clinger's fast path (W. D. Clinger, "How to Read Floating Point
	 * Numbers Accurately", PLDI 1990): when the digits form an integer
	 * w <= 2^53 and the power of ten is at most 10^22, both are exact
	 * doubles and one IEEE 754 multiplication or division rounds
	 * correctly, giving what strtod gives.  This is the usual case for
	 * coordinates and spares strtod's multi-precision arithmetic.  It
	 * needs double arithmetic in double precision (FLT_EVAL_METHOD 0,
	 * as on x86-64 and AArch64).
	 */
	k = (eneg ? -e : e) - fd;
	if (FLT_EVAL_METHOD == 0 && fast && w <= NUM_EXACT_MAX &&
	    k >= -NUM_POW10_MAX && k <= NUM_POW10_MAX) {
		v = k < 0 ? (double)w / num_pow10[-k] : (double)w *
		    num_pow10[k];
		*out = neg ? -v : v;
		return 0;
	}

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
