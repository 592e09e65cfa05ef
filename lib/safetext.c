/*
 * safetext.c: untrusted text made fit to show (see safetext.h).
 */
#include <string.h>

#include "safetext.h"
#include "utf8.h"

/*
 * What is replaced in text shown back: every control character (general
 * category Cc, TAB too: a problem detail or a file name has no use for
 * one), the bidirectional overrides and LS and PS (utf8.h).
 */
#define SAFETEXT_CLASSES	(UTF8_CC | UTF8_BIDI | UTF8_LINE_SEP)

/*
 * Copy buf sanitized into out, at most cap bytes and never part of a
 * character, then a NUL (out has room for cap + 1 bytes).  *cut is set
 * when not all of buf fitted.  Returns the bytes written before the NUL.
 */
static size_t
safetext_sanitize(const char *buf, size_t len, char *out, size_t cap,
    int *cut)
{
	size_t	 used, o;

	o = utf8_replace(buf, len, SAFETEXT_CLASSES, out, cap + 1, &used);
	*cut = used < len;
	return o;
}

/* 1 for what safetext_quote escapes inside its quotes. */
static int
safetext_escaped(char c)
{
	return c == '"' || c == '\\';
}

size_t
safetext_quote(const char *buf, size_t len, char *out, size_t outsz)
{
	char	*p = out + 1;
	size_t	 cap, o, k = 0, i, d;
	int	 cut;

	/* Room for the quotes, "..." and the NUL. */
	if (outsz < 6) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	cap = outsz - 6;
	out[0] = '"';
	o = safetext_sanitize(buf, len, p, cap, &cut);
	for (i = 0; i < o; i++)
		k += safetext_escaped(p[i]);
	/*
	 * The escapes take room too: give back whole characters from the
	 * end (the text is valid UTF-8 now) until the text and they fit.
	 */
	while (o + k > cap) {
		cut = 1;
		do
			o--;
		while (o > 0 && ((unsigned char)p[o] & 0xc0) == 0x80);
		k -= safetext_escaped(p[o]);
	}
	/* Escape in place, from the end. */
	for (i = o, d = o + k; i > 0; ) {
		p[--d] = p[--i];
		if (safetext_escaped(p[i]))
			p[--d] = '\\';
	}
	o = 1 + o + k;
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

size_t
safetext_plain(const char *buf, size_t len, char *out, size_t outsz)
{
	size_t	 o;
	int	 cut;

	/* Room for "..." and the NUL. */
	if (outsz < 4) {
		if (outsz > 0)
			out[0] = '\0';
		return 0;
	}
	o = safetext_sanitize(buf, len, out, outsz - 4, &cut);
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

size_t
safetext_filename(const char *buf, size_t len, char *out, size_t outsz)
{
	size_t	 i, start = 0, cap, o;
	int	 cut;

	if (outsz == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (buf[i] == '/' || buf[i] == '\\')
			start = i + 1;
	cap = outsz - 1;
	if (cap > SAFETEXT_FILENAME_MAX)
		cap = SAFETEXT_FILENAME_MAX;
	o = safetext_sanitize(buf + start, len - start, out, cap, &cut);
	if (strspn(out, " ") == o || (o == 1 && out[0] == '.') ||
	    (o == 2 && out[0] == '.' && out[1] == '.')) {
		if (cap < sizeof(SAFETEXT_FILENAME_DEFAULT) - 1) {
			o = 0;
		} else {
			o = sizeof(SAFETEXT_FILENAME_DEFAULT) - 1;
			memcpy(out, SAFETEXT_FILENAME_DEFAULT, o);
		}
	}
	out[o] = '\0';
	return o;
}
