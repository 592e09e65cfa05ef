/*
 * test_datetime.c: lib/datetime.c, naive timestamps to microseconds and
 * back, checked against known values and against timegm() for every day
 * from 1900 to 2100.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "unit.h"

struct dt_case {
	const char	*label;
	const char	*in;
	size_t		 len;	/* 0: strlen(in) */
	enum datetime_err err;
	int64_t		 want;
};

static const struct dt_case cases[] = {
	{ "epoch", "1970-01-01 00:00:00", 0, DATETIME_OK, 0 },
	{ "sample", "2018-05-28 09:03:40", 0, DATETIME_OK,
	    INT64_C(1527498220000000) },
	{ "T separator", "2018-05-28T09:03:40", 0, DATETIME_OK,
	    INT64_C(1527498220000000) },
	{ "leap day 2000", "2000-02-29 12:00:00", 0, DATETIME_OK,
	    INT64_C(951825600000000) },
	{ "leap day 2096", "2096-02-29 00:00:00", 0, DATETIME_OK,
	    INT64_C(3981312000000000) },
	{ "first", "1900-01-01 00:00:00", 0, DATETIME_OK,
	    INT64_C(-2208988800000000) },
	{ "last", "2100-12-31 23:59:59.999999", 0, DATETIME_OK,
	    INT64_C(4133980799999999) },
	{ "before epoch", "1969-12-31 23:59:59", 0, DATETIME_OK,
	    INT64_C(-1000000) },
	{ "fraction 1 digit", "2018-05-28 09:03:40.5", 0, DATETIME_OK,
	    INT64_C(1527498220500000) },
	{ "fraction 6 digits", "2018-05-28 09:03:40.123456", 0, DATETIME_OK,
	    INT64_C(1527498220123456) },
	{ "fraction zeros", "2018-05-28 09:03:40.000000", 0, DATETIME_OK,
	    INT64_C(1527498220000000) },
	{ "len cuts junk", "2018-05-28 09:03:40junk", 19, DATETIME_OK,
	    INT64_C(1527498220000000) },

	{ "empty", "", 0, DATETIME_EFORM, 0 },
	{ "date only", "2018-05-28", 0, DATETIME_EFORM, 0 },
	{ "no seconds", "2018-05-28 09:03", 0, DATETIME_EFORM, 0 },
	{ "partial seconds", "2018-05-28 09:03:4", 0, DATETIME_EFORM, 0 },
	{ "feb 30", "2018-02-30 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "feb 29 non-leap", "2019-02-29 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "feb 29 1900", "1900-02-29 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "feb 29 2100", "2100-02-29 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "apr 31", "2018-04-31 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "jun 31", "2018-06-31 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "month 13", "2018-13-01 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "month 0", "2018-00-10 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "day 0", "2018-01-00 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "day 32", "2018-01-32 10:00:00", 0, DATETIME_EDATE, 0 },
	{ "hour 24", "2018-05-28 24:00:00", 0, DATETIME_ETIME, 0 },
	{ "minute 60", "2018-05-28 23:60:00", 0, DATETIME_ETIME, 0 },
	{ "leap second", "2016-12-31 23:59:60", 0, DATETIME_ETIME, 0 },
	{ "year 1899", "1899-12-31 23:59:59", 0, DATETIME_EYEAR, 0 },
	{ "year 2101", "2101-01-01 00:00:00", 0, DATETIME_EYEAR, 0 },
	{ "year 0000", "0000-01-01 00:00:00", 0, DATETIME_EYEAR, 0 },
	{ "dot no digits", "2018-05-28 09:03:40.", 0, DATETIME_EFORM, 0 },
	{ "7 fraction digits", "2018-05-28 09:03:40.1234567", 0,
	    DATETIME_EFRACTION, 0 },
	{ "comma fraction", "2018-05-28 09:03:40,5", 0, DATETIME_EFORM, 0 },
	{ "fraction junk", "2018-05-28 09:03:40.5x", 0, DATETIME_EFORM, 0 },
	{ "zone Z", "2018-05-28 09:03:40Z", 0, DATETIME_EZONE, 0 },
	{ "zone offset", "2018-05-28 09:03:40+02:00", 0, DATETIME_EZONE, 0 },
	{ "lower t", "2018-05-28t09:03:40", 0, DATETIME_EFORM, 0 },
	{ "two spaces", "2018-05-28  09:03:40", 0, DATETIME_EFORM, 0 },
	{ "leading space", " 2018-05-28 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "trailing space", "2018-05-28 09:03:40 ", 0, DATETIME_EFORM, 0 },
	{ "slashes", "2018/05/28 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "short month", "2018-5-28 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "signed year", "+018-05-28 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "sign in month", "2018--5-28 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "space in hour", "2018-05-28  9:03:40", 0, DATETIME_EFORM, 0 },
	{ "NUL", "2018-05-28\00009:03:40", 19, DATETIME_EFORM, 0 },
	{ "NUL fraction", "2018-05-28 09:03:40.\0", 21, DATETIME_EFORM, 0 },
	{ "US order", "05-28-2018 09:03:40", 0, DATETIME_EFORM, 0 },
	{ "unix time", "1527498220", 0, DATETIME_EFORM, 0 },
	{ "US date, no seconds", "08/03/2019 08:00", 0, DATETIME_EFORM, 0 },
	{ "European date", "28.05.2018 09:03:40", 0, DATETIME_EFORM, 0 },

	/* What comes after the time: a zone, or else not the form. */
	{ "zone Z after fraction", "2018-05-28 09:03:40.5Z", 0, DATETIME_EZONE,
	    0 },
	{ "zone -05", "2018-05-28 09:03:40-05", 0, DATETIME_EZONE, 0 },
	{ "zone +0200", "2018-05-28T09:03:40+0200", 0, DATETIME_EZONE, 0 },
	{ "zone space +02", "2018-05-28 09:03:40 +02", 0, DATETIME_EZONE, 0 },
	{ "zone UTC", "2018-05-28 09:03:40 UTC", 0, DATETIME_EZONE, 0 },
	{ "zone CEST", "2018-05-28 09:03:40CEST", 0, DATETIME_EZONE, 0 },
	{ "zone GMT+1", "2018-05-28 09:03:40 GMT+1", 0, DATETIME_EZONE, 0 },
	{ "zone name", "2018-05-28 09:03:40 Europe/Prague", 0, DATETIME_EZONE,
	    0 },
	{ "zone +1", "2018-05-28 09:03:40+1", 0, DATETIME_EZONE, 0 },
	{ "zone Zulu", "2018-05-28 09:03:40 Zulu", 0, DATETIME_EZONE, 0 },
	{ "zone with _", "2018-05-28 09:03:40 America/Port_of_Spain", 0,
	    DATETIME_EZONE, 0 },
	{ "zone with z", "2018-05-28 09:03:40 America/Mazatlan", 0,
	    DATETIME_EZONE, 0 },
	{ "zone on a bad date", "2018-02-30 09:03:40Z", 0, DATETIME_EZONE, 0 },
	{ "7 digits and a zone", "2018-05-28 09:03:40.1234567Z", 0,
	    DATETIME_EFRACTION, 0 },
	{ "lower z", "2018-05-28 09:03:40z", 0, DATETIME_EFORM, 0 },
	{ "PM", "2018-05-28 09:03:40 PM", 0, DATETIME_EFORM, 0 },
	{ "a sign alone", "2018-05-28 09:03:40+", 0, DATETIME_EFORM, 0 },
	{ "sign, no digit", "2018-05-28 09:03:40+x", 0, DATETIME_EFORM, 0 },
	{ "two spaces, zone", "2018-05-28 09:03:40  UTC", 0, DATETIME_EFORM,
	    0 },
	{ "zone, then junk", "2018-05-28 09:03:40 UTC!", 0, DATETIME_EFORM,
	    0 },
	{ "two letters, a digit", "2018-05-28 09:03:40 AB1", 0, DATETIME_EFORM,
	    0 },
	{ "lower-case word", "2018-05-28 09:03:40 utc", 0, DATETIME_EFORM, 0 },
	{ "digit after seconds", "2018-05-28 09:03:401", 0, DATETIME_EFORM,
	    0 },
	{ "NUL after seconds", "2018-05-28 09:03:40\0", 20, DATETIME_EFORM, 0 },
};

static const struct {
	const char	*label;
	int64_t		 us;
	const char	*want;
} fmt_cases[] = {
	{ "epoch", 0, "1970-01-01 00:00:00" },
	{ "sample", INT64_C(1527498220000000), "2018-05-28 09:03:40" },
	{ "micros", INT64_C(1527498220000001), "2018-05-28 09:03:40.000001" },
	{ "half", INT64_C(1527498220500000), "2018-05-28 09:03:40.500000" },
	{ "before epoch", INT64_C(-1), "1969-12-31 23:59:59.999999" },
	{ "first", INT64_C(-2208988800000000), "1900-01-01 00:00:00" },
	{ "last", INT64_C(4133980799999999), "2100-12-31 23:59:59.999999" },
};

static void
test_parse(void)
{
	size_t	 i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dt_case *c = &cases[i];
		int64_t	 v = 12345;
		char	*p;
		enum datetime_err err;

		len = c->len ? c->len : strlen(c->in);
		/* Exactly len bytes: ASan reports a read of buf[len]. */
		if ((p = malloc(len)) == NULL && len > 0)
			abort();
		memcpy(p, c->in, len);
		err = datetime_parse(p, len, &v);
		free(p);
		UNIT_CHECK(err == c->err, "%s: \"%s\", want \"%s\"", c->label,
		    datetime_strerror(err), datetime_strerror(c->err));
		if (c->err == DATETIME_OK)
			UNIT_CHECK(v == c->want, "%s: got %lld, want %lld",
			    c->label, (long long)v, (long long)c->want);
		else
			UNIT_CHECK(v == 12345, "%s: output written on error",
			    c->label);
	}
}

/* The reasons a reject gives after "datetime: " (lib/trip.c). */
static void
test_strerror(void)
{
	static const char *const want[DATETIME__MAX] = {
		"ok",
		"expected YYYY-MM-DD HH:MM:SS",
		"expected at most 6 digits after the seconds",
		"a time zone is not accepted, expected YYYY-MM-DD HH:MM:SS",
		"year not between 1900 and 2100",
		"no such date",
		"time not between 00:00:00 and 23:59:59",
	};
	int	 e;

	for (e = 0; e < DATETIME__MAX; e++)
		UNIT_CHECK(strcmp(datetime_strerror((enum datetime_err)e),
		    want[e]) == 0, "strerror %d: \"%s\"", e,
		    datetime_strerror((enum datetime_err)e));
	UNIT_CHECK(strcmp(datetime_strerror(DATETIME__MAX), "unknown error")
	    == 0, "strerror out of range");
}

static void
test_format(void)
{
	char	 buf[DATETIME_FORMAT_SIZE], big[64];
	size_t	 i, n;

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		n = datetime_format(fmt_cases[i].us, buf, sizeof(buf));
		UNIT_CHECK(n == strlen(fmt_cases[i].want) &&
		    strcmp(buf, fmt_cases[i].want) == 0, "format %s: \"%s\"",
		    fmt_cases[i].label, buf);
	}
	n = datetime_format(0, buf, 19);
	UNIT_CHECK(n == 0, "format into 19 bytes: %zu", n);
	n = datetime_format(0, buf, 20);
	UNIT_CHECK(n == 19, "format into 20 bytes: %zu", n);
	/*
	 * The extremes (no overflow on the way, which the sanitizers would
	 * report): years beyond 9999 need more than DATETIME_FORMAT_SIZE,
	 * so 0 there, and the proleptic Gregorian text in a larger buffer.
	 */
	n = datetime_format(INT64_MIN, buf, DATETIME_FORMAT_SIZE);
	UNIT_CHECK(n == 0, "format INT64_MIN into %d bytes: %zu",
	    DATETIME_FORMAT_SIZE, n);
	n = datetime_format(INT64_MAX, buf, DATETIME_FORMAT_SIZE);
	UNIT_CHECK(n == 0, "format INT64_MAX into %d bytes: %zu",
	    DATETIME_FORMAT_SIZE, n);
	n = datetime_format(INT64_MIN, big, sizeof(big));
	UNIT_CHECK(n == 29 && strcmp(big, "-290308-12-21 19:59:05.224192") == 0,
	    "format INT64_MIN: \"%s\"", big);
	n = datetime_format(INT64_MAX, big, sizeof(big));
	UNIT_CHECK(n == 28 && strcmp(big, "294247-01-10 04:00:54.775807") == 0,
	    "format INT64_MAX: \"%s\"", big);
}

