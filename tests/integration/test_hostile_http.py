"""test_hostile_http.py: bad HTTP requests, one table (docs/security.md).

Each row is one request and the status it must get.  After each row the
test checks that the answer is an RFC 9457 problem (Content-Type
application/problem+json; type, title, status, detail), that the server
still answers GET /api/health with 200, and that nothing was written: the
row counts of jobs, job_events, job_rejects and trips and the names in the
spool directory are what they were before the row.

Rows are sent three ways: through http.client (stack.http) when it can
say it; on a raw socket when it cannot (overlong request lines and
headers, lying or contradictory lengths, broken request lines); and
straight to the FastCGI socket with cgi-fcgi (libfcgi-bin) for what nginx
would never pass on (a body shorter or longer than its CONTENT_LENGTH),
so the program's own checks are tested too.  The table runs on a stack of
its own without runners, so whatever changes was changed by a request.

SQL injection strings go into every parameter the API has; where the
parameter is typed they are refused, where it is free text (a file name)
they must be stored as they are: test_sql_injection_is_data.
"""
import json
import os
import shutil
import socket
import subprocess
import urllib.parse
import uuid

import harness

HEADER = b"region,origin_coord,destination_coord,datetime,datasource"
GOOD = (b"Prague,POINT (14.4973794438195 50.00136875782316),"
        b"POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,funny_car")
SQLI = ("1' OR '1'='1", "1; DROP TABLE tripline.trips; --", "1 UNION SELECT token FROM x",
        "$1", "'); COPY tripline.jobs FROM PROGRAM 'id'; --")
PROBLEM = "application/problem+json"
TOKEN = "\x00token\x00"         # replaced by the stack's token in headers and raw bytes


# -- sending -----------------------------------------------------------------

class Raw:
    """A reply read from a socket: status, lower-case headers, body."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%s %s %r>" % (self.status, self.headers.get("content-type"), self.body[:300])


def read_reply(sock, timeout=20):
    """Read one HTTP/1.1 reply: head, then Content-Length or chunked body
    (not to the end of the connection: nginx lingers after a 413)."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise AssertionError("connection closed before a reply: %r" % buf[:200])
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()

    def more():
        d = sock.recv(65536)
        if not d:
            raise AssertionError("connection closed in the body")
        return d
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            rest += more()
        return Raw(status, headers, rest[:n])
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += more()
            size, _, rest = rest.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            while len(rest) < n + 2:
                rest += more()
            body, rest = body + rest[:n], rest[n + 2:]
            if n == 0:
                return Raw(status, headers, body)
    return Raw(status, headers, b"")


def raw_request(stack, data, timeout=20):
    """Send bytes as they are to nginx; return the reply."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=timeout) as s:
        s.sendall(data)
        return read_reply(s, timeout)


def fcgi_request(stack, params, body):
    """One request straight to the program's FastCGI socket (cgi-fcgi)."""
    env = {"PATH": os.environ["PATH"], "GATEWAY_INTERFACE": "CGI/1.1"}
    env.update(params)
    r = subprocess.run(["cgi-fcgi", "-bind", "-connect",
                        os.path.join(stack.var, "run", "cgi.sock")],
                       input=body, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    head, _, rest = r.stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "0 none").split()[0])
    return Raw(status, headers, rest)


# -- the table ---------------------------------------------------------------

class Row:
    """kind: http (method, path, headers, body), raw (bytes in body) or
    fcgi (FastCGI params in headers, stdin in body)."""

    def __init__(self, name, kind, method, path, headers, body, status, detail=None):
        self.name, self.kind, self.method, self.path = name, kind, method, path
        self.headers, self.body, self.status, self.detail = headers or {}, body, status, detail


def H(**kw):
    """Headers: Authorization carries the stack's token unless given."""
    h = {"Authorization": "Bearer " + TOKEN}
    for k, v in kw.items():
        h[k.replace("_", "-")] = v
    return {k: v for k, v in h.items() if v is not None}


def raw(line, *headers, body=b""):
    """Raw request bytes: request line, headers, Connection: close."""
    head = [line.encode() if isinstance(line, str) else line, b"Host: 127.0.0.1"]
    head += [h.encode() if isinstance(h, str) else h for h in headers]
    head.append(b"Connection: close")
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def multipart(parts, boundary=None):
    boundary = boundary or "----h" + uuid.uuid4().hex
    out = b""
    for head, body in parts:
        out += ("--%s\r\n%s\r\n\r\n" % (boundary, head)).encode() + body + b"\r\n"
    return "multipart/form-data; boundary=" + boundary, out + ("--%s--\r\n" % boundary).encode()


