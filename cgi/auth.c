/*
 * auth.c: bearer token check (see auth.h).
 *
 * The presented and the configured token are compared as SHA-256
 * digests with CRYPTO_memcmp: equal lengths whatever was sent, and a
 * comparison whose time does not depend on where the bytes differ.
 */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "config.h"
#include "digest.h"
#include "http.h"

#define REALM	"tripline"

int
auth_require(struct http_req *req)
{
	unsigned char	 want[DIGEST_LEN], got[DIGEST_LEN];
	const char	*token = req->cfg->token, *h, *t;

	/* main.c refuses to start without one: fail closed all the same. */
	if (token == NULL)
		token = "";
	h = http_param(req, "HTTP_AUTHORIZATION");
	/*
	 * RFC 9110 section 11.1: the scheme is case-insensitive.  A header
	 * of another form is told the form, never echoed: it may be the
	 * token itself, sent without its scheme.
	 */
	if (h == NULL || h[0] == '\0' || strncasecmp(h, "Bearer ", 7) != 0) {
		http_header(req, "WWW-Authenticate", "Bearer realm=\"%s\"",
		    REALM);
		if (h == NULL || h[0] == '\0')
			http_problem(req, 401, "a bearer token is required");
		else
			http_problem(req, 401, "the Authorization header must "
			    "be \"Bearer <token>\"");
		return -1;
	}
	for (t = h + 7; *t == ' '; t++)
		;
	if (digest_once(token, strlen(token), want) != 0 ||
	    digest_once(t, strlen(t), got) != 0) {
		http_problem(req, 500, "internal error");
		return -1;
	}
	if (token[0] == '\0' || CRYPTO_memcmp(want, got, DIGEST_LEN) != 0) {
		http_header(req, "WWW-Authenticate",
		    "Bearer realm=\"%s\", error=\"invalid_token\"", REALM);
		http_problem(req, 401, "invalid bearer token");
		return -1;
	}
	return 0;
}
