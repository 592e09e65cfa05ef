/*
 * csvstream.h: a streaming CSV record reader over libcsv, for files of any
 * size in flat memory.  Feed it the file in chunks of any size; it calls
 * back once per record with the record's fields, its line number and its
 * raw text.  Chunk boundaries never change what is delivered.
 *
 * RFC 4180, but a record is one physical line: fields quoted with '"',
 * a doubled quote inside quotes is one quote, quoted fields may hold
 * commas but not line breaks.  Lines end in LF or CRLF.  Unquoted fields
 * lose their leading and trailing spaces and tabs (libcsv's rule).
 * Blank lines are skipped; a UTF-8 byte order mark at the very start is
 * dropped; NUL bytes and a bare CR inside a line are data.
 *
 * Why not RFC 4180's line breaks inside quotes: no field of a trips file
 * can hold one (lib/trip.h), so a quote open at the end of a line is a
 * stray one, and reading on would take every good line after it into
 * one bad record.  So every LF ends a record, whatever came before it:
 * a reader may start at any line start (a part of a split job).
 *
 * Bad records cost one delivery each, the line they are on; reading
 * starts afresh at the next physical line:
 *   - too_long: over max_record bytes.  Memory is bounded by max_record.
 *   - bad_quote: a quote where RFC 4180 section 2 allows none (inside an
 *     unquoted field, or text after a closing quote: a"b, "a"b).
 *   - unterminated (with bad_quote set too): a quoted field still open
 *     at the end of its line, or of the input; RFC 4180 section 2 ends an
 *     escaped field with a quote, and a line cut inside one must not load
 *     the cut value.
 * All come without fields, with line and raw set.
 */
#ifndef TRIPLINE_CSVSTREAM_H
#define TRIPLINE_CSVSTREAM_H

#include <stddef.h>
#include <stdint.h>

/* The most raw bytes of a record delivered (job_rejects.raw holds 1 KiB). */
#define CSVSTREAM_RAW_MAX	1024

struct csvstream_row {
	uint64_t	 line;		/* its 1-based physical line */
	size_t		 nfields;
	const char *const *field;	/* field[i] of len[i] bytes, not */
	const size_t	*len;		/* NUL-terminated; valid in the callback */
	const char	*raw;		/* the raw bytes of the line, without */
	size_t		 rawlen;	/* its terminator, cut to */
					/* CSVSTREAM_RAW_MAX */
	int		 too_long;	/* over max_record bytes: nfields == 0 */
	int		 bad_quote;	/* misplaced quote: nfields == 0 */
	int		 unterminated;	/* bad_quote: open at the line end */
};

/* Return 0 to go on; non-zero stops: feed/finish return -1, "stopped". */
typedef int	(*csvstream_row_fn)(void *arg, const struct csvstream_row *row);

struct csvstream;

/*
 * A new reader calling fn(arg, row) for each record; max_record (> 0)
 * caps a record's bytes, its line terminator aside.  NULL when out of
 * memory.
 */
struct csvstream *csvstream_new(size_t max_record, csvstream_row_fn fn,
		    void *arg);

/* Read the next len bytes.  0, or -1 (see csvstream_error). */
int		 csvstream_feed(struct csvstream *, const char *buf, size_t len);

/*
 * End of input: deliver the last record (a final line without a line
 * terminator counts; one with a quote still open is delivered as
 * unterminated).  0 or -1.
 */
int		 csvstream_finish(struct csvstream *);

/* Why feed or finish failed: "stopped", "out of memory", ... */
const char	*csvstream_error(const struct csvstream *);

/* Records delivered so far, the header and too_long ones included. */
uint64_t	 csvstream_records(const struct csvstream *);

/* Lines read so far (the number of the line being read). */
uint64_t	 csvstream_lines(const struct csvstream *);

/*
 * The next byte fed is the start of physical line `line` of the same
 * file: a reader that read the header line and jumps to a later line
 * start (a part of a split job, jobs/split.h).  Only right after a line
 * feed, where no record is ever open; 0, or -1 elsewhere.
 */
int		 csvstream_jump(struct csvstream *, uint64_t line);

/*
 * Bytes of memory the reader holds now.  Its buffers grow to fit the
 * largest record read and no further: about 2 * max_record, plus 16 bytes
 * a field for the record with the most fields (at worst, a record of
 * nothing but commas, 34 * max_record in all).
 */
size_t		 csvstream_memory(const struct csvstream *);

/* Accepts NULL. */
void		 csvstream_free(struct csvstream *);

#endif
