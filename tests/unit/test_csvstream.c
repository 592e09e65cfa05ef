/*
 * test_csvstream.c: lib/csvstream.c on well-formed and hostile CSV.  Every
 * case is fed whole, byte by byte, split at every position and in random
 * chunks: the delivered records must be the same each time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvstream.h"
#include "unit.h"

/* What the callback saw, as text: one line per record. */
struct log {
	char	*buf;
	size_t	 len, cap;
	int	 raw;		/* also log the raw bytes */
	int	 stop_at;	/* return non-zero at this record (1-based) */
	uint64_t n;
	size_t	 max_record;	/* the reader's cap */
	char	 broken[160];	/* the first invariant broken, or "" */
};

static void
log_put(struct log *l, const char *p, size_t n)
{
	while (l->len + n + 1 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 256;
		if ((l->buf = realloc(l->buf, l->cap)) == NULL)
			abort();
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

/* Bytes as text: controls, '|', '\\' and non-ASCII as \xHH. */
static void
log_esc(struct log *l, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char	 e[4] = { '\\', 'x', 0, 0 };
	size_t	 i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == '|' || c == '\\') {
			e[2] = hex[c >> 4];
			e[3] = hex[c & 15];
			log_put(l, e, 4);
		} else
			log_put(l, p + i, 1);
	}
}

/* Note in l->broken the first invariant row breaks, if any. */
static void
log_check(struct log *l, const struct csvstream_row *row, size_t total)
{
	unsigned long long line = (unsigned long long)row->line;

	if (total > l->max_record)
		snprintf(l->broken, sizeof(l->broken), "line %llu: %zu field "
		    "bytes over the cap of %zu", line, total, l->max_record);
	else if (row->unterminated && !row->bad_quote)
		snprintf(l->broken, sizeof(l->broken), "line %llu: "
		    "unterminated but not bad_quote", line);
	else if ((row->too_long || row->bad_quote) && row->nfields != 0)
		snprintf(l->broken, sizeof(l->broken), "line %llu: fields "
		    "with too_long or bad_quote", line);
	else if (row->rawlen > CSVSTREAM_RAW_MAX)
		snprintf(l->broken, sizeof(l->broken), "line %llu: raw of %zu "
		    "bytes", line, row->rawlen);
}

static int
log_row(void *arg, const struct csvstream_row *row)
{
	struct log *l = arg;
	char	 num[32];
	size_t	 i, total;

	l->n++;
	snprintf(num, sizeof(num), "%llu:", (unsigned long long)row->line);
	log_put(l, num, strlen(num));
	if (row->too_long)
		log_put(l, "TOO_LONG", 8);
	if (row->unterminated)
		log_put(l, "UNTERMINATED", 12);
	else if (row->bad_quote)
		log_put(l, "BAD_QUOTE", 9);
	if (row->unterminated && !row->bad_quote)
		log_put(l, "(not bad_quote!)", 16);
	if ((row->too_long || row->bad_quote) && row->nfields != 0)
		log_put(l, "(fields!)", 9);
	for (i = 0; i < row->nfields; i++) {
		if (i > 0)
			log_put(l, "|", 1);
		log_esc(l, row->field[i], row->len[i]);
	}
	if (l->raw) {
		log_put(l, " raw=", 5);
		log_esc(l, row->raw, row->rawlen);
	}
	if (row->rawlen > CSVSTREAM_RAW_MAX)
		log_put(l, "(raw too long!)", 15);
	log_put(l, "\n", 1);
	/*
	 * The invariants, checked for every record of every input (the
	 * markers above show where in a log; a broken one fails the run,
	 * in run()): nothing delivered is longer than the cap.
	 */
	for (i = 0, total = 0; i < row->nfields; i++)
		total += row->len[i];
	if (l->broken[0] == '\0')
		log_check(l, row, total);
	return l->stop_at != 0 && l->n == (uint64_t)l->stop_at;
}

/*
 * The readers whose logs broke an invariant, and the first such break:
 * checked once, in main (a check per reader would count thousands).
 */