/*
 * Every day of the accepted range, at a time of day that changes with
 * the day, against the C library's timegm(): parse, format, parse again.
 */
static void
test_every_day(void)
{
	char	 buf[DATETIME_FORMAT_SIZE];
	int64_t	 us, back, prev = INT64_MIN;
	struct tm tm;
	time_t	 t;
	int	 y, m, d, bad = 0, days = 0;
	size_t	 n;

	for (y = DATETIME_YEAR_MIN; y <= DATETIME_YEAR_MAX; y++)
		for (m = 1; m <= 12; m++)
			for (d = 1; d <= 31; d++) {
				memset(&tm, 0, sizeof(tm));
				tm.tm_year = y - 1900;
				tm.tm_mon = m - 1;
				tm.tm_mday = d;
				tm.tm_hour = d % 24;
				tm.tm_min = (d * 7) % 60;
				tm.tm_sec = (m * 5) % 60;
				/* timegm normalises Feb 30 to Mar 2: skip. */
				t = timegm(&tm);
				if (tm.tm_mday != d || tm.tm_mon != m - 1)
					continue;
				n = (size_t)snprintf(buf, sizeof(buf),
				    "%04d-%02d-%02d %02d:%02d:%02d", y, m, d,
				    d % 24, (d * 7) % 60, (m * 5) % 60);
				if (datetime_parse(buf, n, &us) != 0 ||
				    us != (int64_t)t * 1000000) {
					bad++;
					continue;
				}
				n = datetime_format(us + d, buf, sizeof(buf));
				if (datetime_parse(buf, n, &back) != 0 ||
				    back != us + d || back <= prev)
					bad++;
				prev = back;
				days++;
			}
	UNIT_CHECK(bad == 0, "every day: %d mismatches", bad);
	/* 201 years, 49 of them leap (1900 and 2100 are not). */
	UNIT_CHECK(days == 201 * 365 + 49, "every day: %d days", days);
}

/* Dates that do not exist, found by brute force over 2 years. */
static void
test_no_phantom_days(void)
{
	char	 buf[32];
	int	 y, m, d, ok, want, mismatch = 0;
	int64_t	 us;
	size_t	 n;

	for (y = 2099; y <= 2100; y++)
		for (m = 0; m <= 13; m++)
			for (d = 0; d <= 32; d++) {
				n = (size_t)snprintf(buf, sizeof(buf),
				    "%04d-%02d-%02d 00:00:00", y, m, d);
				ok = datetime_parse(buf, n, &us) == 0;
				want = m >= 1 && m <= 12 && d >= 1 &&
				    d <= (m == 2 ? 28 : (m == 4 || m == 6 ||
				    m == 9 || m == 11) ? 30 : 31);
				if (ok != want)
					mismatch++;
			}
	UNIT_CHECK(mismatch == 0, "phantom days: %d", mismatch);
}

int
main(void)
{
	test_parse();
	test_strerror();
	test_format();
	test_every_day();
	test_no_phantom_days();
	return unit_done("test_datetime");
}
