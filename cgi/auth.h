/*
 * auth.h: the bearer token (RFC 6750) that guards writes
 * (TRIPLINE_TOKEN; the program refuses to start without one, and an
 * empty one matches nothing).
 */
#ifndef TRIPLINE_AUTH_H
#define TRIPLINE_AUTH_H

struct http_req;

/*
 * 0 when the request may go on: it carries "Authorization: Bearer
 * <token>" (none matches an empty token).  Otherwise answers 401 with
 * WWW-Authenticate: Bearer (and error="invalid_token" for a wrong one,
 * RFC 6750 section 3.1) and returns -1.  The token is never logged.
 */
int	auth_require(struct http_req *);

#endif
