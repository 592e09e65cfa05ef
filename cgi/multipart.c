/*
 * multipart.c: streaming multipart/form-data (see multipart.h).
 *
 * The delimiter D is CRLF "--" boundary (RFC 2046 section 5.1.1: "the
 * CRLF preceding the boundary delimiter line is conceptually attached to
 * the boundary").  The first delimiter may open the body, so the scan of
 * the preamble starts as if a CRLF had just been read.  CR occurs in D
 * only at its start (bchars exclude it), so after a mismatch at D[m] none
 * of the m matched bytes can begin another match: they are plain data,
 * equal to D[0..m), and the parser needs no buffer for them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdrparam.h"
#include "multipart.h"
#include "num.h"
#include "safetext.h"

enum mp_state {
	MP_PREAMBLE,	/* before the first delimiter */
	MP_DELIM_TAIL,	/* just after D: "--", padding or CRLF */
	MP_CLOSE_DASH,	/* D "-": the second '-' of a close delimiter */
	MP_PADDING,	/* D then spaces or tabs (transport-padding) */
	MP_DELIM_LF,	/* D [padding] CR: the LF */
	MP_HEADERS,	/* a part's header lines */
	MP_BODY,	/* a part's content */
	MP_EPILOGUE,	/* after the close delimiter: ignored */
	MP_FAILED,
	MP_STATE__MAX
};

struct multipart {
	enum mp_state		 state;
	const struct multipart_cb *cb;
	void			*arg;
	char			 delim[4 + MULTIPART_BOUNDARY_MAX];
	size_t			 dlen;
	size_t			 m;		/* bytes of delim matched */
	int			 wanted;	/* this part is the field */
	int			 seen;		/* the field was seen */
	char			 field[64];
	char			 err[128];
	size_t			 hlen;
	/* The header lines, and the CR of the empty line after them. */
	char			 hdr[MULTIPART_HEADER_MAX + 1];
	char			 val[MULTIPART_HEADER_MAX];
};

/* RFC 2046 section 5.1.1 bchars. */
static int
is_bchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("'()+_,-./:=? ", c) != NULL);
}

long
multipart_boundary(const char *ctype, size_t len, char *out, size_t outsz)
{
	size_t	 n, i;

	if (hdrparam_get(ctype, len, "boundary", 0, out, outsz, &n) != 1 ||
	    n == 0 || n > MULTIPART_BOUNDARY_MAX || out[n - 1] == ' ')
		return -1;
	for (i = 0; i < n; i++)
		if (!is_bchar(out[i]))
			return -1;
	return (long)n;
}

struct multipart *
multipart_new(const char *boundary, size_t blen, const char *field,
    const struct multipart_cb *cb, void *arg)
{
	struct multipart *mp;

	if (blen == 0 || blen > MULTIPART_BOUNDARY_MAX ||
	    strlen(field) >= sizeof(mp->field))
		return NULL;
	if ((mp = calloc(1, sizeof(*mp))) == NULL)
		return NULL;
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, blen);
	mp->dlen = 4 + blen;
	mp->m = 2;
	mp->state = MP_PREAMBLE;
	mp->cb = cb;
	mp->arg = arg;
	memcpy(mp->field, field, strlen(field) + 1);
	return mp;
}

void
multipart_free(struct multipart *mp)
{
	free(mp);
}

const char *
multipart_error(const struct multipart *mp)
{
	return mp->err;
}

/*
 * Browsers and curl send a file name's '"', CR and LF as %22, %0D and
 * %0A (WHATWG HTML, "multipart/form-data encoding algorithm"), and
 * nothing else escaped: those three are read back, in place, so that
 * we"ird.csv is not stored as we%22ird.csv.  Any other '%' stays (a
 * name may hold "100%.csv").  Returns the new length.
 */
static size_t
unescape_filename(char *s, size_t len)
{
	size_t	 i, o = 0;
	int	 hi, lo, v;

	for (i = 0; i < len; i++) {
		v = -1;
		if (i + 2 < len && s[i] == '%' &&
		    (hi = num_hex_digit(s[i + 1])) >= 0 &&
		    (lo = num_hex_digit(s[i + 2])) >= 0)
			v = hi * 16 + lo;
		if (v == '"' || v == '\r' || v == '\n') {
			s[o++] = (char)v;
			i += 2;
		} else
			s[o++] = s[i];
	}
	return o;
}

static enum multipart_status
fail(struct multipart *mp, const char *msg)
{
	if (mp->state != MP_FAILED)
		snprintf(mp->err, sizeof(mp->err), "%s", msg);
	mp->state = MP_FAILED;
	return MULTIPART_ERROR;
}

