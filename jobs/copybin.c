/*
 * copybin.c: the buffer and the frame of binary COPY data.
 */
#include <stdlib.h>

#include "copybin.h"

/* "PGCOPY\n\377\r\n\0" (PostgreSQL docs, COPY, "File Header"). */
static const char copybin_sig[11] = "PGCOPY\n\377\r\n";

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

int
copybin_row_begin(struct copybin_row *r, const char *buf, size_t len)
{
	uint32_t	ext;
	uint16_t	n;

	r->p = (const unsigned char *)buf;
	r->left = len;
	r->bad = 0;
	if (len >= sizeof(copybin_sig) + 8 &&
	    memcmp(buf, copybin_sig, sizeof(copybin_sig)) == 0) {
		memcpy(&ext, r->p + sizeof(copybin_sig) + 4, 4);
		ext = be32toh(ext);
		if (ext > len - sizeof(copybin_sig) - 8)
			return -1;
		r->p += sizeof(copybin_sig) + 8 + ext;
		r->left -= sizeof(copybin_sig) + 8 + ext;
	}
	if (r->left < 2)
		return -1;
	memcpy(&n, r->p, 2);
	r->p += 2;
	r->left -= 2;
	n = be16toh(n);
	return n == 0xffff ? 0 : n == 0 ? -1 : (int)n;
}

int64_t
copybin_get_int(struct copybin_row *r, size_t width)
{
	uint32_t	len;
	uint16_t	v16;
	uint32_t	v32;
	uint64_t	v64;
	int64_t		v;

	if (r->bad || r->left < 4)
		goto bad;
	memcpy(&len, r->p, 4);
	len = be32toh(len);
	if (len != width || r->left - 4 < width)
		goto bad;
	switch (width) {
	case 2:
		memcpy(&v16, r->p + 4, 2);
		v = (int16_t)be16toh(v16);
		break;
	case 4:
		memcpy(&v32, r->p + 4, 4);
		v = (int32_t)be32toh(v32);
		break;
	case 8:
		memcpy(&v64, r->p + 4, 8);
		v = (int64_t)be64toh(v64);
		break;
	default:
		goto bad;
	}
	r->p += 4 + width;
	r->left -= 4 + width;
	return v;
bad:
	r->bad = 1;
	return 0;
}

double
copybin_get_f64(struct copybin_row *r)
{
	int64_t	bits = copybin_get_int(r, 8);
	double	d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}
