/*
 * test_copybin.c: jobs/copybin.c, binary COPY data written and read back:
 * the file header, tuples of each integer width and float8, the trailer,
 * and rows the reader must refuse (PostgreSQL docs, COPY, "Binary
 * Format").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "copybin.h"
#include "unit.h"

/* A row of exactly len bytes on the heap: ASan reports a read past it. */
static int
begin_heap(struct copybin_row *r, char **p, const char *buf, size_t len)
{
	if ((*p = malloc(len)) == NULL && len > 0)
		abort();
	memcpy(*p, buf, len);
	return copybin_row_begin(r, *p, len);
}

static void
test_round_trip(void)
{
	static const char sig[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
	struct copybin		 b;
	struct copybin_row	 r;
	size_t			 first;
	char			*p;

	if (copybin_init(&b, 256) != 0)
		abort();
	copybin_header(&b);
	UNIT_CHECK(b.len == 19 && memcmp(b.buf, sig, 19) == 0, "header bytes");
	copybin_tuple(&b, 5);
	copybin_i16(&b, -2);
	copybin_i32(&b, -123456789);
	copybin_i64(&b, INT64_MIN + 1);
	copybin_f64(&b, -14.4973794438195);
	copybin_text(&b, "ab", 2);
	first = b.len;
	copybin_tuple(&b, 1);
	copybin_i64(&b, INT64_MAX);
	copybin_trailer(&b);
	UNIT_CHECK(copybin_room(&b) == 256 - b.len, "room");

	/* The first row with the file header, as PQgetCopyData gives it. */
	UNIT_CHECK(begin_heap(&r, &p, b.buf, first) == 5, "first row");
	UNIT_CHECK(copybin_get_int(&r, 2) == -2, "int2");
	UNIT_CHECK(copybin_get_int(&r, 4) == -123456789, "int4");
	UNIT_CHECK(copybin_get_int(&r, 8) == INT64_MIN + 1, "int8");
	UNIT_CHECK(copybin_get_f64(&r) == -14.4973794438195, "float8");
	UNIT_CHECK(!r.bad && r.left == 4 + 2, "left %zu", r.left);
	/* A text field read as an int4: wrong width. */
	UNIT_CHECK(copybin_get_int(&r, 4) == 0 && r.bad, "text as int4");
	free(p);
	/* The next row, without the header. */
	UNIT_CHECK(begin_heap(&r, &p, b.buf + first, b.len - first - 2) == 1,
	    "second row");
	UNIT_CHECK(copybin_get_int(&r, 8) == INT64_MAX && !r.bad &&
	    r.left == 0, "int8 max");
	/* Past the row's end: bad, 0, and it stays bad. */
	UNIT_CHECK(copybin_get_int(&r, 2) == 0 && r.bad, "past the end");
	free(p);
	/* The trailer. */
	UNIT_CHECK(begin_heap(&r, &p, b.buf + b.len - 2, 2) == 0, "trailer");
	free(p);
	copybin_release(&b);
	UNIT_CHECK(b.buf == NULL && b.len == 0 && b.cap == 0, "release");
	copybin_release(NULL);
}

/* Rows the reader refuses, or fields it marks bad. */
static void
test_malformed(void)
{
	/* Header with a 4-byte extension, then a row of one int2 (7). */
	static const char ext[] = "PGCOPY\n\377\r\n\0" "\0\0\0\0" "\0\0\0\4"
	    "xxxx" "\0\1" "\0\0\0\2" "\0\7";
	/* The extension length one past the bytes there are. */
	static const char ext_long[] = "PGCOPY\n\377\r\n\0" "\0\0\0\0"
	    "\0\0\0\5" "xxxx";
	/* A NULL field (length -1), an int4 cut short, an unknown width. */
	static const char null_field[] = "\0\1" "\377\377\377\377";
	static const char cut[] = "\0\1" "\0\0\0\4" "\0\0\0";
	static const char width3[] = "\0\1" "\0\0\0\3" "\0\0\7";
	static const char int8[] = "\0\1" "\0\0\0\10" "\0\0\0\0\0\0\0\7";
	struct copybin_row	 r;
	char			*p;

	UNIT_CHECK(begin_heap(&r, &p, ext, sizeof(ext) - 1) == 1 &&
	    copybin_get_int(&r, 2) == 7 && !r.bad, "header extension skipped");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, ext_long, sizeof(ext_long) - 1) == -1,
	    "extension past the end");
	free(p);
	/* The header and nothing else: no field count. */
	UNIT_CHECK(begin_heap(&r, &p, ext, 19) == -1, "header alone");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, "\0", 1) == -1, "one byte");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, "\0\0", 2) == -1, "zero fields");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, null_field, sizeof(null_field) - 1) ==
	    1 && copybin_get_int(&r, 4) == 0 && r.bad, "NULL field");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, cut, sizeof(cut) - 1) == 1 &&
	    copybin_get_int(&r, 4) == 0 && r.bad, "int4 cut short");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, width3, sizeof(width3) - 1) == 1 &&
	    copybin_get_int(&r, 3) == 0 && r.bad, "width 3");
	free(p);
	/* A field length only: 4 bytes, no value. */
	UNIT_CHECK(begin_heap(&r, &p, cut, 6) == 1 &&
	    copybin_get_int(&r, 4) == 0 && r.bad, "length, no value");
	free(p);
	UNIT_CHECK(begin_heap(&r, &p, cut, 5) == 1 &&
	    copybin_get_int(&r, 4) == 0 && r.bad, "length cut short");
	free(p);
	/* An int8 read as an int4, then as what it is: bad, and it stays. */
	UNIT_CHECK(begin_heap(&r, &p, int8, sizeof(int8) - 1) == 1 &&
	    copybin_get_int(&r, 4) == 0 && r.bad, "int8 as int4");
	UNIT_CHECK(copybin_get_int(&r, 8) == 0 && r.bad, "bad is sticky");
	free(p);
}

int
main(void)
{
	test_round_trip();
	test_malformed();
	return unit_done("test_copybin");
}