/* fail with the offending header value quoted after what. */
static enum multipart_status
fail_quoting(struct multipart *mp, const char *what, const char *val,
    size_t len)
{
	char	 q[SAFETEXT_QUOTE_SIZE], msg[SAFETEXT_QUOTE_SIZE + 64];

	safetext_quote(val, len, q, sizeof(q));
	snprintf(msg, sizeof(msg), "%s %s", what, q);
	return fail(mp, msg);
}

static enum multipart_status
stopped(struct multipart *mp)
{
	mp->state = MP_FAILED;
	mp->err[0] = '\0';
	return MULTIPART_STOPPED;
}

static enum multipart_status
deliver(struct multipart *mp, const char *buf, size_t len)
{
	if (len == 0 || !mp->wanted)
		return MULTIPART_OK;
	if (mp->cb->data(mp->arg, buf, len) != 0)
		return stopped(mp);
	return MULTIPART_OK;
}

/*
 * The part's header section is complete in hdr (hlen bytes, lines ended
 * by CRLF, the empty last line excluded).  Find Content-Disposition and
 * decide whether this is the wanted part.
 */
/* 1 if the header line's name (up to colon) is name, in any case. */
static int
header_is(const char *line, const char *colon, const char *name)
{
	return (size_t)(colon - line) == strlen(name) &&
	    strncasecmp(line, name, (size_t)(colon - line)) == 0;
}

