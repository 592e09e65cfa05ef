"""test_api_params.py: what a client that gets a parameter wrong is told.

Every 400 is an RFC 9457 problem whose invalid_params names the parameter
and says, in a reason that stands on its own, what is wrong with it; the
detail quotes the value.  Each test here failed before the fix it came
with (the audit of the HTTP API, branch audit-api).
"""

PROBLEM = "application/problem+json"


def bad(r, name, reason, quoted=None):
    """r is a 400 problem naming name with exactly reason."""
    assert r.status == 400, r
    assert r.headers.get("content-type") == PROBLEM, r
    p = r.json()
    assert p["status"] == 400 and p["title"] == "Bad Request", p
    assert p.get("invalid_params") == [{"name": name, "reason": reason}], p
    if quoted is not None:
        assert '"%s"' % quoted in p["detail"], p
    return p


def test_health_refuses_parameters(stack):
    """GET /api/health takes no parameter, and says so as every other
    route that takes none does (it answered 200 whatever the query)."""
    bad(stack.http("GET", "/api/health?verbose=1"), "verbose", "unknown parameter")
    r = stack.http("GET", "/api/health?")
    assert r.status == 200 and r.json()["database"] == "ok", r


def test_value_encoding_errors_have_a_reason(stack):
    """A malformed escape or a %00 in a value: the reason is a whole
    phrase, not the front of the detail ("... in the value of")."""
    for path, name in (("/api/reports/weekly-average?bbox=1,2,3,4%zz", "bbox"),
                       ("/api/jobs?limit=5%", "limit"),
                       ("/api/reports/datasource-regions?datasource=a%4", "datasource")):
        p = bad(stack.http("GET", path), name, "invalid percent-encoding")
        assert p["detail"].startswith('%s "' % name), p
    bad(stack.http("GET", "/api/reports/datasource-regions?datasource=a%00b"),
        "datasource", "contains a nul byte", "a%00b")


def test_last_event_id_header_is_named(stack):
    """A malformed Last-Event-ID header is a 400 like a malformed
    ?last_event_id=: invalid_params names it (docs/openapi.yaml, BadRequest)."""
    for path in ("/api/events", "/api/jobs/1/events"):
        r = stack.http("GET", path, headers={"Last-Event-ID": "abc"}, timeout=10)
        p = bad(r, "Last-Event-ID", "must be a decimal event id", "abc")
        # As every bad value is told (it said "invalid Last-Event-ID ...").
        assert p["detail"] == 'Last-Event-ID "abc": must be a decimal event id', p


def test_report_values_get_their_domain_reason(stack):
    """A date with a time, or a long enum value, is told what the
    parameter takes, as a short wrong one is, not "longer than N bytes"."""
    date = "must be a date YYYY-MM-DD of the years 1900 to 2100"
    for q, name, reason, value in (
            ("region=Prague&from=2018-05-01T00:00:00Z", "from", date, "2018-05-01T00:00:00Z"),
            ("region=Prague&to=2018-05-01 00:00", "to", date, "2018-05-01 00:00"),
            ("region=Prague&from=2018-5-1", "from", date, "2018-5-1"),
            ("bbox=1,2,3,4&match=origin_and_destination", "match",
             "must be origin, destination, both or either", "origin_and_destination")):
        path = "/api/reports/weekly-average?" + q.replace(" ", "+")
        bad(stack.http("GET", path), name, reason, value)
    bad(stack.http("GET", "/api/reports/trip-groups?format=application/geo%2Bjson"),
        "format", "must be json or geojson", "application/geo+json")


def test_bbox_with_spaces_says_so(stack):
    """A bbox with a space after a comma (as "14.35, 50.0" is often
    written; "+" is a space in a query) is refused, and the reason names
    the spaces, which the quoted value hardly shows (docs/reports.md)."""
    reason = "must be four numbers separated by commas, without spaces"
    for q, value in (("14.35,%2050.0,14.55,50.12", "14.35, 50.0,14.55,50.12"),
                     ("14.35,+50.0,14.55,50.12", "14.35, 50.0,14.55,50.12"),
                     ("%0914.35,50.0,14.55,50.12", None)):
        for report in ("weekly-average", "trip-groups"):
            bad(stack.http("GET", "/api/reports/%s?bbox=%s" % (report, q)), "bbox",
                reason, value)
    # Without them, the same box is answered.
    r = stack.http("GET", "/api/reports/weekly-average?bbox=14.35,50.0,14.55,50.12")
    assert r.status == 200, r


