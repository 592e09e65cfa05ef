"""test_security.py: who may do what (docs/security.md).

- Database roles: connected as tripline_web or tripline_runner, writes
  outside the role's grants, DDL, server-side files and programs, other
  roles' powers are all refused with SQLSTATE 42501; no tripline role is
  a superuser or may create roles or databases; the login roles own
  nothing and belong to no role; the programs really log in as them.
- The bearer token: 401 with WWW-Authenticate: Bearer without it, with a
  wrong token of the same length and of other lengths, with another
  scheme; the token never appears in a log file nor in a program's
  command line.
- Reports are public by default and need the token with
  TRIPLINE_REPORTS_PUBLIC=0.
- nginx's rate limit on submissions: 429 (problem+json) beyond the burst,
  before the token is even checked; reading is not limited.
- Who can reach what: PostgreSQL listens on no TCP address, its socket
  and the FastCGI socket are in a directory only the run user enters,
  the FastCGI socket is 0660; the page is not frameable and runs only its
  own files (CSP); a client that sends its head too slowly is cut off.
"""
import os
import re
import socket
import stat
import subprocess
import threading
import time
import uuid

import harness

HEADER = b"region,origin_coord,destination_coord,datetime,datasource"
GOOD = (b"Prague,POINT (14.4973794438195 50.00136875782316),"
        b"POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,funny_car")
ROUTER = os.path.join(harness.ROOT, "cgi", "router.c")


def csv():
    return HEADER + b",tag\n" + GOOD + b"," + uuid.uuid4().hex.encode() + b"\n"


def psql_as(stack, role, sql):
    """Run sql as role; returns (SQLSTATE or "" when it succeeded, output)."""
    env = stack.db_env(PGUSER=role)
    r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=sqlstate",
                        "-c", sql], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode == 0:
        return "", r.stdout.decode()
    m = re.search(r"ERROR:\s+([0-9A-Z]{5})", r.stderr.decode())
    assert m, (role, sql, r.stderr.decode())
    return m.group(1), r.stderr.decode()


