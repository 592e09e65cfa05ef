/*
 * rejectlog.h: the rows a job could not load, spooled to a temporary file
 * while the trips stream to the server, then copied into job_rejects in
 * the same transaction.  Memory stays flat however many rows are bad.
 */
#ifndef TRIPLINE_REJECTLOG_H
#define TRIPLINE_REJECTLOG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Raw text and reasons are stored cut to this many bytes. */
#define REJECTLOG_TEXT_MAX	1024

struct rejectlog;

struct rejectlog *rejectlog_new(int job_id);
void	rejectlog_free(struct rejectlog *);

/*
 * Add one reject.  reason and raw are any bytes: they are made valid
 * UTF-8 without NUL, control characters but TAB or bidirectional
 * overrides (utf8_sanitize) and cut to REJECTLOG_TEXT_MAX bytes.  Returns 0, or -1 when the file cannot be
 * written (errno set).
 */
int	rejectlog_add(struct rejectlog *, uint64_t line, const char *reason,
	    size_t reasonlen, const char *raw, size_t rawlen);
uint64_t rejectlog_count(const struct rejectlog *);

/*
 * Have rejectlog_copy call fn(arg) before each buffer it sends and stop
 * (a CopyFail, then -1) when it returns non-zero: a cancel or a lost
 * lease ends the COPY without sending what is left.
 */
void	rejectlog_interrupt_with(struct rejectlog *, int (*fn)(void *),
	    void *arg);

/*
 * COPY the rejects into job_rejects on conn, inside the caller's
 * transaction.  Returns 0, or -1 with the reason in err.
 */
int	rejectlog_copy(struct rejectlog *, PGconn *conn, char *err,
	    size_t errsz);

#endif
