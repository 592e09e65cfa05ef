/*
 * job_json.h: a job as JSON, the one shape every endpoint and the event
 * stream send:
 *
 *   {"id", "state", "filename", "bytes", "sha256", "rows_loaded",
 *    "rows_rejected", "bytes_read" (of "bytes"; the three kept current
 *    while the job runs, jobs/lease.c), "attempts", "error" (null if
 *    none), "created_at",
 *    "started_at", "finished_at" (RFC 3339 UTC strings or null),
 *    "duplicate_of" (null or a job id), "cancel_requested", "phase"
 *    (what a running job is doing, sql/migrations/028_job_phase.sql;
 *    null unless running),
 *    "links": {"self", "events", "rejects"}}
 *
 * Select JOB_JSON_COLUMNS from tripline.jobs (or RETURNING them, or from
 * a CTE with the jobs columns) and hand the result row to job_json_new.
 */
#ifndef TRIPLINE_JOB_JSON_H
#define TRIPLINE_JOB_JSON_H

#include <json-c/json.h>
#include <libpq-fe.h>

#include "db.h"

/* The columns, in the order job_json_new reads them. */
#define JOB_JSON_COLUMNS \
	"id, state, filename, bytes, sha256, rows_loaded, rows_rejected, " \
	"bytes_read, attempts, error, " DB_RFC3339("created_at") ", " \
	DB_RFC3339("started_at") ", " DB_RFC3339("finished_at") ", " \
	"duplicate_of, cancel_requested, " \
	"CASE WHEN state = 'running' THEN phase END"
#define JOB_JSON_NCOLUMNS	16

/*
 * The job in row of res, whose columns JOB_JSON_COLUMNS start at column
 * col.  Returns a new object (json_object_put it) or NULL when out of
 * memory.
 */
struct json_object *job_json_new(const PGresult *res, int row, int col);

#endif
