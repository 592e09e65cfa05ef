/*
 * runner_event.c: one INSERT ... RETURNING feeding pg_notify, so the
 * event row and its notification need a single round trip.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "num.h"
#include "runner_event.h"

/*
 * created_at is the moment of the event, not the start of its transaction
 * (now()): a 'succeeded' written at the end of a long load transaction
 * must not look older than the progress events before it.
 */
static const char runner_event_sql[] =
    "WITH e AS (INSERT INTO tripline.job_events "
    "(job_id, event, data, created_at) "
    "VALUES ($1, $2, $3::jsonb, clock_timestamp()) RETURNING id) "
    "SELECT pg_notify('tripline_events', id::text) FROM e";

/*
 * A progress event, or a part's retry, only while the job runs.  The
 * parts of a split job report from several runners, one of which may end
 * the job meanwhile: FOR SHARE waits for an end being committed and then
 * sees it, so no event follows the job's last.
 */
static const char runner_event_running_sql[] =
    "WITH j AS (SELECT id FROM tripline.jobs WHERE id = $1 "
    "AND state = 'running' FOR SHARE), "
    "e AS (INSERT INTO tripline.job_events "
    "(job_id, event, data, created_at) "
    "SELECT $1, $2, $3::jsonb, clock_timestamp() FROM j RETURNING id) "
    "SELECT pg_notify('tripline_events', id::text) FROM e";

struct json_object *
runner_event_number(double v)
{
	char buf[32];

	if (!isfinite(v))
		return NULL;
	if (v == floor(v) && fabs(v) < 9e15)
		return json_object_new_int64((int64_t)v);
	if (num_format_double(v, buf, sizeof(buf)) == 0)
		return NULL;
	return json_object_new_double_s(v, buf);
}

/* Insert the event; with running, only while the job runs. */
static int
runner_event_insert(PGconn *conn, int job_id, enum job_event ev,
    struct json_object *data, int running)
{
	char		 id[16];
	const char	*vals[3];
	PGresult	*res;
	int		 rc = 0;

	snprintf(id, sizeof(id), "%d", job_id);
	vals[0] = id;
	vals[1] = jobstate_event_names[ev];
	vals[2] = json_object_to_json_string_ext(data,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	res = PQexecParams(conn, running ? runner_event_running_sql :
	    runner_event_sql, 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("job %d: could not record event %s: %s", job_id,
		    jobstate_event_names[ev], PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	json_object_put(data);
	return rc;
}

int
runner_event_emit(PGconn *conn, int job_id, enum job_event ev,
    struct json_object *data)
{
	return runner_event_insert(conn, job_id, ev, data,
	    ev == JOB_EVENT_PROGRESS);
}

int
runner_event_retrying(PGconn *conn, int job_id, int part, int attempt,
    const char *next_try, const char *error)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "job", json_object_new_int(job_id));
	if (part >= 0)
		json_object_object_add(o, "part", json_object_new_int(part));
	json_object_object_add(o, "attempt", json_object_new_int(attempt));
	json_object_object_add(o, "next_try", json_object_new_string(next_try));
	json_object_object_add(o, "error", json_object_new_string(error));
	/* A part's retry, like a part's progress, only while its job runs. */
	return runner_event_insert(conn, job_id, JOB_EVENT_RETRYING, o,
	    part >= 0);
}
