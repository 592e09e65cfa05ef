/*
 * test_utf8.c: lib/utf8.c against the well-formedness table of the Unicode
 * Standard (Table 3-7) and its replacement example (Table 3-8), and the
 * control character classes at each of their boundaries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "utf8.h"

#define R	"\xef\xbf\xbd"	/* U+FFFD */

struct valid_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	int		 valid;
	const char	*clean;	/* utf8_sanitize into a large buffer */
};

static const struct valid_case cases[] = {
	{ "empty", "", 0, 1, "" },
	{ "ascii", "Prague", 0, 1, "Prague" },
	{ "tab kept", "a\tb", 0, 1, "a\tb" },
	{ "two bytes", "Z\xc3\xbcrich", 0, 1, "Z\xc3\xbcrich" },
	{ "three bytes", "\xe2\x82\xac", 0, 1, "\xe2\x82\xac" },
	{ "four bytes", "\xf0\x9f\x9a\x97", 0, 1, "\xf0\x9f\x9a\x97" },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 0, 1, "\xf4\x8f\xbf\xbf" },
	{ "U+D7FF", "\xed\x9f\xbf", 0, 1, "\xed\x9f\xbf" },
	{ "U+E000", "\xee\x80\x80", 0, 1, "\xee\x80\x80" },
	{ "U+0080", "\xc2\x80", 0, 1, R },
	/* C1 controls are valid UTF-8 but not safe text: NEL ends lines */
	{ "NEL", "a\xc2\x85" "b", 0, 1, "a" R "b" },
	{ "U+009F", "\xc2\x9f", 0, 1, R },
	{ "U+00A0 kept", "\xc2\xa0", 0, 1, "\xc2\xa0" },
	{ "U+0800", "\xe0\xa0\x80", 0, 1, "\xe0\xa0\x80" },
	{ "U+10000", "\xf0\x90\x80\x80", 0, 1, "\xf0\x90\x80\x80" },
	/* DEL is Cc too, and drawn as nothing: it would hide a byte. */
	{ "DEL", "a\x7f" "b", 0, 1, "a" R "b" },
	/* UAX #9 overrides: an RLO would make a reason read backwards. */
	{ "RLO", "a\xe2\x80\xae" "b", 0, 1, "a" R "b" },
	{ "LRI PDI", "\xe2\x81\xa6" "b\xe2\x81\xa9", 0, 1, R "b" R },
	{ "RLM kept", "a\xe2\x80\x8f" "b", 0, 1, "a\xe2\x80\x8f" "b" },
	{ "NUL", "a\0b", 3, 0, "a" R "b" },
	{ "only NUL", "\0", 1, 0, R },
	{ "newline", "a\nb", 0, 1, "a" R "b" },
	{ "CR", "a\rb", 0, 1, "a" R "b" },
	{ "escape", "\x1b[31m", 0, 1, R "[31m" },
	{ "U+110000", "\xf4\x90\x80\x80", 0, 0, R R R R },
	{ "F5 lead", "\xf5\x80\x80\x80", 0, 0, R R R R },
	{ "FF", "a\xff", 0, 0, "a" R },
	{ "FE", "\xfe", 0, 0, R },
	{ "overlong slash C0", "\xc0\xaf", 0, 0, R R },
	{ "overlong C1", "\xc1\xbf", 0, 0, R R },
	{ "overlong E0", "\xe0\x80\xaf", 0, 0, R R R },
	{ "overlong E0 9F", "\xe0\x9f\xbf", 0, 0, R R R },
	{ "overlong F0", "\xf0\x80\x80\xaf", 0, 0, R R R R },
	{ "overlong F0 8F", "\xf0\x8f\xbf\xbf", 0, 0, R R R R },
	{ "overlong NUL", "\xc0\x80", 0, 0, R R },
	{ "surrogate high", "\xed\xa0\x80", 0, 0, R R R },
	{ "surrogate low", "\xed\xbf\xbf", 0, 0, R R R },
	{ "surrogate pair", "\xed\xa0\xbd\xed\xb2\xa9", 0, 0, R R R R R R },
	{ "lone continuation", "\x80", 0, 0, R },
	{ "continuations", "\x80\xbf", 0, 0, R R },
	{ "truncated 2", "\xc3", 0, 0, R },
	{ "truncated 3", "\xe2\x82", 0, 0, R },
	{ "truncated 4", "\xf0\x9f\x9a", 0, 0, R },
	{ "truncated then ascii", "\xe2\x82x", 0, 0, R "x" },
	{ "lead then lead", "\xc3\xc3\xbc", 0, 0, R "\xc3\xbc" },
	/* Unicode 15, Table 3-8: U+FFFD for each maximal subpart. */
	{ "table 3-8", "\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
	    0, 0, "a" R R R "b" R "c" R R "d" },
};

