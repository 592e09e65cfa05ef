/*
 * job_json.c: a job row as JSON (see job_json.h).
 */
#include <stdio.h>

#include "http.h"
#include "job_json.h"

enum job_col {
	JC_ID,
	JC_STATE,
	JC_FILENAME,
	JC_BYTES,
	JC_SHA256,
	JC_ROWS_LOADED,
	JC_ROWS_REJECTED,
	JC_BYTES_READ,
	JC_ATTEMPTS,
	JC_ERROR,
	JC_CREATED_AT,
	JC_STARTED_AT,
	JC_FINISHED_AT,
	JC_DUPLICATE_OF,
	JC_CANCEL_REQUESTED,
	JC_PHASE,
	JC__MAX
};

enum col_kind { COL_INT, COL_TEXT, COL_BOOL };

/* Name and kind of each column; NULL values become JSON null. */
static const struct {
	const char	*name;
	enum col_kind	 kind;
} job_cols[JC__MAX] = {
	{ "id", COL_INT },		/* JC_ID */
	{ "state", COL_TEXT },		/* JC_STATE */
	{ "filename", COL_TEXT },	/* JC_FILENAME */
	{ "bytes", COL_INT },		/* JC_BYTES */
	{ "sha256", COL_TEXT },		/* JC_SHA256 */
	{ "rows_loaded", COL_INT },	/* JC_ROWS_LOADED */
	{ "rows_rejected", COL_INT },	/* JC_ROWS_REJECTED */
	{ "bytes_read", COL_INT },	/* JC_BYTES_READ */
	{ "attempts", COL_INT },	/* JC_ATTEMPTS */
	{ "error", COL_TEXT },		/* JC_ERROR */
	{ "created_at", COL_TEXT },	/* JC_CREATED_AT */
	{ "started_at", COL_TEXT },	/* JC_STARTED_AT */
	{ "finished_at", COL_TEXT },	/* JC_FINISHED_AT */
	{ "duplicate_of", COL_INT },	/* JC_DUPLICATE_OF */
	{ "cancel_requested", COL_BOOL }, /* JC_CANCEL_REQUESTED */
	{ "phase", COL_TEXT },		/* JC_PHASE */
};

_Static_assert(JC__MAX == JOB_JSON_NCOLUMNS,
    "job_cols and JOB_JSON_COLUMNS disagree");

/* The links of a job (RFC 8288 relation names where there are some). */
static const struct {
	const char	*rel;
	const char	*fmt;
} job_links[] = {
	{ "self", "/api/jobs/%s" },
	{ "events", "/api/jobs/%s/events" },
	{ "rejects", "/api/jobs/%s/rejects" },
};

struct json_object *
job_json_new(const PGresult *res, int row, int col)
{
	struct json_object	*job, *links, *v;
	const char		*s, *id;
	char			 url[64];
	size_t			 i;

	if ((job = json_object_new_object()) == NULL)
		return NULL;
	for (i = 0; i < JC__MAX; i++) {
		v = NULL;
		if (!PQgetisnull(res, row, col + (int)i)) {
			s = PQgetvalue(res, row, col + (int)i);
			switch (job_cols[i].kind) {
			case COL_INT:
				v = http_json_int(s);
				break;
			case COL_BOOL:
				v = json_object_new_boolean(s[0] == 't');
				break;
			case COL_TEXT:
			default:
				v = json_object_new_string(s);
				break;
			}
		}
		json_object_object_add(job, job_cols[i].name, v);
	}
	id = PQgetvalue(res, row, col + JC_ID);
	links = json_object_new_object();
	for (i = 0; i < sizeof(job_links) / sizeof(job_links[0]); i++) {
		snprintf(url, sizeof(url), job_links[i].fmt, id);
		json_object_object_add(links, job_links[i].rel,
		    json_object_new_string(url));
	}
	json_object_object_add(job, "links", links);
	return job;
}
