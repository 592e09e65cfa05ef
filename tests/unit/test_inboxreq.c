/*
 * test_inboxreq.c: the inbox request {"path": "..."}: paths taken as the
 * bytes they name, and bodies refused with their message, among them a
 * \u escape of half a surrogate pair, which json-c would turn into
 * U+FFFD and so into the name of another file.
 */
#include <string.h>

#include <json-c/json.h>

#include "inboxreq.h"
#include "unit.h"

struct ok_case {
	const char	*body;
	const char	*path;
	size_t		 plen;
};

static const struct ok_case ok_cases[] = {
	{ "{\"path\": \"a.csv\"}", "a.csv", 5 },
	/* A byte order mark first is ignored (RFC 8259 section 8.1). */
	{ "\xef\xbb\xbf{\"path\": \"a.csv\"}", "a.csv", 5 },
	{ " {\"path\":\"sub/a.csv\"} \n", "sub/a.csv", 9 },
	/* A pair: U+10000. */
	{ "{\"path\": \"\\ud800\\udc00.csv\"}", "\xf0\x90\x80\x80.csv", 8 },
	{ "{\"path\": \"\\uD83D\\uDE00\"}", "\xf0\x9f\x98\x80", 4 },
	/* U+FFFD sent as itself is a name like any other. */
	{ "{\"path\": \"\\ufffd.csv\"}", "\xef\xbf\xbd.csv", 7 },
	{ "{\"path\": \"\xef\xbf\xbd.csv\"}", "\xef\xbf\xbd.csv", 7 },
	/* An escaped backslash, then the letters "ud800". */
	{ "{\"path\": \"\\\\ud800\"}", "\\ud800", 6 },
	{ "{\"path\": \"\\ue000\"}", "\xee\x80\x80", 3 },
};

struct bad_case {
	const char	*body;
	const char	*detail;	/* the whole message */
	const char	*param;		/* "" when no member is named */
};

#define OBJECT	"the body must be a json object {\"path\": \"name.csv\"}"

static const struct bad_case bad_cases[] = {
	{ "{\"path\": \"\\ud800.csv\"}",
	  "invalid json: unpaired surrogate \"\\ud800\"", "" },
	{ "{\"path\": \"\\udc80.csv\"}",
	  "invalid json: unpaired surrogate \"\\udc80\"", "" },
	{ "{\"path\": \"\\uDBFF\"}",
	  "invalid json: unpaired surrogate \"\\uDBFF\"", "" },
	{ "{\"path\": \"a\\ud800\\u0041\"}",
	  "invalid json: unpaired surrogate \"\\ud800\"", "" },
	{ "{\"path\": \"\\ud800\\ud800\\udc00\"}",
	  "invalid json: unpaired surrogate \"\\ud800\"", "" },
	{ "{\"path\": \"\\udc00\\ud800\"}",
	  "invalid json: unpaired surrogate \"\\udc00\"", "" },
	{ "{\"pa\\ud800th\": \"a.csv\"}",
	  "invalid json: unpaired surrogate \"\\ud800\"", "" },
	{ "{\"path\": \"a.csv\", \"path\": \"b.csv\"}",
	  "duplicate member \"path\" in the body", "path" },
	{ "{\"path\": 1}", "\"path\" must be a string", "path" },
	{ "{}", "the body needs a \"path\" member", "path" },
	/* Whole JSON values, not objects: what to send instead. */
	{ "null", OBJECT, "" },
	{ " null \n", OBJECT, "" },
	{ "true", OBJECT, "" },
	{ "1", OBJECT, "" },
	{ "-1.5e3 ", OBJECT, "" },
	{ "\"a.csv\"", OBJECT, "" },
	{ "[]", OBJECT, "" },
	/* Cut short, or not JSON. */
	{ "", "invalid json: unexpected end of input", "" },
	{ "{\"path\": ", "invalid json: unexpected end of input", "" },
	{ "nul", "invalid json: unexpected end of input", "" },
	{ "1 2", "invalid json: unexpected character", "" },
};

int
main(void)
{
	struct json_object	*obj;
	const char		*path, *reason;
	char			 err[256], param[64];
	size_t			 i, plen;
	int			 rc;

	for (i = 0; i < sizeof(ok_cases) / sizeof(ok_cases[0]); i++) {
		const struct ok_case *c = &ok_cases[i];

		obj = NULL;
		rc = inboxreq_parse(c->body, strlen(c->body), &obj, &path,
		    &plen, err, sizeof(err), param, sizeof(param), &reason);
		UNIT_CHECK(rc == 0, "%s: refused: %s", c->body, err);
		if (rc == 0)
			UNIT_CHECK(plen == c->plen &&
			    memcmp(path, c->path, plen) == 0,
			    "%s: path of %zu bytes", c->body, plen);
		json_object_put(obj);
	}
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		obj = NULL;
		rc = inboxreq_parse(c->body, strlen(c->body), &obj, &path,
		    &plen, err, sizeof(err), param, sizeof(param), &reason);
		UNIT_CHECK(rc == -1 && obj == NULL, "%s: taken", c->body);
		if (rc != -1) {
			json_object_put(obj);
			continue;
		}
		UNIT_CHECK(strcmp(err, c->detail) == 0, "%s: detail \"%s\"",
		    c->body, err);
		UNIT_CHECK(strcmp(param, c->param) == 0, "%s: param \"%s\"",
		    c->body, param);
	}
	return unit_done("inboxreq");
}
