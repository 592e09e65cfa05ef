/*
 * test_digest.c: lib/digest.c, SHA-256 against the FIPS 180-2 appendix B
 * examples, whole and fed in pieces, as hex and as bytes.
 */
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "unit.h"

static const struct {
	const char	*label;
	const char	*in;
	const char	*hex;
} vectors[] = {
	{ "empty", "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "two blocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static void
test_vectors(void)
{
	char		 hex[DIGEST_HEX_SIZE], once[DIGEST_HEX_SIZE];
	unsigned char	 md[DIGEST_LEN];
	struct digest	*d;
	size_t		 i, k, len;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		len = strlen(vectors[i].in);
		/* Whole. */
		if ((d = digest_new()) == NULL) {
			UNIT_CHECK(0, "%s: digest_new", vectors[i].label);
			continue;
		}
		memset(hex, 'Z', sizeof(hex));
		UNIT_CHECK(digest_update(d, vectors[i].in, len) == 0 &&
		    digest_hex(d, hex) == 0 && strcmp(hex, vectors[i].hex) == 0,
		    "%s: whole: %.*s", vectors[i].label, DIGEST_HEX_SIZE - 1,
		    hex);
		digest_free(d);
		/* A byte at a time. */
		if ((d = digest_new()) == NULL)
			continue;
		for (k = 0; k < len; k++)
			digest_update(d, vectors[i].in + k, 1);
		UNIT_CHECK(digest_hex(d, hex) == 0 &&
		    strcmp(hex, vectors[i].hex) == 0, "%s: bytes: %s",
		    vectors[i].label, hex);
		digest_free(d);
		/* digest_once: the same bytes. */
		UNIT_CHECK(digest_once(vectors[i].in, len, md) == 0,
		    "%s: once", vectors[i].label);
		for (k = 0; k < DIGEST_LEN; k++)
			snprintf(once + 2 * k, 3, "%02x", md[k]);
		UNIT_CHECK(strcmp(once, vectors[i].hex) == 0, "%s: once: %s",
		    vectors[i].label, once);
	}
	digest_free(NULL);
}

int
main(void)
{
	test_vectors();
	return unit_done("test_digest");
}
