/*
 * http.c: answering FastCGI requests (see http.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "query.h"
#include "safetext.h"

/* Seconds a client should wait before retrying after a 503. */
#define RETRY_AFTER	5

const char *const http_method_names[HTTP_METHOD__MAX] = {
	"GET",		/* HTTP_GET */
	"HEAD",		/* HTTP_HEAD */
	"POST",		/* HTTP_POST */
	"PUT",		/* HTTP_PUT */
	"PATCH",	/* HTTP_PATCH */
	"DELETE",	/* HTTP_DELETE */
	"OPTIONS",	/* HTTP_OPTIONS */
};

/*
 * RFC 9110 section 15 reason phrases of the statuses we send; also the
 * problem titles (RFC 9457 section 4.2.1: for "about:blank" the title
 * SHOULD be the status phrase).
 */
static const struct {
	int		 status;
	const char	*text;
} status_texts[] = {
	{ 200, "OK" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 409, "Conflict" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
	{ 507, "Insufficient Storage" },
};

/*
 * SQLSTATEs (PostgreSQL docs, appendix A) after which trying again later
 * may work: the answer is 503, not 500, with what happened.  A prefix of
 * two characters is a whole class.  The connection is dropped (http_db
 * makes a new one) unless the error left it usable.
 */
static const char db_unavailable[] = "the database is unavailable";
static const struct {
	const char	*state;
	const char	*detail;
	int		 keep;		/* the connection is still good */
} sqlstate_retry[] = {
	{ "08", db_unavailable, 0 },		/* connection exception */
	{ "53300", db_unavailable, 0 },		/* too_many_connections */
	/* query_canceled: the web role's statement_timeout (000_roles.sql) */
	{ "57014", "the query took longer than the server's time limit; "
	  "a smaller area or a shorter period answers sooner", 1 },
	{ "57P01", db_unavailable, 0 },		/* admin_shutdown */
	{ "57P02", db_unavailable, 0 },		/* crash_shutdown */
	{ "57P03", db_unavailable, 0 },		/* cannot_connect_now */
	{ "40001", "the database was busy, try again", 1 },
						/* serialization_failure */
	{ "40P01", "the database was busy, try again", 1 },
						/* deadlock_detected */
};

const char *
http_param(const struct http_req *req, const char *name)
{
	return FCGX_GetParam(name, req->fcgi->envp);
}

/* The reason phrase of a status (RFC 9110 section 15): "Not Found". */
static const char *
http_status_text(int status)
{
	size_t i;

	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (status_texts[i].status == status)
			return status_texts[i].text;
	return "Error";
}

int
http_header(struct http_req *req, const char *name, const char *fmt, ...)
{
	size_t	 room = sizeof(req->headers) - req->hlen, i;
	char	*p = req->headers + req->hlen;
	va_list	 ap;
	int	 n, m;

	n = snprintf(p, room, "%s: ", name);
	if (n < 0 || (size_t)n >= room)
		goto full;
	va_start(ap, fmt);
	m = vsnprintf(p + n, room - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) + 2 >= room)
		goto full;
	/* No header splitting, whatever the value. */
	for (i = (size_t)n; i < (size_t)(n + m); i++)
		if (p[i] == '\r' || p[i] == '\n')
			p[i] = ' ';
	memcpy(p + n + m, "\r\n", 3);
	req->hlen += (size_t)(n + m) + 2;
	return 0;
full:
	req->headers[req->hlen] = '\0';
	log_error("response headers full, %s dropped", name);
	return -1;
}

void
http_head(struct http_req *req, int status, const char *ctype,
    int64_t length)
{
	FCGX_Stream *out = req->fcgi->out;

	req->status = status;
	FCGX_FPrintF(out, "Status: %d %s\r\n", status, http_status_text(status));
	if (ctype != NULL)
		FCGX_FPrintF(out, "Content-Type: %s\r\n", ctype);
	if (length >= 0)
		FCGX_FPrintF(out, "Content-Length: %lld\r\n", (long long)length);
	/* The answers are data, never to be sniffed into HTML or cached. */
	FCGX_PutS("X-Content-Type-Options: nosniff\r\n"
	    "Cache-Control: no-store\r\n", out);
	FCGX_PutStr(req->headers, (int)req->hlen, out);
	FCGX_PutS("\r\n", out);
}

int
http_write(struct http_req *req, const char *buf, size_t len)
{
	if (req->method == HTTP_HEAD)
		return 0;
	if (FCGX_PutStr(buf, (int)len, req->fcgi->out) != (int)len)
		return -1;
	req->body_bytes += (int64_t)len;
	return 0;
}