def test_not_found_names_the_parameter(stack):
    """A region, datasource or inbox path that names nothing: the 404 (or
    403) says which parameter, as a 400 does."""
    for path, name in (("/api/reports/weekly-average?region=Nowhere", "region"),
                       ("/api/reports/trip-groups?region=Nowhere", "region"),
                       ("/api/reports/datasource-regions?datasource=nobody", "datasource")):
        r = stack.http("GET", path)
        assert r.status == 404 and r.headers.get("content-type") == PROBLEM, r
        assert r.json()["invalid_params"] == [{"name": name, "reason": "no such " + name}], r
    # A quote or backslash in the name is escaped, as psql's message has it
    # (to_json): it read 'datasource "d"s\x" not found'.
    r = stack.http("GET", "/api/reports/datasource-regions?datasource=d%22s%5Cx")
    assert r.status == 404 and r.json()["detail"] == 'datasource "d\\"s\\\\x" not found', r
    for body, status, reason in (('{"path": "no-such-file.csv"}', 404, "no such file in the inbox"),
                                 ('{"path": "../outside.csv"}', 403, "outside the inbox")):
        r = stack.http("POST", "/api/jobs", body.encode(),
                       stack.auth({"Content-Type": "application/json"}))
        assert r.status == status and r.headers.get("content-type") == PROBLEM, r
        assert r.json()["invalid_params"] == [{"name": "path", "reason": reason}], r


def test_nginx_405_has_allow(stack):
    """The 405s nginx answers itself (TRACE anywhere, PUT on the page)
    carry Allow as the program's do (RFC 9110 section 15.5.6)."""
    for method, path, allow in (("TRACE", "/api/jobs", "GET, HEAD, POST"),
                                ("TRACE", "/api/jobs?limit=1", "GET, HEAD, POST"),
                                ("TRACE", "/api/jobs/1/cancel", "POST"),
                                ("TRACE", "/api//jobs", "GET, HEAD, POST"),
                                ("TRACE", "//api/jobs//1/cancel", "POST"),
                                ("TRACE", "/api/reports/trip-groups", "GET, HEAD"),
                                ("PUT", "/", "GET, HEAD"),
                                ("POST", "/index.html", "GET, HEAD")):
        r = stack.http(method, path, b"" if method in ("PUT", "POST") else None, {})
        assert r.status == 405 and r.headers.get("content-type") == PROBLEM, (method, path, r)
        assert r.headers.get("allow") == allow, (method, path, r.headers)
    # The program's own, for comparison.
    r = stack.http("DELETE", "/api/jobs")
    assert r.status == 405 and r.headers.get("allow") == "GET, HEAD, POST", r.headers


def test_nginx_412_416_are_problems(stack):
    """A failed precondition or an unsatisfiable range on the page is an
    RFC 9457 problem like every other error nginx answers, not HTML."""
    for headers, status in (({"If-Match": '"nope"'}, 412),
                            ({"Range": "bytes=99999999-"}, 416)):
        r = stack.http("GET", "/index.html", None, headers)
        assert r.status == status and r.headers.get("content-type") == PROBLEM, (headers, r)
        assert r.json()["status"] == status, r


def test_long_unknown_parameter_is_named(stack):
    """An unknown parameter is named in invalid_params however long its
    name (cut as the detail cuts it), and decoded as a short one is."""
    p = bad(stack.http("GET", "/api/jobs?" + "x" * 60 + "=1"), "x" * 48 + "...",
            "unknown parameter")
    assert p["detail"] == 'unknown parameter "%s..."' % ("x" * 48), p
    bad(stack.http("GET", "/api/reports/trip-groups?" + "%C3%A9" * 9 + "=1"), "\u00e9" * 9,
        "unknown parameter")


def test_inbox_body_duplicate_path(stack):
    """{"path": a, "path": b} is refused naming "path", as a parameter
    given twice is; json-c alone kept the last and queued b."""
    stack.write_inbox("dup_first.csv", b"region,origin_coord,destination_coord,datetime,"
                      b"datasource\nOslo,POINT (10.75 59.91),POINT (10.76 59.92),"
                      b"2018-05-02 10:00:00,dup_first\n")
    h = stack.auth({"Content-Type": "application/json"})
    for body in ('{"path": "no-such.csv", "path": "dup_first.csv"}',
                 '{"path":"dup_first.csv" , "path" :"dup_first.csv"}'):
        r = stack.http("POST", "/api/jobs", body.encode(), h)
        bad(r, "path", "duplicate member")
    # A quote and a colon inside the string are not a second member.
    for body in ('{"path": "no\\":such.csv"}', '{ "path" : "no:such.csv" }'):
        r = stack.http("POST", "/api/jobs", body.encode(), h)
        assert r.status == 404, (body, r)


def test_nginx_503_says_when_to_retry(stack):
    """With the FastCGI program down, nginx's 503 carries Retry-After as
    the program's 503s do (docs/openapi.yaml, Unavailable)."""
    stack.kill("cgi")
    try:
        r = stack.http("GET", "/api/jobs", timeout=10)
        assert r.status == 503 and r.headers.get("content-type") == PROBLEM, r
        assert r.headers.get("retry-after") == "5", r.headers
    finally:
        stack.restart_cgi()
    assert stack.http("GET", "/api/health").status == 200