/* The value after colon up to end, without spaces and tabs around it. */
static const char *
header_value(const char *colon, const char *end, size_t *len)
{
	const char	*v;

	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	*len = (size_t)(end - v);
	while (*len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t'))
		(*len)--;
	return v;
}

static enum multipart_status
headers_done(struct multipart *mp)
{
	const char	*line, *end, *colon;
	const char	*cd = NULL, *ct = NULL;
	size_t		 cdlen = 0, ctlen = 0, nlen, fnlen;
	int		 have_fn;
	char		 msg[128];

	for (line = mp->hdr; line < mp->hdr + mp->hlen; line = end + 2) {
		end = memchr(line, '\r', (size_t)(mp->hdr + mp->hlen - line));
		if (line[0] == ' ' || line[0] == '\t')
			return fail(mp, "folded part header line");
		colon = memchr(line, ':', (size_t)(end - line));
		if (colon == NULL || colon == line)
			return fail(mp, "malformed part header");
		if (header_is(line, colon, "Content-Type")) {
			if (ct != NULL)
				return fail(mp, "two content-type headers "
				    "in one part");
			ct = header_value(colon, end, &ctlen);
			continue;
		}
		if (!header_is(line, colon, "Content-Disposition"))
			continue;
		if (cd != NULL)
			return fail(mp, "two content-disposition headers "
			    "in one part");
		cd = header_value(colon, end, &cdlen);
	}
	if (cd == NULL || !hdrparam_is(cd, cdlen, "form-data"))
		return fail(mp, "part without content-disposition: form-data");
	switch (hdrparam_get(cd, cdlen, "name", HDRPARAM_LITERAL_BACKSLASH,
	    mp->val, sizeof(mp->val), &nlen)) {
	case 1:
		break;
	case 0:
		return fail(mp, "part without a name");
	default:
		return fail_quoting(mp, "malformed content-disposition",
		    cd, cdlen);
	}
	mp->wanted = strlen(mp->field) == nlen &&
	    memcmp(mp->val, mp->field, nlen) == 0;
	if (!mp->wanted)
		return MULTIPART_OK;
	if (mp->seen) {
		snprintf(msg, sizeof(msg), "more than one part named \"%s\"",
		    mp->field);
		return fail(mp, msg);
	}
	mp->seen = 1;
	have_fn = hdrparam_get(cd, cdlen, "filename",
	    HDRPARAM_LITERAL_BACKSLASH, mp->val, sizeof(mp->val), &fnlen);
	if (have_fn < 0)
		return fail_quoting(mp, "malformed content-disposition",
		    cd, cdlen);
	if (have_fn)
		fnlen = unescape_filename(mp->val, fnlen);
	if (mp->cb->begin(mp->arg, have_fn ? mp->val : NULL,
	    have_fn ? fnlen : 0, ct, ctlen) != 0)
		return stopped(mp);
	return MULTIPART_OK;
}

/* One byte of a header section. */
static enum multipart_status
header_byte(struct multipart *mp, char c)
{
	int	 after_cr = mp->hlen > 0 && mp->hdr[mp->hlen - 1] == '\r';

	if (c == '\0')
		return fail(mp, "nul byte in part header");
	if (after_cr != (c == '\n'))
		return fail(mp, "part header line not ended by crlf");
	if (c == '\n') {
		/* CRLF alone on its line ends the section. */
		if (mp->hlen == 1 || (mp->hlen >= 3 &&
		    mp->hdr[mp->hlen - 2] == '\n')) {
			mp->hlen--;
			mp->state = MP_BODY;
			mp->m = 0;
			return headers_done(mp);
		}
	}
	/*
	 * The limit is on the header lines, CRLFs included: past it only
	 * the CR of the empty line that ends them may come.
	 */
	if (mp->hlen >= MULTIPART_HEADER_MAX && !(c == '\r' &&
	    mp->hdr[mp->hlen - 1] == '\n')) {
		char msg[64];

		snprintf(msg, sizeof(msg), "part headers longer than %d bytes",
		    MULTIPART_HEADER_MAX);
		return fail(mp, msg);
	}
	mp->hdr[mp->hlen++] = c;
	return MULTIPART_OK;
}

/*
 * In the preamble or a body: match the delimiter.  Returns the bytes of
 * buf used; sets *matched when the delimiter is complete.
 */
static size_t
scan(struct multipart *mp, const char *buf, size_t len, int *matched,
    enum multipart_status *st)
{
	const char	*cr;
	size_t		 i = 0;

	*matched = 0;
	*st = MULTIPART_OK;
	while (i < len) {
		if (mp->m == 0) {
			/* Fast path: everything up to the next CR is data. */
			cr = memchr(buf + i, '\r', len - i);
			if (cr == NULL) {
				if (mp->state == MP_BODY)
					*st = deliver(mp, buf + i, len - i);
				return len;
			}
			if (mp->state == MP_BODY &&
			    (*st = deliver(mp, buf + i, (size_t)(cr - buf) - i))
			    != MULTIPART_OK)
				return len;
			i = (size_t)(cr - buf);
		}
		if (buf[i] == mp->delim[mp->m]) {
			i++;
			if (++mp->m == mp->dlen) {
				*matched = 1;
				return i;
			}
			continue;
		}
		/* Mismatch: the matched bytes were data after all. */
		if (mp->state == MP_BODY &&
		    (*st = deliver(mp, mp->delim, mp->m)) != MULTIPART_OK)
			return len;
		mp->m = 0;
	}
	return i;
}

enum multipart_status
multipart_feed(struct multipart *mp, const char *buf, size_t len)
{
	enum multipart_status	 st;
	size_t			 i = 0;
	int			 matched;
	char			 c;

	while (i < len) {
		switch (mp->state) {
		case MP_PREAMBLE:
		case MP_BODY:
			i += scan(mp, buf + i, len - i, &matched, &st);
			if (st != MULTIPART_OK)
				return st;
			if (matched) {
				mp->state = MP_DELIM_TAIL;
				mp->wanted = 0;
			}
			break;
		case MP_DELIM_TAIL:
			c = buf[i++];
			if (c == '-')
				mp->state = MP_CLOSE_DASH;
			else if (c == ' ' || c == '\t')
				mp->state = MP_PADDING;
			else if (c == '\r')
				mp->state = MP_DELIM_LF;
			else
				return fail(mp, "boundary inside part data or "
				    "malformed boundary line");
			break;
		case MP_CLOSE_DASH:
			if (buf[i++] != '-')
				return fail(mp, "malformed close delimiter");
			mp->state = MP_EPILOGUE;
			break;
		case MP_PADDING:
			c = buf[i++];
			if (c == '\r')
				mp->state = MP_DELIM_LF;
			else if (c != ' ' && c != '\t')
				return fail(mp, "malformed boundary line");
			break;
		case MP_DELIM_LF:
			if (buf[i++] != '\n')
				return fail(mp, "malformed boundary line");
			mp->state = MP_HEADERS;
			mp->hlen = 0;
			break;
		case MP_HEADERS:
			if ((st = header_byte(mp, buf[i++])) != MULTIPART_OK)
				return st;
			break;
		case MP_EPILOGUE:
			return MULTIPART_OK;
		case MP_FAILED:
		default:
			return mp->err[0] != '\0' ? MULTIPART_ERROR :
			    MULTIPART_STOPPED;
		}
	}
	return mp->state == MP_FAILED ? (mp->err[0] != '\0' ?
	    MULTIPART_ERROR : MULTIPART_STOPPED) : MULTIPART_OK;
}

enum multipart_status
multipart_finish(struct multipart *mp)
{
	char	 msg[128];

	switch (mp->state) {
	case MP_EPILOGUE:
		break;
	case MP_FAILED:
		return mp->err[0] != '\0' ? MULTIPART_ERROR : MULTIPART_STOPPED;
	case MP_PREAMBLE:
		return fail(mp, "no multipart boundary in the body");
	default:
		return fail(mp, "unterminated multipart body");
	}
	if (!mp->seen) {
		snprintf(msg, sizeof(msg), "no part named \"%s\"", mp->field);
		return fail(mp, msg);
	}
	return MULTIPART_OK;
}