int
http_flush(struct http_req *req)
{
	return FCGX_FFlush(req->fcgi->out) == 0 ? 0 : -1;
}

static void
send_json(struct http_req *req, int status, const char *ctype,
    struct json_object *obj)
{
	const char	*s;
	size_t		 len;

	/* Plain, and "/" unescaped: RFC 8259 section 7 allows both. */
	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	http_head(req, status, ctype, (int64_t)len + 1);
	http_write(req, s, len);
	http_write(req, "\n", 1);
}

void
http_json(struct http_req *req, int status, struct json_object *obj)
{
	send_json(req, status, "application/json", obj);
}

/*
 * A problem with extra members (RFC 9457 section 3.2), added to ext,
 * which stays the caller's; ext may be NULL.
 */
static void
http_problem_ext(struct http_req *req, int status, struct json_object *ext,
    const char *detail)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "type", json_object_new_string("about:blank"));
	json_object_object_add(p, "title",
	    json_object_new_string(http_status_text(status)));
	json_object_object_add(p, "status", json_object_new_int(status));
	json_object_object_add(p, "detail", json_object_new_string(detail));
	if (ext != NULL) {
		json_object_object_foreach(ext, k, v)
			json_object_object_add(p, k, json_object_get(v));
	}
	if (status == 503)
		http_header(req, "Retry-After", "%d", RETRY_AFTER);
	send_json(req, status, "application/problem+json", p);
	json_object_put(p);
}

