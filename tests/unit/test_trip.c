/*
 * test_trip.c: lib/trip.c, header and record checks with their messages,
 * and whole hostile files through lib/csvstream.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvstream.h"
#include "trip.h"
#include "unit.h"

#define MAXF	8
#define R	"\xef\xbf\xbd"	/* U+FFFD */

/*
 * Fields as one string cut at '|'; '~' stands for a NUL byte.  Each field
 * is copied to its own heap block without a terminator, so ASan catches
 * any read past len.
 */
struct fields {
	char	*f[MAXF];
	size_t	 len[MAXF];
	size_t	 n;
};

static void
fields_make(struct fields *fs, const char *spec)
{
	const char *p = spec, *bar;
	size_t	 i, k;

	fs->n = 0;
	for (;;) {
		bar = strchr(p, '|');
		k = bar != NULL ? (size_t)(bar - p) : strlen(p);
		if (fs->n == MAXF)
			abort();
		if ((fs->f[fs->n] = malloc(k)) == NULL && k > 0)
			abort();
		memcpy(fs->f[fs->n], p, k);
		for (i = 0; i < k; i++)
			if (fs->f[fs->n][i] == '~')
				fs->f[fs->n][i] = '\0';
		fs->len[fs->n++] = k;
		if (bar == NULL)
			break;
		p = bar + 1;
	}
}

static void
fields_free(struct fields *fs)
{
	size_t	 i;

	for (i = 0; i < fs->n; i++)
		free(fs->f[i]);
	fs->n = 0;
}

#define HDR "region|origin_coord|destination_coord|datetime|datasource"
#define NAMES "region, origin_coord, destination_coord, datetime, datasource"
#define P1	"POINT (14.4973794438195 50.00136875782316)"
#define P2	"POINT (14.43109483523328 50.04052930943246)"
#define TS	"2018-05-28 09:03:40"

static const struct {
	const char	*label;
	const char	*hdr;
	int		 rc;
	size_t		 col[TRIP_COL__MAX];
	size_t		 nfields;
	const char	*err;
} headers[] = {
	{ "standard", HDR, 0, { 0, 1, 2, 3, 4 }, 5, NULL },
	{ "reversed", "datasource|datetime|destination_coord|origin_coord|"
	    "region", 0, { 4, 3, 2, 1, 0 }, 5, NULL },
	{ "case and spaces", " Region |ORIGIN_COORD|\tDestination_Coord|"
	    "DateTime |  datasource", 0, { 0, 1, 2, 3, 4 }, 5, NULL },
	{ "extra columns", "id|region|x|origin_coord|destination_coord|"
	    "datetime|datasource|y", 0, { 1, 3, 4, 5, 6 }, 8, NULL },
	{ "missing datasource", "region|origin_coord|destination_coord|"
	    "datetime", -1, { 0 }, 0,
	    "missing column \"datasource\" in header" },
	{ "missing origin", "region|destination_coord|datetime|datasource",
	    -1, { 0 }, 0, "missing column \"origin_coord\" in header" },
	{ "duplicate", "region|origin_coord|destination_coord|datetime|"
	    "datasource|REGION", -1, { 0 }, 0,
	    "duplicate column \"region\" in header" },
	{ "none", "a|b|c", -1, { 0 }, 0, "not a trips CSV: the first line "
	    "\"a,b,c\" is not a header: it must name " NAMES },
	{ "empty field", "", -1, { 0 }, 0, "not a trips CSV: the first line "
	    "\"\" is not a header: it must name " NAMES },
	{ "data row", "Prague|POINT (1 2)|POINT (3 4)|2018-05-28 09:03:40|x",
	    -1, { 0 }, 0, "not a trips CSV: the first line \"Prague,POINT "
	    "(1 2),POINT (3 4),2018-05-28 09:03:40,x\" is not a header: it "
	    "must name " NAMES },
	{ "long data row, cut", "Prague|" P1 "|" P2 "|" TS "|funny_car", -1,
	    { 0 }, 0, "not a trips CSV: the first line \"Prague," P1 ",POINT "
	    "(14....\" is not a header: it must name " NAMES },
	{ "controls quoted sanitised", "a~b\x1b[2J", -1, { 0 }, 0,
	    "not a trips CSV: the first line \"a" R "b" R "[2J\" is not a "
	    "header: it must name " NAMES },
	{ "semicolons", "region;origin_coord;destination_coord;datetime;"
	    "datasource", -1, { 0 }, 0, "not a trips CSV: the header "
	    "\"region;origin_coord;destination_coord;datetime;datasource\" is "
	    "separated by semicolons; columns must be separated by commas" },
	{ "semicolons, quoted, extra column", "\"Region\"; \"origin_coord\";"
	    "\"destination_coord\";\"datetime\";\"datasource\";\"tag\"", -1,
	    { 0 }, 0, "not a trips CSV: the header \"\\\"Region\\\"; "
	    "\\\"origin_coord\\\";\\\"destination_coord\\\";\\\"datetim...\" is "
	    "separated by semicolons; columns must be separated by commas" },
	{ "semicolons, a column missing", "region;origin_coord;datetime;"
	    "datasource", -1, { 0 }, 0, "not a trips CSV: the header "
	    "\"region;origin_coord;datetime;datasource\" is separated by "
	    "semicolons; columns must be separated by commas" },
	{ "semicolons, one name", "region;x;y", -1, { 0 }, 0,
	    "not a trips CSV: the first line \"region;x;y\" is not a header: "
	    "it must name " NAMES },
	{ "tabs", "region\torigin_coord\tdestination_coord\tdatetime\t"
	    "datasource", -1, { 0 }, 0, "not a trips CSV: the header "
	    "\"region" R "origin_coord" R "destination_coord" R "datetime" R
	    "datas...\" is separated by tabs; columns must be separated by "
	    "commas" },
	{ "bare CR lines", "region|origin_coord|destination_coord|datetime|"
	    "datasource|tag\rPrague|POINT (1 2)", -1, { 0 }, 0,
	    "not a trips CSV: the header holds a line break; lines must end "
	    "with LF or CRLF, not a bare CR" },
	{ "LF in a field", "region|origin_coord|destination_coord|datetime|"
	    "datasource|tag\nPrague|POINT (1 2)", -1, { 0 }, 0,
	    "not a trips CSV: the header holds a line break; lines must end "
	    "with LF or CRLF, not a bare CR" },
	{ "blank column", "region|origin_coord|  |destination_coord|datetime|"
	    "datasource", 0, { 0, 1, 3, 4, 5 }, 6, NULL },
	{ "near names", "regions|origin|destination_coord|date_time|"
	    "datasource", -1, { 0 }, 0,
	    "missing column \"region\" in header" },
	{ "NUL in name", "reg~ion|origin_coord|destination_coord|datetime|"
	    "datasource", -1, { 0 }, 0,
	    "missing column \"region\" in header" },
	{ "inner space", "re gion|origin_coord|destination_coord|datetime|"
	    "datasource", -1, { 0 }, 0,
	    "missing column \"region\" in header" },
};

