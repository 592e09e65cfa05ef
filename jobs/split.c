/*
 * split.c: the byte ranges of a split job (split.h).
 */
#include <string.h>

#include "split.h"

void
split_init(struct split *s, uint64_t size, uint64_t part_bytes,
    uint64_t max_header)
{
	uint64_t want;

	memset(s, 0, sizeof(*s));
	s->size = size;
	s->max_header = max_header;
	want = part_bytes == 0 ? 1 : (size + part_bytes - 1) / part_bytes;
	s->want = want < 1 ? 1 : want > SPLIT_PARTS_MAX ? SPLIT_PARTS_MAX :
	    (size_t)want;
	s->nparts = 1;
	s->part[0].first_line = 1;
}

/* Where part k is aimed to start: an even share of the file. */
static uint64_t
split_target(const struct split *s, size_t k)
{
	return (uint64_t)((unsigned __int128)s->size * k / s->want);
}

/* A line feed at offset off (0-based) was fed. */
static void
split_newline(struct split *s, uint64_t off)
{
	struct split_part *p;

	s->lines++;
	if (s->header_end == 0) {
		s->header_end = off + 1;
		return;
	}
	/* Start the next part after this line feed once its share is due. */
	if (s->nparts < s->want && off + 1 >= split_target(s, s->nparts) &&
	    off + 1 < s->size) {
		p = &s->part[s->nparts++];
		p->first_byte = off + 1;
		p->first_line = s->lines + 1;
	}
}

/*
 * The first line must be the header: csvstream skips a blank one and
 * would read the next as the header, which the parts after the first,
 * reading only the first line, could not.  A byte order mark counts as
 * blank only at the very start, as csvstream drops it only there.
 */
static void
split_first_line(struct split *s, const char *buf, size_t len)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	uint64_t	 o;
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < len && buf[i] != '\n'; i++) {
		c = (unsigned char)buf[i];
		o = s->offset + i;
		if ((o < sizeof(bom) && c == bom[o]) || c == ' ' ||
		    c == '\t' || c == '\r')
			continue;
		s->header_text = 1;
		return;
	}
}

void
split_feed(struct split *s, const char *buf, size_t len)
{
	const char	*p = buf, *end = buf + len, *nl;

	if (s->header_end == 0 && !s->header_text)
		split_first_line(s, buf, len);
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		split_newline(s, s->offset + (uint64_t)(nl - buf));
		p = nl + 1;
	}
	s->offset += len;
}

size_t
split_finish(struct split *s)
{
	size_t k;

	if (!s->header_text || s->header_end < 4 ||
	    s->header_end > s->max_header || s->offset != s->size ||
	    s->nparts < 2) {
		s->nparts = 1;
		s->part[0].end_byte = s->offset;
		return 1;
	}
	for (k = 0; k + 1 < s->nparts; k++)
		s->part[k].end_byte = s->part[k + 1].first_byte;
	s->part[k].end_byte = s->size;
	return s->nparts;
}
