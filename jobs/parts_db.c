/*
 * parts_db.c: claim, end and hand over the parts of split jobs
 * (parts_db.h).  The claim is runner_db.c's queue pattern on job_parts.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "lease.h"
#include "log.h"
#include "parts_db.h"
#include "runner_db.h"
#include "runner_event.h"
#include "split.h"
#include "tripspart.h"

/*
 * The job's parts lock: pg_advisory_xact_lock(key1, key2) with key1 this
 * class and key2 the job id (PostgreSQL docs, 9.27.10 "Advisory Lock
 * Functions"); released at the end of the transaction.
 */
#define PARTS_LOCK_CLASS	"7474"

static const char lock_sql[] =
    "SELECT pg_advisory_xact_lock(" PARTS_LOCK_CLASS ", $1::integer)";

/* The split pass's phase is over: the parts report theirs (lease.c). */
static const char handover_sql[] =
    "UPDATE tripline.jobs SET lease_owner = '" PARTS_DB_OWNER "', "
    "lease_until = NULL, phase = NULL WHERE id = $1 AND lease_owner = $2 "
    "AND attempts = $3 AND state = 'running' AND NOT cancel_requested "
    "RETURNING pg_notify('tripline_jobs', id::text)";

static const char stage_open_sql[] =
    "SELECT tripline.agg_stage_open($1)";

static const char insert_sql[] =
    "INSERT INTO tripline.job_parts (job_id, part, first_byte, end_byte, "
    "first_line, header_end, file_stamp) VALUES ($1, $2, $3, $4, $5, $6, "
    "$7)";

/*
 * A part is claimable when queued and due, or running with an expired
 * lease, and its job is running.  Used-up attempts are not counted
 * again (as in runner_db.c's claim): the settle step fails the job.
 * The attempt counts from 0 (one whose runner died left its counts).
 */
static const char claim_sql[] =
    "WITH c AS (SELECT p.job_id, p.part, p.attempts, p.state "
    "FROM tripline.job_parts p "
    "WHERE ((p.state = 'queued' AND p.run_after <= now()) "
    "OR (p.state = 'running' AND p.lease_until < now())) "
    "AND EXISTS (SELECT FROM tripline.jobs j WHERE j.id = p.job_id "
    "AND j.state = 'running') "
    "ORDER BY p.job_id, p.part LIMIT 1 FOR UPDATE OF p SKIP LOCKED) "
    "UPDATE tripline.job_parts AS p SET state = 'running', "
    "attempts = CASE WHEN c.attempts >= $3 THEN c.attempts "
    "ELSE c.attempts + 1 END, "
    "lease_owner = $1, lease_until = now() + $2 * interval '1 second', "
    "rows_loaded = 0, rows_rejected = 0, bytes_read = 0, phase = NULL "
    "FROM c, tripline.jobs j "
    "WHERE p.job_id = c.job_id AND p.part = c.part AND j.id = c.job_id "
    "RETURNING p.job_id, p.part, p.attempts, c.attempts, p.first_byte, "
    "p.end_byte, p.first_line, p.header_end, p.file_stamp, j.attempts, "
    "j.source, j.path, j.bytes, j.sha256, j.cancel_requested, "
    "coalesce(p.error, ''), "
    "extract(epoch FROM now() - "
    "coalesce(j.attempt_started_at, j.started_at, now())), "
    "c.state = 'running', "
    DB_RFC3339("now()");

enum claim_col {
	CLAIM_JOB, CLAIM_PART, CLAIM_ATTEMPTS, CLAIM_PREV_ATTEMPTS,
	CLAIM_FIRST_BYTE, CLAIM_END_BYTE, CLAIM_FIRST_LINE, CLAIM_HEADER_END,
	CLAIM_STAMP, CLAIM_JOB_ATTEMPTS, CLAIM_SOURCE, CLAIM_PATH,
	CLAIM_BYTES, CLAIM_SHA256, CLAIM_CANCEL, CLAIM_ERROR, CLAIM_RUNNING,
	CLAIM_EXPIRED, CLAIM_NOW, CLAIM__MAX
};

