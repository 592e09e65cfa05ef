/*
 * datetime.h: the trips files' naive timestamps, "2018-05-28 09:03:40",
 * as microseconds since 1970-01-01 00:00:00 counted as if in UTC: the
 * value PostgreSQL stores for a `timestamp` (without time zone) column,
 * less its 2000-01-01 epoch.
 */
#ifndef TRIPLINE_DATETIME_H
#define TRIPLINE_DATETIME_H

#include <stddef.h>
#include <stdint.h>

/* Years accepted by datetime_parse(). */
#define DATETIME_YEAR_MIN	1900
#define DATETIME_YEAR_MAX	2100

/* Room datetime_format() needs: "YYYY-MM-DD HH:MM:SS.ffffff" and a NUL. */
#define DATETIME_FORMAT_SIZE	27

/* Why datetime_parse() refused a text, checked in this order. */
enum datetime_err {
	DATETIME_OK,
	DATETIME_EFORM,		/* not "YYYY-MM-DD HH:MM:SS[.ffffff]" */
	DATETIME_EFRACTION,	/* more than 6 fraction digits */
	DATETIME_EZONE,		/* then a time zone: "Z", "+02:00", " UTC" */
	DATETIME_EYEAR,		/* a year outside 1900 to 2100 */
	DATETIME_EDATE,		/* no such day: 2018-02-30, month 13 */
	DATETIME_ETIME,		/* hour 24, minute or second 60 */
	DATETIME__MAX
};

/*
 * Parse exactly "YYYY-MM-DD HH:MM:SS" ('T' may stand for the space), with
 * an optional '.' and 1 to 6 fraction digits, and no zone.  The date must
 * exist (proleptic Gregorian calendar), years 1900 to 2100, hours 0-23,
 * minutes and seconds 0-59 (no leap second).  Returns DATETIME_OK (0) and
 * sets *epoch_us, else the first thing wrong.  A time zone is what
 * follows the time (after one space, if any): 'Z' alone, an offset
 * (a sign and a digit: "+02:00", "-0500"), or a name of 3 letters or more,
 * the first upper-case ("UTC", "CEST", "Europe/Prague", "GMT+1"); more
 * text of any other kind is DATETIME_EFORM.
 */
enum datetime_err datetime_parse(const char *buf, size_t len,
		    int64_t *epoch_us);

/*
 * A short lower-case message that says what is accepted:
 * "expected YYYY-MM-DD HH:MM:SS", "no such date", ...
 */
const char	*datetime_strerror(enum datetime_err);

/*
 * Write epoch_us as "YYYY-MM-DD HH:MM:SS", with ".ffffff" only when the
 * microseconds are not zero, NUL-terminated.  Returns the length, or 0
 * when outsz is too small for the text (DATETIME_FORMAT_SIZE is always
 * enough for years 0 to 9999).
 */
size_t	datetime_format(int64_t epoch_us, char *out, size_t outsz);

#endif