# What each login role must not do; every one is SQLSTATE 42501
# (insufficient_privilege; "must be owner" is the same code).
DENIED_BOTH = [
    "DROP TABLE tripline.trips",
    "ALTER TABLE tripline.jobs ADD COLUMN x int",
    "TRUNCATE tripline.job_events",
    "CREATE TABLE public.x (a int)",
    "CREATE TABLE tripline.x (a int)",
    "CREATE FUNCTION tripline.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "CREATE SCHEMA evil",
    "COPY tripline.jobs FROM PROGRAM 'id'",
    "COPY (SELECT 1) TO PROGRAM 'id'",
    "COPY (SELECT 1) TO '/tmp/tripline-security-test'",
    "COPY tripline.jobs FROM '/etc/passwd'",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SET ROLE tripline_owner",
    "SET ROLE tripline_admin",
    "ALTER ROLE tripline_web SUPERUSER",
    "CREATE ROLE evil LOGIN",
    "CREATE EXTENSION dblink",
    "DELETE FROM tripline.jobs",
    "DELETE FROM tripline.trips",
    "UPDATE tripline.trips SET job_id = 0",
    "DELETE FROM tripline.job_events",
    "UPDATE tripline.job_events SET data = '{}'",
    "INSERT INTO tripline.settings VALUES ('x', 'y')",
    "UPDATE tripline.settings SET value = '1'",
    "SELECT tripline.agg_rebuild()",
    "SELECT tripline.agg_rebuild_all()",
    "SELECT tripline.trip_rims_make('trips_job_1')",
    "SELECT tripline.trip_rims_build()",
    "SELECT tripline.trip_rims_compact(2)",
    "SELECT tripline.trip_rims_fill('x', 1, 0, ARRAY['SELECT 1, 2, 3, 4'])",
    "DELETE FROM tripline.trip_rims",
    "DELETE FROM tripline.trip_rims_pending",
    "INSERT INTO tripline.trip_rims_pending VALUES (1)",
    "INSERT INTO tripline.trip_rims SELECT * FROM tripline.trip_rims WHERE false",
    "SELECT tripline.group_stage_merge(1)",
    "SELECT tripline.group_stage_sweep()",
    "SELECT tripline.group_top_add()",
    "DELETE FROM tripline.groups_pending",
    "INSERT INTO tripline.groups_pending VALUES (1)",
    "DELETE FROM tripline.group_stage",
    "INSERT INTO tripline.group_stage SELECT * FROM tripline.group_stage WHERE false",
    "DELETE FROM tripline.group_stage_more",
    "UPDATE tripline.trip_groups SET trips = 0",
    "INSERT INTO tripline.trip_groups SELECT * FROM tripline.trip_groups WHERE false",
    "DELETE FROM tripline.group_top",
    "UPDATE tripline.group_top_state SET min_trips = 2",
    "DROP INDEX tripline.jobs_loaded_sha256",
    "SELECT * FROM public.schema_migrations",
    # Names go only through names_sweep's checks (026_name_sweep.sql).
    "DELETE FROM tripline.datasources",
    "DELETE FROM tripline.regions",
    "UPDATE tripline.datasources SET name = 'x'",
    "UPDATE tripline.name_sweeps SET epoch = 0",
]
DENIED = {
    "tripline_web": DENIED_BOTH + [
        # Privileges are checked when the statement starts, rows or not.
        "INSERT INTO tripline.trips SELECT * FROM tripline.trips WHERE false",
        "INSERT INTO tripline.job_rejects SELECT * FROM tripline.job_rejects WHERE false",
        "SELECT tripline.trips_partition_create(1)",
        "SELECT tripline.trips_partition_attach(1)",
        "SELECT tripline.trips_partition_index(1)",
        "SELECT tripline.trips_partition_drop(1)",
        "SELECT tripline.trips_partition_sweep()",
        "SELECT tripline.trips_parts_sweep()",
        # It writes jobs and events only through job_queue and job_cancel
        # (023_web_calls.sql): not a job, a state, an end or an event.
        "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256) VALUES "
        "('x.csv', 'inbox', 'x.csv', 0, repeat('0', 64))",
        "UPDATE tripline.jobs SET state = 'succeeded'",
        "UPDATE tripline.jobs SET error = 'forged'",
        "UPDATE tripline.jobs SET cancel_requested = true",
        "INSERT INTO tripline.job_events (job_id, event, data) VALUES (1, 'succeeded', '{}')",
        "CREATE TEMPORARY TABLE scratch (x integer)",
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256) VALUES "
        "('succeeded', 'x.csv', 'inbox', 'x.csv', 0, repeat('0', 64))",
        "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256, duplicate_of) "
        "VALUES ('x.csv', 'inbox', 'x.csv', 0, repeat('0', 64), 1)",
        "INSERT INTO tripline.regions (name) VALUES ('evil')",
        "UPDATE tripline.jobs SET lease_owner = 'me'",
        "UPDATE tripline.jobs SET path = '/etc/shadow'",
        "UPDATE tripline.jobs SET sha256 = repeat('0', 64)",
        "UPDATE tripline.jobs SET rows_loaded = 0",
        # A job's phase is the runner's to say (028_job_phase.sql).
        "UPDATE tripline.jobs SET phase = 'merging'",
        "UPDATE tripline.job_parts SET phase = 'merging'",
        "SELECT tripline.trip_rims_tend(2)",
        "SELECT tripline.group_stage_open(1)",
        "SELECT tripline.group_stage_attach(1)",
        "SELECT tripline.agg_merge(1)",
        "SELECT tripline.agg_merge_counts()",
        "INSERT INTO tripline.group_stage_more SELECT * FROM tripline.group_stage_more "
        "WHERE false",
        # Only the runner marks a spool file removed (025_spool_sweep.sql):
        # a web role that could would hide a file from the sweep.
        "UPDATE tripline.jobs SET spool_removed_at = now()",
        "UPDATE tripline.jobs SET spool_retry_at = now()",
        "SELECT * FROM tripline.spool_sweep_due(0, 100)",
        "SELECT tripline.names_sweep()",
        "SELECT tripline.names_hold()",
        "UPDATE tripline.name_sweeps SET added = false",
    ],
    "tripline_runner": DENIED_BOTH + [
        "SELECT tripline.job_queue('a', 'inbox', 'a.csv', 1, repeat('0', 64), 3)",
        "SELECT * FROM tripline.job_cancel(1)",
        "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256) VALUES "
        "('a', 'inbox', '/etc/passwd', 1, repeat('0', 64))",
        "DELETE FROM tripline.job_rejects",
    ],
}


