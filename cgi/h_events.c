/*
 * h_events.c: the worker's half of an event stream (see h_events.h and
 * relay.h).  The worker checks the request, sends the head and the
 * backlog from its own connection, up to the relay's horizon, and hands
 * the request to the relay, which sends everything above the horizon:
 * nothing is lost in between and nothing is sent twice.  The worker then
 * goes back to accepting; streams never hold worker threads.
 *
 * The backlog of a job stream opened without Last-Event-ID is the job's
 * state so far: every event except the progress steps that another
 * progress step follows, so a client joining a long job gets its state
 * changes and its latest progress, not thousands of old steps.  With
 * Last-Event-ID every event above that id is sent: exactly what the
 * client missed (WHATWG HTML, 9.2.4 "the last event ID string").
 *
 * ?last_event_id=N says the same for a client that cannot set the
 * header: a page opening a new EventSource after the old one gave up on
 * an HTTP error (the 503 nginx answers while the program restarts).  The
 * header wins when both come: EventSource sends it on its own
 * reconnections, with a newer id than the one in the URL.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "config.h"
#include "db.h"
#include "h_events.h"
#include "http.h"
#include "jobstate.h"
#include "log.h"
#include "monoclock.h"
#include "query.h"
#include "relay.h"
#include "sse.h"

#define EVENTS_PAGE		1000	/* rows per backlog query (the SQL's LIMIT) */
#define EVENTS_READY_MS		5000	/* wait for the relay's first connection */
#define EVENTS_SNDTIMEO_S	1	/* a client reading nothing frees the worker */
#define EVENTS_BACKLOG_MS	1000	/* ... and a slow one, after this long */

enum events_sql {
	SQL_JOB,
	SQL_HISTORY,
	SQL_JOB_PAGE,
	SQL_ALL_PAGE,
	SQL_NEWEST,
	SQL__MAX
};

static const char *const events_sql[SQL__MAX] = {
	/* SQL_JOB: $1 job, $2 the final event names; state, final event */
	"SELECT j.state, (SELECT max(e.id) FROM tripline.job_events e"
	"  WHERE e.job_id = j.id AND e.event = ANY($2::text[]))"
	" FROM tripline.jobs j WHERE j.id = $1",

	/* SQL_HISTORY: $1 job, $2 through id, $3 the progress event name */
	"SELECT id, event, data::text FROM ("
	"  SELECT id, event, data, lead(event) OVER (ORDER BY id) AS next"
	"  FROM tripline.job_events WHERE job_id = $1 AND id <= $2::bigint"
	") e WHERE event <> $3 OR next IS DISTINCT FROM $3 ORDER BY id",

	/* SQL_JOB_PAGE: $1 job, $2 after id, $3 through id */
	"SELECT id, event, data::text FROM tripline.job_events"
	" WHERE job_id = $1 AND id > $2::bigint AND id <= $3::bigint"
	" ORDER BY id LIMIT 1000",

	/* SQL_ALL_PAGE: $1 after id, $2 through id */
	"SELECT id, event, data::text FROM tripline.job_events"
	" WHERE id > $1::bigint AND id <= $2::bigint ORDER BY id LIMIT 1000",

	/* SQL_NEWEST: $1 an id; whether it is above every committed event */
	"SELECT $1::bigint > coalesce(max(id), 0) FROM tripline.job_events",
};

enum { EV_LAST_EVENT_ID, EV__MAX };
static const struct query_param events_params[EV__MAX] = {
	[EV_LAST_EVENT_ID] = { "last_event_id", QUERY_INT, 0, INT64_MAX,
	    0, 0, 0 },
};

/* Why a Last-Event-ID header is refused (invalid_params' reason). */
#define LEID_REASON	"must be a decimal event id"

/*
 * The workers sending a backlog now.  A backlog holds its worker for up
 * to EVENTS_BACKLOG_MS, and a fleet of dashboards catching up after a
 * busy day took every worker from the other requests for as long as it
 * lasted (each /api/health 5 s).  At most half the workers (at least
 * one) send backlogs; a stream over that is told to come back: its
 * head, retry and a comment, then the end, and EventSource reconnects
 * after the retry time with its Last-Event-ID (WHATWG HTML 9.2.3).
 */
static atomic_int	 events_backlogs;
#define EVENTS_BUSY	": busy, reconnect with Last-Event-ID\n\n"

/* One stream while the worker serves it. */
struct events {
	struct http_req	*req;
	int		 job;		/* 0: every job */
	int64_t		 sent;		/* the client has every id up to here */
	int64_t		 read;		/* the last row read, sent or skipped */
	int		 done;		/* the job's final event was sent */
	int64_t		 until;		/* the backlog's time is up (ms) */
};

