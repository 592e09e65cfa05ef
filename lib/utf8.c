/*
 * utf8.c: UTF-8 validation and sanitising.  The accepted byte sequences
 * are exactly those of Table 3-7 of the Unicode Standard ("Well-Formed
 * UTF-8 Byte Sequences"), which is RFC 3629 section 4 written out.
 */
#include <string.h>

#include "utf8.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char utf8_repl[] = "\xef\xbf\xbd";
#define UTF8_REPL_LEN	3

/*
 * The length of the well-formed sequence at s, or 0 with *bad set to the
 * length of its maximal ill-formed subpart (at least 1).  len >= 1.
 */
static size_t
utf8_seq(const unsigned char *s, size_t len, size_t *bad)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 need, k;

	if (c < 0x80)
		return 1;
	if (c < 0xc2) {
		/* A continuation byte, or C0/C1: overlong two-byte form. */
		*bad = 1;
		return 0;
	}
	if (c < 0xe0)
		need = 1;
	else if (c < 0xf0) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates D800-DFFF */
	} else if (c < 0xf5) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		*bad = 1;
		return 0;
	}
	for (k = 1; k <= need; k++) {
		if (k >= len || s[k] < lo || s[k] > hi) {
			*bad = k;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

int
utf8_valid(const char *buf, size_t len)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t	 i = 0, n, bad;

	while (i < len) {
		if (s[i] >= 0x01 && s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] == 0x00)
			return 0;
		if ((n = utf8_seq(s + i, len - i, &bad)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

size_t
utf8_sanitize(const char *buf, size_t len, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)buf;
	const char	*src;
	size_t		 i = 0, o = 0, n, bad = 0, w;

	if (outsz == 0)
		return 0;
	while (i < len) {
		if (s[i] < 0x20 && s[i] != '\t') {
			/* NUL and C0 controls: unsafe in logs and messages. */
			src = utf8_repl;
			w = UTF8_REPL_LEN;
			n = 1;
		} else if ((n = utf8_seq(s + i, len - i, &bad)) != 0) {
			src = buf + i;
			w = n;
			/*
			 * C1 controls, U+0080 to U+009F: U+0085 (NEL) ends a
			 * line for Unicode (UAX #14) and Python's splitlines,
			 * U+009B is CSI to a terminal.
			 */
			if (s[i] == 0xc2 && s[i + 1] < 0xa0) {
				src = utf8_repl;
				w = UTF8_REPL_LEN;
			}
		} else {
			src = utf8_repl;
			w = UTF8_REPL_LEN;
			n = bad;
		}
		if (w > outsz - 1 - o)
			break;
		memcpy(out + o, src, w);
		o += w;
		i += n;
	}
	out[o] = '\0';
	return o;
}