def test_roles_denied(stack):
    stack.http("GET", "/api/health")        # the program's connection exists
    bad = []
    n = 0
    for role, stmts in DENIED.items():
        for sql in stmts:
            n += 1
            state, out = psql_as(stack, role, sql)
            if state != "42501":
                bad.append("%s: %s -> %s %s" % (role, sql, state or "allowed", out.strip()[:200]))
    print("roles: %d statements refused" % (n - len(bad)))
    assert not bad, "\n".join(bad)
    # What they may do still works (the test can tell refused from broken).
    assert psql_as(stack, "tripline_web", "SELECT count(*) FROM tripline.jobs")[0] == ""
    assert psql_as(stack, "tripline_web", "SELECT * FROM tripline.job_cancel(0)")[0] == ""
    assert psql_as(stack, "tripline_web", "SELECT count(*) FROM tripline.trip_rims")[0] == ""
    assert psql_as(stack, "tripline_web",
                   "SELECT count(*) FROM tripline.trip_rims_pending")[0] == ""
    assert psql_as(stack, "tripline_runner", "SELECT tripline.trip_rims_tend(0)")[0] == ""
    assert psql_as(stack, "tripline_runner", "SELECT count(*) FROM tripline.trips")[0] == ""
    assert psql_as(stack, "tripline_runner", "UPDATE tripline.jobs SET spool_removed_at = "
                   "spool_removed_at WHERE false")[0] == ""
    assert psql_as(stack, "tripline_runner", "UPDATE tripline.jobs SET phase = phase "
                   "WHERE false")[0] == ""
    assert psql_as(stack, "tripline_runner",
                   "SELECT * FROM tripline.spool_sweep_due(0, 100)")[0] == ""
    assert psql_as(stack, "tripline_runner", "UPDATE tripline.name_sweeps SET added = added "
                   "WHERE false")[0] == ""


def test_runner_cannot_rewrite_what_a_job_is(stack):
    """The runner updates a job's progress and end, never what the job is
    (its file, content hash, source, size)."""
    allowed = [sql for sql in ("UPDATE tripline.jobs SET path = '/etc/shadow' WHERE false",
                               "UPDATE tripline.jobs SET sha256 = repeat('0', 64) WHERE false",
                               "UPDATE tripline.jobs SET source = 'upload' WHERE false",
                               "UPDATE tripline.jobs SET bytes = 0 WHERE false")
               if psql_as(stack, "tripline_runner", sql)[0] != "42501"]
    # 002_runner.sql grants the runner a list of columns only.
    assert not allowed, allowed


def test_runner_writes_only_its_running_jobs_partition(stack):
    """trips is partitioned by job (004_partitions.sql): the runner may
    insert only into the partition of a job it is loading, made by the
    owner's functions, which refuse a job that is not running."""
    if stack.scalar("SELECT relkind FROM pg_class WHERE oid = 'tripline.trips'::regclass") != "p":
        raise harness.Skip("tripline.trips is not partitioned here")
    job = stack.load(HEADER + b",tag\n" + GOOD + b"," + uuid.uuid4().hex.encode() + b"\n",
                     kind="raw")
    assert job["state"] == "succeeded", job
    parts = [r[0] for r in stack.psql(
        "SELECT c.oid::regclass FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'tripline.trips'::regclass")]
    assert parts, "no partition after a load"
    for part in parts[:20] + ["tripline.trips"]:
        state, out = psql_as(stack, "tripline_runner",
                             "INSERT INTO %s SELECT * FROM %s WHERE false" % (part, part))
        assert state == "42501", (part, state, out)
    for fn in ("trips_partition_create", "trips_partition_index", "trips_partition_attach"):
        state, out = psql_as(stack, "tripline_runner", "SELECT tripline.%s(%d)" % (fn, job["id"]))
        assert state == "55000", (fn, state, out)       # object_not_in_prerequisite_state
    owners = stack.psql("SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_inherits i "
                        "JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'tripline.trips'::regclass")
    assert owners == [("tripline_owner",)], owners


