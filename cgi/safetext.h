/*
 * safetext.h: untrusted text made fit to show to a person: quoted in a
 * problem detail or a log line, or kept as a job's display filename.  Pure
 * functions over (buf, len): no NUL terminator is needed or read.
 *
 * Invalid UTF-8 (RFC 3629 section 3: overlong forms, surrogates, code
 * points past U+10FFFF; one U+FFFD for each maximal ill-formed subpart, as
 * utf8_decode reads it), every control character (NUL, C0 with TAB, DEL,
 * C1) and the bidirectional overrides (U+202A-U+202E, U+2066-U+2069, which
 * can make "gpj.exe" read as "exe.jpg") each become U+FFFD; output is
 * always cut on a character boundary.
 */
#ifndef TRIPLINE_SAFETEXT_H
#define TRIPLINE_SAFETEXT_H

#include <stddef.h>

/* Longest text safetext_quote keeps before cutting and adding "...". */
#define SAFETEXT_QUOTE_MAX	48
/* Room for any safetext_quote result, with its NUL. */
#define SAFETEXT_QUOTE_SIZE	(SAFETEXT_QUOTE_MAX + 8)

/* Longest display filename, in bytes (jobs.filename). */
#define SAFETEXT_FILENAME_MAX	200
/* Room for any safetext_filename result, with its NUL. */
#define SAFETEXT_FILENAME_SIZE	(SAFETEXT_FILENAME_MAX + 1)
/* The display name of an upload that brings none. */
#define SAFETEXT_FILENAME_DEFAULT "upload.csv"

/*
 * Write the text between double quotes, sanitized and cut after
 * SAFETEXT_QUOTE_MAX bytes (then followed by "..." inside the quotes),
 * NUL-terminated, into out of size outsz (at least SAFETEXT_QUOTE_SIZE
 * for the whole text).  Returns the length written.
 */
size_t	safetext_quote(const char *buf, size_t len, char *out, size_t outsz);

/*
 * A client's filename made a display name: the part after the last '/'
 * or '\\' (browsers on Windows send full paths), sanitized, cut to
 * SAFETEXT_FILENAME_MAX bytes; SAFETEXT_FILENAME_DEFAULT when that leaves
 * "", spaces alone (a name no one sees), "." or "..".  out has room for
 * SAFETEXT_FILENAME_SIZE bytes.
 * Returns the length written (without the NUL).
 */
size_t	safetext_filename(const char *buf, size_t len, char *out,
	    size_t outsz);

#endif
