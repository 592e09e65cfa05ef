/*
 * h_upload.c: POST /api/jobs.  The body kind is chosen by Content-Type:
 *
 *   multipart/form-data; boundary=...   an HTML form: the part named
 *       "file" is the file (RFC 7578), its filename the display name
 *   text/csv, application/octet-stream  the body is the file; the display
 *       name is ?filename=... or "upload.csv"
 *   application/json {"path": "name.csv"}  a file already in the inbox
 *       directory (body at most 4 KiB; exactly that one member)
 *   anything else                       415 with Accept-Post
 *
 * A text/csv body, or a form's file part, declaring a charset other than
 * UTF-8 (or US-ASCII) is 415: the loader reads UTF-8 only.
 *
 * No content coding is undone here: a body with a Content-Encoding other
 * than identity (a gzip-compressed file) is 415 with Accept-Encoding
 * (RFC 9110 sections 8.4 and 15.5.16), not spooled as the compressed
 * bytes for a job that fails on them.
 *
 * Only raw bodies take a query parameter (filename); any other is 400,
 * and so is filename on another body, saying where it applies.
 *
 * Uploads stream through in 64 KiB reads into the spool (see spool.h),
 * hashed as they come; nothing is sized from CONTENT_LENGTH.  The bytes
 * received are counted against TRIPLINE_MAX_UPLOAD (413 when over); a
 * body that ends before its CONTENT_LENGTH is a client that went away
 * (400), not a shorter file, and so is an inbox request whose JSON ends
 * early.  An empty file is refused with 400 "empty file": no job could
 * load it.
 *
 * Inbox answers (the path is the one the client sent, quoted):
 *   400 empty, NUL, longer than 1 KiB, too many symlinks; not a regular
 *       file (a directory, FIFO, device)
 *   403 "path is outside the inbox" ("..", absolute, a symlink out:
 *       openat2 EXDEV); permission denied
 *   404 no such file in the inbox
 * jobs.path keeps the inbox-relative name and source is 'inbox'.
 *
 * Then one statement (so one transaction) inserts the job and its
 * 'queued' event and NOTIFYs tripline_events (payload: the event id) and
 * tripline_jobs (payload: the job id); PostgreSQL delivers both at
 * commit.  The answer is 202 Accepted, Location: /api/jobs/{id}, the job.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "h_upload.h"
#include "hdrparam.h"
#include "http.h"
#include "inbox.h"
#include "inboxreq.h"
#include "job_json.h"
#include "log.h"
#include "multipart.h"
#include "num.h"
#include "query.h"
#include "safetext.h"
#include "spool.h"

#define CHUNK		(64 * 1024)	/* bytes per FCGX_GetStr */
#define JSON_MAX	4096		/* bytes of an inbox request */

/*
 * The job, its 'queued' event and their notifications: one function of
 * the owner, the only way the web role writes a job (023_web_calls.sql).
 */
static const char sql_insert[] =
	"SELECT " JOB_JSON_COLUMNS " FROM tripline.job_queue($1, $2, $3,"
	" $4::bigint, $5, $6::integer)";

enum body_kind {
	BODY_MULTIPART,
	BODY_RAW,
	BODY_JSON,
	BODY__MAX
};

static const struct {
	const char	*type;
	enum body_kind	 kind;
	int		 text;		/* its charset parameter is checked */
} body_types[] = {
	{ "multipart/form-data", BODY_MULTIPART, 0 },
	{ "text/csv", BODY_RAW, 1 },		/* RFC 4180, RFC 7111 */
	{ "application/octet-stream", BODY_RAW, 0 },
	{ "application/json", BODY_JSON, 0 },
};
#define NBODY_TYPES	(sizeof(body_types) / sizeof(body_types[0]))

/*
 * The charsets a text body may declare: the loader reads UTF-8 (US-ASCII
 * is a part of it).  Another one is 415 before the file is taken, not a
 * job whose rows are all "not valid UTF-8".
 */
static const char *const body_charsets[] = {
	"utf-8",
	"utf8",		/* not IANA's, but sent */
	"us-ascii",
	"ascii",
};
#define NBODY_CHARSETS	(sizeof(body_charsets) / sizeof(body_charsets[0]))

/* 1 if the len bytes of buf hold "charset" in any case. */
static int
mentions_charset(const char *buf, size_t len)
{
	size_t	 i, n = strlen("charset");

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(buf + i, "charset", n) == 0)
			return 1;
	return 0;
}

/*
 * Whether a Content-Type value's charset parameter, when there is one,
 * names a charset the loader reads; else -1 with the 415's detail in
 * err.  A charset that cannot be read (named twice, an unclosed quote,
 * too long, or other parameters malformed around it) is refused too: it
 * may name another.
 */
