/*
 * fuzz_hdrparam.c: cgi/hdrparam.c, the token and ';' parameters of
 * Content-Type and Content-Disposition values.
 *
 * Input: byte 0 holds the flags (bit 0: HDRPARAM_LITERAL_BACKSLASH) and
 * the size of out (bits 1-7; 127: the value's length + 1, always enough);
 * then, if a line feed comes within the next 65 bytes, the line before it
 * is the parameter name asked for (and the token hdrparam_is is asked
 * about), else the name is "boundary"; the rest is the header value.
 *
 * Properties, for that name, for the first NAMES_CHECKED parameter names
 * the value holds and for the name "" that no parameter can have:
 * - hdrparam_get agrees with a model written again from the grammar of
 *   hdrparam.h: -1 when the value is malformed, when the name (compared
 *   case-insensitively) appears twice, or when its value and a NUL do not
 *   fit outsz bytes; else 1 with the unquoted value, or 0;
 * - a value found is NUL-terminated inside out, at most as long as what it
 *   was read from (an unquoted value, or a quoted one taken literally, is
 *   a piece of the input; unescaping only drops bytes), and never written
 *   past outsz (out ends where outsz does, for ASan);
 * - outsz = length + 1 gives the same value, outsz = length gives -1;
 * - the name in upper or lower case gives the same answer;
 * - a second call gives the same answer;
 * - a value found, written back as a quoted-string, reads back the same;
 * - whether the value is malformed does not depend on the name asked for;
 * - hdrparam_is agrees with the model for the leading token in either
 *   case, the name line, a strict prefix of the token and "".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdrparam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Parameter names of the value asked for, with an out always big enough:
 * each costs about ten calls, and more only slow the fuzzer down.
 */
#define NAMES_CHECKED	4

/* RFC 9110 section 5.6.2, spelled out rather than shared with hdrparam.c. */
static const char tchars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "!#$%&'*+-.^_`|~";

struct mparam {
	size_t	 name, namelen;	/* in the value */
	size_t	 raw, rawlen;	/* the parameter value as sent, quotes too */
	int	 quoted;
	size_t	 val, vallen;	/* unquoted, in model.vals */
};

struct model {
	int		 ok;		/* the value follows the grammar */
	size_t		 tok, toklen;	/* the leading token */
	int		 tok_alone;	/* only OWS, then ';' or the end, after it */
	struct mparam	*p;
	size_t		 np;
	char		*vals;
};

static int
m_tchar(unsigned char c)
{
	return c != '\0' && memchr(tchars, c, sizeof(tchars) - 1) != NULL;
}

static int
m_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Bytes of an unquoted value: hdrparam.c takes more than a token there
 * (boundaries such as ----=_Part_1 come unquoted), every VCHAR but ';'
 * and '"'.
 */
static int
m_bare(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != ';' && c != '"';
}

