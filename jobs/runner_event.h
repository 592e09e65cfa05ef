/*
 * runner_event.h: job_events rows.  Each event is one JSON object built
 * with json-c, inserted with its name from lib/jobstate.h, and announced
 * with pg_notify('tripline_events', <event id>) in the same statement, so
 * the notification is delivered exactly when the row becomes visible
 * (PostgreSQL docs, NOTIFY: "notifications are delivered ... between
 * transactions ... if the transaction commits").
 */
#ifndef TRIPLINE_RUNNER_EVENT_H
#define TRIPLINE_RUNNER_EVENT_H

#include <libpq-fe.h>
#include <json-c/json.h>

#include "jobstate.h"

/*
 * Insert the event on conn (in the caller's transaction, if any); a
 * progress event only while the job is running.  Takes the reference to
 * data in every case.  Returns 0, or -1 after logging.
 */
int	runner_event_emit(PGconn *conn, int job_id, enum job_event,
	    struct json_object *data);

/*
 * A JSON number for v: an integer when v is whole, else the shortest
 * decimal that reads back as v (lib/num.h).  NULL when v is not finite.
 */
struct json_object *runner_event_number(double v);

/*
 * A 'retrying' event: attempt ended with error, the next try at next_try
 * (RFC 3339 UTC).  part is the part of a split job, or -1 for the job
 * itself.  Returns 0, or -1 after logging.
 */
int	runner_event_retrying(PGconn *conn, int job_id, int part, int attempt,
	    const char *next_try, const char *error);

#endif