/* The raw line of a fields spec: '|' is ',', '~' a NUL; not terminated. */
static char *
line_make(const char *spec, size_t *len)
{
	char	*p;
	size_t	 i;

	*len = strlen(spec);
	if ((p = malloc(*len)) == NULL && *len > 0)
		abort();
	for (i = 0; i < *len; i++)
		p[i] = spec[i] == '|' ? ',' : spec[i] == '~' ? '\0' : spec[i];
	return p;
}

static void
test_headers(void)
{
	struct trip_header h;
	struct fields fs;
	char	 err[512], *line;
	size_t	 i, c, linelen;
	int	 rc;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		fields_make(&fs, headers[i].hdr);
		line = line_make(headers[i].hdr, &linelen);
		memset(&h, 0, sizeof(h));
		err[0] = '\0';
		rc = trip_header_parse(line, linelen,
		    (const char *const *)fs.f, fs.len, fs.n, &h, err,
		    sizeof(err));
		free(line);
		UNIT_CHECK(rc == headers[i].rc, "header %s: rc %d (%s)",
		    headers[i].label, rc, err);
		if (rc == 0 && headers[i].rc == 0) {
			UNIT_CHECK(h.nfields == headers[i].nfields,
			    "header %s: nfields %zu", headers[i].label,
			    h.nfields);
			for (c = 0; c < TRIP_COL__MAX; c++)
				UNIT_CHECK(h.col[c] == headers[i].col[c],
				    "header %s: %s at %zu", headers[i].label,
				    trip_col_names[c], h.col[c]);
		} else if (headers[i].err != NULL)
			UNIT_CHECK(strcmp(err, headers[i].err) == 0,
			    "header %s: \"%s\"", headers[i].label, err);
		fields_free(&fs);
	}
	/* No header fields at all (a record csvstream gave up on). */
	UNIT_CHECK(trip_header_parse(NULL, 0, NULL, NULL, 0, &h, err,
	    sizeof(err)) == -1 && strncmp(err, "not a trips CSV", 15) == 0,
	    "header n 0");
	/* A small err buffer is cut, terminated. */
	memset(err, 'Z', sizeof(err));
	fields_make(&fs, "a");
	trip_header_parse("a", 1, (const char *const *)fs.f, fs.len, fs.n, &h,
	    err, 8);
	UNIT_CHECK(strlen(err) == 7 && err[8] == 'Z', "header err cut");
	fields_free(&fs);
	UNIT_CHECK(strcmp(trip_col_names[TRIP_COL_DEST], "destination_coord")
	    == 0, "column names");
}

/*
 * First lines as read: UTF-16 and UTF-32 (with and without a byte order
 * mark, as iconv and Excel's "Unicode text" write them) are not UTF-8.
 */
#define U16LE_HDR "r\0e\0g\0i\0o\0n\0,\0o\0r\0i\0g\0i\0n\0\r\0"
#define U16BE_HDR "\0r\0e\0g\0i\0o\0n\0,\0o\0r\0i\0g\0i\0n\0\r"
#define NOT_U16	"not a trips CSV: the file is UTF-16 text; save it as UTF-8"
#define NO_BOM	"not a trips CSV: the file looks like UTF-16 text without " \
	"a byte order mark; save it as UTF-8"
#define NUL_LINE "not a trips CSV: the first line holds NUL bytes: not " \
	"UTF-8 text"