static unsigned	 broken_logs;
static char	 first_broken[160];

static void
log_verdict(const struct log *l)
{
	if (l->broken[0] != '\0' && broken_logs++ == 0)
		snprintf(first_broken, sizeof(first_broken), "%s", l->broken);
}

/*
 * Feed in pieces: sizes[] cycles (0 entries: whole).  Returns the log;
 * *rc the first failing status.
 */
static char *
run(const char *in, size_t len, size_t max_record, const size_t *sizes,
    size_t nsizes, int raw, int *rcp, uint64_t *records)
{
	struct csvstream *s;
	struct log l;
	size_t	 off = 0, k = 0, n;
	int	 rc = 0;

	memset(&l, 0, sizeof(l));
	l.raw = raw;
	l.max_record = max_record;
	log_put(&l, "", 0);
	if ((s = csvstream_new(max_record, log_row, &l)) == NULL)
		abort();
	while (off < len && rc == 0) {
		n = nsizes == 0 ? len - off : sizes[k++ % nsizes];
		if (n > len - off)
			n = len - off;
		rc = csvstream_feed(s, in + off, n);
		off += n;
	}
	if (rc == 0)
		rc = csvstream_finish(s);
	if (rcp != NULL)
		*rcp = rc;
	if (records != NULL)
		*records = csvstream_records(s);
	csvstream_free(s);
	log_verdict(&l);
	return l.buf;
}

struct csv_case {
	const char	*label;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	size_t		 max_record;	/* 0: 65536 */
	const char	*want;
};

#define L1M	"1:region|origin_coord|destination_coord|datetime|datasource\n"

