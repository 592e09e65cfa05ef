/*
 * safetext.c: untrusted text made fit to show (see safetext.h).
 */
#include <stdint.h>
#include <string.h>

#include "safetext.h"

#define REPLACEMENT	0xFFFDu

/*
 * Decode one UTF-8 character at s (len > 0) as RFC 3629 section 4 allows
 * it.  Returns the bytes used; *cp is REPLACEMENT for an invalid sequence,
 * of which one byte is used, so that the next byte starts afresh.
 */
static size_t
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t	 c = s[0], min;
	size_t		 n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		*cp = REPLACEMENT;
		return 1;
	}
	if (len < n)
		goto bad;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* Overlong forms, UTF-16 surrogates and past U+10FFFF. */
	if (c < min || (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
		goto bad;
	*cp = c;
	return n;
bad:
	*cp = REPLACEMENT;
	return 1;
}

static int
unshowable(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F) ||
	    (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

static size_t
utf8_put(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * Copy buf sanitized into out, at most cap bytes and never part of a
 * character.  *cut is set when not all of buf fitted.  Returns the bytes
 * written (no NUL).
 */
static size_t
sanitize(const char *buf, size_t len, char *out, size_t cap, int *cut)
{
	const unsigned char	*s = (const unsigned char *)buf;
	char			 enc[4];
	size_t			 i = 0, o = 0, n, k;
	uint32_t		 c;

	*cut = 0;
	while (i < len) {
		n = utf8_next(s + i, len - i, &c);
		if (unshowable(c))
			c = REPLACEMENT;
		k = utf8_put(c, enc);
		if (o + k > cap) {
			*cut = 1;
			break;
		}
		memcpy(out + o, enc, k);
		o += k;
		i += n;
	}
	return o;
}

size_t
safetext_quote(const char *buf, size_t len, char *out, size_t outsz)
{
	size_t	 cap, o;
	int	 cut;

	/* Room for the quotes, "..." and the NUL. */
	if (outsz < 6) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	cap = outsz - 6;
	if (cap > SAFETEXT_QUOTE_MAX)
		cap = SAFETEXT_QUOTE_MAX;
	out[0] = '"';
	o = 1 + sanitize(buf, len, out + 1, cap, &cut);
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

size_t
safetext_filename(const char *buf, size_t len, char *out, size_t outsz)
{
	size_t	 i, start = 0, cap, o;
	int	 cut;

	for (i = 0; i < len; i++)
		if (buf[i] == '/' || buf[i] == '\\')
			start = i + 1;
	cap = outsz > 0 ? outsz - 1 : 0;
	if (cap > SAFETEXT_FILENAME_MAX)
		cap = SAFETEXT_FILENAME_MAX;
	o = sanitize(buf + start, len - start, out, cap, &cut);
	if (o == 0 || (o == 1 && out[0] == '.') ||
	    (o == 2 && out[0] == '.' && out[1] == '.')) {
		if (cap < sizeof(SAFETEXT_FILENAME_DEFAULT) - 1) {
			o = 0;
		} else {
			o = sizeof(SAFETEXT_FILENAME_DEFAULT) - 1;
			memcpy(out, SAFETEXT_FILENAME_DEFAULT, o);
		}
	}
	if (outsz > 0)
		out[o] = '\0';
	return o;
}