static const struct {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen */
	const char	*err;	/* NULL: accepted */
} texts[] = {
	{ "header", "region,origin_coord,destination_coord,datetime,"
	    "datasource", 0, NULL },
	{ "UTF-8 names", "Regi\xc3\xb3n,\xe5\x8c\xba", 0, NULL },
	{ "empty", "", 0, NULL },
	{ "not UTF-8, no NUL", "\xff\xff,region", 0, NULL },
	{ "UTF-16LE BOM", "\xff\xfe" U16LE_HDR, sizeof(U16LE_HDR) + 1,
	    NOT_U16 },
	{ "UTF-16BE BOM", "\xfe\xff" U16BE_HDR, sizeof(U16BE_HDR) + 1,
	    NOT_U16 },
	{ "UTF-16LE BOM alone", "\xff\xfe", 0, NOT_U16 },
	{ "UTF-16BE BOM alone", "\xfe\xff", 0, NOT_U16 },
	{ "UTF-32LE BOM", "\xff\xfe\0\0r\0\0\0", 8,
	    "not a trips CSV: the file is UTF-32 text; save it as UTF-8" },
	{ "UTF-32BE BOM", "\0\0\xfe\xff\0\0\0r", 8,
	    "not a trips CSV: the file is UTF-32 text; save it as UTF-8" },
	{ "UTF-16LE, no BOM", U16LE_HDR, sizeof(U16LE_HDR) - 1, NO_BOM },
	{ "UTF-16BE, no BOM", U16BE_HDR, sizeof(U16BE_HDR) - 1, NO_BOM },
	{ "UTF-16LE, no BOM, CJK", "r\0e\0g\0i\0o\0n\0,\0\x3a\x53\r\0", 18,
	    NO_BOM },
	/*
	 * At the edges of the guess: 4 characters, half of them NUL
	 * (LE: len / 4 odd bytes; BE: (len + 1) / 4 even bytes).
	 */
	{ "UTF-16LE, no BOM, 4 characters", "r\0e\0g\0i\0", 8, NO_BOM },
	{ "UTF-16LE, no BOM, half Latin", "r\0e\0\x3a\x53\x3a\x53", 8,
	    NO_BOM },
	{ "UTF-16BE, no BOM, half Latin", "\0r\0e\x53\x3a\x53\x3a", 8,
	    NO_BOM },
	{ "UTF-16BE, odd length, under half", "\0r\0e\x53\x3a\x53\x3a\x53"
	    "\x3a\x53", 11, NUL_LINE },
	{ "UTF-16BE, odd length, half", "\0r\0e\0g\x3a\x53\x3a\x53\x3a"
	    "\x53", 11, NO_BOM },
	{ "one NUL", "reg\0ion,origin_coord,destination_coord", 38, NUL_LINE },
	{ "NULs both ways", "re\0\0gion,origin\0\0", 17, NUL_LINE },
	{ "short", "a\0", 2, NUL_LINE },
	{ "xlsx", "PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0", 14, NUL_LINE },
};

static void
test_header_text(void)
{
	char	 err[256], *p;
	size_t	 i, len;
	int	 rc;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		len = texts[i].len ? texts[i].len : strlen(texts[i].in);
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, texts[i].in, len);	/* no terminator: ASan */
		err[0] = '\0';
		rc = trip_header_text(p, len, err, sizeof(err));
		free(p);
		if (texts[i].err == NULL)
			UNIT_CHECK(rc == 0, "text %s: refused: %s",
			    texts[i].label, err);
		else
			UNIT_CHECK(rc == -1 && strcmp(err, texts[i].err) == 0,
			    "text %s: rc %d \"%s\"", texts[i].label, rc, err);
	}
}

/* A first line the reader gave no fields for: its quotes, split on ','. */
static const struct {
	const char	*label;
	const char	*line;
	int		 rc;
} separators[] = {
	{ "commas", "\"region\",\"x", 0 },
	{ "one name", "region\t\"x", 0 },
	{ "empty", "", 0 },
	/* Two names are enough. */
	{ "two names", "region;origin_coord;x", -1 },
	/* One quote alone is no quoted piece, nor a quote at one end. */
	{ "a lone quote, then names", "\";region;origin_coord", -1 },
	{ "a quote at one end only", "xregion\";origin_coord", 0 },
	/* Empty and blank pieces at both ends. */
	{ "empty piece first", ";region;origin_coord", -1 },
	{ "blank piece last", "region;origin_coord; ", -1 },
	{ "blank pieces", " ;region\t;\t;origin_coord;\t", -1 },
};

static void
test_header_separator(void)
{
	static const char semi[] = "\"region\";\"origin_coord\";"
	    "\"destination_coord\"";
	char	 err[256], *p;
	size_t	 i, len;

	err[0] = '\0';
	UNIT_CHECK(trip_header_separator(semi, sizeof(semi) - 1, err,
	    sizeof(err)) == -1 && strcmp(err, "not a trips CSV: the header "
	    "\"\\\"region\\\";\\\"origin_coord\\\";\\\"destination_coord\\\"\" "
	    "is separated by semicolons; columns must be separated by "
	    "commas") ==
	    0, "separator quoted: %s", err);
	for (i = 0; i < sizeof(separators) / sizeof(separators[0]); i++) {
		/* Exactly the line, on the heap: ASan sees a read outside. */
		len = strlen(separators[i].line);
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, separators[i].line, len);
		err[0] = '\0';
		UNIT_CHECK(trip_header_separator(p, len, err, sizeof(err)) ==
		    separators[i].rc, "separator: %s: \"%s\"",
		    separators[i].label, err);
		free(p);
	}
}