static int
charset_check(const char *ctype, size_t len, char *err, size_t errsz)
{
	char	 cs[256], q[SAFETEXT_QUOTE_SIZE];
	size_t	 i, n;
	int	 r;

	r = hdrparam_get(ctype, len, "charset", 0, cs, sizeof(cs), &n);
	if (r == 0 || (r < 0 && !mentions_charset(ctype, len)))
		return 0;
	if (r < 0) {
		safetext_quote(ctype, len, q, sizeof(q));
		snprintf(err, errsz, "unreadable charset in content-type %s; "
		    "the file must be utf-8", q);
		return -1;
	}
	for (i = 0; i < NBODY_CHARSETS; i++)
		if (strlen(body_charsets[i]) == n &&
		    strncasecmp(cs, body_charsets[i], n) == 0)
			return 0;
	safetext_quote(cs, n, q, sizeof(q));
	snprintf(err, errsz, "unsupported charset %s; the file must be utf-8",
	    q);
	return -1;
}

/* The content codings a body may have (RFC 9110 section 8.4.1). */
static const char *const body_codings[] = {
	"identity",
};
#define NBODY_CODINGS	(sizeof(body_codings) / sizeof(body_codings[0]))

/*
 * The query parameters of an upload, each with the one body kind that
 * takes it: a form's file part and an inbox path name their files
 * themselves, so ?filename= on those is 400 saying where it applies
 * rather than "unknown parameter".
 */
enum { UP_FILENAME, UP__MAX };
static const struct query_param upload_params[UP__MAX] = {
	[UP_FILENAME] = { "filename", QUERY_TEXT, 0, 0, 0, 0, 1024 },
};
static const struct {
	enum body_kind	 kind;
	const char	*reason;
} upload_param_use[UP__MAX] = {
	[UP_FILENAME] = { BODY_RAW,
	    "applies to a text/csv or application/octet-stream body only" },
};

/*
 * How each inbox_open status is answered: 'path "x": reason', and
 * invalid_params names the body's "path" member with the reason, which
 * tells how to fix it.  No reason: a fault of ours, not of the path.
 */
_Static_assert(INBOX_PATH_MAX == 1024 && NAME_MAX == 255,
    "the inbox answers name these limits");
static const struct {
	int		 status;
	const char	*reason;
} inbox_answers[INBOX__MAX] = {
	[INBOX_OK] = { 0, NULL },
	[INBOX_BAD_NAME] = { 400, "empty, or a NUL in it" },
	[INBOX_TOO_LONG] = { 400, "longer than 1024 bytes" },
	[INBOX_NAME_TOO_LONG] = { 400, "a name in it is longer than 255 "
	    "bytes" },
	[INBOX_LOOP] = { 400, "too many levels of symbolic links" },
	[INBOX_OUTSIDE] = { 403, "outside the inbox" },
	[INBOX_NOT_FOUND] = { 404, "no such file in the inbox" },
	[INBOX_DENIED] = { 403, "permission denied" },
	[INBOX_NOT_REGULAR] = { 400, "not a regular file" },
	[INBOX_ERROR] = { 500, NULL },
};

/* One upload in progress. */
struct upload {
	struct http_req	*req;
	struct spool	*sp;
	int		 write_err;	/* errno of a failed spool write */
	char		 refused[256];	/* why the file part is refused (415) */
	char		 filename[SAFETEXT_FILENAME_SIZE];
};

/* What the job row gets. */
struct job_in {
	const char	*filename;
	const char	*source;	/* 'upload' or 'inbox' */
	const char	*path;
	int64_t		 bytes;
	const char	*sha256;
};

/*
 * The multipart parser found the file part.  Its charset is checked as a
 * text/csv body's is: a form's file declared latin1 was taken, and every
 * row of its job rejected "not valid UTF-8".
 */
static int
on_begin(void *arg, const char *fn, size_t len, const char *ctype,
    size_t ctlen)
{
	struct upload *up = arg;

	if (fn != NULL)
		safetext_filename(fn, len, up->filename, sizeof(up->filename));
	if (ctype != NULL && charset_check(ctype, ctlen, up->refused,
	    sizeof(up->refused)) != 0)
		return 1;
	return 0;
}

static int
on_data(void *arg, const char *buf, size_t len)
{
	struct upload *up = arg;

	if ((up->write_err = spool_write(up->sp, buf, len)) != 0)
		return 1;
	return 0;
}

static const struct multipart_cb upload_cb = { on_begin, on_data };

