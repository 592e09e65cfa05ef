/*
 * test_split.c: jobs/split.c.  The property that matters: reading a file
 * part by part (the header line, then csvstream_jump to the part's first
 * line) delivers exactly the records a read of the whole file delivers,
 * with the same line numbers and raw text; and the scan is the same
 * however the file is cut into chunks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvstream.h"
#include "split.h"
#include "unit.h"

#define MAX_HEADER	65536

/* Records as text, one per line: line number, fields, raw. */
struct rec_log {
	char	*buf;
	size_t	 len, cap;
	int	 header_seen;
	int	 skip_header;	/* a part after the first: not logged */
};

static void
rec_put(struct rec_log *l, const char *p, size_t n)
{
	while (l->len + n + 1 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		if ((l->buf = realloc(l->buf, l->cap)) == NULL)
			abort();
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static int
rec_cb(void *arg, const struct csvstream_row *row)
{
	struct rec_log	*l = arg;
	char		 num[64];
	size_t		 i;

	if (!l->header_seen) {
		l->header_seen = 1;
		if (l->skip_header)
			return 0;
	}
	snprintf(num, sizeof(num), "%llu|%d%d%d|",
	    (unsigned long long)row->line, row->too_long, row->bad_quote,
	    row->unterminated);
	rec_put(l, num, strlen(num));
	for (i = 0; i < row->nfields; i++) {
		rec_put(l, row->field[i], row->len[i]);
		rec_put(l, "|", 1);
	}
	rec_put(l, row->raw, row->rawlen);
	rec_put(l, "\n", 1);
	return 0;
}

static void
read_range(struct rec_log *l, const char *f, size_t from, size_t to,
    uint64_t header_end, uint64_t first_line)
{
	struct csvstream *s = csvstream_new(64, rec_cb, l);

	if (s == NULL)
		abort();
	l->header_seen = 0;
	l->skip_header = from > 0;
	if (from > 0) {
		csvstream_feed(s, f, header_end);
		UNIT_CHECK(csvstream_jump(s, first_line) == 0,
		    "jump to line %llu refused", (unsigned long long)first_line);
	}
	csvstream_feed(s, f + from, to - from);
	csvstream_finish(s);
	csvstream_free(s);
}

/* Split f with part_bytes, fed in chunks of chunk bytes (0: whole). */
static size_t
do_split(struct split *s, const char *f, size_t n, uint64_t part_bytes,
    size_t chunk)
{
	size_t off, k;

	split_init(s, n, part_bytes, MAX_HEADER);
	if (chunk == 0)
		chunk = n ? n : 1;
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		split_feed(s, f + off, k);
	}
	return split_finish(s);
}

static void
check_file(const char *label, const char *f, size_t n, uint64_t part_bytes,
    size_t want_parts)
{
	struct split	 s, t;
	struct rec_log	 whole = { 0 }, parts = { 0 };
	size_t		 k, np, lines;
	size_t		 chunks[] = { 1, 3, 7, 64, 4096 };

	np = do_split(&s, f, n, part_bytes, 0);
	if (want_parts != 0)
		UNIT_CHECK(np == want_parts, "%s: %zu parts, want %zu", label,
		    np, want_parts);
	for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		do_split(&t, f, n, part_bytes, chunks[k]);
		UNIT_CHECK(t.nparts == s.nparts && memcmp(t.part, s.part,
		    s.nparts * sizeof(s.part[0])) == 0 &&
		    t.header_end == s.header_end,
		    "%s: chunks of %zu split differently", label, chunks[k]);
	}
	/* The parts tile the file, each starts after a LF, lines counted. */
	UNIT_CHECK(s.part[0].first_byte == 0 && s.part[np - 1].end_byte == n,
	    "%s: parts do not cover the file", label);
	for (k = 0; k < np; k++) {
		UNIT_CHECK(n == 0 || s.part[k].first_byte < s.part[k].end_byte,
		    "%s: part %zu empty", label, k);
		if (k + 1 < np)
			UNIT_CHECK(s.part[k].end_byte == s.part[k + 1].first_byte,
			    "%s: gap after part %zu", label, k);
		if (k == 0)
			continue;
		UNIT_CHECK(f[s.part[k].first_byte - 1] == '\n' &&
		    s.part[k].first_byte >= s.header_end,
		    "%s: part %zu starts mid-line", label, k);
		lines = 1;
		for (size_t i = 0; i < s.part[k].first_byte; i++)
			lines += f[i] == '\n';
		UNIT_CHECK(s.part[k].first_line == lines,
		    "%s: part %zu first line %llu, want %zu", label, k,
		    (unsigned long long)s.part[k].first_line, lines);
	}
	read_range(&whole, f, 0, n, 0, 1);
	for (k = 0; k < np; k++)
		read_range(&parts, f, s.part[k].first_byte, s.part[k].end_byte,
		    s.header_end, s.part[k].first_line);
	UNIT_CHECK(whole.len == parts.len && (whole.len == 0 ||
	    memcmp(whole.buf, parts.buf, whole.len) == 0),
	    "%s: parts read differently:\n--- whole\n%s--- parts\n%s", label,
	    whole.buf ? whole.buf : "", parts.buf ? parts.buf : "");
	free(whole.buf);
	free(parts.buf);
}