#define OK_ROW	"Prague|" P1 "|" P2 "|" TS "|funny_car"
#define X60	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X128	X60 X60 "xxxxxxxx"

static const struct {
	const char	*label;
	const char	*hdr;	/* NULL: HDR */
	const char	*row;
	const char	*reason;	/* NULL: accepted */
} rows[] = {
	{ "sample", NULL, OK_ROW, NULL },
	{ "T separator and fraction", NULL, "Turin|POINT (7.67 44.99)|"
	    "POINT (7.72 45.06)|2018-05-21T02:54:04.25|baba_car", NULL },
	{ "utf-8 names", NULL, "Z\xc3\xbcrich|" P1 "|" P2 "|" TS "|"
	    "\xf0\x9f\x9a\x97 app", NULL },
	{ "128-byte name", NULL, "Prague|" P1 "|" P2 "|" TS "|" X128, NULL },
	{ "quote in name", NULL, "Pra\"gue|" P1 "|" P2 "|" TS "|x", NULL },
	{ "corners", NULL, "r|POINT (-180 -90)|POINT (180 90)|" TS "|x",
	    NULL },

	{ "4 fields", NULL, "Prague|" P1 "|" P2 "|" TS,
	    "expected 5 fields, got 4" },
	{ "6 fields", NULL, OK_ROW "|extra", "expected 5 fields, got 6" },
	{ "1 field", NULL, "", "expected 5 fields, got 1" },
	{ "empty region", NULL, "|" P1 "|" P2 "|" TS "|x", "region: empty" },
	{ "blank region", NULL, "   |" P1 "|" P2 "|" TS "|x",
	    "region: empty" },
	{ "region NUL", NULL, "Pra~gue|" P1 "|" P2 "|" TS "|x",
	    "region: contains a NUL or control character: \"Pra" R "gue\"" },
	{ "region tab", NULL, "Pra\tgue|" P1 "|" P2 "|" TS "|x",
	    "region: contains a NUL or control character: \"Pra" R "gue\"" },
	{ "region byte order mark", NULL, "\xef\xbb\xbfPrague|" P1 "|" P2 "|"
	    TS "|x", "region: contains a byte order mark (U+FEFF): "
	    "\"\xef\xbb\xbfPrague\"" },
	{ "datasource byte order mark inside", NULL, "Prague|" P1 "|" P2 "|"
	    TS "|a\xef\xbb\xbf" "b", "datasource: contains a byte order mark "
	    "(U+FEFF): \"a\xef\xbb\xbf" "b\"" },
	{ "region newline", NULL, "Pra\ngue|" P1 "|" P2 "|" TS "|x",
	    "region: contains a NUL or control character: \"Pra" R "gue\"" },
	/* DEL, drawn as nothing, is replaced in the quote like the rest. */
	{ "region DEL", NULL, "Pra\x7fgue|" P1 "|" P2 "|" TS "|x",
	    "region: contains a NUL or control character: \"Pra" R "gue\"" },
	/* C1 controls are Cc too (Unicode 15, 4.5): U+0085 NEL, U+009F */
	{ "region C1 NEL", NULL, "Pra\xc2\x85gue|" P1 "|" P2 "|" TS "|x",
	    "region: contains a NUL or control character: \"Pra" R "gue\"" },
	{ "datasource C1 APC", NULL, "Prague|" P1 "|" P2 "|" TS "|x\xc2\x9fy",
	    "datasource: contains a NUL or control character: \"x" R "y\"" },
	{ "region U+00A0 is not a control", NULL, "Pra\xc2\xa0gue|" P1 "|" P2
	    "|" TS "|x", NULL },
	{ "region latin-1", NULL, "Z\xfcrich|" P1 "|" P2 "|" TS "|x",
	    "region: not valid UTF-8: \"Z" R "rich\"" },
	{ "region overlong", NULL, "\xc0\xaf|" P1 "|" P2 "|" TS "|x",
	    "region: not valid UTF-8: \"" R R "\"" },
	{ "region surrogate", NULL, "\xed\xa0\x80|" P1 "|" P2 "|" TS "|x",
	    "region: not valid UTF-8: \"" R R R "\"" },
	{ "datasource 129 bytes", NULL, "Prague|" P1 "|" P2 "|" TS "|" X128
	    "y", "datasource: longer than 128 bytes: \"" X60 "...\"" },
	{ "datasource empty", NULL, "Prague|" P1 "|" P2 "|" TS "|",
	    "datasource: empty" },
	{ "origin word", NULL, "Prague|POINT (14.4 abc)|" P2 "|" TS "|x",
	    "origin_coord: not a WKT point: \"POINT (14.4 abc)\"" },
	{ "origin empty", NULL, "Prague||" P2 "|" TS "|x",
	    "origin_coord: empty" },
	{ "origin nan", NULL, "Prague|POINT (nan 50)|" P2 "|" TS "|x",
	    "origin_coord: not a finite decimal number: \"POINT (nan 50)\"" },
	{ "origin inf", NULL, "Prague|POINT (14 -inf)|" P2 "|" TS "|x",
	    "origin_coord: not a finite decimal number: \"POINT (14 -inf)\"" },
	{ "origin 1e400", NULL, "Prague|POINT (1e400 50)|" P2 "|" TS "|x",
	    "origin_coord: not a finite decimal number: \"POINT (1e400 50)\"" },
	{ "origin hex", NULL, "Prague|POINT (0x1p3 50)|" P2 "|" TS "|x",
	    "origin_coord: not a finite decimal number: \"POINT (0x1p3 50)\"" },
	{ "origin lat lon swapped", NULL, "Prague|POINT (50 100)|" P2 "|" TS
	    "|x", "origin_coord: coordinate out of range: \"POINT (50 100)\"" },
	{ "origin empty point", NULL, "Prague|POINT EMPTY|" P2 "|" TS "|x",
	    "origin_coord: not a WKT point: \"POINT EMPTY\"" },
	{ "origin NUL", NULL, "Prague|POINT (1 2)~|" P2 "|" TS "|x",
	    "origin_coord: not a WKT point: \"POINT (1 2)" R "\"" },
	{ "dest out of range", NULL, "Prague|" P1 "|POINT (200 50)|" TS "|x",
	    "destination_coord: coordinate out of range: \"POINT (200 50)\"" },
	{ "dest 3d", NULL, "Prague|" P1 "|POINT Z (1 2 3)|" TS "|x",
	    "destination_coord: not a WKT point: \"POINT Z (1 2 3)\"" },
	{ "dest long garbage", NULL, "Prague|" P1 "|" X60 X60 "|" TS "|x",
	    "destination_coord: not a WKT point: \"" X60 "...\"" },
	/* TRIP_QUOTE_MAX bytes are quoted whole: no "..." that says cut. */
	{ "dest garbage at the quote limit", NULL, "Prague|" P1 "|" X60 "|"
	    TS "|x", "destination_coord: not a WKT point: \"" X60 "\"" },
	{ "dest garbage one over the quote limit", NULL, "Prague|" P1 "|" X60
	    "y|" TS "|x", "destination_coord: not a WKT point: \"" X60
	    "...\"" },
	{ "feb 30", NULL, "Prague|" P1 "|" P2 "|2018-02-30 10:00:00|x",
	    "datetime: no such date: \"2018-02-30 10:00:00\"" },
	{ "apr 31", NULL, "Prague|" P1 "|" P2 "|2018-04-31 10:00:00|x",
	    "datetime: no such date: \"2018-04-31 10:00:00\"" },
	{ "feb 29 2019", NULL, "Prague|" P1 "|" P2 "|2019-02-29 00:00:00|x",
	    "datetime: no such date: \"2019-02-29 00:00:00\"" },
	{ "hour 25", NULL, "Prague|" P1 "|" P2 "|2018-05-28 25:00:00|x",
	    "datetime: time not between 00:00:00 and 23:59:59: "
	    "\"2018-05-28 25:00:00\"" },
	{ "with zone", NULL, "Prague|" P1 "|" P2 "|2018-05-28 09:03:40Z|x",
	    "datetime: a time zone is not accepted, expected YYYY-MM-DD "
	    "HH:MM:SS: \"2018-05-28 09:03:40Z\"" },
	{ "with offset", NULL, "Prague|" P1 "|" P2
	    "|2019-03-04 08:00:00+02:00|x",
	    "datetime: a time zone is not accepted, expected YYYY-MM-DD "
	    "HH:MM:SS: \"2019-03-04 08:00:00+02:00\"" },
	{ "US date", NULL, "Prague|" P1 "|" P2 "|08/03/2019 08:00|x",
	    "datetime: expected YYYY-MM-DD HH:MM:SS: \"08/03/2019 08:00\"" },
	{ "7 fraction digits", NULL, "Prague|" P1 "|" P2
	    "|2018-05-28 09:03:40.1234567|x", "datetime: expected at most 6 "
	    "digits after the seconds: \"2018-05-28 09:03:40.1234567\"" },
	{ "year 1899", NULL, "Prague|" P1 "|" P2 "|1899-12-31 23:59:59|x",
	    "datetime: year not between 1900 and 2100: "
	    "\"1899-12-31 23:59:59\"" },
	{ "datetime empty", NULL, "Prague|" P1 "|" P2 "||x",
	    "datetime: empty" },
	{ "datetime escape", NULL, "Prague|" P1 "|" P2 "|\x1b[2J|x",
	    "datetime: expected YYYY-MM-DD HH:MM:SS: \"" R "[2J\"" },
	/* An RLO quoted as it is would turn the rest of the reason round. */
	{ "datetime bidi override", NULL, "Prague|" P1 "|" P2
	    "|\xe2\x80\xae" "04:90:30 82-50-8102|x",
	    "datetime: expected YYYY-MM-DD HH:MM:SS: \"" R
	    "04:90:30 82-50-8102\"" },
	{ "first failure wins", NULL, "|POINT (nan 1)|x||",
	    "region: empty" },
	{ "order of columns", NULL, "Prague|" P1 "|bad|bad|",
	    "destination_coord: not a WKT point: \"bad\"" },

	{ "reversed ok", "datasource|datetime|destination_coord|origin_coord|"
	    "region", "funny_car|" TS "|" P2 "|" P1 "|Prague", NULL },
	{ "reversed bad", "datasource|datetime|destination_coord|"
	    "origin_coord|region", "funny_car|" TS "|" P2 "|POINT (1 91)|"
	    "Prague", "origin_coord: coordinate out of range: "
	    "\"POINT (1 91)\"" },
	{ "extra columns ok", "id|region|x|origin_coord|destination_coord|"
	    "datetime|datasource|y", "~~|Prague|\xff|" P1 "|" P2 "|" TS "|x|",
	    NULL },
	{ "extra columns short", "id|region|x|origin_coord|"
	    "destination_coord|datetime|datasource|y", OK_ROW,
	    "expected 8 fields, got 5" },
};

