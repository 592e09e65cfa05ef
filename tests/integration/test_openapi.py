"""test_openapi.py: docs/openapi.yaml stays true.

Every documented path and method answers on the real stack with a
documented status and content type, and the router's table (cgi/router.c)
has no route the document leaves out.  The paths are read with a small
line parser (the file's own layout: two-space indented paths, four-space
methods), so no YAML package is needed; when PyYAML is there the whole
document is parsed too.
"""
import http.client
import json
import os
import re

import harness

ROOT = harness.ROOT
SPEC = os.path.join(ROOT, "docs", "openapi.yaml")
ROUTER = os.path.join(ROOT, "cgi", "router.c")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def documented():
    """{(METHOD, path): [status, ...]} from the paths section."""
    ops, path, method, in_paths, in_responses = {}, None, None, False, False
    with open(SPEC) as f:
        for line in f:
            if re.match(r"^\S", line):
                in_paths = line.startswith("paths:")
                continue
            if not in_paths:
                continue
            m = re.match(r"^  (/\S*):\s*$", line)
            if m:
                path, method = m.group(1), None
                continue
            m = re.match(r"^    (%s):\s*$" % "|".join(METHODS), line)
            if m and path:
                method = m.group(1).upper()
                ops[(method, path)] = []
                in_responses = False
                continue
            if method and re.match(r"^      responses:\s*$", line):
                in_responses = True
                continue
            m = re.match(r'^        "(\d{3})":', line)
            if method and in_responses and m:
                ops[(method, path)].append(int(m.group(1)))
    return ops


def routed():
    """{(METHOD, pattern)} from the router's table."""
    with open(ROUTER) as f:
        text = f.read()
    return {(m.group(1), m.group(2)) for m in
            re.finditer(r'\{\s*HTTP_([A-Z]+),\s*"(/api/[^"]*)"', text)}


def test_spec_parses(stack=None):
    ops = documented()
    assert len(ops) >= 12, ops
    for op, statuses in ops.items():
        assert statuses, "%s %s documents no response" % op
    doc = load_doc()
    assert doc["openapi"].startswith("3.")
    assert {(m.upper(), p) for p, item in doc["paths"].items() for m in item
            if m in METHODS} == set(ops)
    # Every $ref points at something.
    text = json.dumps(doc)
    for ref in set(re.findall(r'"\$ref": "(#/[^"]+)"', text)):
        resolve(doc, {"$ref": ref})


def test_router_routes_are_documented(stack):
    ops = set(documented())
    missing = routed() - ops
    assert not missing, "routes missing from docs/openapi.yaml: %r" % sorted(missing)


def load_doc():
    import yaml         # python3-yaml (scripts/install-deps.sh test)
    with open(SPEC) as f:
        return yaml.safe_load(f)


def resolve(doc, node):
    """node, or what its $ref ("#/a/b") names, in turn."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


JSON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
              "null": type(None)}


def conforms(doc, schema, value, where="$"):
    """What in value differs from schema, as a list of "where: what": the
    JSON Schema this document uses ($ref, type, a list of types with
    "null", enum, const, required, properties, items, minItems, maxItems,
    oneOf), and stricter in one way: a property the schema does not name
    is a difference, so that no answered field goes undocumented."""
    schema = resolve(doc, schema)
    if "oneOf" in schema:
        fits = [o for o in schema["oneOf"] if not conforms(doc, o, value, where)]
        return [] if len(fits) == 1 else ["%s: fits %d of oneOf" % (where, len(fits))]
    out = []
    types = schema.get("type")
    if types is not None:
        types = types if isinstance(types, list) else [types]
        ok = False
        for t in types:
            if t == "integer":
                ok |= isinstance(value, int) and not isinstance(value, bool)
            elif t == "number":
                ok |= isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                ok |= isinstance(value, JSON_TYPES[t])
        if not ok:
            return ["%s: %r is not %s" % (where, value, "/".join(types))]
    if "enum" in schema and value not in schema["enum"]:
        out.append("%s: %r not in %r" % (where, value, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        out.append("%s: %r is not %r" % (where, value, schema["const"]))
    if isinstance(value, dict) and ("properties" in schema or "required" in schema):
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                out.append("%s: no %s" % (where, k))
        for k, v in value.items():
            if k not in props:
                out.append("%s: %s is not documented" % (where, k))
            else:
                out += conforms(doc, props[k], v, "%s.%s" % (where, k))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", len(value)):
            out.append("%s: %d items" % (where, len(value)))
        if "items" in schema:
            for i, v in enumerate(value):
                out += conforms(doc, schema["items"], v, "%s[%d]" % (where, i))
    return out


def answer_schema(doc, method, path, status, ctype):
    """The schema documented for this answer (None: no body documented)."""
    resp = resolve(doc, doc["paths"][path][method.lower()]["responses"][str(status)])
    media = resp.get("content", {}).get(ctype)
    return None if media is None else media["schema"]


def check_answer(doc, method, path, r):
    ctype = r.headers.get("content-type", "")
    schema = answer_schema(doc, method, path, r.status, ctype)
    assert schema is not None, (method, path, r.status, ctype)
    diff = conforms(doc, schema, r.json())
    assert not diff, (method, path, r.status, diff, r)


def open_stream(stack, path, headers=None):
    """Status and content type of a stream, without reading it to the end."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type", "")
    finally:
        conn.close()