/* Send the rows (id, event, data) of res; 0, or -1 when the client left. */
static int
events_send(struct events *ev, const PGresult *res)
{
	struct sse_msg	*m;
	enum job_event	 e;
	int64_t		 id;
	int		 i, rc = 0;

	for (i = 0; i < PQntuples(res) && !ev->done; i++) {
		if (db_get_i64(res, i, 0, 1, INT64_MAX, &id) != 0)
			continue;
		ev->read = id;
		e = jobstate_event_from_name(PQgetvalue(res, i, 1));
		m = e == JOB_EVENT__MAX ? NULL : sse_msg_new(id,
		    jobstate_event_names[e], PQgetvalue(res, i, 2),
		    (size_t)PQgetlength(res, i, 2));
		if (m == NULL) {
			log_warn("event %" PRId64 " is malformed, not sent", id);
			continue;
		}
		rc = http_write(ev->req, m->text, m->len);
		sse_msg_free(m);
		if (rc != 0)
			return -1;
		ev->sent = id;
		if (ev->job != 0 && jobstate_event_is_final(e))
			ev->done = 1;
		/*
		 * A worker is not a stream's: a client that takes a long
		 * backlog slowly (or not at all: the socket's buffers take
		 * megabytes first) ends here and resumes from what it has.
		 */
		if (!ev->done && monoclock_ms() > ev->until) {
			log_info("event stream ended: its client took its "
			    "backlog too slowly");
			return -1;
		}
	}
	return 0;
}

/*
 * Run a backlog query on the worker's connection.  The head is sent, so
 * a failure cannot be a problem+json any more: the stream just ends and
 * the client resumes.  Returns the result or NULL after logging.
 */
