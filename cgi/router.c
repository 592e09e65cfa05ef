/*
 * router.c: the routes of the HTTP API, as one table.
 *
 * HOW TO ADD ROUTES (for example the event streams in cgi/h_events.c or
 * the reports in cgi/h_reports.c):
 *
 *   1. Write the handlers in their own file, cgi/h_NAME.c, each a
 *      `void h_NAME_xxx(struct http_req *req)` (see cgi/http.h) that
 *      answers exactly once.
 *   2. Declare them in cgi/h_NAME.h and #include that header below.
 *   3. Add one line per route to `routes`: method, pattern, auth, handler.
 *   4. A module that needs a thread of its own (the event relay) adds its
 *      start and stop functions as one line of `services`; main starts
 *      them before the workers accept and stops them at shutdown.
 *      A handler may hand req->fcgi over to such a thread: it sets
 *      req->handed_over (see http.h), and the worker lets go of it.
 *
 * Patterns are literal path segments and "{id}", which matches one
 * segment holding a decimal id from 1 to 2147483647 (num_parse_i64; the
 * value arrives in req->id; anything else is a 404 that says so).  The
 * router, not the handler, answers: 404 for a path no pattern matches;
 * 405 with Allow (RFC 9110 section 15.5.6) when the path matches but not
 * the method; 401 per the route's auth column.  HEAD is served by a GET
 * route (nginx drops the body).  The handler gets req->query unparsed:
 * it checks it with query_parse against its own parameter table.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "num.h"
#include "relay.h"
#include "router.h"
#include "safetext.h"

#include "h_events.h"
#include "h_health.h"
#include "h_jobs.h"
#include "h_reports.h"
#include "h_upload.h"

/* Who may call a route. */
enum route_auth {
	ROUTE_PUBLIC,	/* anyone */
	ROUTE_TOKEN,	/* the bearer token, when one is configured */
	ROUTE_REPORTS,	/* the token unless TRIPLINE_REPORTS_PUBLIC=1 */
	ROUTE_AUTH__MAX
};

struct route {
	enum http_method	 method;
	const char		*pattern;
	enum route_auth		 auth;
	http_handler		 handler;
};

static const struct route routes[] = {
	{ HTTP_GET,	"/api/health",			ROUTE_PUBLIC,	h_health_get },
	{ HTTP_GET,	"/api/jobs",			ROUTE_PUBLIC,	h_jobs_list },
	{ HTTP_POST,	"/api/jobs",			ROUTE_TOKEN,	h_upload_post },
	{ HTTP_GET,	"/api/jobs/{id}",		ROUTE_PUBLIC,	h_jobs_get },
	{ HTTP_POST,	"/api/jobs/{id}/cancel",	ROUTE_TOKEN,	h_jobs_cancel },
	{ HTTP_GET,	"/api/jobs/{id}/rejects",	ROUTE_PUBLIC,	h_jobs_rejects },
	{ HTTP_GET,	"/api/jobs/{id}/events",	ROUTE_PUBLIC,	h_events_job },
	{ HTTP_GET,	"/api/events",			ROUTE_PUBLIC,	h_events_all },
	{ HTTP_GET,	"/api/reports/weekly-average",	ROUTE_REPORTS,	h_reports_weekly },
	{ HTTP_GET,	"/api/reports/trip-groups",	ROUTE_REPORTS,	h_reports_groups },
	{ HTTP_GET,	"/api/reports/latest-datasource", ROUTE_REPORTS,	h_reports_latest },
	{ HTTP_GET,	"/api/reports/datasource-regions", ROUTE_REPORTS,	h_reports_sources },
};

/*
 * Background services of handler modules; NULL ends the table.  The
 * relay stops before the drain, waking the workers that wait for its
 * first horizon (EVENTS_READY_MS); h_reports after it, as its stop frees
 * the statements requests read.
 */
static const struct {
	int		  (*start)(const struct config *);
	void		  (*stop)(void);
	enum router_stage stage;
} services[] = {
	{ relay_start, relay_stop, ROUTER_BEFORE_DRAIN },
	{ h_reports_start, h_reports_stop, ROUTER_AFTER_DRAIN },
	{ NULL, NULL, ROUTER_STAGE__MAX }
};

#define NROUTES	(sizeof(routes) / sizeof(routes[0]))
#define ID_MAX	2147483647	/* jobs.id is an integer */

static enum http_method
method_from_name(const char *name)
{
	int i;

	for (i = 0; i < HTTP_METHOD__MAX; i++)
		if (name != NULL && strcmp(http_method_names[i], name) == 0)
			break;
	return (enum http_method)i;
}

/*
 * Match path against pattern segment by segment; the {id} segment's text
 * goes to *id, *idlen.  Returns 1 on a match.
 */
