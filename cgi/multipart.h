/*
 * multipart.h: a streaming parser of multipart/form-data bodies (RFC 7578;
 * the body syntax is RFC 2046 section 5.1.1) that extracts the one part
 * carrying a given field name, for example "file".
 *
 * Feed the body in chunks of any size, split anywhere (a delimiter may
 * straddle two chunks); the parser holds at most a delimiter's length of
 * body bytes back and never copies the part data.  It is pure: no I/O, no
 * globals; the callbacks do the writing.
 *
 * What it refuses (multipart_error() says which, in words for the client):
 *  - a body without any delimiter line, or not ended by a close delimiter
 *    ("--boundary--");
 *  - a delimiter followed by anything but "--" or transport padding and
 *    CRLF: RFC 2046 forbids the boundary inside a part, so such a body is
 *    malformed (the boundary without the leading CRLF is ordinary data);
 *  - part headers over MULTIPART_HEADER_MAX bytes, header lines not ended
 *    by CRLF (bare LF or CR), folded lines, NUL bytes, a part without
 *    Content-Disposition: form-data and a name (RFC 7578 section 4.2);
 *  - no part with the field name, or more than one.
 *  - two Content-Type headers in one part.
 * Other parts are read over and ignored; the wanted part's Content-Type
 * goes to the begin callback, which may refuse it (a charset the loader
 * cannot read); Content-Transfer-Encoding is ignored (RFC 7578 section
 * 4.7 deprecates it).
 */
#ifndef TRIPLINE_MULTIPART_H
#define TRIPLINE_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 section 5.1.1 */
#define MULTIPART_HEADER_MAX	8192	/* bytes of one part's headers */

enum multipart_status {
	MULTIPART_OK = 0,
	MULTIPART_ERROR = -1,	/* malformed body: see multipart_error */
	MULTIPART_STOPPED = -2	/* a callback returned non-zero */
};

struct multipart_cb {
	/*
	 * The wanted part begins.  filename is the Content-Disposition
	 * filename parameter as sent (not NUL-terminated, not sanitized, but
	 * for %22, %0D and %0A read back as the browsers meant them), or
	 * NULL when the part has none; ctype its Content-Type value the same
	 * way (spaces around it dropped), or NULL.
	 */
	int	(*begin)(void *arg, const char *filename, size_t len,
		    const char *ctype, size_t ctlen);
	/* Some bytes of the wanted part's content. */
	int	(*data)(void *arg, const char *buf, size_t len);
};

struct multipart;

/*
 * The boundary parameter of a Content-Type value, checked against the
 * RFC 2046 bchars (1 to 70 characters, not ending in a space), into out
 * (at least MULTIPART_BOUNDARY_MAX + 1 bytes).  Returns its length, or
 * -1 when it is absent or malformed.
 */
long	multipart_boundary(const char *ctype, size_t len, char *out,
	    size_t outsz);

/*
 * A parser for a body with this boundary, delivering the part named
 * field (NUL-terminated, copied) to cb.  Returns NULL when out of memory
 * or the boundary is not 1 to MULTIPART_BOUNDARY_MAX bytes.
 */
struct multipart *multipart_new(const char *boundary, size_t blen,
	    const char *field, const struct multipart_cb *cb, void *arg);

/* Parse the next chunk; an error is sticky. */
enum multipart_status multipart_feed(struct multipart *, const char *buf,
	    size_t len);

/* The body ended: check it was complete and had the part. */
enum multipart_status multipart_finish(struct multipart *);

/* Why the body was refused: short, lower-case; "" when it was not. */
const char *multipart_error(const struct multipart *);

void	multipart_free(struct multipart *);

#endif
