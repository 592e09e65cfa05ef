/*
 * utf8.h: UTF-8 checks for names that go into the database and for text
 * echoed back in error messages.  Pure functions over (buf, len).
 */
#ifndef TRIPLINE_UTF8_H
#define TRIPLINE_UTF8_H

#include <stddef.h>

/*
 * 1 if buf is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) and holds no NUL byte, else 0.
 * The empty string is valid.
 */
int	utf8_valid(const char *buf, size_t len);

/*
 * Copy buf into out, replacing each ill-formed sequence (its maximal
 * subpart, as Unicode 15 section 3.9 recommends), each NUL or other C0
 * control except TAB, and each C1 control (U+0080 to U+009F) by U+FFFD.
 * The copy is cut on a character boundary to at most outsz - 1 bytes
 * and NUL-terminated.  Returns its length;
 * nothing is written when outsz is 0.
 */
size_t	utf8_sanitize(const char *buf, size_t len, char *out, size_t outsz);

#endif
