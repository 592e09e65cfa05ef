/*
 * test_joberror.c: jobs/joberror.c, a job's error as users read it.
 */
#include <stdio.h>
#include <string.h>

#include "joberror.h"
#include "unit.h"

static const struct {
	const char	*label;
	const char	*in;
	const char	*want;
} cases[] = {
	{ "libpq's severity and context lines",
	  "could not record the job: ERROR:  Refused by the test\n"
	  "CONTEXT:  PL/pgSQL function f() line 3 at RAISE\n",
	  "could not record the job: refused by the test" },
	{ "a lost connection's explanation",
	  "could not copy the trips: server closed the connection "
	  "unexpectedly\n\tThis probably means the server terminated "
	  "abnormally\n",
	  "could not copy the trips: server closed the connection "
	  "unexpectedly" },
	{ "FATAL", "could not connect: FATAL:  the database system is "
	  "shutting down", "could not connect: the database system is "
	  "shutting down" },
	{ "strerror's capital",
	  "could not read the file: Input/output error",
	  "could not read the file: input/output error" },
	{ "an acronym stays", "could not connect: SSL error",
	  "could not connect: SSL error" },
	{ "one capital letter stays", "column: X", "column: X" },
	{ "a quoted value stays as it is",
	  "could not open \"Trips: May.csv\" in the inbox: No such file",
	  "could not open \"Trips: May.csv\" in the inbox: no such file" },
	{ "an escaped quote inside a value",
	  "name \"a\\\": Bc\": Permission denied",
	  "name \"a\\\": Bc\": permission denied" },
	{ "an escaped backslash ends a value",
	  "name \"a\\\\\": Permission denied",
	  "name \"a\\\\\": permission denied" },
	{ "a severity inside a value stays",
	  "region \"ERROR:  x\" refused", "region \"ERROR:  x\" refused" },
	{ "tabs and trailing spaces", "a\tb  \t", "a b" },
	{ "empty", "", "" },
	{ "the first line not empty", "\r\nsecond line\nthird", "second line" },
	{ "only line breaks", "\n\r\n", "" },
	{ "an unclosed quote lowers nothing after it",
	  "near \"x: Abc", "near \"x: Abc" },
};

static void
test_cases(void)
{
	char	 out[256];
	size_t	 i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = joberror_clean(cases[i].in, strlen(cases[i].in), out,
		    sizeof(out));
		UNIT_CHECK(strcmp(out, cases[i].want) == 0 &&
		    n == strlen(out), "%s: \"%s\"", cases[i].label, out);
	}
}

/* Not NUL-terminated: only len bytes are read. */
static void
test_length(void)
{
	char	 out[64];
	const char in[] = "failed: Abc, and more";

	joberror_clean(in, 10, out, sizeof(out));
	UNIT_CHECK(strcmp(out, "failed: ab") == 0, "first 10: \"%s\"", out);
	joberror_clean(in, 9, out, sizeof(out));
	UNIT_CHECK(strcmp(out, "failed: A") == 0, "first 9: \"%s\"", out);
}

/* Control characters and invalid UTF-8 are replaced, output bounded. */
static void
test_sanitized(void)
{
	char	 out[16], big[4096];

	joberror_clean("a\001b\xff", 4, out, sizeof(out));
	UNIT_CHECK(strchr(out, '\001') == NULL && strchr(out, '\xff') == NULL,
	    "sanitized: \"%s\"", out);
	memset(big, 'x', sizeof(big));
	UNIT_CHECK(joberror_clean(big, sizeof(big), out, sizeof(out)) <
	    sizeof(out) && strlen(out) < sizeof(out), "bounded");
}

/* The whole error for the log: lines joined, nothing lost. */
static void
test_oneline(void)
{
	static const struct {
		const char	*in, *want;
	} c[] = {
		{ "could not index: ERROR:  could not extend file\nHINT:  "
		  "Check free disk space.\n", "could not index: ERROR:  could "
		  "not extend file | HINT:  Check free disk space." },
		{ "a\r\n\tb", "a |  b" },
		{ "\nfirst", "first" },
		{ "one line", "one line" },
		{ "", "" },
	};
	char	 out[256], big[4096], small[16];
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		joberror_oneline(c[i].in, strlen(c[i].in), out, sizeof(out));
		UNIT_CHECK(strcmp(out, c[i].want) == 0, "oneline %zu: \"%s\"",
		    i, out);
	}
	memset(big, '\n', sizeof(big));
	for (i = 0; i < sizeof(big); i += 2)
		big[i] = 'x';
	UNIT_CHECK(joberror_oneline(big, sizeof(big), small, sizeof(small)) <
	    sizeof(small), "bounded");
	joberror_oneline(big, sizeof(big), out, sizeof(out));
	UNIT_CHECK(strlen(out) < sizeof(out) &&
	    strncmp(out, "x | x | x", 9) == 0, "many lines: \"%.20s\"", out);
}

int
main(void)
{
	test_cases();
	test_length();
	test_sanitized();
	test_oneline();
	return unit_done("test_joberror");
}
