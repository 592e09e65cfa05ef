/*
 * utf8.h: UTF-8 for text from outside, in one place: a decoder of one
 * character, a predicate for the control characters a caller refuses or
 * replaces, and the checks and sanitisers built on them (names that go
 * into the database, reject reasons, logs, text shown back to clients).
 * Pure functions over (buf, len).
 */
#ifndef TRIPLINE_UTF8_H
#define TRIPLINE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* *cp of an ill-formed sequence: above every code point (U+10FFFF). */
#define UTF8_BAD	0xFFFFFFFFu

/*
 * Decode the character at the start of buf.  Returns its length in bytes
 * and sets *cp to its code point.  Only the sequences of Table 3-7 of the
 * Unicode Standard (RFC 3629 section 4) are well-formed: no overlong
 * forms, no surrogates (U+D800 to U+DFFF), nothing above U+10FFFF.  For
 * an ill-formed sequence, a truncated one at the end of buf included, *cp
 * is UTF8_BAD and the length is that of its maximal subpart (Unicode 15
 * section 3.9, D93b; at least 1 byte), so that a caller replacing each by
 * U+FFFD follows the standard's recommended practice (also what browsers
 * do, WHATWG Encoding section 8.1.1).  Never reads past len; returns 0
 * (and *cp UTF8_BAD) when len is 0.
 */
size_t	utf8_decode(const char *buf, size_t len, uint32_t *cp);

/*
 * Classes of characters that are unsafe to store or show.  A code point is
 * in at most one class: TAB is not in UTF8_CLASS_C0.
 *
 * Control characters are general category Cc (Unicode 15, section 4.5 and
 * section 23.1): C0, DEL and C1.  A C0 control can end a line or start a
 * terminal escape (ESC), U+0085 (NEL) ends a line for Unicode (UAX #14)
 * and for Python's splitlines, U+009B is CSI to a terminal, and DEL is
 * drawn as nothing, hiding where it is.
 *
 * The bidirectional embeddings, overrides and isolates (UAX #9, sections
 * 2.1 to 2.5) reorder the text that follows them up to the end of the
 * paragraph: an RLO makes "gpj.exe" show as "exe.jpg" and a whole reason
 * read backwards.  The implicit marks (LRM, RLM, ALM; UAX #9 section 2.6)
 * only set the direction of the neutrals around them, reorder nothing
 * else and are kept.
 *
 * The line and paragraph separators (general categories Zl and Zp, the
 * only characters in them) are not controls but end a line as LF does:
 * line break class BK (UAX #14), a line end for Python's splitlines and
 * for JavaScript source before ES2019.
 */
enum utf8_class {
	UTF8_CLASS_TAB,		/* U+0009 */
	UTF8_CLASS_C0,		/* U+0000 to U+001F but TAB */
	UTF8_CLASS_DEL,		/* U+007F */
	UTF8_CLASS_C1,		/* U+0080 to U+009F */
	UTF8_CLASS_BIDI_EMBED,	/* U+202A to U+202E: LRE RLE PDF LRO RLO */
	UTF8_CLASS_BIDI_ISOLATE, /* U+2066 to U+2069: LRI RLI FSI PDI */
	UTF8_CLASS_LINE_SEP,	/* U+2028 LS, U+2029 PS */
	UTF8_CLASS_BOM,		/* U+FEFF: a byte order mark out of place */
	UTF8_CLASS__MAX
};

/* Sets of classes, for the classes arguments below. */
#define UTF8_CLASS_BIT(c)	(1u << (c))
/* General category Cc: every control character, TAB too. */
#define UTF8_CC		(UTF8_CLASS_BIT(UTF8_CLASS_TAB) |		\
			 UTF8_CLASS_BIT(UTF8_CLASS_C0) |		\
			 UTF8_CLASS_BIT(UTF8_CLASS_DEL) |		\
			 UTF8_CLASS_BIT(UTF8_CLASS_C1))
/* The bidirectional formatting characters that reorder text. */
#define UTF8_BIDI	(UTF8_CLASS_BIT(UTF8_CLASS_BIDI_EMBED) |	\
			 UTF8_CLASS_BIT(UTF8_CLASS_BIDI_ISOLATE))
/* What ends a line but is no control: LS and PS. */
#define UTF8_LINE_SEP	UTF8_CLASS_BIT(UTF8_CLASS_LINE_SEP)
/*
 * U+FEFF inside text: ZERO WIDTH NO-BREAK SPACE, deprecated as such (the
 * Unicode Standard, section 23.8), so a byte order mark out of place:
 * the start of a second file joined to the first.  Invisible.
 */
#define UTF8_BOM	UTF8_CLASS_BIT(UTF8_CLASS_BOM)
/*
 * What utf8_sanitize replaces: text for logs, a job's error, reject
 * reasons and a reject's raw text, which the page and the API's JSON show
 * as they are.  TAB is kept: it separates fields in a raw record and
 * breaks no line.
 */
#define UTF8_SANITIZE	((UTF8_CC & ~UTF8_CLASS_BIT(UTF8_CLASS_TAB)) |	\
			 UTF8_BIDI | UTF8_LINE_SEP)

/* 1 if the code point cp is in one of classes (UTF8_CLASS_BIT bits). */
int	utf8_is(uint32_t cp, unsigned classes);

/* The bit utf8_scan sets for an ill-formed sequence: above every class. */
#define UTF8_ILL_FORMED	UTF8_CLASS_BIT(UTF8_CLASS__MAX)

/*
 * In one pass over buf, the classes of its characters (UTF8_CLASS_BIT
 * bits), and UTF8_ILL_FORMED when it holds an ill-formed sequence: what
 * a caller with several checks to make reads once.
 */
unsigned utf8_scan(const char *buf, size_t len);

/*
 * 1 if buf is well-formed UTF-8 (see utf8_decode) and holds no NUL byte,
 * else 0.  The empty string is valid.
 */
int	utf8_valid(const char *buf, size_t len);

/*
 * Copy buf into out, replacing each ill-formed sequence (its maximal
 * subpart, see utf8_decode) and each character in one of classes by
 * U+FFFD.  The copy is cut on a character boundary to at most outsz - 1
 * bytes and NUL-terminated.  Returns its length; *used, when not NULL, is
 * set to the bytes of buf copied (len when all fitted).  Nothing is
 * written when outsz is 0.
 */
size_t	utf8_replace(const char *buf, size_t len, unsigned classes,
	    char *out, size_t outsz, size_t *used);

/*
 * utf8_replace with UTF8_SANITIZE: every control character but TAB (NUL,
 * the rest of C0, DEL, C1), the bidirectional overrides and the line and
 * paragraph separators replaced.
 */
size_t	utf8_sanitize(const char *buf, size_t len, char *out, size_t outsz);

#endif
