/*
 * fuzz_csv.c: lib/csvstream.c with lib/trip.c on its records, the path of
 * every uploaded file.
 *
 * Input: byte 0 picks max_record (its top 3 bits) and seeds the chunk
 * sizes; the rest is the file.  Properties:
 * - chunk boundaries change nothing: the file fed whole and fed in random
 *   chunks (1 byte up) gives the same records (line, fields, raw text,
 *   too_long) and the same end;
 * - a record is one line: every record has line >= 1, lines go up and
 *   never pass csvstream_lines(); raw is at most CSVSTREAM_RAW_MAX bytes
 *   of the file's own text, without a line feed; a too_long or bad_quote
 *   record has no fields, a good one has some, no field is longer than
 *   max_record, and memory stays within csvstream_memory's bound;
 * - csvstream_records() counts the callbacks; a callback's refusal stops
 *   the reader with "stopped";
 * - the first record goes to trip_header_text, trip_header_separator and
 *   trip_header_parse (in a buffer as large as the loader's), the others
 *   of the right width to trip_parse: a refusal always has a non-empty
 *   reason (and header error) in valid UTF-8 within its buffer; an
 *   accepted trip has the coordinates and time that wkt_point_parse and
 *   datetime_parse give its fields, valid names inside its fields, and
 *   any row whose points or time those parsers refuse is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvstream.h"
#include "datetime.h"
#include "trip.h"
#include "utf8.h"
#include "wkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_records[8] = {
	8, 40, 100, 256, 1024, 4096, 65536, 1 << 20,
};

struct ctx {
	struct csvstream	*cs;
	const char		*file;	/* the whole input, for raw checks */
	size_t			 filelen;
	size_t			 max_record;
	uint64_t		 calls, lastline, digest;
	uint64_t		 stop_at;	/* refuse this call; 0 never */
	int			 have_header;
	struct trip_header	 h;
};

static void
mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 0x100000001b3ULL;
}

/* A name trip_parse must accept: plain letters, digits and '_'. */
static int
plain_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > TRIP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* A name trip_parse may accept: see trip.h. */
static int
fair_name(const char *s, size_t n)
{
	size_t	 i;
	int	 blank = 1;

	if (n == 0 || n > TRIP_NAME_MAX || !utf8_valid(s, n))
		return 0;
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (s[i] != ' ')
			blank = 0;
	}
	return !blank;
}

static int
inside(const char *p, size_t n, const char *field, size_t flen)
{
	return p >= field && n <= flen && (size_t)(p - field) <= flen - n;
}

static void
check_reason(const char *reason, size_t sz)
{
	size_t n = strnlen(reason, sz);

	if (n == sz || n == 0)
		abort();	/* not terminated, or empty */
	if (!utf8_valid(reason, n))
		abort();	/* the client would get invalid UTF-8 */
}

