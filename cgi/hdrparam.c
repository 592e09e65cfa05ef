/*
 * hdrparam.c: token and parameters of header values (see hdrparam.h).
 */
#include <string.h>
#include <strings.h>

#include "hdrparam.h"

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * RFC 9110 section 5.6.2 tchar, and '/' for the type/subtype form of a
 * media type.
 */
static int
is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~/", c) != NULL);
}

/* The leading token: its span after leading OWS. */
static size_t
lead(const char *buf, size_t len, size_t *start)
{
	size_t i = 0, s;

	while (i < len && is_ows(buf[i]))
		i++;
	s = i;
	while (i < len && is_tchar(buf[i]))
		i++;
	*start = s;
	return i - s;
}

int
hdrparam_is(const char *buf, size_t len, const char *want)
{
	size_t	 s, n = lead(buf, len, &s), i = s + n;

	while (i < len && is_ows(buf[i]))
		i++;
	if (i < len && buf[i] != ';')
		return 0;
	return n == strlen(want) && n > 0 && strncasecmp(buf + s, want, n) == 0;
}

int
hdrparam_get(const char *buf, size_t len, const char *name, int flags,
    char *out, size_t outsz, size_t *outlen)
{
	size_t	 i, s, ns, nl, o;
	int	 found = 0, match;

	i = lead(buf, len, &s);
	if (i == 0)
		return -1;
	i += s;
	for (;;) {
		while (i < len && is_ows(buf[i]))
			i++;
		if (i == len)
			break;
		if (buf[i] != ';')
			return -1;
		i++;
		while (i < len && is_ows(buf[i]))
			i++;
		if (i == len || buf[i] == ';')
			continue;
		/* name "=" */
		ns = i;
		while (i < len && is_tchar(buf[i]) && buf[i] != '/')
			i++;
		nl = i - ns;
		if (nl == 0 || i == len || buf[i] != '=')
			return -1;
		i++;
		match = nl == strlen(name) &&
		    strncasecmp(buf + ns, name, nl) == 0;
		if (match && found)
			return -1;
		o = 0;
		if (i < len && buf[i] == '"') {
			/* quoted-string, RFC 9110 section 5.6.4 */
			for (i++; i < len && buf[i] != '"'; i++) {
				if (buf[i] == '\\' &&
				    !(flags & HDRPARAM_LITERAL_BACKSLASH)) {
					if (++i == len)
						return -1;
				}
				/* No CTL but HTAB (RFC 9110 section 5.6.4). */
				if (!(flags & HDRPARAM_LITERAL_BACKSLASH) &&
				    (((unsigned char)buf[i] < ' ' &&
				    buf[i] != '\t') || buf[i] == 0x7f))
					return -1;
				if (match) {
					if (o + 1 >= outsz)
						return -1;
					out[o++] = buf[i];
				}
			}
			if (i == len)
				return -1;
			i++;
		} else {
			/*
			 * Unquoted, more lenient than token: boundaries such
			 * as "----=_Part_1" are sent unquoted in the wild.
			 */
			ns = i;
			while (i < len && buf[i] > ' ' && buf[i] < 0x7f &&
			    buf[i] != ';' && buf[i] != '"')
				i++;
			if (i == ns)
				return -1;
			if (match) {
				if (i - ns >= outsz)
					return -1;
				memcpy(out, buf + ns, i - ns);
				o = i - ns;
			}
		}
		if (match) {
			/* An empty quoted value skipped the check above. */
			if (o >= outsz)
				return -1;
			out[o] = '\0';
			*outlen = o;
			found = 1;
		}
	}
	return found;
}
