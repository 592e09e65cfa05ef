"""test_api_jobs.py: the ingest HTTP API of the FastCGI program (cgi/) through
nginx: uploads of every body kind, the inbox and its escapes, problem answers
(RFC 9457) for 400/401/403/404/405/409/413/415, job listing with keyset
paging, cancel, rejects, and NOTIFY at commit.

Every upload is made unique (a random `tag` column, which the loader
ignores), so no test meets another's content as a duplicate.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
import zlib

import harness

HEADER = b"region,origin_coord,destination_coord,datetime,datasource"
GOOD = (b"Prague,POINT (14.4973794438195 50.00136875782316),"
        b"POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,funny_car")
BAD_ROW = b"Prague,POINT (14.4 nope),POINT (14.4 50.0),2018-05-28 09:03:40,funny_car"
JOB_KEYS = {"id", "state", "filename", "bytes", "sha256", "rows_loaded", "rows_rejected",
            "bytes_read", "attempts", "error", "created_at", "started_at", "finished_at",
            "duplicate_of", "cancel_requested", "phase", "links"}
ACCEPT_POST = "multipart/form-data, text/csv, application/octet-stream, application/json"


# -- helpers -----------------------------------------------------------------

def csv(rows=3, bad=(), tag=None):
    """A small CSV, unique by its tag column; bad lists 0-based data rows to
    replace by a malformed one."""
    tag = (tag or uuid.uuid4().hex).encode()
    lines = [HEADER + b",tag"]
    for i in range(rows):
        lines.append((BAD_ROW if i in bad else GOOD) + b"," + tag)
    return b"\n".join(lines) + b"\n"


def multipart(parts, boundary=None):
    """parts: list of (headers text, body bytes); returns (content type, body)."""
    boundary = boundary or "----t" + uuid.uuid4().hex
    out = b""
    for head, body in parts:
        out += ("--%s\r\n%s\r\n\r\n" % (boundary, head)).encode() + body + b"\r\n"
    out += ("--%s--\r\n" % boundary).encode()
    return "multipart/form-data; boundary=" + boundary, out


def file_part(filename="t.csv", name="file"):
    return 'Content-Disposition: form-data; name="%s"; filename="%s"' % (name, filename)


def post(stack, body, ctype, query="", token=True, headers=None):
    h = stack.auth() if token else {}
    if ctype is not None:
        h["Content-Type"] = ctype
    h.update(headers or {})
    return stack.http("POST", "/api/jobs" + query, body, h)


def problem(r, status, detail_part=None, own=True):
    """Check r is an RFC 9457 problem with this status; returns its JSON.
    own=False: nginx may have answered itself (no security headers)."""
    assert r.status == status, r
    assert r.headers.get("content-type") == "application/problem+json", r
    if own:
        assert r.headers.get("x-content-type-options") == "nosniff", r
    p = r.json()
    assert p["status"] == status and p["type"] == "about:blank", p
    assert isinstance(p["title"], str) and p["title"], p
    assert isinstance(p["detail"], str) and p["detail"], p
    if detail_part is not None:
        assert detail_part in p["detail"], (detail_part, p)
    return p


def spool_temps(stack):
    """Upload files still being written (or left behind by a failure)."""
    return [n for n in os.listdir(os.path.join(stack.var, "spool")) if n.startswith(".upload-")]


def check_job(job, data=None):
    assert JOB_KEYS <= set(job), job
    assert job["phase"] is None or job["state"] == "running", job
    assert job["links"] == {"self": "/api/jobs/%d" % job["id"],
                            "events": "/api/jobs/%d/events" % job["id"],
                            "rejects": "/api/jobs/%d/rejects" % job["id"]}, job
    assert job["created_at"].endswith("Z") and "T" in job["created_at"], job
    if data is not None:
        assert job["bytes"] == len(data), job
        assert job["sha256"] == hashlib.sha256(data).hexdigest(), job


def accepted(r, data=None):
    assert r.status == 202, r
    job = r.json()
    check_job(job, data)
    assert r.headers.get("location") == "/api/jobs/%d" % job["id"], r.headers
    assert job["state"] in ("queued", "running", "succeeded", "failed"), job
    return job


def put_inbox(stack, name, data):
    path = stack.write_inbox(name, data)
    return path


# -- health, routing ---------------------------------------------------------

def test_health(stack):
    r = stack.http("GET", "/api/health")
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json"
    h = r.json()
    assert h["status"] == "ok" and h["database"] == "ok" and h["runners"] >= 1, h
    assert set(h) == {"status", "database", "runners", "queued", "max_upload"}, h
    # The stack's limit (stack.sh's default unless the run sets one).
    assert h["max_upload"] == int(stack.env.get("TRIPLINE_MAX_UPLOAD", 4 << 30)), h


def test_health_without_runners(stack):
    """With every runner stopped, /api/health said "ok" all the same
    (found by the new-user audit): it now counts the runners connected
    (the holders of their lock in pg_locks) and the jobs that wait, and
    says "degraded", still 200 (this program and the database answer)."""
    def health_when(ok, what):
        end = time.time() + 20        # a session ends, or begins, a moment after
        while True:
            h = stack.http("GET", "/api/health").json()
            if ok(h) or time.time() > end:
                assert ok(h), (what, h)
                return h
            time.sleep(0.1)

    stack.stop_runners()
    try:
        h = health_when(lambda h: h["runners"] == 0, "no runner")
        assert h["status"] == "degraded", h
        job = accepted(post(stack, csv(2), "text/csv", "?filename=wait.csv"))
        h = stack.http("GET", "/api/health").json()
        assert h["queued"] >= 1 and h["detail"] == (
            "no runner is connected: %d queued job%s wait%s for one"
            % (h["queued"], "" if h["queued"] == 1 else "s",
               "s" if h["queued"] == 1 else "")), h
    finally:
        stack.start_runners(2)
    assert stack.wait_job(job["id"])["state"] == "succeeded"
    h = health_when(lambda h: h["runners"] == 2, "two runners")
    assert h["status"] == "ok" and "detail" not in h, h
    stack.stop_runners()
    stack.start_runners(1)


def test_not_found_problems(stack):
    problem(stack.http("GET", "/api/nothing"), 404, "/api/nothing")
    problem(stack.http("GET", "/api/jobs/"), 404)
    problem(stack.http("GET", "/api/jobs/1/nothing"), 404)
    for bad in ("abc", "0", "-1", "2147483648", "1e3", "01x"):
        problem(stack.http("GET", "/api/jobs/" + bad), 404, '"%s"' % bad)
    problem(stack.http("GET", "/api/jobs/2147483647"), 404, 'job "2147483647" not found')


def test_method_not_allowed(stack):
    r = stack.http("DELETE", "/api/jobs")
    problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD, POST", r.headers
    r = stack.http("GET", "/api/jobs/1/cancel")
    problem(r, 405)
    assert r.headers["allow"] == "POST", r.headers
    r = stack.http("PUT", "/api/jobs/1")
    problem(r, 405)
    assert r.headers["allow"] == "GET, HEAD", r.headers
    r = stack.http("POST", "/api/health")
    problem(r, 405)
    r = stack.http("HEAD", "/api/health")
    assert r.status == 200 and r.body == b"", r


# -- auth --------------------------------------------------------------------

def test_token_required(stack):
    data = csv()
    r = post(stack, data, "text/csv", token=False)
    problem(r, 401, "token")
    assert r.headers["www-authenticate"].startswith("Bearer"), r.headers
    r = post(stack, data, "text/csv", token=False,
             headers={"Authorization": "Bearer " + stack.token + "x"})
    problem(r, 401, "invalid")
    assert 'error="invalid_token"' in r.headers["www-authenticate"], r.headers
    # A header of another form is told the form, and never echoed: it
    # may be the token itself, without its scheme.
    for value in (stack.token, "Basic " + stack.token, "Bearer", "Token " + stack.token):
        r = post(stack, data, "text/csv", token=False, headers={"Authorization": value})
        p = problem(r, 401)
        assert p["detail"] == 'the Authorization header must be "Bearer <token>"', p
        assert stack.token.encode() not in r.body, r
    r = stack.http("POST", "/api/jobs/1/cancel")
    assert problem(r, 401)["detail"] == "a bearer token is required", r
    # The scheme is case-insensitive (RFC 9110 section 11.1).
    r = post(stack, data, "text/csv", token=False,
             headers={"Authorization": "bearer " + stack.token})
    accepted(r, data)
    # Reading needs no token.
    assert stack.http("GET", "/api/jobs?limit=1").status == 200


def test_token_never_logged(stack):
    with open(os.path.join(stack.var, "log", "cgi.log"), errors="replace") as f:
        assert stack.token not in f.read()


# -- uploads -----------------------------------------------------------------

def test_upload_multipart(stack):
    data = csv(5)
    before = stack.scalar("SELECT coalesce(max(id), 0) FROM tripline.job_events")
    ctype, body = multipart([('Content-Disposition: form-data; name="note"', b"hello"),
                             (file_part("fleet-7.csv") + "\r\nContent-Type: text/csv", data),
                             ('Content-Disposition: form-data; name="after"', b"x")])
    job = accepted(post(stack, body, ctype), data)
    assert job["filename"] == "fleet-7.csv", job
    assert job["error"] is None and job["duplicate_of"] is None, job
    r = stack.http("GET", "/api/jobs/%d" % job["id"])
    assert r.status == 200 and r.json()["id"] == job["id"], r
    src, path = stack.psql("SELECT source, path FROM tripline.jobs WHERE id = %d" % job["id"])[0]
    assert src == "upload" and os.path.isabs(path), (src, path)
    assert os.path.dirname(path) == os.path.realpath(os.path.join(stack.var, "spool")), path
    ev = stack.psql("SELECT event, data FROM tripline.job_events WHERE job_id = %d AND id > %s "
                    "ORDER BY id LIMIT 1" % (job["id"], before))
    assert ev[0][0] == "queued", ev
    assert json.loads(ev[0][1]) == {"job": job["id"], "state": "queued",
                                     "filename": "fleet-7.csv", "bytes": len(data)}, ev
    assert spool_temps(stack) == []


def test_job_bytes_read(stack):
    """A job tells how much of its file is read: the runner keeps
    jobs.bytes_read current while it loads, and the page's list of jobs
    draws a running job's bar from bytes_read of bytes (nginx/www/app.js,
    rowFromJob)."""
    data = csv(4)
    job = stack.load(data)
    assert job["state"] == "succeeded", job
    assert job["bytes_read"] == len(data), job
    r = stack.http("GET", "/api/jobs?limit=1")
    assert r.status == 200 and r.json()["jobs"][0]["id"] == job["id"], r
    assert r.json()["jobs"][0]["bytes_read"] == len(data), r


def test_upload_multipart_chunked_delimiters(stack):
    """Data full of near-delimiters and a 1 MiB size arrives byte-exact."""
    boundary = "XyZ" + uuid.uuid4().hex
    line = ("\r\n--%s-\r\n--%s" % (boundary[:-1], boundary[:5])).encode()
    data = csv(2) + line * ((1 << 20) // len(line))
    ctype, body = multipart([(file_part("near.csv"), data)], boundary)
    job = accepted(post(stack, body, ctype), data)
    assert job["bytes"] == len(data)


def test_upload_raw_csv(stack):
    data = csv(4)
    job = accepted(post(stack, data, "text/csv; charset=utf-8",
                        "?filename=..%2F..%2Fetc%2Fmy%20trips%0A.csv"), data)
    # basename, the control character replaced, nothing else changed
    assert job["filename"] == "my trips\ufffd.csv", job
    data = csv(2)
    job = accepted(post(stack, data, "application/octet-stream"), data)
    assert job["filename"] == "upload.csv", job
    data = csv(2)
    job = accepted(post(stack, data, "TEXT/CSV"), data)


def test_upload_filename_sanitized(stack):
    data = csv(2)
    long_name = "\u00e9" * 150 + ".csv"      # 304 bytes of UTF-8
    for sent, want in [("C:\\Users\\me\\a.csv", "a.csv"),
                       ("..", "upload.csv"),
                       ("x\u202egnp.csv", "x\ufffdgnp.csv"),
                       ("we%22ird.csv", "we\"ird.csv"),   # as browsers send '"'
                       ("100%.csv", "100%.csv"),
                       (long_name, "\u00e9" * 100)]:
        data = csv(2)
        ctype, body = multipart([(file_part(sent), data)])
        job = accepted(post(stack, body, ctype), data)
        assert job["filename"] == want, (sent, job["filename"])


def test_upload_multipart_errors(stack):
    data = csv(2)
    cases = [
        ([('Content-Disposition: form-data; name="other"', data)], 'no part named "file"'),
        ([(file_part(), data), (file_part(), data)], 'more than one part named "file"'),
        ([("Content-Type: text/csv", data)], "content-disposition"),
        ([('Content-Disposition: form-data; name="file"\r\nX-Pad: ' + "a" * 9000, data)],
         "8192"),
    ]
    for parts, detail in cases:
        ctype, body = multipart(parts)
        problem(post(stack, body, ctype), 400, detail)
    ctype, body = multipart([(file_part(), data)])
    problem(post(stack, body[:-20], ctype), 400, "unterminated")
    problem(post(stack, data, ctype), 400, "no multipart boundary")
    # The content type is quoted, as every offending value is.
    problem(post(stack, body, "multipart/form-data"), 400,
            'without a valid boundary parameter: content-type "multipart/form-data"')
    problem(post(stack, body, 'multipart/form-data; boundary=""'), 400,
            'content-type "multipart/form-data; boundary=\\"\\""')
    b = ctype.split("=", 1)[1]
    bad = body.replace(b"\r\n\r\n", b"\r\n\r\nx\r\n--" + b.encode() + b"junk\r\n", 1)
    problem(post(stack, bad, ctype), 400, "boundary")
    # an empty file part
    ctype, body = multipart([(file_part(), b"")])
    problem(post(stack, body, ctype), 400, "empty file")
    problem(post(stack, b"", "text/csv"), 400, "empty file")
    # a failed upload leaves no spool file behind
    assert spool_temps(stack) == []


def test_upload_query_checked(stack):
    data = csv(2)
    p = problem(post(stack, data, "text/csv", "?filename=a&filename=b"), 400, "duplicate")
    assert p["invalid_params"] == [{"name": "filename", "reason": "duplicate parameter"}], p
    p = problem(post(stack, data, "text/csv", "?nope=1"), 400, "unknown parameter")
    assert p["invalid_params"][0]["name"] == "nope", p
    problem(post(stack, data, "text/csv", "?filename=%zz"), 400, "percent-encoding")


def test_upload_filename_named_where_it_applies(stack):
    """?filename= names a raw body only (a form's file part and an inbox
    path name their files themselves); elsewhere the 400 says where it
    applies instead of calling a documented parameter unknown."""
    reason = "applies to a text/csv or application/octet-stream body only"
    ctype, body = multipart([(file_part(), csv(2))])
    jobs = stack.scalar("SELECT count(*) FROM tripline.jobs")
    for r in (post(stack, body, ctype, "?filename=other.csv"),
              post(stack, b'{"path":"x.csv"}', "application/json", "?filename=other.csv")):
        p = problem(r, 400)
        assert p["detail"] == 'filename "other.csv": ' + reason, p
        assert p["invalid_params"] == [{"name": "filename", "reason": reason}], p
    p = problem(post(stack, body, ctype, "?nope=1"), 400, "unknown parameter")
    assert p["invalid_params"] == [{"name": "nope", "reason": "unknown parameter"}], p
    assert stack.scalar("SELECT count(*) FROM tripline.jobs") == jobs
    assert spool_temps(stack) == []


def test_unsupported_media_type(stack):
    """A 415 names the types this endpoint takes, in its detail (for a
    reader of the body alone) as in Accept-Post."""
    for ctype in ("text/plain", "application/xml", "text/csvx", "image/png; x=text/csv",
                  "application/x-www-form-urlencoded"):
        r = post(stack, b"a,b\n", ctype)
        p = problem(r, 415, ctype.split(";")[0])
        assert p["detail"] == 'unsupported content-type "%s"; accepted: %s' % (
            ctype, ACCEPT_POST), p
        assert r.headers["accept-post"] == ACCEPT_POST, r.headers
    r = post(stack, b"a,b\n", None)
    p = problem(r, 415)
    assert p["detail"] == "a content-type is required, one of: " + ACCEPT_POST, p
    assert r.headers["accept-post"] == ACCEPT_POST, r.headers


def test_content_encoding_refused(stack):
    """A compressed body is not decoded: 415 with Accept-Encoding (RFC
    9110 sections 8.4 and 15.5.16), whatever the body kind, and no job
    nor spool file; it used to be queued as the compressed bytes, a job
    failing on "NUL bytes"."""
    data = csv(2)
    gz = gzip.compress(data)
    ctype, body = multipart([(file_part(), gz)])
    jobs = stack.scalar("SELECT count(*) FROM tripline.jobs")
    for enc, kind, sent in (("gzip", "text/csv", gz), ("GZIP", ctype, body),
                            ("identity, gzip", "application/octet-stream", gz),
                            ("deflate", "application/json",
                             zlib.compress(json.dumps({"path": "a.csv"}).encode())),
                            ("br", "text/csv", data)):
        r = post(stack, sent, kind, headers={"Content-Encoding": enc})
        p = problem(r, 415)
        assert p["detail"] == ('unsupported content-encoding "%s"; send the body '
                               "uncompressed" % enc), p
        assert r.headers.get("accept-encoding") == "identity", r.headers
    assert stack.scalar("SELECT count(*) FROM tripline.jobs") == jobs
    assert spool_temps(stack) == []
    for enc in ("identity", "Identity"):
        data = csv(2)
        accepted(post(stack, data, "text/csv", headers={"Content-Encoding": enc}), data)


def test_csv_charset_checked(stack):
    """The loader reads UTF-8: a text/csv body that says it is in another
    charset is 415, not a job whose every row with an accent is "not
    valid UTF-8" (or that fails as UTF-16 text), and so is a form's file
    part.  UTF-8 and US-ASCII, in any case, quoted or not, are taken."""
    latin1 = csv(2).replace(b"Prague", "Plze\u0148".encode("iso-8859-2"))
    jobs = stack.scalar("SELECT count(*) FROM tripline.jobs")
    for charset, sent in (("iso-8859-2", latin1), ("windows-1250", latin1),
                          ('"UTF-16"', csv(2).decode().encode("utf-16")),
                          ("x" * 40, csv(2))):
        p = problem(post(stack, sent, "text/csv; charset=" + charset), 415)
        assert p["detail"] == ('unsupported charset "%s"; the file must be utf-8'
                               % charset.strip('"')), p
    # A charset that cannot be read may name another: refused too (these
    # were 202).
    for ctype in ("text/csv; charset=utf-8; charset=latin1", 'text/csv; charset="latin1',
                  "text/csv;charset=latin1 ; x", "text/csv; charset=" + "u" * 300):
        p = problem(post(stack, csv(2), ctype), 415)
        assert p["detail"].startswith("unreadable charset in content-type \""), p
    assert stack.scalar("SELECT count(*) FROM tripline.jobs") == jobs
    assert spool_temps(stack) == []
    for charset in ("utf-8", "UTF-8", '"utf-8"', "us-ascii", "utf8"):
        data = csv(2)
        accepted(post(stack, data, "text/csv; charset=" + charset), data)
    # A form's file part says its charset in its own Content-Type (curl
    # -F "file=@f.csv;type=text/csv; charset=latin1"): the same answers
    # (it was taken, and every row with an accent rejected).
    ctype, body = multipart([(file_part() + "\r\nContent-Type: text/csv; charset=latin1",
                              latin1)])
    p = problem(post(stack, body, ctype), 415)
    assert p["detail"] == 'unsupported charset "latin1"; the file must be utf-8', p
    assert spool_temps(stack) == []
    data = csv(2)
    ctype, body = multipart([(file_part() + "\r\nContent-Type: text/csv; charset=UTF-8",
                              data)])
    accepted(post(stack, body, ctype), data)


# -- inbox -------------------------------------------------------------------

def inbox_post(stack, obj):
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return post(stack, body, "application/json")


def test_inbox(stack):
    data = csv(6)
    name = "in-%s.csv" % uuid.uuid4().hex
    put_inbox(stack, name, data)
    job = accepted(inbox_post(stack, {"path": name}), data)
    assert job["filename"] == name, job
    src, path = stack.psql("SELECT source, path FROM tripline.jobs WHERE id = %d" % job["id"])[0]
    assert (src, path) == ("inbox", name), (src, path)
    # in a subdirectory, and through a symlink that stays inside
    sub = os.path.join(stack.var, "inbox", "sub-" + uuid.uuid4().hex)
    os.mkdir(sub)
    data = csv(3)
    put_inbox(stack, os.path.join(os.path.basename(sub), "f.csv"), data)
    job = accepted(inbox_post(stack, {"path": os.path.basename(sub) + "/f.csv"}), data)
    assert job["filename"] == "f.csv", job
    link = "link-%s.csv" % uuid.uuid4().hex
    os.symlink(os.path.basename(sub) + "/f.csv", os.path.join(stack.var, "inbox", link))
    accepted(inbox_post(stack, {"path": link}), data)


def test_inbox_escapes(stack):
    inbox = os.path.join(stack.var, "inbox")
    outside = os.path.join(stack.var, "outside-%s.csv" % uuid.uuid4().hex)
    with open(outside, "wb") as f:
        f.write(csv(2))
    out_link = "out-%s.csv" % uuid.uuid4().hex
    os.symlink(outside, os.path.join(inbox, out_link))
    rel_link = "rel-%s.csv" % uuid.uuid4().hex
    os.symlink("../" + os.path.basename(outside), os.path.join(inbox, rel_link))
    d = "dir-" + uuid.uuid4().hex
    os.mkdir(os.path.join(inbox, d))
    for path in ("../" + os.path.basename(outside), "/etc/passwd", outside, out_link,
                 rel_link, d + "/../../env", "/proc/self/root/etc/passwd"):
        problem(inbox_post(stack, {"path": path}), 403, "outside the inbox")
    problem(inbox_post(stack, {"path": d}), 400, "not a regular file")
    fifo = "fifo-" + uuid.uuid4().hex
    os.mkfifo(os.path.join(inbox, fifo))
    problem(inbox_post(stack, {"path": fifo}), 400, "not a regular file")
    problem(inbox_post(stack, {"path": "missing-%s.csv" % uuid.uuid4().hex}), 404, "no such file")
    empty = "empty-%s.csv" % uuid.uuid4().hex
    put_inbox(stack, empty, b"")
    p = problem(inbox_post(stack, {"path": empty}), 400, "empty file")
    # The path named as every inbox answer names it ("empty file: ..." before).
    assert p["detail"] == 'path "%s": empty file' % empty, p
    # Each invalid path says what is wrong with it (it was "invalid inbox
    # path" for all four).
    for path, reason in (("", "empty, or a NUL in it"),
                         ("a\u0000b", "empty, or a NUL in it"),
                         ("a" * 300 + ".csv", "a name in it is longer than 255 bytes"),
                         ("a/" * 520 + "x.csv", "longer than 1024 bytes")):
        p = problem(inbox_post(stack, {"path": path}), 400, reason)
        assert p["invalid_params"] == [{"name": "path", "reason": reason}], p
    loop = "loop-" + uuid.uuid4().hex
    os.symlink(loop, os.path.join(inbox, loop))
    problem(inbox_post(stack, {"path": loop}), 400, "too many levels of symbolic links")


def test_inbox_bad_json(stack):
    p = problem(inbox_post(stack, {"path": 7}), 400, "string")
    assert p["invalid_params"] == [{"name": "path", "reason": "must be a string"}], p
    p = problem(inbox_post(stack, {"path": "a.csv", "extra": 1}), 400, "unknown member")
    assert p["invalid_params"][0]["name"] == "extra", p
    problem(inbox_post(stack, {}), 400, "path")
    problem(inbox_post(stack, [1]), 400, "object")
    for whole in (b"null", b"true", b"1"):     # whole values: not "end of input"
        problem(inbox_post(stack, whole), 400, "must be a json object")
    problem(inbox_post(stack, b'{"path": "a.csv"} {}'), 400, "invalid json")
    problem(inbox_post(stack, b'{"path": "a.csv"'), 400, "invalid json")
    problem(inbox_post(stack, b"{'path': 'a.csv'}"), 400, "invalid json")
    problem(inbox_post(stack, b'{"path": "\xff.csv"}'), 400, "invalid json")
    problem(inbox_post(stack, b'{"path": {"a": {"b": {"c": 1}}}}'), 400)
    problem(inbox_post(stack, json.dumps({"path": "a" * 5000}).encode()), 413, "4096")


# -- reading and paging ------------------------------------------------------

def test_list_paging(stack):
    ids = [accepted(post(stack, d, "text/csv"), d)["id"] for d in [csv(1) for _ in range(5)]]
    top = max(ids) + 1
    seen = []
    url = "/api/jobs?limit=2&before=%d" % top
    pages = 0
    while url and pages < 10:
        r = stack.http("GET", url)
        assert r.status == 200, r
        body = r.json()
        assert 1 <= len(body["jobs"]) <= 2, body
        for j in body["jobs"]:
            check_job(j)
        seen += [j["id"] for j in body["jobs"]]
        nxt = body["links"].get("next")
        if nxt:
            assert r.headers["link"] == '<%s>; rel="next"' % nxt, r.headers
        else:
            assert "link" not in r.headers, r.headers
        url = nxt
        pages += 1
        if len(seen) >= 6:
            break
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == len(seen), seen
    assert seen[:5] == sorted(ids, reverse=True), (seen, ids)
    # default: newest first, at most 50
    r = stack.http("GET", "/api/jobs")
    assert r.status == 200
    jobs = r.json()["jobs"]
    assert 5 <= len(jobs) <= 50 and jobs[0]["id"] >= max(ids), jobs[:1]
    # the last page has no next link
    r = stack.http("GET", "/api/jobs?before=%d&limit=500" % min(ids))
    assert "next" not in r.json()["links"], r


def test_list_by_state(stack):
    """GET /api/jobs?state=failed lists the failed jobs alone, newest
    first, and its next link keeps the filter; without it a user looked
    for the failed jobs among every other (400 "unknown parameter")."""
    failed = [accepted(post(stack, b"a,b\n%d\n" % i + uuid.uuid4().hex.encode(),
                            "text/csv"))["id"] for i in range(3)]
    ok = stack.load(csv(1))
    for j in failed:
        assert stack.wait_job(j)["state"] == "failed"
    r = stack.http("GET", "/api/jobs?state=failed&limit=2")
    assert r.status == 200, r
    body = r.json()
    assert [j["state"] for j in body["jobs"]] == ["failed", "failed"], body
    assert [j["id"] for j in body["jobs"]] == sorted(failed, reverse=True)[:2], body
    nxt = body["links"]["next"]
    assert nxt == "/api/jobs?before=%d&limit=2&state=failed" % body["jobs"][1]["id"], nxt
    assert r.headers["link"] == '<%s>; rel="next"' % nxt, r.headers
    assert stack.http("GET", nxt).json()["jobs"][0]["id"] == min(failed)
    seen = [j["id"] for j in stack.http("GET", "/api/jobs?state=succeeded&limit=500"
                                        ).json()["jobs"]]
    assert ok["id"] in seen and not set(failed) & set(seen), seen
    for bad in ("FAILED", "done", "", "failed,succeeded"):
        p = problem(stack.http("GET", "/api/jobs?state=" + bad), 400)
        reason = "must be queued, running, succeeded, failed or cancelled"
        assert p["invalid_params"] == [{"name": "state", "reason": reason}], p
        assert p["detail"] == 'state "%s": %s' % (bad, reason), p


def test_list_bad_params(stack):
    for q, name in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"),
                    ("before=0", "before"), ("before=2147483648", "before"),
                    ("limit=1&limit=2", "limit"), ("page=2", "page")):
        p = problem(stack.http("GET", "/api/jobs?" + q), 400)
        assert p["invalid_params"][0]["name"] == name, (q, p)
    problem(stack.http("GET", "/api/jobs/1?x=1"), 400, "unknown parameter")
    # Leading zeros are no digits of the value: 1, however many.
    r = stack.http("GET", "/api/jobs?limit=" + "0" * 40 + "1")
    assert r.status == 200 and len(r.json()["jobs"]) <= 1, r


# -- cancel ------------------------------------------------------------------

def test_cancel_ended_says_it_ended(stack):
    """A job that has ended cannot be cancelled (409), and the detail
    says so for each final state: "has already ended: failed", not "is
    already failed"."""
    job = stack.load(csv(2))
    assert job["state"] == "succeeded", job
    failed = int(stack.scalar(
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256, "
        "finished_at, error) VALUES ('failed', 'ended.csv', 'inbox', 'ended.csv', 0, "
        "repeat('0', 64), now(), 'test') RETURNING id"))
    cancelled = int(stack.scalar(
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256, "
        "finished_at) VALUES ('cancelled', 'ended.csv', 'inbox', 'ended.csv', 0, "
        "repeat('0', 64), now()) RETURNING id"))
    for job_id, state in ((job["id"], "succeeded"), (failed, "failed"),
                          (cancelled, "cancelled")):
        r = stack.http("POST", "/api/jobs/%d/cancel" % job_id, b"", stack.auth())
        p = problem(r, 409)
        assert p["detail"] == 'job "%d" has already ended: %s' % (job_id, state), p


