"""test_reports.py: the reports (docs/reports.md) on the real stack.

Data goes in through the API (stack.load) so the runner keeps the
aggregates; every check compares three things that must agree exactly:
the HTTP endpoint, its SQL file run by psql (sql/reports/*.sql), and a
brute-force SQL over every trip.  The weekly average is checked on
thousands of random boxes: of every size, with edges on exact geohash cell
edges (dyadic, exact in float8) and on trip coordinates, empty ones and
ones covering everything, in every match mode.  The file runs on stacks
of its own (one with the sample, one with generated data), so that the
brute force scans only what it loaded.

The sample's answers to the two questions were read off
shared/data/trips.csv by hand (and checked with a short script): regions
Turin 38, Prague 34, Hamburg 28 trips; the latest trip of the top two is
2018-05-31 06:20:59 by pt_search_app; cheap_mobile appears in Hamburg (10
trips), Prague (13) and Turin (10).
"""
import atexit
import csv
import datetime
import io
import json
import math
import os
import random
import re
import subprocess
import time
import urllib.parse
import uuid

import harness

ROOT = harness.ROOT
REPORTS = os.path.join(ROOT, "sql", "reports")
CITIES = [(14.30, 14.68, 49.98, 50.13), (7.51, 7.78, 44.97, 45.14),
          (9.78, 10.22, 53.41, 53.66)]
MODES = {"origin": 1600, "destination": 400, "both": 60, "either": 60}
BASE32 = "0123456789bcdefghjkmnpqrstuvwxyz"


# -- helpers -----------------------------------------------------------------

def tagged(data):
    """The file with a `tag` column (ignored by the loader): new content."""
    tag = uuid.uuid4().hex.encode()
    lines = data.split(b"\n")
    out = [lines[0] + b",tag"] + [l + b"," + tag if l else l for l in lines[1:]]
    return b"\n".join(out)


def gen(rows, seed, *extra):
    cmd = [os.path.join(ROOT, "build", "tripline-gen"), "-n", str(rows), "-s", str(seed)]
    return subprocess.run(cmd + list(extra), check=True, stdout=subprocess.PIPE).stdout


def psql_file(stack, name, **variables):
    """Run sql/reports/NAME.sql with psql variables; rows as dicts of text."""
    env = stack.db_env()
    cmd = ["psql", "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1"]
    for k, v in variables.items():
        cmd += ["-v", "%s=%s" % (k, v)]
    cmd += ["-f", os.path.join(REPORTS, name + ".sql")]
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("psql %s: %s" % (name, r.stderr.decode()))
    # A weekly average's weeks are one field: over the span of a whole
    # run's shared stack (years of weeks) longer than csv's 128 KiB.
    csv.field_size_limit(1 << 30)
    return list(csv.DictReader(io.StringIO(r.stdout.decode())))


def same_value(text, value):
    """A psql CSV field against the endpoint's JSON value of that column."""
    if value is None:
        return text == ""
    if isinstance(value, bool):
        return text == ("t" if value else "f")
    if isinstance(value, (int, float)):
        return float(text) == value
    if isinstance(value, (dict, list)):
        return json.loads(text) == value
    return text == value


def assert_row(row, obj, what):
    for k, v in obj.items():
        if k in row:
            assert same_value(row[k], v), "%s: %s: psql %r, API %r" % (what, k, row[k], v)


def get(stack, path, status=200):
    r = stack.http("GET", path)
    assert r.status == status, (path, r)
    return r.json()


def bad(stack, path, name, status=400):
    r = stack.http("GET", path)
    assert r.status == status, (path, r)
    assert r.headers["content-type"] == "application/problem+json", (path, r)
    p = r.json()
    if name is not None:
        assert [x["name"] for x in p["invalid_params"]] == [name], (path, p)
    return p


def geohash_text(cell, chars):
    return "".join(BASE32[(cell >> (5 * (chars - 1 - i))) & 31] for i in range(chars))


def cell_edge(v, chars, axis):
    """The exact west (south) edge of the cell of v at chars characters."""
    bits = (5 * chars + 1) // 2 if axis == 0 else 5 * chars // 2
    lim = 180.0 if axis == 0 else 90.0
    w = 2 * lim / 2 ** bits
    return -lim + math.floor((v + lim) / w) * w, w


def monday(day):
    """The Monday of the ISO week of a YYYY-MM-DD date."""
    d = datetime.date.fromisoformat(day)
    return (d - datetime.timedelta(days=d.weekday())).isoformat()


def weeks_between(first, last):
    """The Mondays from first to last (YYYY-MM-DD), none if first is later."""
    d, end, out = datetime.date.fromisoformat(first), datetime.date.fromisoformat(last), []
    while d <= end:
        out.append(d.isoformat())
        d += datetime.timedelta(days=7)
    return out


def wait_idle(stack):
    stack.wait_scalar("SELECT count(*) FROM tripline.jobs WHERE state IN ('queued', 'running')",
                      "0", "jobs still running", 60)


# -- data ----------------------------------------------------------------------

_own = []


def loaded(stack):
    """A stack of this file's own, loaded once: May and, after a gap, July.
    The shared stack holds whatever the other test files loaded (millions
    of rows in some), which the brute-force checks would have to scan."""
    del stack
    if not _own:
        s = harness.Stack()
        atexit.register(s.close)
        _own.append(s)
        for data in (gen(30000, 424242), gen(15000, 434343, "--start", "2018-07-02", "--days", "9")):
            j = s.load(tagged(data))
            assert j["state"] == "succeeded", j
        wait_idle(s)
        wait_rims(s)
    return _own[0]


# -- the sample and the two questions ---------------------------------------

def test_sample_questions(stack):
    """On a stack of its own holding only the sample: both questions, by
    the API and by psql -f sql/questions.sql; then a job big enough that
    the runner's group map spills to disk, and every aggregate equal to
    one rebuilt from the trips."""
    data = harness.sample_bytes()
    s = harness.Stack(env={"TRIPLINE_AGG_MAP_KEYS": "1024"})
    try:
        assert s.load(data)["state"] == "succeeded"
        q1 = get(s, "/api/reports/latest-datasource?top=2")
        assert q1 == {"top": 2, "regions": [{"region": "Turin", "trips": 38},
                                            {"region": "Prague", "trips": 34}],
                      "datasource": "pt_search_app", "last_seen": "2018-05-31 06:20:59"}, q1
        assert get(s, "/api/reports/latest-datasource") == q1
        q2 = get(s, "/api/reports/datasource-regions?datasource=cheap_mobile")
        assert [(r["region"], r["trips"]) for r in q2["regions"]] == \
            [("Hamburg", 10), ("Prague", 13), ("Turin", 10)], q2
        assert q2["regions"][1]["first_seen"] == "2018-05-01 11:50:58"

        env = s.db_env()
        out = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-f",
                              os.path.join(ROOT, "sql", "questions.sql")], env=env,
                             check=True, stdout=subprocess.PIPE).stdout.decode()
        assert "pt_search_app | 2018-05-31 06:20:59" in out, out
        for region, n in (("Hamburg", 10), ("Prague", 13), ("Turin", 10)):
            assert any(l.split("|")[0].strip() == region and l.split("|")[1].strip() == str(n)
                       for l in out.splitlines() if l.count("|") == 3), out

        w = get(s, "/api/reports/weekly-average?region=Hamburg")
        assert w["total_trips"] == 28 and w["week_count"] == 5, w
        assert w["weekly_average"] == 5.6, w

        # 70,000 rows: more distinct cells and groups than the runner's
        # maps hold here (1,024 keys), so they spill to their partition
        # files and each key is summed from them before it is sent once
        # (the MERGE of agg_merge() fails on a key sent twice).
        job = s.load(tagged(gen(70000, 777)), timeout=300)
        assert job["state"] == "succeeded", job
        with open(os.path.join(s.var, "log", "runner-1.log")) as f:
            log = f.read()
        for name in ("cells", "groups"):
            assert re.search(r"job %d: the %s aggregate spilled to disk" % (job["id"], name),
                             log), log[-2000:]
        check_aggregates(s)
        assert not s.sanitizer_reports()
    finally:
        s.close()


def check_group_top(stack):
    """group_top is exactly the groups of min_trips or more, counts equal."""
    for a, b in (("tripline.group_top", "tripline.trip_groups"),
                 ("tripline.trip_groups", "tripline.group_top")):
        d = stack.scalar(
            "SELECT count(*) FROM (SELECT region_id, origin_cell, dest_cell, slot, trips "
            "FROM %s WHERE trips >= (SELECT min_trips FROM tripline.group_top_state) "
            "EXCEPT SELECT region_id, origin_cell, dest_cell, slot, trips FROM %s) x" % (a, b))
        assert d == "0", "group_top: %s rows of %s not in %s" % (d, a, b)


def check_rims(stack):
    """The rim tables (014_trip_rims.sql, 015_rims_both_ends.sql) hold, per
    end, cell7 and week, exactly the coordinates of the trips of the jobs
    not pending, each row sorted, whether a job's own table or a merged
    one holds them; every attached job is either pending or held by one
    rim table; none is left unattached."""
    for kind, end in ((0, "origin"), (1, "dest")):
        d = stack.scalar(
            "WITH t AS (SELECT {e}_cell >> 25 AS cell, tripline.iso_week(ts) AS week, "
            "array_agg({e}_lon ORDER BY {e}_lon, {e}_lat) AS lons, "
            "array_agg({e}_lat ORDER BY {e}_lon, {e}_lat) AS lats "
            "FROM tripline.trips WHERE job_id NOT IN (SELECT job_id FROM "
            "tripline.trip_rims_pending) GROUP BY 1, 2), "
            "r AS (SELECT x.cell, x.week, array_agg(u.a ORDER BY u.a, u.b) AS lons, "
            "array_agg(u.b ORDER BY u.a, u.b) AS lats FROM tripline.trip_rims x, "
            "unnest(x.lons, x.lats_by_lon) u(a, b) WHERE x.kind = {k} GROUP BY 1, 2) "
            "SELECT count(*) FROM ((SELECT * FROM t EXCEPT ALL SELECT * FROM r) "
            "UNION ALL (SELECT * FROM r EXCEPT ALL SELECT * FROM t)) x".format(e=end, k=kind))
        assert d == "0", "trip_rims: %s cell weeks of kind %d differ from the trips" % (d, kind)
    d = stack.scalar(
        "SELECT count(*) FROM tripline.trip_rims x WHERE "
        "x.lons <> ARRAY(SELECT v FROM unnest(x.lons) v ORDER BY v) OR "
        "x.lats <> ARRAY(SELECT v FROM unnest(x.lats_by_lon) v ORDER BY v) OR "
        "cardinality(x.lons) <> cardinality(x.lats_by_lon) OR x.kind NOT IN (0, 1)")
    assert d == "0", "trip_rims: %s rows not sorted" % d
    jobs = stack.psql(
        "WITH a AS (SELECT substr(c.relname, 11)::int AS j FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'tripline.trips'::regclass), "
        # (trip_rims named, so that the statement locks it before its
        # snapshot: an idle runner's merge cannot swap the tables whose
        # bounds it reads; 016_report_snapshots.sql)
        "h AS (SELECT unnest(tripline.trip_rims_jobs(i.inhrelid)) AS j FROM pg_inherits i "
        "WHERE i.inhparent = 'tripline.trip_rims'::regclass "
        "AND NOT EXISTS (SELECT FROM tripline.trip_rims WHERE false) UNION ALL "
        "SELECT job_id FROM tripline.trip_rims_pending) "
        "(SELECT j, 'attached, no rim' FROM a EXCEPT ALL SELECT j, 'attached, no rim' FROM h) "
        "UNION ALL (SELECT j, 'rim or pending, twice or not attached' FROM h "
        "EXCEPT ALL SELECT j, 'rim or pending, twice or not attached' FROM a)")
    assert not jobs, jobs
    unattached = stack.psql("SELECT relname FROM pg_class WHERE (relname ~ '^trips_job_.*_rim$' "
                            "OR relname ~ '^trip_rims_c') AND relkind IN ('r', 'p') "
                            "AND NOT relispartition")
    assert not unattached, unattached


