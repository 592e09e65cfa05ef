/*
 * fuzz_datetime.c: lib/datetime.c against the C library's timegm().
 *
 * Properties:
 * - datetime_parse accepts exactly the texts of the shape
 *   "YYYY-MM-DD[ T]HH:MM:SS[.f{1,6}]" that name a real time (timegm
 *   normalises the fields back unchanged) in years 1900 to 2100, with
 *   timegm's value, and leaves *epoch_us alone otherwise;
 * - it refuses a text of that shape for its year, else its date, else
 *   its time, and any other text for its form, fraction or zone; every
 *   refusal has a message;
 * - round trip: datetime_format of an accepted value parses back to it;
 * - datetime_format of any 64-bit value (the first 8 input bytes) either
 *   returns 0 or a NUL-terminated text that fits, and within the accepted
 *   years that text parses back to the value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
digits(const char *s, size_t n, int *out)
{
	size_t	 i;
	int	 v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * The expected result by an independent route: DATETIME_OK and *us, the
 * range a text of the shape is out of, or -1 for a text not of it.
 */
static int
reference(const char *s, size_t n, int64_t *us)
{
	struct tm	 tm, back;
	int		 y, mo, d, h, mi, se, frac = 0, k;
	time_t		 t;

	if (n < 19 || n == 20 || n > 26)
		return -1;
	if (s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
	    s[13] != ':' || s[16] != ':')
		return -1;
	if (digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
	    digits(s + 8, 2, &d) || digits(s + 11, 2, &h) ||
	    digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return -1;
	if (n > 19) {
		if (s[19] != '.' || digits(s + 20, n - 20, &frac))
			return -1;
		for (k = (int)(n - 20); k < 6; k++)
			frac *= 10;
	}
	if (y < DATETIME_YEAR_MIN || y > DATETIME_YEAR_MAX)
		return DATETIME_EYEAR;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	back = tm;
	(void)timegm(&back);
	/* timegm normalises 30 February to 2 March: compare the fields. */
	if (back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
	    back.tm_mday != tm.tm_mday)
		return DATETIME_EDATE;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	back = tm;
	t = timegm(&back);
	if (back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
	    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
		return DATETIME_ETIME;
	*us = (int64_t)t * 1000000 + frac;
	return DATETIME_OK;
}

static int64_t
year_start_us(int y)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm) * 1000000;
}

/* Format v; check the contract; parse back when in the accepted years. */
static void
format_check(int64_t v)
{
	char	 out[DATETIME_FORMAT_SIZE];
	int64_t	 back = 0;
	size_t	 n;

	n = datetime_format(v, out, sizeof(out));
	if (n == 0)
		return;
	if (n >= sizeof(out) || out[n] != '\0' || strlen(out) != n)
		abort();
	if (v >= year_start_us(DATETIME_YEAR_MIN) &&
	    v < year_start_us(DATETIME_YEAR_MAX + 1) &&
	    (datetime_parse(out, n, &back) != 0 || back != v))
		abort();	/* format -> parse is not the identity */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const int64_t	 sentinel = INT64_MIN + 17;
	int64_t		 us = sentinel, ref = 0, raw;
	enum datetime_err rc;
	const char	*msg;
	int		 rrc;

	rc = datetime_parse((const char *)data, size, &us);
	rrc = reference((const char *)data, size, &ref);
	if (rrc == -1 ? rc != DATETIME_EFORM && rc != DATETIME_EFRACTION &&
	    rc != DATETIME_EZONE : (int)rc != rrc)
		abort();	/* accepts or refuses unlike timegm */
	msg = datetime_strerror(rc);
	if (msg == NULL || msg[0] == '\0')
		abort();
	if (rc != DATETIME_OK) {
		if (us != sentinel)
			abort();	/* output touched on error */
	} else {
		if (us != ref)
			abort();	/* another value than timegm's */
		format_check(us);
	}
	if (size >= 8) {
		memcpy(&raw, data, sizeof(raw));
		format_check(raw);
		/* Also near the accepted years, where most values land. */
		format_check(year_start_us(DATETIME_YEAR_MIN) +
		    (int64_t)((uint64_t)raw % (uint64_t)(year_start_us(
		    DATETIME_YEAR_MAX + 1) - year_start_us(DATETIME_YEAR_MIN))));
	}
	return 0;
}