def test_roles_attributes_and_ownership(stack):
    rows = stack.psql("SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolreplication, "
                      "rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname IN "
                      "('tripline_owner', 'tripline_web', 'tripline_runner') ORDER BY rolname")
    assert [r[0] for r in rows] == ["tripline_owner", "tripline_runner", "tripline_web"], rows
    for name, sup, crole, cdb, repl, bypass, login in rows:
        assert (sup, crole, cdb, repl, bypass) == ("f",) * 5, (name, rows)
        assert login == ("f" if name == "tripline_owner" else "t"), (name, login)
    # The login roles own nothing: no schema, relation, function, type.
    owned = stack.psql(
        "SELECT 'schema ' || nspname FROM pg_namespace WHERE pg_get_userbyid(nspowner) IN "
        "('tripline_web', 'tripline_runner') UNION ALL "
        "SELECT 'relation ' || relname FROM pg_class WHERE relpersistence <> 't' AND "
        "pg_get_userbyid(relowner) IN ('tripline_web', 'tripline_runner') UNION ALL "
        "SELECT 'function ' || proname FROM pg_proc WHERE pg_get_userbyid(proowner) IN "
        "('tripline_web', 'tripline_runner') UNION ALL "
        "SELECT 'type ' || typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname NOT LIKE 'pg_temp%' AND pg_get_userbyid(typowner) IN "
        "('tripline_web', 'tripline_runner') UNION ALL "
        "SELECT 'database ' || datname FROM pg_database WHERE pg_get_userbyid(datdba) IN "
        "('tripline_web', 'tripline_runner')")
    assert owned == [], owned
    # The schema and every table in it belong to the owner role, which
    # cannot log in.
    owners = stack.psql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN "
                        "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'tripline'")
    assert owners == [("tripline_owner",)], owners
    # No login role is a member of another role (SET ROLE, inherited rights).
    members = stack.psql("SELECT r.rolname, m.rolname FROM pg_auth_members a "
                         "JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member "
                         "WHERE m.rolname LIKE 'tripline%'")
    assert members == [], members
    # The programs log in as these roles, never as the superuser that
    # runs migrations.
    stack.http("GET", "/api/health")
    sessions = stack.psql("SELECT DISTINCT application_name, usename FROM pg_stat_activity "
                          "WHERE application_name LIKE 'tripline-%' ORDER BY 1")
    apps = dict(sessions)
    assert apps.get("tripline-cgi") == "tripline_web", sessions
    assert apps.get("tripline-runner") == "tripline_runner", sessions
    for app, user in sessions:
        want = "tripline_web" if app.startswith("tripline-cgi") else "tripline_runner"
        assert user == want, sessions
    supers = stack.psql("SELECT rolname FROM pg_roles WHERE rolsuper ORDER BY 1")
    assert supers == [("tripline_admin",)], supers
    # A SECURITY DEFINER function runs with its owner's rights: it must fix
    # its search_path (else a caller's own objects could be found first:
    # PostgreSQL docs, CREATE FUNCTION, "Writing SECURITY DEFINER Functions
    # Safely") and must not be callable by PUBLIC.
    unsafe = stack.psql(
        "SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND "
        "(NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{}')) c "
        "             WHERE c LIKE 'search\\_path=%') "
        " OR has_function_privilege('public', p.oid, 'EXECUTE'))")
    assert unsafe == [], unsafe
    # Nor any other function of the schema: only the roles granted run
    # one (003 revoked PUBLIC's EXECUTE; 034 for the functions made since).
    public = stack.psql(
        "SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'tripline' AND has_function_privilege('public', p.oid, 'EXECUTE') "
        "ORDER BY 1")
    assert public == [], public


def test_runner_runs_no_code_as_the_owner(stack):
    """trip_rims_tend runs as the owner (SECURITY DEFINER) and merges a
    pending job's groups through a temporary table.  One the calling
    session made first, with its own trigger on it, was taken as is, and
    the trigger ran as the owner: here it moves an owner's sequence, which
    no rollback undoes.  The merge now refuses such a session
    (034_owner_temp_table.sql)."""
    seq = "SELECT last_value FROM tripline.trip_rims_compacted"
    job = stack.load(HEADER + b",tag\n" + GOOD + b"," + uuid.uuid4().hex.encode() + b"\n",
                     kind="raw")
    assert job["state"] == "succeeded", job
    job_id = job["id"]
    stack.stop_runners()        # the upkeep's lock, and the pending row, are ours
    before = stack.scalar(seq)
    added = False
    try:
        # Pending again only if the runner merged it already: then the
        # row is ours to take back (its groups must not be merged twice).
        added = stack.psql("INSERT INTO tripline.groups_pending (job_id) VALUES (%d) "
                           "ON CONFLICT DO NOTHING RETURNING job_id" % job_id) != []
        state, out = psql_as(stack, "tripline_runner", """
            CREATE FUNCTION pg_temp.evil() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                PERFORM setval('tripline.trip_rims_compacted', 424242);
                RETURN NULL;
            END $f$;
            CREATE TEMPORARY TABLE agg_grown (region_id integer, origin_cell bigint,
                dest_cell bigint, slot smallint, trips bigint);
            GRANT ALL ON pg_temp.agg_grown TO tripline_owner;
            CREATE TRIGGER evil BEFORE INSERT ON pg_temp.agg_grown
                FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.evil();
            SELECT tripline.trip_rims_tend(2);""")
        assert stack.scalar(seq) == before, "a runner's trigger ran as the owner"
        assert state == "42P07", (state, out)      # duplicate_table
    finally:
        stack.psql("SELECT setval('tripline.trip_rims_compacted', %s)" % before)
        if added:
            stack.psql("DELETE FROM tripline.groups_pending WHERE job_id = %d" % job_id)
        stack.start_runners(1)


# -- the token ---------------------------------------------------------------

