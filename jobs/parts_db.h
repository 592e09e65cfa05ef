/*
 * parts_db.h: the parts of a split job as the runner sees them
 * (sql/migrations/008_parts.sql, docs/architecture.md "Split jobs").
 *
 * A split job keeps state 'running' with lease_owner PARTS_DB_OWNER and
 * no lease of its own: its parts are claimed like jobs (FOR UPDATE SKIP
 * LOCKED, a lease each, retries with backoff).  Every end of a split job
 * and every part's end take the job's parts lock (an advisory
 * transaction lock), so that the last part sees every other part loaded,
 * and a job that fails or is cancelled drops whatever parts committed.
 */
#ifndef TRIPLINE_PARTS_DB_H
#define TRIPLINE_PARTS_DB_H

#include <stdint.h>

#include <libpq-fe.h>

#include "runner_db.h"

struct config;
struct split;

/* jobs.lease_owner of a split job: the owner its ends are made as. */
#define PARTS_DB_OWNER	"parts"

struct parts_db_part {
	int		 part;
	int		 attempt;	/* job_parts.attempts, 1-based */
	int64_t		 first_byte;
	int64_t		 end_byte;	/* exclusive */
	int64_t		 first_line;
	int64_t		 header_end;	/* the header line is [0, header_end) */
	char		 stamp[96];	/* the file as the split saw it */
	const char	*owner;		/* this runner: the part's lease */
};

/*
 * Write the parts of the claimed job and hand the job over to them, in
 * a transaction of its own; wakes the other runners.  0, 1 when the job
 * is no longer ours (or a cancel was requested), -1 on error.
 */
int	parts_db_split(PGconn *, const struct runner_db_job *, const struct split *,
	    const char *stamp);

/*
 * Claim the first claimable part of a running split job: *job as a
 * split job's ends need it (owner PARTS_DB_OWNER), *part ours.  A part
 * of a job with a cancel request, or used up, ends the job at once
 * (RUNNER_DB_CLAIM_DONE).  Free job->path with runner_db_job_release.
 */
enum runner_db_claim parts_db_claim(PGconn *, const struct config *,
	    const char *owner, struct runner_db_job *, struct parts_db_part *);

/*
 * In the part's load transaction, before its end: take the job's parts
 * lock and count the other parts.  Returns 1 when every other part is
 * loaded (*others holds their totals), 0 when not, -1 on error.
 */
int	parts_db_others(PGconn *, const struct runner_db_job *,
	    const struct parts_db_part *, struct runner_db_result *others);

/*
 * The part's last statement in its load transaction: loaded, with its
 * counts.  RUNNER_DB_GONE when the part is no longer ours or its job no
 * longer running.
 */
enum runner_db_status parts_db_loaded(PGconn *, const struct runner_db_job *,
	    const struct parts_db_part *, const struct runner_db_result *own);

/*
 * End the split job as failed or cancelled, dropping what its parts
 * left, in a transaction of its own.
 */
enum runner_db_status parts_db_end_job(PGconn *, const struct runner_db_job *,
	    enum runner_db_end, const struct runner_db_result *);

/*
 * Give the part back: after retry_in seconds, counting the attempt
 * (counted), or at once without (the runner is stopping).
 */
enum runner_db_status parts_db_release(PGconn *, const struct runner_db_job *,
	    const struct parts_db_part *, int counted, int retry_in,
	    const char *error);

#endif
