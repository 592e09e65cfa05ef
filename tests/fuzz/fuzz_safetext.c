/*
 * fuzz_safetext.c: lib/safetext.c, the text shown back to people (problem
 * details, logs, a job's display filename).
 *
 * Byte 0 picks an output size (0 to 255); the rest is the text.
 * Properties, for that size and for the documented full sizes:
 * - the result fits its buffer, is NUL-terminated at the returned length
 *   and holds no NUL before it;
 * - it is valid UTF-8 (utf8_valid, RFC 3629) without C0 or C1 controls,
 *   DEL, bidirectional overrides (U+202A-U+202E, U+2066-U+2069) or line
 *   and paragraph separators (U+2028, U+2029);
 * - a quote is '"'-delimited, at most SAFETEXT_QUOTE_SIZE - 1 bytes;
 *   inside, every '"' and '\\' is escaped by a '\\' and a '\\' escapes
 *   nothing else; clean short text, unescaped, comes out unchanged;
 * - a plain text is the same without quotes or escapes;
 * - a filename has no '/' or '\\', is never "", "." or "..", is at most
 *   SAFETEXT_FILENAME_MAX bytes, and a clean short basename is kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "safetext.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The code points of valid UTF-8 s; 1 if any must not be shown. */
static int
has_unshowable(const char *s, size_t n)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, j, k;
	uint32_t		 c;

	while (i < n) {
		if (u[i] < 0x80) {
			c = u[i];
			k = 1;
		} else if (u[i] < 0xe0) {
			c = u[i] & 0x1f;
			k = 2;
		} else if (u[i] < 0xf0) {
			c = u[i] & 0x0f;
			k = 3;
		} else {
			c = u[i] & 0x07;
			k = 4;
		}
		for (j = 1; j < k; j++)
			c = c << 6 | (u[i + j] & 0x3f);
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
		    (c >= 0x2028 && c <= 0x202e) ||
		    (c >= 0x2066 && c <= 0x2069))
			return 1;
		i += k;
	}
	return 0;
}

/* Valid and showable input stays as it is. */
static int
clean(const char *s, size_t n)
{
	return utf8_valid(s, n) && !has_unshowable(s, n);
}

/* Checks common to both functions; returns the output length. */
static size_t
check_out(const char *out, size_t n, size_t outsz)
{
	if (outsz == 0) {
		if (n != 0)
			abort();
		return 0;
	}
	if (n >= outsz || out[n] != '\0' || strlen(out) != n)
		abort();	/* past the buffer or not terminated */
	if (!utf8_valid(out, n) || has_unshowable(out, n))
		abort();	/* unsafe text shown */
	return n;
}

static void
check_quote(const char *in, size_t len, size_t outsz)
{
	char	*out = malloc(outsz ? outsz : 1), *raw;
	size_t	 n, i, r, esc;

	if (out == NULL)
		abort();
	n = check_out(out, safetext_quote(in, len, out, outsz), outsz);
	if (n > 0 && (n < 2 || out[0] != '"' || out[n - 1] != '"'))
		abort();	/* not quoted */
	if (outsz <= SAFETEXT_QUOTE_SIZE && n > SAFETEXT_QUOTE_SIZE - 1)
		abort();
	/* Unescape the inside into raw: a stray quote or backslash aborts. */
	if ((raw = malloc(n ? n : 1)) == NULL)
		abort();
	for (i = 1, r = 0; n > 0 && i < n - 1; i++) {
		if (out[i] == '\\') {
			if (i + 1 >= n - 1 ||
			    (out[i + 1] != '"' && out[i + 1] != '\\'))
				abort();	/* escapes nothing */
			raw[r++] = out[++i];
		} else if (out[i] == '"') {
			abort();	/* ends the quote early */
		} else
			raw[r++] = out[i];
	}
	for (i = 0, esc = 0; i < len; i++)
		esc += in[i] == '"' || in[i] == '\\';
	if (outsz >= SAFETEXT_QUOTE_SIZE && len + esc <= SAFETEXT_QUOTE_MAX &&
	    clean(in, len) && (r != len || memcmp(raw, in, len) != 0))
		abort();	/* clean text changed */
	free(raw);
	free(out);
}

static void
check_plain(const char *in, size_t len, size_t outsz)
{
	char	*out = malloc(outsz ? outsz : 1);
	size_t	 n;

	if (out == NULL)
		abort();
	n = check_out(out, safetext_plain(in, len, out, outsz), outsz);
	if (outsz >= 4 && len + 4 <= outsz && clean(in, len) &&
	    (n != len || memcmp(out, in, len) != 0))
		abort();	/* clean text changed */
	free(out);
}

/* 1 when buf holds spaces alone (or nothing). */
static int
spaces(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ')
			return 0;
	return 1;
}

static void
check_filename(const char *in, size_t len, size_t outsz)
{
	char		*out = malloc(outsz ? outsz : 1);
	const char	*base = in;
	size_t		 n, i, blen;

	if (out == NULL)
		abort();
	n = check_out(out, safetext_filename(in, len, out, outsz), outsz);
	if (n > SAFETEXT_FILENAME_MAX || memchr(out, '/', n) != NULL ||
	    memchr(out, '\\', n) != NULL)
		abort();	/* a path, not a name */
	if (outsz > sizeof(SAFETEXT_FILENAME_DEFAULT) &&
	    (spaces(out, n) || (n == 1 && out[0] == '.') ||
	    (n == 2 && out[0] == '.' && out[1] == '.')))
		abort();	/* "", spaces alone, "." or ".." */
	for (i = 0; i < len; i++)
		if (in[i] == '/' || in[i] == '\\')
			base = in + i + 1;
	blen = len - (size_t)(base - in);
	if (outsz >= SAFETEXT_FILENAME_SIZE && blen > 2 &&
	    blen <= SAFETEXT_FILENAME_MAX && clean(base, blen) &&
	    !spaces(base, blen) && (n != blen || memcmp(out, base, blen) != 0))
		abort();	/* a clean basename changed */
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in;
	size_t	 len, outsz;

	if (size < 1)
		return 0;
	outsz = data[0];
	len = size - 1;
	if ((in = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(in, data + 1, len);
	check_quote(in, len, outsz);
	check_quote(in, len, SAFETEXT_QUOTE_SIZE);
	check_plain(in, len, outsz);
	check_filename(in, len, outsz);
	check_filename(in, len, SAFETEXT_FILENAME_SIZE);
	free(in);
	return 0;
}