def test_every_documented_path_answers(stack):
    ops = documented()
    data = (b"region,origin_coord,destination_coord,datetime,datasource\n"
            b"Oslo,POINT (10.75 59.91),POINT (10.76 59.92),2018-05-02 10:00:00,openapi_probe\n")
    job = stack.load(data + ("Oslo,POINT (10.7 59.9),POINT (10.8 59.95),2018-05-03 11:00:00,"
                             "openapi_probe_%d\n" % os.getpid()).encode(), kind="raw",
                     filename="openapi.csv")
    assert job["state"] == "succeeded", job
    jid = job["id"]
    examples = {
        ("GET", "/api/reports/weekly-average"): "?region=Oslo",
        ("GET", "/api/reports/trip-groups"): "?region=Oslo&min_trips=1",
        ("GET", "/api/reports/datasource-regions"): "?datasource=openapi_probe",
        ("GET", "/api/reports/latest-datasource"): "?top=2",
        ("GET", "/api/jobs"): "?limit=2",
        ("GET", "/api/jobs/{id}/rejects"): "?limit=5",
        ("POST", "/api/jobs"): "?filename=probe.csv",
    }
    doc, answered = load_doc(), 0
    for (method, path), statuses in sorted(ops.items()):
        url = path.replace("{id}", str(jid)) + examples.get((method, path), "")
        if path.endswith("/events"):
            status, ctype = open_stream(stack, url)
            assert status in statuses and status in (200, 204), (url, status, statuses)
            if status == 200:
                assert ctype.startswith("text/event-stream"), (url, ctype)
            continue
        body, headers = None, {}
        if method == "POST":
            headers = stack.auth({"Content-Type": "text/csv"})
            if path == "/api/jobs":
                body = data.replace(b"openapi_probe", b"openapi_post_%d" % os.getpid())
        r = stack.http(method, url, body, headers)
        assert r.status in statuses, "%s %s: %d not in %r: %r" % (method, url, r.status, statuses, r)
        ctype = r.headers.get("content-type", "")
        if r.status >= 400:
            assert ctype == "application/problem+json", (url, r)
        else:
            assert ctype in ("application/json", "application/geo+json"), (url, r)
        check_answer(doc, method, path, r)
        answered += 1
    assert answered >= 10, answered
    # The report routes answer GeoJSON and problems as documented too,
    # and a box's answer, a job's list page and its rejects (a bad row).
    more = [("/api/reports/trip-groups", "?format=geojson&min_trips=1&region=Oslo", 200),
            ("/api/reports/trip-groups", "?bbox=10,59,11,60&min_trips=1", 200),
            ("/api/reports/weekly-average", "?region=Nowhere", 404),
            ("/api/reports/weekly-average", "?bbox=10,59,11,60&match=both", 200),
            ("/api/reports/weekly-average", "?bbox=59,10,60,11", 200),
            ("/api/reports/weekly-average", "?bbox=1,2,3", 400),
            ("/api/reports/datasource-regions", "?datasource=nobody_%d" % os.getpid(), 404),
            ("/api/jobs", "?limit=1", 200),
            ("/api/jobs/{id}/rejects", "", 200)]
    bad = stack.load(data + b"Oslo,POINT (x),POINT (10.8 59.95),2018-05-03 11:00:00,o\n" +
                     data.split(b"\n")[1].replace(b"openapi_probe", b"openapi_bad_%d" % os.getpid()) +
                     b"\n", kind="raw", filename="bad.csv")
    assert bad["state"] == "succeeded" and bad["rows_rejected"] == 1, bad
    for path, query, status in more:
        r = stack.http("GET", path.replace("{id}", str(bad["id"])) + query)
        assert r.status == status, (path, query, r)
        check_answer(doc, "GET", path, r)
    assert "hint" in stack.http("GET", "/api/reports/weekly-average?bbox=59,10,60,11").json()


