/*
 * fuzz_copybin.c: jobs/copybin.c, the reader of binary COPY rows
 * (PostgreSQL docs, COPY, "Binary Format") that the runner uses on the
 * rows it copies back out of its staging tables (jobs/aggregate.c).
 *
 * Input: byte 0 says whether the row opens with the file header (bit 0)
 * and which widths the raw reading asks for; the rest is read twice:
 * - raw, as a row: copybin_row_begin then copybin_get_int / _f64 until a
 *   field is refused.  Properties: nothing is read outside the row (an
 *   exact-size copy, for ASan); a field is taken whole or not at all
 *   (what is left shrinks by exactly 4 + its width); once refused, every
 *   later field is 0 and the row stays refused.
 * - as values: each byte picks a field type (int2, int4, int8, float8)
 *   and the bytes after it its value; the row written with copybin.h's
 *   writers reads back, field by field, as the same values (float8 as
 *   the same bits), leaving nothing; the trailer reads as 0.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copybin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS	64

static const size_t widths[4] = { 2, 4, 8, 8 };	/* int2/4/8, float8 */

/* len bytes of the input as an unsigned number, zero-padded. */
static uint64_t
take(const uint8_t **p, const uint8_t *end, size_t len)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		v = v << 8 | (*p < end ? *(*p)++ : 0);
	return v;
}

static void
raw(const uint8_t *data, size_t size, unsigned sel)
{
	struct copybin_row	 r;
	char			*copy;
	size_t			 before, w;
	int			 n, i, was_bad;

	if ((copy = malloc(size ? size : 1)) == NULL)
		return;
	memcpy(copy, data, size);
	n = copybin_row_begin(&r, copy, size);
	if (n < -1 || n > 0xfffe)
		abort();
	if (n > 0) {
		if (r.left > size || r.p < (const unsigned char *)copy ||
		    r.p + r.left != (const unsigned char *)copy + size)
			abort();
		for (i = 0; i < n && i < 2 * MAX_FIELDS; i++) {
			w = widths[(sel >> (i % 4 * 2)) & 3];
			before = r.left;
			was_bad = r.bad;
			if (((sel >> (i % 4 * 2)) & 3) == 3) {
				double d = copybin_get_f64(&r);
				uint64_t z = 0;

				if (r.bad && memcmp(&d, &z, sizeof(d)) != 0)
					abort();	/* refused: 0 */
			} else if (copybin_get_int(&r, w) != 0 && r.bad)
				abort();		/* refused: 0 */
			if (was_bad && !r.bad)
				abort();		/* not sticky */
			if (r.bad ? r.left != before : r.left != before - 4 - w)
				abort();		/* part of a field */
			if (r.p + r.left != (const unsigned char *)copy + size)
				abort();
		}
	}
	free(copy);
}

static void
roundtrip(const uint8_t *p, const uint8_t *end, int header)
{
	struct copybin		 b;
	struct copybin_row	 r;
	uint64_t		 v[MAX_FIELDS];
	int			 type[MAX_FIELDS], n = 0, i;
	char			*copy;
	double			 d;

	while (p < end && n < MAX_FIELDS) {
		type[n] = *p++ & 3;
		v[n] = take(&p, end, widths[type[n]]);
		n++;
	}
	if (n == 0)
		return;
	if (copybin_init(&b, 19 + 2 + (size_t)n * 12 + 2) != 0)
		return;
	if (header)
		copybin_header(&b);
	copybin_tuple(&b, (uint16_t)n);
	for (i = 0; i < n; i++) {
		switch (type[i]) {
		case 0:
			copybin_i16(&b, (int16_t)v[i]);
			break;
		case 1:
			copybin_i32(&b, (int32_t)v[i]);
			break;
		case 2:
			copybin_i64(&b, (int64_t)v[i]);
			break;
		default:
			memcpy(&d, &v[i], sizeof(d));
			copybin_f64(&b, d);
		}
	}
	if ((copy = malloc(b.len)) == NULL)
		abort();
	memcpy(copy, b.buf, b.len);
	if (copybin_row_begin(&r, copy, b.len) != n)
		abort();
	for (i = 0; i < n; i++) {
		switch (type[i]) {
		case 0:
			if (copybin_get_int(&r, 2) != (int16_t)v[i])
				abort();
			break;
		case 1:
			if (copybin_get_int(&r, 4) != (int32_t)v[i])
				abort();
			break;
		case 2:
			if (copybin_get_int(&r, 8) != (int64_t)v[i])
				abort();
			break;
		default:
			d = copybin_get_f64(&r);
			if (memcmp(&d, &v[i], sizeof(d)) != 0)
				abort();
		}
	}
	if (r.bad || r.left != 0)
		abort();
	free(copy);
	b.len = 0;
	copybin_trailer(&b);
	if ((copy = malloc(b.len)) == NULL)
		abort();
	memcpy(copy, b.buf, b.len);
	if (copybin_row_begin(&r, copy, b.len) != 0)
		abort();
	free(copy);
	copybin_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	raw(data + 1, size - 1, data[0]);
	roundtrip(data + 1, data + size, data[0] & 1);
	return 0;
}
