/*
 * copybin.c: the buffer and the frame of binary COPY data.
 */
#include <stdlib.h>

#include "copybin.h"

int
copybin_init(struct copybin *b, size_t cap)
{
	b->len = 0;
	b->cap = cap;
	b->buf = malloc(cap);
	return b->buf == NULL ? -1 : 0;
}

void
copybin_release(struct copybin *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

void
copybin_header(struct copybin *b)
{
	/* "PGCOPY\n\377\r\n\0", then flags 0 and extension length 0. */
	static const char hdr[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";

	copybin_raw(b, hdr, sizeof(hdr));
}

void
copybin_trailer(struct copybin *b)
{
	copybin_tuple(b, 0xffff);
}