static int
match(const char *pattern, const char *path, size_t len, const char **id,
    size_t *idlen)
{
	const char	*p = pattern, *seg, *end = path + len;
	size_t		 n;

	*id = NULL;
	*idlen = 0;
	while (*p != '\0' && path < end) {
		if (strncmp(p, "{id}", 4) == 0) {
			seg = memchr(path, '/', (size_t)(end - path));
			n = seg == NULL ? (size_t)(end - path) :
			    (size_t)(seg - path);
			if (n == 0)
				return 0;
			*id = path;
			*idlen = n;
			path += n;
			p += 4;
		} else if (*p == *path) {
			p++;
			path++;
		} else
			return 0;
	}
	return *p == '\0' && path == end;
}

static void
not_allowed(struct http_req *req, unsigned allowed)
{
	const char	*m;
	char		 allow[128], q[SAFETEXT_QUOTE_SIZE];
	size_t		 n = 0;
	int		 i;

	allow[0] = '\0';
	for (i = 0; i < HTTP_METHOD__MAX; i++)
		if (allowed & (1u << i))
			n += (size_t)snprintf(allow + n, sizeof(allow) - n,
			    "%s%s", n ? ", " : "", http_method_names[i]);
	http_header(req, "Allow", "%s", allow);
	m = req->method < HTTP_METHOD__MAX ? http_method_names[req->method] :
	    http_param(req, "REQUEST_METHOD");
	if (m != NULL)
		safetext_quote(m, strlen(m), q, sizeof(q));
	else
		snprintf(q, sizeof(q), "(none)");
	http_problem(req, 405, "method %s not allowed here; allowed: %s", q,
	    allow);
}

static void
dispatch(struct http_req *req)
{
	const struct route	*r = NULL;
	const char		*id, *rid = NULL;
	char			 q[SAFETEXT_QUOTE_SIZE];
	size_t			 i, idlen, ridlen = 0;
	unsigned		 allowed = 0;
	int			 path_known = 0;
	enum http_method	 m;

	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, req->path, req->path_len, &id,
		    &idlen))
			continue;
		path_known = 1;
		m = routes[i].method;
		allowed |= 1u << m;
		if (m == HTTP_GET)
			allowed |= 1u << HTTP_HEAD;
		if (r == NULL && (req->method == m ||
		    (req->method == HTTP_HEAD && m == HTTP_GET))) {
			r = &routes[i];
			rid = id;
			ridlen = idlen;
		}
	}
	if (!path_known) {
		safetext_quote(req->path, req->path_len, q, sizeof(q));
		http_problem(req, 404, "no such resource: %s", q);
		return;
	}
	if (r == NULL) {
		not_allowed(req, allowed);
		return;
	}
	if (r->auth == ROUTE_TOKEN ||
	    (r->auth == ROUTE_REPORTS && !req->cfg->reports_public))
		if (auth_require(req) != 0)
			return;
	if (rid != NULL && num_parse_i64(rid, ridlen, 1, ID_MAX, &req->id)
	    != 0) {
		safetext_quote(rid, ridlen, q, sizeof(q));
		http_problem(req, 404, "job %s: ids are integers from 1 to %d",
		    q, ID_MAX);
		return;
	}
	r->handler(req);
}

int
router_start(const struct config *cfg)
{
	size_t i;

	for (i = 0; services[i].start != NULL; i++)
		if (services[i].start(cfg) != 0) {
			while (i-- > 0)
				services[i].stop();
			return -1;
		}
	return 0;
}

void
router_stop(enum router_stage stage)
{
	size_t i;

	for (i = 0; services[i].start != NULL; i++)
		;
	while (i-- > 0)
		if (services[i].stage == stage)
			services[i].stop();
}

int
router_handle(FCGX_Request *f, const struct config *cfg, PGconn **conn)
{
	struct http_req	 req;
	struct timespec	 t0, t1;
	const char	*uri, *qmark;
	char		 q[SAFETEXT_QUOTE_SIZE];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&req, 0, sizeof(req));
	req.fcgi = f;
	req.cfg = cfg;
	req.conn = conn;
	req.method = method_from_name(http_param(&req, "REQUEST_METHOD"));
	/*
	 * nginx's DOCUMENT_URI is the normalised path ($uri: decoded, dot
	 * segments and double slashes resolved); REQUEST_URI is the raw one.
	 */
	if ((uri = http_param(&req, "DOCUMENT_URI")) != NULL) {
		req.path = uri;
		req.path_len = strlen(uri);
	} else if ((uri = http_param(&req, "REQUEST_URI")) != NULL) {
		qmark = strchr(uri, '?');
		req.path = uri;
		req.path_len = qmark ? (size_t)(qmark - uri) : strlen(uri);
	} else {
		req.path = "";
	}
	if ((req.query = http_param(&req, "QUERY_STRING")) == NULL)
		req.query = "";
	/* Before the handler: f may belong to another thread after it. */
	safetext_quote(req.path, req.path_len, q, sizeof(q));
	dispatch(&req);
	if (req.status == 0 && !req.handed_over) {
		log_error("handler gave no answer");
		http_problem(&req, 500, "internal error");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("%s %s %d %lld %.1fms", req.method < HTTP_METHOD__MAX ?
	    http_method_names[req.method] : "?", q, req.status,
	    (long long)req.body_bytes,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return req.handed_over;
}
