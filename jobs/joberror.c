/*
 * joberror.c: a job's error as users read it; see joberror.h.
 */
#include <string.h>

#include "joberror.h"
#include "utf8.h"

#define JOBERROR_LINE	1024	/* jobs.error holds about this much */

/*
 * libpq's severity prefixes ("%s:  ", pqBuildErrorMessage3 in libpq's
 * fe-protocol3.c): to a user a word that says nothing the message does
 * not.
 */
static const char *const joberror_severities[] = {
	"ERROR:  ", "FATAL:  ", "PANIC:  "
};

/* The length of the severity prefix (buf, len) starts with, or 0. */
static size_t
severity_len(const char *buf, size_t len)
{
	size_t	 k, n;

	for (k = 0; k < sizeof(joberror_severities) /
	    sizeof(joberror_severities[0]); k++) {
		n = strlen(joberror_severities[k]);
		if (n <= len && memcmp(buf, joberror_severities[k], n) == 0)
			return n;
	}
	return 0;
}

static int
is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int
is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

size_t
joberror_clean(const char *buf, size_t len, char *out, size_t outsz)
{
	char	 line[JOBERROR_LINE];
	size_t	 i = 0, n = 0, skip;
	int	 quoted = 0, escaped = 0;

	while (i < len && (buf[i] == '\n' || buf[i] == '\r'))
		i++;
	for (; i < len && buf[i] != '\n' && buf[i] != '\r' &&
	    n < sizeof(line); i++) {
		if (!quoted && (skip = severity_len(buf + i, len - i)) > 0) {
			i += skip - 1;
			continue;
		}
		line[n] = buf[i] == '\t' ? ' ' : buf[i];
		if (escaped)
			escaped = 0;
		else if (quoted && buf[i] == '\\')
			escaped = 1;
		else if (buf[i] == '"')
			quoted = !quoted;
		else if (!quoted && n >= 2 && line[n - 2] == ':' &&
		    line[n - 1] == ' ' && is_upper(buf[i]) && i + 1 < len &&
		    is_lower(buf[i + 1]))
			line[n] = (char)(buf[i] - 'A' + 'a');
		n++;
	}
	while (n > 0 && line[n - 1] == ' ')
		n--;
	return utf8_sanitize(line, n, out, outsz);
}

size_t
joberror_oneline(const char *buf, size_t len, char *out, size_t outsz)
{
	char	 line[JOBERROR_LINE];
	size_t	 i, n = 0;

	for (i = 0; i < len && n + 3 < sizeof(line); i++) {
		if (buf[i] != '\n' && buf[i] != '\r') {
			line[n++] = buf[i] == '\t' ? ' ' : buf[i];
			continue;
		}
		/* One " | " between two lines, none at either end. */
		while (i + 1 < len &&
		    (buf[i + 1] == '\n' || buf[i + 1] == '\r'))
			i++;
		if (n > 0 && i + 1 < len) {
			memcpy(line + n, " | ", 3);
			n += 3;
		}
	}
	return utf8_sanitize(line, n, out, outsz);
}
