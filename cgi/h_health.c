/*
 * h_health.c: GET /api/health, for the stack scripts and monitoring: the
 * program answers and its database connection works.  It takes no query
 * parameter: any is a 400, as on every route that takes none.
 */
#include "h_health.h"
#include "http.h"

static const char sql_ping[] = "SELECT 1";

void
h_health_get(struct http_req *req)
{
	struct json_object	*body;
	PGresult		*res;

	if (http_query_none(req) != 0)
		return;
	if ((res = http_exec(req, "health", sql_ping, 0, NULL, 1)) == NULL)
		return;
	PQclear(res);
	body = json_object_new_object();
	json_object_object_add(body, "status", json_object_new_string("ok"));
	json_object_object_add(body, "database", json_object_new_string("ok"));
	http_json(req, 200, body);
	json_object_put(body);
}
