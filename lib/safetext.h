/*
 * safetext.h: untrusted text made fit to show to a person: quoted in a
 * problem detail, a reject's reason, a job's error or a log line, or kept
 * as a job's display filename.  Pure functions over (buf, len): no NUL
 * terminator is needed or read.  In lib/, as both programs and the trip
 * parser quote what they refuse.
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

/* The quoted text of a result in SAFETEXT_QUOTE_SIZE bytes, at most. */
#define SAFETEXT_QUOTE_MAX	48
/* The usual room for a safetext_quote result: quotes, "..." and NUL. */
#define SAFETEXT_QUOTE_SIZE	(SAFETEXT_QUOTE_MAX + 6)

/* Longest display filename, in bytes (jobs.filename). */
#define SAFETEXT_FILENAME_MAX	200
/* Room for any safetext_filename result, with its NUL. */
#define SAFETEXT_FILENAME_SIZE	(SAFETEXT_FILENAME_MAX + 1)
/* The display name of an upload that brings none. */
#define SAFETEXT_FILENAME_DEFAULT "upload.csv"

/*
 * Write the text between double quotes, NUL-terminated, into out of size
 * outsz: sanitized, each '"' and '\\' inside escaped with a '\\' (as
 * JSON and PostgreSQL's to_json write them, so that datasource "a\"b"
 * reads one way), and cut on a character boundary once outsz - 6 bytes
 * are written (then "..." follows inside the quotes): a buffer of
 * SAFETEXT_QUOTE_SIZE keeps SAFETEXT_QUOTE_MAX bytes, a larger one more.
 * Below 6 bytes nothing fits: then an empty string (in 0 bytes nothing).
 * Returns the length written.
 */
size_t	safetext_quote(const char *buf, size_t len, char *out, size_t outsz);

/*
 * The text as safetext_quote shows it, without the quotes and without
 * escapes: for a name that goes into a JSON field of its own (JSON
 * escapes it there).  Cut once outsz - 4 bytes are written (then "...").
 * Returns the length written, NUL-terminated; below 4 bytes of room an
 * empty string (in 0 bytes nothing).
 */
size_t	safetext_plain(const char *buf, size_t len, char *out, size_t outsz);

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
