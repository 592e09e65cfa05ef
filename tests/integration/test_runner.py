"""test_runner.py: the job runner (jobs/, issue "ingest pipeline") on the real
stack: loads, rejects, duplicates, cancel, crashes, several runners,
retries.

Files are made unique per test (an extra `tag` column, which the loader
ignores) so that a test never meets another test's content as a duplicate.
Cancel requests are made as the FastCGI program makes them, by setting
jobs.cancel_requested; jobs are queued through the HTTP API.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
import uuid

import harness

ROOT = harness.ROOT
GEN = os.path.join(ROOT, "build", "tripline-gen")
HEADER = b"region,origin_coord,destination_coord,datetime,datasource"
GOOD = b"Prague,POINT (14.4973794438195 50.00136875782316),POINT (14.43109483523328 50.04052930943246),2018-05-28 09:03:40,funny_car"
PROGRESS_KEYS = {"job", "rows_loaded", "rows_rejected", "bytes_read", "bytes_total",
                 "percent", "rows_per_s", "eta_s", "phase"}


# -- helpers -----------------------------------------------------------------

def tagged(data, tag=None):
    """data with a `tag` column holding one value, so its sha256 is new."""
    tag = (tag or uuid.uuid4().hex).encode()
    out = []
    for i, line in enumerate(data.split(b"\n")):
        if line == b"":
            out.append(line)
        elif i == 0:
            out.append(line.rstrip(b"\r") + b",tag")
        else:
            out.append(line.rstrip(b"\r") + b"," + tag)
    return b"\n".join(out)


def fresh_seed():
    """A seed no other test of this stack uses, so contents never repeat."""
    return random.randrange(1, 1 << 40)


def gen_inbox(stack, rows, seed, bad=0):
    """Generate a file straight into the inbox; returns (name, bad counts)."""
    name = "gen-%s.csv" % uuid.uuid4().hex
    path = os.path.join(stack.var, "inbox", name)
    cmd = [GEN, "-n", str(rows), "-s", str(seed), "-o", path]
    if bad:
        cmd += ["--bad", str(bad)]
    r = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    st = os.stat(os.path.join(stack.var, "inbox"))
    os.chown(path, st.st_uid, st.st_gid)
    return name, r.stderr.decode()


def submit_inbox(stack, name):
    r = stack.http("POST", "/api/jobs", json.dumps({"path": name}).encode(),
                   stack.auth({"Content-Type": "application/json"}))
    assert r.status == 202, r
    return r.json()["id"]


def submit(stack, data, filename="trips.csv"):
    r = stack.upload(data, kind="multipart", filename=filename)
    assert r.status == 202, r
    return r.json()["id"]


def job_row(stack, job_id):
    rows = stack.psql("SELECT state, rows_loaded, rows_rejected, attempts, coalesce(error, ''), "
                      "coalesce(duplicate_of, 0) FROM tripline.jobs WHERE id = %d" % job_id)
    s, loaded, rejected, attempts, error, dup = rows[0]
    return {"state": s, "rows_loaded": int(loaded), "rows_rejected": int(rejected),
            "attempts": int(attempts), "error": error, "duplicate_of": int(dup)}


def wait_state(stack, job_id, states=harness.FINAL_STATES, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        j = job_row(stack, job_id)
        if j["state"] in states:
            return j
        time.sleep(0.1)
    raise AssertionError("job %d still %s after %ds" % (job_id, j["state"], timeout))


def cancel_timed(stack, job_id, timeout=60):
    """Ask to cancel job_id and wait until it ends: the job's row and the
    seconds from the request to its end, both on the database's clock
    (finished_at is the ending statement's time), so that neither psql's
    start nor this polling counts, only what the runner took."""
    asked = stack.scalar("UPDATE tripline.jobs SET cancel_requested = true WHERE id = %d "
                         "RETURNING clock_timestamp()" % job_id)
    j = wait_state(stack, job_id, timeout=timeout)
    took = stack.scalar("SELECT extract(epoch FROM finished_at - '%s'::timestamptz) "
                        "FROM tripline.jobs WHERE id = %d" % (asked, job_id))
    return j, float(took)


def events(stack, job_id):
    rows = stack.psql("SELECT event, data FROM tripline.job_events WHERE job_id = %d ORDER BY id"
                      % job_id)
    return [(e, json.loads(d)) for e, d in rows]


def trips(stack, job_id):
    return int(stack.scalar("SELECT count(*) FROM tripline.trips WHERE job_id = %d" % job_id))


def wait_progress(stack, job_id, timeout=60):
    """Wait until the job is loading and has reported some rows."""
    end = time.time() + timeout
    while time.time() < end:
        n = stack.scalar("SELECT count(*) FROM tripline.job_events WHERE job_id = %d AND "
                         "event = 'progress' AND (data->>'rows_loaded')::bigint > 0" % job_id)
        if int(n) > 0:
            return
        time.sleep(0.05)
    raise AssertionError("job %d reported no progress" % job_id)


def check_final_event(stack, job_id, name):
    ev = events(stack, job_id)
    names = [e for e, _ in ev]
    assert names[-1] == name, names
    assert names.count(name) == 1, names
    finals = [e for e in names if e in harness.FINAL_STATES]
    assert finals == [name], names
    return ev


# -- tests -------------------------------------------------------------------

def test_sample_loads_every_row(stack):
    data = tagged(harness.sample_bytes())
    job_id = submit(stack, data)
    j = wait_state(stack, job_id)
    assert j["state"] == "succeeded", j
    assert (j["rows_loaded"], j["rows_rejected"], j["attempts"]) == (100, 0, 1), j
    assert trips(stack, job_id) == 100
    ev = check_final_event(stack, job_id, "succeeded")
    names = [e for e, _ in ev if e != "progress"]
    assert names == ["queued", "started", "succeeded"], names
    started = dict(ev)["started"]
    assert started == {"job": job_id, "attempt": 1, "bytes_total": len(data)}, started
    done = ev[-1][1]
    assert set(done) == {"job", "rows_loaded", "rows_rejected", "duplicate_of", "elapsed_s",
                         "rows_per_s"}, done
    assert (done["job"], done["rows_loaded"], done["rows_rejected"], done["duplicate_of"]) == \
        (job_id, 100, 0, None), done
    # The first sample row, exactly: coordinates, timestamp, names; its
    # slot is in its trip group.
    row = stack.psql(
        "SELECT t.origin_lon, t.origin_lat, t.dest_lon, t.dest_lat, t.ts, r.name, d.name "
        "FROM tripline.trips t JOIN tripline.regions r ON r.id = t.region_id "
        "JOIN tripline.datasources d ON d.id = t.datasource_id "
        "WHERE t.job_id = %d AND t.ts = '2018-05-28 09:03:40' AND d.name = 'funny_car' "
        "AND t.origin_lon = 14.4973794438195" % job_id)
    assert row == [("14.4973794438195", "50.00136875782316", "14.43109483523328",
                    "50.04052930943246", "2018-05-28 09:03:40", "Prague", "funny_car")], row
    slot_minutes = int(stack.scalar(
        "SELECT coalesce((SELECT value FROM tripline.settings WHERE key = 'slot_minutes'), '30')"))
    # The idle runner merges the job's groups into trip_groups after it
    # (sql/migrations/017_groups_later.sql).
    stack.wait_scalar("SELECT count(*) FROM tripline.groups_pending WHERE job_id = %d"
                      % job_id, "0", "the job's groups not merged", 60)
    slots = stack.psql(
        "SELECT DISTINCT slot FROM tripline.trip_groups WHERE first_ts <= '2018-05-28 09:03:40' "
        "AND last_ts >= '2018-05-28 09:03:40' AND sum_olon <> 0 AND "
        "origin_cell = (SELECT t.origin_cell >> (5 * (12 - s.value::int)) FROM tripline.trips t, "
        "tripline.settings s WHERE s.key = 'cell_precision' AND t.job_id = %d "
        "AND t.origin_lon = 14.4973794438195 LIMIT 1)" % job_id)
    assert ((9 * 60 + 3) // slot_minutes,) in [(int(s[0]),) for s in slots], slots
    # The geohash of the origin (geohash.org: u2fkbc...) as a 60-bit integer.
    cell = int(stack.scalar("SELECT origin_cell FROM tripline.trips WHERE job_id = %d AND "
                            "origin_lon = 14.4973794438195 LIMIT 1" % job_id))
    assert cell == 939513030651714364, cell


def test_generated_100k(stack):
    name, _ = gen_inbox(stack, 100000, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    j = wait_state(stack, job_id)
    assert j["state"] == "succeeded", j
    assert (j["rows_loaded"], j["rows_rejected"]) == (100000, 0), j
    assert trips(stack, job_id) == 100000
    slot_minutes = int(stack.scalar(
        "SELECT coalesce((SELECT value FROM tripline.settings WHERE key = 'slot_minutes'), '30')"))
    # Every group's trips lie in its slot (trips keep no slot of their own),
    # once the idle runner has merged this job's groups (017_groups_later.sql).
    stack.wait_scalar("SELECT count(*) FROM tripline.groups_pending WHERE job_id = %d"
                      % job_id, "0", "the job's groups still pending", 120)
    assert int(stack.scalar("SELECT sum(trips) FROM tripline.trip_groups")) >= 100000
    wrong = stack.scalar(
        "SELECT count(*) FROM tripline.trip_groups WHERE "
        "slot <> (extract(hour FROM first_ts) * 60 + extract(minute FROM first_ts))::int / %d "
        "OR slot <> (extract(hour FROM last_ts) * 60 + extract(minute FROM last_ts))::int / %d"
        % (slot_minutes, slot_minutes))
    assert wrong == "0", wrong
    check_final_event(stack, job_id, "succeeded")


def test_generated_bad_rows_counted(stack):
    name, counts = gen_inbox(stack, 5000, seed=fresh_seed(), bad=30)
    m = re.search(r"(\d+) good rows, (\d+) bad rows", counts)
    assert m, counts
    good, bad = int(m.group(1)), int(m.group(2))
    job_id = submit_inbox(stack, name)
    j = wait_state(stack, job_id)
    assert j["state"] == "succeeded", j
    assert (j["rows_loaded"], j["rows_rejected"]) == (good, bad), (j, counts)
    assert trips(stack, job_id) == good
    n = stack.scalar("SELECT count(*) FROM tripline.job_rejects WHERE job_id = %d" % job_id)
    assert int(n) == bad, n


def test_mixed_bad_rows_reasons(stack):
    tag = uuid.uuid4().hex.encode()
    rows = [
        HEADER,
        GOOD,                                                           # 2 good
        GOOD.replace(b"POINT (14.4973794438195 50.00136875782316)", b"POINT (14.4 abc)"),  # 3
        GOOD.replace(b"2018-05-28 09:03:40", b"2018-02-30 09:03:40"),  # 4 no such day
        b"Prague,POINT (1 2)",                                          # 5 fields missing
        b"Pra\x00gue" + GOOD[6:],                                       # 6 NUL in region
        b"\xff\xfe" + GOOD[6:],                                         # 7 invalid UTF-8
        b'"' + b"x" * 70000 + b'",y',                                   # 8 too long
        # 9-10: a quote open at the end of line 9 rejects that line alone
        # (a record is one line); line 10 has a quote inside a field
        b'"multi\nline",POINT (1 2),POINT (3 4),2018-05-28 09:03:40,a\tb\\c',
        GOOD.replace(b"09:03:40", b"10:03:40"),                        # 11 good
        GOOD.replace(b"POINT (14.43109483523328 50.04052930943246)", b"POINT (200 50)"),  # 12
    ]
    data = tagged(b"\n".join(rows) + b"\n", tag.decode())
    job_id = submit(stack, data, "mixed.csv")
    j = wait_state(stack, job_id)
    assert j["state"] == "succeeded", j
    rejects = stack.psql("SELECT line, reason, raw FROM tripline.job_rejects WHERE job_id = %d "
                         "ORDER BY line" % job_id)
    lines = [int(r[0]) for r in rejects]
    loaded = j["rows_loaded"]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 12], rejects
    assert loaded == 2 and j["rows_rejected"] == 9, j
    assert j["rows_rejected"] == len(rejects), (j, rejects)
    assert trips(stack, job_id) == loaded
    reasons = {int(r[0]): r[1] for r in rejects}
    raws = {int(r[0]): r[2] for r in rejects}
    assert "origin_coord" in reasons[3], reasons
    assert "datetime" in reasons[4], reasons
    assert reasons[8] == "line longer than 64 KiB", reasons
    assert reasons[9] == "unterminated quote" and reasons[10] == "misplaced quote", reasons
    assert "destination_coord" in reasons[12], reasons
    # Raw text is stored sanitised (NUL and bad bytes replaced) and cut.
    assert raws[6].startswith("Pra\ufffdgue,POINT"), raws[6]
    assert raws[7].startswith("\ufffd"), raws[7]
    assert len(raws[8].encode()) <= 1024, len(raws[8])
    assert raws[3] == GOOD.replace(b"POINT (14.4973794438195 50.00136875782316)",
                                   b"POINT (14.4 abc)").decode() + "," + tag.decode(), raws[3]


def test_same_content_twice_is_a_duplicate(stack):
    data = tagged(harness.sample_bytes())
    first = submit(stack, data)
    assert wait_state(stack, first)["state"] == "succeeded"
    second = submit(stack, data, "again.csv")
    j = wait_state(stack, second)
    assert j["state"] == "succeeded", j
    assert j["duplicate_of"] == first and j["rows_loaded"] == 0, j
    assert trips(stack, first) == 100 and trips(stack, second) == 0
    done = check_final_event(stack, second, "succeeded")[-1][1]
    assert done["duplicate_of"] == first and done["rows_loaded"] == 0, done


def test_identical_files_loading_at_once(stack):
    """Two runners load the same new content at the same time: the unique
    index jobs_loaded_sha256 lets one commit, the other becomes its
    duplicate."""
    stack.start_runners(2)
    try:
        name, _ = gen_inbox(stack, 200000, seed=fresh_seed())
        with open(os.path.join(stack.var, "inbox", name), "rb") as f:
            data = f.read()
        second_name = "copy-" + name
        stack.write_inbox(second_name, data)
        a = submit_inbox(stack, name)
        b = submit_inbox(stack, second_name)
        ja, jb = wait_state(stack, a), wait_state(stack, b)
        assert ja["state"] == jb["state"] == "succeeded", (ja, jb)
        loaded = [j for j in (ja, jb) if j["duplicate_of"] == 0]
        assert len(loaded) == 1, (ja, jb)
        assert trips(stack, a) + trips(stack, b) == 200000
    finally:
        stack.kill("runner-2", signal.SIGTERM)


def test_not_a_csv_fails_at_once(stack):
    junk = b"\x00\x01\x02\x89PNG\r\n\x1a\n" + os.urandom(4000)
    job_id = submit(stack, junk, "junk.bin")
    j = wait_state(stack, job_id)
    assert j["state"] == "failed", j
    assert j["error"].startswith("not a trips CSV"), j
    assert j["attempts"] == 1, j
    ev = check_final_event(stack, job_id, "failed")
    assert ev[-1][1] == {"job": job_id, "error": j["error"], "attempts": 1}, ev[-1]
    assert "retrying" not in [e for e, _ in ev]

    wrong_header = tagged(b"a,b,c\n1,2,3\n")
    job_id = submit(stack, wrong_header, "abc.csv")
    j = wait_state(stack, job_id)
    assert j["state"] == "failed" and j["error"].startswith("not a trips CSV: "), j

    # A file of line breaks only: queued (it has bytes), and fails as
    # empty (an empty one is refused at once: test_api_jobs).
    name = "empty-%s.csv" % uuid.uuid4().hex
    stack.write_inbox(name, b"\n" * (1 + len(name) % 7))
    r = stack.http("POST", "/api/jobs", json.dumps({"path": name}).encode(),
                   stack.auth({"Content-Type": "application/json"}))
    assert r.status == 202, (r.status, r.body)
    j = wait_state(stack, r.json()["id"])
    assert j["state"] == "failed" and j["error"] == "empty file", j


def test_a_file_gone_or_replaced_names_itself(stack):
    """An inbox file removed, or replaced by a directory, between its
    queueing and its load: the job fails at once naming the file and its
    directory.  It failed "file not found" and "not a regular file", with
    no name, and an upload's "outside the spool" said "the upload
    directory"; a passing cause read "could not open the file: Permission
    denied" (strerror's capital)."""
    stack.stop_runners()
    try:
        gone = "gone-%s.csv" % uuid.uuid4().hex[:8]
        stack.write_inbox(gone, tagged(HEADER + b"\n" + GOOD + b"\n"))
        gone_id = submit_inbox(stack, gone)
        os.unlink(os.path.join(stack.var, "inbox", gone))
        swapped = "swapped-%s.csv" % uuid.uuid4().hex[:8]
        stack.write_inbox(swapped, tagged(HEADER + b"\n" + GOOD + b"\n"))
        swapped_id = submit_inbox(stack, swapped)
        os.unlink(os.path.join(stack.var, "inbox", swapped))
        os.mkdir(os.path.join(stack.var, "inbox", swapped))
        stack.start_runners(1)
        for job_id, want in ((gone_id, '"%s" is no longer in the inbox' % gone),
                             (swapped_id, '"%s" in the inbox is not a regular file' % swapped)):
            j = wait_state(stack, job_id)
            assert (j["state"], j["error"], j["attempts"]) == ("failed", want, 1), j
    finally:
        shutil.rmtree(os.path.join(stack.var, "inbox", swapped), ignore_errors=True)
        stack.start_runners(1)


def test_cancel_running_job(stack):
    name, _ = gen_inbox(stack, 1500000, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    wait_progress(stack, job_id)
    # All at once: nothing is visible while the load transaction is open.
    assert trips(stack, job_id) == 0
    ev = events(stack, job_id)
    progress = [d for e, d in ev if e == "progress"]
    assert progress and set(progress[-1]) == PROGRESS_KEYS, progress
    assert progress[-1]["bytes_total"] > 0 and 0 <= progress[-1]["percent"] <= 100
    j, took = cancel_timed(stack, job_id, timeout=30)
    assert j["state"] == "cancelled", j
    assert took < 1.0, took
    assert trips(stack, job_id) == 0
    ev = check_final_event(stack, job_id, "cancelled")
    assert set(ev[-1][1]) == {"job", "rows_loaded_before_cancel"}, ev[-1]
    assert stack.scalar("SELECT count(*) FROM tripline.job_rejects WHERE job_id = %d"
                        % job_id) == "0"


def test_cancel_after_the_file_is_read(stack):
    """A cancel during the load's last steps (end of the COPY, rejects,
    aggregates merge) also acts within a second: the control thread
    cancels the running statement, and the runner stops sending the
    aggregates it spilled to disk (their COPY would otherwise go on to
    its end: the server swallows the rest of a COPY it failed)."""
    name, _ = gen_inbox(stack, 1000000, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    end = time.time() + 120
    while time.time() < end:
        n = stack.scalar("SELECT count(*) FROM tripline.job_events WHERE job_id = %d AND "
                         "event = 'progress' AND (data->>'percent')::numeric >= 100" % job_id)
        if int(n) > 0 or job_row(stack, job_id)["state"] != "running":
            break
        time.sleep(0.05)
    j, took = cancel_timed(stack, job_id)
    if j["state"] == "succeeded":
        raise harness.Skip("the load committed before the cancel")
    assert j["state"] == "cancelled", j
    assert took < 1.0, took
    assert trips(stack, job_id) == 0
    check_final_event(stack, job_id, "cancelled")
    # A cancel is no error: the statement it ended is not logged as one
    # ("could not merge the aggregates: canceling statement due to user
    # request" was).
    logs = "".join(stack.log(n) for n in stack.runner_names())
    errors = [line for line in logs.splitlines() if "error: job %d: " % job_id in line]
    assert not errors, errors


def test_cancel_while_aggregating_is_no_error(stack):
    """A cancel is no error: the aggregates' merge statement it ends is
    not logged as one ("could not merge the aggregates: canceling
    statement due to user request" was).  The merge is held on the lock
    it takes (agg_merge_counts, 017_groups_later.sql) until the cancel
    has ended it: it is the statement cancelled, on any machine."""
    name, _ = gen_inbox(stack, 20000, seed=fresh_seed())
    hold = harness.Psql(stack, "hold")
    try:
        hold.send("BEGIN; LOCK TABLE tripline.cell_weeks, tripline.region_weeks, "
                  "tripline.region_datasources IN SHARE ROW EXCLUSIVE MODE;")
        hold.wait_idle_in_transaction()
        job_id = submit_inbox(stack, name)
        stack.wait_scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                          "'Lock' AND query LIKE 'SELECT tripline.agg_merge(%'", "1",
                          "the merge did not wait for the lock", 120)
        j, _ = cancel_timed(stack, job_id)
    finally:
        hold.quit()
    assert j["state"] == "cancelled", j
    logs = "".join(stack.log(n) for n in stack.runner_names())
    errors = [line for line in logs.splitlines() if "error: job %d: " % job_id in line]
    assert not errors, errors


def poll_job(stack, job_id, every=0.1, timeout=240):
    """GET /api/jobs/{id} until the job ends: [(seconds, job), ...]."""
    t0, seen = time.time(), []
    while time.time() < t0 + timeout:
        j = stack.job(job_id)
        seen.append((time.time() - t0, j))
        if j["state"] in harness.FINAL_STATES:
            return seen
        time.sleep(every)
    raise AssertionError("job %d still %s after %ds" % (job_id, seen[-1][1]["state"], timeout))


# The phases of a job loaded whole, in order (docs/openapi.yaml, Job.phase).
WHOLE_PHASES = ["reading", "aggregating", "indexing"]


def test_polled_job_progress_while_running(stack):
    """A client polling GET /api/jobs/{id} sees rows_loaded, rows_rejected
    and bytes_read move while the job runs (the control thread writes them
    with each progress event, every 500 ms), never past the file, and
    exact once it succeeded; phase says what the load is doing, and a
    progress event after the reading has no eta_s."""
    rows, bad = 600000, 1000
    name, counts = gen_inbox(stack, rows, seed=fresh_seed(), bad=bad)
    m = re.search(r"(\d+) good rows, (\d+) bad rows", counts)
    assert m, counts
    good, bad = int(m.group(1)), int(m.group(2))
    size = os.path.getsize(os.path.join(stack.var, "inbox", name))
    job_id = submit_inbox(stack, name)
    seen = poll_job(stack, job_id)
    final = seen[-1][1]
    assert final["state"] == "succeeded", final
    running = [(t, j) for t, j in seen if j["state"] == "running"]
    assert running, seen
    # The counts move while it runs, not only at its end.
    mid = {(j["bytes_read"], j["rows_loaded"], j["rows_rejected"]) for _, j in running
           if 0 < j["rows_loaded"] < good}
    assert len(mid) >= 2, ("rows_loaded and bytes_read did not move while running",
                           [(round(t, 1), j["rows_loaded"], j["bytes_read"]) for t, j in seen])
    assert any(0 < j["rows_rejected"] < bad for _, j in running), running
    for (_, a), (_, b) in zip(running, running[1:]):
        for k in ("rows_loaded", "rows_rejected", "bytes_read"):
            assert a[k] <= b[k], (k, a, b)          # one attempt: never backwards
    for _, j in running:
        assert j["bytes_read"] <= size and j["rows_loaded"] <= good and \
            j["rows_rejected"] <= bad, j
    # While the file is read, bytes_read keeps changing (every 500 ms; the
    # gaps seen here include this poller's own requests on a busy 2-core
    # machine under AddressSanitizer, so only a stall of 5 s fails).
    reading = [(t, j["bytes_read"]) for t, j in running if 0 < j["bytes_read"] < size]
    changes = [t for (t, b), (_, a) in zip(reading[1:], reading) if b != a]
    assert changes and max([b - a for a, b in zip(changes, changes[1:])] or [0]) < 5.0, \
        reading
    # Exact at the end.
    assert (final["rows_loaded"], final["rows_rejected"], final["bytes_read"]) == \
        (good, bad, size), (final, good, bad, size)
    # The phase: known names in order while running, null once ended.
    phases = [j["phase"] for _, j in running if j["phase"] is not None]
    assert phases and phases[0] == "reading", phases
    assert all(p in WHOLE_PHASES for p in phases), phases
    ranks = [WHOLE_PHASES.index(p) for p in phases]
    assert ranks == sorted(ranks), phases
    assert final["phase"] is None, final
    # The progress events say the same, with an eta only while reading;
    # after the reading they go on, at 100 percent, naming the phase.
    progress = [d for e, d in events(stack, job_id) if e == "progress"]
    assert progress and set(progress[-1]) == PROGRESS_KEYS, progress[-1:]
    ranks = [WHOLE_PHASES.index(d["phase"]) for d in progress]
    assert ranks == sorted(ranks), [d["phase"] for d in progress]
    for d in progress:
        assert (d["eta_s"] is None) == (d["phase"] != "reading" or d["bytes_read"] == 0 or
                                         d["bytes_read"] == d["bytes_total"]), d
    after = [d for d in progress if d["phase"] != "reading"]
    assert after and all(d["percent"] == 100 for d in after), progress[-3:]


def test_sigkill_mid_job_loads_exactly_once(stack):
    rows = 1000000
    name, _ = gen_inbox(stack, rows, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    wait_progress(stack, job_id)
    stack.kill("runner-1", signal.SIGKILL)
    assert trips(stack, job_id) == 0
    assert job_row(stack, job_id)["state"] == "running"
    stack.start_runners(1)      # a new runner takes the job once the lease expires
    j = wait_state(stack, job_id, timeout=240)
    assert j["state"] == "succeeded", j
    assert j["rows_loaded"] == rows and j["attempts"] == 2, j
    assert trips(stack, job_id) == rows
    ev = [(e, d) for e, d in events(stack, job_id) if e != "progress"]
    names = [e for e, _ in ev]
    # The attempt that died with its runner says so before the next starts.
    assert names == ["queued", "started", "retrying", "started", "succeeded"], names
    retry = ev[2][1]
    assert retry["attempt"] == 1 and ev[3][1]["attempt"] == 2, ev
    assert retry["error"] == "the runner stopped during the load", retry
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", retry["next_try"]), retry


def test_cancel_when_its_runner_died(stack):
    """A running job whose runner died (its lease expired) is cancelled at
    once: nobody would act on a request until a runner came back."""
    name, _ = gen_inbox(stack, 1000000, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    wait_progress(stack, job_id)
    stack.kill("runner-1", signal.SIGKILL)
    try:
        end = time.time() + 60
        while stack.scalar("SELECT lease_until < now() FROM tripline.jobs WHERE id = %d"
                           % job_id) != "t":
            assert time.time() < end, job_row(stack, job_id)
            time.sleep(0.1)
        assert int(job_row(stack, job_id)["rows_loaded"]) > 0
        r = stack.http("POST", "/api/jobs/%d/cancel" % job_id, b"", stack.auth())
        assert r.status == 200, (r.status, r.body)
        assert r.json()["state"] == "cancelled" and r.json()["finished_at"], r.json()
        # Nothing of it is kept: no rows counted (035_cancel_orphan_counts.sql;
        # the dead attempt's progress stayed before), no lease.
        j = stack.job(job_id)
        assert j["rows_loaded"] == 0 and j["rows_rejected"] == 0, j
        assert stack.scalar("SELECT coalesce(lease_owner, '') || coalesce(phase, '') || "
                            "coalesce(lease_until::text, '') FROM tripline.jobs "
                            "WHERE id = %d" % job_id) == ""
        ev = check_final_event(stack, job_id, "cancelled")
        assert ev[-1][1] == {"job": job_id, "state": "cancelled"}, ev[-1]
    finally:
        stack.start_runners(1)
    # The runner that comes back leaves it as it is.
    time.sleep(2)
    assert job_row(stack, job_id)["state"] == "cancelled"
    assert trips(stack, job_id) == 0
    check_final_event(stack, job_id, "cancelled")


def test_last_attempt_lost_with_its_runner_says_so(stack=None):
    """A job whose last attempt died with its runner fails, at the next
    claim, with that reason: not with the error an earlier attempt failed
    of, which the row still held (a review of the job's states).  Two
    attempts: the first refused at its end (a trigger), the second's
    runner killed while it loads."""
    s = harness.Stack(env={"TRIPLINE_MAX_ATTEMPTS": "2"})
    try:
        name, _ = gen_inbox(s, 1000000, seed=fresh_seed())
        with harness.refusing(s, "NEW.state = 'succeeded' AND NEW.attempts = 1"):
            job_id = submit_inbox(s, name)
            end = time.time() + 180
            while True:             # the second attempt loads
                j = job_row(s, job_id)
                if j["attempts"] == 2 and j["state"] == "running" and j["rows_loaded"] > 0:
                    break
                assert time.time() < end and j["state"] in ("queued", "running"), j
                time.sleep(0.05)
            assert j["error"] == "could not record the job: refused by the test", j
            s.kill("runner-1", signal.SIGKILL)
            s.start_runners(1)
            j = wait_state(s, job_id, timeout=120)
            assert j["state"] == "failed" and j["attempts"] == 2, j
            assert j["error"] == "the runner stopped during the load", j
            ev = check_final_event(s, job_id, "failed")
            assert ev[-1][1]["error"] == "the runner stopped during the load", ev[-1]
    finally:
        s.close()


def test_a_cancel_asked_while_a_job_fails_is_kept(stack):
    """A cancel asked while an attempt fails for a passing reason ends
    the job cancelled: before, the job was queued again (a 'retrying'
    event) and cancelled only at its next claim, which counted an attempt
    (a review of the job's states).  The attempt's end is refused by a
    trigger that first waits until the cancel waits for the job's row."""
    name = "cancel-while-failing-%d.csv" % os.getpid()
    # Definer: the runner's role would not see the canceller's wait.  A
    # transaction sees one snapshot of the statistics unless it is
    # cleared.
    wait = """
        FOR i IN 1..600 LOOP
            PERFORM pg_stat_clear_snapshot();
            EXIT WHEN EXISTS (SELECT FROM pg_stat_activity
                WHERE application_name = 'canceller'
                AND wait_event_type = 'Lock');
            PERFORM pg_sleep(0.1);
        END LOOP;"""
    canceller = None
    with harness.refusing(stack, "NEW.state = 'succeeded' AND NEW.filename = '%s'" % name,
                          first=wait, definer=True):
        try:
            job_id = submit(stack, tagged(HEADER + b"\n" + GOOD + b"\n"), filename=name)
            stack.wait_scalar("SELECT count(*) FROM pg_stat_activity WHERE "
                              "query LIKE 'UPDATE tripline.jobs SET state = ''succeeded''%%' "
                              "AND wait_event = 'PgSleep'", "1",
                              "the end did not reach the trigger", 60)
            canceller = harness.Psql(stack, "canceller")
            canceller.send("UPDATE tripline.jobs SET cancel_requested = true WHERE id = %d;"
                           % job_id)
            j = wait_state(stack, job_id, timeout=60)
            canceller.close()
            canceller = None
            assert j["state"] == "cancelled" and j["attempts"] == 1, j
            names = [e for e, _ in events(stack, job_id)]
            assert "retrying" not in names and names[-1] == "cancelled", names
        finally:
            if canceller is not None:
                canceller.quit()


def test_a_late_drop_spares_the_new_owners_table(stack):
    """A runner whose lease another took over drops its own unattached
    table after its commit failed (trips_partition_drop).  When the new
    owner has meanwhile dropped that table and committed its own of the
    same name, the late drop must leave the new one: DROP looked the name
    up again once its lock wait ended and took it."""
    j = 999999998                   # no such job: not running
    t = "tripline.trips_job_%d" % j
    stack.psql("SET ROLE tripline_owner; CREATE TABLE %s (LIKE tripline.trips)" % t)
    new_owner = harness.Psql(stack, "new_owner")
    late = None
    try:
        # The new owner: the old table dropped, its own made, not committed.
        new_owner.send("BEGIN; SET ROLE tripline_owner; DROP TABLE %s; "
                       "CREATE TABLE %s (LIKE tripline.trips); "
                       "INSERT INTO %s SELECT * FROM tripline.trips LIMIT 3;" % (t, t, t))
        new_owner.wait_idle_in_transaction()
        late = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
                                 "SET ROLE tripline_runner; "
                                 "SELECT tripline.trips_partition_drop(%d)" % j],
                                env=stack.db_env(PGAPPNAME="late_runner"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stack.wait_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                          "'late_runner' AND wait_event_type = 'Lock'", "1",
                          "the late drop does not wait for the new owner's lock")
        new_owner.send("COMMIT;")
        new_owner.close()
        out, err = late.communicate(timeout=30)
        assert late.returncode == 0, err
        # Still there (a dropped table is an error here), with its rows.
        assert stack.scalar("SELECT count(*) FROM %s" % t) == \
            stack.scalar("SELECT count(*) FROM (SELECT FROM tripline.trips LIMIT 3) x")
    finally:
        if late is not None and late.poll() is None:
            late.kill()
        new_owner.quit()
        stack.psql("DROP TABLE IF EXISTS %s" % t)


def test_unattached_trips_tables_are_dropped(stack):
    """A whole job's trips table is committed just before the load
    transaction attaches it (013_trips_index_apart.sql), so a runner
    killed in between leaves it unattached.  Made here as such a runner
    would leave it: a starting runner drops the one of a job not running
    (the sweep), and the next load of a running job whose lease expired
    drops that job's before it loads the job once."""
    stack.stop_runners()
    try:
        name, _ = gen_inbox(stack, 20000, seed=fresh_seed())
        job_id = submit_inbox(stack, name)
        stray = 999999999       # no such job: not running
        for j in (stray, job_id):
            stack.psql("SET ROLE tripline_owner; CREATE TABLE tripline.trips_job_%d "
                       "(LIKE tripline.trips); INSERT INTO tripline.trips_job_%d "
                       "SELECT * FROM tripline.trips LIMIT 5" % (j, j))
        # As a runner killed after its trips commit leaves the job.
        stack.psql("UPDATE tripline.jobs SET state = 'running', attempts = 1, "
                   "started_at = now(), lease_owner = 'gone:1', "
                   "lease_until = now() - interval '1 second' WHERE id = %d" % job_id)
        stack.start_runners(1)
        j = wait_state(stack, job_id)
        assert j["state"] == "succeeded" and j["rows_loaded"] == 20000, j
        assert trips(stack, job_id) == 20000
        left = stack.psql("SELECT c.relname, c.relispartition FROM pg_class c "
                          "WHERE c.relname IN ('trips_job_%d', 'trips_job_%d') "
                          "ORDER BY 1" % (stray, job_id))
        assert left == [("trips_job_%d" % job_id, "t")], left
    finally:
        stack.psql("DROP TABLE IF EXISTS tripline.trips_job_999999999")
        stack.start_runners(1)


def test_an_idle_runner_drops_unattached_trips_tables(stack):
    """A job can end without being loaded again (cancelled after its
    runner died, its attempts used up at the claim), so no next load drops
    the table a killed load left.  An idle runner drops it, not only a
    starting one (033_trips_sweep_idle.sql): an ended job's, and one with
    no job row; the table of a running job stays, for its runner."""
    stack.stop_runners()
    name, _ = gen_inbox(stack, 1000, seed=fresh_seed())
    running = submit_inbox(stack, name)
    ended = int(stack.scalar(
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256) "
        "VALUES ('failed', 'ended.csv', 'inbox', 'ended.csv', 0, repeat('0', 64)) "
        "RETURNING id"))
    stray = 999999998       # no such job
    tables = (ended, stray, running)
    try:
        stack.psql("UPDATE tripline.jobs SET state = 'running', attempts = 1, "
                   "started_at = now(), lease_owner = 'elsewhere:1', "
                   "lease_until = now() + interval '1 hour' WHERE id = %d"
                   % running)
        stack.start_runners(1)
        # A job loaded: the runner's start, and its sweep, are behind it.
        job = stack.load(HEADER + b",tag\n" + GOOD + b"," + uuid.uuid4().hex.encode() +
                         b"\n", kind="raw")
        assert job["state"] == "succeeded", job
        for j in tables:
            stack.psql("SET ROLE tripline_owner; CREATE TABLE tripline.trips_job_%d "
                       "(LIKE tripline.trips)" % j)
        left = ("SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class "
                "WHERE relname IN ('trips_job_%d', 'trips_job_%d', 'trips_job_%d')"
                % tables)
        stack.wait_scalar(left, "trips_job_%d" % running,
                          "the idle runner left an unattached table", 20)
    finally:
        stack.psql("DROP TABLE IF EXISTS tripline.trips_job_%d, tripline.trips_job_%d, "
                   "tripline.trips_job_%d" % tables)
        stack.psql("UPDATE tripline.jobs SET state = 'failed', "
                   "finished_at = now(), error = 'test', lease_owner = NULL, "
                   "lease_until = NULL WHERE id = %d" % running)
        stack.start_runners(1)


def test_trips_sweep_skips_a_job_a_claim_holds(stack):
    """The sweep drops a job's table under the job's row lock, skipping a
    row another transaction holds, as a claim does
    (033_trips_sweep_idle.sql): between its reading the job's state and
    the drop, a claim could commit a new table of that name."""
    sweep = "SET ROLE tripline_runner; SELECT tripline.trips_partition_sweep()"
    gone = "SELECT count(*) FROM pg_class WHERE relname = 'trips_job_%d'"
    stack.stop_runners()
    holder = None

    def held_then_let_go(lock_sql):
        """The job's table made again, kept while another session holds
        lock_sql's lock, then dropped once it lets go."""
        nonlocal holder
        stack.psql("SET ROLE tripline_owner; CREATE TABLE tripline.trips_job_%d "
                   "(LIKE tripline.trips)" % job_id)
        holder = harness.Psql(stack, "test-holder")
        holder.send("BEGIN; %s;" % lock_sql)
        holder.wait_idle_in_transaction()
        stack.psql_messages(sweep, timeout=20)      # no wait for it either
        assert stack.scalar(gone % job_id) == "1", lock_sql
        holder.send("COMMIT;")
        holder.close()
        holder = None
        stack.scalar(sweep)
        assert stack.scalar(gone % job_id) == "0", lock_sql

    try:
        name, _ = gen_inbox(stack, 1000, seed=fresh_seed())
        job_id = submit_inbox(stack, name)
        # The job's row, as a claim holds it.
        held_then_let_go("SELECT FROM tripline.jobs WHERE id = %d FOR UPDATE" % job_id)
        # The table, as a stalled load holds it: passed over, not waited
        # for, as the sweep holds the job's row meanwhile.
        held_then_let_go("SELECT FROM tripline.trips_job_%d LIMIT 0" % job_id)
    finally:
        if holder is not None:
            holder.quit()
        stack.start_runners(1)
    j = wait_state(stack, job_id)
    assert j["state"] == "succeeded" and j["rows_loaded"] == 1000, j


def test_sigterm_requeues_without_counting(stack):
    name, _ = gen_inbox(stack, 1000000, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    wait_progress(stack, job_id)
    stack.kill("runner-1", signal.SIGTERM)       # waits for the runner to exit
    j = job_row(stack, job_id)
    assert j["state"] == "queued" and j["attempts"] == 0, j
    assert trips(stack, job_id) == 0
    ev = events(stack, job_id)
    assert ev[-1][0] == "retrying", ev[-1]
    stack.start_runners(1)
    j = wait_state(stack, job_id, timeout=240)
    assert j["state"] == "succeeded" and j["attempts"] == 1, j
    assert trips(stack, job_id) == 1000000


def test_two_runners_drain_twenty_jobs(stack):
    stack.stop_runners()
    try:
        ids = []
        for i in range(20):
            name, _ = gen_inbox(stack, 20000, seed=fresh_seed())
            ids.append(submit_inbox(stack, name))
        time.sleep(0.5)
        assert all(job_row(stack, i)["state"] == "queued" for i in ids)
        stack.start_runners(2)
        for i in ids:
            j = wait_state(stack, i)
            assert j["state"] == "succeeded" and j["duplicate_of"] == 0, (i, j)
            assert j["rows_loaded"] == 20000 and j["attempts"] == 1, (i, j)
            assert trips(stack, i) == 20000, i
            names = [e for e, _ in events(stack, i)]
            assert names.count("started") == 1 and names.count("succeeded") == 1, names
        # Both runners took part (each logs the jobs it finished).
        logs = []
        for n in ("runner-1", "runner-2"):
            with open(os.path.join(stack.var, "log", n + ".log"), errors="replace") as f:
                logs.append(f.read())
        done = [sum(1 for i in ids if "job %d: succeeded" % i in text) for text in logs]
        assert sum(done) == 20 and min(done) > 0, done
    finally:
        stack.kill("runner-2", signal.SIGTERM)
        stack.start_runners(1)


def test_lost_connection_is_retried(stack):
    """A transient failure (the server drops the load's connection) is
    retried after a backoff, and the retry loads every row once."""
    rows = 1000000
    name, _ = gen_inbox(stack, rows, seed=fresh_seed())
    job_id = submit_inbox(stack, name)
    wait_progress(stack, job_id)
    killed = stack.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE query LIKE 'COPY tripline.trips%' AND state = 'active'")
    assert killed == [("t",)], killed
    j = wait_state(stack, job_id, timeout=240)
    assert j["state"] == "succeeded", j
    assert j["attempts"] == 2 and j["rows_loaded"] == rows, j
    assert trips(stack, job_id) == rows
    retry = [d for e, d in events(stack, job_id) if e == "retrying"]
    assert len(retry) == 1, retry
    assert set(retry[0]) == {"job", "attempt", "next_try", "error"}, retry
    assert retry[0]["attempt"] == 1, retry
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", retry[0]["next_try"]), retry


def runner_logs(stack):
    return {n: len(stack.log(n)) for n in stack.runner_names()}


def logged_since(stack, marks, text):
    """The runners' log lines written since marks (runner_logs) that hold text."""
    return [x for n in stack.runner_names() for x in stack.log(n)[marks.get(n, 0):].splitlines()
            if text in x]


def refused_once(stack, name, at_commit):
    """Load a one-row file named name whose first success a trigger
    refuses (at_commit: a deferred one, when the load commits); the job
    is retried and succeeds.  Returns the job's id and its retrying
    events."""
    when = "NEW.state = 'succeeded' AND NEW.filename = '%s' AND NEW.attempts = 1" % name
    with harness.refusing(stack, when, at_commit=at_commit):
        job_id = submit(stack, tagged(HEADER + b"\n" + GOOD + b"\n"), filename=name)
        j = wait_state(stack, job_id, timeout=120)
        assert j["state"] == "succeeded" and j["attempts"] == 2, j
        assert j["rows_loaded"] == 1, j
        retry = [d for e, d in events(stack, job_id) if e == "retrying"]
        assert len(retry) == 1, retry
        return job_id, retry


def test_a_job_that_cannot_be_recorded_says_why(stack):
    """When the job's end cannot be written (here a trigger refuses its
    first success), the retry's error carries the server's reason.  It
    was read after the ROLLBACK, which clears it: "could not record the
    job:" and nothing after."""
    job_id, retry = refused_once(stack, "refused-once-%d.csv" % os.getpid(), False)
    # One line, without libpq's "ERROR:  " and CONTEXT, lower-case
    # after the colon; the runner's log has it all.
    assert retry[0]["error"] == "could not record the job: refused by the test", retry
    logs = "".join(stack.log(n) for n in stack.runner_names())
    assert "job %d: retrying (attempt 1): could not record the job: ERROR:  Refused by " \
        "the test | CONTEXT:  PL/pgSQL function" % job_id in logs, logs[-2000:]


def test_a_job_whose_commit_fails_says_why(stack):
    """A load whose COMMIT fails (here a deferred trigger refuses the
    first success, at commit time) is retried, and the retry's error
    carries the server's reason from the COMMIT (runner_db_commit)."""
    marks = runner_logs(stack)
    job_id, retry = refused_once(stack, "refused-at-commit-%d.csv" % os.getpid(), True)
    assert retry[0]["error"] == "could not commit: refused by the test", retry
    # Logged once, by the runner that handles it (runner_db_commit
    # logged "COMMIT: ..." before it too).
    said = logged_since(stack, marks, "Refused by the test")
    assert len(said) == 1 and said[0].find("job %d: retrying (attempt 1): could not commit: "
                                           % job_id) > 0, said


def test_a_job_whose_aggregates_fail_says_why(stack):
    """A load whose aggregates cannot be merged (here a trigger refuses
    the first attempt's new week of a region) is retried, and the retry's
    error says which aggregate and why: it was "could not aggregate",
    the reason logged on a line of its own before that one."""
    region = "Refusing-%s" % uuid.uuid4().hex[:12]
    name = "refused-aggregate-%d.csv" % os.getpid()
    when = ("(SELECT r.name FROM tripline.regions r WHERE r.id = NEW.region_id) = '%s' "
            "AND (SELECT j.attempts FROM tripline.jobs j WHERE j.filename = '%s' "
            "AND j.state = 'running') = 1" % (region, name))
    marks = runner_logs(stack)
    with harness.refusing(stack, when, table="region_weeks", on="INSERT"):
        job_id = submit(stack, tagged(HEADER + b"\n" + region.encode() + GOOD[len(b"Prague"):]
                                      + b"\n"), filename=name)
        j = wait_state(stack, job_id, timeout=120)
    assert j["state"] == "succeeded" and j["attempts"] == 2 and j["rows_loaded"] == 1, j
    retry = [d for e, d in events(stack, job_id) if e == "retrying"]
    assert len(retry) == 1 and retry[0]["error"].startswith("could not ") and \
        retry[0]["error"].endswith(": refused by the test"), retry
    said = logged_since(stack, marks, "Refused by the test")
    assert len(said) == 1 and "job %d: retrying (attempt 1): " % job_id in said[0], said


def test_runner_memory_stays_flat(stack):
    """Peak memory of the optimised runner (the sanitizers' quarantine
    would blur the picture) after a 1M-row file (127 MB): far below the
    file, so nothing grows with the rows."""
    binary = os.path.join(ROOT, "build", "tripline-runner")
    if not os.access(binary, os.X_OK):
        raise harness.Skip("%s not built" % binary)
    env = {k: v for k, v in stack.env.items() if not k.startswith(("ASAN", "UBSAN"))}
    env.update({k: stack.db[k] for k in ("PGHOST", "PGPORT", "PGDATABASE")})
    env.update({"TRIPLINE_DB_USER": "tripline_runner",
                "TRIPLINE_SPOOL": os.path.join(stack.var, "spool"),
                "TRIPLINE_INBOX": os.path.join(stack.var, "inbox")})
    stack.stop_runners()
    log = open(os.path.join(stack.var, "log", "runner-mem.log"), "ab")
    proc = subprocess.Popen([binary], env=env, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        name, _ = gen_inbox(stack, 1000000, seed=fresh_seed())
        job_id = submit_inbox(stack, name)
        j = wait_state(stack, job_id)
        assert j["state"] == "succeeded" and j["rows_loaded"] == 1000000, j
        with open("/proc/%d/status" % proc.pid) as f:
            hwm = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
        assert hwm < 128 * 1024, hwm
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        stack.start_runners(1)