struct cut_case {
	const char	*label;
	const char	*in;
	size_t		 outsz;
	const char	*want;
};

static const struct cut_case cuts[] = {
	{ "size 1", "abc", 1, "" },
	{ "ascii cut", "abcdef", 4, "abc" },
	{ "exact fit", "abc", 4, "abc" },
	{ "before two bytes", "h\xc3\xa9llo", 3, "h" },
	{ "after two bytes", "h\xc3\xa9llo", 4, "h\xc3\xa9" },
	{ "before four bytes", "a\xf0\x9f\x9a\x97", 5, "a" },
	{ "four bytes fit", "a\xf0\x9f\x9a\x97", 6, "a\xf0\x9f\x9a\x97" },
	{ "replacement cut", "a\nb", 4, "a" },
	{ "replacement fits", "a\nb", 5, "a" R },
};

static void
test_cases(void)
{
	char	 out[256];
	size_t	 i, len, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct valid_case *c = &cases[i];

		len = c->len ? c->len : strlen(c->in);
		UNIT_CHECK(utf8_valid(c->in, len) == c->valid,
		    "valid %s: want %d", c->label, c->valid);
		n = utf8_sanitize(c->in, len, out, sizeof(out));
		UNIT_CHECK(n == strlen(c->clean) && memcmp(out, c->clean, n)
		    == 0 && out[n] == '\0', "sanitize %s: got %zu bytes",
		    c->label, n);
		/* Whatever went in, the output is valid and control-free. */
		UNIT_CHECK(utf8_valid(out, n), "sanitize %s: output invalid",
		    c->label);
	}
	for (i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		const struct cut_case *c = &cuts[i];

		memset(out, 'Z', sizeof(out));
		n = utf8_sanitize(c->in, strlen(c->in), out, c->outsz);
		UNIT_CHECK(n == strlen(c->want) && strcmp(out, c->want) == 0 &&
		    out[c->outsz] == 'Z', "cut %s: got \"%s\" (%zu)",
		    c->label, out, n);
	}
	memset(out, 'Z', sizeof(out));
	n = utf8_sanitize("abc", 3, out, 0);
	UNIT_CHECK(n == 0 && out[0] == 'Z', "outsz 0 writes nothing");
	UNIT_CHECK(utf8_valid(NULL, 0) == 1, "NULL, 0 is empty");
}

