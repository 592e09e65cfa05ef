/*
 * copybin.h: a buffer of tuples in the binary format of COPY (PostgreSQL
 * docs, "COPY", section "Binary Format"): an 11-byte signature, a 32-bit
 * flags field and a 32-bit header extension length; then per tuple a
 * 16-bit field count and per field a 32-bit length and the value in
 * network byte order; a 16-bit -1 ends the data.
 */
#ifndef TRIPLINE_COPYBIN_H
#define TRIPLINE_COPYBIN_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct copybin {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

/* Allocate cap bytes; returns 0 or -1. */
int	copybin_init(struct copybin *, size_t cap);
void	copybin_release(struct copybin *);
/* The signature, flags and extension length that open the data. */
void	copybin_header(struct copybin *);
/* The 16-bit -1 that ends the data. */
void	copybin_trailer(struct copybin *);

/*
 * The put functions below write without checking room: the caller keeps
 * at least one tuple's worth free (copybin_room) before a tuple.
 */
static inline size_t
copybin_room(const struct copybin *b)
{
	return b->cap - b->len;
}

static inline void
copybin_raw(struct copybin *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* A tuple's field count. */
static inline void
copybin_tuple(struct copybin *b, uint16_t nfields)
{
	uint16_t v = htobe16(nfields);

	copybin_raw(b, &v, 2);
}

static inline void
copybin_i16(struct copybin *b, int16_t x)
{
	struct { uint32_t len; uint16_t v; } __attribute__((packed)) f =
	    { htobe32(2), htobe16((uint16_t)x) };

	copybin_raw(b, &f, sizeof(f));
}

static inline void
copybin_i32(struct copybin *b, int32_t x)
{
	struct { uint32_t len; uint32_t v; } __attribute__((packed)) f =
	    { htobe32(4), htobe32((uint32_t)x) };

	copybin_raw(b, &f, sizeof(f));
}

/* int8, and timestamp (int64 microseconds since 2000-01-01). */
static inline void
copybin_i64(struct copybin *b, int64_t x)
{
	struct { uint32_t len; uint64_t v; } __attribute__((packed)) f =
	    { htobe32(8), htobe64((uint64_t)x) };

	copybin_raw(b, &f, sizeof(f));
}

/* float8: the IEEE 754 bits, most significant byte first. */
static inline void
copybin_f64(struct copybin *b, double x)
{
	uint64_t bits;

	memcpy(&bits, &x, sizeof(bits));
	copybin_i64(b, (int64_t)bits);
}

/* text: the bytes must be valid in the server encoding, without NUL. */
static inline void
copybin_text(struct copybin *b, const char *s, size_t n)
{
	uint32_t len = htobe32((uint32_t)n);

	copybin_raw(b, &len, 4);
	copybin_raw(b, s, n);
}

/*
 * Reading binary COPY data, one row at a time as PQgetCopyData returns
 * it (the first row comes after the file header, the last chunk is the
 * trailer).  Pure over (buf, len).
 */
struct copybin_row {
	const unsigned char	*p;
	size_t			 left;
	int			 bad;	/* a field was missing or malformed */
};

/*
 * Start reading a row: skips the file header when the row has one.
 * Returns the row's field count, 0 for the trailer, -1 when malformed.
 */
int	copybin_row_begin(struct copybin_row *, const char *buf, size_t len);
/* The next field as an integer of its width (2, 4 or 8 bytes): NULL or
 * another width sets r->bad and gives 0. */
int64_t	copybin_get_int(struct copybin_row *, size_t width);
double	copybin_get_f64(struct copybin_row *);

#endif