def check_401(r, invalid):
    assert r.status == 401, r
    assert r.headers.get("content-type") == "application/problem+json", r
    p = r.json()
    assert p["status"] == 401 and p["title"] == "Unauthorized", p
    www = r.headers.get("www-authenticate", "")
    assert www.startswith("Bearer realm=\"tripline\""), r.headers
    assert ('error="invalid_token"' in www) == invalid, (invalid, www)


def test_token_required_and_compared(stack):
    tok = stack.token
    flip = chr(ord(tok[-1]) ^ 1) if tok[-1] not in "01" else ("1" if tok[-1] == "0" else "0")
    wrong = {
        "same length, last character": tok[:-1] + flip,
        "same length, first character": ("b" if tok[0] != "b" else "c") + tok[1:],
        "same length, other": "z" * len(tok),
        "a prefix": tok[:-1],
        "one character": tok[0],
        "longer": tok + "0",
        "doubled": tok + tok,
        "10 KiB": tok * (10240 // len(tok)),
        "upper case": tok.upper() if tok.upper() != tok else tok.lower() + "x",
        "with a NUL-like escape": tok + "%00",
    }
    before = stack.psql("SELECT count(*) FROM tripline.jobs")
    data = csv()
    # None at all, and other schemes: no error attribute (RFC 6750 3.1).
    for h in ({}, {"Authorization": "Basic " + tok}, {"Authorization": tok},
              {"Authorization": "Bearer"}, {"Authorization": ""}):
        h = dict(h, **{"Content-Type": "text/csv"})
        check_401(stack.http("POST", "/api/jobs", data, h), invalid=False)
        check_401(stack.http("POST", "/api/jobs/1/cancel", b"", h), invalid=False)
    for name, w in wrong.items():
        h = {"Authorization": "Bearer " + w, "Content-Type": "text/csv"}
        r = stack.http("POST", "/api/jobs", data, h)
        try:
            check_401(r, invalid=True)
            check_401(stack.http("POST", "/api/jobs/1/cancel", b"", h), invalid=True)
        except AssertionError as e:
            raise AssertionError("%s: %s" % (name, e))
    assert stack.psql("SELECT count(*) FROM tripline.jobs") == before
    # The right one works, and reading needs none.
    r = stack.http("POST", "/api/jobs", data, {"Authorization": "Bearer " + tok,
                                               "Content-Type": "text/csv"})
    assert r.status == 202, r
    assert stack.http("GET", "/api/jobs/%d" % r.json()["id"]).status == 200


def test_token_never_logged_nor_on_command_lines(stack):
    # Make sure every path that logs has run with the token in play:
    # accepted, refused, a cancel, an inbox request.
    tok = stack.token
    r = stack.http("POST", "/api/jobs", csv(), stack.auth({"Content-Type": "text/csv"}))
    assert r.status == 202, r
    stack.http("POST", "/api/jobs/%d/cancel" % r.json()["id"], b"", stack.auth())
    stack.http("POST", "/api/jobs", b'{"path": "../x"}', stack.auth({"Content-Type":
                                                                    "application/json"}))
    stack.http("POST", "/api/jobs", csv(), {"Authorization": "Bearer " + tok + "x",
                                            "Content-Type": "text/csv"})
    stack.wait_job(r.json()["id"])
    logdir = os.path.join(stack.var, "log")
    names = sorted(os.listdir(logdir))
    assert any(n.startswith("cgi") for n in names) and "nginx-access.log" in names, names
    for n in names:
        path = os.path.join(logdir, n)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert tok.encode() not in f.read(), "the token is in %s" % path
    # Command lines are world-readable (/proc/PID/cmdline, ps).
    for name in ["cgi", "nginx"] + stack.runner_names():
        pid = stack.pid(name)
        assert pid is not None, name
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            assert tok.encode() not in f.read(), "the token is on the command line of " + name


# -- reports, rate limit (a stack of their own) ----------------------------

def report_paths():
    """GET routes under /api/reports/ in the route table."""
    with open(ROUTER) as f:
        return re.findall(r'HTTP_GET,\s*"(/api/reports/[^"]+)"', f.read())


def test_reports_public_by_default(stack):
    paths = report_paths()
    if not paths:
        raise harness.Skip("no report routes in cgi/router.c yet")
    for p in paths:
        r = stack.http("GET", p)
        assert r.status != 401, (p, r)


def test_rate_limit_and_private_reports(stack):
    own = harness.Stack(env={"TRIPLINE_SUBMIT_RATE": "1", "TRIPLINE_SUBMIT_BURST": "1",
                             "TRIPLINE_REPORTS_PUBLIC": "0"}, runners=0)
    try:
        # Reports need the token now; the rest of the reading does not.
        for p in report_paths():
            check_401(own.http("GET", p), invalid=False)
            assert own.http("GET", p, headers=own.auth()).status != 401, p
        assert own.http("GET", "/api/jobs").status == 200
        # Rate 1/s, burst 1: of eight submissions at once, the first and
        # one more pass; the rest are 429 until the bucket drains.  They
        # must all be sent within 0.9 s to tell; on a machine too busy
        # for that, the bucket is left to drain (2 s) and it is tried
        # again, up to three times.
        def submit():
            r = own.http("POST", "/api/jobs", csv(), own.auth({"Content-Type": "text/csv"}))
            with lock:
                got.append(r)
        lock = threading.Lock()
        for attempt in range(3):
            if attempt:
                time.sleep(2.5)
            got = []
            before = int(own.scalar("SELECT count(*) FROM tripline.jobs"))
            t0 = time.monotonic()
            th = [threading.Thread(target=submit) for _ in range(8)]
            for t in th:
                t.start()
            for t in th:
                t.join()
            # Checked before the token: without one it is 429, not 401.
            anon = own.http("POST", "/api/jobs", csv(), {"Content-Type": "text/csv"})
            took = time.monotonic() - t0
            if took < 0.9:
                break
        assert took < 0.9, "too slow to test a rate of 1/s: %.2fs, three times" % took
        assert sorted(r.status for r in got) == [202, 202] + [429] * 6, [r.status for r in got]
        assert anon.status == 429, anon
        for r in [anon] + [r for r in got if r.status == 429]:
            assert r.headers.get("content-type") == "application/problem+json", r
            assert r.json()["status"] == 429, r
            # When to try again (RFC 6585 section 4): the bucket gains a
            # submission each 1/rate s, and the rate is whole per second.
            assert r.headers.get("retry-after") == "1", r.headers
        assert int(own.scalar("SELECT count(*) FROM tripline.jobs")) - before == 2
        # Reading is never limited.
        for _ in range(30):
            assert own.http("GET", "/api/jobs?limit=1").status == 200
        # The bucket drains at 1/s: a submission passes again within 2 s
        # of the burst (3.5 allowed for a busy machine).
        end = t0 + 3.5
        while True:
            r = own.http("POST", "/api/jobs", csv(), own.auth({"Content-Type": "text/csv"}))
            if r.status == 202:
                break
            assert r.status == 429 and time.monotonic() < end, r
            time.sleep(0.1)
        # Cancels are POSTs too, in the same bucket: of eight at once
        # (after the bucket drained), at most two reach the program (404
        # here), the rest are 429.
        for attempt in range(3):
            time.sleep(2.5)
            got = []
            t0 = time.monotonic()
            # An id that is no number too: its token is checked as well.
            th = [threading.Thread(target=lambda p=p: got.append(own.http(
                "POST", p, b"", own.auth())))
                for p in ("/api/jobs/999999/cancel", "/api/jobs/x1/cancel") * 4]
            for t in th:
                t.start()
            for t in th:
                t.join()
            took = time.monotonic() - t0
            if took < 0.9:
                break
        # As above: a burst that took a second or more may rightly pass
        # a third; that says nothing of the limit.
        assert took < 0.9, "too slow to test a rate of 1/s: %.2fs, three times" % took
        statuses = sorted(r.status for r in got)
        assert statuses == [404, 404] + [429] * 6, statuses
    finally:
        sanitizers = own.sanitizer_reports()
        own.close()
    assert not sanitizers, "\n".join(sanitizers)[:20000]


# -- reachability, the page, slow clients ------------------------------------

def test_sockets_and_listeners(stack):
    assert stack.scalar("SHOW listen_addresses") == "", "PostgreSQL listens on TCP"
    run = os.path.join(stack.var, "run")
    st = os.stat(run)
    assert stat.S_IMODE(st.st_mode) == 0o750, oct(st.st_mode)
    sock = os.stat(os.path.join(run, "cgi.sock"))
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o660, oct(sock.st_mode)
    assert sock.st_uid == st.st_uid, (sock.st_uid, st.st_uid)
    # The token file and the environment file are the run user's alone.
    for name in ("token", "env"):
        mode = stat.S_IMODE(os.stat(os.path.join(stack.var, name)).st_mode)
        assert mode & 0o077 == 0, (name, oct(mode))
    # nginx listens where it was told (127.0.0.1 in tests), nothing else:
    # every listening TCP socket of the nginx processes is that one.
    pid = stack.pid("nginx")
    ports = set()
    for p in [pid] + [int(c) for c in open("/proc/%d/task/%d/children" % (pid, pid)).read().split()]:
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % p):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (p, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == "0A" and cols[9] in inodes:    # LISTEN
                        ports.add(cols[1])
    assert ports == {"0100007F:%04X" % stack.port}, ports


def test_page_headers(stack):
    """The page under every address nginx serves it at (/index.html is
    the same page, its token prompt as frameable there as at /), and its
    files, carry the policy."""
    r = stack.http("GET", "/")
    if r.status == 404:
        raise harness.Skip("no page in nginx/www yet")
    page = r.body
    for path in ("/", "/index.html", "/app.js", "/app.css", "/reports.html", "/reports.js",
                 "/token.js"):
        r = stack.http("GET", path)
        assert r.status == 200, (path, r)
        if path == "/index.html":
            assert r.body == page, path
        csp = r.headers.get("content-security-policy", "")
        for part in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'",
                     "base-uri 'none'"):
            assert part in csp, (path, part, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (path, csp)
        assert r.headers.get("x-frame-options") == "DENY", (path, r.headers)
        assert r.headers.get("x-content-type-options") == "nosniff", (path, r.headers)
        assert "server" not in r.headers or r.headers["server"] == "nginx", r.headers
    assert stack.http("GET", "/no-such-file").status == 404


def test_favicon(stack):
    """The page links its icon (an SVG file among its own, under the same
    policy), and /favicon.ico, which browsers and other clients ask for
    by themselves, is an empty 204 rather than a 404 each logs."""
    r = stack.http("GET", "/")
    assert b'<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in r.body, r
    r = stack.http("GET", "/favicon.svg")
    assert r.status == 200 and r.headers.get("content-type") == "image/svg+xml", r
    assert r.body.startswith(b"<svg ") and b"<script" not in r.body, r
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    assert "default-src 'none'" in r.headers.get("content-security-policy", ""), r.headers
    for method in ("GET", "HEAD"):
        r = stack.http(method, "/favicon.ico")
        assert r.status == 204 and r.body == b"", (method, r)
    errors = os.path.join(stack.var, "log", "nginx-error.log")
    if os.path.exists(errors):
        assert "favicon" not in open(errors, errors="replace").read()


def test_programs_get_only_their_environment(stack):
    """scripts/stack.sh starts each program with its own settings and
    nothing else of the caller's environment; only the FastCGI program,
    which checks it, holds the token.  The pid file names the program
    itself (the subshell, setsid and setpriv exec in place)."""
    own = harness.Stack(env={"TRIPLINE_CANARY": "seen"}, runners=1)
    try:
        envs = {}
        for name, exe in (("cgi", "tripline-cgi"), ("runner-1", "tripline-runner")):
            pid = own.pid(name)
            assert os.readlink("/proc/%d/exe" % pid).endswith(exe), (name, pid)
            with open("/proc/%d/environ" % pid, "rb") as f:
                envs[name] = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if kv)
        for name, env in envs.items():
            assert b"TRIPLINE_CANARY" not in env, (name, sorted(env))
            assert env[b"TRIPLINE_SPOOL"] == os.path.join(own.var, "spool").encode(), name
        assert envs["cgi"][b"TRIPLINE_TOKEN"] == own.token.encode()
        assert b"TRIPLINE_TOKEN" not in envs["runner-1"], sorted(envs["runner-1"])
        # Both still work: the token is checked, a job loads.
        assert own.http("POST", "/api/jobs", csv(), {"Content-Type": "text/csv"}).status == 401
        assert own.load(csv())["state"] == "succeeded"
    finally:
        own.close()