static void
test_rows(void)
{
	struct trip_header h;
	struct fields hf, rf;
	struct trip t;
	char	 reason[512];
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fields_make(&hf, rows[i].hdr != NULL ? rows[i].hdr : HDR);
		if (trip_header_parse(NULL, 0, (const char *const *)hf.f,
		    hf.len, hf.n, &h, reason, sizeof(reason)) != 0)
			abort();
		fields_make(&rf, rows[i].row);
		memset(&t, 0, sizeof(t));
		reason[0] = '\0';
		rc = trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n,
		    &t, reason, sizeof(reason));
		if (rows[i].reason == NULL)
			UNIT_CHECK(rc == 0, "row %s: refused: %s", rows[i].label,
			    reason);
		else
			UNIT_CHECK(rc == -1 && strcmp(reason, rows[i].reason) ==
			    0, "row %s: rc %d:\n  got  \"%s\"\n  want \"%s\"",
			    rows[i].label, rc, reason, rows[i].reason);
		fields_free(&rf);
		fields_free(&hf);
	}
}

/*
 * A name with each class boundary of utf8.h inside it: every control
 * character (general category Cc: C0, TAB, DEL, C1), every
 * bidirectional control (U+202A to U+202E, U+2066 to U+2069) and the line
 * and paragraph separators (U+2028, U+2029) are refused, the characters
 * either side of each range are not.
 */
