/*
 * sse.h: the wire text of Server-Sent Events (WHATWG HTML Living Standard,
 * section 9.2 "Server-sent events", 9.2.6 "Interpreting an event stream")
 * and the Last-Event-ID a reconnecting client sends back.
 *
 * An event is "id: N\nevent: NAME\ndata: LINE\n\n".  The data is one line
 * of JSON re-serialised by json-c, which escapes every control character
 * (RFC 8259 section 7), so text from an uploaded file can never end the
 * data line and start a field of its own; sse_format splits at CR and LF
 * all the same, as the standard does for multi-line data.
 *
 * Pure functions over (buf, len): no I/O, no globals.
 */
#ifndef TRIPLINE_SSE_H
#define TRIPLINE_SSE_H

#include <stddef.h>
#include <stdint.h>

/* A comment line: proxies see traffic, EventSource ignores it. */
#define SSE_HEARTBEAT		": heartbeat\n\n"
/*
 * The last words of a stream the program ends as it stops (SIGTERM): a
 * client reading the stream itself (curl) sees why it ended, with no
 * final event, and what to do; EventSource ignores comments and
 * reconnects on its own.
 */
#define SSE_STOPPING	": the server is stopping; reconnect with Last-Event-ID\n\n"
/* How long an EventSource waits before it reconnects (milliseconds). */
#define SSE_RETRY		"retry: 1000\n\n"

enum sse_leid {
	SSE_LEID_ABSENT,	/* no header, or an empty one: start afresh */
	SSE_LEID_VALID,		/* a decimal event id 0..INT64_MAX */
	SSE_LEID_INVALID,	/* anything else */
	SSE_LEID__MAX
};

/*
 * Read a Last-Event-ID header value (buf may be NULL: no header).
 * Surrounding spaces and tabs (RFC 9110 section 5.5, OWS) are ignored.
 */
enum sse_leid	sse_last_event_id(const char *buf, size_t len, int64_t *out);

/*
 * Bytes sse_format writes for this event, without the NUL; 0 when event
 * is not a token of [A-Za-z0-9_-] or id is negative.
 */
size_t	sse_format_size(int64_t id, const char *event, const char *data,
	    size_t datalen);

/*
 * Write the event into out (outsz bytes) NUL-terminated: "id:", "event:",
 * one "data:" line per line of data (split at CRLF, CR or LF), and the
 * blank line that dispatches it.  Returns the length, or 0 when out is
 * too small or the event is refused as by sse_format_size.
 */
size_t	sse_format(char *out, size_t outsz, int64_t id, const char *event,
	    const char *data, size_t datalen);

/*
 * One formatted event, shared by every stream that sends it.  The count
 * of references is not atomic: a message belongs to one thread.
 */
struct sse_msg {
	unsigned	 refs;
	int64_t		 id;
	size_t		 len;
	char		 text[];
};

/*
 * A message for event id from JSON text (len bytes, as PostgreSQL prints
 * jsonb): parsed and printed again by json-c on one line.  NULL when the
 * JSON is malformed, the name is refused or memory is short.
 */
struct sse_msg	*sse_msg_new(int64_t id, const char *event, const char *json,
	    size_t len);
/* A new message holding fixed text such as SSE_HEARTBEAT (id 0). */
struct sse_msg	*sse_msg_new_text(const char *text, size_t len);
struct sse_msg	*sse_msg_ref(struct sse_msg *);
/* Drop one reference; frees at the last.  Accepts NULL. */
void		 sse_msg_free(struct sse_msg *);

#endif
