/*
 * fuzz_num.c: lib/num.c against the C library as a reference.
 *
 * Properties:
 * - num_parse_double accepts exactly the documented grammar (an own
 *   recogniser here) when strtod gives a finite value, and gives strtod's
 *   value; what it accepts is finite.
 * - num_format_double prints text that reads back as the same double
 *   (same bits, so -0 stays -0) and fits the documented 32 bytes.
 * - num_parse_i64 accepts exactly '-'? digit+ with at most 19 digits past
 *   its leading zeros, whose strtoll value is within [min, max] (the
 *   bounds come from the input too), with that value.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The grammar of num.h, written again independently. */
static int
double_grammar(const char *s, size_t n)
{
	size_t	 i = 0, d = 0, e = 0;

	if (n == 0 || n > 64)
		return 0;
	if (s[i] == '-')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, d++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, d++;
	}
	if (d == 0)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, e++;
		if (e == 0)
			return 0;
	}
	return i == n;
}

/*
 * 1 when s is in the grammar; *sig is then where its significant digits
 * start (past the leading zeros, the last digit kept).
 */
static int
i64_grammar(const char *s, size_t n, size_t *sig)
{
	size_t i = (n > 0 && s[0] == '-') ? 1 : 0, z;

	if (n == i)
		return 0;
	for (z = i; z < n; z++)
		if (s[z] < '0' || s[z] > '9')
			return 0;
	for (z = i; z + 1 < n && s[z] == '0'; z++)
		;
	if (n - z > 19)
		return 0;
	*sig = z;
	return 1;
}

static void
check_double(const char *s, size_t n)
{
	char	 tmp[80], text[32];
	double	 v = 12345.0, ref, back;
	size_t	 len;
	int	 rc, ok;

	rc = num_parse_double(s, n, &v);
	ok = 0;
	if (n < sizeof(tmp) && double_grammar(s, n)) {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		ref = strtod(tmp, NULL);
		if (isfinite(ref)) {
			ok = 1;
			if (rc != 0 || memcmp(&v, &ref, sizeof(v)) != 0)
				abort();	/* refused or differs from strtod */
		}
	}
	if (!ok && rc == 0)
		abort();	/* accepted outside the grammar, or infinite */
	if (rc != 0)
		return;
	if (!isfinite(v))
		abort();
	len = num_format_double(v, text, sizeof(text));
	if (len == 0 || len >= sizeof(text) || text[len] != '\0' ||
	    strlen(text) != len)
		abort();
	if (num_parse_double(text, len, &back) != 0 ||
	    memcmp(&back, &v, sizeof(v)) != 0)
		abort();	/* the shortest text does not read back */
}

static void
check_i64(const char *s, size_t n, int64_t min, int64_t max)
{
	char		 tmp[32];
	long long	 ref;
	int64_t		 v = 7;
	size_t		 sig, k = 0;
	int		 rc, ok = 0;

	rc = num_parse_i64(s, n, min, max, &v);
	if (i64_grammar(s, n, &sig)) {
		/* The sign and the significant digits: at most 20 bytes. */
		if (s[0] == '-')
			tmp[k++] = '-';
		memcpy(tmp + k, s + sig, n - sig);
		tmp[k + n - sig] = '\0';
		errno = 0;
		ref = strtoll(tmp, NULL, 10);
		ok = errno == 0 && ref >= min && ref <= max;
	}
	if (rc == 0 && (!ok || v != ref))
		abort();
	if (rc != 0 && ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data;
	int64_t		 a = INT64_MIN, b = INT64_MAX, t;
	size_t		 cut;

	char		*copy;

	/* The whole input as a number, in an exact-size heap copy (ASan). */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(copy, s, size);
	check_double(copy, size);
	check_i64(copy, size, INT64_MIN, INT64_MAX);
	free(copy);

	/* Bounds from the first 16 bytes, the number from the rest. */
	if (size < 16)
		return 0;
	memcpy(&a, data, 8);
	memcpy(&b, data + 8, 8);
	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	cut = size - 16;
	if ((copy = malloc(cut ? cut : 1)) == NULL)
		return 0;
	memcpy(copy, s + 16, cut);
	check_i64(copy, cut, a, b);
	free(copy);
	return 0;
}
