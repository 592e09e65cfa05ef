/*
 * http.h: one FastCGI request (RFC 3875 variables, as nginx's
 * fastcgi_params sends them) and the ways to answer it.  Every body is
 * JSON built with json-c; every error is an RFC 9457 problem.
 *
 * A handler answers exactly once, with http_json, one of the
 * http_problem functions, or (for streams) http_head then http_write.
 * Extra headers are added with http_header before that.
 */
#ifndef TRIPLINE_HTTP_H
#define TRIPLINE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <fcgiapp.h>
#include <json-c/json.h>
#include <libpq-fe.h>

struct config;
struct query_values;

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_POST,
	HTTP_PUT,
	HTTP_PATCH,
	HTTP_DELETE,
	HTTP_OPTIONS,
	HTTP_METHOD__MAX	/* also: a method we do not know */
};

extern const char *const http_method_names[HTTP_METHOD__MAX];

struct http_req {
	FCGX_Request		*fcgi;
	const struct config	*cfg;
	PGconn			**conn;		/* the worker's own connection */
	enum http_method	 method;
	const char		*path;		/* without the query string */
	size_t			 path_len;
	const char		*query;		/* "" when there is none */
	int64_t			 id;		/* the route's {id}, or 0 */
	int			 status;	/* answered status, 0 before */
	int64_t			 body_bytes;	/* body bytes sent */
	/*
	 * Set by a handler that gave fcgi to another thread (the event
	 * relay), which now finishes and frees it: the worker does neither
	 * and takes a new FCGX_Request (from malloc) for its next accept.
	 */
	int			 handed_over;
	/* http.c's own: the headers http_header added, sent by http_head. */
	size_t			 hlen;
	char			 headers[2048];
};

typedef void (*http_handler)(struct http_req *);

/* A request variable (CONTENT_TYPE, HTTP_AUTHORIZATION, ...) or NULL. */
const char *http_param(const struct http_req *, const char *name);

/*
 * Add a header line to the coming answer, for example
 * http_header(req, "Location", "/api/jobs/%lld", id).  CR and LF in the
 * value become spaces.  Returns 0, or -1 when the header buffer is full.
 */
int	http_header(struct http_req *, const char *name, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Start the answer: status, content type, the security headers, the
 * added headers, and Content-Length unless length is -1 (streams).
 * ctype NULL sends no Content-Type: an answer without content, such as a
 * 204, has no type to give (RFC 9110 section 8.3).
 */
void	http_head(struct http_req *, int status, const char *ctype,
	    int64_t length);

/* Send body bytes after http_head; 0, or -1 when the client is gone. */
int	http_write(struct http_req *, const char *buf, size_t len);
/* Push what is buffered to nginx (for event streams). */
int	http_flush(struct http_req *);

/* Answer with obj as application/json; obj stays the caller's. */
void	http_json(struct http_req *, int status, struct json_object *obj);

/*
 * Answer with an application/problem+json (RFC 9457) of type
 * "about:blank" whose title is the status text and whose detail is
 * formatted: short, lower-case, with any client value passed through
 * safetext_quote first.
 */
void	http_problem(struct http_req *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * 400 for one bad parameter, with "invalid_params": [{"name", "reason"}]
 * (the extension of RFC 9457 section 3's example).
 */
void	http_problem_param(struct http_req *, const char *detail,
	    const char *name, const char *reason);

/*
 * The same for another status: a parameter whose value names nothing
 * there is (404), or a place it may not reach (403).
 */
void	http_problem_named(struct http_req *, int status, const char *detail,
	    const char *name, const char *reason);

/*
 * http_problem_named with the detail every bad value has: 'name "value":
 * reason', the value (len bytes) quoted by safetext_quote; value NULL:
 * 'name: reason'.
 */
void	http_problem_value(struct http_req *, int status, const char *name,
	    const char *value, size_t len, const char *reason);

/* 400 for a query_parse refusal (err is its message). */
void	http_problem_query(struct http_req *, const struct query_values *,
	    const char *err);

/*
 * For routes that take no query parameter: 0 when the query has none,
 * else -1 after answering 400 naming the first.
 */
int	http_query_none(struct http_req *);

/*
 * The worker's database connection, reconnected when it went bad; NULL
 * after answering 503 with Retry-After (the database is down).
 */
PGconn	*http_db(struct http_req *);

/*
 * A statement failed: log what (with the server's message) and answer
 * 503 with Retry-After when the database is unreachable, shutting down
 * or the statement timed out, else 500.  res may be NULL.
 */
void	http_db_fail(struct http_req *, const PGresult *res, const char *what);

/*
 * Run sql with nparams text parameters ($1...) on the worker's
 * connection; what names it in the log.  Returns the result (PQclear
 * it) when it succeeded, else NULL after answering through http_db_fail.
 * An idempotent statement that finds the connection lost (the database
 * restarted since the last request) is run once more on a new one; before
 * any other the connection is checked with an empty query, so it runs on
 * a working one.
 */
PGresult *http_exec(struct http_req *, const char *what, const char *sql,
	    int nparams, const char *const *values, int idempotent);

/*
 * An idempotent statement run as http_exec runs it, once more on a new
 * connection when the connection was lost, for a caller that answers the
 * statement's own errors itself: the result whatever its status (PQclear
 * it), or NULL after answering 503 when there is no connection.
 */
PGresult *http_exec_result(struct http_req *, const char *what,
	    const char *sql, int nparams, const char *const *values);

/*
 * Read up to len body bytes; returns the count, 0 at the end of the
 * body, -1 when the stream failed (the client went away).
 */
ssize_t	http_read(struct http_req *, char *buf, size_t len);

/* A JSON integer from PostgreSQL's text form; null when it is not one. */
struct json_object *http_json_int(const char *text);

#endif
