/*
 * fuzz_inboxreq.c: cgi/inboxreq.c, the JSON body {"path": "..."} of an
 * inbox submission.  Properties:
 * - a refusal always says why, and names a member only with a reason;
 * - an accepted body gives a path whose length is the string's, and
 *   writing {"path": <that string>} back with json-c and parsing it again
 *   gives the same bytes.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "inboxreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*obj = NULL, *again = NULL, *o;
	const char		*path, *path2, *reason;
	char			 err[256], param[64];
	const char		*text;
	size_t			 plen, plen2;

	if (size > 8192)
		return 0;
	/* Cleared: a failure must write its own message. */
	err[0] = '\0';
	if (inboxreq_parse((const char *)data, size, &obj, &path, &plen, err,
	    sizeof(err), param, sizeof(param), &reason) != 0) {
		assert(err[0] != '\0');
		assert(param[0] == '\0' || (reason != NULL && reason[0] != '\0'));
		return 0;
	}
	assert(path != NULL);
	o = json_object_new_object();
	json_object_object_add(o, "path", json_object_new_string_len(path, (int)plen));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	assert(inboxreq_parse(text, strlen(text), &again, &path2, &plen2, err,
	    sizeof(err), param, sizeof(param), &reason) == 0);
	assert(plen2 == plen && memcmp(path, path2, plen) == 0);
	json_object_put(again);
	json_object_put(o);
	json_object_put(obj);
	return 0;
}