def file_part(filename="t.csv", name="file"):
    return 'Content-Disposition: form-data; name="%s"; filename="%s"' % (name, filename)


def rows(fx):
    """The table.  fx names fixtures made in the inbox before the rows run."""
    csv = HEADER + b"\n" + GOOD + b"\n"
    jpost = lambda obj: obj if isinstance(obj, bytes) else json.dumps(obj).encode()  # noqa: E731
    J = "application/json"
    mp_ct, mp_body = multipart([(file_part(), csv)])
    t = []

    def add(*a, **kw):
        t.append(Row(*a, **kw))

    # -- bodies over the limit (413) -----------------------------------------
    add("declared length over TRIPLINE_MAX_UPLOAD", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN,
            "Content-Type: text/csv", "Content-Length: 5000000000"), 413,
        "the body is over the limit of ")
    add("body on a route that takes none (64 KiB)", "raw", None, None, None,
        raw("POST /api/jobs/1/cancel HTTP/1.1", "Authorization: Bearer " + TOKEN,
            "Content-Length: 70000"), 413, "the body is over the limit of 65536 bytes")
    add("json body over 4 KiB", "http", "POST", "/api/jobs", H(Content_Type=J),
        jpost({"path": "a" * 5000}), 413, "4096")
    # -- content types (415) ----------------------------------------------------
    add("text/plain", "http", "POST", "/api/jobs", H(Content_Type="text/plain"), csv, 415,
        "text/plain")
    add("no content type", "http", "POST", "/api/jobs", H(), csv, 415, "content-type")
    add("form-urlencoded", "http", "POST", "/api/jobs",
        H(Content_Type="application/x-www-form-urlencoded"), b"path=a.csv", 415)
    add("content type that only starts like csv", "http", "POST", "/api/jobs",
        H(Content_Type="text/csv2"), csv, 415)
    add("content type of 8 KiB", "http", "POST", "/api/jobs",
        H(Content_Type="x/" + "y" * 8192), csv, 415)
    # -- broken multipart (400) -------------------------------------------------
    add("multipart without boundary", "http", "POST", "/api/jobs",
        H(Content_Type="multipart/form-data"), mp_body, 400, "boundary")
    add("multipart boundary of 71 characters", "http", "POST", "/api/jobs",
        H(Content_Type="multipart/form-data; boundary=" + "b" * 71), mp_body, 400, "boundary")
    add("multipart cut before the close delimiter", "http", "POST", "/api/jobs",
        H(Content_Type=mp_ct), mp_body[:-20], 400, "unterminated")
    add("multipart body under another boundary", "http", "POST", "/api/jobs",
        H(Content_Type="multipart/form-data; boundary=other"), mp_body, 400)
    ct, body = multipart([('Content-Disposition: form-data; name="note"', csv)])
    add("multipart without a file part", "http", "POST", "/api/jobs", H(Content_Type=ct),
        body, 400, 'no part named "file"')
    ct, body = multipart([(file_part(), csv), (file_part(), csv)])
    add("multipart with two file parts", "http", "POST", "/api/jobs", H(Content_Type=ct),
        body, 400, "more than one")
    ct, body = multipart([(file_part() + "\r\nX-Pad: " + "p" * 9000, csv)])
    add("multipart part headers over 8 KiB", "http", "POST", "/api/jobs", H(Content_Type=ct),
        body, 400, "8192")
    ct, body = multipart([(file_part(), csv)])
    add("multipart part header ended by a bare LF", "http", "POST", "/api/jobs",
        H(Content_Type=ct), body.replace(b'filename="t.csv"\r\n', b'filename="t.csv"\n', 1),
        400)
    ct, body = multipart([(file_part(), b"")])
    add("multipart with an empty file", "http", "POST", "/api/jobs", H(Content_Type=ct),
        body, 400, "empty file")
    add("raw upload with an empty body", "http", "POST", "/api/jobs",
        H(Content_Type="text/csv"), b"", 400, "empty file")
    # -- broken JSON (400) ------------------------------------------------------
    for name, body in (("truncated", b'{"path": "a.csv"'),
                       ("single quotes", b"{'path': 'a.csv'}"),
                       ("trailing comma", b'{"path": "a.csv",}'),
                       ("data after the value", b'{"path": "a.csv"} {}'),
                       ("invalid UTF-8", b'{"path": "\xff.csv"}'),
                       ("an array", b'["a.csv"]'),
                       ("nested too deep", b'{"path": {"a": {"b": {"c": [1]}}}}'),
                       ("path not a string", b'{"path": 7}'),
                       ("unknown member", b'{"path": "a.csv", "owner": "root"}'),
                       ("no path", b"{}"),
                       ("whitespace only", b"  \n")):
        add("json: " + name, "http", "POST", "/api/jobs", H(Content_Type=J), body, 400)
    # A byte order mark before the JSON is ignored (RFC 8259 section 8.1):
    # the path is read, and this one is no file of the inbox.
    add("json: byte order mark", "http", "POST", "/api/jobs", H(Content_Type=J),
        b'\xef\xbb\xbf{"path": "no-such-file.csv"}', 404, "no such file in the inbox")
    # -- the inbox path ---------------------------------------------------------
    for name, path, status in (
            ("../ out of the inbox", "../env", 403),
            ("../ after a directory", fx["dir"] + "/../../env", 403),
            ("absolute path", "/etc/passwd", 403),
            ("absolute path to the inbox itself", fx["inbox_abs"] + "/" + fx["good"], 403),
            ("/proc magic link", "/proc/self/root/etc/passwd", 403),
            ("symlink out (absolute)", fx["link_abs"], 403),
            ("symlink out (relative)", fx["link_rel"], 403),
            ("symlink to a directory out", fx["link_dir"] + "/passwd", 403),
            ("symlink to a device", fx["link_dev"], 403),
            ("symlink loop", fx["loop"], 400),
            ("a directory", fx["dir"], 400),
            ("a FIFO", fx["fifo"], 400),
            ("empty path", "", 400),
            ("NUL in the path", "a\u0000b.csv", 400),
            ("path over 1 KiB", "a" * 1100, 400),
            ("percent-encoded ../ is a name", "..%2Fenv", 404),
            ("no such file", "missing-%s.csv" % uuid.uuid4().hex, 404)):
        add("inbox: " + name, "http", "POST", "/api/jobs", H(Content_Type=J),
            jpost({"path": path}), status)
    # -- ids -----------------------------------------------------------------------
    for bad in ("0", "-1", "2147483648", "99999999999999999999999", "1e3", "0x10", "%201",
                "+1", "1.0", "%00"):
        # nginx itself refuses a decoded NUL in the path (400).
        add("job id " + bad, "http", "GET", "/api/jobs/" + bad, {}, None,
            400 if bad == "%00" else 404)
    add("cancel of id 0", "http", "POST", "/api/jobs/0/cancel", H(), b"", 404)
    add("cancel of an id over 2^31", "http", "POST", "/api/jobs/4294967297/cancel", H(), b"",
        404)
    add("rejects of an id over 2^63", "http", "GET", "/api/jobs/9223372036854775808/rejects",
        {}, None, 404)
    add("events of id 0", "http", "GET", "/api/jobs/0/events", {}, None, 404)
    add("limit over 2^63", "http", "GET", "/api/jobs?limit=9223372036854775808", {}, None,
        400, "limit")
    add("after_line over 2^63", "http", "GET",
        "/api/jobs/1/rejects?after_line=99999999999999999999", {}, None, 400)
    # -- SQL injection in every parameter -------------------------------------
    for i, s in enumerate(SQLI):
        q = s.replace("%", "%25").replace(" ", "%20").replace("'", "%27").replace(";", "%3B") \
            .replace("&", "%26").replace("=", "%3D").replace("$", "%24")
        add("sql in limit #%d" % i, "http", "GET", "/api/jobs?limit=" + q, {}, None, 400,
            "limit")
        add("sql in before #%d" % i, "http", "GET", "/api/jobs?before=" + q, {}, None, 400)
        add("sql in after_line #%d" % i, "http", "GET", "/api/jobs/1/rejects?after_line=" + q,
            {}, None, 400)
        add("sql in the job id #%d" % i, "http", "GET", "/api/jobs/" + q, {}, None, 404)
        add("sql in a parameter name #%d" % i, "http", "GET", "/api/jobs?" + q + "=1", {},
            None, 400)
        add("sql in Last-Event-ID #%d" % i, "http", "GET", "/api/events",
            {"Last-Event-ID": s}, None, 400, "Last-Event-ID")
        add("sql in the token #%d" % i, "http", "POST", "/api/jobs",
            H(Authorization="Bearer " + s, Content_Type="text/csv"), csv, 401)
        add("sql in the inbox path #%d" % i, "http", "POST", "/api/jobs", H(Content_Type=J),
            jpost({"path": s}), 404)
    # The reports: free-text names are looked up (404), the rest refused.
    for i, s in enumerate(SQLI):
        q = urllib.parse.quote(s, safe="")
        for path, status in (("weekly-average?region=" + q, 404),
                             ("weekly-average?bbox=" + q, 400),
                             ("weekly-average?bbox=1,2,3,4&match=" + q, 400),
                             ("weekly-average?region=Prague&from=" + q, 400),
                             ("weekly-average?region=Prague&to=" + q, 400),
                             ("trip-groups?bbox=" + q, 400),
                             ("trip-groups?region=Prague&min_trips=" + q, 400),
                             ("trip-groups?region=Prague&limit=" + q, 400),
                             ("trip-groups?region=Prague&format=" + q, 400),
                             ("latest-datasource?top=" + q, 400),
                             ("datasource-regions?datasource=" + q, 404)):
            add("sql in report %s #%d" % (path.split("=")[0], i), "http", "GET",
                "/api/reports/" + path, {}, None, status)
    for bbox in ("nan,nan,nan,nan", "1,2,3", "1,2,3,4,5", "1e999,0,1,1", "0x1,0,1,1",
                 "-181,0,1,1", "0,-91,1,1", "1,1,0,0", ",,,", "1;2;3;4"):
        add("bbox %s" % bbox, "http", "GET",
            "/api/reports/weekly-average?bbox=" + urllib.parse.quote(bbox, safe=","), {}, None,
            400, "bbox")
    add("sql in a json member name", "http", "POST", "/api/jobs", H(Content_Type=J),
        jpost({SQLI[1]: "a.csv"}), 400, "unknown member")
    add("sql in the content type", "http", "POST", "/api/jobs",
        H(Content_Type="text/csv'; DROP TABLE tripline.jobs; --x"), csv, 415)
    # -- overlong URL and headers (raw: http.client sends them, but this is
    #    what a client that means harm sends) ---------------------------------
    add("URL of 20 KiB", "raw", None, None, None,
        raw("GET /api/jobs?limit=" + "1" * 20000 + " HTTP/1.1"), 414)
    add("query string of 4 KiB (program limit 2 KiB)", "http", "GET",
        "/api/jobs?limit=" + "1" * 4096, {}, None, 400, "2048")
    add("one header of 20 KiB", "raw", None, None, None,
        raw("GET /api/jobs HTTP/1.1", "X-Big: " + "h" * 20000), 431)
    add("80 KiB of headers", "raw", None, None, None,
        raw("GET /api/jobs HTTP/1.1", *["X-H%d: %s" % (i, "h" * 10000) for i in range(8)]), 431)
    add("token header of 20 KiB", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + "t" * 20000,
            "Content-Type: text/csv", "Content-Length: 3", body=b"a\nb"), 431)
    # -- lengths: contradictory, unparsable, lying -----------------------------
    add("Content-Length and Transfer-Encoding", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Content-Length: 5", "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n"),
        400)
    add("two Content-Lengths", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Content-Length: 3", "Content-Length: 4", body=b"a\nb"), 400)
    add("Content-Length of 23 digits", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Content-Length: 99999999999999999999999"), 400)
    add("negative Content-Length", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Content-Length: -1"), 400)
    add("broken chunk size", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Transfer-Encoding: chunked", body=b"zz\r\nhello\r\n0\r\n\r\n"), 400)
    add("unknown Transfer-Encoding", "raw", None, None, None,
        raw("POST /api/jobs HTTP/1.1", "Authorization: Bearer " + TOKEN, "Content-Type: text/csv",
            "Transfer-Encoding: gzip"), 501)
    add("body shorter than CONTENT_LENGTH (program)", "fcgi", None, None,
        {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs", "CONTENT_TYPE": "text/csv",
         "CONTENT_LENGTH": "100000", "HTTP_AUTHORIZATION": "Bearer " + TOKEN}, csv, 400,
        "ended after")
    add("body longer than CONTENT_LENGTH (program)", "fcgi", None, None,
        {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs", "CONTENT_TYPE": "text/csv",
         "CONTENT_LENGTH": "10", "HTTP_AUTHORIZATION": "Bearer " + TOKEN}, csv, 400,
        "ended after")
    add("multipart shorter than CONTENT_LENGTH (program)", "fcgi", None, None,
        {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs", "CONTENT_TYPE": mp_ct,
         "CONTENT_LENGTH": str(len(mp_body) + 1), "HTTP_AUTHORIZATION": "Bearer " + TOKEN},
        mp_body, 400)
    add("json shorter than CONTENT_LENGTH (program)", "fcgi", None, None,
        {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs", "CONTENT_TYPE": J,
         "CONTENT_LENGTH": "4000", "HTTP_AUTHORIZATION": "Bearer " + TOKEN},
        jpost({"path": fx["good"]}), 400, "ended after")
    add("no REQUEST_METHOD (program)", "fcgi", None, None,
        {"DOCUMENT_URI": "/api/jobs"}, b"", 405)
    add("dot segments in DOCUMENT_URI (program)", "fcgi", None, None,
        {"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/api/jobs/../../../etc/passwd"}, b"", 404)
    # -- broken request lines ---------------------------------------------------
    add("garbage request line", "raw", None, None, None, b"GARBAGE\r\n\r\n", 400)
    add("HTTP/2.0 on an HTTP/1 port", "raw", None, None, None,
        raw("GET /api/jobs HTTP/2.0"), 505)
    add("path above the root", "raw", None, None, None,
        raw("GET /api/../../etc/passwd HTTP/1.1"), 400)
    add("control character in the path", "raw", None, None, None,
        raw(b"GET /api/jobs\x01 HTTP/1.1"), 400)
    # -- auth ------------------------------------------------------------------
    add("submit without a token", "http", "POST", "/api/jobs",
        {"Content-Type": "text/csv"}, csv, 401, "token")
    add("submit with a Basic credential", "http", "POST", "/api/jobs",
        H(Authorization="Basic " + TOKEN, Content_Type="text/csv"), csv, 401)
    add("cancel without a token", "http", "POST", "/api/jobs/1/cancel", {}, b"", 401)
    # -- unknown routes and methods ---------------------------------------------
    for method, path, status in (("GET", "/api/nothing", 404), ("GET", "/api", 404),
                                 ("GET", "/api/jobs/1/nothing", 404),
                                 ("GET", "/.problem/400", 404),
                                 ("GET", "/etc/passwd", 404),
                                 ("DELETE", "/api/jobs/1", 405), ("PUT", "/api/jobs", 405),
                                 ("PATCH", "/api/jobs/1", 405), ("OPTIONS", "/api/jobs", 405),
                                 ("TRACE", "/api/jobs", 405), ("PROPFIND", "/api/jobs", 405),
                                 ("GET", "/api/jobs/1/cancel", 405),
                                 ("POST", "/api/health", 405), ("POST", "/api/events", 405)):
        add("%s %s" % (method, path), "http", method, path,
            H() if method == "POST" else {}, b"" if method in ("POST", "PUT", "PATCH") else None,
            status)
    return t


# -- fixtures and checks -----------------------------------------------------

def make_fixtures(stack):
    inbox = os.path.join(stack.var, "inbox")
    u = uuid.uuid4().hex[:12]
    fx = {"inbox_abs": os.path.realpath(inbox)}
    outside = os.path.join(stack.var, "outside-%s.csv" % u)
    with open(outside, "wb") as f:
        f.write(HEADER + b"\n" + GOOD + b"\n")
    fx["good"] = "good-%s.csv" % u
    stack.write_inbox(fx["good"], HEADER + b"\n" + GOOD + b",%s\n" % u.encode())
    links = {"link_abs": outside, "link_rel": "../" + os.path.basename(outside),
             "link_dir": "/etc", "link_dev": "/dev/zero"}
    for k, target in links.items():
        fx[k] = "%s-%s" % (k, u)
        os.symlink(target, os.path.join(inbox, fx[k]))
    fx["loop"] = "loop-a-" + u
    os.symlink("loop-b-" + u, os.path.join(inbox, fx["loop"]))
    os.symlink(fx["loop"], os.path.join(inbox, "loop-b-" + u))
    fx["dir"] = "dir-" + u
    os.mkdir(os.path.join(inbox, fx["dir"]))
    fx["fifo"] = "fifo-" + u
    os.mkfifo(os.path.join(inbox, fx["fifo"]))
    return fx


def written(stack):
    """What a request must not change: row counts and spool names."""
    counts = stack.psql("SELECT (SELECT count(*) FROM tripline.jobs), "
                        "(SELECT count(*) FROM tripline.job_events), "
                        "(SELECT count(*) FROM tripline.job_rejects), "
                        "(SELECT count(*) FROM tripline.trips)")[0]
    spool = sorted(os.listdir(os.path.join(stack.var, "spool")))
    return {"jobs": counts[0], "job_events": counts[1], "job_rejects": counts[2],
            "trips": counts[3], "spool": spool}


def send(stack, row):
    tok = stack.token
    if row.kind == "raw":
        return raw_request(stack, row.body.replace(TOKEN.encode(), tok.encode()))
    headers = {k: v.replace(TOKEN, tok) for k, v in row.headers.items()}
    if row.kind == "fcgi":
        return fcgi_request(stack, headers, row.body)
    return stack.http(row.method, row.path, row.body, headers)


def check_problem(row, r):
    assert r.status == row.status, "%s: want %d, got %r" % (row.name, row.status, r)
    ctype = r.headers.get("content-type", "")
    assert ctype == PROBLEM, "%s: content type %r" % (row.name, ctype)
    p = r.json()
    assert p.get("type") == "about:blank" and p.get("status") == row.status, (row.name, p)
    assert isinstance(p.get("title"), str) and p["title"], (row.name, p)
    assert isinstance(p.get("detail"), str) and p["detail"], (row.name, p)
    if row.detail is not None:
        assert row.detail in p["detail"], (row.name, row.detail, p)
    assert stack_token_absent(p), (row.name, p)


_token = [None]


def stack_token_absent(p):
    return _token[0] is None or _token[0] not in json.dumps(p)


# -- tests -------------------------------------------------------------------

def test_hostile_requests(shared):
    """On a stack of its own without runners: nothing but the requests
    can write, and the counts are cheap to take after every row."""
    if shutil.which("cgi-fcgi") is None:
        raise harness.Skip("cgi-fcgi (libfcgi-bin) absent")
    stack = harness.Stack(runners=0)
    failures = []
    try:
        fx = make_fixtures(stack)
        table = rows(fx)
        assert len(table) >= 40, len(table)
        _token[0] = stack.token
        # One job, so ids and cancels have something real next to them.
        r = stack.upload(HEADER + b"\n" + GOOD + b"\n", kind="raw", filename="real.csv")
        assert r.status == 202, r
        before = written(stack)
        for row in table:
            try:
                r = send(stack, row)
                check_problem(row, r)
                h = stack.http("GET", "/api/health")
                assert h.status == 200, "%s: health after it: %r" % (row.name, h)
                now = written(stack)
                assert now == before, "%s: something was written: %r -> %r" % (
                    row.name, before, now)
            except Exception as e:          # collect, so one run shows every bad row
                failures.append("%s: %s" % (row.name, e))
                before = written(stack)
        sanitizers = stack.sanitizer_reports()
    finally:
        _token[0] = None
        stack.close()
    print("hostile http: %d requests, %d failed" % (len(table), len(failures)))
    assert not failures, "\n".join(failures)
    assert not sanitizers, "\n".join(sanitizers)[:20000]


def test_sql_injection_is_data(stack):
    """Free text (the file name of an upload) holding SQL is stored as it
    is, and the tables are all still there."""
    u = uuid.uuid4().hex
    data = HEADER + b",tag\n" + GOOD + b"," + u.encode() + b"\n"
    name = "x'); DROP TABLE tripline.trips; --.csv"
    r = stack.upload(data, kind="multipart", filename=name)
    assert r.status == 202, r
    assert r.json()["filename"] == name, r.json()
    q = "a%27%3B%20DELETE%20FROM%20tripline.jobs%3B%20--.csv"
    r2 = stack.http("POST", "/api/jobs?filename=" + q, data.replace(u.encode(), u[::-1].encode()),
                    stack.auth({"Content-Type": "text/csv"}))
    assert r2.status == 202, r2
    assert r2.json()["filename"] == "a'; DELETE FROM tripline.jobs; --.csv", r2.json()
    for j in (r.json()["id"], r2.json()["id"]):
        assert stack.wait_job(j)["state"] == "succeeded"
    stored = stack.psql("SELECT filename FROM tripline.jobs WHERE id IN (%d, %d) ORDER BY id"
                        % (r.json()["id"], r2.json()["id"]))
    assert stored == [(name,), ("a'; DELETE FROM tripline.jobs; --.csv",)], stored
    tables = stack.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'tripline' AND "
                        "tablename IN ('jobs', 'job_events', 'job_rejects', 'trips')")
    assert tables == [("4",)], tables
    assert int(stack.scalar("SELECT count(*) FROM tripline.trips WHERE job_id = %d"
                            % r.json()["id"])) == 1