def tend(stack, min_parts):
    """One step of the idle runner's upkeep, as the runner: what it did."""
    return stack.scalar("SET ROLE tripline_runner; SELECT tripline.trip_rims_tend(%d)"
                        % min_parts)


def tend_groups(stack):
    """The upkeep's first steps on a stack that does none by itself: every
    pending job's groups merged, then their stages dropped."""
    n = int(stack.scalar("SELECT count(*) FROM tripline.groups_pending"))
    assert n > 0
    for _ in range(n):
        assert tend(stack, 0).startswith("merged the groups of job")
    assert tend(stack, 0) == "dropped %d merged group stages" % n


def wait_rims(stack):
    """Until the idle runner has merged every job's groups and built every
    job's rim table."""
    stack.wait_scalar("SELECT count(*) FROM tripline.groups_pending", "0",
                      "groups still pending", 120)
    stack.wait_scalar("SELECT count(*) FROM tripline.trip_rims_pending", "0",
                      "rim tables still pending", 120)


# Every group as the reports see it (017_groups_later.sql): trip_groups
# plus the stages of the jobs whose groups are pending, summed per key.
GROUPS_SEEN = """
    SELECT u.region_id, u.origin_cell, u.dest_cell, u.slot, sum(u.trips)::bigint AS trips,
           sum(u.sum_olon) AS sum_olon, sum(u.sum_olat) AS sum_olat,
           sum(u.sum_dlon) AS sum_dlon, sum(u.sum_dlat) AS sum_dlat,
           min(u.first_ts) AS first_ts, max(u.last_ts) AS last_ts,
           bit_or(u.datasources) AS datasources,
           (SELECT array_agg(DISTINCT e ORDER BY e) FROM unnest(
               coalesce(max(u.more), '{}') || coalesce((SELECT array_agg(m.datasource_id)
               FROM tripline.group_stage_more m WHERE m.job_id IN (SELECT job_id FROM
               tripline.groups_pending) AND (m.region_id, m.origin_cell, m.dest_cell, m.slot)
               = (u.region_id, u.origin_cell, u.dest_cell, u.slot)), '{}')) e)
               AS datasources_more
    FROM (SELECT region_id, origin_cell, dest_cell, slot, trips, sum_olon, sum_olat,
                 sum_dlon, sum_dlat, first_ts, last_ts, datasources, datasources_more AS more
          FROM tripline.trip_groups
          UNION ALL
          SELECT region_id, origin_cell, dest_cell, slot, trips, sum_olon, sum_olat,
                 sum_dlon, sum_dlat, first_ts, last_ts, datasources, NULL
          FROM tripline.group_stage
          WHERE job_id IN (SELECT job_id FROM tripline.groups_pending)) u
    GROUP BY 1, 2, 3, 4"""


def check_aggregates(stack):
    """The runner's aggregates equal a rebuild from the trips; the groups
    as the reports see them, pending jobs' included."""
    check_group_top(stack)
    check_rims(stack)
    tables = ("cell_weeks", "region_weeks", "region_datasources", "trip_groups")
    # group_stage locked before the snapshot: the idle runner's sweep then
    # cannot drop the stage of a job the snapshot sees pending.
    for t in tables:
        stack.psql("BEGIN; LOCK TABLE tripline.group_stage IN ACCESS SHARE MODE; "
                   "DROP TABLE IF EXISTS public.kept_%s; CREATE TABLE public.kept_%s AS %s; "
                   "COMMIT" % (t, t, GROUPS_SEEN if t == "trip_groups"
                               else "SELECT * FROM tripline." + t))
    stack.psql("SELECT tripline.agg_rebuild()")
    cols = {
        "cell_weeks": "kind, level, ix, iy, week, trips",
        "region_weeks": "region_id, week, trips",
        "region_datasources": "region_id, datasource_id, trips, first_ts, last_ts",
        "trip_groups": "region_id, origin_cell, dest_cell, slot, trips, first_ts, last_ts, "
                       "datasources, datasources_more",
    }
    # Float sums added in another order differ in the last bits.
    d = stack.scalar(
        "SELECT count(*) FROM public.kept_trip_groups k JOIN tripline.trip_groups g "
        "USING (region_id, origin_cell, dest_cell, slot) WHERE "
        "abs(k.sum_olon - g.sum_olon) + abs(k.sum_olat - g.sum_olat) + "
        "abs(k.sum_dlon - g.sum_dlon) + abs(k.sum_dlat - g.sum_dlat) > 1e-9 * g.trips")
    assert d == "0", "trip_groups: %s coordinate sums differ" % d
    for t in tables:
        n = stack.scalar("SELECT count(*) FROM tripline.%s" % t)
        assert int(n) > 0, t
        for a, b in (("public.kept_" + t, "tripline." + t), ("tripline." + t, "public.kept_" + t)):
            d = stack.scalar("SELECT count(*) FROM (SELECT %s FROM %s EXCEPT SELECT %s FROM %s) x"
                             % (cols[t], a, cols[t], b))
            assert d == "0", "%s: %s rows of %s not in %s" % (t, d, a, b)
        stack.psql("DROP TABLE public.kept_%s" % t)
    check_group_top(stack)


def test_aggregates_match_trips(stack):
    stack = loaded(stack)
    check_aggregates(stack)


def test_rebuild_waits_for_a_finishing_load(stack):
    """agg_rebuild() started while a load is between its merge and its
    ATTACH waits for the load and then runs; neither is cancelled as a
    deadlock (024_rebuild_order.sql).  The load's last transaction is
    played by hand, its locks in its order: agg_merge_counts' lock of the
    counts (017_groups_later.sql), then the ATTACH's lock of trips."""
    stack = loaded(stack)
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
               "'rebuild' AND wait_event_type = 'Lock'")
    load = harness.Psql(stack, "load")
    rebuild = None
    try:
        load.send("BEGIN; LOCK TABLE tripline.cell_weeks, tripline.region_weeks, "
                  "tripline.region_datasources IN SHARE ROW EXCLUSIVE MODE;")
        load.wait_idle_in_transaction()
        rebuild = harness.Psql(stack, "rebuild")
        rebuild.send("SELECT tripline.agg_rebuild();")
        stack.wait_scalar(waiting, "1", "the rebuild did not wait for the load", 20)
        # deadlock_timeout is 1 s: a deadlock would be found well within 3.
        load.send("LOCK TABLE tripline.trips IN SHARE UPDATE EXCLUSIVE MODE;")
        load.send("SELECT pg_sleep(3); COMMIT;")
        load.close()
        load = None
        rebuild.close()
        rebuild = None
    finally:
        for p in (load, rebuild):
            if p is not None:
                p.quit()
    check_aggregates(stack)