static const char others_sql[] =
    "SELECT count(*) FILTER (WHERE state <> 'loaded'), "
    "coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0), "
    "coalesce(sum(bytes_read), 0) "
    "FROM tripline.job_parts WHERE job_id = $1 AND part <> $2";

#define PART_WHERE \
    " WHERE job_id = $1 AND part = $2 AND lease_owner = $3 " \
    "AND attempts = $4 AND state = 'running'"

static const char loaded_sql[] =
    "UPDATE tripline.job_parts SET state = 'loaded', rows_loaded = $5, "
    "rows_rejected = $6, bytes_read = $7, error = NULL, "
    "lease_owner = NULL, lease_until = NULL" PART_WHERE
    " AND EXISTS (SELECT FROM tripline.jobs j WHERE j.id = $1 "
    "AND j.state IN ('running', 'succeeded')) RETURNING ''";

/*
 * $5 counted (0 or 1), $6 seconds, $7 error.  What the attempt counted
 * leaves the job's sums at once (lease_sum_write), under the job's row
 * lock, taken first (lease_sum_lock): the order of the job's ends, which
 * lock its row and then delete its parts.
 */
static const char release_sql[] =
    "UPDATE tripline.job_parts SET state = 'queued', "
    "attempts = attempts - 1 + $5, "
    "rows_loaded = 0, rows_rejected = 0, bytes_read = 0, phase = NULL, "
    "run_after = now() + $6 * interval '1 second', error = $7, "
    "lease_owner = NULL, lease_until = NULL" PART_WHERE
    " RETURNING pg_notify('tripline_jobs', job_id::text), "
    DB_RFC3339("run_after");

