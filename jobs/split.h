/*
 * split.h: where a large trips file is cut into byte ranges ("parts")
 * that several runners load at once (docs/architecture.md, "Split
 * jobs").  A pure scanner: feed it the file's bytes in chunks of any
 * size; it does no I/O and keeps no globals, so it can be fuzzed.
 *
 * Every part but the first starts just after a line feed, at the line
 * start nearest after an even share of the file, so every line belongs
 * to exactly one part; each part knows the number of its first line
 * (csvstream counts lines by LF alone, and so does this) and where the
 * header line ends, which every part reads first.
 *
 * Quotes do not matter: csvstream ends every record at its line feed,
 * even inside an open quote (lib/csvstream.h), so a part read from any
 * line start delivers what a read of the whole file delivers there.  A
 * file whose header line is longer than max_header or has no line feed
 * is not split.
 */
#ifndef TRIPLINE_SPLIT_H
#define TRIPLINE_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#define SPLIT_PARTS_MAX	64

struct split_part {
	uint64_t	 first_byte;
	uint64_t	 end_byte;	/* exclusive */
	uint64_t	 first_line;	/* 1-based */
};

/*
 * Whole here so that a caller keeps it on its stack; a caller reads
 * nparts, part[] and header_end, the rest is split.c's own state.
 */
struct split {
	uint64_t	 size;		/* the file's bytes */
	uint64_t	 max_header;
	size_t		 want;		/* parts aimed at */
	uint64_t	 offset;	/* bytes fed so far */
	uint64_t	 lines;		/* line feeds fed so far */
	uint64_t	 header_end;	/* 0 until the header line ended */
	int		 header_text;	/* the first line is not blank */
	size_t		 nparts;
	struct split_part part[SPLIT_PARTS_MAX];
};

/*
 * Aim at ceil(size / part_bytes) parts, at most SPLIT_PARTS_MAX; a
 * part_bytes of 0 means one part.
 */
void	split_init(struct split *, uint64_t size, uint64_t part_bytes,
	    uint64_t max_header);
void	split_feed(struct split *, const char *buf, size_t len);
/*
 * After the whole file: the number of parts (s->part[0 .. n-1]), 1 when
 * the file is not to be split, and s->header_end.
 */
size_t	split_finish(struct split *);

#endif
