/*
 * h_jobs.c: reading and cancelling jobs (see h_jobs.h).
 *
 * Paging is by key, not offset (the "next" link carries the last id or
 * line seen), so a page costs an index range scan however deep it is and
 * new jobs do not shift the pages.  A page asks for one row more than it
 * shows: that row only says whether a next page exists.  The list takes
 * ?state= (one of lib/jobstate.c's names), carried on by the next link:
 * the failed jobs, say, without paging through all the others.
 *
 * A cancel is one call of tripline.job_cancel (023_web_calls.sql), which
 * decides under the job's row lock, so a claim or the runner's end cannot
 * slip between reading the state and changing it:
 *   queued   -> cancelled now, 'cancelled' event, NOTIFY: 200 and the job
 *   running, its runner dead (lease expired)
 *            -> the same: 200 and the job
 *   running  -> cancel_requested: the runner stops within a second and
 *               writes the 'cancelled' event itself: 202 and the job
 *   finished -> 409
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "h_jobs.h"
#include "http.h"
#include "job_json.h"
#include "jobstate.h"
#include "log.h"
#include "query.h"

#define LIMIT_DEFAULT	50
#define LIMIT_MAX	500
#define REJECTS_DEFAULT	100
#define REJECTS_MAX	1000

enum jobs_sql {
	SQL_GET,
	SQL_LIST,
	SQL_CANCEL,
	SQL_REJECTS,
	SQL__MAX
};

static const char *const jobs_sql[SQL__MAX] = {
	/* SQL_GET: $1 id */
	"SELECT " JOB_JSON_COLUMNS " FROM tripline.jobs WHERE id = $1",

	/* SQL_LIST: $1 ids below, $2 rows, $3 the state or NULL for any */
	"SELECT " JOB_JSON_COLUMNS " FROM tripline.jobs"
	" WHERE id < $1::bigint"
	" AND ($3::tripline.job_state IS NULL OR state = $3::tripline.job_state)"
	" ORDER BY id DESC LIMIT $2",

	/*
	 * SQL_CANCEL: $1 id.  The job's columns, then what was done (one of
	 * cancel_outcomes); no row when there is no such job.
	 */
	"SELECT " JOB_JSON_COLUMNS ", c.outcome"
	" FROM tripline.job_cancel($1::integer) c,"
	" LATERAL (SELECT (c.job_row).*) j",

	/*
	 * SQL_REJECTS: $1 id, $2 lines after, $3 rows.  The outer join
	 * tells an unknown job (no row) from one without rejects (a row of
	 * nulls) in one round trip.  Only a succeeded job's: the parts of
	 * a split job commit their rejects as each is read, and a job that
	 * then fails loses them (README, "rejected rows").
	 */
	"SELECT r.line, r.reason, r.raw FROM tripline.jobs j"
	" LEFT JOIN LATERAL (SELECT line, reason, raw FROM tripline.job_rejects"
	"   WHERE job_id = j.id AND j.state = 'succeeded'"
	"   AND line > $2::bigint ORDER BY line LIMIT $3) r"
	" ON true WHERE j.id = $1 ORDER BY r.line",
};

enum { LIST_LIMIT, LIST_BEFORE, LIST_STATE, LIST__MAX };
static const struct query_param list_params[LIST__MAX] = {
	[LIST_LIMIT] = { "limit", QUERY_INT, 1, LIMIT_MAX, 0, 0, 0 },
	[LIST_BEFORE] = { "before", QUERY_INT, 1, 2147483647, 0, 0, 0 },
	[LIST_STATE] = { "state", QUERY_TEXT, 0, 0, 0, 0, 32 },
};

#define STATE_REASON \
	"must be queued, running, succeeded, failed or cancelled"

enum { REJ_LIMIT, REJ_AFTER, REJ__MAX };
static const struct query_param rejects_params[REJ__MAX] = {
	[REJ_LIMIT] = { "limit", QUERY_INT, 1, REJECTS_MAX, 0, 0, 0 },
	[REJ_AFTER] = { "after_line", QUERY_INT, 0, INT64_MAX - 1, 0, 0, 0 },
};

