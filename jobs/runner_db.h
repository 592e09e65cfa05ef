/*
 * runner_db.h: the job queue as the runner sees it: claim a job under a
 * lease, and end it in one of the final (or retry) states with its event.
 *
 * A job is owned by the runner whose id (hostname:pid) is in lease_owner
 * for this attempt; every state change below checks (id, lease_owner,
 * attempts, state = 'running'), so a runner that lost its lease (it was
 * too slow, another runner took the job over) changes nothing.
 */
#ifndef TRIPLINE_RUNNER_DB_H
#define TRIPLINE_RUNNER_DB_H

#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

struct config;

/* The error of an attempt that ended with its runner: stopped, or died. */
#define RUNNER_DB_REQUEUE_ERROR	"the runner stopped; queued again"
#define RUNNER_DB_LOST_ERROR	"the runner stopped during the load"

struct runner_db_job {
	int		 id;
	int		 attempt;	/* jobs.attempts: this attempt, 1-based */
	int		 max_attempts;
	char		 source[8];	/* jobs.source: "upload" or "inbox" */
	char		*path;
	int64_t		 bytes;		/* size when submitted */
	char		 sha256[65];
	const char	*owner;		/* lease_owner */
	struct timespec	 t0;		/* claimed at, CLOCK_MONOTONIC */
};

/* What a job ends with; fields an end does not use are ignored. */
struct runner_db_result {
	uint64_t	 rows_loaded;
	uint64_t	 rows_rejected;
	uint64_t	 bytes_read;
	int		 duplicate_of;	/* 0: none */
	const char	*error;
	int		 retry_in;	/* RUNNER_DB_RETRY: seconds */
	int		 attempt;	/* a failed split job's part's; 0 */
};

enum runner_db_end {
	RUNNER_DB_SUCCEEDED,
	RUNNER_DB_FAILED,
	RUNNER_DB_CANCELLED,
	RUNNER_DB_RETRY,	/* queued again after a backoff */
	RUNNER_DB_REQUEUE,	/* runner stopping: queued, attempt not counted */
	RUNNER_DB_END__MAX
};

enum runner_db_status {
	RUNNER_DB_OK,
	RUNNER_DB_GONE,		/* not ours any more, or cancel requested */
	RUNNER_DB_DUPLICATE,	/* 23505 on jobs_loaded_sha256 */
	RUNNER_DB_ERROR
};

enum runner_db_claim {
	RUNNER_DB_CLAIM_NONE,	/* nothing to do now */
	RUNNER_DB_CLAIM_RUN,	/* *job is ours to load */
	RUNNER_DB_CLAIM_DONE,	/* a job was claimed and ended at once */
	RUNNER_DB_CLAIM_ERROR
};

/*
 * On the work session: LISTEN tripline_jobs, and take the runners' lock
 * (db.h), which says to GET /api/health that this runner is there.
 * Returns 0 or -1.
 */
int	runner_db_listen(PGconn *);

/*
 * Claim the oldest claimable job: queued and due, or running with an
 * expired lease.  In the claim's own transaction, a job that has a cancel
 * request, has used up its attempts, or has content identical to a loaded
 * job is ended at once (RUNNER_DB_CLAIM_DONE); else its 'started' event is
 * written and RUNNER_DB_CLAIM_RUN returned.  Free job->path with
 * runner_db_job_release.
 */
enum runner_db_claim runner_db_claim(PGconn *, const struct config *,
	    const char *owner, struct runner_db_job *);
void	runner_db_job_release(struct runner_db_job *);

/*
 * Move the job to the end state and write its event, in the caller's
 * transaction (the load's, for RUNNER_DB_SUCCEEDED).  RUNNER_DB_SUCCEEDED
 * refuses (RUNNER_DB_GONE) when a cancel was requested.
 */
enum runner_db_status runner_db_end(PGconn *, const struct runner_db_job *,
	    enum runner_db_end, const struct runner_db_result *);

/* runner_db_end in a transaction of its own. */
enum runner_db_status runner_db_finish(PGconn *, const struct runner_db_job *,
	    enum runner_db_end, const struct runner_db_result *);

/* An end (runner_db_end, or one that does more) ... */
typedef enum runner_db_status (*runner_db_end_fn)(PGconn *,
	    const struct runner_db_job *, enum runner_db_end,
	    const struct runner_db_result *);
/* ... in a transaction of its own: committed when it returns OK. */
enum runner_db_status runner_db_in_transaction(PGconn *, runner_db_end_fn,
	    const struct runner_db_job *, enum runner_db_end,
	    const struct runner_db_result *);

/* The id of the loaded job with the same content, 0 for none, -1. */
int	runner_db_winner(PGconn *, const struct runner_db_job *);

/* Run a statement without parameters or rows ("BEGIN"); 0 or -1. */
int	runner_db_command(PGconn *, const char *sql);

/*
 * COMMIT; 0, or -1 with the reason in why (of size len) when it failed
 * or rolled back because its transaction had failed.  why may be NULL:
 * the reason is then logged here.
 */
int	runner_db_commit(PGconn *, char *why, size_t len);

/*
 * Seconds until the next job becomes claimable (a retry backoff ends, a
 * lease expires), at most max; max when nothing is pending; -1 on error.
 */
double	runner_db_next_due(PGconn *, double max);

/*
 * Sleep until a notification on the connection, a byte on wakefd, input
 * on busyfd (another connection's statement answering; -1: none), or the
 * timeout.  Returns 1 when notified or woken, 0 otherwise (busyfd's
 * input is its owner's to read), -1 when the connection is broken.
 */
int	runner_db_wait(PGconn *, int wakefd, int busyfd, double seconds);

/* Seconds since t0 (CLOCK_MONOTONIC). */
double	runner_db_elapsed(const struct timespec *t0);

#endif