def test_slow_head_is_cut_off(stack):
    """Slowloris: a head that never ends is dropped after
    client_header_timeout (10 s), not held forever."""
    socks = []
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", stack.port), timeout=30)
        s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        socks.append(s)
    t0 = time.monotonic()
    ended = []

    def wait_end(s):
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        ended.append(time.monotonic() - t0)
    th = [threading.Thread(target=wait_end, args=(s,)) for s in socks]
    for t in th:
        t.start()
    # Meanwhile the server answers others.
    assert stack.http("GET", "/api/health").status == 200
    for t in th:
        t.join(20)
    for s in socks:
        s.close()
    assert len(ended) == 3 and all(8 <= e <= 13 for e in ended), ended


def test_slow_uploads_take_at_most_their_share(stack):
    """An upload holds a worker thread while its body arrives (nginx streams
    it to the program): a client sending bodies slowly gets at most
    TRIPLINE_UPLOAD_CONN uploads at once, then 429; reading goes on."""
    own = harness.Stack(env={"TRIPLINE_UPLOAD_CONN": "2"}, runners=0)
    socks = []
    try:
        def slow_upload():
            s = socket.create_connection(("127.0.0.1", own.port), timeout=30)
            s.sendall(("POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Authorization: Bearer %s\r\nContent-Type: text/csv\r\n"
                       "Content-Length: 100000\r\n\r\n" % own.token).encode() +
                      b"region,origin_coord,destination_coord,datetime,datasource\n")
            socks.append(s)
        slow_upload()
        slow_upload()
        time.sleep(0.5)
        r = own.http("POST", "/api/jobs", csv(), own.auth({"Content-Type": "text/csv"}))
        assert r.status == 429, r
        assert r.headers.get("content-type") == "application/problem+json", r
        # What to wait for, not a rate to slow down to.
        assert r.json()["detail"] == \
            "at most 2 uploads at once from one address: wait for one to end", r.json()
        assert r.headers.get("retry-after") == "1", r
        for _ in range(20):
            assert own.http("GET", "/api/jobs?limit=1").status == 200
        # One slow client gone: an upload passes again.
        socks.pop().close()
        deadline = time.monotonic() + 10
        while True:
            r = own.http("POST", "/api/jobs", csv(), own.auth({"Content-Type": "text/csv"}))
            if r.status != 429 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert r.status == 202, r
        assert own.scalar("SELECT count(*) FROM tripline.jobs") == "1"
    finally:
        for s in socks:
            s.close()
        sanitizers = own.sanitizer_reports()
        own.close()
    assert not sanitizers, "\n".join(sanitizers)[:20000]


