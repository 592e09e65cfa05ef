/*
 * rimcompact.h: the compaction of trip_rims, run by an idle runner on
 * its trips connection without waiting, and cancelled when a job comes
 * (sql/migrations/014_trip_rims.sql, trip_rims_compact).
 */
#ifndef TRIPLINE_RIMCOMPACT_H
#define TRIPLINE_RIMCOMPACT_H

#include <libpq-fe.h>

struct rimcompact;

struct rimcompact	*rimcompact_new(int min_parts);
void			 rimcompact_free(struct rimcompact *);
/*
 * When idle: start a compaction on c if none runs, compaction is on and
 * its retry time has come; otherwise see whether the running one ended
 * (and log what it did).  Never waits.  0, or -1 if c broke.
 */
int	rimcompact_idle(struct rimcompact *, PGconn *c);
/*
 * Before c is used for anything else: cancel a running compaction (its
 * transaction rolls back) and wait for c to be free.
 */
void	rimcompact_stop(struct rimcompact *, PGconn *c);
/* A job ended: the next idle moment may find something to merge. */
void	rimcompact_due(struct rimcompact *);

#endif
