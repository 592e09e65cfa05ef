/*
 * csvstream.c: records from a CSV byte stream, over libcsv.
 *
 * libcsv (csv_parse) is a byte-at-a-time state machine, so it gives the
 * same fields however the input is cut; what it does not give is line
 * numbers, the raw text of a record, a bound on memory (its field buffer
 * grows without limit inside an unterminated quote) and a way back to
 * sane input after garbage.  So the bytes go through a thin layer first
 * that splits physical lines itself (memchr '\n'):
 *
 *   - Only LF ends a line; a CR just before it belongs to the terminator
 *     (RFC 4180 section 2 writes CRLF; LF alone is common) and libcsv is
 *     told LF is its only terminator, so a stray CR inside a line is data.
 *   - A record is one physical line: it starts at the first line that is
 *     not blank (spaces and tabs only, which libcsv skips too) and ends at
 *     that line's LF.  RFC 4180 section 2 lets an LF inside quotes go on
 *     into the next line, but no field of a trips file (lib/trip.h: names
 *     without control characters, WKT points, datetimes) can hold a line
 *     break, so a quote still open at the end of a line is always a stray
 *     one; reading on would take every good line after it, up to the
 *     next quote in the file, into one rejected record.  The line alone is
 *     rejected (unterminated) and the next one is read afresh, so every
 *     LF ends a record, whatever came before it.
 *   - The bytes of a line are counted.  Past max_record, or when libcsv
 *     (in strict mode) finds a misplaced quote, the record is abandoned:
 *     libcsv is reset, the rest of the line is skipped (only its start is
 *     kept, as raw text) and the record is delivered without fields when
 *     the line ends.  libcsv's buffer holds one field, so it never
 *     exceeds max_record plus one growth block.
 *
 * Every decision depends on the bytes seen so far, never on where a chunk
 * ends: a CR at the end of a chunk is held until the next byte tells
 * whether it ends the line, and the byte order mark check holds up to
 * three bytes.  Nothing is allocated per record once the buffers have
 * grown to the largest record.
 */
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "csvstream.h"

/* libcsv grows its field buffer by this much at a time. */
#define CSVSTREAM_BLOCK		4096
/* Initial room for field slots. */
#define CSVSTREAM_FIELDS0	16

/* The UTF-8 encoding of U+FEFF (Unicode 15, section 23.8). */
static const unsigned char csvstream_bom[3] = { 0xef, 0xbb, 0xbf };

enum csvstream_errno {
	CSVSTREAM_OK,
	CSVSTREAM_ESTOPPED,
	CSVSTREAM_ENOMEM,
	CSVSTREAM_EFINISHED,
	CSVSTREAM__MAX
};

/* Why a record was abandoned. */
enum csvstream_bad {
	CSVSTREAM_GOOD,
	CSVSTREAM_TOO_LONG,
	CSVSTREAM_BAD_QUOTE,
	CSVSTREAM_UNTERMINATED	/* a quote still open at the end */
};

static const char *const csvstream_errors[CSVSTREAM__MAX] = {
	"no error",			/* CSVSTREAM_OK */
	"stopped",			/* CSVSTREAM_ESTOPPED */
	"out of memory",		/* CSVSTREAM_ENOMEM */
	"input after the end",		/* CSVSTREAM_EFINISHED */
};

struct csvstream {
	struct csv_parser	 p;
	size_t			 max_record;
	csvstream_row_fn	 fn;
	void			*arg;

	/* The record being read: its fields, copied out of libcsv. */
	char			*data;
	size_t			 datalen, datacap;
	size_t			*len;
	const char		**field;
	size_t			 nfields, fieldcap;
	char			 raw[CSVSTREAM_RAW_MAX];
	size_t			 rawlen;
	size_t			 reclen;	/* bytes, this line or record */
	uint64_t		 recline;	/* where the record started */
	int			 inrecord;	/* a non-blank byte was read */
	enum csvstream_bad	 bad;		/* abandoned: skip the line */
	int			 recdone;	/* libcsv ended the record */
	int			 oom;		/* a field did not fit */

