/*
 * test_multipart.c: the multipart/form-data parser fed whole, byte by byte
 * and in random chunks (each case must give the same result every way),
 * the Content-Type boundary and Content-Disposition parameter parsing, and
 * the sanitizing of client filenames.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdrparam.h"
#include "multipart.h"
#include "safetext.h"
#include "unit.h"

struct got {
	int	 begins;
	int	 has_fn;
	char	 fn[256];
	int	 has_ct;
	char	 ct[256];
	char	*data;
	size_t	 len, cap;
	int	 stop_at_begin;
};

/* Keep src (len bytes, or NULL) in out, cut to fit; 1 if there was one. */
static int
keep(char *out, size_t outsz, const char *src, size_t len)
{
	if (src == NULL)
		return 0;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, src, len);
	out[len] = '\0';
	return 1;
}

static int
on_begin(void *arg, const char *fn, size_t len, const char *ct,
    size_t ctlen)
{
	struct got *g = arg;

	g->begins++;
	g->has_fn = keep(g->fn, sizeof(g->fn), fn, len);
	g->has_ct = keep(g->ct, sizeof(g->ct), ct, ctlen);
	return g->stop_at_begin;
}

static int
on_data(void *arg, const char *buf, size_t len)
{
	struct got *g = arg;

	if (g->len + len > g->cap) {
		g->cap = (g->len + len) * 2 + 16;
		if ((g->data = realloc(g->data, g->cap)) == NULL)
			abort();
	}
	memcpy(g->data + g->len, buf, len);
	g->len += len;
	return 0;
}

static const struct multipart_cb cb = { on_begin, on_data };

#define CD_FILE	"Content-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
#define CD_NOTE	"Content-Disposition: form-data; name=\"note\"\r\n"

struct mp_case {
	const char	*name;
	const char	*body;		/* NULL: use big_body() */
	int		 ok;		/* expected status of feed + finish */
	const char	*data;		/* expected file bytes when ok */
	const char	*filename;	/* expected filename, NULL = none */
	const char	*err;		/* expected substring of the error */
	const char	*ctype;		/* expected Content-Type, "" none,
					   NULL not checked */
};