static void
no_such_job(struct http_req *req)
{
	http_problem(req, 404, "job \"%" PRId64 "\" not found", req->id);
}

/* Answer with the job in res's first row. */
static void
reply_job(struct http_req *req, int status, const PGresult *res)
{
	struct json_object *job = job_json_new(res, 0, 0);

	if (job == NULL) {
		http_problem(req, 500, "internal error");
		return;
	}
	http_json(req, status, job);
	json_object_put(job);
}

void
h_jobs_get(struct http_req *req)
{
	PGresult	*res;
	char		 id[24];
	const char	*params[1] = { id };

	if (http_query_none(req) != 0)
		return;
	snprintf(id, sizeof(id), "%" PRId64, req->id);
	if ((res = http_exec(req, "get job", jobs_sql[SQL_GET], 1, params,
	    1)) == NULL)
		return;
	if (PQntuples(res) == 0)
		no_such_job(req);
	else
		reply_job(req, 200, res);
	PQclear(res);
}

void
h_jobs_list(struct http_req *req)
{
	struct query_values	 qv;
	struct json_object	*body = NULL, *jobs, *links;
	PGresult		*res = NULL;
	char			 before[24], rows[24], err[256], next[128];
	char			 more[48] = "";
	const char		*params[3] = { before, rows, NULL };
	const struct query_value *st;
	int64_t			 limit;
	int			 i, n;

	if (query_parse(req->query, strlen(req->query), list_params,
	    LIST__MAX, &qv, err, sizeof(err)) != 0) {
		http_problem_query(req, &qv, err);
		return;
	}
	st = &qv.v[LIST_STATE];
	if (st->present) {
		/* A name of lib/jobstate.c, which the next link carries on. */
		if (jobstate_from_name(st->str) == JOB_STATE__MAX) {
			http_problem_value(req, 400, "state", st->str, st->len,
			    STATE_REASON);
			return;
		}
		params[2] = st->str;
		snprintf(more, sizeof(more), "&state=%s", st->str);
	}
	limit = qv.v[LIST_LIMIT].present ? qv.v[LIST_LIMIT].i : LIMIT_DEFAULT;
	snprintf(before, sizeof(before), "%" PRId64,
	    qv.v[LIST_BEFORE].present ? qv.v[LIST_BEFORE].i : INT64_C(2147483648));
	snprintf(rows, sizeof(rows), "%" PRId64, limit + 1);
	if ((res = http_exec(req, "list jobs", jobs_sql[SQL_LIST], 3, params,
	    1)) == NULL)
		return;
	n = PQntuples(res);
	body = json_object_new_object();
	jobs = json_object_new_array();
	json_object_object_add(body, "jobs", jobs);
	for (i = 0; i < n && i < limit; i++)
		json_object_array_add(jobs, job_json_new(res, i, 0));
	links = json_object_new_object();
	json_object_object_add(body, "links", links);
	if (n > limit) {
		/* The last job shown starts the next page. */
		snprintf(next, sizeof(next), "/api/jobs?before=%s&limit=%" PRId64
		    "%s", PQgetvalue(res, (int)limit - 1, 0), limit, more);
		json_object_object_add(links, "next",
		    json_object_new_string(next));
		/* RFC 8288 section 3. */
		http_header(req, "Link", "<%s>; rel=\"next\"", next);
	}
	http_json(req, 200, body);
	json_object_put(body);
	PQclear(res);
}

/* What job_cancel did, as it says it, and our answer. */
enum cancel_outcome {
	CANCEL_QUEUED,
	CANCEL_ORPHANED,
	CANCEL_REQUESTED,
	CANCEL_ENDED,
	CANCEL__MAX
};
static const struct {
	const char	*name;
	int		 status;
	const char	*done;		/* logged */
} cancel_outcomes[CANCEL__MAX] = {
	[CANCEL_QUEUED] = { "queued", 200, "cancelled while queued" },
	[CANCEL_ORPHANED] = { "orphaned", 200,
	    "cancelled: its runner had stopped" },
	[CANCEL_REQUESTED] = { "requested", 202, "cancel requested" },
	[CANCEL_ENDED] = { "ended", 409, NULL },
};

