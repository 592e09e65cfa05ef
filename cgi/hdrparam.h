/*
 * hdrparam.h: header values made of a leading token and ';' parameters,
 * the grammar shared by Content-Type (RFC 9110 section 8.3.1, parameters
 * in section 5.6.6) and Content-Disposition (RFC 6266 section 4.1, used
 * by multipart/form-data parts, RFC 7578 section 4.2).
 *
 *   value     = token *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] )
 *
 * Names and the leading token compare case-insensitively.  A quoted-string
 * holds no control character but HTAB, escaped or not (RFC 9110 section
 * 5.6.4: qdtext and quoted-pair take HTAB, SP, VCHAR and obs-text only),
 * but with HDRPARAM_LITERAL_BACKSLASH (below).  Pure functions over
 * (buf, len).
 */
#ifndef TRIPLINE_HDRPARAM_H
#define TRIPLINE_HDRPARAM_H

#include <stddef.h>

/*
 * In quoted strings, take '\' as itself, not as the start of a
 * quoted-pair: browsers do so for form-data filenames (the HTML
 * Standard's "multipart/form-data encoding algorithm" escapes only '"',
 * CR and LF, as %22, %0D and %0A), so "C:\dir\a.csv" keeps its
 * backslashes.  For the same reason other control characters are taken
 * as browsers send them, raw: a file name is cleaned where it is shown
 * (lib/safetext.h), and refusing it would refuse the upload.
 */
#define HDRPARAM_LITERAL_BACKSLASH	0x01

/*
 * 1 when the leading token of buf equals want (for example "text/csv"),
 * whatever the parameters; 0 otherwise.
 */
int	hdrparam_is(const char *buf, size_t len, const char *want);

/*
 * Find parameter name (case-insensitive) and copy its value, unquoted,
 * NUL-terminated, into out (size outsz), its length in *outlen.  Returns
 * 1 when found, 0 when absent, -1 when buf is malformed, a value does
 * not fit out, or the name appears twice.
 */
int	hdrparam_get(const char *buf, size_t len, const char *name, int flags,
	    char *out, size_t outsz, size_t *outlen);

#endif
