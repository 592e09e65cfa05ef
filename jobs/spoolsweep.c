/*
 * spoolsweep.c: remove the spool files of ended uploads (spoolsweep.h).
 * Which jobs are due is decided by one SQL function of the migration,
 * tripline.spool_sweep_due (025_spool_sweep.sql), so the rule and the
 * index that serves it live together; here each file is removed, then
 * its job marked.  In that order: a runner killed in between finds the
 * file gone next time (ENOENT counts as removed) and marks the job then,
 * while the other order could leave a file no sweep would look at again.
 * Several idle runners may take the same jobs at once; the second finds
 * the file gone and its mark changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jobfile.h"
#include "log.h"
#include "spoolsweep.h"

static const char due_sql[] =
    "SELECT id, path FROM tripline.spool_sweep_due($1, $2)";
/* What a job is marked with, by how its file went (spoolsweep_mark). */
enum spoolsweep_mark {
	SPOOLSWEEP_MARK_REMOVED,	/* removed, gone, or refused */
	SPOOLSWEEP_MARK_RETRY,		/* could not remove: try again later */
	SPOOLSWEEP_MARK__MAX
};

static const struct {
	const char	*sql;		/* $1 the job */
	const char	*what;		/* for the warning */
} marks[SPOOLSWEEP_MARK__MAX] = {
	{ "UPDATE tripline.jobs SET spool_removed_at = now() "
	  "WHERE id = $1 AND spool_removed_at IS NULL",
	  "record its spool file as removed" },
	{ "UPDATE tripline.jobs SET spool_retry_at = now() + "
	  "interval '" SPOOLSWEEP_RETRY "' WHERE id = $1",
	  "put off removing its spool file" },
};

/* Mark job id: 0, or -1 after logging. */
static int
spoolsweep_mark(PGconn *c, const char *id, enum spoolsweep_mark m)
{
	static const Oid types[1] = { DB_OID_INT4 };
	const char	*vals[1] = { id };
	PGresult	*res;
	int		 rc = -1;

	res = PQexecParams(c, marks[m].sql, 1, types, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("job %s: could not %s: %s", id, marks[m].what,
		    PQresultErrorMessage(res));
		goto out;
	}
	rc = 0;
out:
	PQclear(res);
	return rc;
}

int
spoolsweep_run(PGconn *c, const struct jobfile *files, int keep_failed)
{
	static const Oid types[2] = { DB_OID_INT4, DB_OID_INT4 };
	char		 keep[16], batch[16];
	const char	*vals[2] = { keep, batch };
	const char		*id, *path;
	PGresult		*res;
	enum spoolsweep_mark	 m;
	int			 i, n = -1, removed = 0;

	snprintf(keep, sizeof(keep), "%d", keep_failed);
	snprintf(batch, sizeof(batch), "%d", SPOOLSWEEP_BATCH);
	res = PQexecParams(c, due_sql, 2, types, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_warn("could not read which spool files to remove: %s",
		    PQresultErrorMessage(res));
		goto out;
	}
	n = 0;
	for (i = 0; i < PQntuples(res); i++) {
		id = PQgetvalue(res, i, 0);
		path = PQgetvalue(res, i, 1);
		m = SPOOLSWEEP_MARK_REMOVED;
		switch (jobfile_remove(files, path)) {
		case JOBFILE_REMOVED:
			removed++;
			break;
		case JOBFILE_REFUSED:
			/*
			 * Marked all the same: it is looked at once, not at
			 * every idle moment.  The path is not logged: it is
			 * text from the database, not ours to print.
			 */
			log_warn("job %s: its path is not a file directly in "
			    "the spool directory: left in place", id);
			break;
		case JOBFILE_REMOVE_ERROR:
		default:
			/*
			 * Tried again after SPOOLSWEEP_RETRY, not at every idle
			 * moment: a lasting cause (permissions) would log
			 * every few seconds, and a batch of such jobs would
			 * come first every time and keep every later one.
			 */
			log_warn("job %s: could not remove its spool file: %s; "
			    "trying again in " SPOOLSWEEP_RETRY, id,
			    strerror(errno));
			m = SPOOLSWEEP_MARK_RETRY;
			break;
		}
		if (spoolsweep_mark(c, id, m) != 0)
			break;
		n++;
	}
	if (removed > 0)
		log_info("removed the spool files of %d ended job%s", removed,
		    removed == 1 ? "" : "s");
out:
	PQclear(res);
	return n;
}