static const struct csv_case cases[] = {
	{ "empty", "", 0, 0, "" },
	{ "one record", "a,b\n", 0, 0, "1:a|b\n" },
	{ "no final newline", "a,b\nc,d", 0, 0, "1:a|b\n2:c|d\n" },
	{ "CRLF", "a,b\r\nc,d\r\n", 0, 0, "1:a|b\n2:c|d\n" },
	{ "CRLF no final", "a,b\r\nc,d", 0, 0, "1:a|b\n2:c|d\n" },
	{ "CR at the end", "a,b\r", 0, 0, "1:a|b\n" },
	{ "mixed line ends", "a\r\nb\nc\r\n", 0, 0, "1:a\n2:b\n3:c\n" },
	{ "blank lines", "a\n\n\nb\n   \n\t\n\r\nc", 0, 0,
	    "1:a\n4:b\n8:c\n" },
	{ "leading blank lines", "\n\nh\n", 0, 0, "3:h\n" },
	{ "only blank lines", "\n\r\n  \n", 0, 0, "" },
	{ "trips header", "region,origin_coord,destination_coord,datetime,"
	    "datasource\n", 0, 0, L1M },
	{ "sample row", "Prague,POINT (14.4973794438195 50.00136875782316),"
	    "POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,"
	    "funny_car\n", 0, 0, "1:Prague|POINT (14.4973794438195 "
	    "50.00136875782316)|POINT (14.43109483523328 50.04052930943246)|"
	    "2018-05-28 09:03:40|funny_car\n" },
	{ "quoted comma", "\"a,b\",c\n", 0, 0, "1:a,b|c\n" },
	{ "doubled quotes", "\"he said \"\"hi\"\"\",x\n", 0, 0,
	    "1:he said \"hi\"|x\n" },
	/*
	 * A record is one line: a quote open at a line's end rejects that
	 * line alone, and the next line is read afresh (csvstream.h).
	 */
	{ "quoted newline", "a,\"b\nc\",d\ne,f\n", 0, 0,
	    "1:UNTERMINATED\n2:BAD_QUOTE\n3:e|f\n" },
	{ "quoted CRLF", "a,\"b\r\nc\"\r\ne,f\r\n", 0, 0,
	    "1:UNTERMINATED\n2:BAD_QUOTE\n3:e|f\n" },
	{ "quotes across many lines", "h\n\"1\n2\n\n3\",x\nlast\n", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:2\n5:BAD_QUOTE\n6:last\n" },
	{ "stray quote does not swallow the lines after it",
	    "h\nPrague,\"POINT (1 2),POINT (3 4),t,ds\nTurin,a,b,c,d\n"
	    "Hamburg,a,b,c,d\n", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:Turin|a|b|c|d\n4:Hamburg|a|b|c|d\n" },
	{ "a later quote does not close a stray one",
	    "h\nx,\"a,b\ny,b\n\"z\",\"c\"\nw,v\n", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:y|b\n4:z|c\n5:w|v\n" },
	{ "stray quote, CRLF", "h\r\nx,\"a\r\ny,b\r\n\"z\",c\r\n", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:y|b\n4:z|c\n" },
	{ "stray quote, bare CR before LF", "x,\"a\r\r\ny\n", 0, 0,
	    "1:UNTERMINATED\n2:y\n" },
	{ "doubled quote at a line end", "h\nx,\"a\"\"\ny\n", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:y\n" },
	{ "stray quote, then blank lines", "x,\"a\n\n  \ny\n", 0, 0,
	    "1:UNTERMINATED\n4:y\n" },
	{ "stray quote, then one open at the end", "h\nx,\"a\ny,\"b", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:UNTERMINATED\n" },
	{ "stray quote, then a last line", "h\nx,\"a\ny,b", 0, 0,
	    "1:h\n2:UNTERMINATED\n3:y|b\n" },
	{ "quoted empty", "\"\",x\n", 0, 0, "1:|x\n" },
	{ "empty fields", ",,\n", 0, 0, "1:||\n" },
	{ "single field", "x\n", 0, 0, "1:x\n" },
	{ "spaces trimmed", "  a  , b \t\n", 0, 0, "1:a|b\n" },
	{ "inner spaces kept", "POINT (1 2),x\n", 0, 0, "1:POINT (1 2)|x\n" },
	{ "quoted spaces kept", "\" a \",b\n", 0, 0, "1: a |b\n" },
	{ "stray quote", "a\"b,c\nd\n", 0, 0, "1:BAD_QUOTE\n2:d\n" },
	{ "text after closing quote", "\"a\"b,c\nd\n", 0, 0,
	    "1:BAD_QUOTE\n2:d\n" },
	{ "quote after spaces", "\"a\" \"b\"\nd\n", 0, 0,
	    "1:BAD_QUOTE\n2:d\n" },
	{ "spaces after closing quote", "\"a\"  ,b\n", 0, 0, "1:a|b\n" },
	{ "bad quote on a later line", "\"a\nb\"x\nc\n", 0, 0,
	    "1:UNTERMINATED\n2:BAD_QUOTE\n3:c\n" },
	{ "bad quote at the end", "\"a\"b", 0, 0, "1:BAD_QUOTE\n" },
	{ "text after closing quote does not swallow lines",
	    "h\n\"Prague\"x,1\nTurin,2\nHamburg,3\n", 0, 0,
	    "1:h\n2:BAD_QUOTE\n3:Turin|2\n4:Hamburg|3\n" },
	{ "bare CR is data", "a\rb,c\n", 0, 0, "1:a\\x0db|c\n" },
	{ "CR CR LF", "a\r\r\nb\n", 0, 0, "1:a\\x0d\n2:b\n" },
	{ "BOM", "\xef\xbb\xbfregion,x\n", 0, 0, "1:region|x\n" },
	{ "BOM only", "\xef\xbb\xbf", 0, 0, "" },
	{ "BOM then blank", "\xef\xbb\xbf\nx\n", 0, 0, "2:x\n" },
	{ "partial BOM", "\xef\xbbx\n", 0, 0, "1:\\xef\\xbbx\n" },
	{ "partial BOM at end", "\xef\xbb", 0, 0, "1:\\xef\\xbb\n" },
	{ "BOM on line 2 kept", "a\n\xef\xbb\xbf" "b\n", 0, 0,
	    "1:a\n2:\\xef\\xbb\\xbfb\n" },
	{ "two BOMs", "\xef\xbb\xbf\xef\xbb\xbf" "a\n", 0, 0,
	    "1:\\xef\\xbb\\xbfa\n" },
	{ "NUL in field", "a\0b,c\n", 6, 0, "1:a\\x00b|c\n" },
	{ "NUL line", "\0\n", 2, 0, "1:\\x00\n" },
	{ "NUL in quotes", "\"\0\",x\n", 6, 0, "1:\\x00|x\n" },
	/*
	 * RFC 4180 section 2: an escaped field ends with a quote; a file
	 * cut inside one is a bad record, not its cut value.
	 */
	{ "unterminated quote at end", "a,\"b", 0, 0, "1:UNTERMINATED\n" },
	{ "unterminated quote at end, CRLF", "h\r\na,\"b\r", 0, 0,
	    "1:h\n2:UNTERMINATED\n" },
	{ "quote opened at end", "a,\"", 0, 0, "1:UNTERMINATED\n" },
	{ "cut in the last field", "h\nx,\"funny_c", 0, 0,
	    "1:h\n2:UNTERMINATED\n" },
	{ "cut after a quote", "h\nx,\"a\"\"", 0, 0,
	    "1:h\n2:UNTERMINATED\n" },
	{ "closed at end", "h\nx,\"a\"\"b\"", 0, 0, "1:h\n2:x|a\"b\n" },
	{ "closed at end, spaces", "h\nx,\"a\"  ", 0, 0, "1:h\n2:x|a\n" },
	{ "closed at end, CR", "h\nx,\"a\"\r", 0, 0, "1:h\n2:x|a\n" },
	{ "extra columns", "a,b,c\nd,e\n", 0, 0, "1:a|b|c\n2:d|e\n" },

	/* Bounded records: max_record 16. */
	{ "exactly max", "0123456789abcdef\nx\n", 0, 16,
	    "1:0123456789abcdef\n2:x\n" },
	{ "exactly max CRLF", "0123456789abcdef\r\nx\n", 0, 16,
	    "1:0123456789abcdef\n2:x\n" },
	{ "max + 1", "0123456789abcdefg\nx\n", 0, 16, "1:TOO_LONG\n2:x\n" },
	{ "max + 1 CR", "0123456789abcdef\r\r\nx\n", 0, 16,
	    "1:TOO_LONG\n2:x\n" },
	{ "max + 1 at end", "a\n0123456789abcdefg", 0, 16,
	    "1:a\n2:TOO_LONG\n" },
	{ "long line between", "a,b\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
	    "c,d\n", 0, 16, "1:a|b\n2:TOO_LONG\n3:c|d\n" },
	{ "long blank line", "a\n                    \nb\n", 0, 16,
	    "1:a\n2:TOO_LONG\n3:b\n" },
	{ "blank line of max bytes", "a\n                \nb\n", 0, 16,
	    "1:a\n3:b\n" },
	{ "blank line of max + 1 bytes", "a\n                 \nb\n", 0, 16,
	    "1:a\n2:TOO_LONG\n3:b\n" },
	{ "unterminated quote resyncs", "a,\"bbbb\nccc\nddd\neee\nfff\n", 0,
	    10, "1:UNTERMINATED\n2:ccc\n3:ddd\n4:eee\n5:fff\n" },
	{ "open quote at max", "\"0123456789abcde\nx\n", 0, 16,
	    "1:UNTERMINATED\n2:x\n" },
	{ "open quote at max CRLF", "\"0123456789abcde\r\nx\n", 0, 16,
	    "1:UNTERMINATED\n2:x\n" },
	{ "open quote over max", "\"0123456789abcdef\nx\n", 0, 16,
	    "1:TOO_LONG\n2:x\n" },
	{ "many too long", "aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbb\n"
	    "ok\n", 0, 16, "1:TOO_LONG\n2:TOO_LONG\n3:ok\n" },
	{ "max_record 1", "a\nbb\n\nc", 0, 1, "1:a\n2:TOO_LONG\n4:c\n" },
};

/* Raw text of records: as in the file, without the final terminator. */
static const struct csv_case raw_cases[] = {
	{ "raw simple", "a,b\n", 0, 0, "1:a|b raw=a,b\n" },
	{ "raw CRLF", "a,b\r\n", 0, 0, "1:a|b raw=a,b\n" },
	{ "raw leading spaces", "  a,b  \n", 0, 0, "1:a|b raw=  a,b  \n" },
	{ "raw quoted CRLF", "a,\"b\r\nc\"\r\n", 0, 0,
	    "1:UNTERMINATED raw=a,\"b\n2:BAD_QUOTE raw=c\"\n" },
	{ "raw stray quote", "h\nPrague,\"POINT (1 2),x\r\ny\n", 0, 0,
	    "1:h raw=h\n2:UNTERMINATED raw=Prague,\"POINT (1 2),x\n"
	    "3:y raw=y\n" },
	{ "raw after blank", "\n\nx\n", 0, 0, "3:x raw=x\n" },
	{ "raw BOM stripped", "\xef\xbb\xbfh\n", 0, 0, "1:h raw=h\n" },
	{ "raw NUL", "a\0b\n", 4, 0, "1:a\\x00b raw=a\\x00b\n" },
	{ "raw too long", "0123456789abcdefghij\r\nx\n", 0, 16,
	    "1:TOO_LONG raw=0123456789abcdefghij\n2:x raw=x\n" },
	{ "raw open quote at max", "\"0123456789abcde\nx\n", 0, 16,
	    "1:UNTERMINATED raw=\"0123456789abcde\n2:x raw=x\n" },
	{ "raw bad quote", "\"a\"b,c\r\nx\n", 0, 0,
	    "1:BAD_QUOTE raw=\"a\"b,c\n2:x raw=x\n" },
	{ "raw bad quote at end", "x\n\"a\"b,c\r", 0, 0,
	    "1:x raw=x\n2:BAD_QUOTE raw=\"a\"b,c\n" },
	{ "raw unterminated", "a,\"b\nc", 0, 0,
	    "1:UNTERMINATED raw=a,\"b\n2:c raw=c\n" },
};

static size_t
case_len(const struct csv_case *c)
{
	return c->len ? c->len : strlen(c->in);
}

static size_t
case_max(const struct csv_case *c)
{
	return c->max_record ? c->max_record : 65536;
}

/*
 * One case, every way of cutting it: the full log (raw included) must be
 * the same as when fed whole.
 */
static void
check_chunking(const char *label, const char *in, size_t len,
    size_t max_record)
{
	static const size_t one[] = { 1 }, odd[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	size_t	 sizes[64], i, j, split[2];
	char	*whole, *got;
	int	 rc, bad = 0;

	whole = run(in, len, max_record, NULL, 0, 1, &rc, NULL);
	UNIT_CHECK(rc == 0, "%s: whole rc %d", label, rc);

	got = run(in, len, max_record, one, 1, 1, NULL, NULL);
	UNIT_CHECK(strcmp(got, whole) == 0, "%s: byte by byte:\n%s\nvs\n%s",
	    label, got, whole);
	free(got);
	got = run(in, len, max_record, odd, 8, 1, NULL, NULL);
	UNIT_CHECK(strcmp(got, whole) == 0, "%s: odd chunks", label);
	free(got);
	/* Two chunks, cut at every position. */
	for (i = 1; i < len && len < 4096 && !bad; i++) {
		split[0] = i;
		split[1] = len;
		got = run(in, len, max_record, split, 2, 1, NULL, NULL);
		if (strcmp(got, whole) != 0) {
			UNIT_CHECK(0, "%s: split at %zu:\n%s\nvs\n%s", label, i,
			    got, whole);
			bad = 1;
		}
		free(got);
	}
	/* Random chunk sizes. */
	for (i = 0; i < 20 && !bad; i++) {
		for (j = 0; j < 64; j++)
			sizes[j] = 1 + (size_t)rand() % (i < 10 ? 8 : 300);
		got = run(in, len, max_record, sizes, 64, 1, NULL, NULL);
		if (strcmp(got, whole) != 0) {
			UNIT_CHECK(0, "%s: random chunks", label);
			bad = 1;
		}
		free(got);
	}
	free(whole);
}

static void
test_cases(const struct csv_case *cs, size_t n, int raw)
{
	size_t	 i;
	char	*got;

	for (i = 0; i < n; i++) {
		const struct csv_case *c = &cs[i];
		char	*in;

		/* A heap copy without terminator: ASan checks the bounds. */
		if ((in = malloc(case_len(c) + 1)) == NULL)
			abort();
		memcpy(in, c->in, case_len(c));
		got = run(in, case_len(c), case_max(c), NULL, 0, raw, NULL,
		    NULL);
		UNIT_CHECK(strcmp(got, c->want) == 0, "%s:\ngot:\n%swant:\n%s",
		    c->label, got, c->want);
		free(got);
		check_chunking(c->label, in, case_len(c), case_max(c));
		free(in);
	}
}

/* The callback stops the reader. */
static void
test_stop(void)
{
	static const char in[] = "a\nb\nc\nd\n";
	struct csvstream *s;
	struct log l;

	memset(&l, 0, sizeof(l));
	l.max_record = 100;
	l.stop_at = 2;
	s = csvstream_new(100, log_row, &l);
	UNIT_CHECK(csvstream_feed(s, in, sizeof(in) - 1) == -1, "stop: feed");
	UNIT_CHECK(strcmp(csvstream_error(s), "stopped") == 0,
	    "stop: error \"%s\"", csvstream_error(s));
	UNIT_CHECK(l.n == 2 && csvstream_records(s) == 2, "stop: %llu rows",
	    (unsigned long long)l.n);
	UNIT_CHECK(csvstream_feed(s, "e\n", 2) == -1 && l.n == 2,
	    "stop: feed after stop");
	UNIT_CHECK(csvstream_finish(s) == -1 && l.n == 2,
	    "stop: finish after stop");
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);

	/* Stopping at the last record, delivered by finish. */
	memset(&l, 0, sizeof(l));
	l.max_record = 100;
	l.stop_at = 2;
	s = csvstream_new(100, log_row, &l);
	UNIT_CHECK(csvstream_feed(s, "a\nb", 3) == 0, "stop at finish: feed");
	UNIT_CHECK(csvstream_finish(s) == -1, "stop at finish: finish");
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);

	csvstream_free(NULL);
	UNIT_CHECK(csvstream_new(0, log_row, NULL) == NULL, "max_record 0");
	UNIT_CHECK(csvstream_new(10, NULL, NULL) == NULL, "no callback");
	/* Refused before any allocation (ASan aborts on a huge malloc). */
	UNIT_CHECK(csvstream_new(SIZE_MAX / 4 + 1, log_row, NULL) == NULL,
	    "max_record over SIZE_MAX / 4");
}

static void
test_counts(void)
{
	static const char in[] = "h1,h2\n\nx,\"y\nz\"\nlongggggggggggggggg\nw";
	struct csvstream *s;
	struct log l;

	memset(&l, 0, sizeof(l));
	l.max_record = 16;
	s = csvstream_new(16, log_row, &l);
	csvstream_feed(s, in, sizeof(in) - 1);
	UNIT_CHECK(csvstream_records(s) == 4, "records before finish: %llu",
	    (unsigned long long)csvstream_records(s));
	UNIT_CHECK(csvstream_lines(s) == 6, "lines: %llu",
	    (unsigned long long)csvstream_lines(s));
	UNIT_CHECK(csvstream_finish(s) == 0 && csvstream_records(s) == 5,
	    "records after finish");
	UNIT_CHECK(csvstream_finish(s) == 0 && csvstream_records(s) == 5,
	    "finish twice");
	UNIT_CHECK(csvstream_feed(s, "x\n", 2) == -1, "feed after finish");
	UNIT_CHECK(strcmp(l.buf, "1:h1|h2\n3:UNTERMINATED\n4:BAD_QUOTE\n"
	    "5:TOO_LONG\n6:w\n") == 0, "counts log:\n%s", l.buf);
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);
}

/* A jump only right after a line feed, with nothing pending. */
static void
test_jump(void)
{
	struct csvstream *s;
	struct log l;

	memset(&l, 0, sizeof(l));
	l.max_record = 16;
	s = csvstream_new(16, log_row, &l);
	UNIT_CHECK(csvstream_jump(s, 5) == -1, "jump before any byte");
	csvstream_feed(s, "h\n", 2);
	UNIT_CHECK(csvstream_jump(s, 0) == -1, "jump to line 0");
	csvstream_feed(s, "a", 1);
	UNIT_CHECK(csvstream_jump(s, 5) == -1, "jump inside a record");
	csvstream_feed(s, "\n\r", 2);
	UNIT_CHECK(csvstream_jump(s, 5) == -1, "jump after a pending CR");
	csvstream_feed(s, "\n", 1);
	UNIT_CHECK(csvstream_jump(s, 5) == 0, "jump after CRLF");
	csvstream_feed(s, "0123456789abcdefg", 17);
	UNIT_CHECK(csvstream_jump(s, 9) == -1, "jump inside a long line");
	csvstream_feed(s, "\nb\n", 3);
	UNIT_CHECK(csvstream_jump(s, 9) == 0 && csvstream_lines(s) == 9,
	    "jump after a line");
	csvstream_feed(s, "c\n", 2);
	csvstream_finish(s);
	UNIT_CHECK(csvstream_jump(s, 20) == -1, "jump after finish");
	UNIT_CHECK(strcmp(l.buf, "1:h\n2:a\n5:TOO_LONG\n6:b\n9:c\n") == 0,
	    "jump log:\n%s", l.buf);
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);
}

/* A line of n bytes of c, then "\n" (or not). */
static char *
make_line(size_t n, char c, const char *pre, const char *post, size_t *len)
{
	size_t	 a = strlen(pre), b = strlen(post);
	char	*p;

	if ((p = malloc(a + n + b + 1)) == NULL)
		abort();
	memcpy(p, pre, a);
	memset(p + a, c, n);
	memcpy(p + a + n, post, b);
	*len = a + n + b;
	return p;
}

/*
 * Hostile sizes with the runner's 64 KiB cap: a 1 MB line, a 1 MB quoted
 * field, an unterminated quote followed by 32 MB of lines, and 64 MB
 * without a line break.  Memory stays flat; reading resumes after each.
 */
static void
test_huge(void)
{
	const size_t	 max = 65536;
	struct csvstream *s;
	struct log	 l;
	char		*in, *got, chunk[65536];
	size_t		 len, i, mem = 0;
	char		 want[256];

	in = make_line(1 << 20, 'x', "a,b\n", "\nc,d\n", &len);
	got = run(in, len, max, NULL, 0, 0, NULL, NULL);
	UNIT_CHECK(strcmp(got, "1:a|b\n2:TOO_LONG\n3:c|d\n") == 0,
	    "1 MB line: %s", got);
	free(got);
	check_chunking("1 MB line", in, len, max);
	free(in);

	in = make_line(1 << 20, 'y', "h\n\"", "\",z\nok\n", &len);
	got = run(in, len, max, NULL, 0, 0, NULL, NULL);
	UNIT_CHECK(strcmp(got, "1:h\n2:TOO_LONG\n3:ok\n") == 0,
	    "1 MB quoted field: %s", got);
	free(got);
	free(in);

	/* 1 MB line: raw is its first 1024 bytes. */
	in = make_line(1 << 20, 'q', "", "\n", &len);
	memset(&l, 0, sizeof(l));
	l.max_record = max;
	l.raw = 1;
	s = csvstream_new(max, log_row, &l);
	csvstream_feed(s, in, len);
	csvstream_finish(s);
	UNIT_CHECK(l.len == strlen("1:TOO_LONG raw=\n") + 1024,
	    "1 MB raw length %zu", l.len);
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);
	free(in);

	/* An unterminated quote, then 32 MB of ordinary lines. */
	memset(&l, 0, sizeof(l));
	l.max_record = max;
	s = csvstream_new(max, log_row, &l);
	csvstream_feed(s, "h\n\"open,", 8);
	for (i = 0; i < sizeof(chunk); i += 16)
		memcpy(chunk + i, "line,of,data,xx\n", 16);
	for (i = 0; i < 512; i++) {
		csvstream_feed(s, chunk, sizeof(chunk));
		if (i == 8)
			mem = csvstream_memory(s);
	}
	csvstream_finish(s);
	UNIT_CHECK(csvstream_memory(s) == mem && mem < 3 * max + 8192,
	    "unterminated quote: memory %zu then %zu", mem,
	    csvstream_memory(s));
	/*
	 * Line 2, "\"open,line,of,data,xx", is rejected on its own; every
	 * line after it is a record.
	 */
	snprintf(want, sizeof(want), "1:h\n2:UNTERMINATED\n"
	    "3:line|of|data|xx\n4:line|of|data|xx\n");
	UNIT_CHECK(l.len > strlen(want) && strncmp(l.buf, want,
	    strlen(want)) == 0, "unterminated quote: %.80s", l.buf);
	UNIT_CHECK(csvstream_records(s) == 2 + 512 * 4096 - 1,
	    "unterminated quote: %llu records",
	    (unsigned long long)csvstream_records(s));
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);

	/* 64 MB with no line break at all, then a good line. */
	memset(&l, 0, sizeof(l));
	l.max_record = max;
	s = csvstream_new(max, log_row, &l);
	memset(chunk, '"', sizeof(chunk));
	for (i = 0; i < 1024; i++)
		csvstream_feed(s, chunk, sizeof(chunk));
	mem = csvstream_memory(s);
	csvstream_feed(s, "\nlast,line", 10);
	csvstream_finish(s);
	UNIT_CHECK(strcmp(l.buf, "1:TOO_LONG\n2:last|line\n") == 0,
	    "64 MB line: %s", l.buf);
	UNIT_CHECK(mem < 3 * max + 8192, "64 MB line: memory %zu", mem);
	csvstream_free(s);
	log_verdict(&l);
	free(l.buf);

	/* 64 KiB of commas: many fields, still bounded. */
	in = make_line(max - 1, ',', "", "\nok\n", &len);
	got = run(in, len, max, NULL, 0, 0, NULL, NULL);
	UNIT_CHECK(strncmp(got, "1:||||", 6) == 0 && strstr(got, "\n2:ok\n")
	    != NULL, "64 KiB of commas");
	free(got);
	free(in);
}

/*
 * Random CSV-ish bytes: whatever the input, chunking does not matter,
 * and nothing delivered is longer than the cap.
 */
static void
test_random(void)
{
	static const char alphabet[] = "ab,,\"\"\n\n\r \t\0\xef\xbb\xbf";
	char	 in[200];
	size_t	 len, i;
	int	 t;

	for (t = 0; t < 300; t++) {
		len = (size_t)rand() % sizeof(in);
		for (i = 0; i < len; i++)
			in[i] = alphabet[rand() % (sizeof(alphabet) - 1)];
		check_chunking("random", in, len, 1 + (size_t)rand() % 40);
	}
}

int
main(void)
{
	srand(2024);
	test_cases(cases, sizeof(cases) / sizeof(cases[0]), 0);
	test_cases(raw_cases, sizeof(raw_cases) / sizeof(raw_cases[0]), 1);
	test_stop();
	test_counts();
	test_jump();
	test_huge();
	test_random();
	UNIT_CHECK(broken_logs == 0, "%u readers broke an invariant, the "
	    "first: %s", broken_logs, first_broken);
	return unit_done("test_csvstream");
}