static PGresult *
events_query(struct events *ev, enum events_sql q, int n,
    const char *const *vals)
{
	PGconn		*conn = *ev->req->conn;
	PGresult	*res;

	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		log_warn("event backlog: no database connection");
		return NULL;
	}
	res = PQexecParams(conn, events_sql[q], n, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		log_error("event backlog: %s", PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Send the events in (after, through], a page at a time. */
static int
events_backlog(struct events *ev, int64_t after, int64_t through)
{
	PGresult	*res;
	char		 job[16], a[24], t[24];
	const char	*vals[3];
	int		 n, rc;

	snprintf(job, sizeof(job), "%d", ev->job);
	snprintf(t, sizeof(t), "%" PRId64, through);
	while (after < through && !ev->done) {
		snprintf(a, sizeof(a), "%" PRId64, after);
		if (ev->job != 0) {
			vals[0] = job;
			vals[1] = a;
			vals[2] = t;
			res = events_query(ev, SQL_JOB_PAGE, 3, vals);
		} else {
			vals[0] = a;
			vals[1] = t;
			res = events_query(ev, SQL_ALL_PAGE, 2, vals);
		}
		if (res == NULL)
			return -1;
		n = PQntuples(res);
		rc = events_send(ev, res);
		PQclear(res);
		if (rc != 0)
			return -1;
		/*
		 * The next page starts after the last row read, not the last
		 * sent: a page of rows skipped (an event name this program
		 * does not know, from a newer runner) read again would never
		 * end.
		 */
		if (n < EVENTS_PAGE || ev->read <= after)
			break;
		after = ev->read;
	}
	return 0;
}

/* The job's state so far (see the top of this file), through an id. */
static int
events_history(struct events *ev, int64_t through)
{
	PGresult	*res;
	char		 job[16], t[24];
	const char	*vals[3] = { job, t,
	    jobstate_event_names[JOB_EVENT_PROGRESS] };
	int		 rc;

	snprintf(job, sizeof(job), "%d", ev->job);
	snprintf(t, sizeof(t), "%" PRId64, through);
	if ((res = events_query(ev, SQL_HISTORY, 3, vals)) == NULL)
		return -1;
	rc = events_send(ev, res);
	PQclear(res);
	return rc;
}

/* "{succeeded,failed,cancelled}", from the table of lib/jobstate.c. */
static void
final_names(char *buf, size_t size)
{
	size_t	 o = 0;
	int	 e, n;

	buf[o++] = '{';
	for (e = 0; e < JOB_EVENT__MAX; e++) {
		if (!jobstate_event_is_final((enum job_event)e))
			continue;
		n = snprintf(buf + o, size - o, "%s%s", o > 1 ? "," : "",
		    jobstate_event_names[e]);
		if (n < 0 || (size_t)n >= size - o - 2)
			break;
		o += (size_t)n;
	}
	buf[o++] = '}';
	buf[o] = '\0';
}

/*
 * Whether a Last-Event-ID names no event: above every committed one (a
 * client of a database since restored, or one that made it up).  The
 * relay would skip every event up to it, and a job's stream would never
 * end.  1 above, 0 not, -1 when answered (the database failed).
 */
static int
events_leid_ahead(struct http_req *req, int64_t last)
{
	PGresult	*res;
	char		 id[24];
	const char	*vals[1] = { id };
	int		 ahead;

	snprintf(id, sizeof(id), "%" PRId64, last);
	if ((res = http_exec(req, "newest event", events_sql[SQL_NEWEST], 1,
	    vals, 1)) == NULL)
		return -1;
	ahead = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return ahead;
}

/*
 * For a job: 404 when there is none; 204 when the client has its final
 * event already.  Returns 1 to go on, 0 when answered.
 */
static int
events_check_job(struct http_req *req, int have_last, int64_t last)
{
	PGresult	*res;
	char		 id[24], finals[128];
	const char	*vals[2] = { id, finals };
	int64_t		 final;
	int		 go = 0;

	snprintf(id, sizeof(id), "%" PRId64, req->id);
	final_names(finals, sizeof(finals));
	if ((res = http_exec(req, "job for events", events_sql[SQL_JOB], 2,
	    vals, 1)) == NULL)
		return 0;
	if (PQntuples(res) == 0)
		http_problem(req, 404, "job \"%" PRId64 "\" not found",
		    req->id);
	else if (have_last &&
	    db_get_i64(res, 0, 1, 1, INT64_MAX, &final) == 0 &&
	    last >= final) {
		/*
		 * WHATWG HTML 9.2.3: a 204 makes EventSource fail the
		 * connection instead of reconnecting forever.
		 */
		http_head(req, 204, NULL, -1);
	} else
		go = 1;
	PQclear(res);
	return go;
}

static void
events_serve(struct http_req *req, int job)
{
	struct events	 ev = { .req = req, .job = job };
	struct query_values qv;
	struct timeval	 tv = { EVENTS_SNDTIMEO_S, 0 };
	enum relay_take	 take;
	enum sse_leid	 leid;
	const char	*hdr;
	char		 err[256];
	int64_t		 last = 0, start, h, hnew;
	int		 rc, backlog;

	if (query_parse(req->query, strlen(req->query), events_params, EV__MAX,
	    &qv, err, sizeof(err)) != 0) {
		http_problem_query(req, &qv, err);
		return;
	}
	hdr = http_param(req, "HTTP_LAST_EVENT_ID");
	leid = sse_last_event_id(hdr, hdr != NULL ? strlen(hdr) : 0, &last);
	if (leid == SSE_LEID_INVALID) {
		http_problem_value(req, 400, "Last-Event-ID", hdr, strlen(hdr),
		    LEID_REASON);
		return;
	}
	if (leid == SSE_LEID_ABSENT && qv.v[EV_LAST_EVENT_ID].present) {
		leid = SSE_LEID_VALID;
		last = qv.v[EV_LAST_EVENT_ID].i;
	}
	if (leid == SSE_LEID_VALID) {
		if ((rc = events_leid_ahead(req, last)) < 0)
			return;
		if (rc == 1) {
			/* The client's id means nothing here: start afresh. */
			log_info("Last-Event-ID %" PRId64 " is above every event: "
			    "stream sent from the start", last);
			leid = SSE_LEID_ABSENT;
			last = 0;
		}
	}
	if (job != 0 && !events_check_job(req, leid == SSE_LEID_VALID, last))
		return;
	if ((h = relay_horizon(EVENTS_READY_MS)) < 0) {
		http_problem(req, 503, "the event stream is not ready, "
		    "try again");
		return;
	}
	/*
	 * The backlog is read from this worker's connection after the head
	 * is sent, when a failure can only end the stream: connect now, so
	 * that a worker that had none yet answers 503, not an empty stream.
	 */
	if (http_db(req) == NULL)
		return;
	setsockopt(req->fcgi->ipcFd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* nginx: pass each event on at once (the location says so too). */
	http_header(req, "X-Accel-Buffering", "no");
	http_head(req, 200, "text/event-stream", -1);
	if (req->method == HTTP_HEAD)
		return;
	http_write(req, SSE_RETRY, strlen(SSE_RETRY));
	ev.until = monoclock_ms() + EVENTS_BACKLOG_MS;
	/* Without Last-Event-ID a job starts at its beginning, all at now. */
	ev.sent = leid == SSE_LEID_VALID ? last : (job != 0 ? 0 : h);
	/* What the client has before its backlog: for the relay's late ids. */
	start = ev.sent;
	/* No backlog (every job from now): nothing to hold a worker for. */
	backlog = ev.sent < h;
	if (backlog && atomic_fetch_add(&events_backlogs, 1) >=
	    (req->cfg->threads > 1 ? req->cfg->threads / 2 : 1)) {
		atomic_fetch_sub(&events_backlogs, 1);
		http_write(req, EVENTS_BUSY, strlen(EVENTS_BUSY));
		http_flush(req);
		return;
	}
	if (job != 0 && leid != SSE_LEID_VALID)
		rc = events_history(&ev, h);
	else
		rc = events_backlog(&ev, ev.sent, h);
	if (backlog)
		atomic_fetch_sub(&events_backlogs, 1);
	for (;;) {
		if (rc != 0 || ev.done || http_flush(req) != 0)
			break;
		take = relay_subscribe(req->fcgi, job, h, start, &hnew);
		if (take == RELAY_TAKEN) {
			req->handed_over = 1;
			return;
		}
		if (take != RELAY_BEHIND)
			break;
		/* The relay sent events meanwhile: send them, try again. */
		rc = events_backlog(&ev, h > ev.sent ? h : ev.sent, hnew);
		h = hnew;
	}
	/* The stream ends here (final event, client gone, or stopping). */
	http_flush(req);
}

void
h_events_job(struct http_req *req)
{
	events_serve(req, (int)req->id);
}

void
h_events_all(struct http_req *req)
{
	events_serve(req, 0);
}
