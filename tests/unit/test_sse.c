/*
 * test_sse.c: cgi/sse.c, the event stream framing and Last-Event-ID.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "unit.h"

struct leid_case {
	const char	*label;
	const char	*in;		/* NULL: no header */
	size_t		 len;		/* 0: strlen(in) */
	enum sse_leid	 want;
	int64_t		 id;
};

static const struct leid_case leid_cases[] = {
	{ "absent", NULL, 0, SSE_LEID_ABSENT, 0 },
	{ "empty", "", 0, SSE_LEID_ABSENT, 0 },
	{ "spaces only", "  \t", 0, SSE_LEID_ABSENT, 0 },
	{ "zero", "0", 0, SSE_LEID_VALID, 0 },
	{ "plain", "1234", 0, SSE_LEID_VALID, 1234 },
	{ "ows", " \t42 ", 0, SSE_LEID_VALID, 42 },
	/* RFC 9110 section 5.5: OWS is spaces and tabs, on either side. */
	{ "ows tab last", "42\t", 0, SSE_LEID_VALID, 42 },
	{ "ows tab and space last", "7 \t", 0, SSE_LEID_VALID, 7 },
	{ "max", "9223372036854775807", 0, SSE_LEID_VALID, INT64_MAX },
	{ "max + 1", "9223372036854775808", 0, SSE_LEID_INVALID, 0 },
	{ "negative", "-1", 0, SSE_LEID_INVALID, 0 },
	{ "minus zero", "-0", 0, SSE_LEID_INVALID, 0 },
	{ "plus", "+1", 0, SSE_LEID_INVALID, 0 },
	{ "text", "abc", 0, SSE_LEID_INVALID, 0 },
	{ "inner space", "1 2", 0, SSE_LEID_INVALID, 0 },
	{ "hex", "0x10", 0, SSE_LEID_INVALID, 0 },
	{ "fraction", "1.5", 0, SSE_LEID_INVALID, 0 },
	{ "embedded NUL", "1\0002", 3, SSE_LEID_INVALID, 0 },
	{ "len cuts", "12345", 3, SSE_LEID_VALID, 123 },
	{ "newline", "1\n", 0, SSE_LEID_INVALID, 0 },
};

static void
test_leid(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(leid_cases) / sizeof(leid_cases[0]); i++) {
		const struct leid_case *c = &leid_cases[i];
		size_t	 len = c->in == NULL ? 0 :
		    (c->len ? c->len : strlen(c->in));
		int64_t	 id = -7;
		enum sse_leid r = sse_last_event_id(c->in, len, &id);

		UNIT_CHECK(r == c->want, "%s: got %d want %d", c->label,
		    (int)r, (int)c->want);
		if (c->want == SSE_LEID_VALID)
			UNIT_CHECK(id == c->id, "%s: id %lld", c->label,
			    (long long)id);
	}
}

struct fmt_case {
	const char	*label;
	int64_t		 id;
	const char	*event;
	const char	*data;
	const char	*want;		/* NULL: refused */
};

static const struct fmt_case fmt_cases[] = {
	{ "simple", 7, "progress", "{\"job\":1}",
	    "id: 7\nevent: progress\ndata: {\"job\":1}\n\n" },
	{ "id zero", 0, "queued", "{}",
	    "id: 0\nevent: queued\ndata: {}\n\n" },
	{ "big id", INT64_MAX, "x", "1",
	    "id: 9223372036854775807\nevent: x\ndata: 1\n\n" },
	{ "empty data", 3, "cancelled", "",
	    "id: 3\nevent: cancelled\ndata: \n\n" },
	{ "LF splits", 1, "a", "x\nid: 99",
	    "id: 1\nevent: a\ndata: x\ndata: id: 99\n\n" },
	{ "CR splits", 1, "a", "x\revent: evil",
	    "id: 1\nevent: a\ndata: x\ndata: event: evil\n\n" },
	{ "CRLF is one break", 1, "a", "x\r\ny",
	    "id: 1\nevent: a\ndata: x\ndata: y\n\n" },
	{ "LF CR is two", 1, "a", "x\n\ry",
	    "id: 1\nevent: a\ndata: x\ndata: \ndata: y\n\n" },
	{ "blank line cannot dispatch", 1, "a", "x\n\nid: 5",
	    "id: 1\nevent: a\ndata: x\ndata: \ndata: id: 5\n\n" },
	{ "trailing CR", 1, "a", "x\r",
	    "id: 1\nevent: a\ndata: x\ndata: \n\n" },
	{ "name with newline", 1, "a\nid: 3", "{}", NULL },
	{ "name with colon", 1, "a:b", "{}", NULL },
	{ "name with space", 1, "a b", "{}", NULL },
	{ "empty name", 1, "", "{}", NULL },
	{ "negative id", -1, "a", "{}", NULL },
};

