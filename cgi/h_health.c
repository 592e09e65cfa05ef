/*
 * h_health.c: GET /api/health, for the stack scripts and monitoring: the
 * program answers and its database connection works (else 503), and how
 * many runners are connected and how many jobs wait, and the largest
 * upload taken (TRIPLINE_MAX_UPLOAD), so that a client (the jobs page)
 * can refuse a file over it before sending gigabytes for a 413.  No
 * runner is "degraded", still 200: this program and the database serve,
 * and a load balancer should keep sending requests here; a monitor reads
 * status.
 * It takes no query parameter: any is a 400, as on every route that takes
 * none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "h_health.h"
#include "http.h"
#include "log.h"

/* Runners: the holders of their lock (db.h), each pid once. */
static const char sql_health[] =
	"SELECT (SELECT count(DISTINCT l.pid) FROM pg_catalog.pg_locks l "
	"WHERE l.locktype = 'advisory' AND l.classid = " DB_RUNNER_LOCK_KEY1
	" AND l.objid = " DB_RUNNER_LOCK_KEY2 " AND l.objsubid = 2 "
	"AND l.granted), "
	"(SELECT count(*) FROM tripline.jobs j WHERE j.state = 'queued')";

void
h_health_get(struct http_req *req)
{
	struct json_object	*body;
	PGresult		*res;
	int64_t			 runners, queued;
	char			 detail[128];
	int			 rc;

	if (http_query_none(req) != 0)
		return;
	if ((res = http_exec(req, "health", sql_health, 0, NULL, 1)) == NULL)
		return;
	rc = db_get_i64(res, 0, 0, 0, INT64_MAX, &runners) != 0 ||
	    db_get_i64(res, 0, 1, 0, INT64_MAX, &queued) != 0;
	PQclear(res);
	if (rc != 0) {
		log_error("health: the counts are not numbers");
		http_problem(req, 500, "internal error");
		return;
	}
	body = json_object_new_object();
	json_object_object_add(body, "status",
	    json_object_new_string(runners > 0 ? "ok" : "degraded"));
	json_object_object_add(body, "database", json_object_new_string("ok"));
	json_object_object_add(body, "runners", json_object_new_int64(runners));
	json_object_object_add(body, "queued", json_object_new_int64(queued));
	json_object_object_add(body, "max_upload",
	    json_object_new_int64(req->cfg->max_upload));
	if (runners == 0) {
		snprintf(detail, sizeof(detail), "no runner is connected: "
		    "%" PRId64 " queued job%s wait%s for one", queued,
		    queued == 1 ? "" : "s", queued == 1 ? "s" : "");
		json_object_object_add(body, "detail",
		    json_object_new_string(detail));
	}
	http_json(req, 200, body);
	json_object_put(body);
}