def job_schema():
    """{property: its lines} of components.schemas.Job, read with the
    file's own layout (four-space schema names, eight-space properties)."""
    props, name, inside = {}, None, False
    with open(SPEC) as f:
        for line in f:
            if re.match(r"^    \S", line):
                inside = line.strip() == "Job:"
                continue
            if not inside:
                continue
            m = re.match(r"^        ([a-z0-9_]+):(.*)$", line)
            if m:
                name = m.group(1)
                props[name] = [m.group(2)]
            elif name and re.match(r"^          ", line):
                props[name].append(line.strip())
    return props


def test_job_schema_is_what_jobs_answer(stack):
    """The Job schema names every field a job answers and no other, and
    its phase names are the ones the database allows and the runner
    writes (028_job_phase.sql, jobs/lease.c)."""
    props = job_schema()
    data = (b"region,origin_coord,destination_coord,datetime,datasource\n"
            b"Oslo,POINT (10.75 59.91),POINT (10.76 59.92),2018-05-02 10:00:00,"
            b"schema_probe_%d\n" % os.getpid())
    job = stack.load(data, kind="raw", filename="schema.csv")
    assert job["state"] == "succeeded", job
    assert set(props) == set(job), (sorted(props), sorted(job))
    enum = re.search(r"enum: \[([^\]]*)\]", " ".join(props["phase"])).group(1)
    phases = [p.strip() for p in enum.split(",") if p.strip() != "null"]
    with open(os.path.join(ROOT, "sql", "migrations", "028_job_phase.sql")) as f:
        check = re.search(r"ALTER TABLE jobs ADD COLUMN phase text\s+CHECK \(phase IN \(([^)]*)\)",
                          f.read()).group(1)
    assert sorted(phases) == sorted(re.findall(r"'([a-z]+)'", check)), (phases, check)
    with open(os.path.join(ROOT, "jobs", "lease.c")) as f:
        names = re.findall(r'^\t"([a-z]+)",\t+/\* LEASE_PHASE_', f.read(), re.M)
    assert sorted(phases) == sorted(names), (phases, names)
    # The counts are said to move while the job runs.
    for k in ("rows_loaded", "rows_rejected", "bytes_read"):
        assert "current while the job runs" in " ".join(props[k]), (k, props[k])


def route_auth():
    """{(METHOD, pattern): auth column} from the router's table."""
    with open(ROUTER) as f:
        text = f.read()
    return {(m.group(1), m.group(2)): m.group(3) for m in
            re.finditer(r'\{\s*HTTP_([A-Z]+),\s*"(/api/[^"]*)",\s*(ROUTE_[A-Z]+)', text)}