static void
test_format(void)
{
	char	 buf[256];
	size_t	 i, n, sz;

	for (i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		const struct fmt_case *c = &fmt_cases[i];
		size_t	 dl = strlen(c->data);

		sz = sse_format_size(c->id, c->event, c->data, dl);
		n = sse_format(buf, sizeof(buf), c->id, c->event, c->data, dl);
		if (c->want == NULL) {
			UNIT_CHECK(sz == 0 && n == 0, "%s: not refused",
			    c->label);
			continue;
		}
		UNIT_CHECK(n == strlen(c->want) && strcmp(buf, c->want) == 0,
		    "%s: got \"%s\"", c->label, n ? buf : "(refused)");
		UNIT_CHECK(sz == n, "%s: size %zu, wrote %zu", c->label, sz, n);
		/* Exactly enough room (with the NUL), and one byte less. */
		n = sse_format(buf, sz + 1, c->id, c->event, c->data, dl);
		UNIT_CHECK(n == sz, "%s: exact room refused", c->label);
		n = sse_format(buf, sz, c->id, c->event, c->data, dl);
		UNIT_CHECK(n == 0, "%s: short buffer accepted", c->label);
	}
}

struct msg_case {
	const char	*label;
	const char	*json;
	const char	*want;		/* NULL: refused */
};

static const struct msg_case msg_cases[] = {
	{ "jsonb text", "{\"job\": 1, \"state\": \"queued\"}",
	    "id: 5\nevent: queued\ndata: {\"job\":1,\"state\":\"queued\"}\n\n" },
	{ "escaped newline stays escaped", "{\"error\": \"a\\nid: 9\"}",
	    "id: 5\nevent: queued\ndata: {\"error\":\"a\\nid: 9\"}\n\n" },
	{ "control characters", "{\"e\": \"\\r\\u0001\\t\"}",
	    "id: 5\nevent: queued\ndata: {\"e\":\"\\r\\u0001\\t\"}\n\n" },
	{ "raw newline between tokens", "{\"a\":\n1}",
	    "id: 5\nevent: queued\ndata: {\"a\":1}\n\n" },
	{ "slash not escaped", "{\"f\": \"a/b.csv\"}",
	    "id: 5\nevent: queued\ndata: {\"f\":\"a/b.csv\"}\n\n" },
	{ "utf-8 kept", "{\"f\": \"P\xc5\x99\xc3\xadklad.csv\"}",
	    "id: 5\nevent: queued\ndata: {\"f\":\"P\xc5\x99\xc3\xadklad.csv\"}\n\n" },
	{ "numbers", "{\"percent\": 12.5, \"n\": 9007199254740993, \"z\": null}",
	    "id: 5\nevent: queued\ndata: {\"percent\":12.5,\"n\":9007199254740993,\"z\":null}\n\n" },
	{ "malformed", "{\"a\":", NULL },
	{ "trailing junk", "{} x", NULL },
	{ "empty", "", NULL },
};

static void
test_msg(void)
{
	struct sse_msg	*m, *h;
	size_t		 i;

	for (i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];

		m = sse_msg_new(5, "queued", c->json, strlen(c->json));
		if (c->want == NULL) {
			UNIT_CHECK(m == NULL, "%s: not refused", c->label);
			sse_msg_free(m);
			continue;
		}
		UNIT_CHECK(m != NULL && m->len == strlen(m->text) &&
		    strcmp(m->text, c->want) == 0 && m->id == 5,
		    "%s: got \"%s\"", c->label, m ? m->text : "(refused)");
		sse_msg_free(m);
	}
	/* The JSON need not be NUL-terminated: only len bytes are read. */
	m = sse_msg_new(1, "a", "{}garbage", 2);
	UNIT_CHECK(m != NULL && strcmp(m->text,
	    "id: 1\nevent: a\ndata: {}\n\n") == 0, "len bounds the JSON");
	sse_msg_free(m);
	m = sse_msg_new(1, "bad name", "{}", 2);
	UNIT_CHECK(m == NULL, "bad name refused");

	h = sse_msg_new_text(SSE_HEARTBEAT, strlen(SSE_HEARTBEAT));
	UNIT_CHECK(h != NULL && h->refs == 1 &&
	    strcmp(h->text, ": heartbeat\n\n") == 0, "heartbeat text");
	UNIT_CHECK(sse_msg_ref(h) == h && h->refs == 2, "ref counts");
	sse_msg_free(h);
	UNIT_CHECK(h->refs == 1, "free drops one reference");
	sse_msg_free(h);
	sse_msg_free(NULL);
}

int
main(void)
{
	test_leid();
	test_format();
	test_msg();
	return unit_done("test_sse");
}