/* len bytes of in copied to the very end of a heap block, for ASan. */
static char *
exact_copy(const char *in, size_t len)
{
	char	*p;

	if ((p = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(p, in, len);
	return p;
}

struct decode_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	uint32_t	 cp;	/* UTF8_BAD: ill-formed */
	size_t		 n;	/* bytes used: the maximal subpart if bad */
};

#define BAD	UTF8_BAD

static const struct decode_case decodes[] = {
	{ "NUL", "\0", 1, 0x0000, 1 },
	{ "U+001F", "\x1f", 0, 0x001f, 1 },
	{ "U+007F", "\x7f", 0, 0x007f, 1 },
	{ "ascii, one at a time", "ab", 0, 'a', 1 },
	{ "U+0080", "\xc2\x80", 0, 0x0080, 2 },
	{ "U+07FF", "\xdf\xbf", 0, 0x07ff, 2 },
	{ "U+0800", "\xe0\xa0\x80", 0, 0x0800, 3 },
	{ "U+1000", "\xe1\x80\x80", 0, 0x1000, 3 },
	{ "U+202E", "\xe2\x80\xae", 0, 0x202e, 3 },
	{ "U+CFFF", "\xec\xbf\xbf", 0, 0xcfff, 3 },
	{ "U+D7FF", "\xed\x9f\xbf", 0, 0xd7ff, 3 },
	{ "U+E000", "\xee\x80\x80", 0, 0xe000, 3 },
	{ "U+FFFF", "\xef\xbf\xbf", 0, 0xffff, 3 },
	{ "U+10000", "\xf0\x90\x80\x80", 0, 0x10000, 4 },
	{ "U+1F697", "\xf0\x9f\x9a\x97", 0, 0x1f697, 4 },
	{ "U+40000", "\xf1\x80\x80\x80", 0, 0x40000, 4 },
	{ "U+FFFFF", "\xf3\xbf\xbf\xbf", 0, 0xfffff, 4 },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 0, 0x10ffff, 4 },
	{ "two characters", "\xc3\xbc\xc3\xbc", 0, 0x00fc, 2 },
	/* Bytes that lead nothing. */
	{ "lone continuation", "\x80", 0, BAD, 1 },
	{ "last continuation", "\xbf", 0, BAD, 1 },
	{ "C0 lead (overlong)", "\xc0\x80", 0, BAD, 1 },
	{ "C1 lead (overlong)", "\xc1\xbf", 0, BAD, 1 },
	{ "F5 lead (past U+10FFFF)", "\xf5\x80\x80\x80", 0, BAD, 1 },
	{ "FF", "\xff", 0, BAD, 1 },
	/* A lead whose first follower is out of its Table 3-7 range. */
	{ "overlong E0 80", "\xe0\x80\xaf", 0, BAD, 1 },
	{ "overlong E0 9F", "\xe0\x9f\xbf", 0, BAD, 1 },
	{ "overlong F0 8F", "\xf0\x8f\xbf\xbf", 0, BAD, 1 },
	{ "surrogate D800", "\xed\xa0\x80", 0, BAD, 1 },
	{ "surrogate DFFF", "\xed\xbf\xbf", 0, BAD, 1 },
	{ "U+110000", "\xf4\x90\x80\x80", 0, BAD, 1 },
	{ "lead then ascii", "\xc3(", 0, BAD, 1 },
	{ "lead then lead", "\xe2\xc3\xbc", 0, BAD, 1 },
	/* Truncated at the end of buf: the whole prefix is one subpart. */
	{ "truncated 1 of 2", "\xc3", 0, BAD, 1 },
	{ "truncated 1 of 3", "\xe2", 0, BAD, 1 },
	{ "truncated 2 of 3", "\xe2\x82", 0, BAD, 2 },
	{ "truncated 2 of 4", "\xf0\x9f", 0, BAD, 2 },
	{ "truncated 3 of 4", "\xf0\x9f\x9a", 0, BAD, 3 },
	{ "truncated E0 A0", "\xe0\xa0", 0, BAD, 2 },
	{ "truncated F4 8F BF", "\xf4\x8f\xbf", 0, BAD, 3 },
	/* Interrupted: the subpart ends before the byte that does not fit. */
	{ "interrupted 3 at 3", "\xe2\x82x", 0, BAD, 2 },
	{ "interrupted 4 at 4", "\xf0\x9f\x9a" "A", 0, BAD, 3 },
	{ "interrupted 4 at 3", "\xf1\x80\xc2\x80", 0, BAD, 2 },
};

static void
test_decode(void)
{
	size_t		 i, len, n;
	uint32_t	 cp;
	char		*p;

	for (i = 0; i < sizeof(decodes) / sizeof(decodes[0]); i++) {
		const struct decode_case *c = &decodes[i];

		len = c->len ? c->len : strlen(c->in);
		p = exact_copy(c->in, len);
		n = utf8_decode(p, len, &cp);
		UNIT_CHECK(n == c->n && cp == c->cp,
		    "decode %s: got U+%04X, %zu bytes; want U+%04X, %zu",
		    c->label, (unsigned)cp, n, (unsigned)c->cp, c->n);
		free(p);
	}
	cp = 0;
	n = utf8_decode(NULL, 0, &cp);
	UNIT_CHECK(n == 0 && cp == UTF8_BAD, "decode empty: %zu", n);
}

#define NONE	UTF8_CLASS__MAX

/*
 * Each class boundary: the code point, its UTF-8, its class (NONE: no
 * class), and whether utf8_sanitize replaces it (logs, reject reasons).
 */