	/* The byte stream. */
	uint64_t		 line;		/* the line being read */
	uint64_t		 records;
	int			 pendingcr;	/* a CR ended the last chunk */
	unsigned char		 head[3];	/* maybe a byte order mark */
	size_t			 nhead;
	int			 headdone;
	int			 finished;
	enum csvstream_errno	 err;
};

/* libcsv: LF alone ends a record (see above). */
static int
csvstream_is_term(unsigned char c)
{
	return c == '\n';
}

static int
csvstream_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t	 ncap = *cap;
	void	*np;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((np = realloc(*p, ncap * elem)) == NULL)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

/*
 * libcsv: one field of n bytes at buf, valid only during the call.  The
 * field bytes of a record never outnumber its bytes, so s->data, sized
 * max_record + 1 once, always has room and never moves.
 */
static void
csvstream_field(void *buf, size_t n, void *arg)
{
	struct csvstream *s = arg;
	size_t	 cap;

	if (s->oom)
		return;
	if (n > s->datacap - s->datalen) {
		s->oom = 1;	/* cannot happen; refuse rather than overrun */
		return;
	}
	if (s->nfields == s->fieldcap) {
		cap = s->fieldcap;
		if (csvstream_grow((void **)&s->len, &cap, s->nfields + 1,
		    sizeof(*s->len)) != 0) {
			s->oom = 1;
			return;
		}
		cap = s->fieldcap;
		if (csvstream_grow((void **)&s->field, &cap, s->nfields + 1,
		    sizeof(*s->field)) != 0) {
			s->oom = 1;
			return;
		}
		s->fieldcap = cap;
	}
	if (n > 0)
		memcpy(s->data + s->datalen, buf, n);
	s->field[s->nfields] = s->data + s->datalen;
	s->len[s->nfields] = n;
	s->nfields++;
	s->datalen += n;
}

/* libcsv: the end of a record. */
static void
csvstream_record_end(int c, void *arg)
{
	struct csvstream *s = arg;

	(void)c;
	s->recdone = 1;
}

/* Keep the start of the record's raw text, up to CSVSTREAM_RAW_MAX. */
static void
csvstream_raw(struct csvstream *s, const char *buf, size_t n)
{
	if (n > CSVSTREAM_RAW_MAX - s->rawlen)
		n = CSVSTREAM_RAW_MAX - s->rawlen;
	if (n > 0)
		memcpy(s->raw + s->rawlen, buf, n);
	s->rawlen += n;
}

static int
csvstream_fail(struct csvstream *s, enum csvstream_errno e)
{
	s->err = e;
	return -1;
}

/* Forget the record (or blank line) read so far. */
static void
csvstream_reset(struct csvstream *s)
{
	s->nfields = 0;
	s->datalen = 0;
	s->rawlen = 0;
	s->reclen = 0;
	s->inrecord = 0;
	s->recdone = 0;
	s->bad = CSVSTREAM_GOOD;
}

/*
 * Give up on the record: skip to the end of the physical line, where it
 * is delivered without fields.  Without callbacks csv_fini only resets
 * the parser, whatever state (an open quote, an error) it was in.
 */
static void
csvstream_abandon(struct csvstream *s, enum csvstream_bad bad)
{
	s->bad = bad;
	csv_fini(&s->p, NULL, NULL, NULL);
}

/* Hand the record to the callback, then forget it. */
static int
csvstream_deliver(struct csvstream *s)
{
	struct csvstream_row row;
	int	 rc;

	row.line = s->recline;
	row.nfields = s->bad == CSVSTREAM_GOOD ? s->nfields : 0;
	row.field = s->field;
	row.len = s->len;
	row.raw = s->raw;
	row.rawlen = s->rawlen;
	row.too_long = s->bad == CSVSTREAM_TOO_LONG;
	row.bad_quote = s->bad == CSVSTREAM_BAD_QUOTE ||
	    s->bad == CSVSTREAM_UNTERMINATED;
	row.unterminated = s->bad == CSVSTREAM_UNTERMINATED;
	s->records++;
	rc = s->fn(s->arg, &row);
	csvstream_reset(s);
	return rc == 0 ? 0 : csvstream_fail(s, CSVSTREAM_ESTOPPED);
}

