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
 * A progress event only while the job runs.  The parts of a split job
 * report from several runners, one of which may end the job meanwhile:
 * FOR SHARE waits for an end being committed and then sees it, so no
 * progress follows the job's last event.
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

int
runner_event_emit(PGconn *conn, int job_id, enum job_event ev,
    struct json_object *data)
{
	char		 id[16];
	const char	*vals[3];
	PGresult	*res;
	int		 rc = 0;

	snprintf(id, sizeof(id), "%d", job_id);
	vals[0] = id;
	vals[1] = job_event_names[ev];
	vals[2] = json_object_to_json_string_ext(data,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	res = PQexecParams(conn, ev == JOB_EVENT_PROGRESS ?
	    runner_event_running_sql : runner_event_sql, 3, NULL, vals, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("job %d: could not record event %s: %s", job_id,
		    job_event_names[ev], PQerrorMessage(conn));
		rc = -1;
	}
	PQclear(res);
	json_object_put(data);
	return rc;
}