static unsigned char
m_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of n bytes, not strncasecmp's. */
static int
m_eq(const char *a, const char *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (m_lower((unsigned char)a[i]) != m_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/*
 * value = token *( OWS ";" OWS [ name "=" ( token / quoted-string ) ] ),
 * a quoted-string ending at the first '"' not escaped by '\' (or at the
 * first '"' when literal).  Fills m; m->p and m->vals must hold len / 2 + 1
 * parameters and len bytes.
 */
static void
model_parse(const unsigned char *b, size_t len, int literal, struct model *m)
{
	struct mparam	*p;
	size_t		 i = 0, j, used = 0;

	m->ok = 0;
	m->np = 0;
	while (i < len && m_ows(b[i]))
		i++;
	m->tok = i;
	while (i < len && (m_tchar(b[i]) || b[i] == '/'))
		i++;
	m->toklen = i - m->tok;
	for (j = i; j < len && m_ows(b[j]); j++)
		;
	m->tok_alone = j == len || b[j] == ';';
	if (m->toklen == 0)
		return;
	for (;;) {
		while (i < len && m_ows(b[i]))
			i++;
		if (i == len)
			break;
		if (b[i++] != ';')
			return;
		while (i < len && m_ows(b[i]))
			i++;
		if (i == len || b[i] == ';')
			continue;	/* an empty parameter */
		p = &m->p[m->np++];
		for (p->name = i; i < len && m_tchar(b[i]); i++)
			;
		p->namelen = i - p->name;
		if (p->namelen == 0 || i == len || b[i++] != '=')
			return;
		p->raw = i;
		p->val = used;
		p->quoted = i < len && b[i] == '"';
		if (p->quoted) {
			for (i++; i < len && b[i] != '"'; i++) {
				if (b[i] == '\\' && !literal && ++i == len)
					return;
				if (!literal && ((b[i] < ' ' && b[i] != '\t') ||
				    b[i] == 0x7f))
					return;	/* a CTL but HTAB */
				m->vals[used++] = (char)b[i];
			}
			if (i++ == len)
				return;	/* no closing quote */
		} else {
			for (; i < len && m_bare(b[i]); i++)
				m->vals[used++] = (char)b[i];
			if (i == p->raw)
				return;	/* no value */
		}
		p->rawlen = i - p->raw;
		p->vallen = used - p->val;
	}
	m->ok = 1;
}

/* What hdrparam_get must answer; *pp: the parameter when 1. */
static int
model_get(const char *b, const struct model *m, const char *name,
    size_t outsz, const struct mparam **pp)
{
	const struct mparam	*found = NULL;
	size_t			 k, nl = strlen(name);

	if (!m->ok)
		return -1;
	for (k = 0; k < m->np; k++) {
		if (m->p[k].namelen != nl || !m_eq(b + m->p[k].name, name, nl))
			continue;
		if (found != NULL)
			return -1;	/* the name twice */
		found = &m->p[k];
	}
	if (found == NULL)
		return 0;
	if (found->vallen + 1 > outsz)
		return -1;
	*pp = found;
	return 1;
}

static int
model_is(const char *b, const struct model *m, const char *want)
{
	return m->toklen > 0 && m->tok_alone && m->toklen == strlen(want) &&
	    m_eq(b + m->tok, want, m->toklen);
}

/* A copy of s in upper (up) or lower case. */
static char *
recase(const char *s, int up)
{
	size_t	 i, n = strlen(s);
	char	*c;

	if ((c = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i <= n; i++) {
		c[i] = s[i];
		if (up && s[i] >= 'a' && s[i] <= 'z')
			c[i] = (char)(s[i] - 'a' + 'A');
		else if (!up && s[i] >= 'A' && s[i] <= 'Z')
			c[i] = (char)(s[i] - 'A' + 'a');
	}
	return c;
}

/*
 * hdrparam_get into an out of exactly outsz bytes, so ASan sees a write
 * past it; checks what holds whatever the answer.  *outp: the value when
 * 1 (the caller frees it).
 */
static int
get(const char *b, size_t len, const char *name, int flags, size_t outsz,
    char **outp, size_t *outlen)
{
	char	*base, *out;
	int	 r;

	/*
	 * ASan lets malloc(0) use one byte: an empty out is the end of a
	 * one-byte block instead.
	 */
	if ((base = malloc(outsz > 0 ? outsz : 1)) == NULL)
		abort();
	out = outsz > 0 ? base : base + 1;
	*outlen = (size_t)-1;
	r = hdrparam_get(b, len, name, flags, out, outsz, outlen);
	if (r < -1 || r > 1)
		abort();
	if (r == 1 && (*outlen >= outsz || out[*outlen] != '\0' ||
	    *outlen > len))
		abort();	/* not NUL-terminated in out, or longer than read */
	if (r != 1) {
		free(base);
		base = NULL;
	}
	*outp = base;
	return r;
}

/* Same answer, and the same value when 1. */
static void
same(int r1, const char *v1, size_t n1, int r2, const char *v2, size_t n2)
{
	if (r1 != r2 || (r1 == 1 && (n1 != n2 || memcmp(v1, v2, n1) != 0)))
		abort();
}

/*
 * The value v written back as name="v" after a token: it must read back
 * the same.  Literally taken backslashes cannot carry a '"'.
 */
static void
roundtrip(const char *name, int flags, const char *v, size_t n)
{
	char	*b, *out;
	size_t	 i, at = 0, got, nl = strlen(name);
	int	 literal = flags & HDRPARAM_LITERAL_BACKSLASH;

	if (literal && memchr(v, '"', n) != NULL)
		return;
	if ((b = malloc(nl + 2 * n + 8)) == NULL)
		abort();
	memcpy(b, "x; ", 3);
	at = 3;
	memcpy(b + at, name, nl);
	at += nl;
	b[at++] = '=';
	b[at++] = '"';
	for (i = 0; i < n; i++) {
		if (!literal && (v[i] == '"' || v[i] == '\\'))
			b[at++] = '\\';
		b[at++] = v[i];
	}
	b[at++] = '"';
	if (get(b, at, name, flags, n + 1, &out, &got) != 1 || got != n ||
	    memcmp(out, v, n) != 0)
		abort();
	free(out);
	free(b);
}

/* Every property of hdrparam_get for one name (a C string). */
static void
check_get(const char *b, size_t len, const struct model *m, int flags,
    const char *name, size_t outsz)
{
	const struct mparam	*p = NULL;
	char			*v, *v2, *c;
	size_t			 n, n2, k;
	int			 r, r2, want;

	want = model_get(b, m, name, outsz, &p);
	r = get(b, len, name, flags, outsz, &v, &n);
	if (r != want)
		abort();	/* not what the grammar says */
	if (r == 1) {
		if (n != p->vallen || memcmp(v, m->vals + p->val, n) != 0)
			abort();
		/* Read from the input: unescaping only drops bytes. */
		if (n > p->rawlen - (p->quoted ? 2 : 0))
			abort();
		if ((!p->quoted || (flags & HDRPARAM_LITERAL_BACKSLASH)) &&
		    memcmp(v, b + p->raw + p->quoted, n) != 0)
			abort();	/* not the piece it was read from */
		/* The size bound is exact. */
		r2 = get(b, len, name, flags, n + 1, &v2, &n2);
		same(r, v, n, r2, v2, n2);
		free(v2);
		if (get(b, len, name, flags, n, &v2, &n2) != -1)
			abort();	/* the NUL did not fit, yet not -1 */
		roundtrip(name, flags, v, n);
	}
	/* Called again: the same. */
	r2 = get(b, len, name, flags, outsz, &v2, &n2);
	same(r, v, n, r2, v2, n2);
	free(v2);
	/* Names compare case-insensitively. */
	for (k = 0; k < 2; k++) {
		c = recase(name, (int)k);
		r2 = get(b, len, c, flags, outsz, &v2, &n2);
		same(r, v, n, r2, v2, n2);
		free(v2);
		free(c);
	}
	free(v);
}

static void
check_is(const char *b, size_t len, const struct model *m, const char *want)
{
	if (hdrparam_is(b, len, want) != model_is(b, m, want))
		abort();
	if (hdrparam_is(b, len, want) != hdrparam_is(b, len, want))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model	 m;
	const uint8_t	*nl;
	char		 name[65], *b, *tok, *c, *v;
	size_t		 len, outsz, k, code, n;
	int		 flags, bad, r;

	if (size < 1)
		return 0;
	flags = data[0] & 1 ? HDRPARAM_LITERAL_BACKSLASH : 0;
	code = data[0] >> 1;
	data++;
	size--;
	strcpy(name, "boundary");
	nl = memchr(data, '\n', size < 65 ? size : 65);
	if (nl != NULL) {
		k = (size_t)(nl - data);
		memcpy(name, data, k);
		name[k] = '\0';
		size -= k + 1;
		data = nl + 1;
	}
	len = size;
	outsz = code == 127 ? len + 1 : code;
	/* An exact-size copy, so ASan sees a read past len. */
	if ((b = malloc(len)) == NULL && len > 0)
		abort();
	if (len > 0)
		memcpy(b, data, len);
	m.p = malloc((len / 2 + 1) * sizeof(*m.p));
	m.vals = malloc(len + 1);
	if (m.p == NULL || m.vals == NULL)
		abort();
	model_parse((const unsigned char *)b, len, flags != 0, &m);

	bad = get(b, len, "", flags, 0, &v, &n) == -1;
	check_get(b, len, &m, flags, name, outsz);
	for (k = 0; k < m.np && k < NAMES_CHECKED; k++) {
		if ((c = malloc(m.p[k].namelen + 1)) == NULL)
			abort();
		memcpy(c, b + m.p[k].name, m.p[k].namelen);
		c[m.p[k].namelen] = '\0';
		check_get(b, len, &m, flags, c, len + 1);
		/* Malformed whatever the name: "" matches no parameter. */
		r = get(b, len, c, flags, len + 1, &v, &n);
		free(v);
		if (bad && r != -1)
			abort();
		free(c);
	}
	check_get(b, len, &m, flags, "", len + 1);

	check_is(b, len, &m, name);
	check_is(b, len, &m, "");
	if ((tok = malloc(m.toklen + 1)) == NULL)
		abort();
	memcpy(tok, b + m.tok, m.toklen);
	tok[m.toklen] = '\0';
	for (k = 0; k < 2; k++) {
		c = recase(tok, (int)k);
		check_is(b, len, &m, c);
		free(c);
	}
	if (m.toklen > 1) {
		tok[m.toklen - 1] = '\0';
		if (hdrparam_is(b, len, tok) != 0)
			abort();	/* a strict prefix of the token */
	}
	free(tok);
	free(m.p);
	free(m.vals);
	free(b);
	return 0;
}