/* One statement; 0 when it gave tuples, -1 after logging. */
static int
parts_exec(PGconn *c, const char *sql, int n, const char *const *vals,
    PGresult **out, const char *what, int job_id)
{
	PGresult *res;

	res = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("job %d: could not %s: %s", job_id, what,
		    PQerrorMessage(c));
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

static int
parts_lock(PGconn *c, int job_id)
{
	char		 id[16];
	const char	*vals[1] = { id };

	snprintf(id, sizeof(id), "%d", job_id);
	return parts_exec(c, lock_sql, 1, vals, NULL, "lock its parts",
	    job_id);
}

int
parts_db_split(PGconn *c, const struct runner_db_job *job, const struct split *s,
    const char *stamp)
{
	char		 num[7][24];
	const char	*vals[7];
	PGresult	*res = NULL;
	size_t		 k;
	int		 rc = -1;

	if (runner_db_command(c, "BEGIN") != 0)
		return -1;
	snprintf(num[0], sizeof(num[0]), "%d", job->id);
	snprintf(num[1], sizeof(num[1]), "%d", job->attempt);
	vals[0] = num[0];
	vals[1] = job->owner;
	vals[2] = num[1];
	if (parts_exec(c, handover_sql, 3, vals, &res, "hand it to its parts",
	    job->id) != 0)
		goto out;
	if (PQntuples(res) != 1) {
		rc = 1;
		goto out;
	}
	PQclear(res);
	res = NULL;
	if (parts_exec(c, stage_open_sql, 1, vals, NULL, "open its stage",
	    job->id) != 0)
		goto out;
	for (k = 0; k < s->nparts; k++) {
		snprintf(num[1], sizeof(num[1]), "%zu", k);
		snprintf(num[2], sizeof(num[2]), "%llu",
		    (unsigned long long)s->part[k].first_byte);
		snprintf(num[3], sizeof(num[3]), "%llu",
		    (unsigned long long)s->part[k].end_byte);
		snprintf(num[4], sizeof(num[4]), "%llu",
		    (unsigned long long)s->part[k].first_line);
		snprintf(num[5], sizeof(num[5]), "%llu",
		    (unsigned long long)s->header_end);
		vals[1] = num[1];
		vals[2] = num[2];
		vals[3] = num[3];
		vals[4] = num[4];
		vals[5] = num[5];
		vals[6] = stamp;
		res = PQexecParams(c, insert_sql, 7, NULL, vals, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			log_error("job %d: could not write its parts: %s",
			    job->id, PQerrorMessage(c));
			goto out;
		}
		PQclear(res);
		res = NULL;
	}
	rc = 0;
out:
	PQclear(res);
	if (rc == 0 && runner_db_commit(c, NULL, 0) != 0)
		rc = -1;
	else if (rc != 0)
		runner_db_command(c, "ROLLBACK");
	return rc;
}

/* End the job in the caller's transaction: the lock, the end, the drop. */
static enum runner_db_status
parts_end(PGconn *c, const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	enum runner_db_status st;

	if (parts_lock(c, job->id) != 0)
		return RUNNER_DB_ERROR;
	if ((st = runner_db_end(c, job, end, r)) != RUNNER_DB_OK)
		return st;
	if (tripspart_parts_drop(c, job->id) != 0) {
		log_error("job %d: could not drop its parts: %s", job->id,
		    PQerrorMessage(c));
		return RUNNER_DB_ERROR;
	}
	return RUNNER_DB_OK;
}

enum runner_db_status
parts_db_end_job(PGconn *c, const struct runner_db_job *job, enum runner_db_end end,
    const struct runner_db_result *r)
{
	return runner_db_in_transaction(c, parts_end, job, end, r);
}

/* Set t0 seconds back from now: the job's attempt's start, not the part's. */
static void
parts_t0(struct timespec *t0, double ago)
{
	clock_gettime(CLOCK_MONOTONIC, t0);
	if (ago > 0 && ago < (double)t0->tv_sec) {
		t0->tv_sec -= (time_t)ago;
		t0->tv_nsec -= (long)((ago - (double)(time_t)ago) * 1e9);
		if (t0->tv_nsec < 0) {
			t0->tv_nsec += 1000000000;
			t0->tv_sec--;
		}
	}
}

/* The claimed part's job ends at once: 1, 0 to load it, -1 on error. */
static int
parts_settle(PGconn *c, struct runner_db_job *job, const struct parts_db_part *part,
    int cancel, int prev_attempts, const char *prev_error, int expired)
{
	struct runner_db_result	 r, others;
	enum runner_db_end	 end = RUNNER_DB_CANCELLED;

	memset(&r, 0, sizeof(r));
	if (cancel) {
		/* Its event tells the job's rows, as runner_run_part's. */
		if (parts_db_others(c, job, part, &others) < 0)
			return -1;
		r.rows_loaded = others.rows_loaded;
	} else {
		if (prev_attempts < job->max_attempts)
			return 0;
		end = RUNNER_DB_FAILED;
		r.attempt = prev_attempts;
		/* As claim_settle: a running part died with its runner. */
		r.error = !expired && prev_error[0] != '\0' ? prev_error :
		    RUNNER_DB_LOST_ERROR;
		log_warn("job %d: part %d used up its attempts: %s", job->id,
		    part->part, r.error);
	}
	/* Gone: the job ended meanwhile; the part is not loaded either. */
	switch (parts_end(c, job, end, &r)) {
	case RUNNER_DB_OK:
	case RUNNER_DB_GONE:
		return 1;
	default:
		return -1;
	}
}

enum runner_db_claim
parts_db_claim(PGconn *c, const struct config *cfg, const char *owner,
    struct runner_db_job *job, struct parts_db_part *part)
{
	char		 lease[16], maxat[16];
	const char	*vals[3] = { owner, lease, maxat };
	PGresult	*res = NULL;
	enum runner_db_claim rc = RUNNER_DB_CLAIM_ERROR;
	int		 r, prev;

	memset(job, 0, sizeof(*job));
	memset(part, 0, sizeof(*part));
	snprintf(lease, sizeof(lease), "%d", cfg->lease_seconds);
	snprintf(maxat, sizeof(maxat), "%d", cfg->max_attempts);
	if (runner_db_command(c, "BEGIN") != 0)
		return RUNNER_DB_CLAIM_ERROR;
	if (parts_exec(c, claim_sql, 3, vals, &res, "claim a part", 0) != 0)
		goto out;
	if (PQnfields(res) != CLAIM__MAX) {
		log_error("could not claim a part: %d columns, not %d",
		    PQnfields(res), CLAIM__MAX);
		goto out;
	}
	if (PQntuples(res) == 0) {
		rc = RUNNER_DB_CLAIM_NONE;
		goto out;
	}
	if (db_get_int(res, 0, CLAIM_JOB, 1, INT_MAX, &job->id) != 0 ||
	    db_get_int(res, 0, CLAIM_JOB_ATTEMPTS, 0, INT_MAX,
	    &job->attempt) != 0 ||
	    db_get_i64(res, 0, CLAIM_BYTES, 0, INT64_MAX, &job->bytes) != 0 ||
	    db_get_int(res, 0, CLAIM_PART, 0, INT_MAX, &part->part) != 0 ||
	    db_get_int(res, 0, CLAIM_ATTEMPTS, 0, INT_MAX,
	    &part->attempt) != 0 ||
	    db_get_int(res, 0, CLAIM_PREV_ATTEMPTS, 0, INT_MAX, &prev) != 0 ||
	    db_get_i64(res, 0, CLAIM_FIRST_BYTE, 0, INT64_MAX,
	    &part->first_byte) != 0 ||
	    db_get_i64(res, 0, CLAIM_END_BYTE, 0, INT64_MAX,
	    &part->end_byte) != 0 ||
	    db_get_i64(res, 0, CLAIM_FIRST_LINE, 1, INT64_MAX,
	    &part->first_line) != 0 ||
	    db_get_i64(res, 0, CLAIM_HEADER_END, 0, INT64_MAX,
	    &part->header_end) != 0) {
		log_error("could not claim a part: a count is not a number");
		goto out;
	}
	job->max_attempts = cfg->max_attempts;
	job->owner = PARTS_DB_OWNER;
	snprintf(job->source, sizeof(job->source), "%s",
	    PQgetvalue(res, 0, CLAIM_SOURCE));
	snprintf(job->sha256, sizeof(job->sha256), "%s",
	    PQgetvalue(res, 0, CLAIM_SHA256));
	parts_t0(&job->t0, strtod(PQgetvalue(res, 0, CLAIM_RUNNING), NULL));
	snprintf(part->stamp, sizeof(part->stamp), "%s",
	    PQgetvalue(res, 0, CLAIM_STAMP));
	part->owner = owner;
	if ((job->path = strdup(PQgetvalue(res, 0, CLAIM_PATH))) == NULL) {
		log_error("could not claim a part: out of memory");
		goto out;
	}
	log_info("job %d: part %d claimed, attempt %d of %d", job->id,
	    part->part, part->attempt, job->max_attempts);
	r = parts_settle(c, job, part,
	    strcmp(PQgetvalue(res, 0, CLAIM_CANCEL), "t") == 0, prev,
	    PQgetvalue(res, 0, CLAIM_ERROR),
	    strcmp(PQgetvalue(res, 0, CLAIM_EXPIRED), "t") == 0);
	if (r < 0)
		goto out;
	/*
	 * Taken over from a runner that died (the part's lease expired): the
	 * job's stream tells why that part starts again, and why the summed
	 * progress goes back by what it had read.
	 */
	if (r == 0 && strcmp(PQgetvalue(res, 0, CLAIM_EXPIRED), "t") == 0 &&
	    runner_event_retrying(c, job->id, part->part, prev,
	    PQgetvalue(res, 0, CLAIM_NOW), RUNNER_DB_LOST_ERROR) != 0)
		goto out;
	rc = r == 1 ? RUNNER_DB_CLAIM_DONE : RUNNER_DB_CLAIM_RUN;
out:
	PQclear(res);
	if (rc == RUNNER_DB_CLAIM_ERROR)
		runner_db_command(c, "ROLLBACK");
	else if (runner_db_commit(c, NULL, 0) != 0)
		rc = RUNNER_DB_CLAIM_ERROR;
	if (rc != RUNNER_DB_CLAIM_RUN)
		runner_db_job_release(job);
	return rc;
}

int
parts_db_others(PGconn *c, const struct runner_db_job *job,
    const struct parts_db_part *part, struct runner_db_result *others)
{
	char		 id[16], p[16];
	const char	*vals[2] = { id, p };
	PGresult	*res;
	uint64_t	 n[4];
	int		 rc;

	memset(others, 0, sizeof(*others));
	if (parts_lock(c, job->id) != 0)
		return -1;
	snprintf(id, sizeof(id), "%d", job->id);
	snprintf(p, sizeof(p), "%d", part->part);
	if (parts_exec(c, others_sql, 2, vals, &res, "count its parts",
	    job->id) != 0)
		return -1;
	if (db_get_counts(res, 0, 0, 4, n) != 0) {
		log_error("job %d: its parts' counts are not numbers", job->id);
		rc = -1;
	} else {
		rc = n[0] == 0;
		others->rows_loaded = n[1];
		others->rows_rejected = n[2];
		others->bytes_read = n[3];
	}
	PQclear(res);
	return rc;
}

/* The parameters of PART_WHERE, then up to three more. */
static void
parts_vals(const struct runner_db_job *job, const struct parts_db_part *part,
    char num[][24], const char **vals)
{
	snprintf(num[0], 24, "%d", job->id);
	snprintf(num[1], 24, "%d", part->part);
	snprintf(num[2], 24, "%d", part->attempt);
	vals[0] = num[0];
	vals[1] = num[1];
	vals[2] = part->owner;
	vals[3] = num[2];
}

enum runner_db_status
parts_db_loaded(PGconn *c, const struct runner_db_job *job,
    const struct parts_db_part *part, const struct runner_db_result *own)
{
	char		 num[6][24];
	const char	*vals[7];
	PGresult	*res;
	enum runner_db_status st;

	parts_vals(job, part, num, vals);
	snprintf(num[3], 24, "%llu", (unsigned long long)own->rows_loaded);
	snprintf(num[4], 24, "%llu", (unsigned long long)own->rows_rejected);
	snprintf(num[5], 24, "%llu", (unsigned long long)own->bytes_read);
	vals[4] = num[3];
	vals[5] = num[4];
	vals[6] = num[5];
	if (parts_exec(c, loaded_sql, 7, vals, &res, "record its part",
	    job->id) != 0)
		return RUNNER_DB_ERROR;
	st = PQntuples(res) == 1 ? RUNNER_DB_OK : RUNNER_DB_GONE;
	PQclear(res);
	return st;
}

enum runner_db_status
parts_db_release(PGconn *c, const struct runner_db_job *job,
    const struct parts_db_part *part, int counted, int retry_in,
    const char *error)
{
	char		 num[5][24];
	const char	*vals[7];
	PGresult	*res = NULL;
	enum runner_db_status st = RUNNER_DB_ERROR;

	parts_vals(job, part, num, vals);
	snprintf(num[3], 24, "%d", counted ? 1 : 0);
	snprintf(num[4], 24, "%d", retry_in);
	vals[4] = num[3];
	vals[5] = num[4];
	vals[6] = error;
	if (runner_db_command(c, "BEGIN") != 0)
		return RUNNER_DB_ERROR;
	if (lease_sum_lock(c, job->id) != 0)
		goto out;
	if (parts_exec(c, release_sql, 7, vals, &res, "queue its part again",
	    job->id) != 0)
		goto out;
	st = RUNNER_DB_GONE;
	if (PQntuples(res) == 1) {
		/* The stream tells why the part starts again (docs/events.md). */
		st = runner_event_retrying(c, job->id, part->part, part->attempt,
		    PQgetvalue(res, 0, 1), counted ? error :
		    RUNNER_DB_REQUEUE_ERROR) == 0 &&
		    lease_sum_write(c, job->id) == 0 ? RUNNER_DB_OK :
		    RUNNER_DB_ERROR;
	}
out:
	PQclear(res);
	if (st == RUNNER_DB_ERROR)
		runner_db_command(c, "ROLLBACK");
	else if (runner_db_commit(c, NULL, 0) != 0)
		st = RUNNER_DB_ERROR;
	return st;
}
