/*
 * runner_db.c: claim and end jobs.  The claim follows the queue pattern
 * of the PostgreSQL docs (SELECT, "The Locking Clause"): SKIP LOCKED lets
 * any number of runners on any number of machines take different rows of
 * the one jobs table without waiting for each other.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "db.h"
#include "jobstate.h"
#include "log.h"
#include "runner_db.h"
#include "runner_event.h"

/*
 * A re-claimed job whose attempts are used up is not counted again: the
 * CASE keeps attempts as they were, and runner_db_claim fails the job.
 * An attempt starts counting from 0: a job taken over from a runner that
 * died still shows what that one had counted.  started_at is the first
 * attempt's start, attempt_started_at this one's, from which a split
 * job's parts time its pace (036_attempt_start.sql).
 */
static const char claim_sql[] =
    "UPDATE tripline.jobs AS j SET state = 'running', "
    "attempts = CASE WHEN c.attempts >= $3 THEN c.attempts "
    "ELSE c.attempts + 1 END, "
    "max_attempts = $3, lease_owner = $1, "
    "lease_until = now() + $2 * interval '1 second', "
    "rows_loaded = 0, rows_rejected = 0, bytes_read = 0, phase = NULL, "
    "started_at = coalesce(j.started_at, now()), attempt_started_at = now() "
    "FROM (SELECT id, state, attempts FROM tripline.jobs "
    "WHERE (state = 'queued' AND run_after <= now()) "
    "OR (state = 'running' AND lease_until < now()) "
    "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) AS c "
    "WHERE j.id = c.id "
    "RETURNING j.id, j.attempts, c.attempts, j.source, j.path, j.bytes, "
    "j.sha256, j.cancel_requested, coalesce(j.error, ''), "
    "c.state = 'running', "
    DB_RFC3339("now()");

enum claim_col {
	CLAIM_ID, CLAIM_ATTEMPTS, CLAIM_PREV_ATTEMPTS, CLAIM_SOURCE,
	CLAIM_PATH, CLAIM_BYTES, CLAIM_SHA256, CLAIM_CANCEL, CLAIM_ERROR,
	CLAIM_EXPIRED, CLAIM_NOW, CLAIM__MAX
};

static const char winner_sql[] =
    "SELECT id FROM tripline.jobs WHERE sha256 = $1 AND id <> $2 "
    "AND state = 'succeeded' AND duplicate_of IS NULL";

/* Jobs, and the parts of split jobs (whose own lease_until is NULL). */
static const char next_due_sql[] =
    "SELECT extract(epoch FROM min(t) - now()) FROM ("
    "SELECT CASE WHEN state = 'queued' THEN run_after ELSE lease_until END "
    "FROM tripline.jobs WHERE state IN ('queued', 'running') UNION ALL "
    "SELECT CASE WHEN state = 'queued' THEN run_after ELSE lease_until END "
    "FROM tripline.job_parts WHERE state IN ('queued', 'running')) AS d(t)";

#define END_WHERE \
    " WHERE id = $1 AND lease_owner = $2 AND attempts = $3 " \
    "AND state = 'running'"
#define END_FREE	"lease_owner = NULL, lease_until = NULL, phase = NULL"
/* Queued again: what the attempt counted is not kept (lease.c wrote it). */
#define END_UNCOUNT	"rows_loaded = 0, rows_rejected = 0, bytes_read = 0, "
#define END_NEXT_TRY	" RETURNING " DB_RFC3339("run_after")

/*
 * Parameters of every end statement: $1 id, $2 owner, $3 attempt,
 * $4 rows_loaded, $5 rows_rejected, $6 bytes_read, $7 duplicate_of,
 * $8 error, $9 retry delay in seconds.  Each uses what it needs; the
 * types are given, so unused ones are allowed.
 */
#define END_NPARAMS	9
static const Oid end_types[END_NPARAMS] = { DB_OID_INT4, DB_OID_TEXT, DB_OID_INT4,
    DB_OID_INT8, DB_OID_INT8, DB_OID_INT8, DB_OID_INT4, DB_OID_TEXT, DB_OID_INT4 };