def test_statement_timeout_is_a_clear_503(stack):
    """A report that runs past the web role's statement_timeout answers 503
    saying so (not "the database is unavailable"), quickly, and the worker
    answers the next request.  The report is made slow by a lock held on
    the table it reads."""
    s = loaded(stack)
    region = s.scalar("SELECT name FROM tripline.regions ORDER BY id LIMIT 1")
    path = "/api/reports/weekly-average?region=" + urllib.parse.quote(region)
    s.psql("ALTER ROLE tripline_web SET statement_timeout = '1s'")
    s.restart_cgi()
    env = s.db_env()
    holder = subprocess.Popen(
        ["psql", "-XAtq", "-c", "BEGIN; LOCK TABLE tripline.region_weeks IN ACCESS "
         "EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if s.scalar("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                        "WHERE c.relname = 'region_weeks' AND l.mode = 'AccessExclusiveLock' "
                        "AND l.granted") == "1":
                break
            time.sleep(0.02)
        t0 = time.time()
        r = s.http("GET", path)
        took = time.time() - t0
        assert r.status == 503, r
        assert r.headers["content-type"].startswith("application/problem+json"), r
        assert "time limit" in r.json()["detail"], r.json()
        assert 0.9 < took < 3, took
    finally:
        holder.wait(timeout=30)
        s.psql("ALTER ROLE tripline_web SET statement_timeout = '30s'")
        s.restart_cgi()
    assert get(s, path)["area"], path


def test_questions_brute_force(stack):
    """Both questions on whatever this stack holds, against plain SQL over
    every trip, and against their SQL files."""
    stack = loaded(stack)
    for top in (1, 2, 3, 50):
        api = get(stack, "/api/reports/latest-datasource?top=%d" % top)
        regions = stack.psql(
            "SELECT r.name, count(*) FROM tripline.trips t JOIN tripline.regions r "
            "ON r.id = t.region_id GROUP BY r.name ORDER BY count(*) DESC, r.name LIMIT %d" % top)
        assert [(x["region"], x["trips"]) for x in api["regions"]] == \
            [(n, int(c)) for n, c in regions], (api, regions)
        names = ",".join("'%s'" % n.replace("'", "''") for n, _ in regions)
        best = stack.psql(
            "SELECT d.name, max(t.ts) FROM tripline.trips t JOIN tripline.datasources d "
            "ON d.id = t.datasource_id JOIN tripline.regions r ON r.id = t.region_id "
            "WHERE r.name IN (%s) GROUP BY d.name ORDER BY max(t.ts) DESC, d.name LIMIT 1" % names)
        assert (api["datasource"], api["last_seen"]) == best[0], (api, best)
        assert_row(psql_file(stack, "latest_datasource", top=top)[0], api, "latest %d" % top)

    # The names in use: one no trip uses is removed by the next sweep
    # (026_name_sweep.sql), maybe between this query and the request.
    for ds, in stack.psql("SELECT name FROM tripline.datasources d WHERE EXISTS "
                          "(SELECT FROM tripline.region_datasources r "
                          "WHERE r.datasource_id = d.id)"):
        api = get(stack, "/api/reports/datasource-regions?datasource=" + ds)
        brute = stack.psql(
            "SELECT r.name, count(*), min(t.ts), max(t.ts) FROM tripline.trips t "
            "JOIN tripline.regions r ON r.id = t.region_id JOIN tripline.datasources d "
            "ON d.id = t.datasource_id WHERE d.name = '%s' GROUP BY r.name ORDER BY r.name"
            % ds.replace("'", "''"))
        assert [(x["region"], str(x["trips"]), x["first_seen"], x["last_seen"])
                for x in api["regions"]] == brute, (ds, api, brute)
        rows = psql_file(stack, "datasource_regions", datasource=ds)
        assert len(rows) == len(api["regions"])
        for row, obj in zip(rows, api["regions"]):
            assert_row(row, obj, ds)


# -- weekly average -------------------------------------------------------------

def random_boxes(stack, n, rnd):
    """n boxes (minlon, minlat, maxlon, maxlat) of every kind."""
    pts = stack.psql("SELECT origin_lon, origin_lat, dest_lon, dest_lat FROM tripline.trips "
                     "ORDER BY random() LIMIT 400")
    pts = [tuple(map(float, p)) for p in pts]
    boxes = []
    while len(boxes) < n:
        kind = rnd.random()
        x0, x1, y0, y1 = rnd.choice(CITIES)
        cx, cy = rnd.uniform(x0 - 0.05, x1 + 0.05), rnd.uniform(y0 - 0.05, y1 + 0.05)
        w, h = 10 ** rnd.uniform(-7, -0.3), 10 ** rnd.uniform(-7, -0.3)
        b = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        if kind < 0.30:
            # Edges on exact cell edges, sometimes of a single cell.
            chars = rnd.randint(3, 10)
            lo_x, wx = cell_edge(b[0], chars, 0)
            lo_y, wy = cell_edge(b[1], chars, 1)
            b = [lo_x, lo_y, lo_x + wx * rnd.randint(0, 3), lo_y + wy * rnd.randint(0, 3)]
            if rnd.random() < 0.3:
                b[rnd.randrange(4)] = rnd.choice(b)  # degenerate or inverted
        elif kind < 0.55:
            # Trip coordinates exactly on an edge.
            p = rnd.choice(pts)
            o = 2 * rnd.randrange(2)
            px, py = p[o], p[o + 1]
            if rnd.random() < 0.5:
                b[rnd.choice((0, 2))] = px
            if rnd.random() < 0.5:
                b[rnd.choice((1, 3))] = py
            if rnd.random() < 0.15:
                b = [px, py, px, py]
        elif kind < 0.60:
            b = [-40.0, 20.0, -20.0, 40.0]          # the Atlantic: no trips
        elif kind < 0.64:
            b = rnd.choice([[-180.0, -90.0, 180.0, 90.0], [0.0, 40.0, 20.0, 60.0],
                            [7.0, 44.0, 15.0, 54.0]])
        b = [min(max(b[0], -180.0), 180.0), min(max(b[1], -90.0), 90.0),
             min(max(b[2], -180.0), 180.0), min(max(b[3], -90.0), 90.0)]
        if b[0] <= b[2] and b[1] <= b[3]:
            boxes.append(tuple(b))
    return boxes


def test_weekly_average_exact_random_boxes(stack):
    """Thousands of boxes in every match mode: the report equals the
    brute-force count of every trip, week by week over the whole span."""
    stack = loaded(stack)
    rnd = random.Random(20181)
    stack.psql("CREATE INDEX IF NOT EXISTS test_trips_olon ON tripline.trips (origin_lon); "
               "CREATE INDEX IF NOT EXISTS test_trips_dlon ON tripline.trips (dest_lon); "
               "ANALYZE tripline.trips")
    stack.psql("DROP TABLE IF EXISTS public.test_boxes; CREATE TABLE public.test_boxes "
               "(id int, mode text, x0 float8, y0 float8, x1 float8, y1 float8)")
    rows = []
    for mode, n in MODES.items():
        for b in random_boxes(stack, n, rnd):
            rows.append("(%d,'%s',%r,%r,%r,%r)" % ((len(rows), mode) + b))
    for i in range(0, len(rows), 500):
        stack.psql("INSERT INTO public.test_boxes VALUES " + ",".join(rows[i:i + 500]))
    pred = {
        "origin": "t.origin_lon BETWEEN b.x0 AND b.x1 AND t.origin_lat BETWEEN b.y0 AND b.y1",
        "destination": "t.dest_lon BETWEEN b.x0 AND b.x1 AND t.dest_lat BETWEEN b.y0 AND b.y1",
    }
    pred["both"] = "(%s) AND (%s)" % (pred["origin"], pred["destination"])
    pred["either"] = "(%s) OR (%s)" % (pred["origin"], pred["destination"])
    # Brute force: every trip, every box, counted by week.
    stack.psql("DROP TABLE IF EXISTS public.test_brute; CREATE TABLE public.test_brute "
               "(id int, w date, n bigint)")
    for mode in MODES:
        stack.psql("INSERT INTO public.test_brute SELECT b.id, tripline.iso_week(t.ts), count(*) "
                   "FROM public.test_boxes b JOIN tripline.trips t ON %s "
                   "WHERE b.mode = '%s' GROUP BY 1, 2" % (pred[mode], mode))
    # The report, every week of the span listed.
    stack.psql("DROP TABLE IF EXISTS public.test_report; CREATE TABLE public.test_report AS "
               "SELECT b.id, (x->>'week_start')::date AS w, (x->>'trips')::bigint AS n, "
               "r.total_trips, r.week_count "
               "FROM public.test_boxes b CROSS JOIN LATERAL tripline.report_weekly_average("
               "NULL, b.x0, b.y0, b.x1, b.y1, b.mode, NULL, NULL) r "
               "CROSS JOIN LATERAL jsonb_array_elements(r.weeks::jsonb) x")
    span = stack.psql("SELECT min(tripline.iso_week(ts)), max(tripline.iso_week(ts)), "
                      "(max(tripline.iso_week(ts)) - min(tripline.iso_week(ts))) / 7 + 1 "
                      "FROM tripline.trips")[0]
    diff = stack.psql(
        "SELECT coalesce(r.id, q.id), coalesce(r.w, q.w), r.n, q.n FROM public.test_report r "
        "FULL JOIN public.test_brute q ON q.id = r.id AND q.w = r.w "
        "WHERE r.n IS DISTINCT FROM coalesce(q.n, 0) LIMIT 5")
    assert not diff, "boxes differ (id, week, report, brute): %r" % diff
    shape = stack.psql(
        "SELECT b.id, count(r.w), min(r.w), max(r.w), min(r.week_count), sum(r.n), "
        "min(r.total_trips) FROM public.test_boxes b LEFT JOIN public.test_report r "
        "ON r.id = b.id GROUP BY b.id HAVING count(r.w) <> %s OR min(r.w) <> '%s' "
        "OR max(r.w) <> '%s' OR min(r.week_count) <> count(r.w) "
        "OR sum(r.n) <> min(r.total_trips) LIMIT 5" % (span[2], span[0], span[1]))
    assert not shape, "week lists wrong (id, weeks, first, last, week_count, sum, total): %r" % shape
    checked = int(stack.scalar("SELECT count(*) FROM public.test_boxes"))
    nonempty = stack.scalar("SELECT count(*) FROM public.test_boxes b WHERE EXISTS (SELECT 1 FROM "
                            "tripline.trips t WHERE %s)" % pred["origin"])
    assert int(nonempty) > MODES["origin"] // 4, nonempty
    stack.psql("DROP TABLE public.test_boxes, public.test_brute, public.test_report; "
               "DROP INDEX tripline.test_trips_olon, tripline.test_trips_dlon")
    assert checked >= 2000, checked


def may_trips(rnd, n, region, point):
    """A trips CSV of n rows in region, both ends from point(), at 08:00
    on days of May 2018."""
    out = io.StringIO()
    out.write("region,origin_coord,destination_coord,datetime,datasource\n")
    for _ in range(n):
        day = datetime.date(2018, 5, 1) + datetime.timedelta(days=rnd.randrange(20))
        out.write("%s,POINT (%r %r),POINT (%r %r),%s 08:00:00,app\n"
                  % ((region,) + point() + point() + (day,)))
    return out.getvalue().encode()


def test_weekly_average_rim_ties_pending_and_merges(stack):
    """The rim's sorted coordinates (014_trip_rims.sql, both ends since
    015_rims_both_ends.sql) on data made to be hard for them: a few
    longitudes and latitudes repeated hundreds of times, some exactly on
    7-character cell edges, and boxes whose edges are exactly those values
    (ties at both ends of a binary search), in one job loaded whole and one
    split in parts.  Checked while their rim tables are pending (the rim
    read from the trips), with one built and one pending, with both built,
    merged, and with a merged table beside a pending job; then the idle
    runner's upkeep, beside a reader and a job."""
    del stack
    w7 = 360.0 / 2 ** 18                    # 7-character column, exact
    h7 = 180.0 / 2 ** 17
    ix, iy = int((100.0 + 180.0) / w7), int((-10.0 + 90.0) / h7)
    xs = [-180.0 + (ix + k) * w7 for k in range(3)]            # cell edges
    xs += [x + w7 * f for x in xs[:2] for f in (0.25, 0.5, 0.8125)]
    ys = [-90.0 + (iy + k) * h7 for k in range(3)]
    ys += [y + h7 * f for y in ys[:2] for f in (0.125, 0.5, 0.75)]
    rnd = random.Random(7014)

    def data(n):
        return may_trips(rnd, n, "Tiesville", lambda: (rnd.choice(xs), rnd.choice(ys)))

    s = harness.Stack(env={"TRIPLINE_SPLIT_BYTES": "40000", "TRIPLINE_RIM_COMPACT": "0"},
                      runners=2)
    s.psql_timeout = 60     # seconds: small statements, one this long waits for good
    try:
        whole = s.load(data(300))
        split = s.load(data(3000))
        assert whole["state"] == split["state"] == "succeeded", (whole, split)
        assert int(s.scalar("SELECT count(*) FROM tripline.job_parts WHERE job_id = %d"
                            % split["id"])) > 1, "not split"
        vals = (sorted(set(xs)), sorted(set(ys)))
        boxes = []
        for _ in range(300):
            bx = sorted(rnd.choice(vals[0]) for _ in range(2))
            by = sorted(rnd.choice(vals[1]) for _ in range(2))
            if rnd.random() < 0.2:
                bx[rnd.randrange(2)] += rnd.choice((-1e-12, 1e-12))
                bx.sort()
            boxes.append((bx[0], by[0], bx[1], by[1]))

        s.psql("CREATE TABLE public.tie_boxes (id int, x0 float8, y0 float8, x1 float8, "
               "y1 float8); INSERT INTO public.tie_boxes VALUES "
               + ",".join("(%d,%r,%r,%r,%r)" % ((k,) + b) for k, b in enumerate(boxes)))

        def compare():
            """Every box's report, week by week, equals the brute force,
            for either end."""
            for mode, end in (("origin", "origin"), ("destination", "dest")):
                diff = s.psql(
                    "WITH rep AS (SELECT b.id, (x->>'week_start')::date AS w, "
                    "(x->>'trips')::bigint AS n FROM public.tie_boxes b CROSS JOIN LATERAL "
                    "tripline.report_weekly_average(NULL, b.x0, b.y0, b.x1, b.y1, '{m}', "
                    "NULL, NULL) r CROSS JOIN LATERAL json_array_elements(r.weeks) x), "
                    "brute AS (SELECT b.id, tripline.iso_week(t.ts) AS w, count(*) AS n "
                    "FROM public.tie_boxes b JOIN tripline.trips t ON t.{e}_lon BETWEEN b.x0 "
                    "AND b.x1 AND t.{e}_lat BETWEEN b.y0 AND b.y1 GROUP BY 1, 2) "
                    "SELECT coalesce(r.id, q.id), coalesce(r.w, q.w), r.n, q.n FROM rep r "
                    "FULL JOIN brute q ON q.id = r.id AND q.w = r.w "
                    "WHERE coalesce(r.n, 0) <> coalesce(q.n, 0) LIMIT 5".format(m=mode, e=end))
                assert not diff, "%s boxes differ (id, week, report, brute): %r" % (mode, diff)
                hits = s.scalar("SELECT count(DISTINCT b.id) FROM public.tie_boxes b JOIN "
                                "tripline.trips t ON t.{e}_lon BETWEEN b.x0 AND b.x1 AND "
                                "t.{e}_lat BETWEEN b.y0 AND b.y1".format(e=end))
                assert int(hits) > len(boxes) // 2, hits

        def rims():
            return int(s.scalar("SELECT count(*) FROM pg_inherits "
                                "WHERE inhparent = 'tripline.trip_rims'::regclass"))

        def pending():
            return [r[0] for r in s.psql("SELECT job_id FROM tripline.trip_rims_pending "
                                         "ORDER BY 1")]

        # No upkeep on this stack: both jobs pending, their rims read
        # from their trips.
        assert pending() == [str(whole["id"]), str(split["id"])]
        assert rims() == 0
        compare()
        check_rims(s)
        # One step per call: the jobs' groups first, then the whole
        # job's rim table, then the split job's (a table per part);
        # min_parts 1 never merges.
        tend_groups(s)
        assert tend(s, 1) == "built the rim table of job %d" % whole["id"]
        assert pending() == [str(split["id"])]
        compare()
        check_rims(s)
        assert tend(s, 1) == "built the rim table of job %d" % split["id"]
        assert tend(s, 1) == ""
        assert pending() == [] and rims() == 2
        compare()
        check_rims(s)
        # Merged: the two tables become one; nothing left to merge.
        assert tend(s, 2) == "merged 2 rim tables into one"
        assert tend(s, 2) == ""
        assert rims() == 1
        compare()
        check_rims(s)
        # A third job: pending beside the merged table, then built, merged.
        third = s.load(data(3000))
        assert third["state"] == "succeeded", third
        assert pending() == [str(third["id"])] and rims() == 1
        compare()
        check_rims(s)
        tend_groups(s)
        assert tend(s, 2) == "built the rim table of job %d" % third["id"]
        assert tend(s, 2) == "merged 2 rim tables into one"
        assert rims() == 1
        compare()
        check_rims(s)
        # By the runner, once idle, when the upkeep is on.  Here a reader
        # holds trip_rims: the fourth job's table is built and attached
        # beside it, the merge waits for the parent's lock (without
        # queueing: reports go on), and a job that comes meanwhile cancels
        # it and loads; once the reader is gone all is built and merged.
        fourth = s.load(data(3000))
        assert fourth["state"] == "succeeded", fourth
        s.stop_runners()
        env = s.db_env(PGAPPNAME="rim_reader")
        reader = subprocess.Popen(["psql", "-XAtq", "-c", "BEGIN", "-c",
                                   "SELECT count(*) FROM tripline.trip_rims", "-c",
                                   "SELECT pg_sleep(30)"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # The reader holds trip_rims before the runner starts.
            s.wait_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'rim_reader' AND query = 'SELECT pg_sleep(30)'", "1",
                          "the reader did not take trip_rims", 30)
            s.env["TRIPLINE_RIM_COMPACT"] = "2"
            s.start_runners(1)
            merging = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' " \
                      "AND query LIKE 'SELECT tripline.trip_rims_tend%' AND " \
                      "NOT EXISTS (SELECT FROM tripline.trip_rims_pending)"
            deadline = time.time() + 20
            while s.scalar(merging) == "0" and time.time() < deadline:
                time.sleep(0.2)
            assert s.scalar(merging) == "1", "the idle runner did not start merging"
            assert rims() == 2
            # A report is not held up by the waiting merge.
            t0 = time.time()
            compare()
            assert time.time() - t0 < 8, time.time() - t0
            t0 = time.time()
            fifth = s.load(data(300))
            assert fifth["state"] == "succeeded", fifth
            assert time.time() - t0 < 8, "the job waited for the merge: %.1f s" % (time.time() - t0)
        finally:
            # (A backend in pg_sleep notices a lost client only when it
            # ends: end it.)
            s.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'rim_reader'")
            reader.wait(timeout=60)
        deadline = time.time() + 90
        while (rims() > 1 or pending()) and time.time() < deadline:
            time.sleep(0.5)
        assert rims() == 1 and not pending(), "the idle runner did not build and merge"
        compare()
        check_rims(s)
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_rims_built_between_jobs_after_the_lag(stack):
    """A queue that never empties leaves a runner no idle moment for the
    rim tables: with TRIPLINE_RIM_LAG a job's table that has waited longer
    is built before the next job is claimed; with 0, never while jobs are
    queued.  Either way all are built once the runner is idle."""
    del stack
    files = [gen(80000, 5100 + k) for k in range(4)]
    for lag in ("1", "0"):
        s = harness.Stack(env={"TRIPLINE_RIM_LAG": lag})
        s.psql_timeout = 60     # seconds: small statements, one this long waits for good
        try:
            # All queued before the runner starts: a queue that emptied
            # between two uploads would give it an idle moment.
            s.stop_runners()
            ids = []
            for f in files:
                r = s.upload(f)
                assert r.status == 202, r
                ids.append(r.json()["id"])
            s.start_runners(1)
            for i in ids:
                assert s.wait_job(i)["state"] == "succeeded"
            with open(os.path.join(s.var, "log", "runner-1.log")) as f:
                log = f.read().splitlines()

            def at(pattern):
                return [n for n, line in enumerate(log) if re.search(pattern, line)]
            first, last = at("job %d: claimed" % ids[0])[0], at("job %d: claimed" % ids[-1])[0]
            between = [n for n in at("built the rim table of job") if first < n < last]
            if lag == "1":
                assert between and at("waited more than 1 s"), "\n".join(log)
            else:
                assert not between, "\n".join(log)
            wait_rims(s)
            check_rims(s)
            assert not s.sanitizer_reports(), s.sanitizer_reports()
        finally:
            s.close()


def test_weekly_average_under_a_merge_and_a_load(stack):
    """A box report whose snapshot is taken before a merge of rim tables,
    or before a job's commit, and which plans its reads after, counts as
    of its snapshot (016_report_snapshots.sql).  The report is held
    between the two by a lock on a table it reads later; the merge waits
    for it, the job does not, and either way the answer is the brute
    force of the trips the snapshot sees."""
    del stack
    rnd = random.Random(7016)

    def data(n):
        return may_trips(rnd, n, "Snapville", lambda: (100 + rnd.random() * 0.02,
                                                      -10 + rnd.random() * 0.02))

    box = (100.0031, -9.9953, 100.0137, -9.9871)
    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})
    s.psql_timeout = 60     # seconds: small statements, one this long waits for good

    def session(name, *args):
        return subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1"] + list(args),
                                env=s.db_env(PGAPPNAME=name), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def hold(table):
        """The holder's transaction takes table alone and keeps it."""
        holder.send("BEGIN;")
        holder.send("LOCK TABLE tripline.%s IN ACCESS EXCLUSIVE MODE;" % table)
        s.wait_scalar("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                      "ON a.pid = l.pid WHERE a.application_name = 'snap_holder' AND "
                      "l.granted AND l.relation = 'tripline.%s'::regclass" % table, "1",
                      "no lock held", 20)

    def report(match):
        """The report's own SQL file, in the background (psql -f)."""
        v = []
        for k, x in zip(("minlon", "minlat", "maxlon", "maxlat"), box):
            v += ["-v", "%s=%r" % (k, x)]
        return session("snap_reader", *(v + ["-v", "match=" + match, "-f",
                                             os.path.join(harness.ROOT, "sql", "reports",
                                                          "weekly_average.sql")]))

    def brute(match, where):
        o = "t.origin_lon BETWEEN %r AND %r AND t.origin_lat BETWEEN %r AND %r" % (
            box[0], box[2], box[1], box[3])
        d = o.replace("origin", "dest")
        pred = {"origin": o, "either": "(%s) OR (%s)" % (o, d)}[match]
        return {r[0]: int(r[1]) for r in s.psql(
            "SELECT tripline.iso_week(t.ts), count(*) FROM tripline.trips t "
            "WHERE (%s) AND %s GROUP BY 1" % (pred, where))}

    def answer(reader):
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        weeks = json.loads(out.strip().split("|")[2])
        return {w["week_start"]: w["trips"] for w in weeks if w["trips"]}

    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'snap_reader' "
               "AND wait_event_type = 'Lock'")
    holder = None
    try:
        jobs = [s.load(data(2000)) for _ in range(2)]
        assert all(j["state"] == "succeeded" for j in jobs), jobs
        tend_groups(s)
        for _ in jobs:
            assert tend(s, 1).startswith("built the rim table")
        # 1. A merge.  The reader takes its snapshot, then waits for
        # region_weeks (held here) before it reads the rims.
        holder = harness.Psql(s, "snap_holder")
        hold("region_weeks")
        reader = report("origin")
        s.wait_scalar(waiting, "1", "the report did not wait", 20)
        merger = session("snap_merger", "-c",
                         "SET ROLE tripline_runner; SELECT tripline.trip_rims_tend(2)")
        time.sleep(2)
        assert merger.poll() is None, "the merge swapped under a report: %r" % (
            merger.communicate(),)
        holder.send("COMMIT;")
        got = answer(reader)
        out, err = merger.communicate(timeout=30)
        assert "merged 2 rim tables into one" in out, (out, err)
        want = brute("origin", "true")
        assert got == want, (got, want)
        # 2. A job's commit.  The reader waits for the first job's trips
        # table (held here) when it plans the trips for match=either; a
        # third job loads and commits meanwhile.
        hold("trips_job_%d" % jobs[0]["id"])
        reader = report("either")
        s.wait_scalar(waiting, "1", "the report did not wait", 20)
        third = s.load(data(2000))
        assert third["state"] == "succeeded", third
        assert reader.poll() is None
        holder.send("COMMIT;")
        got = answer(reader)
        want = brute("either", "t.job_id <> %d" % third["id"])
        assert got == want, (got, want)
        assert brute("either", "true") != want      # the third job counts
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        if holder is not None:
            holder.quit()
        s.close()