/*
 * A file of header + rows lines, some blank, CRLF, overlong, quoted or
 * with a quote left open (the line alone is bad, lib/csvstream.h).
 */
static char *
make_file(size_t rows, int crlf, size_t *n)
{
	struct rec_log	 b = { 0 };
	char		 line[256];
	size_t		 i;

	rec_put(&b, crlf ? "\xEF\xBB\xBFregion,a,b\r\n" : "region,a,b\n",
	    crlf ? 15 : 11);
	for (i = 0; i < rows; i++) {
		if (i % 17 == 5)
			snprintf(line, sizeof(line), "%s", crlf ? "  \r\n" : "\n");
		else if (i % 23 == 7)
			snprintf(line, sizeof(line), "long,%0100zu,x%s", i,
			    crlf ? "\r\n" : "\n");
		else if (i % 19 == 3)
			snprintf(line, sizeof(line), "\"r%zu\",\"a,\"\"b\",x%s",
			    i, crlf ? "\r\n" : "\n");
		else if (i % 13 == 9)
			snprintf(line, sizeof(line), "r%zu,\"open,x%s", i,
			    crlf ? "\r\n" : "\n");
		else
			snprintf(line, sizeof(line), "r%zu, %zu ,x%s", i, i * 7,
			    crlf ? "\r\n" : "\n");
		rec_put(&b, line, strlen(line));
	}
	/* The last line without its line feed. */
	rec_put(&b, "last,1,2", 8);
	*n = b.len;
	return b.buf;
}

int
main(void)
{
	struct split	 s;
	char		*f;
	size_t		 n;

	f = make_file(500, 0, &n);
	check_file("lf, 4 parts", f, n, n / 4 + 1, 4);
	check_file("lf, 1 part", f, n, 0, 1);
	check_file("lf, many parts", f, n, 97, SPLIT_PARTS_MAX);
	check_file("lf, tiny parts", f, n, 1, SPLIT_PARTS_MAX);
	free(f);
	f = make_file(300, 1, &n);
	check_file("crlf and bom, 3 parts", f, n, n / 3 + 1, 3);
	free(f);

#define CHECK_LIT(label, lit, part_bytes, want) \
	check_file(label, lit, sizeof(lit) - 1, part_bytes, want)
	/* Quotes, even left open, do not stop a split. */
	CHECK_LIT("quotes", "h,a\n1,\"x\ny\"\n\"2\",3\n4,\"5\n", 4, 4);
	/* Not split: a blank first line, no line feed, long header. */
	CHECK_LIT("blank first line", "\nh,a\n1,2\n3,4\n5,6\n", 4, 1);
	CHECK_LIT("bom then blank", "\xEF\xBB\xBF \r\nh,a\n1,2\n3,4\n", 4, 1);
	CHECK_LIT("no line feed", "h,a,b,c,d,e,f", 2, 1);
	CHECK_LIT("empty", "", 2, 1);
	CHECK_LIT("header only", "head,er\n", 2, 1);
	CHECK_LIT("bom header", "\xEF\xBB\xBFh,a\n1,2\n3,4\n5,6\n", 4, 0);
	CHECK_LIT("tab first line", "\t\nh,a\n1,2\n3,4\n5,6\n", 4, 1);
	/* A header line of 3 bytes is too short to be one; 4 will do. */
	CHECK_LIT("3-byte header", "ab\n1,2\n3,4\n5,6\n", 4, 1);
	CHECK_LIT("4-byte header", "h,a\n1,2\n3,4\n5,6\n", 4, 3);
	/* A line start exactly at an even share starts the part there. */
	split_init(&s, 14, 7, MAX_HEADER);
	split_feed(&s, "h,a\nab\ncd\nefg\n", 14);
	UNIT_CHECK(split_finish(&s) == 2 && s.part[1].first_byte == 7 &&
	    s.part[1].first_line == 3, "part at its share: %llu",
	    (unsigned long long)s.part[1].first_byte);
	/* A header line of exactly max_header bytes still splits. */
	split_init(&s, 10, 2, 6);
	split_feed(&s, "hdr12\na\nb\n", 10);
	UNIT_CHECK(split_finish(&s) == 2, "a header of max_header not split");
	split_init(&s, 10, 2, 4);
	split_feed(&s, "hdr12\na\nb\n", 10);
	UNIT_CHECK(split_finish(&s) == 1, "a header over max_header split");
	/* The file's size is what was fed, or no split. */
	split_init(&s, 100, 10, MAX_HEADER);
	split_feed(&s, "h,a\n1,2\n3,4\n5,6\n", 16);
	UNIT_CHECK(split_finish(&s) == 1, "a short read split");
	return unit_done("split");
}