void
h_jobs_cancel(struct http_req *req)
{
	PGresult		*res = NULL;
	char			 id[24];
	const char		*params[1] = { id };
	const char		*outcome;
	size_t			 k;

	if (http_query_none(req) != 0)
		return;
	snprintf(id, sizeof(id), "%" PRId64, req->id);
	if ((res = http_exec(req, "cancel job", jobs_sql[SQL_CANCEL], 1,
	    params, 0)) == NULL)
		return;
	if (PQntuples(res) == 0) {
		no_such_job(req);
		goto out;
	}
	outcome = PQgetvalue(res, 0, JOB_JSON_NCOLUMNS);
	for (k = 0; k < CANCEL__MAX; k++)
		if (strcmp(outcome, cancel_outcomes[k].name) == 0)
			break;
	if (k == CANCEL__MAX) {
		log_error("cancel job %s: unknown outcome \"%s\"", id,
		    outcome);
		http_problem(req, 500, "internal error");
		goto out;
	}
	if (k == CANCEL_ENDED) {
		/*
		 * JOB_JSON_COLUMNS: the state is the second column, one of
		 * succeeded, failed, cancelled: 'job "1" has already
		 * ended: failed', not "is already failed".
		 */
		http_problem(req, 409, "job \"%s\" has already ended: %s", id,
		    PQgetvalue(res, 0, 1));
		goto out;
	}
	log_info("job %s: %s", id, cancel_outcomes[k].done);
	reply_job(req, cancel_outcomes[k].status, res);
out:
	PQclear(res);
}

void
h_jobs_rejects(struct http_req *req)
{
	struct query_values	 qv;
	struct json_object	*body, *list, *links, *one;
	PGresult		*res;
	char			 id[24], after[24], rows[24], err[256];
	char			 next[128];
	const char		*params[3] = { id, after, rows };
	int64_t			 limit;
	int			 i, n;

	if (query_parse(req->query, strlen(req->query), rejects_params,
	    REJ__MAX, &qv, err, sizeof(err)) != 0) {
		http_problem_query(req, &qv, err);
		return;
	}
	limit = qv.v[REJ_LIMIT].present ? qv.v[REJ_LIMIT].i : REJECTS_DEFAULT;
	snprintf(id, sizeof(id), "%" PRId64, req->id);
	snprintf(after, sizeof(after), "%" PRId64,
	    qv.v[REJ_AFTER].present ? qv.v[REJ_AFTER].i : 0);
	snprintf(rows, sizeof(rows), "%" PRId64, limit + 1);
	if ((res = http_exec(req, "list rejects", jobs_sql[SQL_REJECTS], 3,
	    params, 1)) == NULL)
		return;
	n = PQntuples(res);
	if (n == 0) {
		no_such_job(req);
		goto out;
	}
	body = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(body, "rejects", list);
	for (i = 0; i < n && i < limit && !PQgetisnull(res, i, 0); i++) {
		one = json_object_new_object();
		json_object_object_add(one, "line",
		    http_json_int(PQgetvalue(res, i, 0)));
		json_object_object_add(one, "reason",
		    json_object_new_string(PQgetvalue(res, i, 1)));
		json_object_object_add(one, "raw",
		    json_object_new_string(PQgetvalue(res, i, 2)));
		json_object_array_add(list, one);
	}
	links = json_object_new_object();
	json_object_object_add(body, "links", links);
	if (n > limit) {
		snprintf(next, sizeof(next), "/api/jobs/%s/rejects?after_line=%s"
		    "&limit=%" PRId64, id, PQgetvalue(res, (int)limit - 1, 0),
		    limit);
		json_object_object_add(links, "next",
		    json_object_new_string(next));
		http_header(req, "Link", "<%s>; rel=\"next\"", next);
	}
	http_json(req, 200, body);
	json_object_put(body);
out:
	PQclear(res);
}