def test_weekly_average_http(stack):
    """The endpoint against its SQL file and brute force: regions, boxes,
    every match mode, from/to narrowing the span (never widening it)."""
    stack = loaded(stack)
    rnd = random.Random(7)
    span = stack.psql("SELECT min(tripline.iso_week(ts)), max(tripline.iso_week(ts)) FROM tripline.trips")[0]
    cases = [({"region": r}, None) for r, in stack.psql("SELECT name FROM tripline.regions")]
    for b in random_boxes(stack, 40, rnd):
        mode = rnd.choice(list(MODES))
        q = {"bbox": ",".join(repr(v) for v in b), "match": mode}
        cases.append((q, b))
    cases.append(({"bbox": "14.3,49.9,14.7,50.2", "from": "2018-05-09", "to": "2018-05-20"}, None))
    cases.append(({"bbox": "14.3,49.9,14.7,50.2", "from": "2018-04-01"}, None))
    cases.append(({"region": "Prague", "to": "2018-06-30"}, None))
    cases.append(({"bbox": "14.3,49.9,14.7,50.2", "from": "2030-01-01", "to": "2030-01-01"}, None))
    cases.append(({"region": "Turin", "from": "2000-01-01", "to": "2100-01-01"}, None))
    cases.append(({"region": "Turin", "to": "2000-01-01"}, None))
    for q, b in cases:
        path = "/api/reports/weekly-average?" + "&".join("%s=%s" % kv for kv in q.items())
        api = get(stack, path)
        v = dict(q)
        if "bbox" in v:
            v["minlon"], v["minlat"], v["maxlon"], v["maxlat"] = v.pop("bbox").split(",")
        row = psql_file(stack, "weekly_average", **v)[0]
        assert_row(row, api, path)
        weeks = api["weeks"]
        # The trips' span, narrowed by from/to (issue: "unless from/to
        # narrow it"); empty when they miss it.
        first = max(span[0], monday(q["from"])) if "from" in q else span[0]
        last = min(span[1], monday(q["to"])) if "to" in q else span[1]
        assert [w["week_start"] for w in weeks] == weeks_between(first, last), (path, weeks)
        assert all(x["week_start"] < y["week_start"] for x, y in zip(weeks, weeks[1:]))
        assert api["week_count"] == len(weeks)
        assert api["total_trips"] == sum(w["trips"] for w in weeks)
        assert api["weekly_average"] == (api["total_trips"] / len(weeks) if weeks else 0)
        if "region" in q:
            where = "r.name = '%s'" % q["region"]
        else:
            x0, y0, x1, y1 = q["bbox"].split(",")
            o = "t.origin_lon BETWEEN %s AND %s AND t.origin_lat BETWEEN %s AND %s" % (x0, x1, y0, y1)
            d = o.replace("origin", "dest")
            where = {"origin": o, "destination": d, "both": "(%s) AND (%s)" % (o, d),
                     "either": "(%s) OR (%s)" % (o, d)}[q.get("match", "origin")]
        brute = dict(stack.psql(
            "SELECT tripline.iso_week(t.ts), count(*) FROM tripline.trips t JOIN tripline.regions r "
            "ON r.id = t.region_id WHERE %s GROUP BY 1" % where))
        for w in weeks:
            assert w["trips"] == int(brute.get(w["week_start"], 0)), (path, w)
    # The July file leaves June empty: zero weeks are listed.
    api = get(stack, "/api/reports/weekly-average?region=Prague")
    assert any(w["trips"] == 0 for w in api["weeks"]), api
    # A box edge exactly on a trip: inside.
    lon, lat = stack.psql("SELECT origin_lon, origin_lat FROM tripline.trips LIMIT 1")[0]
    api = get(stack, "/api/reports/weekly-average?bbox=%s,%s,%s,%s" % (lon, lat, lon, lat))
    assert api["total_trips"] >= 1, api
    assert api["area"] == {"bbox": [float(lon), float(lat), float(lon), float(lat)]}


