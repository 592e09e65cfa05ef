/*
 * inboxreq.h: the body of an inbox submission, {"path": "name.csv"}, as a
 * pure function over (buf, len) so that it can be fuzzed
 * (tests/fuzz/fuzz_inboxreq.c).
 */
#ifndef TRIPLINE_INBOXREQ_H
#define TRIPLINE_INBOXREQ_H

#include <stddef.h>

struct json_object;

#define INBOXREQ_DEPTH	3	/* {"path": "..."} needs 2 */

/*
 * Parse strictly (RFC 8259, valid UTF-8, no \u escape of half a surrogate
 * pair, nothing but white space after the value) an object whose only
 * member is the string "path".  Returns 0 with
 * *obj (free with json_object_put) and *path, *plen pointing into it; or
 * -1 with a user-facing detail in err and, when one member is at fault,
 * its name in param and the short reason in *reason (else param is "").
 */
int	inboxreq_parse(const char *buf, size_t len, struct json_object **obj,
	    const char **path, size_t *plen, char *err, size_t errsz,
	    char *param, size_t paramsz, const char **reason);

#endif