def test_error_statuses_are_documented(stack):
    """What a client can get besides success is in the document: an
    unknown query parameter (400 naming it, on every route that takes a
    query), 401 on every route the router may ask the token for (reports
    when TRIPLINE_REPORTS_PUBLIC=0), 503 everywhere (every handler reads
    the database), 500 everywhere, 405 with Allow for a method a path
    does not take, and the statuses the upload handler answers."""
    ops, doc = documented(), load_doc()
    auth = route_auth()
    assert auth, "no routes parsed from %s" % ROUTER
    for (method, path), statuses in sorted(ops.items()):
        assert 503 in statuses, (method, path, statuses)
        if auth.get((method, path), "ROUTE_PUBLIC") != "ROUTE_PUBLIC":
            assert 401 in statuses, (method, path, statuses)
        url = path.replace("{id}", "1") + "?no_such_param=1"
        headers = stack.auth({"Content-Type": "text/csv"}) if method == "POST" else {}
        r = stack.http(method, url, b"a\n" if method == "POST" else None, headers,
                       timeout=10)
        assert r.status == 400 and r.status in statuses, (method, url, r, statuses)
        assert r.json()["invalid_params"][0]["name"] == "no_such_param", r
        check_answer(doc, method, path, r)
        assert 500 in statuses, (method, path, statuses)
        # PUT is no route's: the program's 405, naming what the path takes.
        r = stack.http("PUT", path.replace("{id}", "1"), b"", {}, timeout=10)
        assert r.status == 405 and r.status in statuses, (path, r, statuses)
        allow = {m for m, p in ops if p == path} | ({"HEAD"} if ("GET", path) in ops else set())
        assert set(r.headers["allow"].split(", ")) == allow, (path, r.headers, allow)
        check_answer(doc, method, path, r)
    # The upload handler's own statuses.
    with open(os.path.join(ROOT, "cgi", "h_upload.c")) as f:
        text = f.read()
    used = {int(s) for s in re.findall(r'http_problem\(req, (\d{3})', text)}
    used |= {int(s) for s in re.findall(r'\{ (\d{3}), "', text) if s != "0"}
    assert used <= set(ops[("POST", "/api/jobs")]), (used, ops[("POST", "/api/jobs")])


def test_filename_max_length(stack):
    """?filename= up to the documented maxLength is taken (and cut to
    200 bytes as the display name); one byte more is a 400 naming it."""
    with open(SPEC) as f:
        m = re.search(r"- name: filename\n(?:.*\n)*?\s+schema: \{type: string, maxLength: (\d+)\}",
                      f.read())
    n = int(m.group(1))
    body = (b"region,origin_coord,destination_coord,datetime,datasource\n"
            b"Oslo,POINT (10.75 59.91),POINT (10.76 59.92),2018-05-02 10:00:00,fn_%d\n" % os.getpid())
    r = stack.http("POST", "/api/jobs?filename=" + "f" * n, body,
                   stack.auth({"Content-Type": "text/csv"}))
    assert r.status == 202 and r.json()["filename"] == "f" * min(n, 200), r
    r = stack.http("POST", "/api/jobs?filename=" + "f" * (n + 1), body,
                   stack.auth({"Content-Type": "text/csv"}))
    assert r.status == 400 and r.json()["invalid_params"][0]["name"] == "filename", r


def test_integer_bounds_hold(stack):
    """Each integer query parameter's documented minimum and maximum are
    accepted and one past either is a 400 naming it (the event streams,
    which do not end, are left out)."""
    doc = load_doc()
    job = stack.load(b"region,origin_coord,destination_coord,datetime,datasource\n"
                     b"Oslo,POINT (10.75 59.91),POINT (10.76 59.92),2018-05-02 10:00:00,"
                     b"bounds_%d\n" % os.getpid(), kind="raw", filename="bounds.csv")
    checked = 0
    for path, item in doc["paths"].items():
        op = item.get("get")
        if op is None or path.endswith("events"):
            continue
        for p in op.get("parameters", []):
            p = resolve(doc, p)
            s = p.get("schema", {})
            if p["in"] != "query" or s.get("type") != "integer":
                continue
            url = path.replace("{id}", str(job["id"]))
            # Without a documented maximum, the largest integer there is.
            top = s.get("maximum", 2 ** 63 - 1)
            for v in (s["minimum"], top):
                r = stack.http("GET", "%s?%s=%d" % (url, p["name"], v))
                assert r.status == 200, (path, p["name"], v, r)
            for v in (s["minimum"] - 1, top + 1):
                r = stack.http("GET", "%s?%s=%d" % (url, p["name"], v))
                assert r.status == 400, (path, p["name"], v, r)
                assert r.json()["invalid_params"][0]["name"] == p["name"], r
            checked += 1
    assert checked >= 7, checked