static const struct {
	uint32_t	 cp;
	const char	*utf8;
	size_t		 len;	/* 0: strlen(utf8) */
	enum utf8_class	 cls;
	int		 sanitized;
} bounds[] = {
	{ 0x0000, "\0", 1, UTF8_CLASS_C0, 1 },
	{ 0x0008, "\x08", 0, UTF8_CLASS_C0, 1 },
	{ 0x0009, "\t", 0, UTF8_CLASS_TAB, 0 },
	{ 0x000a, "\n", 0, UTF8_CLASS_C0, 1 },
	{ 0x001b, "\x1b", 0, UTF8_CLASS_C0, 1 },
	{ 0x001f, "\x1f", 0, UTF8_CLASS_C0, 1 },
	{ 0x0020, " ", 0, NONE, 0 },
	{ 0x007e, "~", 0, NONE, 0 },
	{ 0x007f, "\x7f", 0, UTF8_CLASS_DEL, 1 },
	{ 0x0080, "\xc2\x80", 0, UTF8_CLASS_C1, 1 },
	{ 0x0085, "\xc2\x85", 0, UTF8_CLASS_C1, 1 },
	{ 0x009f, "\xc2\x9f", 0, UTF8_CLASS_C1, 1 },
	{ 0x00a0, "\xc2\xa0", 0, NONE, 0 },
	{ 0x061c, "\xd8\x9c", 0, NONE, 0 },		/* ALM: a mark */
	{ 0x200e, "\xe2\x80\x8e", 0, NONE, 0 },	/* LRM */
	{ 0x200f, "\xe2\x80\x8f", 0, NONE, 0 },	/* RLM */
	{ 0x2027, "\xe2\x80\xa7", 0, NONE, 0 },
	{ 0x2028, "\xe2\x80\xa8", 0, UTF8_CLASS_LINE_SEP, 1 },
	{ 0x2029, "\xe2\x80\xa9", 0, UTF8_CLASS_LINE_SEP, 1 },
	{ 0x202a, "\xe2\x80\xaa", 0, UTF8_CLASS_BIDI_EMBED, 1 },
	{ 0x202e, "\xe2\x80\xae", 0, UTF8_CLASS_BIDI_EMBED, 1 },
	{ 0x202f, "\xe2\x80\xaf", 0, NONE, 0 },
	{ 0x2065, "\xe2\x81\xa5", 0, NONE, 0 },
	{ 0x2066, "\xe2\x81\xa6", 0, UTF8_CLASS_BIDI_ISOLATE, 1 },
	{ 0x2069, "\xe2\x81\xa9", 0, UTF8_CLASS_BIDI_ISOLATE, 1 },
	{ 0x206a, "\xe2\x81\xaa", 0, NONE, 0 },
	/* Refused in a name, kept in a reason (it quotes what it refuses). */
	{ 0xfefe, "\xef\xbb\xbe", 0, NONE, 0 },
	{ 0xfeff, "\xef\xbb\xbf", 0, UTF8_CLASS_BOM, 0 },
	{ 0xff00, "\xef\xbc\x80", 0, NONE, 0 },
	{ 0xfffd, R, 0, NONE, 0 },
	{ 0x10ffff, "\xf4\x8f\xbf\xbf", 0, NONE, 0 },
};

static void
test_classes(void)
{
	char		 out[16], in[16];
	size_t		 i, len, n;
	uint32_t	 cp;
	int		 k;

	for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		len = bounds[i].len ? bounds[i].len : strlen(bounds[i].utf8);
		n = utf8_decode(bounds[i].utf8, len, &cp);
		UNIT_CHECK(n == len && cp == bounds[i].cp,
		    "class U+%04X: decodes to U+%04X", (unsigned)bounds[i].cp,
		    (unsigned)cp);
		for (k = 0; k < UTF8_CLASS__MAX; k++)
			UNIT_CHECK(utf8_is(bounds[i].cp, UTF8_CLASS_BIT(k)) ==
			    ((enum utf8_class)k == bounds[i].cls),
			    "class U+%04X: class %d", (unsigned)bounds[i].cp,
			    k);
		UNIT_CHECK(utf8_is(bounds[i].cp, ~0u) ==
		    (bounds[i].cls != NONE), "class U+%04X: any class",
		    (unsigned)bounds[i].cp);
		UNIT_CHECK(utf8_is(bounds[i].cp, 0) == 0,
		    "class U+%04X: no class", (unsigned)bounds[i].cp);
		/* Between two letters, as utf8_scan and the sanitiser see it. */
		in[0] = 'a';
		memcpy(in + 1, bounds[i].utf8, len);
		in[len + 1] = 'b';
		UNIT_CHECK(utf8_scan(in, len + 2) == (bounds[i].cls != NONE ?
		    UTF8_CLASS_BIT(bounds[i].cls) : 0u), "scan U+%04X",
		    (unsigned)bounds[i].cp);
		n = utf8_sanitize(in, len + 2, out, sizeof(out));
		UNIT_CHECK(bounds[i].sanitized ?
		    n == 5 && memcmp(out, "a" R "b", 5) == 0 :
		    n == len + 2 && memcmp(out, in, n) == 0,
		    "sanitize U+%04X: want it %s", (unsigned)bounds[i].cp,
		    bounds[i].sanitized ? "replaced" : "kept");
	}
	UNIT_CHECK(!utf8_is(UTF8_BAD, ~0u), "ill-formed is in no class");
	UNIT_CHECK(utf8_scan("\xff\xc2", 2) == UTF8_ILL_FORMED,
	    "scan: ill-formed is no class");
	UNIT_CHECK((utf8_scan("\xff\x01", 2) & UTF8_CC) != 0,
	    "scan: after ill-formed");
	UNIT_CHECK((utf8_scan("a\tb", 3) & UTF8_CC &
	    ~UTF8_CLASS_BIT(UTF8_CLASS_TAB)) == 0, "scan: TAB excepted");
}