#define CTL	"contains a NUL or control character"
#define BIDI	"contains a bidirectional control character"
#define LSEP	"contains a line or paragraph separator"
static const struct {
	const char	*name;
	size_t		 len;	/* 0: strlen(name) */
	const char	*reason;	/* NULL: accepted */
} names[] = {
	{ "a\0b", 3, "region: " CTL ": \"a" R "b\"" },
	{ "a\x1f" "b", 0, "region: " CTL ": \"a" R "b\"" },
	{ "a b", 0, NULL },				/* U+0020 */
	{ "a~b", 0, NULL },				/* U+007E */
	{ "a\x7f" "b", 0, "region: " CTL ": \"a" R "b\"" },
	{ "a\xc2\x80" "b", 0, "region: " CTL ": \"a" R "b\"" },
	{ "a\xc2\x9f" "b", 0, "region: " CTL ": \"a" R "b\"" },
	{ "a\xc2\xa0" "b", 0, NULL },			/* U+00A0 */
	{ "a\xe2\x80\xa7" "b", 0, NULL },		/* U+2027 */
	{ "a\xe2\x80\xa8" "b", 0, "region: " LSEP ": \"a" R "b\"" },
	{ "a\xe2\x80\xa9" "b", 0, "region: " LSEP ": \"a" R "b\"" },
	{ "a\xe2\x80\xaa" "b", 0, "region: " BIDI ": \"a" R "b\"" },
	{ "a\xe2\x80\xae" "b", 0, "region: " BIDI ": \"a" R "b\"" },
	{ "a\xe2\x80\xaf" "b", 0, NULL },		/* U+202F */
	{ "a\xe2\x81\xa5" "b", 0, NULL },		/* U+2065 */
	{ "a\xe2\x81\xa6" "b", 0, "region: " BIDI ": \"a" R "b\"" },
	{ "a\xe2\x81\xa9" "b", 0, "region: " BIDI ": \"a" R "b\"" },
	{ "a\xe2\x81\xaa" "b", 0, NULL },		/* U+206A */
	/* A control after or inside an ill-formed sequence is still one. */
	{ "\xff\x01", 0, "region: " CTL ": \"" R R "\"" },
	{ "\xe2\xc2\x85", 0, "region: " CTL ": \"" R R "\"" },
	{ "\xe2\x82\x7f", 0, "region: " CTL ": \"" R R "\"" },
	{ "\xe2\x82", 0, "region: not valid UTF-8: \"" R "\"" },
};

static void
test_names(void)
{
	struct fields	 hf, rf;
	struct trip_header h;
	struct trip	 t;
	char		 reason[512];
	size_t		 i;
	int		 rc;

	fields_make(&hf, HDR);
	if (trip_header_parse(NULL, 0, (const char *const *)hf.f, hf.len,
	    hf.n, &h, reason, sizeof(reason)) != 0)
		abort();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		fields_make(&rf, "r|" P1 "|" P2 "|" TS "|x");
		/* The name's bytes exactly, at the end of a heap block. */
		free(rf.f[0]);
		rf.len[0] = names[i].len ? names[i].len :
		    strlen(names[i].name);
		if ((rf.f[0] = malloc(rf.len[0])) == NULL)
			abort();
		memcpy(rf.f[0], names[i].name, rf.len[0]);
		reason[0] = '\0';
		rc = trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n,
		    &t, reason, sizeof(reason));
		if (names[i].reason == NULL)
			UNIT_CHECK(rc == 0 && t.region_len == rf.len[0],
			    "name %zu: refused: %s", i, reason);
		else
			UNIT_CHECK(rc == -1 && strcmp(reason, names[i].reason)
			    == 0, "name %zu: rc %d:\n  got  \"%s\"\n  want "
			    "\"%s\"", i, rc, reason, names[i].reason);
		fields_free(&rf);
	}
	fields_free(&hf);
}

