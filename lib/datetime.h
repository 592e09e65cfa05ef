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

/*
 * Parse exactly "YYYY-MM-DD HH:MM:SS" ('T' may stand for the space), with
 * an optional '.' and 1 to 6 fraction digits, and no zone.  The date must
 * exist (proleptic Gregorian calendar), years 1900 to 2100, hours 0-23,
 * minutes and seconds 0-59 (no leap second).  Returns 0 and sets
 * *epoch_us, else -1.
 */
int	datetime_parse(const char *buf, size_t len, int64_t *epoch_us);

/*
 * Write epoch_us as "YYYY-MM-DD HH:MM:SS", with ".ffffff" only when the
 * microseconds are not zero, NUL-terminated.  Returns the length, or 0
 * when outsz is too small for the text (DATETIME_FORMAT_SIZE is always
 * enough for years 0 to 9999).
 */
size_t	datetime_format(int64_t epoch_us, char *out, size_t outsz);

#endif