def test_cancel_queued(stack):
    stack.stop_runners()
    try:
        data = csv(3)
        job = accepted(post(stack, data, "text/csv"), data)
        assert job["state"] == "queued", job
        r = stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"", stack.auth())
        assert r.status == 200, r
        j = r.json()
        check_job(j, data)
        assert j["state"] == "cancelled" and j["finished_at"] is not None, j
        ev = stack.psql("SELECT event, data FROM tripline.job_events WHERE job_id = %d "
                        "ORDER BY id" % job["id"])
        assert [e[0] for e in ev] == ["queued", "cancelled"], ev
        assert json.loads(ev[1][1])["state"] == "cancelled", ev
        problem(stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"", stack.auth()),
                409, 'job "%d" has already ended: cancelled' % job["id"])
        problem(stack.http("POST", "/api/jobs/2147483647/cancel", b"", stack.auth()), 404)
        def cancel_running(lease):
            """Cancel a job made to look taken by a runner, its lease
            ending at now() + lease."""
            data = csv(3)
            job = accepted(post(stack, data, "text/csv"), data)
            stack.psql("UPDATE tripline.jobs SET state = 'running', started_at = now(), "
                       "attempts = 1, lease_owner = 'test', lease_until = now() + "
                       "interval '%s' WHERE id = %d" % (lease, job["id"]))
            return job, stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"",
                                   stack.auth())

        # a running job: the cancel is requested, the runner finishes it
        job, r = cancel_running("1 hour")
        assert r.status == 202, r
        assert r.json()["state"] == "running" and r.json()["cancel_requested"] is True, r
        assert stack.scalar("SELECT cancel_requested FROM tripline.jobs WHERE id = %d"
                            % job["id"]) == "t"
        # leave nothing running for other tests
        stack.psql("UPDATE tripline.jobs SET state = 'cancelled', finished_at = now(), "
                   "lease_owner = NULL, lease_until = NULL WHERE id = %d" % job["id"])
        problem(stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"", stack.auth()), 409)
        # a running job whose runner died (lease expired): cancelled at once
        job, r = cancel_running("-1 s")
        assert r.status == 200, r
        assert r.json()["state"] == "cancelled" and r.json()["finished_at"], r
        # A split job (lease_owner 'parts') with one part's runner dead
        # and one alive: asked (202), not cancelled under the live one;
        # once every running part's lease expired, cancelled at once.
        data = csv(3)
        job = accepted(post(stack, data, "text/csv"), data)
        stack.psql("UPDATE tripline.jobs SET state = 'running', started_at = now(), "
                   "attempts = 1, lease_owner = 'parts', lease_until = NULL "
                   "WHERE id = %d; INSERT INTO tripline.job_parts (job_id, part, first_byte, "
                   "end_byte, first_line, header_end, file_stamp, state, lease_owner, "
                   "lease_until) VALUES (%d, 0, 0, 10, 1, 5, 'x', 'running', 'dead', "
                   "now() - interval '1 min'), (%d, 1, 10, 20, 2, 5, 'x', 'running', 'alive', "
                   "now() + interval '10 min')" % (job["id"], job["id"], job["id"]))
        try:
            r = stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"", stack.auth())
            assert r.status == 202 and r.json()["state"] == "running", r
            assert r.json()["cancel_requested"] is True, r
            stack.psql("UPDATE tripline.job_parts SET lease_until = now() - interval '1 s' "
                       "WHERE job_id = %d" % job["id"])
            r = stack.http("POST", "/api/jobs/%d/cancel" % job["id"], b"", stack.auth())
            assert r.status == 200 and r.json()["state"] == "cancelled", r
        finally:
            stack.psql("DELETE FROM tripline.job_parts WHERE job_id = %d; UPDATE tripline.jobs "
                       "SET state = 'cancelled', finished_at = coalesce(finished_at, now()) "
                       "WHERE id = %d" % (job["id"], job["id"]))
    finally:
        stack.start_runners(1)


