/*
 * fuzz_split.c: jobs/split.c, the cut points of a split job.
 *
 * Input: one byte of part size, one byte of chunk size, then the file.
 * Properties:
 * - the scan gives the same parts fed whole or in chunks of any size;
 * - the parts tile the file; a part after the first starts just after a
 *   line feed, after the header line, with the right line number;
 * - a split file read part by part (the header line, csvstream_jump,
 *   the part) delivers the very records, line numbers and raw text a
 *   read of the whole file does, quotes or not (a quote left open ends
 *   with its line, lib/csvstream.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvstream.h"
#include "split.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec_log {
	char	*buf;
	size_t	 len, cap;
	int	 header_seen, skip_header;
};

static void
put(struct rec_log *l, const void *p, size_t n)
{
	while (l->len + n + 1 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		if ((l->buf = realloc(l->buf, l->cap)) == NULL)
			abort();
	}
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static int
cb(void *arg, const struct csvstream_row *row)
{
	struct rec_log	*l = arg;
	size_t		 i;

	if (!l->header_seen) {
		l->header_seen = 1;
		if (l->skip_header)
			return 0;
	}
	put(l, &row->line, sizeof(row->line));
	put(l, &row->too_long, sizeof(row->too_long));
	put(l, &row->bad_quote, sizeof(row->bad_quote));
	put(l, &row->unterminated, sizeof(row->unterminated));
	put(l, &row->nfields, sizeof(row->nfields));
	for (i = 0; i < row->nfields; i++) {
		put(l, &row->len[i], sizeof(row->len[i]));
		put(l, row->field[i], row->len[i]);
	}
	put(l, &row->rawlen, sizeof(row->rawlen));
	put(l, row->raw, row->rawlen);
	return 0;
}

static void
read_range(struct rec_log *l, const char *f, size_t from, size_t to,
    const struct split *s, size_t k)
{
	struct csvstream *c = csvstream_new(32, cb, l);

	if (c == NULL)
		abort();
	l->header_seen = 0;
	l->skip_header = from > 0;
	if (from > 0) {
		csvstream_feed(c, f, s->header_end);
		if (csvstream_jump(c, s->part[k].first_line) != 0)
			abort();
	}
	csvstream_feed(c, f + from, to - from);
	csvstream_finish(c);
	csvstream_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct split	 s, t;
	struct rec_log	 whole = { 0 }, parts = { 0 };
	const char	*f;
	size_t		 n, k, chunk, off, m, lines, i;
	uint64_t	 part_bytes;

	if (size < 2)
		return 0;
	part_bytes = data[0];
	chunk = (size_t)data[1] + 1;
	f = (const char *)data + 2;
	n = size - 2;

	split_init(&s, n, part_bytes, 64);
	split_feed(&s, f, n);
	split_finish(&s);
	split_init(&t, n, part_bytes, 64);
	for (off = 0; off < n; off += m) {
		m = n - off < chunk ? n - off : chunk;
		split_feed(&t, f + off, m);
	}
	split_finish(&t);
	if (s.nparts != t.nparts || s.header_end != t.header_end ||
	    memcmp(s.part, t.part, s.nparts * sizeof(s.part[0])) != 0)
		abort();
	if (s.part[0].first_byte != 0 || s.part[s.nparts - 1].end_byte != n)
		abort();
	for (k = 1; k < s.nparts; k++) {
		if (s.part[k - 1].end_byte != s.part[k].first_byte ||
		    s.part[k].first_byte >= s.part[k].end_byte ||
		    s.part[k].first_byte < s.header_end ||
		    f[s.part[k].first_byte - 1] != '\n')
			abort();
		for (lines = 1, i = 0; i < s.part[k].first_byte; i++)
			lines += f[i] == '\n';
		if (s.part[k].first_line != lines)
			abort();
	}
	if (s.nparts > 1) {
		read_range(&whole, f, 0, n, &s, 0);
		for (k = 0; k < s.nparts; k++)
			read_range(&parts, f, s.part[k].first_byte,
			    s.part[k].end_byte, &s, k);
		if (whole.len != parts.len ||
		    (whole.len > 0 && memcmp(whole.buf, parts.buf, whole.len)))
			abort();
	}
	free(whole.buf);
	free(parts.buf);
	return 0;
}