/* Run n bytes through libcsv; a misplaced quote abandons the record. */
static int
csvstream_parse(struct csvstream *s, const char *buf, size_t n)
{
	size_t	 done;

	done = csv_parse(&s->p, buf, n, csvstream_field,
	    csvstream_record_end, s);
	if (s->oom)
		return csvstream_fail(s, CSVSTREAM_ENOMEM);
	if (done == n)
		return 0;
	if (csv_error(&s->p) == CSV_EPARSE) {
		csvstream_abandon(s, CSVSTREAM_BAD_QUOTE);
		return 0;
	}
	return csvstream_fail(s, CSVSTREAM_ENOMEM);
}

/*
 * Bytes of the current line, before its terminator.  When they take the
 * record over max_record, only the bytes up to that point go to libcsv
 * and the record is abandoned.
 */
static int
csvstream_content(struct csvstream *s, const char *buf, size_t n)
{
	size_t	 i, take = n;

	csvstream_raw(s, buf, n);
	if (s->bad != CSVSTREAM_GOOD)
		return 0;		/* skipping to the end of the line */
	if (!s->inrecord) {
		for (i = 0; i < n && (buf[i] == ' ' || buf[i] == '\t'); i++)
			;
		if (i == n && n <= s->max_record - s->reclen) {
			s->reclen += n;	/* blank so far */
			return 0;
		}
		s->inrecord = 1;
		s->recline = s->line;
	}
	if (take > s->max_record - s->reclen)
		take = s->max_record - s->reclen + 1;
	s->reclen += take;
	/*
	 * libcsv's built-in terminator test (CR or LF) is inline, and
	 * without a CR in the bytes it means LF alone; only bytes with a
	 * bare CR need csvstream_is_term, a call per byte.
	 */
	csv_set_term_func(&s->p, memchr(buf, '\r', take) != NULL ?
	    csvstream_is_term : NULL);
	if (csvstream_parse(s, buf, take) != 0)
		return -1;
	if (s->bad == CSVSTREAM_GOOD && s->reclen > s->max_record)
		csvstream_abandon(s, CSVSTREAM_TOO_LONG);
	return 0;
}

/* The LF ending a physical line, and with it the record. */
static int
csvstream_newline(struct csvstream *s)
{
	s->line++;
	if (s->bad != CSVSTREAM_GOOD)
		return csvstream_deliver(s);
	if (!s->inrecord) {
		/* A blank line: counted, not a record. */
		csvstream_reset(s);
		return 0;
	}
	if (csvstream_parse(s, "\n", 1) != 0)
		return -1;
	/* A quote still open: the line is bad on its own (see above). */
	if (!s->recdone && s->bad == CSVSTREAM_GOOD)
		csvstream_abandon(s, CSVSTREAM_UNTERMINATED);
	return csvstream_deliver(s);
}

/* The data after the byte order mark check, cut into lines. */
static int
csvstream_bytes(struct csvstream *s, const char *buf, size_t len)
{
	const char	*nl;
	size_t		 n, c;

	while (len > 0) {
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) : len;
		if (s->pendingcr) {
			/* The CR that ended the last chunk: data unless LF. */
			s->pendingcr = 0;
			if ((nl == NULL || n > 0) &&
			    csvstream_content(s, "\r", 1) != 0)
				return -1;
		}
		c = n;
		if (c > 0 && buf[c - 1] == '\r') {
			/* Part of a CRLF, or held until the next byte says. */
			c--;
			if (nl == NULL)
				s->pendingcr = 1;
		}
		if (c > 0 && csvstream_content(s, buf, c) != 0)
			return -1;
		if (nl == NULL)
			return 0;
		if (csvstream_newline(s) != 0)
			return -1;
		buf += n + 1;
		len -= n + 1;
	}
	return 0;
}

