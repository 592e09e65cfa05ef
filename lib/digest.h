/*
 * digest.h: SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, for
 * jobs.sha256 and the token check.
 */
#ifndef TRIPLINE_DIGEST_H
#define TRIPLINE_DIGEST_H

#include <stddef.h>

#define DIGEST_LEN	32			/* bytes of a SHA-256 */
#define DIGEST_HEX_SIZE	(2 * DIGEST_LEN + 1)	/* hex and NUL */

struct digest;

/* A running SHA-256, or NULL after logging. */
struct digest *digest_new(void);
/* 0, or -1 after logging. */
int	digest_update(struct digest *, const void *buf, size_t len);
/* Finish into lower-case hex (jobs.sha256's form); 0 or -1. */
int	digest_hex(struct digest *, char hex[DIGEST_HEX_SIZE]);
void	digest_free(struct digest *);

/* SHA-256 of one buffer; 0, or -1 after logging. */
int	digest_once(const void *buf, size_t len, unsigned char out[DIGEST_LEN]);

#endif
