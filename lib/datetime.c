/*
 * datetime.c: naive timestamps without strptime, timegm or the locale.
 * Day numbers come from Howard Hinnant's days_from_civil and
 * civil_from_days ("chrono-Compatible Low-Level Date Algorithms"), exact
 * for the proleptic Gregorian calendar, which is also PostgreSQL's (docs,
 * appendix B.6 "History of Units").
 */
#include <stdio.h>

#include "datetime.h"

#define US_PER_SEC	INT64_C(1000000)
#define US_PER_DAY	(INT64_C(86400) * US_PER_SEC)

/* A field of the text: its offset, width and largest value. */
enum dt_field {
	DT_YEAR,
	DT_MONTH,
	DT_DAY,
	DT_HOUR,
	DT_MINUTE,
	DT_SECOND,
	DT__MAX
};

/* The day's largest value is the month's length: dt_month_days(). */
static const struct {
	size_t			 off, width;
	int			 min, max;
	enum datetime_err	 err;
} dt_fields[DT__MAX] = {
	{ 0, 4, DATETIME_YEAR_MIN, DATETIME_YEAR_MAX, DATETIME_EYEAR },
							/* DT_YEAR */
	{ 5, 2, 1, 12, DATETIME_EDATE },		/* DT_MONTH */
	{ 8, 2, 1, 31, DATETIME_EDATE },		/* DT_DAY */
	{ 11, 2, 0, 23, DATETIME_ETIME },		/* DT_HOUR */
	{ 14, 2, 0, 59, DATETIME_ETIME },		/* DT_MINUTE */
	{ 17, 2, 0, 59, DATETIME_ETIME },		/* DT_SECOND */
};

#define DT_STR(x)	DT_STR_(x)
#define DT_STR_(x)	#x
#define DT_FORM		"YYYY-MM-DD HH:MM:SS"

static const char *const dt_errors[DATETIME__MAX] = {
	"ok",						/* DATETIME_OK */
	"expected " DT_FORM,				/* DATETIME_EFORM */
	"expected at most 6 digits after the seconds",	/* DATETIME_EFRACTION */
	"a time zone is not accepted, expected " DT_FORM, /* DATETIME_EZONE */
	"year not between " DT_STR(DATETIME_YEAR_MIN) " and "
	    DT_STR(DATETIME_YEAR_MAX),			/* DATETIME_EYEAR */
	"no such date",					/* DATETIME_EDATE */
	"time not between 00:00:00 and 23:59:59",	/* DATETIME_ETIME */
};

/* The separators between the fields: "YYYY-MM-DD HH:MM:SS". */
static const struct {
	size_t	 off;
	char	 c, alt;
} dt_seps[] = {
	{ 4, '-', '-' },
	{ 7, '-', '-' },
	{ 10, ' ', 'T' },	/* ISO 8601 date and time separator */
	{ 13, ':', ':' },
	{ 16, ':', ':' },
};

#define DT_BASE_LEN	19	/* "YYYY-MM-DD HH:MM:SS" */
#define DT_FRAC_MAX	6

