/*
 * test_utf8.c: lib/utf8.c against the well-formedness table of the Unicode
 * Standard (Table 3-7) and its replacement example (Table 3-8).
 */
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
	{ "DEL", "\x7f", 0, 1, "\x7f" },
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
 * Random bytes: sanitize always yields valid UTF-8 without controls, and
 * leaves a valid control-free input unchanged.
 */
static void
test_random(void)
{
	unsigned char	 in[32];
	char		 out[32 * 3 + 1];
	size_t		 n, k, len;
	int		 i, ctl;

	srand(7);
	for (i = 0; i < 200000; i++) {
		len = (size_t)(rand() % 32);
		for (k = 0; k < len; k++) {
			/* Bias towards the interesting lead bytes. */
			in[k] = (unsigned char)(rand() % 4 == 0 ?
			    0xc0 + rand() % 64 : rand() % 256);
		}
		n = utf8_sanitize((char *)in, len, out, sizeof(out));
		ctl = 0;
		for (k = 0; k < n; k++)
			if (((unsigned char)out[k] < 0x20 && out[k] != '\t') ||
			    ((unsigned char)out[k] == 0xc2 && k + 1 < n &&
			    (unsigned char)out[k + 1] < 0xa0))
				ctl = 1;	/* C0 but TAB, or C1 */
		if (!utf8_valid(out, n) || ctl) {
			UNIT_CHECK(0, "random %d: output invalid", i);
			return;
		}
		ctl = 0;
		for (k = 0; k < len; k++)
			if ((in[k] < 0x20 && in[k] != '\t') || (in[k] == 0xc2 &&
			    k + 1 < len && in[k + 1] < 0xa0))
				ctl = 1;
		if (utf8_valid((char *)in, len) && !ctl &&
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
	test_bounds();
	test_random();
	return unit_done("test_utf8");
}