/* A spool write failed: out of space is the client's business too. */
static void
write_failed(struct http_req *req, int err)
{
	if (err == ENOSPC || err == EDQUOT)
		http_problem(req, 507, "not enough space to store the upload");
	else
		http_problem(req, 500, "could not store the upload");
}

/* CONTENT_LENGTH when present and well-formed, else -1. */
static int64_t
content_length(struct http_req *req)
{
	const char	*s = http_param(req, "CONTENT_LENGTH");
	int64_t		 v;

	if (s == NULL || s[0] == '\0' ||
	    num_parse_i64(s, strlen(s), 0, INT64_MAX, &v) != 0)
		return -1;
	return v;
}

/*
 * A body that ended before (or went past) its CONTENT_LENGTH (expect, -1
 * when absent) is not the body the client meant to send: 0 when it
 * matches, else -1 after answering 400.
 */
static int
length_matches(struct http_req *req, int64_t expect, int64_t received)
{
	if (expect < 0 || received == expect)
		return 0;
	log_warn("upload: body ended after %" PRId64 " of %" PRId64 " bytes",
	    received, expect);
	http_problem(req, 400, "the body ended after %" PRId64 " of %" PRId64
	    " bytes", received, expect);
	return -1;
}

/* Insert the job and answer 202; 0, or -1 after answering. */
static int
queue_job(struct http_req *req, const struct job_in *in)
{
	struct json_object	*job;
	PGresult		*res;
	char			 bytes[24], attempts[16];
	const char		*params[6] = { in->filename, in->source, in->path,
	    bytes, in->sha256, attempts };
	int			 rc = -1;

	snprintf(bytes, sizeof(bytes), "%" PRId64, in->bytes);
	snprintf(attempts, sizeof(attempts), "%d", req->cfg->max_attempts);
	if ((res = http_exec(req, "queue job", sql_insert, 6, params, 0))
	    == NULL)
		return -1;
	if (PQntuples(res) != 1 || (job = job_json_new(res, 0, 0)) == NULL) {
		log_error("queue job: no job row back");
		http_problem(req, 500, "internal error");
		goto out;
	}
	log_info("job %s queued: %s, %" PRId64 " bytes, sha256 %s",
	    PQgetvalue(res, 0, 0), in->source, in->bytes, in->sha256);
	http_header(req, "Location", "/api/jobs/%s", PQgetvalue(res, 0, 0));
	http_json(req, 202, job);
	json_object_put(job);
	rc = 0;
out:
	PQclear(res);
	return rc;
}

/*
 * Stream the body into the spool, through the multipart parser when mp
 * is set.  0, or -1 after answering.
 */