static void
check_trip(struct ctx *c, const struct csvstream_row *row)
{
	const struct trip_header	*h = &c->h;
	const char *const		*f = row->field;
	const size_t			*l = row->len;
	struct trip			 t;
	char				 reason[256], *small;
	double				 olon, olat, dlon, dlat;
	int64_t				 us, back;
	char				 text[DATETIME_FORMAT_SIZE];
	size_t				 n, smallsz;
	int				 rc, parts_ok, names_plain;

	memset(reason, 0x55, sizeof(reason));
	rc = trip_parse(h, f, l, row->nfields, &t, reason, sizeof(reason));
	parts_ok = wkt_point_parse(f[h->col[TRIP_COL_ORIGIN]],
	    l[h->col[TRIP_COL_ORIGIN]], &olon, &olat) == WKT_OK &&
	    wkt_point_parse(f[h->col[TRIP_COL_DEST]],
	    l[h->col[TRIP_COL_DEST]], &dlon, &dlat) == WKT_OK &&
	    datetime_parse(f[h->col[TRIP_COL_DATETIME]],
	    l[h->col[TRIP_COL_DATETIME]], &us) == 0;
	names_plain = plain_name(f[h->col[TRIP_COL_REGION]],
	    l[h->col[TRIP_COL_REGION]]) &&
	    plain_name(f[h->col[TRIP_COL_DATASOURCE]],
	    l[h->col[TRIP_COL_DATASOURCE]]);
	if (rc != 0) {
		check_reason(reason, sizeof(reason));
		if (parts_ok && names_plain)
			abort();	/* a good row refused */
		/* The same reason, cut to a small exact-size buffer. */
		smallsz = 1 + (size_t)(row->line % 24);
		if ((small = malloc(smallsz)) == NULL)
			return;
		if (trip_parse(h, f, l, row->nfields, &t, small,
		    smallsz) == 0 || strnlen(small, smallsz) == smallsz)
			abort();
		free(small);
		return;
	}
	if (!parts_ok)
		abort();	/* accepted what wkt/datetime refuse */
	if (memcmp(&t.olon, &olon, sizeof(olon)) != 0 ||
	    memcmp(&t.olat, &olat, sizeof(olat)) != 0 ||
	    memcmp(&t.dlon, &dlon, sizeof(dlon)) != 0 ||
	    memcmp(&t.dlat, &dlat, sizeof(dlat)) != 0 || t.ts_us != us)
		abort();	/* other values than the field parsers' */
	if (!fair_name(t.region, t.region_len) ||
	    !fair_name(t.datasource, t.datasource_len))
		abort();	/* a name trip.h says is refused */
	if (!inside(t.region, t.region_len, f[h->col[TRIP_COL_REGION]],
	    l[h->col[TRIP_COL_REGION]]) ||
	    !inside(t.datasource, t.datasource_len,
	    f[h->col[TRIP_COL_DATASOURCE]], l[h->col[TRIP_COL_DATASOURCE]]))
		abort();	/* names must point into the fields */
	n = datetime_format(t.ts_us, text, sizeof(text));
	if (n == 0 || datetime_parse(text, n, &back) != 0 || back != t.ts_us)
		abort();
}

static int
on_row(void *arg, const struct csvstream_row *row)
{
	struct ctx	*c = arg;
	char		 err[512];
	size_t		 i, total = 0;

	c->calls++;
	if (row->line < 1 || row->line <= c->lastline)
		abort();	/* one record a line: line numbers go up */
	if (row->line > csvstream_lines(c->cs))
		abort();
	c->lastline = row->line;
	if (row->rawlen > CSVSTREAM_RAW_MAX || (row->rawlen > 0 &&
	    memmem(c->file, c->filelen, row->raw, row->rawlen) == NULL))
		abort();	/* raw text not from the file */
	if (memchr(row->raw, '\n', row->rawlen) != NULL)
		abort();	/* a record went on past a line feed */
	if (row->too_long && row->bad_quote)
		abort();
	if (row->unterminated && !row->bad_quote)
		abort();	/* unterminated is a kind of bad_quote */
	if ((row->too_long || row->bad_quote) && row->nfields != 0)
		abort();	/* a bad record comes without fields */
	if (!row->too_long && !row->bad_quote && row->nfields == 0)
		abort();	/* a record has at least one field */
	for (i = 0; i < row->nfields; i++) {
		if (row->len[i] > c->max_record)
			abort();
		total += row->len[i];
	}
	if (total > c->max_record + 1)
		abort();
	mix(&c->digest, &row->line, sizeof(row->line));
	mix(&c->digest, &row->nfields, sizeof(row->nfields));
	mix(&c->digest, &row->too_long, sizeof(row->too_long));
	mix(&c->digest, &row->bad_quote, sizeof(row->bad_quote));
	mix(&c->digest, &row->unterminated, sizeof(row->unterminated));
	mix(&c->digest, &row->rawlen, sizeof(row->rawlen));
	mix(&c->digest, row->raw, row->rawlen);
	for (i = 0; i < row->nfields; i++) {
		mix(&c->digest, &row->len[i], sizeof(row->len[i]));
		mix(&c->digest, row->field[i], row->len[i]);
	}

	if (c->calls == 1) {
		/* The loader's order: the text, then another separator. */
		memset(err, 0x55, sizeof(err));
		if (trip_header_text(row->raw, row->rawlen, err,
		    sizeof(err)) != 0)
			check_reason(err, sizeof(err));
		memset(err, 0x55, sizeof(err));
		if (trip_header_separator(row->raw, row->rawlen, err,
		    sizeof(err)) != 0)
			check_reason(err, sizeof(err));
	}
	if (!row->too_long && !row->bad_quote) {
		if (c->calls == 1) {
			memset(err, 0x55, sizeof(err));
			if (trip_header_parse(row->raw, row->rawlen, row->field,
			    row->len, row->nfields, &c->h, err,
			    sizeof(err)) == 0) {
				c->have_header = 1;
				if (c->h.nfields != row->nfields)
					abort();
				for (i = 0; i < TRIP_COL__MAX; i++)
					if (c->h.col[i] >= c->h.nfields)
						abort();
			} else
				check_reason(err, sizeof(err));
		} else if (c->have_header && row->nfields == c->h.nfields)
			check_trip(c, row);
	}
	return c->stop_at != 0 && c->calls >= c->stop_at;
}

