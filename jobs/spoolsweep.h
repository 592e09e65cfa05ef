/*
 * spoolsweep.h: an idle runner removes the spool files of ended uploads
 * (sql/migrations/025_spool_sweep.sql): at once once a job succeeded
 * (a duplicate too) or was cancelled, TRIPLINE_SPOOL_KEEP_FAILED seconds
 * after it failed.  Inbox files are the user's and never removed.
 */
#ifndef TRIPLINE_SPOOLSWEEP_H
#define TRIPLINE_SPOOLSWEEP_H

#include <libpq-fe.h>

struct jobfile;

/* Most files one call removes: an idle moment stays short. */
#define SPOOLSWEEP_BATCH	100
/* How long a file that could not be removed waits (an SQL interval). */
#define SPOOLSWEEP_RETRY	"1 hour"

/*
 * One batch on c, autocommit: each due file is removed, then its job
 * marked (spool_removed_at); a path outside the spool is marked and left;
 * a file that could not be removed waits SPOOLSWEEP_RETRY (spool_retry_at).
 * Returns how many jobs were marked (SPOOLSWEEP_BATCH: more may be due),
 * or -1 after logging when the due jobs could not be read.
 */
int	spoolsweep_run(PGconn *c, const struct jobfile *files, int keep_failed);

#endif
