/*
 * digest.c: SHA-256 through OpenSSL EVP (see digest.h).
 */
#include <stdlib.h>

#include <openssl/evp.h>

#include "digest.h"
#include "log.h"

struct digest {
	EVP_MD_CTX	*ctx;
};

struct digest *
digest_new(void)
{
	struct digest *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) != 1) {
		log_error("sha-256: could not start a digest");
		digest_free(d);
		return NULL;
	}
	return d;
}

int
digest_update(struct digest *d, const void *buf, size_t len)
{
	if (EVP_DigestUpdate(d->ctx, buf, len) != 1) {
		log_error("sha-256: update failed");
		return -1;
	}
	return 0;
}

int
digest_hex(struct digest *d, char hex[DIGEST_HEX_SIZE])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0, i;

	if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1 || n != DIGEST_LEN) {
		log_error("sha-256: final failed");
		return -1;
	}
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * n] = '\0';
	return 0;
}

void
digest_free(struct digest *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

int
digest_once(const void *buf, size_t len, unsigned char out[DIGEST_LEN])
{
	unsigned int n = 0;

	if (EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != DIGEST_LEN) {
		log_error("sha-256: digest failed");
		return -1;
	}
	return 0;
}
