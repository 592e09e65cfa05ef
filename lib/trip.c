/*
 * trip.c: a trips CSV record, checked field by field.  The first failed
 * check names the column and quotes the value, so a reject is its own
 * explanation: origin_coord: not a WKT point: "POINT (14.4 abc)".
 */
#include <stdio.h>
#include <string.h>

#include "datetime.h"
#include "safetext.h"
#include "trip.h"
#include "utf8.h"
#include "wkt.h"

const char *const trip_col_names[TRIP_COL__MAX] = {
	"region",		/* TRIP_COL_REGION */
	"origin_coord",		/* TRIP_COL_ORIGIN */
	"destination_coord",	/* TRIP_COL_DEST */
	"datetime",		/* TRIP_COL_DATETIME */
	"datasource",		/* TRIP_COL_DATASOURCE */
};

/* How much of an offending value a reason quotes, in bytes shown. */
#define TRIP_QUOTE_MAX	60
/* Room for it quoted: the quotes, "..." and the NUL (safetext.h). */
#define TRIP_QUOTE_SIZE	(TRIP_QUOTE_MAX + 6)

static int
trip_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
trip_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether buf is name, ignoring case and surrounding spaces. */
static int
trip_name_is(const char *buf, size_t len, const char *name)
{
	size_t	 i, n = strlen(name);

	while (len > 0 && trip_space(buf[0])) {
		buf++;
		len--;
	}
	while (len > 0 && trip_space(buf[len - 1]))
		len--;
	if (len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (trip_lower(buf[i]) != name[i])
			return 0;
	return 1;
}

/*
 * val quoted as every message quotes what it refuses (safetext_quote:
 * sanitised, for it ends up in a database text column and in JSON; '"'
 * and '\\' escaped; cut after TRIP_QUOTE_MAX bytes, then "...").
 * Returns q, of TRIP_QUOTE_SIZE bytes.
 */
static const char *
trip_quote(const char *val, size_t vlen, char *q)
{
	safetext_quote(val, vlen, q, TRIP_QUOTE_SIZE);
	return q;
}

/*
 * The byte order marks (U+FEFF first in the file: the Unicode Standard,
 * section 23.8) of the encodings other than UTF-8 a text editor or a
 * spreadsheet saves "Unicode text" in.  UTF-32LE's begins with
 * UTF-16LE's, so it comes first.
 */
static const struct {
	const char	*bom;
	size_t		 len;
	const char	*name;
} trip_boms[] = {
	{ "\x00\x00\xfe\xff", 4, "UTF-32" },	/* big-endian */
	{ "\xff\xfe\x00\x00", 4, "UTF-32" },	/* little-endian */
	{ "\xfe\xff", 2, "UTF-16" },		/* big-endian */
	{ "\xff\xfe", 2, "UTF-16" },		/* little-endian */
};

int
trip_header_text(const char *line, size_t len, char *err, size_t errsz)
{
	size_t	 i, nul[2] = { 0, 0 };

	for (i = 0; i < sizeof(trip_boms) / sizeof(trip_boms[0]); i++)
		if (len >= trip_boms[i].len &&
		    memcmp(line, trip_boms[i].bom, trip_boms[i].len) == 0) {
			snprintf(err, errsz, "not a trips CSV: the file is %s "
			    "text; save it as UTF-8", trip_boms[i].name);
			return -1;
		}
	for (i = 0; i < len; i++)
		if (line[i] == '\0')
			nul[i % 2]++;
	if (nul[0] + nul[1] == 0)
		return 0;
	/*
	 * UTF-16 without a mark: a character below U+0100 is its byte and a
	 * NUL, in that order (LE) or the other (BE), so in a line of Latin
	 * text the bytes at odd offsets (LE) or at even ones (BE) are NUL
	 * and no other is.  Asked of half of them (a header may name other
	 * columns in other scripts) and of 4 characters at least.
	 */
	if (len >= 8 && ((nul[0] == 0 && nul[1] >= len / 4) ||
	    (nul[1] == 0 && nul[0] >= (len + 1) / 4))) {
		snprintf(err, errsz, "not a trips CSV: the file looks like "
		    "UTF-16 text without a byte order mark; save it as UTF-8");
		return -1;
	}
	snprintf(err, errsz, "not a trips CSV: the first line holds NUL "
	    "bytes: not UTF-8 text");
	return -1;
}

/*
 * The separators other than the comma that spreadsheets save "CSV" with:
 * a semicolon where the comma is the decimal mark (Excel in most of
 * Europe), a tab in "text" exports.
 */
static const struct {
	char		 c;
	const char	*name;
} trip_seps[] = {
	{ ';', "semicolons" },
	{ '\t', "tabs" },
};

/*
 * How many of the column names line holds when split on sep; a piece may
 * be quoted ("region") and have spaces around it.
 */
static int
trip_names_split(const char *line, size_t len, char sep)
{
	int		 found[TRIP_COL__MAX] = { 0 }, c, nfound = 0;
	const char	*p;
	size_t		 start, i, k;

	for (start = 0; start < len; start = i + 1) {
		for (i = start; i < len && line[i] != sep; i++)
			continue;
		p = line + start;
		k = i - start;
		while (k > 0 && trip_space(p[0])) {
			p++;
			k--;
		}
		while (k > 0 && trip_space(p[k - 1]))
			k--;
		if (k >= 2 && p[0] == '"' && p[k - 1] == '"') {
			p++;
			k -= 2;
		}
		for (c = 0; c < TRIP_COL__MAX; c++)
			if (!found[c] &&
			    trip_name_is(p, k, trip_col_names[c])) {
				found[c] = 1;
				nfound++;
			}
	}
	return nfound;
}

int
trip_header_separator(const char *line, size_t len, char *err, size_t errsz)
{
	char	 q[TRIP_QUOTE_SIZE];
	size_t	 i;

	for (i = 0; i < sizeof(trip_seps) / sizeof(trip_seps[0]); i++)
		if (trip_names_split(line, len, trip_seps[i].c) >= 2) {
			snprintf(err, errsz, "not a trips CSV: the header %s "
			    "is separated by %s; columns must be separated by "
			    "commas", trip_quote(line, len, q),
			    trip_seps[i].name);
			return -1;
		}
	return 0;
}

/*
 * Why a first line that names no column is no header: another separator,
 * or else not a header at all, quoted.
 */
static int
trip_not_header(const char *line, size_t len, char *err, size_t errsz)
{
	char	 q[TRIP_QUOTE_SIZE];

	if (trip_header_separator(line, len, err, errsz) != 0)
		return -1;
	snprintf(err, errsz, "not a trips CSV: the first line %s is not a "
	    "header: it must name region, origin_coord, destination_coord, "
	    "datetime, datasource", trip_quote(line, len, q));
	return -1;
}

int
trip_header_parse(const char *line, size_t linelen, const char *const *field,
    const size_t *len, size_t n, struct trip_header *h, char *err,
    size_t errsz)
{
	int	 found[TRIP_COL__MAX] = { 0 }, c, any = 0;
	size_t	 i;

	/*
	 * A line break inside a header field means the file's lines end in
	 * something the reader does not split on (a bare CR, as old Mac
	 * files do: RFC 4180 lines end in CRLF, and we also take LF).  The
	 * whole file would read as one header line and load nothing.
	 */
	for (i = 0; i < n; i++)
		if (memchr(field[i], '\r', len[i]) != NULL ||
		    memchr(field[i], '\n', len[i]) != NULL) {
			snprintf(err, errsz, "not a trips CSV: the header holds "
			    "a line break; lines must end with LF or CRLF, "
			    "not a bare CR");
			return -1;
		}
	for (i = 0; i < n; i++)
		for (c = 0; c < TRIP_COL__MAX; c++) {
			if (!trip_name_is(field[i], len[i], trip_col_names[c]))
				continue;
			if (found[c]) {
				snprintf(err, errsz, "duplicate column \"%s\" "
				    "in header", trip_col_names[c]);
				return -1;
			}
			found[c] = 1;
			any = 1;
			h->col[c] = i;
		}
	if (!any)
		return trip_not_header(line, linelen, err, errsz);
	for (c = 0; c < TRIP_COL__MAX; c++)
		if (!found[c]) {
			snprintf(err, errsz, "missing column \"%s\" in header",
			    trip_col_names[c]);
			return -1;
		}
	h->nfields = n;
	return 0;
}

/* reason = "column: what: "value"", the value as trip_quote quotes it. */
static int
trip_reject(char *reason, size_t reasonsz, enum trip_col c, const char *what,
    const char *val, size_t vlen)
{
	char	 q[TRIP_QUOTE_SIZE];

	snprintf(reason, reasonsz, "%s: %s: %s", trip_col_names[c], what,
	    trip_quote(val, vlen, q));
	return -1;
}

static int
trip_empty(char *reason, size_t reasonsz, enum trip_col c)
{
	snprintf(reason, reasonsz, "%s: empty", trip_col_names[c]);
	return -1;
}

/* U+00A0 NO-BREAK SPACE in UTF-8. */
#define TRIP_NBSP	"\xc2\xa0"

/*
 * The bytes of a blank at the start (end 0) or the end (end 1) of buf: a
 * space, a tab, or a no-break space, which a name copied from a web page
 * or a spreadsheet brings and no one sees ("Prague\u00a0" beside
 * "Prague").  0 when there is none.  0xc2 is a lead byte, never a
 * continuation: at the end, c2 a0 is always U+00A0.
 */
static size_t
trip_blank(const char *buf, size_t len, int end)
{
	const char	*p;

	if (len > 0 && trip_space(buf[end ? len - 1 : 0]))
		return 1;
	p = end ? buf + len - 2 : buf;
	if (len >= 2 && memcmp(p, TRIP_NBSP, 2) == 0)
		return 2;
	return 0;
}

/*
 * A region or datasource name, *val of *vlen bytes: trimmed of spaces,
 * tabs and no-break spaces at both ends, then not empty, at most
 * TRIP_NAME_MAX bytes of UTF-8 without control characters.  libcsv trims
 * an unquoted field (csvstream.h) but keeps a quoted one whole, as RFC
 * 4180 section 2 says; without the trim here, "Prague" and " Prague "
 * (quoted) would be two regions.  Sets *val and *vlen to the trimmed
 * name.
 */
static int
trip_name(enum trip_col c, const char **valp, size_t *vlenp, char *reason,
    size_t reasonsz)
{
	const char	*val = *valp;
	size_t		 vlen = *vlenp, n;
	unsigned	 found;

	while ((n = trip_blank(val, vlen, 0)) > 0) {
		val += n;
		vlen -= n;
	}
	while ((n = trip_blank(val, vlen, 1)) > 0)
		vlen -= n;
	*valp = val;
	*vlenp = vlen;
	if (vlen == 0)
		return trip_empty(reason, reasonsz, c);
	if (vlen > TRIP_NAME_MAX) {
		char what[64];

		snprintf(what, sizeof(what), "longer than %d bytes",
		    TRIP_NAME_MAX);
		return trip_reject(reason, reasonsz, c, what, val, vlen);
	}
	/*
	 * Every control character, general category Cc (utf8.h): a name is
	 * a label, with no use for a TAB or a line break.  Checked before
	 * the encoding, so that a name with both says the control.  One
	 * pass tells all three checks below: every row has two names.
	 */
	found = utf8_scan(val, vlen);
	if (found & UTF8_CC)
		return trip_reject(reason, reasonsz, c,
		    "contains a NUL or control character", val, vlen);
	/*
	 * Nor the bidirectional embeddings, overrides and isolates (UAX #9,
	 * sections 2.1 to 2.5): a label has no use for them, and shown in a
	 * report (JSON, the page, a psql table) an RLO in a name turns the
	 * text after it round ("Trojan Source", CVE-2021-42574).  Names in
	 * right-to-left scripts need none: their letters carry direction.
	 */
	if (found & UTF8_BIDI)
		return trip_reject(reason, reasonsz, c,
		    "contains a bidirectional control character", val, vlen);
	/* Nor LS or PS: a line break by another name (utf8.h). */
	if (found & UTF8_LINE_SEP)
		return trip_reject(reason, reasonsz, c,
		    "contains a line or paragraph separator", val, vlen);
	/*
	 * Nor U+FEFF: invisible, it made "\ufeffPrague" a region of its
	 * own that reads "Prague" in every report (a second file's byte
	 * order mark, where two files were joined).
	 */
	if (found & UTF8_BOM)
		return trip_reject(reason, reasonsz, c,
		    "contains a byte order mark (U+FEFF)", val, vlen);
	/* A NUL, the one other thing utf8_valid refuses, is C0 above. */
	if (found & UTF8_ILL_FORMED)
		return trip_reject(reason, reasonsz, c, "not valid UTF-8", val,
		    vlen);
	return 0;
}

static int
trip_point(enum trip_col c, const char *val, size_t vlen, double *lon,
    double *lat, char *reason, size_t reasonsz)
{
	enum wkt_err e;

	if (vlen == 0)
		return trip_empty(reason, reasonsz, c);
	if ((e = wkt_point_parse(val, vlen, lon, lat)) != WKT_OK)
		return trip_reject(reason, reasonsz, c, wkt_strerror(e), val,
		    vlen);
	return 0;
}

int
trip_parse(const struct trip_header *h, const char *const *field,
    const size_t *len, size_t n, struct trip *t, char *reason,
    size_t reasonsz)
{
	const char		*v;
	size_t			 vl;
	enum datetime_err	 e;

	if (n != h->nfields) {
		snprintf(reason, reasonsz, "expected %zu fields, got %zu",
		    h->nfields, n);
		return -1;
	}

	v = field[h->col[TRIP_COL_REGION]];
	vl = len[h->col[TRIP_COL_REGION]];
	if (trip_name(TRIP_COL_REGION, &v, &vl, reason, reasonsz) != 0)
		return -1;
	t->region = v;
	t->region_len = vl;

	if (trip_point(TRIP_COL_ORIGIN, field[h->col[TRIP_COL_ORIGIN]],
	    len[h->col[TRIP_COL_ORIGIN]], &t->olon, &t->olat, reason,
	    reasonsz) != 0)
		return -1;
	if (trip_point(TRIP_COL_DEST, field[h->col[TRIP_COL_DEST]],
	    len[h->col[TRIP_COL_DEST]], &t->dlon, &t->dlat, reason,
	    reasonsz) != 0)
		return -1;

	v = field[h->col[TRIP_COL_DATETIME]];
	vl = len[h->col[TRIP_COL_DATETIME]];
	if (vl == 0)
		return trip_empty(reason, reasonsz, TRIP_COL_DATETIME);
	if ((e = datetime_parse(v, vl, &t->ts_us)) != DATETIME_OK)
		return trip_reject(reason, reasonsz, TRIP_COL_DATETIME,
		    datetime_strerror(e), v, vl);

	v = field[h->col[TRIP_COL_DATASOURCE]];
	vl = len[h->col[TRIP_COL_DATASOURCE]];
	if (trip_name(TRIP_COL_DATASOURCE, &v, &vl, reason, reasonsz) != 0)
		return -1;
	t->datasource = v;
	t->datasource_len = vl;
	return 0;
}