static const struct mp_case mp_cases[] = {
	{ "simple",
	  "--XyZ\r\n" CD_FILE "Content-Type: text/csv\r\n\r\n"
	  "a,b\r\n1,2\r\n--XyZ--\r\n",
	  1, "a,b\r\n1,2", "a.csv", NULL, "text/csv" },
	/* The part's type goes to begin, for its charset to be checked. */
	{ "part content-type with a charset, spaces around",
	  "--XyZ\r\ncontent-type: \t text/csv; charset=latin1 \r\n" CD_FILE
	  "\r\nx\r\n--XyZ--",
	  1, "x", "a.csv", NULL, "text/csv; charset=latin1" },
	{ "no part content-type",
	  "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZ--",
	  1, "x", "a.csv", NULL, "" },
	{ "two part content-types",
	  "--XyZ\r\n" CD_FILE "Content-Type: text/csv\r\n"
	  "Content-Type: text/plain; charset=latin1\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "two content-type headers", NULL },
	{ "preamble, epilogue, other parts around",
	  "this is a preamble\r\n--XyZ\r\n" CD_NOTE "\r\nhello\r\n"
	  "--XyZ\r\n" CD_FILE "\r\nrow\r\n--XyZ\r\n" CD_NOTE
	  "\r\nbye\r\n--XyZ--\r\nepilogue --XyZ junk",
	  1, "row", "a.csv", NULL, NULL },
	{ "boundary text inside data, not at a line start",
	  "--XyZ\r\n" CD_FILE "\r\na--XyZ\n--XyZ\r--XyZ\r\n-\r\n--\r\n--X"
	  "\r\n--XyZ--",
	  1, "a--XyZ\n--XyZ\r--XyZ\r\n-\r\n--\r\n--X", "a.csv", NULL, NULL },
	{ "cr before the delimiter",
	  "--XyZ\r\n" CD_FILE "\r\nabc\r\r\n--XyZ--",
	  1, "abc\r", "a.csv", NULL, NULL },
	{ "crlf pairs before the delimiter",
	  "--XyZ\r\n" CD_FILE "\r\n\r\n\r\n\r\n--XyZ--",
	  1, "\r\n\r\n", "a.csv", NULL, NULL },
	{ "empty file part",
	  "--XyZ\r\n" CD_FILE "\r\n\r\n--XyZ--\r\n",
	  1, "", "a.csv", NULL, NULL },
	{ "no filename parameter",
	  "--XyZ\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n"
	  "--XyZ--",
	  1, "x", NULL, NULL, NULL },
	{ "windows path and semicolon in a quoted filename",
	  "--XyZ\r\ncontent-disposition: FORM-DATA; filename=\"C:\\d\\a;b.csv\";"
	  " name=\"file\"\r\n\r\nx\r\n--XyZ--",
	  1, "x", "C:\\d\\a;b.csv", NULL, NULL },
	/* WHATWG HTML's form-data encoding: '"', CR, LF as %22, %0D, %0A. */
	{ "escaped quote, CR and LF in a filename",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	  "filename=\"we%22ird%0D%0A%0a.csv\"\r\n\r\nx\r\n--XyZ--",
	  1, "x", "we\"ird\r\n\n.csv", NULL, NULL },
	{ "other percent signs stay",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	  "filename=\"100%.csv %41 %2 %%222 %\"\r\n\r\nx\r\n--XyZ--",
	  1, "x", "100%.csv %41 %2 %\"2 %", NULL, NULL },
	{ "transport padding after delimiters",
	  "--XyZ \t \r\n" CD_FILE "\r\nx\r\n--XyZ  \r\n" CD_NOTE "\r\ny\r\n"
	  "--XyZ--",
	  1, "x", "a.csv", NULL, NULL },
	{ "nul and binary bytes in data",
	  "--XyZ\r\n" CD_FILE "\r\n\0\xff\r\n\0\r\n--XyZ--",
	  1, NULL, "a.csv", NULL, NULL },	/* data checked separately */
	{ "empty header section (no name)",
	  "--XyZ\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "content-disposition", NULL },
	{ "empty body",
	  "",
	  0, NULL, NULL, "no multipart boundary", NULL },
	{ "no boundary in body",
	  "a,b\r\n1,2\r\n",
	  0, NULL, NULL, "no multipart boundary", NULL },
	{ "other boundary",
	  "--other\r\n" CD_FILE "\r\nx\r\n--other--\r\n",
	  0, NULL, NULL, "no multipart boundary", NULL },
	{ "unterminated in data",
	  "--XyZ\r\n" CD_FILE "\r\na,b\r\n1,2\r\n",
	  0, NULL, NULL, "unterminated", NULL },
	{ "unterminated in a partial delimiter",
	  "--XyZ\r\n" CD_FILE "\r\na,b\r\n--Xy",
	  0, NULL, NULL, "unterminated", NULL },
	{ "unterminated in headers",
	  "--XyZ\r\n" CD_FILE,
	  0, NULL, NULL, "unterminated", NULL },
	{ "unterminated after a delimiter",
	  "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZ",
	  0, NULL, NULL, "unterminated", NULL },
	{ "two file parts",
	  "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZ\r\n" CD_FILE "\r\ny\r\n--XyZ--",
	  0, NULL, NULL, "more than one part named \"file\"", NULL },
	{ "no file part",
	  "--XyZ\r\n" CD_NOTE "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "no part named \"file\"", NULL },
	{ "name is not file",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"files\"\r\n\r\nx\r\n"
	  "--XyZ--",
	  0, NULL, NULL, "no part named \"file\"", NULL },
	{ "boundary inside part data",
	  "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZzy\r\n--XyZ--",
	  0, NULL, NULL, "boundary inside part data", NULL },
	{ "bad close delimiter",
	  "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZ-x",
	  0, NULL, NULL, "malformed close delimiter", NULL },
	{ "padding then junk",
	  "--XyZ \tx\r\n" CD_FILE "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed boundary line", NULL },
	{ "bare lf after a delimiter",
	  "--XyZ\n" CD_FILE "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "boundary", NULL },
	{ "cr without lf after a delimiter",
	  "--XyZ\rx" CD_FILE "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed boundary line", NULL },
	{ "lf-only body",
	  "--XyZ\nContent-Disposition: form-data; name=\"file\"\n\nx\n--XyZ--\n",
	  0, NULL, NULL, "boundary", NULL },
	{ "bare lf in headers",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\n\r\nx\r\n"
	  "--XyZ--",
	  0, NULL, NULL, "not ended by crlf", NULL },
	{ "bare cr in headers",
	  "--XyZ\r\nContent-Dis\rposition: form-data; name=\"file\"\r\n\r\nx\r\n"
	  "--XyZ--",
	  0, NULL, NULL, "not ended by crlf", NULL },
	{ "lf lf ends headers",
	  "--XyZ\r\n" CD_FILE "\n\nx\r\n--XyZ--",
	  0, NULL, NULL, "not ended by crlf", NULL },
	{ "folded header",
	  "--XyZ\r\nContent-Disposition: form-data;\r\n name=\"file\"\r\n\r\n"
	  "x\r\n--XyZ--",
	  0, NULL, NULL, "folded", NULL },
	{ "header without colon",
	  "--XyZ\r\n" CD_FILE "Garbage\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed part header", NULL },
	{ "nul in header",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\nX: \0\r\n"
	  "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "nul byte", NULL },
	{ "not form-data",
	  "--XyZ\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n"
	  "--XyZ--",
	  0, NULL, NULL, "form-data", NULL },
	{ "two content-disposition headers",
	  "--XyZ\r\n" CD_FILE CD_NOTE "\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "two content-disposition", NULL },
	{ "unclosed quoted filename",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	  "filename=\"a.csv\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed content-disposition \"form-data; "
	  "name=\\\"file\\\"; filename=\\\"a.csv\"", NULL },
	{ "header with an empty name",
	  "--XyZ\r\n" CD_FILE ": x\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed part header", NULL },
	{ "two filenames",
	  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
	  "filename=\"a\"; filename=\"b\"\r\n\r\nx\r\n--XyZ--",
	  0, NULL, NULL, "malformed content-disposition \"form-data; "
	  "name=\\\"file\\\"; filename=\\\"a\\\"; filena...\"", NULL },
	{ "transport padding, tab first",
	  "--XyZ\t\r\n" CD_FILE "\r\nx\r\n--XyZ--",
	  1, "x", "a.csv", NULL, NULL },
	{ "header overflow",
	  NULL,
	  0, NULL, NULL, "part headers longer than 8192 bytes", NULL },
};

/* The body of the header overflow case: one 9000-byte header line. */
static char *
big_body(size_t *len)
{
	static const char head[] = "--XyZ\r\n" CD_FILE "X-Pad: ";
	static const char tail[] = "\r\n\r\nx\r\n--XyZ--";
	size_t	 pad = 9000;
	char	*b;

	*len = sizeof(head) - 1 + pad + sizeof(tail) - 1;
	if ((b = malloc(*len)) == NULL)
		abort();
	memcpy(b, head, sizeof(head) - 1);
	memset(b + sizeof(head) - 1, 'a', pad);
	memcpy(b + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
	return b;
}

static uint32_t rng = 12345;

static uint32_t
rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

/*
 * Feed body in chunks: mode 0 whole, 1 byte by byte, 2 random sizes.
 * Returns the final status; fills *g.
 */
static enum multipart_status
run(const char *body, size_t len, int mode, struct got *g, char *err,
    size_t errsz)
{
	struct multipart	*mp;
	enum multipart_status	 st = MULTIPART_OK;
	size_t			 i = 0, n;

	mp = multipart_new("XyZ", 3, "file", &cb, g);
	if (mp == NULL)
		abort();
	while (i < len && st == MULTIPART_OK) {
		n = mode == 0 ? len : mode == 1 ? 1 : 1 + rnd() % 23;
		if (n > len - i)
			n = len - i;
		st = multipart_feed(mp, body + i, n);
		i += n;
	}
	if (st == MULTIPART_OK)
		st = multipart_finish(mp);
	snprintf(err, errsz, "%s", multipart_error(mp));
	multipart_free(mp);
	return st;
}

static void
test_cases(void)
{
	static const char *const modes[] = { "whole", "bytes", "random" };
	const struct mp_case	*c;
	struct got		 g;
	enum multipart_status	 st;
	char			 err[256], *body;
	size_t			 i, len;
	int			 mode, rep;

	for (i = 0; i < sizeof(mp_cases) / sizeof(mp_cases[0]); i++) {
		c = &mp_cases[i];
		if (c->body != NULL) {
			/* The nul case has embedded NULs: sizeof, not strlen. */
			len = strcmp(c->name, "nul and binary bytes in data") == 0
			    ? sizeof("--XyZ\r\n" CD_FILE "\r\n\0\xff\r\n\0\r\n"
			    "--XyZ--")
			    - 1 : strlen(c->body);
			if (strcmp(c->name, "nul in header") == 0)
				len = sizeof("--XyZ\r\nContent-Disposition: "
				    "form-data; name=\"file\"\r\nX: \0\r\n"
				    "\r\nx\r\n--XyZ--") - 1;
			body = (char *)c->body;
		} else
			body = big_body(&len);
		for (mode = 0; mode < 3; mode++)
		for (rep = 0; rep < (mode == 2 ? 20 : 1); rep++) {
			memset(&g, 0, sizeof(g));
			st = run(body, len, mode, &g, err, sizeof(err));
			if (c->ok) {
				UNIT_CHECK(st == MULTIPART_OK,
				    "%s (%s): status %d, error \"%s\"",
				    c->name, modes[mode], st, err);
				UNIT_CHECK(g.begins == 1, "%s (%s): %d begins",
				    c->name, modes[mode], g.begins);
				if (c->data != NULL)
					UNIT_CHECK(g.len == strlen(c->data) &&
					    (g.len == 0 ||
					    memcmp(g.data, c->data, g.len) == 0),
					    "%s (%s): data \"%.*s\"", c->name,
					    modes[mode], (int)g.len,
					    g.data ? g.data : "");
				else
					UNIT_CHECK(g.len == 5 &&
					    memcmp(g.data, "\0\xff\r\n\0", 5)
					    == 0, "%s (%s): %zu bytes",
					    c->name, modes[mode], g.len);
				if (c->ctype != NULL)
					UNIT_CHECK(g.has_ct == (c->ctype[0] !=
					    '\0') && strcmp(g.ct, c->ctype) == 0,
					    "%s (%s): content-type \"%s\"",
					    c->name, modes[mode], g.ct);
				UNIT_CHECK(g.has_fn == (c->filename != NULL) &&
				    (c->filename == NULL ||
				    strcmp(g.fn, c->filename) == 0),
				    "%s (%s): filename \"%s\"", c->name,
				    modes[mode], g.has_fn ? g.fn : "(none)");
			} else {
				UNIT_CHECK(st == MULTIPART_ERROR,
				    "%s (%s): status %d", c->name,
				    modes[mode], st);
				UNIT_CHECK(strstr(err, c->err) != NULL,
				    "%s (%s): error \"%s\", want \"%s\"",
				    c->name, modes[mode], err, c->err);
			}
			free(g.data);
		}
		if (c->body == NULL)
			free(body);
	}
}

/* A large file part, fed in random chunks, arrives byte-exact. */
static void
test_large(void)
{
	static const char head[] = "--XyZ\r\n" CD_FILE "\r\n";
	static const char tail[] = "\r\n--XyZ--\r\n";
	size_t		 n = 1 << 20, len, i;
	char		*body, *p, err[128];
	struct got	 g;

	len = sizeof(head) - 1 + n + sizeof(tail) - 1;
	if ((body = malloc(len)) == NULL)
		abort();
	memcpy(body, head, sizeof(head) - 1);
	/* Data dense in CR, LF and '-': many partial delimiter matches. */
	for (i = 0; i < n; i++)
		body[sizeof(head) - 1 + i] = "\r\n-XyZ\r\n--XyZa"[rnd() % 14];
	/* Break every whole delimiter chance made. */
	while ((p = memmem(body + sizeof(head) - 3, n + 2, "\r\n--XyZ", 7)) != NULL)
		p[6] = 'a';
	memcpy(body + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1);
	memset(&g, 0, sizeof(g));
	UNIT_CHECK(run(body, len, 2, &g, err, sizeof(err)) == MULTIPART_OK,
	    "large: %s", err);
	UNIT_CHECK(g.len == n && memcmp(g.data, body + sizeof(head) - 1, n) == 0,
	    "large: %zu bytes back of %zu", g.len, n);
	free(g.data);
	free(body);
}

/* A callback's refusal stops the parser with MULTIPART_STOPPED. */
static void
test_stop(void)
{
	static const char body[] = "--XyZ\r\n" CD_FILE "\r\nx\r\n--XyZ--";
	struct multipart	*mp;
	struct got		 g;

	memset(&g, 0, sizeof(g));
	g.stop_at_begin = 1;
	mp = multipart_new("XyZ", 3, "file", &cb, &g);
	UNIT_CHECK(multipart_feed(mp, body, sizeof(body) - 1) ==
	    MULTIPART_STOPPED, "stop: not stopped");
	UNIT_CHECK(multipart_feed(mp, "x", 1) == MULTIPART_STOPPED,
	    "stop: not sticky");
	UNIT_CHECK(multipart_finish(mp) == MULTIPART_STOPPED,
	    "stop: finish");
	multipart_free(mp);
	UNIT_CHECK(multipart_new("", 0, "file", &cb, &g) == NULL,
	    "empty boundary accepted");
	/* A field name of 63 bytes fits field[64]; 64 does not. */
	mp = multipart_new("XyZ", 3, "0123456789012345678901234567890123456789"
	    "01234567890123456789012", &cb, &g);
	UNIT_CHECK(mp != NULL, "63-byte field name refused");
	multipart_free(mp);
	UNIT_CHECK(multipart_new("XyZ", 3, "0123456789012345678901234567890123"
	    "456789012345678901234567890123", &cb, &g) == NULL,
	    "64-byte field name accepted");
	multipart_free(NULL);
}

/* The longest boundary RFC 2046 allows (70) parses a body; 71 is refused. */
static void
test_boundary_max(void)
{
	static const char b70[] = "0123456789012345678901234567890123456789"
	    "012345678901234567890123456789";
	static const char body[] = "--0123456789012345678901234567890123456789"
	    "012345678901234567890123456789\r\n" CD_FILE "\r\nabc\r\n"
	    "--0123456789012345678901234567890123456789012345678901234567890"
	    "123456789--";
	char			 b71[sizeof(b70) + 1];
	struct multipart	*mp;
	struct got		 g;

	memset(&g, 0, sizeof(g));
	UNIT_CHECK(sizeof(b70) - 1 == MULTIPART_BOUNDARY_MAX, "b70 is %zu",
	    sizeof(b70) - 1);
	mp = multipart_new(b70, sizeof(b70) - 1, "file", &cb, &g);
	UNIT_CHECK(mp != NULL, "70-byte boundary refused");
	if (mp != NULL) {
		UNIT_CHECK(multipart_feed(mp, body, sizeof(body) - 1) ==
		    MULTIPART_OK && multipart_finish(mp) == MULTIPART_OK,
		    "70-byte boundary: %s", multipart_error(mp));
		UNIT_CHECK(g.begins == 1 && g.len == 3 &&
		    memcmp(g.data, "abc", 3) == 0,
		    "70-byte boundary: %d parts, %zu bytes", g.begins, g.len);
		multipart_free(mp);
	}
	free(g.data);
	memcpy(b71, b70, sizeof(b70) - 1);
	b71[sizeof(b70) - 1] = 'x';
	b71[sizeof(b70)] = '\0';
	UNIT_CHECK(multipart_new(b71, sizeof(b71) - 1, "file", &cb, &g) ==
	    NULL, "71-byte boundary accepted");
}

/*
 * Part headers of exactly MULTIPART_HEADER_MAX bytes (their lines with
 * their CRLFs, the empty line after them not counted) parse, fed whole
 * or byte by byte; one byte more is refused.  The empty line's CR used to
 * count, so headers of exactly the limit were "longer than" it.
 */
static void
test_header_max(void)
{
	static const char head[] = "--XyZ\r\n" CD_FILE "X-Pad: ";
	static const char tail[] = "\r\n\r\nabc\r\n--XyZ--";
	/* The header lines: CD_FILE, then "X-Pad: " pad CRLF. */
	size_t		 fixed = sizeof(CD_FILE) - 1 + sizeof("X-Pad: ") - 1 + 2;
	size_t		 extra, pad, len;
	char		*body, err[256];
	struct got	 g;
	int		 mode;

	for (extra = 0; extra < 2; extra++)
	for (mode = 0; mode < 2; mode++) {
		pad = MULTIPART_HEADER_MAX - fixed + extra;
		len = sizeof(head) - 1 + pad + sizeof(tail) - 1;
		if ((body = malloc(len)) == NULL)
			abort();
		memcpy(body, head, sizeof(head) - 1);
		memset(body + sizeof(head) - 1, 'a', pad);
		memcpy(body + sizeof(head) - 1 + pad, tail, sizeof(tail) - 1);
		memset(&g, 0, sizeof(g));
		if (extra == 0) {
			UNIT_CHECK(run(body, len, mode, &g, err, sizeof(err)) ==
			    MULTIPART_OK && g.begins == 1 && g.len == 3,
			    "headers of %d bytes (mode %d): \"%s\"",
			    MULTIPART_HEADER_MAX, mode, err);
		} else {
			UNIT_CHECK(run(body, len, mode, &g, err, sizeof(err)) ==
			    MULTIPART_ERROR && strstr(err, "part headers "
			    "longer than 8192 bytes") != NULL,
			    "headers of %d bytes (mode %d): \"%s\"",
			    MULTIPART_HEADER_MAX + 1, mode, err);
		}
		free(g.data);
		free(body);
	}
}

static const struct {
	const char	*ctype;
	const char	*boundary;	/* NULL: refused */
} boundary_cases[] = {
	{ "multipart/form-data; boundary=XyZ", "XyZ" },
	{ "multipart/form-data;boundary=XyZ ", "XyZ" },
	{ "multipart/form-data; charset=utf-8; BOUNDARY=\"a b'()+_,-./:=?\"",
	  "a b'()+_,-./:=?" },
	{ "multipart/form-data; boundary=----=_Part_1_2.3", "----=_Part_1_2.3" },
	{ "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
	  "----WebKitFormBoundary7MA4YWxkTrZu0gW" },
	{ "multipart/form-data; boundary=\"0123456789012345678901234567890123"
	  "456789012345678901234567890123456789\"",
	  "0123456789012345678901234567890123456789012345678901234567890123"
	  "456789" },
	{ "multipart/form-data; boundary=\"0123456789012345678901234567890123"
	  "4567890123456789012345678901234567890\"", NULL },	/* 71 */
	{ "multipart/form-data", NULL },
	{ "multipart/form-data; boundary=", NULL },
	{ "multipart/form-data; boundary=\"\"", NULL },
	{ "multipart/form-data; boundary=\"ends with space \"", NULL },
	{ "multipart/form-data; boundary=\"a\\\"b\"", NULL },	/* '"' */
	{ "multipart/form-data; boundary=a{b", NULL },
	{ "multipart/form-data; boundary=a; boundary=b", NULL },
	{ "multipart/form-data; boundary=\"unclosed", NULL },
	{ "multipart/form-data; boundary=a b", NULL },
	{ "multipart/form-data; =a", NULL },
};

static void
test_boundary(void)
{
	char	 out[MULTIPART_BOUNDARY_MAX + 1];
	long	 n;
	size_t	 i;

	for (i = 0; i < sizeof(boundary_cases) / sizeof(boundary_cases[0]);
	    i++) {
		n = multipart_boundary(boundary_cases[i].ctype,
		    strlen(boundary_cases[i].ctype), out, sizeof(out));
		if (boundary_cases[i].boundary == NULL)
			UNIT_CHECK(n == -1, "boundary of \"%s\" accepted",
			    boundary_cases[i].ctype);
		else
			UNIT_CHECK(n >= 0 && strcmp(out,
			    boundary_cases[i].boundary) == 0,
			    "boundary of \"%s\": %ld", boundary_cases[i].ctype,
			    n);
	}
}

static const struct {
	const char	*value;
	const char	*want;
	int		 is;
} is_cases[] = {
	{ "text/csv", "text/csv", 1 },
	{ "Text/CSV; charset=utf-8", "text/csv", 1 },
	{ "  text/csv ;charset=utf-8", "text/csv", 1 },
	{ "text/csvx", "text/csv", 0 },
	{ "text/csv x", "text/csv", 0 },
	{ "text/cs", "text/csv", 0 },
	{ "", "text/csv", 0 },
	{ "application/json", "text/csv", 0 },
	{ "multipart/form-data; boundary=x", "multipart/form-data", 1 },
	{ "\ttext/csv\t;charset=utf-8", "text/csv", 1 },
	/* An empty token is no type, not even "". */
	{ "; charset=utf-8", "", 0 },
};

/* hdrparam_get on exactly len heap bytes: ASan reports a read of buf[len]. */
static int
get_heap(const char *buf, size_t len, const char *name, int flags, char *out,
    size_t outsz, size_t *outlen)
{
	char	*p;
	int	 rc;

	if ((p = malloc(len)) == NULL && len > 0)
		abort();
	memcpy(p, buf, len);
	rc = hdrparam_get(p, len, name, flags, out, outsz, outlen);
	free(p);
	return rc;
}

static void
test_hdrparam(void)
{
	char	 out[32];
	size_t	 i, n;

	for (i = 0; i < sizeof(is_cases) / sizeof(is_cases[0]); i++)
		UNIT_CHECK(hdrparam_is(is_cases[i].value,
		    strlen(is_cases[i].value), is_cases[i].want) ==
		    is_cases[i].is, "hdrparam_is(\"%s\", \"%s\")",
		    is_cases[i].value, is_cases[i].want);
	UNIT_CHECK(get_heap("form-data; name=\"a\\\"b\"", 22, "name", 0,
	    out, sizeof(out), &n) == 1 && strcmp(out, "a\"b") == 0,
	    "quoted-pair: \"%s\"", out);
	UNIT_CHECK(get_heap("form-data; name=\"a\\b\"", 21, "name",
	    HDRPARAM_LITERAL_BACKSLASH, out, sizeof(out), &n) == 1 &&
	    strcmp(out, "a\\b") == 0, "literal backslash: \"%s\"", out);
	UNIT_CHECK(get_heap("form-data; name=\"0123456789012345678901234567"
	    "89012345\"", 47, "name", 0, out, sizeof(out), &n) == -1,
	    "overlong value accepted");
	UNIT_CHECK(get_heap("form-data; ; name=x;", 20, "name", 0,
	    out, sizeof(out), &n) == 1 && strcmp(out, "x") == 0,
	    "empty parameters: \"%s\"", out);
	UNIT_CHECK(get_heap("form-data; filename*=x", 22, "filename", 0,
	    out, sizeof(out), &n) == 0, "filename* taken for filename");
	/* RFC 9110 section 5.6.4: HTAB, SP, VCHAR, obs-text in quotes. */
	UNIT_CHECK(get_heap("form-data; name=\"a\tb\"", 21, "name", 0,
	    out, sizeof(out), &n) == 1 && strcmp(out, "a\tb") == 0,
	    "htab in quotes: \"%s\"", out);
	UNIT_CHECK(get_heap("form-data; name=\"caf\xc3\xa9\"", 23, "name",
	    0, out, sizeof(out), &n) == 1 && strcmp(out, "caf\xc3\xa9") == 0,
	    "obs-text in quotes: \"%s\"", out);
	UNIT_CHECK(get_heap("form-data; name=\"a\x01" "b\"", 21, "name", 0,
	    out, sizeof(out), &n) == -1, "soh in quotes accepted");
	UNIT_CHECK(get_heap("form-data; name=\"a\\\x01\"", 21, "name", 0,
	    out, sizeof(out), &n) == -1, "escaped soh accepted");
	UNIT_CHECK(get_heap("form-data; x=\"\x7f\"; name=a", 24, "name",
	    0, out, sizeof(out), &n) == -1,
	    "del in another parameter's quotes accepted");
	UNIT_CHECK(get_heap("form-data; name=\"a\nb\"", 21, "name", 0,
	    out, sizeof(out), &n) == -1, "lf in quotes accepted");
	/* A browser's file name comes raw (HDRPARAM_LITERAL_BACKSLASH). */
	UNIT_CHECK(get_heap("form-data; name=\"a\x01" "b\"", 21, "name",
	    HDRPARAM_LITERAL_BACKSLASH, out, sizeof(out), &n) == 1 &&
	    strcmp(out, "a\x01" "b") == 0, "literal: soh refused");
	/* An empty quoted value still needs its NUL: no room, no write. */
	out[0] = 'x';
	UNIT_CHECK(get_heap("form-data; name=\"\"", 18, "name", 0,
	    out, 0, &n) == -1 && out[0] == 'x',
	    "empty quoted value written into an out of size 0");
	/* OWS is SP or HTAB, around ';' too. */
	UNIT_CHECK(get_heap("form-data\t;\tname=x\t", 19, "name", 0, out,
	    sizeof(out), &n) == 1 && strcmp(out, "x") == 0,
	    "htab as OWS: \"%s\"", out);
	/* Refused forms. */
	UNIT_CHECK(get_heap("; name=x", 8, "name", 0, out, sizeof(out), &n)
	    == -1, "no leading token accepted");
	UNIT_CHECK(get_heap("form-data; =x", 13, "name", 0, out, sizeof(out),
	    &n) == -1, "empty parameter name accepted");
	UNIT_CHECK(get_heap("form-data; na/me=x", 18, "name", 0, out,
	    sizeof(out), &n) == -1, "'/' in a parameter name accepted");
	UNIT_CHECK(get_heap("form-data; na\0me=x", 18, "name", 0, out,
	    sizeof(out), &n) == -1, "NUL in a parameter name accepted");
	UNIT_CHECK(get_heap("form-data; name=;x=y", 20, "name", 0, out,
	    sizeof(out), &n) == -1, "empty unquoted value accepted");
	UNIT_CHECK(get_heap("form-data; name=a\"b", 19, "name", 0, out,
	    sizeof(out), &n) == -1, "quote in an unquoted value accepted");
	UNIT_CHECK(get_heap("form-data; name=\"a\\", 19, "name", 0, out,
	    sizeof(out), &n) == -1, "backslash at the end accepted");
}

static const struct {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	const char	*want;
} fn_cases[] = {
	{ "trips.csv", 0, "trips.csv" },
	{ "../../etc/passwd", 0, "passwd" },
	{ "C:\\Users\\me\\trips.csv", 0, "trips.csv" },
	{ "dir/", 0, "upload.csv" },
	{ "", 0, "upload.csv" },
	{ "..", 0, "upload.csv" },
	{ ".", 0, "upload.csv" },
	{ "...", 0, "..." },
	/* Spaces alone would show as no name (?filename=%20, "dir/ "). */
	{ " ", 0, "upload.csv" },
	{ "dir/   ", 0, "upload.csv" },
	{ " a ", 0, " a " },
	{ "a\nb\tc\x7f.csv", 0, "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd.csv" },
	{ "a\0b", 3, "a\xef\xbf\xbd" "b" },
	{ "caf\xc3\xa9.csv", 0, "caf\xc3\xa9.csv" },
	{ "bad\xc3(.csv", 0, "bad\xef\xbf\xbd(.csv" },
	{ "over\xc0\xaflong", 0, "over\xef\xbf\xbd\xef\xbf\xbdlong" },
	{ "sur\xed\xa0\x80", 0, "sur\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	{ "c1\xc2\x85", 0, "c1\xef\xbf\xbd" },
	{ "bidi\xe2\x80\xaevsc.exe", 0, "bidi\xef\xbf\xbdvsc.exe" },
	{ "emoji\xf0\x9f\x9a\x97.csv", 0, "emoji\xf0\x9f\x9a\x97.csv" },
	/* Each class boundary (utf8.h): Cc, the bidi overrides, LS, PS go. */
	{ "a\x1f" "b \x20~\x7e", 0, "a\xef\xbf\xbd" "b  ~~" },
	{ "a\xc2\x80" "b\xc2\x9f" "c\xc2\xa0", 0,
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xc2\xa0" },
	{ "a\xe2\x80\xa7" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d", 0,
	    "a\xe2\x80\xa7" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d" },
	{ "a\xe2\x80\xa9" "b\xe2\x80\xaa" "c\xe2\x80\xae" "d\xe2\x80\xaf", 0,
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xe2\x80\xaf" },
	{ "a\xe2\x81\xa5" "b\xe2\x81\xa6" "c\xe2\x81\xa9" "d\xe2\x81\xaa", 0,
	    "a\xe2\x81\xa5" "b\xef\xbf\xbd" "c\xef\xbf\xbd" "d\xe2\x81\xaa" },
	/*
	 * A truncated or interrupted sequence is one ill-formed subpart, one
	 * U+FFFD (Unicode 15 section 3.9), as in reject reasons and logs.
	 */
	{ "cut\xe2\x82", 0, "cut\xef\xbf\xbd" },
	{ "cut\xf0\x9f\x9a.csv", 0, "cut\xef\xbf\xbd.csv" },
	{ "cut\xf0\x9f.csv", 0, "cut\xef\xbf\xbd.csv" },
};

static void
test_filename(void)
{
	char	 out[SAFETEXT_FILENAME_SIZE], in[400], big[400];
	size_t	 i, n;

	for (i = 0; i < sizeof(fn_cases) / sizeof(fn_cases[0]); i++) {
		n = safetext_filename(fn_cases[i].in, fn_cases[i].len ?
		    fn_cases[i].len : strlen(fn_cases[i].in), out, sizeof(out));
		UNIT_CHECK(n == strlen(fn_cases[i].want) &&
		    strcmp(out, fn_cases[i].want) == 0,
		    "filename %zu: \"%s\", want \"%s\"", i, out,
		    fn_cases[i].want);
	}
	/* 150 two-byte characters: cut at 200 bytes, on a boundary. */
	for (i = 0; i < 300; i += 2)
		memcpy(in + i, "\xc3\xa9", 2);
	n = safetext_filename(in, 300, out, sizeof(out));
	UNIT_CHECK(n == 200 && memcmp(out, in, 200) == 0, "cut: %zu", n);
	/* Three-byte characters: 66 of them fit (198 bytes). */
	for (i = 0; i + 3 <= 300; i += 3)
		memcpy(in + i, "\xe2\x82\xac", 3);
	n = safetext_filename(in, 300, out, sizeof(out));
	UNIT_CHECK(n == 198, "cut 3: %zu", n);
	/* A larger out changes nothing: still SAFETEXT_FILENAME_MAX. */
	memset(in, 'x', 300);
	n = safetext_filename(in, 300, big, SAFETEXT_FILENAME_SIZE + 1);
	UNIT_CHECK(n == SAFETEXT_FILENAME_MAX, "cut in 1 byte more: %zu", n);
	n = safetext_filename(in, 300, big, sizeof(big));
	UNIT_CHECK(n == SAFETEXT_FILENAME_MAX, "cut in a larger out: %zu", n);
	/* The default takes 11 bytes; an out of 0 is not written. */
	n = safetext_filename("", 0, out, 11);
	UNIT_CHECK(n == 10 && strcmp(out, "upload.csv") == 0,
	    "default in 11 bytes: %zu \"%s\"", n, out);
	n = safetext_filename("", 0, out, 10);
	UNIT_CHECK(n == 0 && out[0] == '\0', "default in 10 bytes: %zu", n);
	out[0] = 'Z';
	n = safetext_filename("a", 1, out, 0);
	UNIT_CHECK(n == 0 && out[0] == 'Z', "filename into 0 bytes: %zu", n);
}

static void
test_quote(void)
{
	char	 out[SAFETEXT_QUOTE_SIZE], in[100];
	size_t	 n;

	n = safetext_quote("abc", 3, out, sizeof(out));
	UNIT_CHECK(n == 5 && strcmp(out, "\"abc\"") == 0, "quote: %s", out);
	n = safetext_quote("a\x01\xff", 3, out, sizeof(out));
	UNIT_CHECK(strcmp(out, "\"a\xef\xbf\xbd\xef\xbf\xbd\"") == 0,
	    "quote controls: %s", out);
	/* LS and PS end a line too (utf8.h). */
	n = safetext_quote("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, out, sizeof(out));
	UNIT_CHECK(strcmp(out, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"") == 0,
	    "quote LS and PS: %s", out);
	n = safetext_quote("a\tb\xe2\x82", 5, out, sizeof(out));
	UNIT_CHECK(strcmp(out, "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"") == 0,
	    "quote TAB and a truncated end: %s", out);
	memset(in, 'x', sizeof(in));
	n = safetext_quote(in, sizeof(in), out, sizeof(out));
	UNIT_CHECK(n == SAFETEXT_QUOTE_MAX + 5 &&
	    memcmp(out + 1 + SAFETEXT_QUOTE_MAX, "...\"", 4) == 0,
	    "quote cut: %s", out);
	/* The buffer sets the cut: one byte less keeps one byte less. */
	n = safetext_quote(in, sizeof(in), out, sizeof(out) - 1);
	UNIT_CHECK(n == SAFETEXT_QUOTE_MAX + 4, "quote cut, 1 byte less: %zu",
	    n);
	/* Quotes and backslashes escaped, as JSON and to_json write them. */
	n = safetext_quote("a\"b\\c", 5, out, sizeof(out));
	UNIT_CHECK(n == 9 && strcmp(out, "\"a\\\"b\\\\c\"") == 0,
	    "quote escapes: %s", out);
	/* An escape is never cut in two: "ab\" would end the quote early. */
	n = safetext_quote("ab\"cd", 5, out, 9);
	UNIT_CHECK(n == 7 && strcmp(out, "\"ab...\"") == 0,
	    "quote escape cut: %s", out);
	n = safetext_quote("ab\"cd", 5, out, 10);
	UNIT_CHECK(n == 9 && strcmp(out, "\"ab\\\"...\"") == 0,
	    "quote escape kept: %s", out);
	/* Nor a character: room for the escape, not for U+00E9 after it. */
	n = safetext_quote("\"\xc3\xa9", 3, out, 9);
	UNIT_CHECK(n == 7 && strcmp(out, "\"\\\"...\"") == 0,
	    "quote escape, then UTF-8 cut: %s", out);
	n = safetext_quote(in, sizeof(in), out, 8);
	UNIT_CHECK(n == 7 && strcmp(out, "\"xx...\"") == 0,
	    "quote small: %s", out);
	/* 6 bytes hold the quotes, "..." and the NUL; 5 hold nothing. */
	n = safetext_quote("abc", 3, out, 6);
	UNIT_CHECK(n == 5 && strcmp(out, "\"...\"") == 0,
	    "quote in 6 bytes: %zu %s", n, out);
	n = safetext_quote("abc", 3, out, 5);
	UNIT_CHECK(n == 0 && out[0] == '\0', "quote in 5 bytes: %zu", n);
	out[0] = 'Z';
	n = safetext_quote("abc", 3, out, 0);
	UNIT_CHECK(n == 0 && out[0] == 'Z', "quote in 0 bytes: %zu", n);
}

int
main(void)
{
	test_cases();
	test_large();
	test_stop();
	test_boundary_max();
	test_header_max();
	test_boundary();
	test_hdrparam();
	test_filename();
	test_quote();
	return unit_done("test_multipart");
}