# -- rejects -----------------------------------------------------------------

def test_rejects(stack):
    data = csv(8, bad=(1, 4, 6))
    job = accepted(post(stack, data, "text/csv"), data)
    j = stack.wait_job(job["id"])
    assert j["state"] == "succeeded", j
    assert j["rows_rejected"] == 3, j
    r = stack.http("GET", "/api/jobs/%d/rejects" % job["id"])
    assert r.status == 200, r
    rej = r.json()["rejects"]
    assert len(rej) == 3 and "next" not in r.json()["links"], r
    assert [x["line"] for x in rej] == sorted(x["line"] for x in rej), rej
    for x in rej:
        assert set(x) == {"line", "reason", "raw"} and x["reason"], x
        assert "nope" in x["raw"], x
    # paging by line
    r = stack.http("GET", "/api/jobs/%d/rejects?limit=2" % job["id"])
    page = r.json()
    assert [x["line"] for x in page["rejects"]] == [x["line"] for x in rej[:2]], page
    nxt = page["links"]["next"]
    assert nxt == "/api/jobs/%d/rejects?after_line=%d&limit=2" % (job["id"], rej[1]["line"])
    assert r.headers["link"] == '<%s>; rel="next"' % nxt
    r = stack.http("GET", nxt)
    assert [x["line"] for x in r.json()["rejects"]] == [rej[2]["line"]], r
    # a job without rejects, an unknown job, bad parameters
    r = stack.http("GET", "/api/jobs/%d/rejects?after_line=%d" % (job["id"], rej[2]["line"]))
    assert r.json() == {"rejects": [], "links": {}}, r
    problem(stack.http("GET", "/api/jobs/2147483647/rejects"), 404)
    problem(stack.http("GET", "/api/jobs/%d/rejects?limit=0" % job["id"]), 400)
    problem(stack.http("GET", "/api/jobs/%d/rejects?after_line=-1" % job["id"]), 400)


