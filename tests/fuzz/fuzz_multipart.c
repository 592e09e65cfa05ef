/*
 * fuzz_multipart.c: cgi/multipart.c (and cgi/hdrparam.c under it).
 *
 * Input: byte 0 seeds the chunk sizes; then, if a line feed comes within
 * the next 256 bytes, the line before it is a Content-Type value whose
 * boundary (when multipart_boundary takes it) replaces the default one;
 * the rest is the body, searched for the part named "file".
 *
 * Properties:
 * - multipart_boundary returns 1 to 70 bchars not ending in a space;
 * - chunk boundaries change nothing: the body fed whole and fed in random
 *   chunks (1 byte up) ends with the same status and error text and, when
 *   accepted, the same filename and part bytes;
 * - an accepted body had exactly one begin() before any data(), its part
 *   bytes are a contiguous piece of the body, and the error text is "";
 *   a refused one has a non-empty error text;
 * - errors are sticky, and a callback's refusal gives MULTIPART_STOPPED:
 *   whichever callback refuses (begin, or any of the data calls: byte 0
 *   picks which), the parser stops there and calls no other.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEFAULT_BOUNDARY	"XyZzy-42"

struct sink {
	int	 begins;
	int	 data_before_begin;
	int	 stop_after;	/* refuse the n-th callback; 0 never */
	int	 calls;		/* callbacks so far */
	char	*fn;
	size_t	 fnlen;
	int	 has_fn;
	char	*buf;		/* part bytes (never more than the body) */
	size_t	 len, cap;
};

/* Count a callback; 1 (refuse) at the n-th.  None may come after it. */
static int
refuse(struct sink *s)
{
	if (s->stop_after != 0 && s->calls >= s->stop_after)
		abort();	/* called again after a refusal */
	s->calls++;
	return s->stop_after != 0 && s->calls == s->stop_after;
}