struct csvstream *
csvstream_new(size_t max_record, csvstream_row_fn fn, void *arg)
{
	struct csvstream *s;

	if (max_record == 0 || max_record > SIZE_MAX / 4 || fn == NULL)
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* Strict: a quote where RFC 4180 allows none is an error. */
	if (csv_init(&s->p, CSV_STRICT) != 0) {
		free(s);
		return NULL;
	}
	csv_set_blk_size(&s->p, CSVSTREAM_BLOCK);
	s->max_record = max_record;
	s->fn = fn;
	s->arg = arg;
	s->line = 1;
	s->datacap = max_record + 1;
	s->fieldcap = CSVSTREAM_FIELDS0;
	s->data = malloc(s->datacap);
	s->len = calloc(s->fieldcap, sizeof(*s->len));
	s->field = calloc(s->fieldcap, sizeof(*s->field));
	if (s->data == NULL || s->len == NULL || s->field == NULL) {
		csvstream_free(s);
		return NULL;
	}
	return s;
}

int
csvstream_feed(struct csvstream *s, const char *buf, size_t len)
{
	if (s->err != CSVSTREAM_OK)
		return -1;
	if (s->finished)
		return csvstream_fail(s, CSVSTREAM_EFINISHED);
	if (!s->headdone) {
		/* Strip a byte order mark, however the chunks cut it. */
		while (len > 0 && s->nhead < sizeof(csvstream_bom) &&
		    (unsigned char)buf[0] == csvstream_bom[s->nhead]) {
			s->head[s->nhead++] = (unsigned char)buf[0];
			buf++;
			len--;
		}
		if (s->nhead == sizeof(csvstream_bom)) {
			s->headdone = 1;
		} else if (len > 0) {
			s->headdone = 1;
			if (csvstream_bytes(s, (const char *)s->head,
			    s->nhead) != 0)
				return -1;
		}
	}
	return csvstream_bytes(s, buf, len);
}

int
csvstream_finish(struct csvstream *s)
{
	if (s->err != CSVSTREAM_OK)
		return -1;
	if (s->finished)
		return 0;
	s->finished = 1;
	if (!s->headdone) {
		s->headdone = 1;
		if (s->nhead < sizeof(csvstream_bom) &&
		    csvstream_bytes(s, (const char *)s->head, s->nhead) != 0)
			return -1;
	}
	/* A CR at the very end ends the last line like CRLF would. */
	s->pendingcr = 0;
	if (s->bad != CSVSTREAM_GOOD)
		return csvstream_deliver(s);
	if (!s->inrecord)
		return 0;
	/*
	 * The last line had no LF.  A quote still open here is a bad record:
	 * RFC 4180 section 2's grammar ends an escaped field with DQUOTE, and
	 * a file cut inside a quoted field ("...,\"funny_c") must not load
	 * the cut value.  CSV_STRICT_FINI makes csv_fini say so; it is set
	 * only now, as csvstream_abandon's csv_fini must always reset.
	 */
	s->recdone = 0;
	csv_set_opts(&s->p, CSV_STRICT | CSV_STRICT_FINI);
	if (csv_fini(&s->p, csvstream_field, csvstream_record_end, s) != 0 &&
	    !s->oom) {
		s->bad = CSVSTREAM_UNTERMINATED;
		return csvstream_deliver(s);
	}
	if (s->oom)
		return csvstream_fail(s, CSVSTREAM_ENOMEM);
	if (!s->recdone) {
		csvstream_reset(s);
		return 0;
	}
	return csvstream_deliver(s);
}

const char *
csvstream_error(const struct csvstream *s)
{
	return csvstream_errors[s->err];
}

uint64_t
csvstream_records(const struct csvstream *s)
{
	return s->records;
}

uint64_t
csvstream_lines(const struct csvstream *s)
{
	return s->line;
}

int
csvstream_jump(struct csvstream *s, uint64_t line)
{
	/* Only between records: a line just ended, nothing is pending. */
	if (line == 0 || !s->headdone || s->inrecord || s->bad != CSVSTREAM_GOOD ||
	    s->pendingcr || s->finished)
		return -1;
	s->line = line;
	return 0;
}

size_t
csvstream_memory(const struct csvstream *s)
{
	return sizeof(*s) + csv_get_buffer_size((struct csv_parser *)&s->p) +
	    s->datacap + s->fieldcap * (sizeof(*s->len) + sizeof(*s->field));
}

void
csvstream_free(struct csvstream *s)
{
	if (s == NULL)
		return;
	csv_free(&s->p);
	free(s->data);
	free(s->len);
	free(s->field);
	free(s);
}