# -- NOTIFY ------------------------------------------------------------------

def test_notify_at_commit(stack):
    """A listener hears tripline_jobs (job id) and tripline_events (event id)."""
    env = stack.db_env(PGAPPNAME="notify_listener")
    listener = subprocess.Popen(
        ["psql", "-XAtq", "-c", "LISTEN tripline_jobs", "-c", "LISTEN tripline_events",
         "-c", "SELECT pg_sleep(30)", "-c", "SELECT 1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    asleep = ("FROM pg_stat_activity WHERE application_name = 'notify_listener' "
              "AND query = 'SELECT pg_sleep(30)'")
    try:
        # Listening before the upload commits: its LISTENs are done.
        stack.wait_scalar("SELECT count(*) " + asleep, "1", "the listener did not start", 30)
        data = csv(2)
        job = accepted(post(stack, data, "text/csv"), data)
        # The notifications came at the upload's commit, before its
        # answer; psql prints them once its sleep ends: end it now.
        stack.psql("SELECT pg_cancel_backend(pid) " + asleep)
        out, err = listener.communicate(timeout=30)
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    text = out.decode()
    event_id = stack.scalar("SELECT id FROM tripline.job_events WHERE job_id = %d AND "
                            "event = 'queued'" % job["id"])
    assert 'notification "tripline_jobs" with payload "%d"' % job["id"] in text, text
    assert 'notification "tripline_events" with payload "%s"' % event_id in text, text


# -- limits ------------------------------------------------------------------

def test_upload_too_large(stack):
    """Over TRIPLINE_MAX_UPLOAD: 413, and no spool file.  nginx refuses a
    declared length itself (client_max_body_size is the same limit); the
    program's own count is checked through its socket with cgi-fcgi."""
    small = harness.Stack(env={"TRIPLINE_MAX_UPLOAD": "100000"}, runners=0)
    try:
        data = csv(2000)
        assert len(data) > 100000
        # Told before sending (the jobs page reads it).
        assert small.http("GET", "/api/health").json()["max_upload"] == 100000
        # nginx's answer names the limit as the program's does.
        limit = "the body is over the limit of 100000 bytes"
        assert problem(post(small, data, "text/csv"), 413, own=False)["detail"] == limit
        # Chunked (curl -T - from a pipe), the excess coming after nginx
        # has begun passing the body on: problem+json all the same (it
        # was nginx's HTML page).

        def pieces():
            for i in range(0, len(data), 8192):
                yield data[i:i + 8192]
                time.sleep(0.02)
        assert problem(post(small, pieces(), "text/csv"), 413,
                       own=False)["detail"] == limit
        ctype, body = multipart([(file_part(), data)])
        problem(post(small, body, ctype), 413, own=False)
        ok = csv(2)
        accepted(post(small, ok, "text/csv"), ok)
        assert spool_temps(small) == []
        if shutil.which("cgi-fcgi") is None:
            raise harness.Skip("cgi-fcgi (libfcgi-bin) absent: the program's own count "
                               "was not checked")
        sock = os.path.join(small.var, "run", "cgi.sock")
        for length in (str(len(data)), str(len(data)) + " "):   # declared, then unparsable
            env = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs",
                   "CONTENT_TYPE": "text/csv", "CONTENT_LENGTH": length,
                   "HTTP_AUTHORIZATION": "Bearer " + small.token, "PATH": os.environ["PATH"]}
            r = subprocess.run(["cgi-fcgi", "-bind", "-connect", sock], input=data, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            assert b"Status: 413" in r.stdout, r.stdout
        assert spool_temps(small) == []
    finally:
        small.close()