static int
receive(struct http_req *req, struct upload *up, struct multipart *mp)
{
	enum multipart_status	 st;
	int64_t			 received = 0, expect, max = req->cfg->max_upload;
	ssize_t			 n;
	char			*buf = NULL;
	int			 rc = -1, e;

	expect = content_length(req);
	/* Refuse early what would be refused late anyway. */
	if (expect > max) {
		http_problem(req, 413, "the body is over the limit of %" PRId64
		    " bytes", max);
		goto out;
	}
	if ((buf = malloc(CHUNK)) == NULL) {
		http_problem(req, 500, "out of memory");
		goto out;
	}
	for (;;) {
		if ((n = http_read(req, buf, CHUNK)) < 0) {
			log_warn("upload: the client went away after %" PRId64
			    " bytes", received);
			http_problem(req, 400, "the body ended early");
			goto out;
		}
		if (n == 0)
			break;
		received += n;
		if (received > max) {
			http_problem(req, 413, "the body is over the limit of "
			    "%" PRId64 " bytes", max);
			goto out;
		}
		if (mp == NULL) {
			if ((e = spool_write(up->sp, buf, (size_t)n)) != 0) {
				write_failed(req, e);
				goto out;
			}
			continue;
		}
		st = multipart_feed(mp, buf, (size_t)n);
		if (st == MULTIPART_STOPPED && up->refused[0] != '\0') {
			http_problem(req, 415, "%s", up->refused);
			goto out;
		}
		if (st == MULTIPART_STOPPED) {
			write_failed(req, up->write_err);
			goto out;
		}
		if (st == MULTIPART_ERROR) {
			http_problem(req, 400, "%s", multipart_error(mp));
			goto out;
		}
	}
	if (length_matches(req, expect, received) != 0)
		goto out;
	if (mp != NULL && multipart_finish(mp) != MULTIPART_OK) {
		http_problem(req, 400, "%s", multipart_error(mp));
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* multipart/form-data, text/csv, application/octet-stream. */
static void
post_upload(struct http_req *req, enum body_kind kind,
    const struct query_values *qv, const char *ctype)
{
	struct upload		 up;
	struct multipart	*mp = NULL;
	struct job_in		 in;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			 q[SAFETEXT_QUOTE_SIZE];
	long			 blen;

	memset(&up, 0, sizeof(up));
	up.req = req;
	memcpy(up.filename, SAFETEXT_FILENAME_DEFAULT,
	    sizeof(SAFETEXT_FILENAME_DEFAULT));
	if (kind == BODY_MULTIPART) {
		blen = multipart_boundary(ctype, strlen(ctype), boundary,
		    sizeof(boundary));
		if (blen < 0) {
			safetext_quote(ctype, strlen(ctype), q, sizeof(q));
			http_problem(req, 400, "multipart/form-data without a "
			    "valid boundary parameter: content-type %s", q);
			goto out;
		}
		if ((mp = multipart_new(boundary, (size_t)blen, "file",
		    &upload_cb, &up)) == NULL) {
			http_problem(req, 500, "out of memory");
			goto out;
		}
	} else if (qv->v[UP_FILENAME].present) {
		safetext_filename(qv->v[UP_FILENAME].str,
		    qv->v[UP_FILENAME].len, up.filename, sizeof(up.filename));
	}
	if ((up.sp = spool_new(req->cfg->spool_dir)) == NULL) {
		http_problem(req, 500, "could not store the upload");
		goto out;
	}
	if (receive(req, &up, mp) != 0)
		goto out;
	if (spool_bytes(up.sp) == 0) {
		http_problem(req, 400, "empty file");
		goto out;
	}
	if (spool_commit(up.sp) != 0) {
		http_problem(req, 500, "could not store the upload");
		goto out;
	}
	in.filename = up.filename;
	in.source = "upload";
	in.path = spool_path(up.sp);
	in.bytes = spool_bytes(up.sp);
	in.sha256 = spool_sha256(up.sp);
	if (queue_job(req, &in) == 0)
		spool_keep(up.sp);
out:
	multipart_free(mp);
	spool_free(up.sp);
}

/*
 * Read a small body whole into buf (size bufsz); the length, or -1
 * after answering (413 when it does not fit).
 */
static ssize_t
read_small(struct http_req *req, char *buf, size_t bufsz)
{
	size_t	 len = 0;
	ssize_t	 n;

	for (;;) {
		n = http_read(req, buf + len, bufsz - len);
		if (n < 0) {
			http_problem(req, 400, "the body ended early");
			return -1;
		}
		if (n == 0)
			return length_matches(req, content_length(req),
			    (int64_t)len) == 0 ?
			    (ssize_t)len : -1;
		len += (size_t)n;
		if (len == bufsz) {
			http_problem(req, 413, "a json body is limited to %d "
			    "bytes", JSON_MAX);
			return -1;
		}
	}
}

/*
 * The inbox request {"path": "..."} (inboxreq.c); 0, or -1 after
 * answering 400.
 */
static int
parse_inbox_request(struct http_req *req, const char *buf, size_t len,
    struct json_object **obj, const char **path, size_t *plen)
{
	char		 err[256], param[SAFETEXT_QUOTE_SIZE];
	const char	*reason;

	if (inboxreq_parse(buf, len, obj, path, plen, err, sizeof(err),
	    param, sizeof(param), &reason) == 0)
		return 0;
	if (param[0] != '\0')
		http_problem_param(req, err, param, reason);
	else
		http_problem(req, 400, "%s", err);
	return -1;
}

/* application/json: a file in the inbox. */
static void
post_inbox(struct http_req *req)
{
	struct json_object	*obj = NULL;
	struct job_in		 in;
	enum inbox_status	 st;
	const char		*path;
	char			 buf[JSON_MAX + 1], q[SAFETEXT_QUOTE_SIZE];
	char			 sha256[DIGEST_HEX_SIZE];
	char			 filename[SAFETEXT_FILENAME_SIZE];
	size_t			 plen;
	ssize_t			 len;
	int64_t			 bytes;
	int			 fd = -1;

	if ((len = read_small(req, buf, sizeof(buf))) < 0)
		goto out;
	if (parse_inbox_request(req, buf, (size_t)len, &obj, &path, &plen)
	    != 0)
		goto out;
	safetext_quote(path, plen, q, sizeof(q));
	st = inbox_open(req->cfg->inbox_dir, path, plen, &fd);
	if (st != INBOX_OK) {
		if (st == INBOX_OUTSIDE)
			log_warn("inbox: refused %s: outside the inbox", q);
		if (inbox_answers[st].reason == NULL) {
			http_problem(req, 500, "could not open %s", q);
			goto out;
		}
		http_problem_value(req, inbox_answers[st].status, "path", path,
		    plen, inbox_answers[st].reason);
		goto out;
	}
	if (inbox_digest(fd, sha256, &bytes) != 0) {
		http_problem(req, 500, "could not read %s", q);
		goto out;
	}
	if (bytes == 0) {
		http_problem_value(req, 400, "path", path, plen, "empty file");
		goto out;
	}
	safetext_filename(path, plen, filename, sizeof(filename));
	in.filename = filename;
	in.source = "inbox";
	in.path = path;
	in.bytes = bytes;
	in.sha256 = sha256;
	queue_job(req, &in);
out:
	if (fd != -1)
		close(fd);
	json_object_put(obj);
}

/*
 * 0 when every parameter given applies to this kind of body, else -1
 * after answering 400 naming the first that does not.
 */
static int
params_fit(struct http_req *req, enum body_kind kind,
    const struct query_values *qv)
{
	size_t	 i;

	for (i = 0; i < UP__MAX; i++) {
		if (!qv->v[i].present || upload_param_use[i].kind == kind)
			continue;
		http_problem_value(req, 400, upload_params[i].name,
		    qv->v[i].str, qv->v[i].len, upload_param_use[i].reason);
		return -1;
	}
	return 0;
}

/* Every type of body_types, in its order, comma-separated. */
static void
accepted_types(char *list, size_t size)
{
	size_t	 i, n = 0;

	list[0] = '\0';
	for (i = 0; i < NBODY_TYPES && n < size; i++)
		n += (size_t)snprintf(list + n, size - n, "%s%s",
		    i > 0 ? ", " : "", body_types[i].type);
}

/* charset_check of a text body's type; -1 after answering 415. */
static int
charset_taken(struct http_req *req, const char *ctype)
{
	char	 err[256];

	if (charset_check(ctype, strlen(ctype), err, sizeof(err)) == 0)
		return 0;
	http_problem(req, 415, "%s", err);
	return -1;
}

/*
 * Whether the body has no content coding but identity; -1 after
 * answering 415 with the codings taken.
 */
static int
coding_taken(struct http_req *req)
{
	const char	*enc = http_param(req, "HTTP_CONTENT_ENCODING");
	char		 q[SAFETEXT_QUOTE_SIZE];
	size_t		 i;

	if (enc == NULL || enc[0] == '\0')
		return 0;
	for (i = 0; i < NBODY_CODINGS; i++)
		if (hdrparam_is(enc, strlen(enc), body_codings[i]))
			return 0;
	http_header(req, "Accept-Encoding", "%s", body_codings[0]);
	safetext_quote(enc, strlen(enc), q, sizeof(q));
	http_problem(req, 415, "unsupported content-encoding %s; send the "
	    "body uncompressed", q);
	return -1;
}

void
h_upload_post(struct http_req *req)
{
	struct query_values	 qv;
	const char		*ctype = http_param(req, "CONTENT_TYPE");
	char			 err[256];
	size_t			 i;
	enum body_kind		 kind = BODY__MAX;

	for (i = 0; ctype != NULL && i < NBODY_TYPES; i++)
		if (hdrparam_is(ctype, strlen(ctype), body_types[i].type)) {
			kind = body_types[i].kind;
			break;
		}
	if (kind == BODY__MAX) {
		char types[256];

		/*
		 * RFC 9110 section 15.5.16; Accept-Post: RFC 5023 / LDP.  The
		 * detail names the accepted types too, for whoever reads only
		 * the body.
		 */
		accepted_types(types, sizeof(types));
		http_header(req, "Accept-Post", "%s", types);
		if (ctype == NULL || ctype[0] == '\0')
			http_problem(req, 415, "a content-type is required, "
			    "one of: %s", types);
		else {
			char q[SAFETEXT_QUOTE_SIZE];

			safetext_quote(ctype, strlen(ctype), q, sizeof(q));
			http_problem(req, 415, "unsupported content-type %s; "
			    "accepted: %s", q, types);
		}
		return;
	}
	if (coding_taken(req) != 0 ||
	    (body_types[i].text && charset_taken(req, ctype) != 0))
		return;
	if (query_parse(req->query, strlen(req->query), upload_params,
	    UP__MAX, &qv, err, sizeof(err)) != 0) {
		http_problem_query(req, &qv, err);
		return;
	}
	if (params_fit(req, kind, &qv) != 0)
		return;
	if (kind == BODY_JSON)
		post_inbox(req);
	else
		post_upload(req, kind, &qv, ctype);
}