static const struct {
	const char	*sql;		/* returns one row when it applied */
	enum job_event	 event;
} ends[RUNNER_DB_END__MAX] = {
	{ "UPDATE tripline.jobs SET state = 'succeeded', rows_loaded = $4, "
	  "rows_rejected = $5, bytes_read = $6, duplicate_of = $7, "
	  "error = NULL, finished_at = statement_timestamp(), " END_FREE END_WHERE
	  " AND NOT cancel_requested RETURNING ''",
	  JOB_EVENT_SUCCEEDED },	/* RUNNER_DB_SUCCEEDED */
	{ "UPDATE tripline.jobs SET state = 'failed', error = $8, "
	  "rows_loaded = 0, rows_rejected = 0, finished_at = statement_timestamp(), "
	  END_FREE END_WHERE " RETURNING ''",
	  JOB_EVENT_FAILED },		/* RUNNER_DB_FAILED */
	{ "UPDATE tripline.jobs SET state = 'cancelled', rows_loaded = 0, "
	  "rows_rejected = 0, finished_at = statement_timestamp(), " END_FREE END_WHERE
	  " RETURNING ''",
	  JOB_EVENT_CANCELLED },	/* RUNNER_DB_CANCELLED */
	/*
	 * A job asked to cancel is not queued again (the caller ends it
	 * cancelled instead): it would be, with a 'retrying' event, until
	 * its next claim, which would count an attempt to cancel it.
	 */
	{ "UPDATE tripline.jobs SET state = 'queued', error = $8, "
	  "run_after = now() + $9 * interval '1 second', " END_UNCOUNT END_FREE
	  END_WHERE " AND NOT cancel_requested" END_NEXT_TRY,
	  JOB_EVENT_RETRYING },		/* RUNNER_DB_RETRY */
	/* Another runner may take it at once: wake them. */
	{ "UPDATE tripline.jobs SET state = 'queued', "
	  "attempts = attempts - 1, run_after = now(), " END_UNCOUNT END_FREE
	  END_WHERE " AND NOT cancel_requested" END_NEXT_TRY
	  ", pg_notify('tripline_jobs', id::text)",
	  JOB_EVENT_RETRYING },		/* RUNNER_DB_REQUEUE */
};