def test_stack_start_gives_away_no_linked_file(stack):
    """stack.sh, run as root, gives what var/ holds to the run user: a
    symbolic link there (root's, in the inbox) is given as a link, never
    its target (chown followed it: a file anywhere became the run user's),
    and a link to itself no longer fails the start."""
    if os.getuid() != 0:
        raise harness.Skip("stack.sh gives var/ away only when run as root")
    tag = uuid.uuid4().hex
    target = os.path.join(os.path.dirname(stack.var), "outside-%s.csv" % tag)
    with open(target, "wb") as f:
        f.write(b"not the run user's\n")
    inbox = os.path.join(stack.var, "inbox")
    link, loop = os.path.join(inbox, "away-%s.csv" % tag), os.path.join(inbox, "loop-%s" % tag)
    os.symlink(target, link)
    os.symlink(loop, loop)
    try:
        stack.start_runners(1)      # stack.sh runners: prepares var/ again
        assert os.stat(target).st_uid == 0, os.stat(target)
        run_uid = os.stat(inbox).st_uid
        assert run_uid != 0 and os.lstat(link).st_uid == run_uid, os.lstat(link)
    finally:
        for p in (link, loop, target):
            os.unlink(p)


# -- the inbox file after it was queued ----------------------------------------

def test_inbox_file_swapped_after_queueing(stack):
    """The runner opens an inbox file again when it loads it: a symlink
    put there since must not lead it out of the inbox, and changed
    content must not load under the size and SHA-256 the job recorded."""
    tag = uuid.uuid4().hex
    out_name, swap_name = "swap-out-%s.csv" % tag, "swap-data-%s.csv" % tag
    inbox = os.path.join(stack.var, "inbox")
    stack.stop_runners()
    try:
        ids = {}
        for name in (out_name, swap_name):
            stack.write_inbox(name, HEADER + b",tag\n" + GOOD + b"," + name.encode() + b"\n")
            r = stack.http("POST", "/api/jobs", ('{"path": "%s"}' % name).encode(),
                           stack.auth({"Content-Type": "application/json"}))
            assert r.status == 202, r
            ids[name] = r.json()["id"]
        outside = os.path.join(stack.var, "outside-%s.csv" % tag)
        with open(outside, "wb") as f:
            f.write(HEADER + b"\n" + GOOD + b"\n")
        os.unlink(os.path.join(inbox, out_name))
        os.symlink(outside, os.path.join(inbox, out_name))
        other = HEADER + b",tag\n" + (GOOD.replace(b"Prague", b"Swapped") + b"," +
                                      tag.encode() + b"\n") * 50
        tmp = stack.write_inbox(swap_name + ".tmp", other)
        os.rename(tmp, os.path.join(inbox, swap_name))
    finally:
        stack.start_runners(1)
    j = stack.wait_job(ids[out_name])
    assert j["state"] == "failed" and "outside" in j["error"], j
    assert stack.scalar("SELECT count(*) FROM tripline.trips WHERE job_id = %d"
                        % ids[out_name]) == "0"
    j = stack.wait_job(ids[swap_name])
    assert j["state"] == "failed" and "changed after it was queued" in j["error"], j
