/*
 * fuzz_utf8.c: lib/utf8.c.
 *
 * The first input byte picks the output size of utf8_sanitize, the rest
 * is the text.  Properties:
 * - utf8_valid agrees with an independent reading of the well-formed byte
 *   sequences of the Unicode Standard, Table 3-7 (= RFC 3629), NUL refused;
 * - sanitize output is NUL-terminated, shorter than its buffer, always
 *   utf8_valid, and has no control character but TAB (C0, DEL, C1), no
 *   bidirectional override (U+202A-U+202E, U+2066-U+2069) and no line
 *   or paragraph separator (U+2028, U+2029);
 * - valid text without controls that fits comes out unchanged;
 * - sanitize is idempotent, and a smaller buffer gives a prefix of what a
 *   larger one gets (cuts fall on character boundaries);
 * - with a zero size nothing is written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Table 3-7: the second byte's range per lead byte; later ones 80..BF. */
static int
ref_valid(const uint8_t *s, size_t n)
{
	size_t		 i = 0, k, need;
	uint8_t		 c, lo, hi;

	while (i < n) {
		c = s[i];
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (n - i - 1 < need)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * What utf8_sanitize replaces, byte by byte: C0 but TAB, DEL, C1 (C2 80
 * to C2 9F), the bidi controls (E2 80 AA to E2 80 AE, E2 81 A6 to A9),
 * LS and PS (E2 80 A8, E2 80 A9).
 */
static int
has_controls(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return 1;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9f)
			return 1;
		if (s[i] == 0xe2 && i + 2 < n &&
		    ((s[i + 1] == 0x80 && s[i + 2] >= 0xa8 && s[i + 2] <= 0xae) ||
		    (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)))
			return 1;
	}
	return 0;
}

/* Sanitize into a fresh exact-size buffer; checks the output contract. */
static char *
sanitize(const char *in, size_t len, size_t outsz, size_t *outlen)
{
	char	*out = malloc(outsz ? outsz : 1);
	size_t	 n;

	if (out == NULL)
		abort();
	n = utf8_sanitize(in, len, out, outsz);
	if (outsz == 0) {
		if (n != 0)
			abort();
		out[0] = '\0';
	} else if (n >= outsz || out[n] != '\0')
		abort();	/* not terminated, or past the buffer */
	if (!utf8_valid(out, n) || !ref_valid((const uint8_t *)out, n))
		abort();	/* sanitized text not valid */
	if (has_controls((const uint8_t *)out, n))
		abort();
	*outlen = n;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*in, *big, *small, *again;
	size_t	 len, bigsz, smallsz, nbig, nsmall, nagain;
	int	 v;

	if (size == 0)
		return 0;
	smallsz = data[0];
	len = size - 1;
	if ((in = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(in, data + 1, len);

	v = utf8_valid(in, len);
	if (v != ref_valid((const uint8_t *)in, len))
		abort();	/* disagrees with Table 3-7 */

	/* Each bad byte becomes at most one U+FFFD (3 bytes). */
	bigsz = 3 * len + 1;
	big = sanitize(in, len, bigsz, &nbig);
	if (v && !has_controls((const uint8_t *)in, len) &&
	    (nbig != len || memcmp(big, in, len) != 0))
		abort();	/* clean text changed */

	small = sanitize(in, len, smallsz, &nsmall);
	if (nsmall > nbig || memcmp(small, big, nsmall) != 0)
		abort();	/* a cut output is not a prefix */

	again = sanitize(big, nbig, nbig + 1, &nagain);
	if (nagain != nbig || memcmp(again, big, nbig) != 0)
		abort();	/* not idempotent */

	free(again);
	free(small);
	free(big);
	free(in);
	return 0;
}
