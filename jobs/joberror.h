/*
 * joberror.h: a job's error as users read it (jobs.error, the events).
 */
#ifndef TRIPLINE_JOBERROR_H
#define TRIPLINE_JOBERROR_H

#include <stddef.h>

/*
 * The error (buf, len) as one line in out (outsz bytes, NUL-terminated):
 * its first line that is not empty (libpq adds DETAIL, CONTEXT and HINT
 * lines, or a lost connection's explanation: joberror_oneline keeps them
 * for the log), without libpq's severity ("ERROR:  "), lower-case as the
 * project's errors are (strerror's "Input/output error" after a ": "
 * reads "input/output error"; a quoted value, safetext_quote's, stays as
 * it is), tabs as spaces, no trailing space, valid UTF-8.  Returns the
 * length written.  Pure: no I/O, no globals.
 */
size_t	joberror_clean(const char *buf, size_t len, char *out, size_t outsz);

/*
 * The whole error (buf, len) for the log: its lines joined by " | ",
 * tabs as spaces, valid UTF-8, as written otherwise.  Returns the length
 * written.  Pure.
 */
size_t	joberror_oneline(const char *buf, size_t len, char *out,
	    size_t outsz);

#endif
