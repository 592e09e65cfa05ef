/*
 * num.h: numbers from outside text, and numbers back to the shortest text.
 * Pure functions over (buf, len): no NUL terminator is needed or read.
 */
#ifndef TRIPLINE_NUM_H
#define TRIPLINE_NUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * A decimal integer: optional '-', then digits, at most 19 past leading
 * zeros, nothing else (no '+', no spaces), within [min, max].  Returns 0
 * and sets *out, else -1.
 */
int	num_parse_i64(const char *buf, size_t len, int64_t min, int64_t max,
	    int64_t *out);

/* The value of a hexadecimal digit (either case), or -1. */
int	num_hex_digit(char c);

/*
 * A finite decimal number: optional '-', digits with an optional fraction
 * and an optional exponent ("14.4973", "-1e-3", ".5" and "5." too).
 * Refused: empty, spaces, '+', "nan", "inf", hex floats, overflow to
 * infinity, trailing bytes, more than 64 bytes.  Returns 0 or -1.
 */
int	num_parse_double(const char *buf, size_t len, double *out);

/* The longest text num_parse_double() reads, in bytes. */
#define NUM_DOUBLE_LEN_MAX	64

/*
 * Write the shortest decimal text that reads back as exactly v (the
 * "%.15g", "%.16g", "%.17g" ladder), NUL-terminated, into buf of size at
 * least 32.  Returns the length.  v must be finite.
 */
size_t	num_format_double(double v, char *buf, size_t bufsz);

#endif