def test_weekly_average_box_given_lat_lon(stack):
    """A box given lat,lon holds no trip: the answer stays 200 and exact
    (zeros), with a hint naming the box the other way round when that one
    holds trips.  No hint for a box with trips, for one whose swap holds
    none either, nor for one whose longitudes are no latitudes."""
    stack = loaded(stack)
    path = "/api/reports/weekly-average?bbox="
    want = {m: get(stack, path + "14.3,49.9,14.7,50.2&match=" + m)["total_trips"]
            for m in ("origin", "destination")}
    assert want["origin"] > 0 and want["destination"] > 0, want
    # Counted by the end the match names (both and either: the origins).
    for match, end in (("", "origin"), ("&match=destination&from=2018-01-01", "destination"),
                       ("&match=both", "origin"), ("&match=either", "origin")):
        got = get(stack, path + "49.9,14.3,50.2,14.7" + match)
        assert got["total_trips"] == 0 and all(w["trips"] == 0 for w in got["weeks"]), got
        assert got["hint"] == ("no trip in this box; read as lat,lon it holds %d (their "
                               "%ss): bbox is minLon,minLat,maxLon,maxLat, try "
                               "bbox=14.3,49.9,14.7,50.2" % (want[end], end)), (match, got)
    # One trip's origin given lat,lon: read the other way round it holds
    # that origin and no destination, so a hint for the origins only (it
    # counted origins for match=destination too, and said so).
    lon, lat = stack.psql(
        "SELECT origin_lon, origin_lat FROM tripline.trips t WHERE NOT EXISTS (SELECT FROM "
        "tripline.trips d WHERE d.dest_lon = t.origin_lon AND d.dest_lat = t.origin_lat) "
        "LIMIT 1")[0]
    point = "%s,%s,%s,%s" % (lat, lon, lat, lon)
    assert "(their origins)" in get(stack, path + point)["hint"]
    got = get(stack, path + point + "&match=destination")
    assert got["total_trips"] == 0 and "hint" not in got, got
    assert "hint" not in get(stack, path + "14.3,49.9,14.7,50.2")
    assert "hint" not in get(stack, path + "1,2,3,4")
    empty = get(stack, path + "-170,10,-100,20")
    assert empty["total_trips"] == 0 and "hint" not in empty, empty

    # The trip groups likewise, in both formats; no hint when the groups
    # are none for min_trips while the box holds trips.
    groups = "/api/reports/trip-groups?bbox="
    for fmt, key in (("json", "groups"), ("geojson", "features")):
        got = get(stack, groups + "49.9,14.3,50.2,14.7&format=" + fmt)
        assert got[key] == [] and got["hint"].endswith(
            "try bbox=14.3,49.9,14.7,50.2"), got
    got = get(stack, groups + "14.3,49.9,14.7,50.2&min_trips=1000000000")
    assert got["groups"] == [] and "hint" not in got, got
    got = get(stack, groups + "1,2,3,4")
    assert got["groups"] == [] and "hint" not in got, got


# -- trip groups -----------------------------------------------------------------

def groups_brute(stack, where, mt, lim, having="true"):
    """The trip groups by brute force over every trip, as the report lists
    them (dicts of its JSON fields)."""
    p = int(stack.scalar("SELECT value FROM tripline.settings WHERE key = 'cell_precision'"))
    sm = int(stack.scalar("SELECT value FROM tripline.settings WHERE key = 'slot_minutes'"))
    rows = stack.psql("""
        SELECT r.name, t.origin_cell >> {sh}, t.dest_cell >> {sh},
               (extract(hour FROM t.ts) * 60 + extract(minute FROM t.ts))::int / {sm}, count(*),
               avg(t.origin_lon), avg(t.origin_lat), avg(t.dest_lon), avg(t.dest_lat),
               min(t.ts), max(t.ts), string_agg(DISTINCT d.name, ',' ORDER BY d.name)
        FROM tripline.trips t JOIN tripline.regions r ON r.id = t.region_id
        JOIN tripline.datasources d ON d.id = t.datasource_id
        WHERE {where}
        GROUP BY t.region_id, r.name, 2, 3, 4 HAVING count(*) >= {mt} AND {having}
        ORDER BY count(*) DESC, t.region_id, 2, 3, 4 LIMIT {lim}""".format(
        sh=5 * (12 - p), sm=sm, where=where, mt=mt, lim=lim, having=having))
    return [{"region": b[0], "origin_cell": geohash_text(int(b[1]), p),
             "dest_cell": geohash_text(int(b[2]), p), "slot": int(b[3]), "trips": int(b[4]),
             "origin_lon": float(b[5]), "origin_lat": float(b[6]), "dest_lon": float(b[7]),
             "dest_lat": float(b[8]), "first_seen": b[9], "last_seen": b[10],
             "datasources": b[11].split(",")} for b in rows]


def same_groups(got, want, what):
    """Report groups against groups_brute: equal, centroids to 1e-9."""
    assert len(got) == len(want), (what, len(got), len(want))
    for g, b in zip(got, want):
        for k, v in b.items():
            if k.endswith("_lon") or k.endswith("_lat"):
                assert abs(g[k] - v) < 1e-9, (what, k, g, b)
            else:
                assert g[k] == v, (what, k, g, b)


def test_trip_groups(stack):
    stack = loaded(stack)
    for q, where, mt, lim in (("min_trips=1&limit=300", "true", 1, 300),
                              ("", "true", 2, 100),
                              ("region=Turin&min_trips=1&limit=50", "r.name = 'Turin'", 1, 50)):
        api = get(stack, "/api/reports/trip-groups?" + q)
        assert api["count"] == len(api["groups"]), api
        same_groups(api["groups"], groups_brute(stack, where, mt, lim), q)
        v = dict(kv.split("=") for kv in q.split("&") if kv)
        rows = psql_file(stack, "trip_groups", **v)
        assert len(rows) == len(api["groups"])
        for row, obj in zip(rows, api["groups"]):
            assert_row(row, obj, q)
    # A box: groups whose origin centroid is inside, edges inclusive.
    top = get(stack, "/api/reports/trip-groups?min_trips=1&limit=5")["groups"]
    g = top[0]
    box = "%r,%r,%r,%r" % (g["origin_lon"], g["origin_lat"], g["origin_lon"] + 0.01, g["origin_lat"] + 0.01)
    inside = get(stack, "/api/reports/trip-groups?min_trips=1&limit=10000&bbox=" + box)["groups"]
    assert any(x == g for x in inside)
    for x in inside:
        assert g["origin_lon"] <= x["origin_lon"] <= g["origin_lon"] + 0.01
    # GeoJSON: a FeatureCollection of LineStrings [lon, lat] (RFC 7946).
    r = stack.http("GET", "/api/reports/trip-groups?min_trips=1&limit=20&format=geojson")
    assert r.status == 200 and r.headers["content-type"] == "application/geo+json", r
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 20
    for f, g in zip(fc["features"], get(stack, "/api/reports/trip-groups?min_trips=1&limit=20")["groups"]):
        assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString"
        assert f["geometry"]["coordinates"] == [[g["origin_lon"], g["origin_lat"]],
                                                [g["dest_lon"], g["dest_lat"]]]
        assert f["properties"] == g
        lon, lat = f["geometry"]["coordinates"][0]
        assert -180 <= lon <= 180 and -90 <= lat <= 90 and abs(lon) < 20 < abs(lat)


def test_trip_groups_centroid_printed_short(stack):
    """A group's centroid is its coordinates' sum over its count, which
    can be an ulp off their mean: three trips from 14.4973 gave
    14.497300000000001, and the runner's sum of 70 trips from -0.1 is
    more than an ulp off: 15 significant digits printed
    -0.0999999999999999 (018_groups_bounds.sql).  The report prints it to
    9 decimal places (tripline.group_mean, 021_groups_audit.sql), so
    equal points give that point back, and a box on that point holds the
    group; one trip gives its coordinates as read, all 16 digits of them,
    even where the database's extra_float_digits is 0.  Through the
    endpoint, pending and merged."""
    del stack
    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})
    try:
        data = (b"region,origin_coord,destination_coord,datetime,datasource\n" +
                b"".join(b"Prague,POINT (14.4973 50.0755),POINT (14.4301 50.0402),"
                         b"2018-05-2%d 08:10:00,app\n" % d for d in (1, 2, 3)) +
                b"Prague,POINT (14.42559591323251 50.05243955448663),POINT (14.4 50.1),"
                b"2018-05-21 09:10:00,app\n" +
                b"".join(b"London,POINT (-0.1 51.5),POINT (-0.12 51.52),"
                         b"2018-05-21 14:%02d:%02d,app\n" % (m // 2, m % 2 * 30)
                         for m in range(70)))
        assert s.load(tagged(data))["state"] == "succeeded"
        for phase in ("pending", "merged"):
            r = s.http("GET", "/api/reports/trip-groups?min_trips=1")
            assert r.status == 200 and b"00000000" not in r.body, (phase, r)
            groups = {g["trips"]: g for g in r.json()["groups"]}
            assert set(groups) == {1, 3, 70}, (phase, groups)
            assert [groups[70][k] for k in ("origin_lon", "origin_lat", "dest_lon", "dest_lat")] \
                == [-0.1, 51.5, -0.12, 51.52], (phase, groups[70])
            # A box that is just the printed centroid holds its group.
            assert get(s, "/api/reports/trip-groups?bbox=-0.1,51.5,-0.1,51.5")["groups"] \
                == [groups[70]], phase
            assert [groups[3][k] for k in ("origin_lon", "origin_lat", "dest_lon", "dest_lat")] \
                == [14.4973, 50.0755, 14.4301, 50.0402], (phase, groups[3])
            assert [groups[1][k] for k in ("origin_lon", "origin_lat")] \
                == [14.42559591323251, 50.05243955448663], (phase, groups[1])
            if phase == "pending":
                tend_groups(s)
        # Whatever the server's extra_float_digits: the programs ask for
        # shortest-exact output when they connect (lib/db.c).
        s.psql("ALTER DATABASE tripline SET extra_float_digits = 0")
        s.restart_cgi()
        r = s.http("GET", "/api/reports/trip-groups?min_trips=1")
        one = [g for g in r.json()["groups"] if g["trips"] == 1]
        assert [(g["origin_lon"], g["origin_lat"]) for g in one] == \
            [(14.42559591323251, 50.05243955448663)], r
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_trip_groups_on_every_edge_and_before_1970(stack):
    """A box whose edge is a group's printed centroid holds the group on
    each of its four edges (group_in_box, 018_groups_bounds.sql).  The
    runner's sum over n trips divided by n can fall on either side of the
    printed value: six trips at (0.1 1.1) give 0.09999999999999999 and
    1.0999999999999999, below both minimum edges; six at (0.7 45.3) give
    0.7000000000000001 and 45.300000000000004, above both maximum edges.
    And times before 1970 that are not whole minutes take the slot they
    read (the loader's floor division, jobs/loader.c): 23:59:30 on
    1969-12-31 is slot 23, 08:59:30 in 1950 slot 8.  Pending and merged;
    then three jobs around them, and the aggregates equal a rebuild."""
    del stack
    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})
    try:
        rows = [b"Edge,POINT (0.1 1.1),POINT (3 3),2018-05-21 10:%02d:00,app" % m
                for m in range(6)]
        rows += [b"Edge,POINT (0.7 45.3),POINT (3 3),2018-05-21 11:%02d:00,app" % m
                 for m in range(6)]
        rows += [b"Old,POINT (20 20),POINT (21 21),1969-12-31 23:59:30,app",
                 b"Old,POINT (20 20),POINT (21 21),1950-06-01 08:59:30,app"]
        data = b"region,origin_coord,destination_coord,datetime,datasource\n" + \
            b"\n".join(rows) + b"\n"
        assert s.load(tagged(data))["state"] == "succeeded"
        low = {"origin_lon": 0.1, "origin_lat": 1.1}
        high = {"origin_lon": 0.7, "origin_lat": 45.3}
        for phase in ("pending", "merged"):
            for bbox, want in (("0.1,1.1,0.5,2", low), ("0.1,1.1,0.1,1.1", low),
                               ("0.5,40,0.7,45.3", high), ("0.7,45.3,0.7,45.3", high)):
                got = get(s, "/api/reports/trip-groups?min_trips=1&bbox=" + bbox)["groups"]
                assert [{k: g[k] for k in want} for g in got] == [want], (phase, bbox, got)
            old = get(s, "/api/reports/trip-groups?min_trips=1&region=Old")["groups"]
            assert sorted((g["first_seen"], g["slot"]) for g in old) == \
                [("1950-06-01 08:59:30", 8), ("1969-12-31 23:59:30", 23)], (phase, old)
            if phase == "pending":
                tend_groups(s)
        # Three later jobs in the 1969 trip's group: earlier than every
        # trip so far, later, then between, so that a merge that kept the
        # last job's first or last datetime instead of the least first and
        # the greatest last (of groups, of regions' datasources) shows.
        for ts in (b"1940-01-01 23:59:30", b"2000-01-01 23:30:00", b"1960-01-01 23:00:00"):
            j = s.load(tagged(b"region,origin_coord,destination_coord,datetime,datasource\n"
                              b"Old,POINT (20 20),POINT (21 21)," + ts + b",app\n"))
            assert j["state"] == "succeeded", j
        tend_groups(s)
        g = [g for g in get(s, "/api/reports/trip-groups?min_trips=1&region=Old")["groups"]
             if g["slot"] == 23]
        assert [(x["trips"], x["first_seen"], x["last_seen"]) for x in g] == \
            [(4, "1940-01-01 23:59:30", "2000-01-01 23:30:00")], g
        check_aggregates(s)
    finally:
        s.close()