static int
dt_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
dt_month_days(int64_t y, int m)
{
	static const int days[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && dt_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t
dt_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;				/* [0, 399] */
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* The inverse of dt_days_from_civil (Hinnant). */
static void
dt_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
dt_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
dt_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
dt_letter(char c)
{
	return dt_upper(c) || (c >= 'a' && c <= 'z');
}

/* A character of a zone: "Europe/Port-au-Prince", "GMT+1", "+02:00". */
static int
dt_zone_char(char c)
{
	return dt_letter(c) || dt_digit(c) || c == '/' || c == '_' ||
	    c == '+' || c == '-' || c == ':';
}

/*
 * Whether the n bytes after a time are a time zone (datetime.h): one
 * space or none, then 'Z' alone, or a sign and a digit, or 3 letters the
 * first upper-case, and nothing but letters, digits and / _ + - : in
 * all.  "PM" and "x" are not.
 */
static int
dt_zone(const char *s, size_t n)
{
	size_t	 i;
	int	 offset, name;

	if (n > 0 && s[0] == ' ') {
		s++;
		n--;
	}
	if (n == 1)
		return s[0] == 'Z';
	offset = n >= 2 && (s[0] == '+' || s[0] == '-') && dt_digit(s[1]);
	name = n >= 3 && dt_upper(s[0]) && dt_letter(s[1]) &&
	    dt_letter(s[2]);
	if (!offset && !name)
		return 0;
	for (i = 0; i < n; i++)
		if (!dt_zone_char(s[i]))
			return 0;
	return 1;
}

static int
dt_digits(const char *buf, size_t width, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < width; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		v = v * 10 + (buf[i] - '0');
	}
	*out = v;
	return 0;
}

enum datetime_err
datetime_parse(const char *buf, size_t len, int64_t *epoch_us)
{
	int	 v[DT__MAX], frac = 0, f, max;
	size_t	 i, end = DT_BASE_LEN, nfrac = 0;

	if (len < DT_BASE_LEN)
		return DATETIME_EFORM;
	for (i = 0; i < sizeof(dt_seps) / sizeof(dt_seps[0]); i++)
		if (buf[dt_seps[i].off] != dt_seps[i].c &&
		    buf[dt_seps[i].off] != dt_seps[i].alt)
			return DATETIME_EFORM;
	for (i = 0; i < DT__MAX; i++)
		if (dt_digits(buf + dt_fields[i].off, dt_fields[i].width,
		    &v[i]) != 0)
			return DATETIME_EFORM;
	if (end < len && buf[end] == '.') {
		/* ".f" to ".ffffff": scaled to microseconds. */
		while (end + 1 + nfrac < len && dt_digit(buf[end + 1 + nfrac]))
			nfrac++;
		if (nfrac == 0)
			return DATETIME_EFORM;
		if (nfrac > DT_FRAC_MAX)
			return DATETIME_EFRACTION;
		(void)dt_digits(buf + end + 1, nfrac, &frac);
		for (f = (int)nfrac; f < DT_FRAC_MAX; f++)
			frac *= 10;
		end += 1 + nfrac;
	}
	if (end < len)
		return dt_zone(buf + end, len - end) ? DATETIME_EZONE :
		    DATETIME_EFORM;
	/* In the table's order: the year, then the date, then the time. */
	for (i = 0; i < DT__MAX; i++) {
		max = i == DT_DAY ? dt_month_days(v[DT_YEAR], v[DT_MONTH]) :
		    dt_fields[i].max;
		if (v[i] < dt_fields[i].min || v[i] > max)
			return dt_fields[i].err;
	}
	*epoch_us = dt_days_from_civil(v[DT_YEAR], v[DT_MONTH], v[DT_DAY]) *
	    US_PER_DAY + ((int64_t)v[DT_HOUR] * 3600 +
	    (int64_t)v[DT_MINUTE] * 60 + v[DT_SECOND]) * US_PER_SEC + frac;
	return DATETIME_OK;
}

const char *
datetime_strerror(enum datetime_err e)
{
	return (unsigned)e < DATETIME__MAX ? dt_errors[e] : "unknown error";
}

size_t
datetime_format(int64_t epoch_us, char *out, size_t outsz)
{
	int64_t	 days, rem, y;
	int	 m, d, n, us;

	/* Floor division: times before 1970 belong to the day before. */
	days = epoch_us / US_PER_DAY;
	rem = epoch_us % US_PER_DAY;
	if (rem < 0) {
		rem += US_PER_DAY;
		days--;
	}
	dt_civil_from_days(days, &y, &m, &d);
	us = (int)(rem % US_PER_SEC);
	rem /= US_PER_SEC;
	if (us != 0)
		n = snprintf(out, outsz, "%04lld-%02d-%02d %02d:%02d:%02d.%06d",
		    (long long)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60), us);
	else
		n = snprintf(out, outsz, "%04lld-%02d-%02d %02d:%02d:%02d",
		    (long long)y, m, d, (int)(rem / 3600),
		    (int)(rem / 60 % 60), (int)(rem % 60));
	return (n < 0 || (size_t)n >= outsz) ? 0 : (size_t)n;
}
