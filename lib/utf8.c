/*
 * utf8.c: decoding, control characters, validation and sanitising (see
 * utf8.h).  The accepted byte sequences are exactly those of Table 3-7
 * of the Unicode Standard ("Well-Formed UTF-8 Byte Sequences"), which is
 * RFC 3629 section 4 written out.
 */
#include <string.h>

#include "utf8.h"

/* U+FFFD REPLACEMENT CHARACTER */
static const char utf8_repl[] = "\xef\xbf\xbd";
#define UTF8_REPL_LEN	3

/*
 * Table 3-7 but its first row (00..7F, one byte): for each range of lead
 * bytes, how many bytes follow, the range of the first of them and the
 * lead's payload bits.  The bytes after the first are 80..BF.  The narrow
 * first ranges are what refuses overlong forms (E0, F0), surrogates (ED)
 * and code points above U+10FFFF (F4); C0, C1 (overlong two-byte forms)
 * and F5..FF lead nothing.
 */
static const struct utf8_row {
	unsigned char	 lead_lo, lead_hi, need, lo, hi, bits;
} utf8_rows[] = {
	{ 0xc2, 0xdf, 1, 0x80, 0xbf, 0x1f },
	{ 0xe0, 0xe0, 2, 0xa0, 0xbf, 0x0f },
	{ 0xe1, 0xec, 2, 0x80, 0xbf, 0x0f },
	{ 0xed, 0xed, 2, 0x80, 0x9f, 0x0f },
	{ 0xee, 0xef, 2, 0x80, 0xbf, 0x0f },
	{ 0xf0, 0xf0, 3, 0x90, 0xbf, 0x07 },
	{ 0xf1, 0xf3, 3, 0x80, 0xbf, 0x07 },
	{ 0xf4, 0xf4, 3, 0x80, 0x8f, 0x07 },
};

/*
 * The code points of each class.  utf8_is takes the first class that
 * holds a code point, so TAB, before C0, is not in C0.
 */
static const struct {
	uint32_t	 lo, hi;
} utf8_class_range[UTF8_CLASS__MAX] = {
	[UTF8_CLASS_TAB]		= { 0x0009, 0x0009 },
	[UTF8_CLASS_C0]			= { 0x0000, 0x001f },
	[UTF8_CLASS_DEL]		= { 0x007f, 0x007f },
	[UTF8_CLASS_C1]			= { 0x0080, 0x009f },
	[UTF8_CLASS_BIDI_EMBED]		= { 0x202a, 0x202e },
	[UTF8_CLASS_BIDI_ISOLATE]	= { 0x2066, 0x2069 },
	[UTF8_CLASS_LINE_SEP]		= { 0x2028, 0x2029 },
	[UTF8_CLASS_BOM]		= { 0xfeff, 0xfeff },
};

size_t
utf8_decode(const char *buf, size_t len, uint32_t *cp)
{
	const unsigned char	*s = (const unsigned char *)buf;
	const struct utf8_row	*r = NULL;
	unsigned char		 lo, hi;
	uint32_t		 c;
	size_t			 i, k;

	*cp = UTF8_BAD;
	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	for (i = 0; i < sizeof(utf8_rows) / sizeof(utf8_rows[0]); i++)
		if (s[0] >= utf8_rows[i].lead_lo &&
		    s[0] <= utf8_rows[i].lead_hi) {
			r = &utf8_rows[i];
			break;
		}
	if (r == NULL)
		return 1;	/* a continuation byte or no lead at all */
	c = s[0] & r->bits;
	lo = r->lo;
	hi = r->hi;
	for (k = 1; k <= r->need; k++) {
		/* The maximal subpart ends before the first misfit byte. */
		if (k >= len || s[k] < lo || s[k] > hi)
			return k;
		c = c << 6 | (s[k] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return k;
}

/* The class of cp, the first that holds it; UTF8_CLASS__MAX for none. */
static int
utf8_class_of(uint32_t cp)
{
	int	 c;

	if (cp >= 0x20 && cp < 0x7f)
		return UTF8_CLASS__MAX;	/* printable ASCII, most text */
	for (c = 0; c < UTF8_CLASS__MAX; c++)
		if (cp >= utf8_class_range[c].lo &&
		    cp <= utf8_class_range[c].hi)
			break;
	return c;
}

int
utf8_is(uint32_t cp, unsigned classes)
{
	int	 c = utf8_class_of(cp);

	return c < UTF8_CLASS__MAX && (classes & UTF8_CLASS_BIT(c)) != 0;
}

unsigned
utf8_scan(const char *buf, size_t len)
{
	size_t		 i = 0;
	uint32_t	 cp;
	unsigned	 found = 0;
	int		 c;

	while (i < len) {
		i += utf8_decode(buf + i, len - i, &cp);
		if (cp == UTF8_BAD)
			found |= UTF8_ILL_FORMED;
		else if ((c = utf8_class_of(cp)) < UTF8_CLASS__MAX)
			found |= UTF8_CLASS_BIT(c);
	}
	return found;
}

int
utf8_valid(const char *buf, size_t len)
{
	size_t		 i = 0;
	uint32_t	 cp;

	while (i < len) {
		i += utf8_decode(buf + i, len - i, &cp);
		if (cp == UTF8_BAD || cp == 0)
			return 0;
	}
	return 1;
}

size_t
utf8_replace(const char *buf, size_t len, unsigned classes, char *out,
    size_t outsz, size_t *used)
{
	const char	*src;
	size_t		 i = 0, o = 0, n, w;
	uint32_t	 cp;

	if (outsz == 0)
		goto out;
	while (i < len) {
		n = utf8_decode(buf + i, len - i, &cp);
		src = buf + i;
		w = n;
		if (cp == UTF8_BAD || utf8_is(cp, classes)) {
			src = utf8_repl;
			w = UTF8_REPL_LEN;
		}
		if (w > outsz - 1 - o)
			break;
		memcpy(out + o, src, w);
		o += w;
		i += n;
	}
	out[o] = '\0';
out:
	if (used != NULL)
		*used = i;
	return o;
}

size_t
utf8_sanitize(const char *buf, size_t len, char *out, size_t outsz)
{
	return utf8_replace(buf, len, UTF8_SANITIZE, out, outsz, NULL);
}