def test_trip_groups_psql_errors_name_the_parameter(stack):
    """The SQL file run as the README says (`. var/env && psql`, the admin
    role, whose search_path lacks tripline) answers a bad variable with an
    error naming it, as the API's 400 names its parameter: a bbox cut
    short reached an unqualified call and answered "function
    report_bad_param(unknown, unknown) does not exist"; a value that is no
    number failed in a cast that named nothing (021_groups_audit.sql)."""
    cases = (("trip_groups", {"minlon": "1"}, 'bbox: needs four numbers'),
             ("weekly_average", {"minlon": "1"}, 'bbox: needs four numbers'),
             ("trip_groups", {"minlon": "nan", "minlat": "1", "maxlon": "2", "maxlat": "3"},
              'minlon: "nan" is not a number'),
             # PostgreSQL's float8 input took these, where the API and the
             # docs take lib/num.c's grammar: the first answered for the
             # box [0, 16] (032_report_numbers.sql).
             ("weekly_average", {"minlon": "0x0", "minlat": "0", "maxlon": "0x1p4",
                                 "maxlat": "60"}, 'minlon: "0x0" is not a number'),
             ("weekly_average", {"minlon": " 14.4", "minlat": "50", "maxlon": "14.5",
                                 "maxlat": "50.1"}, 'minlon: " 14.4" is not a number'),
             ("weekly_average", {"minlon": "infinity", "minlat": "50", "maxlon": "1",
                                 "maxlat": "50.1"}, 'minlon: "infinity" is not a number'),
             ("weekly_average", {"minlon": "1e400", "minlat": "50", "maxlon": "1",
                                 "maxlat": "50.1"}, 'minlon: "1e400" is not a number'),
             ("weekly_average", {"minlon": "1e999999999", "minlat": "50", "maxlon": "1",
                                 "maxlat": "50.1"}, 'minlon: "1e999999999" is not a number'),
             ("trip_groups", {"minlon": "1", "minlat": "x", "maxlon": "2", "maxlat": "3"},
              'minlat: "x" is not a number'),
             ("trip_groups", {"min_trips": "abc"}, 'min_trips: "abc" is not an integer'),
             ("trip_groups", {"limit": "99999999999"}, 'limit: "99999999999" is not an integer'),
             ("trip_groups", {"min_trips": "0"}, 'min_trips: below 1'),
             ("weekly_average", {"minlon": "1", "minlat": "x", "maxlon": "2", "maxlat": "3"},
              'minlat: "x" is not a number'),
             ("weekly_average", {"region": "Prague", "from": "2018-02-30"},
              'from: "2018-02-30" is not a date YYYY-MM-DD'),
             ("weekly_average", {"region": "Prague", "to": "May 1"},
              'to: "May 1" is not a date YYYY-MM-DD'),
             # PostgreSQL's date input took these, where the API and the
             # docs take YYYY-MM-DD of the years 1900 to 2100 only: the
             # first answered for May 10 (DateStyle MDY), not 5 October
             # (029_report_dates.sql).
             ("weekly_average", {"region": "Prague", "from": "05/10/2018"},
              'from: "05/10/2018" is not a date YYYY-MM-DD'),
             ("weekly_average", {"region": "Prague", "to": "today"},
              'to: "today" is not a date YYYY-MM-DD'),
             ("weekly_average", {"region": "Prague", "from": "infinity"},
              'from: "infinity" is not a date YYYY-MM-DD'),
             ("weekly_average", {"region": "Prague", "from": "20180510"},
              'from: "20180510" is not a date YYYY-MM-DD'),
             ("weekly_average", {"region": "Prague", "from": "1800-01-01"},
              'from: "1800-01-01" is not within the years 1900 to 2100'),
             ("weekly_average", {"region": "Prague", "to": "2101-01-01"},
              'to: "2101-01-01" is not within the years 1900 to 2100'),
             # latest_datasource.sql cast :'top' itself, and answered
             # 'invalid input syntax for type integer: "abc"'.
             ("latest_datasource", {"top": "abc"}, 'top: "abc" is not an integer'),
             ("latest_datasource", {"top": "99999999999"},
              'top: "99999999999" is not an integer'),
             ("latest_datasource", {"top": "0"}, 'top: not within 1 to 1000'),
             # It looked the empty name up: 'datasource "" not found'.
             ("datasource_regions", {"datasource": ""}, 'datasource: missing'))
    for name, variables, want in cases:
        try:
            psql_file(stack, name, **variables)
        except RuntimeError as e:
            assert "ERROR:  " + want + "\n" in str(e), (name, variables, str(e))
        else:
            raise AssertionError("no error for %s %r" % (name, variables))
    # An empty variable is still "not given".
    assert len(psql_file(stack, "trip_groups", min_trips="", limit="", minlon="")) <= 100
    assert psql_file(stack, "latest_datasource", top="") == \
        psql_file(stack, "latest_datasource")
    # What underflows is 0, as the API reads it ("5." and ".5" are numbers).
    for tiny in ("1e-400", "1e-999999999"):
        row = psql_file(stack, "weekly_average", minlon=tiny, minlat="-.5", maxlon="5.",
                        maxlat="2")[0]
        assert json.loads(row["area"]) == {"bbox": [0, -0.5, 5, 2]}, (tiny, row["area"])
    # The years' ends are dates still.
    psql_file(stack, "weekly_average", minlon="1", minlat="2", maxlon="3", maxlat="4",
              **{"from": "1900-01-01", "to": "2100-12-31"})