void
http_problem(struct http_req *req, int status, const char *fmt, ...)
{
	char	 detail[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	http_problem_ext(req, status, NULL, detail);
}

void
http_problem_param(struct http_req *req, const char *detail,
    const char *name, const char *reason)
{
	http_problem_named(req, 400, detail, name, reason);
}

void
http_problem_named(struct http_req *req, int status, const char *detail,
    const char *name, const char *reason)
{
	struct json_object *ext, *list, *one;

	ext = json_object_new_object();
	list = json_object_new_array();
	one = json_object_new_object();
	json_object_object_add(one, "name", json_object_new_string(name));
	json_object_object_add(one, "reason", json_object_new_string(reason));
	json_object_array_add(list, one);
	json_object_object_add(ext, "invalid_params", list);
	http_problem_ext(req, status, ext, detail);
	json_object_put(ext);
}

void
http_problem_value(struct http_req *req, int status, const char *name,
    const char *value, size_t len, const char *reason)
{
	char	 q[SAFETEXT_QUOTE_SIZE], detail[512];

	if (value != NULL) {
		safetext_quote(value, len, q, sizeof(q));
		snprintf(detail, sizeof(detail), "%s %s: %s", name, q, reason);
	} else
		snprintf(detail, sizeof(detail), "%s: %s", name, reason);
	http_problem_named(req, status, detail, name, reason);
}

void
http_problem_query(struct http_req *req, const struct query_values *qv,
    const char *err)
{
	if (qv->bad_name[0] == '\0')
		http_problem(req, 400, "%s", err);
	else
		http_problem_param(req, err, qv->bad_name, qv->bad_reason);
}

int
http_query_none(struct http_req *req)
{
	struct query_values	 qv;
	char			 err[256];

	if (query_parse(req->query, strlen(req->query), NULL, 0, &qv, err,
	    sizeof(err)) != 0) {
		http_problem_query(req, &qv, err);
		return -1;
	}
	return 0;
}

PGconn *
http_db(struct http_req *req)
{
	if (*req->conn != NULL && PQstatus(*req->conn) == CONNECTION_OK)
		return *req->conn;
	if (*req->conn != NULL)
		log_warn("database connection lost, reconnecting");
	PQfinish(*req->conn);
	*req->conn = db_connect(req->cfg, "tripline-cgi");
	if (*req->conn == NULL) {
		http_problem(req, 503, "%s", db_unavailable);
		return NULL;
	}
	return *req->conn;
}

/*
 * Whether a statement failed because the connection is gone.  A server
 * that was killed or stopped "immediate" leaves a connection on which
 * libpq's next read fails (ECONNRESET): the result then has no SQLSTATE,
 * and PQstatus still says CONNECTION_OK until the connection is used
 * once more.  A fast shutdown ends it with FATAL 57P01; class 57P0 is
 * every way the server ends a session (PostgreSQL docs, appendix A).
 */
static int
conn_lost(PGconn *conn, const PGresult *res)
{
	const char *state = db_sqlstate(res);

	return conn == NULL || PQstatus(conn) != CONNECTION_OK ||
	    state[0] == '\0' || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P0", 4) == 0;
}

/* Close the worker's connection: http_db makes a new one next time. */
static void
conn_drop(struct http_req *req)
{
	PQfinish(*req->conn);
	*req->conn = NULL;
}

void
http_db_fail(struct http_req *req, const PGresult *res, const char *what)
{
	const char	*state = db_sqlstate(res);
	const char	*detail = db_unavailable;
	char		 msg[512];
	size_t		 i;
	int		 retry, keep = 0;

	retry = conn_lost(*req->conn, res);
	for (i = 0; !retry &&
	    i < sizeof(sqlstate_retry) / sizeof(sqlstate_retry[0]); i++)
		if (strncmp(state, sqlstate_retry[i].state,
		    strlen(sqlstate_retry[i].state)) == 0) {
			retry = 1;
			detail = sqlstate_retry[i].detail;
			keep = sqlstate_retry[i].keep;
		}
	snprintf(msg, sizeof(msg), "%s", res != NULL ?
	    PQresultErrorMessage(res) : *req->conn != NULL ?
	    PQerrorMessage(*req->conn) : "no connection");
	/* libpq's messages end in a newline, some have more inside. */
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n')
			msg[i] = msg[i + 1] == '\0' ? '\0' : ' ';
	log_error("%s: %s%s%s", what, state, state[0] != '\0' ? " " : "", msg);
	if (*req->conn != NULL && retry && !keep)
		conn_drop(req);
	if (retry)
		http_problem(req, 503, "%s", detail);
	else
		http_problem(req, 500, "internal error");
}

/* Whether a statement's result is a success (rows or a command's end). */
static int
res_ok(const PGresult *res)
{
	return PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK;
}

/*
 * Run sql, up to tries times while the connection turns out lost.  The
 * result whatever its status, or NULL after http_db's 503.
 */
static PGresult *
exec_tries(struct http_req *req, const char *what, const char *sql,
    int nparams, const char *const *values, int tries)
{
	PGconn		*conn;
	PGresult	*res;

	for (;;) {
		if ((conn = http_db(req)) == NULL)
			return NULL;
		res = PQexecParams(conn, sql, nparams, NULL, values, NULL,
		    NULL, 0);
		if (res_ok(res))
			return res;
		if (--tries > 0 && conn_lost(conn, res)) {
			log_warn("%s: connection lost, trying again", what);
			conn_drop(req);
			PQclear(res);
			continue;
		}
		return res;
	}
}

PGresult *
http_exec(struct http_req *req, const char *what, const char *sql,
    int nparams, const char *const *values, int idempotent)
{
	PGconn		*conn;
	PGresult	*res;

	/*
	 * A statement that must not run twice is not tried again, so first
	 * make sure the connection still works (libpq finds a dropped one
	 * only on use): a restarted database then costs a reconnect, not
	 * the client's upload.
	 */
	if (!idempotent) {
		/* No connection: http_db has answered 503 already. */
		if ((conn = http_db(req)) == NULL)
			return NULL;
		res = PQexec(conn, "");
		if (PQresultStatus(res) != PGRES_EMPTY_QUERY) {
			log_warn("%s: connection lost, reconnecting", what);
			conn_drop(req);
		}
		PQclear(res);
	}
	if ((res = exec_tries(req, what, sql, nparams, values,
	    idempotent ? 2 : 1)) == NULL)
		return NULL;
	if (res_ok(res))
		return res;
	http_db_fail(req, res, what);
	PQclear(res);
	return NULL;
}

PGresult *
http_exec_result(struct http_req *req, const char *what, const char *sql,
    int nparams, const char *const *values)
{
	return exec_tries(req, what, sql, nparams, values, 2);
}

ssize_t
http_read(struct http_req *req, char *buf, size_t len)
{
	int n;

	if (len > (1 << 30))
		len = 1 << 30;
	n = FCGX_GetStr(buf, (int)len, req->fcgi->in);
	if (n < 0 || (n == 0 && FCGX_GetError(req->fcgi->in) != 0))
		return -1;
	return n;
}

struct json_object *
http_json_int(const char *text)
{
	int64_t v;

	if (text == NULL || num_parse_i64(text, strlen(text), INT64_MIN,
	    INT64_MAX, &v) != 0)
		return NULL;	/* json-c's null */
	return json_object_new_int64(v);
}