double
runner_db_elapsed(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

int
runner_db_command(PGconn *conn, const char *sql)
{
	PGresult	*res;
	int		 rc = 0;

	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_error("%s: %s", sql, PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	return rc;
}

int
runner_db_commit(PGconn *conn, char *why, size_t len)
{
	PGresult	*res;
	const char	*m = NULL;
	int		 rc = -1;

	res = PQexec(conn, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		m = PQerrorMessage(conn);
	else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		/*
		 * COMMIT of a failed transaction succeeds, tagged ROLLBACK
		 * (PostgreSQL docs, COMMIT, "Outputs", documented from
		 * PostgreSQL 18 on): nothing was kept, and libpq has no
		 * message to tell it.
		 */
		m = "the transaction had failed and was rolled back";
	else
		rc = 0;
	/* A caller that takes the reason reports it: logged once. */
	if (rc != 0 && why != NULL && len > 0)
		snprintf(why, len, "%s", m);
	else if (rc != 0)
		log_error("COMMIT: %s", m);
	PQclear(res);
	return rc;
}

int
runner_db_listen(PGconn *conn)
{
	PGresult	*res;
	int		 rc = -1;

	if (runner_db_command(conn, "LISTEN tripline_jobs") != 0)
		return -1;
	/* A session lock: held through every transaction, gone with it. */
	res = PQexec(conn, "SELECT pg_catalog.pg_advisory_lock_shared("
	    DB_RUNNER_LOCK_KEY1 ", " DB_RUNNER_LOCK_KEY2 ")");
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		rc = 0;
	else
		log_error("could not take the runners' lock: %s",
		    PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

void
runner_db_job_release(struct runner_db_job *job)
{
	if (job == NULL)
		return;
	free(job->path);
	job->path = NULL;
}

/*
 * The event of a final end, as docs/events.md says (a retry's is
 * runner_event_retrying's).
 */
static struct json_object *
end_event(const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	struct json_object	*o = json_object_new_object();
	double			 secs;

	json_object_object_add(o, "job", json_object_new_int(job->id));
	switch (end) {
	case RUNNER_DB_SUCCEEDED:
		secs = runner_db_elapsed(&job->t0);
		json_object_object_add(o, "rows_loaded",
		    json_object_new_int64((int64_t)r->rows_loaded));
		json_object_object_add(o, "rows_rejected",
		    json_object_new_int64((int64_t)r->rows_rejected));
		json_object_object_add(o, "duplicate_of", r->duplicate_of ?
		    json_object_new_int(r->duplicate_of) : NULL);
		json_object_object_add(o, "elapsed_s",
		    runner_event_number((double)(int64_t)(secs * 1000) / 1000));
		json_object_object_add(o, "rows_per_s",
		    json_object_new_int64(secs > 0 ? (int64_t)
		    ((double)(r->rows_loaded + r->rows_rejected) / secs) : 0));
		break;
	case RUNNER_DB_FAILED:
		json_object_object_add(o, "error",
		    json_object_new_string(r->error));
		/* A split job's attempts are its failing part's. */
		json_object_object_add(o, "attempts", json_object_new_int(
		    r->attempt > 0 ? r->attempt : job->attempt));
		break;
	case RUNNER_DB_CANCELLED:
		json_object_object_add(o, "rows_loaded_before_cancel",
		    json_object_new_int64((int64_t)r->rows_loaded));
		break;
	default:
		break;
	}
	return o;
}

enum runner_db_status
runner_db_end(PGconn *conn, const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	char		 num[7][24];
	const char	*vals[END_NPARAMS];
	PGresult	*res;
	const char	*cons;
	enum runner_db_status st = RUNNER_DB_OK;
	int		 rc;

	snprintf(num[0], sizeof(num[0]), "%d", job->id);
	snprintf(num[1], sizeof(num[1]), "%d", job->attempt);
	snprintf(num[2], sizeof(num[2]), "%llu",
	    (unsigned long long)r->rows_loaded);
	snprintf(num[3], sizeof(num[3]), "%llu",
	    (unsigned long long)r->rows_rejected);
	snprintf(num[4], sizeof(num[4]), "%llu",
	    (unsigned long long)r->bytes_read);
	snprintf(num[5], sizeof(num[5]), "%d", r->duplicate_of);
	snprintf(num[6], sizeof(num[6]), "%d", r->retry_in);
	vals[0] = num[0];
	vals[1] = job->owner;
	vals[2] = num[1];
	vals[3] = num[2];
	vals[4] = num[3];
	vals[5] = num[4];
	vals[6] = r->duplicate_of ? num[5] : NULL;
	vals[7] = r->error;
	vals[8] = num[6];
	res = PQexecParams(conn, ends[end].sql, END_NPARAMS, end_types, vals,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		cons = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
		if (strcmp(db_sqlstate(res), "23505") == 0 && cons != NULL &&
		    strcmp(cons, "jobs_loaded_sha256") == 0) {
			st = RUNNER_DB_DUPLICATE;
		} else {
			log_error("job %d: could not end as %s: %s", job->id,
			    jobstate_event_names[ends[end].event],
			    PQerrorMessage(conn));
			st = RUNNER_DB_ERROR;
		}
		goto out;
	}
	if (PQntuples(res) != 1) {
		st = RUNNER_DB_GONE;
		goto out;
	}
	/* A retry's statement returns the next try (END_NEXT_TRY). */
	if (ends[end].event == JOB_EVENT_RETRYING)
		rc = runner_event_retrying(conn, job->id, -1, job->attempt,
		    PQgetvalue(res, 0, 0), end == RUNNER_DB_RETRY ? r->error :
		    RUNNER_DB_REQUEUE_ERROR);
	else
		rc = runner_event_emit(conn, job->id, ends[end].event,
		    end_event(job, end, r));
	if (rc != 0)
		st = RUNNER_DB_ERROR;
out:
	PQclear(res);
	return st;
}

enum runner_db_status
runner_db_in_transaction(PGconn *conn, runner_db_end_fn fn,
    const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	enum runner_db_status st;

	if (runner_db_command(conn, "BEGIN") != 0)
		return RUNNER_DB_ERROR;
	st = fn(conn, job, end, r);
	if (st == RUNNER_DB_OK) {
		if (runner_db_commit(conn, NULL, 0) != 0)
			st = RUNNER_DB_ERROR;
	} else
		runner_db_command(conn, "ROLLBACK");
	return st;
}

enum runner_db_status
runner_db_finish(PGconn *conn, const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	return runner_db_in_transaction(conn, runner_db_end, job, end, r);
}

int
runner_db_winner(PGconn *conn, const struct runner_db_job *job)
{
	char		 id[16];
	const char	*vals[2] = { job->sha256, id };
	PGresult	*res;
	int		 w = -1;

	snprintf(id, sizeof(id), "%d", job->id);
	res = PQexecParams(conn, winner_sql, 2, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("job %d: could not look for duplicates: %s",
		    job->id, PQerrorMessage(conn));
	else if (PQntuples(res) == 0)
		w = 0;
	else if (db_get_int(res, 0, 0, 1, INT_MAX, &w) != 0) {
		log_error("job %d: duplicate's id '%s' is not a number",
		    job->id, PQgetvalue(res, 0, 0));
		w = -1;
	}
	PQclear(res);
	return w;
}

/*
 * The claimed job ends at once: a cancel request, used-up attempts, or
 * a duplicate.  Returns 1 when it did, 0 when the job is to be loaded,
 * -1 on error.  Runs inside the claim's transaction.  expired: the job
 * was running and its lease expired; now: the claim's time (RFC 3339).
 */
static int
claim_settle(PGconn *conn, struct runner_db_job *job, int cancel, int prev_attempts,
    const char *prev_error, int expired, const char *now)
{
	struct runner_db_result	 r;
	struct json_object	*o;
	int			 w;

	memset(&r, 0, sizeof(r));
	if (cancel)
		return runner_db_end(conn, job, RUNNER_DB_CANCELLED, &r) ==
		    RUNNER_DB_OK ? 1 : -1;
	if (prev_attempts >= job->max_attempts) {
		/*
		 * Running still: its last attempt died with its runner (the
		 * lease expired), whatever an earlier one failed of, which
		 * prev_error still tells.  Queued: max_attempts was lowered
		 * since that error's retry.
		 */
		r.error = !expired && prev_error[0] != '\0' ? prev_error :
		    RUNNER_DB_LOST_ERROR;
		log_warn("job %d: attempts used up: %s", job->id, r.error);
		return runner_db_end(conn, job, RUNNER_DB_FAILED, &r) ==
		    RUNNER_DB_OK ? 1 : -1;
	}
	/*
	 * Taken over from a runner that died (its lease expired): the attempt
	 * that died gets its 'retrying' event, as one that failed does, so
	 * that a stream tells why the job starts again.
	 */
	if (expired && runner_event_retrying(conn, job->id, -1, prev_attempts,
	    now, RUNNER_DB_LOST_ERROR) != 0)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "job", json_object_new_int(job->id));
	json_object_object_add(o, "attempt", json_object_new_int(job->attempt));
	json_object_object_add(o, "bytes_total",
	    json_object_new_int64(job->bytes));
	if (runner_event_emit(conn, job->id, JOB_EVENT_STARTED, o) != 0)
		return -1;
	if ((w = runner_db_winner(conn, job)) <= 0)
		return w;
	r.duplicate_of = w;
	log_info("job %d: same content as job %d", job->id, w);
	return runner_db_end(conn, job, RUNNER_DB_SUCCEEDED, &r) ==
	    RUNNER_DB_OK ? 1 : -1;
}

enum runner_db_claim
runner_db_claim(PGconn *conn, const struct config *cfg, const char *owner,
    struct runner_db_job *job)
{
	char		 lease[16], maxat[16];
	const char	*vals[3] = { owner, lease, maxat };
	PGresult	*res = NULL;
	PGnotify	*n;
	enum runner_db_claim rc = RUNNER_DB_CLAIM_ERROR;
	int		 r, prev;

	/*
	 * Notifications that arrived during the last load have done their
	 * job: this claim looks at the whole queue anyway.  Dropping them
	 * keeps a busy runner's memory flat.
	 */
	while ((n = PQnotifies(conn)) != NULL)
		PQfreemem(n);
	memset(job, 0, sizeof(*job));
	snprintf(lease, sizeof(lease), "%d", cfg->lease_seconds);
	snprintf(maxat, sizeof(maxat), "%d", cfg->max_attempts);
	if (runner_db_command(conn, "BEGIN") != 0)
		return RUNNER_DB_CLAIM_ERROR;
	res = PQexecParams(conn, claim_sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQnfields(res) != CLAIM__MAX) {
		log_error("could not claim a job: %s", PQerrorMessage(conn));
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = RUNNER_DB_CLAIM_NONE;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &job->t0);
	if (db_get_int(res, 0, CLAIM_ID, 1, INT_MAX, &job->id) != 0 ||
	    db_get_int(res, 0, CLAIM_ATTEMPTS, 0, INT_MAX,
	    &job->attempt) != 0 ||
	    db_get_int(res, 0, CLAIM_PREV_ATTEMPTS, 0, INT_MAX, &prev) != 0 ||
	    db_get_i64(res, 0, CLAIM_BYTES, 0, INT64_MAX, &job->bytes) != 0) {
		log_error("could not claim a job: a count is not a number");
		goto out;
	}
	job->max_attempts = cfg->max_attempts;
	job->owner = owner;
	snprintf(job->source, sizeof(job->source), "%s",
	    PQgetvalue(res, 0, CLAIM_SOURCE));
	snprintf(job->sha256, sizeof(job->sha256), "%s",
	    PQgetvalue(res, 0, CLAIM_SHA256));
	if ((job->path = strdup(PQgetvalue(res, 0, CLAIM_PATH))) == NULL) {
		log_error("could not claim a job: out of memory");
		goto out;
	}
	log_info("job %d: claimed, attempt %d of %d", job->id, job->attempt,
	    job->max_attempts);
	r = claim_settle(conn, job,
	    strcmp(PQgetvalue(res, 0, CLAIM_CANCEL), "t") == 0, prev,
	    PQgetvalue(res, 0, CLAIM_ERROR),
	    strcmp(PQgetvalue(res, 0, CLAIM_EXPIRED), "t") == 0,
	    PQgetvalue(res, 0, CLAIM_NOW));
	if (r < 0)
		goto out;
	rc = r == 1 ? RUNNER_DB_CLAIM_DONE : RUNNER_DB_CLAIM_RUN;
out:
	PQclear(res);
	if (rc == RUNNER_DB_CLAIM_ERROR)
		runner_db_command(conn, "ROLLBACK");
	else if (runner_db_commit(conn, NULL, 0) != 0)
		rc = RUNNER_DB_CLAIM_ERROR;
	if (rc != RUNNER_DB_CLAIM_RUN)
		runner_db_job_release(job);
	return rc;
}

double
runner_db_next_due(PGconn *conn, double max)
{
	PGresult	*res;
	double		 s = -1;

	res = PQexec(conn, next_due_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_error("could not read the queue: %s", PQerrorMessage(conn));
	else if (PQgetisnull(res, 0, 0))
		s = max;
	else {
		s = strtod(PQgetvalue(res, 0, 0), NULL);
		s = s < 0 ? 0 : s > max ? max : s;
	}
	PQclear(res);
	return s;
}

int
runner_db_wait(PGconn *conn, int wakefd, int busyfd, double seconds)
{
	struct pollfd	 pfd[3];
	PGnotify	*n;
	int		 got = 0, r;

	/*
	 * A notification read before this wait (by a statement since the
	 * last one, or db_check) is in libpq's queue, not on the socket:
	 * poll would not see it.
	 */
	while ((n = PQnotifies(conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	if (got)
		return 1;
	pfd[0].fd = PQsocket(conn);
	pfd[0].events = POLLIN;
	pfd[1].fd = wakefd;
	pfd[1].events = POLLIN;
	pfd[2].fd = busyfd;		/* poll(2) skips a negative fd */
	pfd[2].events = POLLIN;
	if (pfd[0].fd < 0)
		return -1;
	r = poll(pfd, 3, (int)(seconds * 1000));
	if (r < 0 && errno != EINTR)
		return -1;
	if (r > 0 && pfd[1].revents != 0)
		got = 1;
	if (PQconsumeInput(conn) == 0) {
		log_error("lost the database connection: %s",
		    PQerrorMessage(conn));
		return -1;
	}
	while ((n = PQnotifies(conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return got;
}