def test_trip_groups_settings_checked_and_kept(stack):
    """The cell precision and slot length are kept from the first start
    (docs/reports.md, "Cells and slots"): a later value is ignored, and
    migrate.sh now says so instead of nothing; a value the runner cannot
    use (precision 1-12, slot 1-1440 minutes) is refused before anything
    is written, where it was kept and then failed every job ("could not
    aggregate", "invalid setting slot_minutes")."""
    migrate = os.path.join(ROOT, "scripts", "migrate.sh")
    kept = dict(stack.psql("SELECT key, value FROM tripline.settings"))

    def run(**env):
        return subprocess.run([migrate], env=stack.db_env(**env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    other = str(int(kept["cell_precision"]) % 12 + 1)
    r = run(TRIPLINE_CELL_PRECISION=other)
    assert r.returncode == 0, r.stderr
    assert ("migrate: TRIPLINE_CELL_PRECISION=%s ignored: this installation keeps %s"
            % (other, kept["cell_precision"])).encode() in r.stderr, r.stderr
    # The kept values, given again (with a leading zero) or not at all: silent.
    for env in ({}, {"TRIPLINE_CELL_PRECISION": "0" + kept["cell_precision"],
                     "TRIPLINE_SLOT_MINUTES": kept["slot_minutes"]}):
        r = run(**env)
        assert r.returncode == 0 and r.stderr == b"", (env, r.stderr)
    for name, value, rng in (("TRIPLINE_CELL_PRECISION", "13", "1 to 12"),
                             ("TRIPLINE_CELL_PRECISION", "0", "1 to 12"),
                             ("TRIPLINE_SLOT_MINUTES", "0", "1 to 1440"),
                             ("TRIPLINE_SLOT_MINUTES", "1441", "1 to 1440"),
                             ("TRIPLINE_SLOT_MINUTES", "1h", "1 to 1440")):
        r = run(**{name: value})
        assert r.returncode != 0, (name, value)
        assert ('migrate: %s "%s": must be an integer from %s' % (name, value, rng)).encode() \
            in r.stderr, (name, value, r.stderr)
    assert dict(stack.psql("SELECT key, value FROM tripline.settings")) == kept


def test_trip_groups_slot_setting_missing_fails_the_load(stack):
    """Without its slot_minutes row the runner grouped the trips in 30
    minute slots of its own, which no report function (they read the
    row, and find NULL) agrees with: now the load fails, saying so."""
    kept = stack.scalar("SELECT value FROM tripline.settings WHERE key = 'slot_minutes'")
    stack.psql("DELETE FROM tripline.settings WHERE key = 'slot_minutes'")
    try:
        j = stack.load(gen(100, 20261128))
    finally:
        stack.psql("INSERT INTO tripline.settings (key, value) VALUES ('slot_minutes', '%s')"
                   % kept)
    assert j["state"] == "failed" and j["error"] == "setting slot_minutes: missing", j
    assert j["rows_loaded"] == 0, j


def test_trip_groups_every_plan(stack):
    """report_trip_groups picks one of four ways to read the groups
    (007_groups_plan.sql); each gives what the plain query over every
    group gives.  tripline.groups_budget cuts the head it reads first
    (group_top) down to 1, 7 or 50 entries, so that the region and box
    ways run on this small data too."""
    seen = every_plan(loaded(stack), random.Random(20261125))
    assert seen == {"0", "1", "2", "3"}, seen


def test_trip_groups_top_kept_small(stack):
    """group_top keeps only the largest groups once it would hold more
    than `keep` (009_group_top.sql).  With keep = 40, after three jobs its
    minimum has risen above 2, it holds exactly the groups at or above
    it, agg_rebuild() starts it again the same way, and every way of
    reading the groups still gives the plain query's answer, including
    a head that group_top no longer holds whole."""
    del stack
    s = harness.Stack()
    try:
        s.psql("UPDATE tripline.group_top_state SET keep = 40")
        for data in (gen(20000, 515151), gen(10000, 525252), gen(10000, 535353)):
            assert s.load(tagged(data))["state"] == "succeeded"
        wait_idle(s)
        wait_rims(s)        # the groups reach group_top when the upkeep merges them
        top_min = int(s.scalar("SELECT min_trips FROM tripline.group_top_state"))
        assert top_min > 2, top_min
        assert int(s.scalar("SELECT count(*) FROM tripline.group_top")) >= 40
        check_aggregates(s)
        assert int(s.scalar("SELECT min_trips FROM tripline.group_top_state")) > 2
        seen = every_plan(s, random.Random(20261126), forced_min=0)
        assert {"0", "3"} <= seen, seen
        assert not s.sanitizer_reports()
    finally:
        s.close()


def test_trip_groups_pending(stack):
    """A job's groups wait in its stage until the idle runner merges them
    (017_groups_later.sql); meanwhile the report sums trip_groups and the
    stages (step 4).  Three jobs sharing group keys (one point repeated,
    70 datasources: ids of 64 and more too), on a stack whose runner
    never tends: the report by function, endpoint and SQL file against
    brute force while all three are pending, with one merged, and with
    all merged (the stages then dropped), for regions, boxes of all
    sizes, limits and minimums."""
    del stack
    rnd = random.Random(7017)
    spot = [(14.41 + rnd.random() * 0.002, 50.08 + rnd.random() * 0.001) for _ in range(3)]

    def shared(n):
        out = io.StringIO()
        out.write("region,origin_coord,destination_coord,datetime,datasource\n")
        for _ in range(n):
            (a, b), (c, d) = rnd.choice(spot), rnd.choice(spot)
            out.write("Prague,POINT (%r %r),POINT (%r %r),2018-05-%02d 08:%02d:00,src%02d\n"
                      % (a, b, c, d, rnd.randrange(1, 28), rnd.randrange(20), rnd.randrange(70)))
        return out.getvalue().encode()

    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})

    def fn(region, box, mt, lim):
        rows, messages = s.psql_messages(
            "SET client_min_messages = debug1; SELECT region, origin_cell, dest_cell, slot, "
            "trips, origin_lon, origin_lat, dest_lon, dest_lat, first_seen, last_seen, "
            "datasources FROM tripline.report_trip_groups(%s, %s, %d, %d)" % (
                region, box, mt, lim))
        got = [{"region": r[0], "origin_cell": r[1], "dest_cell": r[2], "slot": int(r[3]),
                "trips": int(r[4]), "origin_lon": float(r[5]), "origin_lat": float(r[6]),
                "dest_lon": float(r[7]), "dest_lat": float(r[8]), "first_seen": r[9],
                "last_seen": r[10], "datasources": json.loads(r[11])} for r in rows]
        steps = re.findall(r"trip groups: step (\d)", messages)
        return got, steps + ["bound"] * len(re.findall(r"trip groups: bound", messages))

    def check(want_step, bound=True):
        """want_step: "4" while any job is pending (then, if bound, its
        bound is taken at least once, by the cases of a small limit), else
        None.  The bound comes from group_top (018_groups_bounds.sql): none
        while every job is pending."""
        steps = set()
        whole = ("NULL", "NULL, NULL, NULL, NULL", "true", "true")
        prague = ("'Prague'", "NULL, NULL, NULL, NULL", "r.name = 'Prague'", "true")
        for (region, box, where, having), mt, lim in ((whole, 2, 5), (prague, 3, 5),
                                                      (whole, 2, 20), (prague, 2, 30),
                                                      (whole, 2, 1000), (prague, 2, 100)):
            got, st = fn(region, box, mt, lim)
            same_groups(got, groups_brute(s, where, mt, lim, having), (region, mt, lim))
            steps.update(st)
        assert ("bound" in steps) == (want_step == "4" and bound), steps
        steps.discard("bound")
        cases = [whole, prague]
        boxes = random_boxes(s, 30, rnd) + [(14.4, 50.07, 14.43, 50.09), (14.0, 49.0, 15.0, 51.0)]
        for b in boxes:
            if b[0] <= b[2] and b[1] <= b[3]:
                cases.append(("NULL", ", ".join("%r::float8" % v for v in b), "true",
                              "avg(t.origin_lon) BETWEEN %r AND %r AND avg(t.origin_lat) "
                              "BETWEEN %r AND %r" % (b[0], b[2], b[1], b[3])))
        for region, box, where, having in cases:
            mt, lim = rnd.choice((1, 2, 3)), rnd.choice((5, 100, 1000))
            got, st = fn(region, box, mt, lim)
            same_groups(got, groups_brute(s, where, mt, lim, having), (region, box, mt, lim))
            steps.update(st)
        steps.discard("bound")
        assert steps == {want_step} if want_step == "4" else "4" not in steps, steps
        for q in ("min_trips=1&limit=200", "region=Prague&min_trips=2",
                  "bbox=14.4,50.07,14.43,50.09&min_trips=1&limit=50"):
            api = get(s, "/api/reports/trip-groups?" + q)["groups"]
            v = dict(kv.split("=") for kv in q.split("&"))
            if "bbox" in v:
                v["minlon"], v["minlat"], v["maxlon"], v["maxlat"] = v.pop("bbox").split(",")
            rows = psql_file(s, "trip_groups", **v)
            assert len(rows) == len(api) and api, (q, len(rows), len(api))
            for row, obj in zip(rows, api):
                assert_row(row, obj, q)

    try:
        jobs = [s.load(tagged(gen(8000, 717171))), s.load(shared(3000)), s.load(shared(2000))]
        assert all(j["state"] == "succeeded" for j in jobs), jobs
        more = s.scalar("SELECT count(*) FROM tripline.datasources WHERE id >= 64")
        assert int(more) > 0, more
        assert s.scalar("SELECT count(*) FROM tripline.trip_groups") == "0"
        assert s.scalar("SELECT count(*) FROM tripline.groups_pending") == "3"
        assert int(s.scalar("SELECT count(*) FROM tripline.group_stage_more")) > 0
        check("4", bound=False)
        # group_top kept small from here (009_group_top.sql), so that its
        # minimum rises above min_trips and the bound is too low for a
        # large limit: step 4 then falls back to summing every group.
        s.psql("UPDATE tripline.group_top_state SET keep = 5")
        check_aggregates(s)                 # which rebuilds: none pending
        assert int(s.scalar("SELECT min_trips FROM tripline.group_top_state")) > 2
        assert s.scalar("SELECT count(*) FROM tripline.groups_pending") == "0"
        assert tend(s, 0) == "dropped 3 merged group stages"
        # Again, merged one job at a time by the upkeep.
        jobs = [s.load(shared(2500)), s.load(shared(1500))]
        assert all(j["state"] == "succeeded" for j in jobs), jobs
        check("4")
        assert tend(s, 0) == "merged the groups of job %d" % jobs[0]["id"]
        check("4")
        check_group_top(s)
        assert tend(s, 0) == "merged the groups of job %d" % jobs[1]["id"]
        assert tend(s, 0) == "dropped 2 merged group stages"
        assert s.psql("SELECT inhrelid::regclass FROM pg_inherits "
                      "WHERE inhparent = 'tripline.group_stage'::regclass") == []
        check(None)
        check_aggregates(s)
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_trip_groups_pending_bound(stack):
    """Step 4's bound (017_groups_later.sql) on groups made for it: merged,
    5 groups of 12 trips (all of group_top, kept to 5: its minimum 12)
    and 30 of 3; pending, 60 new groups of 2.  With a limit of 5 the
    bound (12) reaches group_top's minimum and only the candidates are
    read; with 20 it is 2, below it, and the report sums every group:
    the 15 groups of 3 come before any of 2, though neither group_top
    nor the stage holds them.  min_trips=1 and boxes take the bound too
    (018_groups_bounds.sql)."""
    del stack
    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})

    def trips(groups):
        out = io.StringIO()
        out.write("region,origin_coord,destination_coord,datetime,datasource\n")
        for n, (i, size) in enumerate(groups):
            lon, lat = 14.0 + (i % 20) * 0.05, 49.5 + (i // 20) * 0.05
            for k in range(size):
                out.write("Prague,POINT (%r %r),POINT (%r %r),2018-05-%02d 08:10:00,app\n"
                          % (lon, lat, lon + 0.01, lat, 1 + (n + k) % 28))
        return out.getvalue().encode()

    try:
        s.psql("UPDATE tripline.group_top_state SET keep = 5")
        merged = s.load(trips([(i, 12) for i in range(5)] + [(i, 3) for i in range(5, 35)]))
        assert merged["state"] == "succeeded", merged
        tend_groups(s)
        assert s.scalar("SELECT min_trips FROM tripline.group_top_state") == "12"
        pending = s.load(trips([(i, 2) for i in range(35, 95)]))
        assert pending["state"] == "succeeded", pending
        def check(box, mt, lim, bound):
            """The report against brute force, and whether it took the
            bound; its counts."""
            rows, messages = s.psql_messages(
                "SET client_min_messages = debug1; SELECT region, origin_cell, dest_cell, "
                "slot, trips FROM tripline.report_trip_groups(NULL, %s, %d, %d)"
                % (box or "NULL, NULL, NULL, NULL", mt, lim))
            assert ("trip groups: bound" in messages) == bound, (box, mt, lim, messages)
            having = "true" if box is None else (
                "avg(t.origin_lon) BETWEEN {0} AND {2} AND avg(t.origin_lat) "
                "BETWEEN {1} AND {3}".format(*box.split(", ")))
            want = groups_brute(s, "true", mt, lim, having)
            assert [(r[0], r[1], r[2], int(r[3]), int(r[4])) for r in rows] == \
                [(g["region"], g["origin_cell"], g["dest_cell"], g["slot"], g["trips"])
                 for g in want], (box, mt, lim)
            return [int(r[4]) for r in rows]

        for lim, bound in ((5, True), (20, False), (100, False)):
            counts = check(None, 2, lim, bound)
        assert counts == [12] * 5 + [3] * 30 + [2] * 60
        # min_trips=1 and boxes take the bound too (018_groups_bounds.sql):
        # a box's bound counts only group_top's groups whose centroid lies
        # inside it by more than a cell (0.011 by 0.0055 degrees at 6
        # characters).  The small box holds the five groups of 12 and
        # fifteen of 3: with a limit of 20 group_top holds only five of
        # them, no bound; the last box leaves out one group of 12.
        for box, mt, lim, bound in ((None, 1, 5, True),
                                    ("13.9, 49.4, 15.1, 49.8", 2, 5, True),
                                    ("13.98, 49.48, 14.47, 49.57", 1, 5, True),
                                    ("14.03, 49.48, 14.47, 49.57", 2, 5, False)):
            check(box, mt, lim, bound)
        assert check("13.98, 49.48, 14.47, 49.57", 2, 20, False) == [12] * 5 + [3] * 15
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_trip_groups_under_a_merge_and_a_sweep(stack):
    """A trip-groups report whose snapshot lists a job's groups as pending
    finds that job's stage, though the upkeep merges them and tries to
    drop the stage before the report reads it (017_groups_later.sql): the
    report's SQL file names group_stage, so the statement holds it from
    before its snapshot and the sweep, which never waits, leaves the stage
    until the report is done.  The report is held after its snapshot by a
    lock on regions, which step 4 reads before the stages."""
    del stack
    s = harness.Stack(env={"TRIPLINE_RIM_COMPACT": "0"})
    holder = None
    try:
        job = s.load(tagged(gen(3000, 727272)))
        assert job["state"] == "succeeded", job
        want = sorted((g["origin_cell"], g["dest_cell"], g["slot"], g["trips"])
                      for g in groups_brute(s, "true", 1, 100000))
        holder = harness.Psql(s, "tg_holder")
        holder.send("BEGIN;")
        holder.send("LOCK TABLE tripline.regions IN ACCESS EXCLUSIVE MODE;")
        holder.wait_idle_in_transaction()
        reader = subprocess.Popen(
            ["psql", "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-v", "min_trips=1",
             "-v", "limit=10000", "-f", os.path.join(REPORTS, "trip_groups.sql")],
            env=s.db_env(PGAPPNAME="tg_reader"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        waiting = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'tg_reader' AND wait_event_type = 'Lock'")
        s.wait_scalar(waiting, "1", "the report did not wait", 10)
        assert tend(s, 0) == "merged the groups of job %d" % job["id"]
        assert s.scalar("SELECT tripline.group_stage_sweep()") == "0"
        holder.send("COMMIT;")
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        got = sorted((r["origin_cell"], r["dest_cell"], int(r["slot"]), int(r["trips"]))
                     for r in csv.DictReader(io.StringIO(out)))
        assert got == want, (len(got), len(want))
        assert s.scalar("SELECT tripline.group_stage_sweep()") == "1"
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        if holder is not None:
            holder.quit()
        s.close()


def every_plan(stack, rnd, forced_min=3):
    """Random regions, boxes, budgets, limits and minimums: the function
    against the plain query; the steps it took.  forced_min: how many
    cases must take the head's step with index scans off."""

    def run(sql):
        rows, messages = stack.psql_messages(sql)
        return rows, re.findall(r"trip groups: step (\d)", messages)

    p = int(stack.scalar("SELECT value FROM tripline.settings WHERE key = 'cell_precision'"))
    ref_sql = ("SELECT r.name, tripline.geohash_text(g.origin_cell, {p}), "
               "tripline.geohash_text(g.dest_cell, {p}), g.slot, g.trips "
               "FROM tripline.trip_groups g JOIN tripline.regions r ON r.id = g.region_id "
               "WHERE g.trips >= {mt} AND {where} "
               "ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot LIMIT {lim}")
    fn_sql = ("SET client_min_messages = debug1; {budget}"
              "SELECT region, origin_cell, dest_cell, slot, trips FROM "
              "tripline.report_trip_groups({region}, {box}, {mt}, {lim})")
    f8 = lambda v: "%r::float8" % v
    cases = []
    for name in ("Prague", "Turin", "Hamburg"):
        cases.append(("'%s'" % name, "NULL, NULL, NULL, NULL", "r.name = '%s'" % name))
    # Boxes of every size, and boxes whose edges are group centroids.
    boxes = [b for b in random_boxes(stack, 120, rnd) if b[0] <= b[2] and b[1] <= b[3]]
    cents = stack.psql("SELECT tripline.group_mean(sum_olon, trips), "
                       "tripline.group_mean(sum_olat, trips) FROM tripline.trip_groups "
                       "WHERE trips >= 2 ORDER BY random() LIMIT 40")
    for lon, lat in ((float(a), float(b)) for a, b in cents):
        w, h = 10 ** rnd.uniform(-4, -1), 10 ** rnd.uniform(-4, -1)
        boxes.append(rnd.choice([(lon, lat, lon + w, lat + h), (lon - w, lat - h, lon, lat),
                                 (lon, lat, lon, lat)]))
    for b in boxes:
        # The centroid as printed (018_groups_bounds.sql).
        where = ("tripline.group_in_box(g.sum_olon, g.sum_olat, g.trips, "
                 "{0}, {1}, {2}, {3})").format(*map(f8, b))
        cases.append(("NULL", ", ".join(map(f8, b)), where))
    seen = set()
    for region, box, where in cases:
        for budget in rnd.sample(["", "SET tripline.groups_budget = 1; ",
                                  "SET tripline.groups_budget = 7; ",
                                  "SET tripline.groups_budget = 50; "], 2):
            mt, lim = rnd.choice((1, 2, 2, 3, 5)), rnd.choice((1, 5, 100))
            got, steps = run(fn_sql.format(budget=budget, region=region, box=box, mt=mt,
                                           lim=lim))
            want = stack.psql(ref_sql.format(p=p, mt=mt, where=where, lim=lim))
            assert got == want, (region, box, budget, mt, lim, steps, got[:5], want[:5])
            seen.update(steps)
    # The head's first matches whatever the plan (012_groups_head_order.sql):
    # without index scans trip_groups cannot be probed group by group, so
    # the planner reads it whole, outside the head or in a hash, and the
    # head's order survives only by ORDER BY.
    noindex = "SET enable_indexscan = off; SET enable_bitmapscan = off; "
    forced = 0
    for region, box, where in cases[:3] + cases[3::10]:
        got, steps = run(fn_sql.format(budget=noindex, region=region, box=box, mt=2, lim=100))
        want = stack.psql(ref_sql.format(p=p, mt=2, where=where, lim=100))
        assert got == want, ("no index scans", region, box, steps, got[:5], want[:5])
        forced += steps == ["0"] and len(want) == 100
    assert forced >= forced_min, forced
    # Every way ran: the head of the index, a region's, a box's cells,
    # and all groups (a box too large for its cells, found in no head).
    got, steps = run(fn_sql.format(budget="SET tripline.groups_budget = 1; ", region="NULL",
                                   box="-40, 20, 20, 60", mt=2, lim=100))
    want = stack.psql(ref_sql.format(p=p, mt=2, lim=100, where=(
        "g.sum_olon / g.trips BETWEEN -40 AND 20 AND g.sum_olat / g.trips BETWEEN 20 AND 60")))
    assert got == want and steps == ["3"], (steps, got[:3], want[:3])
    seen.update(steps)
    # min_trips=1 as 2: the head's first matches, for the head holds every
    # group of at least its minimum (018_groups_bounds.sql), where all
    # groups were read.
    for lim in (1, 5, 100):
        got, steps = run(fn_sql.format(budget="", region="NULL",
                                       box="NULL, NULL, NULL, NULL", mt=1, lim=lim))
        want = stack.psql(ref_sql.format(p=p, mt=1, lim=lim, where="true"))
        assert got == want and steps == ["0"], ("min_trips=1", lim, steps, got[:3], want[:3])
    return seen


# -- bad input ---------------------------------------------------------------------

def test_bad_input(stack):
    stack = loaded(stack)
    w = "/api/reports/weekly-average?"
    for q, name in (("bbox=1,2,3", "bbox"), ("bbox=1,2,3,4,5,6", "bbox"), ("bbox=a,b,c,d", "bbox"),
                    ("bbox=nan,0,1,1", "bbox"), ("bbox=inf,0,1,1", "bbox"), ("bbox=0x1p3,0,9,1", "bbox"),
                    ("bbox=10,50,9,51", "bbox"), ("bbox=1,51,2,50", "bbox"), ("bbox=-181,0,1,1", "bbox"),
                    ("bbox=0,0,1,91", "bbox"), ("bbox=1,,2,3", "bbox"), ("bbox=", "bbox"),
                    ("bbox=1e400,0,1,1", "bbox"), ("bbox=0,0,1,1&bbox=0,0,1,1", "bbox"),
                    ("bbox=0,0,1,1&region=Prague", "bbox"), ("", "bbox"), ("bbbox=1", "bbbox"),
                    ("bbox=0,0,1,1&match=sideways", "match"), ("region=Prague&match=origin", "match"),
                    ("bbox=0,0,1,1&from=2018-02-30", "from"), ("bbox=0,0,1,1&to=18-05-01", "to"),
                    ("bbox=0,0,1,1&from=2018-05-10&to=2018-05-01", "to"),
                    ("region=%ff%fe", "region")):
        p = bad(stack, w + q, name)
        assert p["status"] == 400
    # Both dates named: which one is "from" was left to guess.
    p = bad(stack, w + "bbox=0,0,1,1&from=2018-05-10&to=2018-05-01", "to")
    assert p["detail"] == 'to "2018-05-01": must not be before from "2018-05-10"', p
    g = "/api/reports/trip-groups?"
    for q, name in (("min_trips=-1", "min_trips"), ("min_trips=0", "min_trips"),
                    ("limit=1000000", "limit"), ("limit=x", "limit"), ("format=kml", "format"),
                    ("bbox=1,2,3", "bbox"), ("bbox=0,0,1,1&region=Turin", "bbox"), ("foo=1", "foo")):
        bad(stack, g + q, name)
    bad(stack, "/api/reports/latest-datasource?top=0", "top")
    bad(stack, "/api/reports/latest-datasource?top=abc", "top")
    bad(stack, "/api/reports/datasource-regions", "datasource")
    bad(stack, "/api/reports/datasource-regions?datasource=cheap_mobile&x=1", "x")
    # Unknown names: 404, not zero.
    for path in ("/api/reports/weekly-average?region=Atlantis",
                 "/api/reports/trip-groups?region=Atlantis",
                 "/api/reports/datasource-regions?datasource=no_such_source",
                 "/api/reports/datasource-regions?datasource=%27%20OR%20%271%27%3D%271",
                 "/api/reports/weekly-average?region=x%27%3B%20DROP%20TABLE%20trips%3B--"):
        p = bad(stack, path, None, 404)
        assert "not found" in p["detail"], p
    assert int(stack.scalar("SELECT count(*) FROM tripline.trips")) > 0
    assert not stack.sanitizer_reports(), stack.sanitizer_reports()


# -- edges found by the weekly audit -------------------------------------------

_edges = []


def edges(stack):
    """A stack of its own with crafted rows: names that sort apart in C
    and in a language's order, tied counts and tied datetimes."""
    del stack
    if not _edges:
        s = harness.Stack()
        atexit.register(s.close)
        _edges.append(s)
        out = io.StringIO()
        out.write("region,origin_coord,destination_coord,datetime,datasource\n")
        for region in ("Zed", "abc"):
            for i in range(6):
                out.write("%s,POINT (3 3),POINT (4 4),2021-01-03 23:59:59,%s\n"
                          % (region, "Zq" if i % 2 else "aq"))
        out.write("Mid,POINT (3 3),POINT (4 4),2021-01-04 00:00:00,aq\n")
        # The whole calendar's span: 1900-01-01 (a Monday) to 2100's last week.
        out.write("Far,POINT (-180 -90),POINT (180 90),1900-01-01 00:00:00,far\n")
        out.write("Far,POINT (180 90),POINT (-180 -90),2100-12-31 23:59:59,far\n")
        j = s.load(tagged(out.getvalue().encode()))
        assert j["state"] == "succeeded", j
        wait_idle(s)
    return _edges[0]


def test_report_ties_in_c_order(stack):
    """Ties go by name in C order (docs/reports.md, "The two questions")
    whatever the collation of the names: here a language's one, as on a
    database made with en_US.UTF-8 (a default RDS one), where "abc" sorts
    before "Zed" and C puts "Zed" first (019_weekly_fixes.sql)."""
    s = edges(stack)
    coll = s.scalar("SELECT collname FROM pg_collation WHERE collname IN "
                    "('en-x-icu', 'und-x-icu', 'en_US.utf8') ORDER BY 1 LIMIT 1")
    if coll is None:
        raise harness.Skip("no collation other than C")
    alter = ("ALTER TABLE tripline.regions ALTER COLUMN name TYPE text COLLATE \"%s\"; "
             "ALTER TABLE tripline.datasources ALTER COLUMN name TYPE text COLLATE \"%s\"")
    s.psql(alter % (coll, coll))
    try:
        for path in ("/api/reports/latest-datasource?top=1", "/api/reports/latest-datasource?top=2"):
            api = get(s, path)
            assert [r["region"] for r in api["regions"]] == ["Zed", "abc"][:api["top"]], api
            assert (api["datasource"], api["last_seen"]) == ("Zq", "2021-01-03 23:59:59"), api
            assert_row(psql_file(s, "latest_datasource", top=api["top"])[0], api, path)
        api = get(s, "/api/reports/datasource-regions?datasource=aq")
        assert [r["region"] for r in api["regions"]] == ["Mid", "Zed", "abc"], api
        assert [r["region"] for r in psql_file(s, "datasource_regions", datasource="aq")] == \
            ["Mid", "Zed", "abc"]
    finally:
        s.psql(alter % ("default", "default"))


def test_weekly_average_whatever_the_time_zone(stack):
    """The weeks do not depend on the session's TimeZone: in zones whose
    offset changed in the span (Asia/Kolkata from local mean time in
    1906), a series of weeks stepped in that zone drifted off midnight and
    dropped the last week with its trips (019_weekly_fixes.sql).  The
    database's setting reaches the program (restarted) and psql alike."""
    s = edges(stack)
    brute = [tuple(r) for r in s.psql(
        "SELECT g::date::text, (SELECT count(*) FROM tripline.trips t JOIN tripline.regions r "
        "ON r.id = t.region_id WHERE r.name = 'Far' AND tripline.iso_week(t.ts) = g::date) "
        "FROM generate_series('1900-01-01'::timestamp, '2100-12-27', interval '7 days') g "
        "ORDER BY 1")]
    assert len(brute) == 10488 and brute[-1] == ("2100-12-27", "1"), brute[-1]
    db = s.scalar("SELECT current_database()")
    try:
        for tz in ("Asia/Kolkata", "America/Sao_Paulo", "Europe/Moscow"):
            s.psql("ALTER DATABASE \"%s\" SET timezone = '%s'" % (db, tz))
            s.restart_cgi()
            for q, n in (("region=Far", 2), ("bbox=-180,-90,180,90&match=either", 15),
                         ("bbox=180,90,180,90&match=both", 0)):
                api = get(s, "/api/reports/weekly-average?" + q)
                assert api["week_count"] == 10488 and api["total_trips"] == n, (tz, q, api["weeks"][-1])
                if q == "region=Far":
                    assert [(w["week_start"], str(w["trips"])) for w in api["weeks"]] == brute, tz
            csv.field_size_limit(1 << 24)   # 10,488 weeks of JSON in one field
            row = psql_file(s, "weekly_average", region="Far")[0]
            assert (row["week_count"], row["total_trips"]) == ("10488", "2"), (tz, row["week_count"])
    finally:
        s.psql("ALTER DATABASE \"%s\" RESET timezone" % db)
        s.restart_cgi()


def test_report_datetimes_whatever_the_datestyle(stack):
    """Datetimes print as the input files write them (docs/reports.md)
    whatever the database's DateStyle: the programs connect with
    datestyle=ISO (lib/db.c); "SQL, DMY" printed 03/01/2021."""
    s = edges(stack)
    db = s.scalar("SELECT current_database()")
    s.psql("ALTER DATABASE \"%s\" SET datestyle = 'SQL, DMY'" % db)
    try:
        s.restart_cgi()
        api = get(s, "/api/reports/latest-datasource?top=1")
        assert api["last_seen"] == "2021-01-03 23:59:59", api
        api = get(s, "/api/reports/datasource-regions?datasource=far")
        assert [(r["first_seen"], r["last_seen"]) for r in api["regions"]] == \
            [("1900-01-01 00:00:00", "2100-12-31 23:59:59")], api
        api = get(s, "/api/reports/trip-groups?region=Mid&min_trips=1")
        assert api["groups"][0]["first_seen"] == "2021-01-04 00:00:00", api
    finally:
        s.psql("ALTER DATABASE \"%s\" RESET datestyle" % db)
        s.restart_cgi()
