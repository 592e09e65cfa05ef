/*
 * rejectlog.c: rejects as binary COPY tuples in a tmpfile(3).  Binary COPY
 * needs no escaping: a tab, newline or backslash in the raw text cannot
 * break out of its field as it would in the text format (PostgreSQL docs,
 * "COPY", "File Formats").  The text must still be valid UTF-8 without
 * NUL, or the server refuses the whole COPY, hence utf8_sanitize.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copybin.h"
#include "rejectlog.h"
#include "utf8.h"

#define REJECTLOG_CHUNK	(256 * 1024)

struct rejectlog {
	FILE		*f;
	int		 job_id;
	uint64_t	 count;
	struct copybin	 tuple;
	int		(*interrupt)(void *); /* rejectlog_interrupt_with */
	void		*interrupt_arg;
};

static const char rejectlog_sql[] =
    "COPY tripline.job_rejects (job_id, line, reason, raw) "
    "FROM STDIN (FORMAT binary)";

struct rejectlog *
rejectlog_new(int job_id)
{
	struct rejectlog *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->job_id = job_id;
	/* Two texts of at most REJECTLOG_TEXT_MAX bytes, ids and lengths. */
	if (copybin_init(&r->tuple, 2 * REJECTLOG_TEXT_MAX + 64) != 0 ||
	    (r->f = tmpfile()) == NULL) {
		rejectlog_free(r);
		return NULL;
	}
	return r;
}

void
rejectlog_free(struct rejectlog *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	copybin_release(&r->tuple);
	free(r);
}

uint64_t
rejectlog_count(const struct rejectlog *r)
{
	return r->count;
}

int
rejectlog_add(struct rejectlog *r, uint64_t line, const char *reason,
    size_t reasonlen, const char *raw, size_t rawlen)
{
	char	 text[REJECTLOG_TEXT_MAX + 1];
	size_t	 n;

	r->tuple.len = 0;
	copybin_tuple(&r->tuple, 4);
	copybin_i32(&r->tuple, r->job_id);
	copybin_i64(&r->tuple, (int64_t)line);
	n = utf8_sanitize(reason, reasonlen, text, sizeof(text));
	copybin_text(&r->tuple, text, n);
	n = utf8_sanitize(raw, rawlen, text, sizeof(text));
	copybin_text(&r->tuple, text, n);
	if (fwrite(r->tuple.buf, 1, r->tuple.len, r->f) != r->tuple.len) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	r->count++;
	return 0;
}

void
rejectlog_interrupt_with(struct rejectlog *r, int (*fn)(void *), void *arg)
{
	r->interrupt = fn;
	r->interrupt_arg = arg;
}

int
rejectlog_copy(struct rejectlog *r, PGconn *conn, char *err, size_t errsz)
{
	struct copybin	 b = { NULL, 0, 0 };
	PGresult	*res = NULL;
	const char	*why = NULL;
	size_t		 n;
	int		 rc = -1;

	if (r->count == 0)
		return 0;
	if (fflush(r->f) != 0 || fseek(r->f, 0, SEEK_SET) != 0) {
		snprintf(err, errsz, "could not read back the rejects: %s",
		    strerror(errno));
		return -1;
	}
	if (copybin_init(&b, REJECTLOG_CHUNK) != 0) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	res = PQexec(conn, rejectlog_sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		snprintf(err, errsz, "could not store the rejects: %s",
		    PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	res = NULL;
	copybin_header(&b);
	for (;;) {
		n = fread(b.buf + b.len, 1, b.cap - b.len, r->f);
		b.len += n;
		if (b.len == b.cap || n == 0) {
			/*
			 * As in agg_send: the server's answer to a cancel
			 * shows only at the COPY's end (libpq does not read
			 * an ErrorResponse during COPY IN), so look before
			 * each buffer instead of sending the rest.
			 */
			if (r->interrupt != NULL &&
			    r->interrupt(r->interrupt_arg) != 0) {
				why = "interrupted";
				break;
			}
			if (b.len > 0 &&
			    PQputCopyData(conn, b.buf, (int)b.len) != 1) {
				why = "could not send the rejects";
				break;
			}
			b.len = 0;
		}
		if (n == 0)
			break;
	}
	if (why == NULL && ferror(r->f))
		why = "could not read back the rejects";
	if (why == NULL) {
		copybin_trailer(&b);
		if (PQputCopyData(conn, b.buf, (int)b.len) != 1)
			why = "could not send the rejects";
	}
	/* A CopyFail message makes the server abort the COPY. */
	if (PQputCopyEnd(conn, why) != 1 && why == NULL)
		why = "could not send the rejects";
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && why == NULL)
			why = "could not store the rejects";
		PQclear(res);
	}
	if (why != NULL) {
		snprintf(err, errsz, "%s: %s", why, PQerrorMessage(conn));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	copybin_release(&b);
	return rc;
}