static int
on_begin(void *arg, const char *filename, size_t len, const char *ctype,
    size_t ctlen)
{
	struct sink *s = arg;

	/* ctype lies in memory the parser owns: ASan sees a read outside. */
	if (ctype != NULL && memchr(ctype, '\r', ctlen) != NULL)
		abort();	/* a header value holds no line end */

	s->begins++;
	s->has_fn = filename != NULL;
	if (filename != NULL) {
		free(s->fn);
		if ((s->fn = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(s->fn, filename, len);
		s->fnlen = len;
	}
	return refuse(s);
}

static int
on_data(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	if (s->begins == 0)
		s->data_before_begin = 1;
	if (len == 0 || len > s->cap - s->len)
		abort();	/* empty call, or more than the body holds */
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return refuse(s);
}

static const struct multipart_cb callbacks = { on_begin, on_data };

/* xorshift32, so the chunk sizes depend only on the seed byte. */
static uint32_t
next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Parse body in chunks (seed 0: in one piece).  Returns the final status
 * and fills s; err receives the error text.
 */
static enum multipart_status
run(const char *bnd, size_t blen, const char *body, size_t len,
    uint32_t seed, struct sink *s, char *err, size_t errsz)
{
	struct multipart	*mp;
	enum multipart_status	 st = MULTIPART_OK, again;
	size_t			 off = 0, n;
	char			*chunk;

	s->cap = len;
	if ((s->buf = malloc(len ? len : 1)) == NULL)
		abort();
	if ((mp = multipart_new(bnd, blen, "file", &callbacks, s)) == NULL)
		abort();
	while (off < len) {
		n = seed == 0 ? len : 1 + next(&seed) % (seed % 7 == 0 ?
		    3 : 64);
		if (n > len - off)
			n = len - off;
		/* An exact-size copy, so ASan sees reads past the chunk. */
		if ((chunk = malloc(n)) == NULL)
			abort();
		memcpy(chunk, body + off, n);
		st = multipart_feed(mp, chunk, n);
		free(chunk);
		off += n;
		if (st != MULTIPART_OK)
			break;
	}
	if (st == MULTIPART_OK)
		st = multipart_finish(mp);
	if (st != MULTIPART_OK) {
		/* Sticky: more input and the end change nothing. */
		again = multipart_feed(mp, "\r\n--", 4);
		if (again != st || multipart_finish(mp) != st)
			abort();
	}
	strncpy(err, multipart_error(mp), errsz - 1);
	err[errsz - 1] = '\0';
	if (st == MULTIPART_ERROR && err[0] == '\0')
		abort();	/* refused without a reason */
	if (st == MULTIPART_OK && err[0] != '\0')
		abort();
	multipart_free(mp);
	return st;
}

static void
sink_free(struct sink *s)
{
	free(s->buf);
	free(s->fn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink		 whole, chunked, stop;
	enum multipart_status	 st1, st2, st3;
	char			 bnd[MULTIPART_BOUNDARY_MAX + 1], *ctype;
	char			 err1[160], err2[160], err3[160];
	const char		*body, *nl;
	size_t			 blen = strlen(DEFAULT_BOUNDARY), len, i;
	uint32_t		 seed;
	long			 b;

	if (size < 1)
		return 0;
	seed = 0x9e3779b9u ^ data[0];
	body = (const char *)data + 1;
	len = size - 1;
	memcpy(bnd, DEFAULT_BOUNDARY, blen + 1);
	nl = memchr(body, '\n', len < 256 ? len : 256);
	if (nl != NULL) {
		size_t clen = (size_t)(nl - body);

		if ((ctype = malloc(clen ? clen : 1)) == NULL)
			return 0;
		memcpy(ctype, body, clen);
		b = multipart_boundary(ctype, clen, bnd, sizeof(bnd));
		free(ctype);
		if (b >= 0) {
			if (b < 1 || b > MULTIPART_BOUNDARY_MAX ||
			    bnd[b - 1] == ' ')
				abort();
			for (i = 0; i < (size_t)b; i++)
				if (!((bnd[i] >= 'a' && bnd[i] <= 'z') ||
				    (bnd[i] >= 'A' && bnd[i] <= 'Z') ||
				    (bnd[i] >= '0' && bnd[i] <= '9') ||
				    (bnd[i] != '\0' &&
				    strchr("'()+_,-./:=? ", bnd[i]) != NULL)))
					abort();	/* not a bchar */
			blen = (size_t)b;
		} else
			memcpy(bnd, DEFAULT_BOUNDARY, blen + 1);
		len -= clen + 1;
		body = nl + 1;
	}

	memset(&whole, 0, sizeof(whole));
	memset(&chunked, 0, sizeof(chunked));
	memset(&stop, 0, sizeof(stop));
	st1 = run(bnd, blen, body, len, 0, &whole, err1, sizeof(err1));
	st2 = run(bnd, blen, body, len, seed, &chunked, err2, sizeof(err2));
	if (st1 == MULTIPART_STOPPED || st2 == MULTIPART_STOPPED)
		abort();	/* no callback refused */
	if (st1 != st2 || strcmp(err1, err2) != 0)
		abort();	/* chunking changed the verdict */
	if (st1 == MULTIPART_OK) {
		if (whole.begins != 1 || chunked.begins != 1 ||
		    whole.data_before_begin || chunked.data_before_begin)
			abort();
		if (whole.len != chunked.len ||
		    memcmp(whole.buf, chunked.buf, whole.len) != 0)
			abort();	/* chunking changed the part bytes */
		if (whole.has_fn != chunked.has_fn ||
		    whole.fnlen != chunked.fnlen || (whole.has_fn &&
		    memcmp(whole.fn, chunked.fn, whole.fnlen) != 0))
			abort();
		if (whole.len > 0 && memmem(body, len, whole.buf,
		    whole.len) == NULL)
			abort();	/* part bytes not a piece of the body */
	}
	if (st1 == MULTIPART_OK && chunked.calls > 0) {
		/*
		 * Refuse one callback of the chunked run (the same calls
		 * again): the parser must stop there.
		 */
		stop.stop_after = 1 + (int)(data[0] % (unsigned)chunked.calls);
		st3 = run(bnd, blen, body, len, seed, &stop, err3,
		    sizeof(err3));
		if (st3 != MULTIPART_STOPPED || stop.calls != stop.stop_after)
			abort();
	}
	sink_free(&whole);
	sink_free(&chunked);
	sink_free(&stop);
	return 0;
}