/* utf8_replace: its classes, and how much of the input it used. */
static void
test_replace(void)
{
	char	 out[32];
	size_t	 n, used;

	n = utf8_replace("a\tb\xe2\x80\xae" "c\x7f", 8, UTF8_CC | UTF8_BIDI,
	    out, sizeof(out), &used);
	UNIT_CHECK(n == 12 && strcmp(out, "a" R "b" R "c" R) == 0 &&
	    used == 8, "replace all: %s", out);
	n = utf8_replace("a\tb", 3, 0, out, sizeof(out), &used);
	UNIT_CHECK(n == 3 && strcmp(out, "a\tb") == 0 && used == 3,
	    "replace nothing: %s", out);
	n = utf8_replace("a\xff", 2, 0, out, sizeof(out), &used);
	UNIT_CHECK(n == 4 && strcmp(out, "a" R) == 0 && used == 2,
	    "replace ill-formed whatever the classes: %s", out);
	n = utf8_replace("abc", 3, 0, out, 3, &used);
	UNIT_CHECK(n == 2 && strcmp(out, "ab") == 0 && used == 2,
	    "replace cut: %s, %zu used", out, used);
	/* The replacement of the truncated tail does not fit: 1 of 3 used. */
	n = utf8_replace("a\xe2\x82", 3, 0, out, 4, &used);
	UNIT_CHECK(n == 1 && strcmp(out, "a") == 0 && used == 1,
	    "replace cut before U+FFFD: %zu used", used);
	used = 7;
	n = utf8_replace("abc", 3, 0, out, 0, &used);
	UNIT_CHECK(n == 0 && used == 0, "replace outsz 0: %zu used", used);
}

/*
 * Inputs at the very end of a heap block (no NUL after them): ASan fails
 * any read past len, notably in the middle of a truncated sequence.
 */
static void
test_bounds(void)
{
	char	 out[64];
	size_t	 i, len;
	char	*p;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		if ((p = malloc(len + 1)) == NULL)
			abort();
		memcpy(p, cases[i].in, len);
		UNIT_CHECK(utf8_valid(p, len) == cases[i].valid, "bounds %s",
		    cases[i].label);
		utf8_sanitize(p, len, out, sizeof(out));
		free(p);
	}
}

/*
 * Random bytes: sanitize always yields valid UTF-8 without what it
 * replaces, and leaves a valid input without any of it unchanged.  The
 * classes are utf8_scan's, which test_classes checks at every boundary
 * (fuzz_utf8 reads them byte by byte).
 */
static void
test_random(void)
{
	unsigned char	 in[32];
	char		 out[32 * 3 + 1];
	size_t		 n, k, len;
	int		 i;

	srand(7);
	for (i = 0; i < 200000; i++) {
		len = (size_t)(rand() % 32);
		for (k = 0; k < len; k++) {
			/* Bias towards the interesting lead bytes. */
			in[k] = (unsigned char)(rand() % 4 == 0 ?
			    0xc0 + rand() % 64 : rand() % 256);
		}
		n = utf8_sanitize((char *)in, len, out, sizeof(out));
		if (!utf8_valid(out, n) ||
		    (utf8_scan(out, n) & UTF8_SANITIZE) != 0) {
			UNIT_CHECK(0, "random %d: output invalid", i);
			return;
		}
		if (utf8_valid((char *)in, len) &&
		    (utf8_scan((char *)in, len) & UTF8_SANITIZE) == 0 &&
		    (n != len || memcmp(in, out, n) != 0)) {
			UNIT_CHECK(0, "random %d: valid input changed", i);
			return;
		}
	}
	UNIT_CHECK(1, "random");
}

int
main(void)
{
	test_cases();
	test_decode();
	test_classes();
	test_replace();
	test_bounds();
	test_random();
	return unit_done("test_utf8");
}
