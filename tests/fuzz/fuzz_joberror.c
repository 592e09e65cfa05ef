/*
 * fuzz_joberror.c: jobs/joberror.c, a libpq error as users read it
 * (jobs.error, the events) and as the log has it.
 *
 * Input: byte 0 sizes the output buffer (1 to 256 bytes); the rest is
 * the error text.  Properties, of both functions:
 * - the text is NUL-terminated at the returned length, shorter than the
 *   buffer, valid UTF-8 (utf8_valid: well-formed, no NUL), with no line
 *   break or tab;
 * - a small buffer holds a prefix of what a large one holds (the text is
 *   cut, not changed);
 * - joberror_clean's text, when not cut, ends in no space.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "joberror.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BIG	4096	/* more than either keeps (1024 bytes) */

typedef size_t (*joberror_fn)(const char *, size_t, char *, size_t);

static void
check(joberror_fn fn, const char *buf, size_t len, size_t outsz, int clean)
{
	char	*small, big[BIG];
	size_t	 n, nbig;

	if ((small = malloc(outsz)) == NULL)
		return;
	n = fn(buf, len, small, outsz);
	nbig = fn(buf, len, big, sizeof(big));
	if (n >= outsz || small[n] != '\0' || strlen(small) != n)
		abort();
	if (nbig >= sizeof(big) || big[nbig] != '\0' || strlen(big) != nbig)
		abort();
	if (!utf8_valid(small, n) || !utf8_valid(big, nbig))
		abort();
	if (strpbrk(big, "\r\n\t") != NULL)
		abort();
	if (n > nbig || memcmp(small, big, n) != 0)
		abort();	/* not a prefix */
	if (clean && nbig > 0 && big[nbig - 1] == ' ')
		abort();
	free(small);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*buf;
	size_t	 len, outsz;

	if (size < 1)
		return 0;
	outsz = (size_t)data[0] + 1;
	len = size - 1;
	/* An exact-size copy, so ASan sees a read past the text. */
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	check(joberror_clean, buf, len, outsz, 1);
	check(joberror_oneline, buf, len, outsz, 0);
	free(buf);
	return 0;
}