/* xorshift32: the chunk sizes depend only on the seed. */
static uint32_t
next(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Read the file (seed 0: in one piece); returns 0 or -1 as the reader. */
static int
run(struct ctx *c, uint32_t seed)
{
	size_t	 off = 0, n, bound;
	char	*chunk;
	int	 rc = 0;

	c->calls = c->lastline = 0;
	c->digest = 0xcbf29ce484222325ULL;
	c->have_header = 0;
	if ((c->cs = csvstream_new(c->max_record, on_row, c)) == NULL)
		abort();
	while (off < c->filelen && rc == 0) {
		n = seed == 0 ? c->filelen : 1 + next(&seed) %
		    (seed % 5 == 0 ? 4 : 200);
		if (n > c->filelen - off)
			n = c->filelen - off;
		if ((chunk = malloc(n)) == NULL)
			abort();
		memcpy(chunk, c->file + off, n);
		rc = csvstream_feed(c->cs, chunk, n);
		free(chunk);
		off += n;
	}
	if (rc == 0)
		rc = csvstream_finish(c->cs);
	if (csvstream_records(c->cs) != c->calls)
		abort();	/* records() miscounts */
	bound = 16384 + 34 * (c->max_record + 1);
	if (csvstream_memory(c->cs) > bound)
		abort();	/* memory not bounded by max_record */
	if (rc != 0 && strcmp(csvstream_error(c->cs), "stopped") != 0)
		abort();	/* nothing but a stop may fail here */
	csvstream_free(c->cs);
	c->cs = NULL;
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctx	 c;
	uint64_t	 calls, digest;
	int		 rc1, rc2, rc3;

	if (size < 1)
		return 0;
	memset(&c, 0, sizeof(c));
	c.max_record = max_records[data[0] >> 5];
	c.file = (const char *)data + 1;
	c.filelen = size - 1;

	rc1 = run(&c, 0);
	calls = c.calls;
	digest = c.digest;
	rc2 = run(&c, 0x9e3779b9u ^ data[0]);
	if (rc1 != 0 || rc2 != 0)
		abort();	/* no callback refused */
	if (c.calls != calls || c.digest != digest)
		abort();	/* chunking changed the records */
	if (calls > 0) {
		/* Refuse a record half way: the reader must stop there. */
		c.stop_at = 1 + calls / 2;
		rc3 = run(&c, 0x85ebca6bu ^ data[0]);
		if (rc3 != -1 || c.calls != c.stop_at)
			abort();
	}
	return 0;
}