/* The values of an accepted row, and names pointing into the fields. */
static void
test_values(void)
{
	struct trip_header h;
	struct fields hf, rf;
	struct trip t;
	char	 reason[256];

	fields_make(&hf, HDR);
	trip_header_parse(NULL, 0, (const char *const *)hf.f, hf.len, hf.n, &h,
	    reason, sizeof(reason));
	fields_make(&rf, OK_ROW);
	UNIT_CHECK(trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n, &t,
	    reason, sizeof(reason)) == 0, "values: %s", reason);
	UNIT_CHECK(t.olon == 14.4973794438195 && t.olat == 50.00136875782316 &&
	    t.dlon == 14.43109483523328 && t.dlat == 50.04052930943246,
	    "values: coordinates");
	UNIT_CHECK(t.ts_us == INT64_C(1527498220000000), "values: ts %lld",
	    (long long)t.ts_us);
	UNIT_CHECK(t.region == rf.f[0] && t.region_len == 6,
	    "values: region");
	UNIT_CHECK(t.datasource == rf.f[4] && t.datasource_len == 9,
	    "values: datasource");
	fields_free(&rf);

	/*
	 * Spaces and tabs around a name are dropped: a quoted field keeps
	 * them (RFC 4180 section 2), and " Prague " must not become a
	 * region of its own beside "Prague".
	 */
	fields_make(&rf, " Prague\t|" P1 "|" P2 "|" TS "|\t funny_car  ");
	UNIT_CHECK(trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n, &t,
	    reason, sizeof(reason)) == 0, "trimmed: %s", reason);
	UNIT_CHECK(t.region == rf.f[0] + 1 && t.region_len == 6 &&
	    memcmp(t.region, "Prague", 6) == 0, "trimmed: region %zu",
	    t.region_len);
	UNIT_CHECK(t.datasource == rf.f[4] + 2 && t.datasource_len == 9 &&
	    memcmp(t.datasource, "funny_car", 9) == 0,
	    "trimmed: datasource %zu", t.datasource_len);
	fields_free(&rf);
	/* No-break spaces too (a name copied from a web page). */
	fields_make(&rf, "\xc2\xa0 Prague\xc2\xa0\xc2\xa0|" P1 "|" P2 "|" TS
	    "|funny\xc2\xa0" "car\xc2\xa0");
	UNIT_CHECK(trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n, &t,
	    reason, sizeof(reason)) == 0, "nbsp trimmed: %s", reason);
	UNIT_CHECK(t.region_len == 6 && memcmp(t.region, "Prague", 6) == 0,
	    "nbsp trimmed: region %zu", t.region_len);
	/* Inside a name it stays: "funny car" is not "funny_car". */
	UNIT_CHECK(t.datasource_len == 10 &&
	    memcmp(t.datasource, "funny\xc2\xa0" "car", 10) == 0,
	    "nbsp trimmed: datasource %zu", t.datasource_len);
	fields_free(&rf);
	/* 128 bytes between spaces fit; the spaces do not count. */
	fields_make(&rf, "  " X128 "  |" P1 "|" P2 "|" TS "|x");
	UNIT_CHECK(trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n, &t,
	    reason, sizeof(reason)) == 0 && t.region_len == 128,
	    "trimmed 128: %s", reason);
	fields_free(&rf);

	/* A tiny reason buffer is cut and terminated. */
	fields_make(&rf, "Prague|POINT (200 50)|" P2 "|" TS "|x");
	memset(reason, 'Z', sizeof(reason));
	UNIT_CHECK(trip_parse(&h, (const char *const *)rf.f, rf.len, rf.n, &t,
	    reason, 12) == -1 && strlen(reason) == 11 && reason[12] == 'Z',
	    "values: reason cut");
	fields_free(&rf);
	fields_free(&hf);
}

/*
 * Whole files through csvstream and trip, as the runner reads them: what
 * each line becomes.
 */
struct outcome {
	struct trip_header h;
	int	 have_header;
	char	 log[4096];
	size_t	 len;
};

