/*
 * db.h: connections and SQL files shared by both programs.
 */
#ifndef TRIPLINE_DB_H
#define TRIPLINE_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;

/*
 * Type OIDs for the parameters of PQexecParams and friends
 * (src/include/catalog/pg_type.dat).
 */
#define DB_OID_BOOL	16
#define DB_OID_INT8	20
#define DB_OID_INT2	21
#define DB_OID_INT4	23
#define DB_OID_TEXT	25
#define DB_OID_JSON	114
#define DB_OID_FLOAT4	700
#define DB_OID_FLOAT8	701
#define DB_OID_JSONB	3802

/*
 * A timestamptz expression as text, RFC 3339 in UTC with microseconds
 * (PostgreSQL's own precision): every time the API and the events tell
 * (created_at, started_at, finished_at, next_try) has this one form, and
 * none is rounded, so that a next_try is never before the time it names.
 */
#define DB_RFC3339(expr) \
	"to_char(" expr " AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/*
 * The advisory lock every runner holds, shared, on its work session for
 * as long as that session lives, and GET /api/health counts the holders
 * of in pg_locks, which every role may read (other roles' rows of
 * pg_stat_activity show a role without pg_read_all_stats nearly
 * nothing).  Two int4 keys, shown in pg_locks as classid and objid with
 * objsubid 2 (PostgreSQL docs, "pg_locks"); the first spells "trpl".
 */
#define DB_RUNNER_LOCK_KEY1	"1953656940"
#define DB_RUNNER_LOCK_KEY2	"1"

/*
 * Connect as cfg->db_user with application_name set (visible in
 * pg_stat_activity); host, port and database come from PGHOST, PGPORT and
 * PGDATABASE.  Returns an open connection (free with PQfinish) or NULL
 * after logging why.
 */
PGconn	*db_connect(const struct config *cfg, const char *appname);

/*
 * c if it is open as far as can be told without a query; else NULL, c
 * closed (PQfinish).  NULL for NULL.  A server that ended the session
 * (a restart, a crash, pg_terminate_backend) has left an error and an
 * end of file on the socket, but PQstatus says CONNECTION_OK until a
 * query fails on it: PQconsumeInput reads them while the socket has
 * something, and the end of file sets CONNECTION_BAD.  A notification it
 * reads waits for PQnotifies; on a connection with a statement sent
 * (PQsend*), what it reads of the results waits for PQgetResult, as
 * after the caller's own PQconsumeInput.
 */
PGconn	*db_check(PGconn *c);

/*
 * Cancel the statement sent on c without waiting (PQsendQuery*), if it
 * still runs, and read its results: c is idle after.  Returns 0, or -1
 * if the cancel request could not be sent (the statement then ran to its
 * end).
 */
int	db_cancel_wait(PGconn *c);

/* The SQLSTATE of a result, or "" when there is none. */
const char *db_sqlstate(const PGresult *res);

/*
 * The integer in row, col of res (text format) within [min, max]: 0 and
 * *out set, or -1 when the field is out of the result, NULL, or not such
 * a number (num_parse_i64).  A column read as a number is read here, so
 * that NULL is never taken for 0, as atoi would.
 */
int	db_get_i64(const PGresult *res, int row, int col, int64_t min,
	    int64_t max, int64_t *out);

/* The same for an int, within [min, max]. */
int	db_get_int(const PGresult *res, int row, int col, int min, int max,
	    int *out);

/*
 * The n counts (bigint, never negative) in columns col .. col + n - 1 of
 * row: 0 and out[0 .. n - 1] set, or -1 with out untouched when any is
 * not one.  Sums of a job's rows and bytes come as such a run of columns.
 */
int	db_get_counts(const PGresult *res, int row, int col, size_t n,
	    uint64_t *out);

/*
 * Read the SQL file dir/name (for example "reports/weekly_average.sql")
 * into a new NUL-terminated string the caller frees with free().  Returns
 * NULL after logging.  SQL files are read once at start, so the HTTP
 * endpoints and psql run the very same text.
 */
char	*db_sql_load(const char *dir, const char *name);

#endif