static int
file_row(void *arg, const struct csvstream_row *row)
{
	struct outcome *o = arg;
	struct trip t;
	char	 reason[256];
	int	 n;

	if (!o->have_header) {
		o->have_header = 1;
		if (trip_header_text(row->raw, row->rawlen, reason,
		    sizeof(reason)) != 0 || trip_header_parse(row->raw,
		    row->rawlen, row->field, row->len, row->nfields, &o->h,
		    reason, sizeof(reason)) != 0) {
			n = snprintf(o->log + o->len, sizeof(o->log) - o->len,
			    "header: %s\n", reason);
			o->len += (size_t)n;
			return 1;
		}
		return 0;
	}
	if (row->too_long)
		snprintf(reason, sizeof(reason), "too long");
	else if (row->bad_quote)
		snprintf(reason, sizeof(reason), "bad quote");
	else if (trip_parse(&o->h, row->field, row->len, row->nfields, &t,
	    reason, sizeof(reason)) == 0)
		snprintf(reason, sizeof(reason), "ok %.*s", (int)t.region_len,
		    t.region);
	n = snprintf(o->log + o->len, sizeof(o->log) - o->len, "%llu: %s\n",
	    (unsigned long long)row->line, reason);
	if (n > 0 && (size_t)n < sizeof(o->log) - o->len)
		o->len += (size_t)n;
	return 0;
}

#define NUL_FILE "region,origin_coord,destination_coord,datetime," \
	"datasource\nPra\0gue," P1 "," P2 "," TS ",x\n"

static const struct {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen */
	const char	*want;
} files[] = {
	{ "good file", "region,origin_coord,destination_coord,datetime,"
	    "datasource\r\nPrague,\"" P1 "\"," P2 "," TS ",funny_car\r\n"
	    "Turin," P1 "," P2 "," TS ",baba_car", 0, "2: ok Prague\n3: ok Turin\n" },
	{ "BOM, other order, extra column", "\xef\xbb\xbf" "datasource,id,"
	    "datetime,region,destination_coord,origin_coord\n"
	    "cheap_mobile,1," TS ",Hamburg," P2 "," P1 "\n", 0,
	    "2: ok Hamburg\n" },
	{ "hostile rows", "region,origin_coord,destination_coord,datetime,"
	    "datasource\n"
	    "Prague," P1 "," P2 "," TS "\n"
	    "Prague," P1 "," P2 "," TS ",x,y\n"
	    "\"Pra\rgue\"," P1 "," P2 "," TS ",x\n"
	    "Prague,\"" P1 "," P2 "," TS ",x\n"
	    "Prague,POINT (nan 50)," P2 "," TS ",x\n"
	    "Prague," P1 ",POINT (14 -91)," TS ",x\n"
	    "Prague," P1 "," P2 ",2018-02-29 12:00:00,x\n"
	    "\"Prague\"x," P1 "," P2 "," TS ",x\n"
	    "\n"
	    "Turin,\"POINT (7 45)\",\"POINT (7 45)\"," TS ",\"a,b\"\n", 0,
	    "2: expected 5 fields, got 4\n"
	    "3: expected 5 fields, got 6\n"
	    "4: region: contains a NUL or control character: \"Pra" R "gue\"\n"
	    "5: bad quote\n"
	    "6: origin_coord: not a finite decimal number: \"POINT (nan 50)\"\n"
	    "7: destination_coord: coordinate out of range: "
	    "\"POINT (14 -91)\"\n"
	    "8: datetime: no such date: "
	    "\"2018-02-29 12:00:00\"\n"
	    "9: bad quote\n"
	    "11: ok Turin\n" },
	{ "NUL in a row", NUL_FILE, sizeof(NUL_FILE) - 1,
	    "2: region: contains a NUL or control character: \"Pra" R
	    "gue\"\n" },
	{ "missing column", "region,origin_coord,destination_coord,datetime\n"
	    "Prague," P1 "," P2 "," TS "\n", 0,
	    "header: missing column \"datasource\" in header\n" },
	{ "not a CSV of trips", "hello world\nfoo\n", 0,
	    "header: not a trips CSV: the first line \"hello world\" is not "
	    "a header: it must name " NAMES "\n" },
	{ "no header", "Prague," P1 "," P2 "," TS ",funny_car\n", 0,
	    "header: not a trips CSV: the first line \"Prague," P1 ",POINT "
	    "(14....\" is not a header: it must name " NAMES "\n" },
	{ "semicolons, CRLF", "region;origin_coord;destination_coord;"
	    "datetime;datasource\r\nPrague;" P1 ";" P2 ";" TS ";x\r\n", 0,
	    "header: not a trips CSV: the header \"region;origin_coord;"
	    "destination_coord;datetime;datasource\" is separated by "
	    "semicolons; columns must be separated by commas\n" },
	{ "UTF-16LE with BOM", "\xff\xfe" U16LE_HDR "\n\0P\0r\0",
	    sizeof(U16LE_HDR) + 7, "header: " NOT_U16 "\n" },
	{ "UTF-16BE, no BOM", U16BE_HDR "\0\n\0P\0r", sizeof(U16BE_HDR) + 5,
	    "header: " NO_BOM "\n" },
};

static void
test_files(void)
{
	struct csvstream *s;
	struct outcome	*o;
	size_t		 i, len;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			abort();
		s = csvstream_new(65536, file_row, o);
		len = files[i].len ? files[i].len : strlen(files[i].in);
		csvstream_feed(s, files[i].in, len);
		csvstream_finish(s);
		UNIT_CHECK(strcmp(o->log, files[i].want) == 0,
		    "file %s:\ngot:\n%swant:\n%s", files[i].label, o->log,
		    files[i].want);
		csvstream_free(s);
		free(o);
	}
}

int
main(void)
{
	test_header_text();
	test_header_separator();
	test_headers();
	test_rows();
	test_names();
	test_values();
	test_files();
	return unit_done("test_trip");
}
