"""test_split.py: one large file loaded by two runners at once, in byte
ranges (jobs/split.c, jobs/parts_db.c, sql/migrations/008_parts.sql;
issue "proof of scale", "Beyond one machine").

Each test starts its own stack with two runners and TRIPLINE_SPLIT_BYTES
set, so that a file of a few megabytes is cut into parts.
"""
import os
import re
import signal
import subprocess
import time

import harness
import test_reports
import test_runner as tr

TRIP_COLS = ("origin_lon, origin_lat, dest_lon, dest_lat, ts, origin_cell, dest_cell, "
             "region_id, datasource_id")


def split_stack(split_bytes, runners=2):
    return harness.Stack(env={"TRIPLINE_SPLIT_BYTES": str(split_bytes)}, runners=runners)


def parts(stack, job_id):
    rows = stack.psql("SELECT part, state, attempts, rows_loaded, rows_rejected FROM "
                      "tripline.job_parts WHERE job_id = %d ORDER BY part" % job_id)
    return [(int(p), s, int(a), int(n), int(r)) for p, s, a, n, r in rows]


def leftovers(stack, job_id):
    """What a failed or cancelled split job must not leave behind."""
    return {
        "tables": int(stack.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                   "'trips\\_job\\_%d\\_%%' OR relname = 'trips_job_%d'"
                                   % (job_id, job_id))),
        "rejects": int(stack.scalar("SELECT count(*) FROM tripline.job_rejects WHERE job_id = %d"
                                    % job_id)),
        "staged": int(stack.scalar("SELECT count(*) FROM pg_class WHERE relname LIKE "
                                   "'agg\\_stage\\_%d\\_%%'" % job_id)),
        "parts": int(stack.scalar("SELECT count(*) FROM tripline.job_parts WHERE job_id = %d"
                                  % job_id)),
        "trips": tr.trips(stack, job_id),
    }


def differ(stack, sql_a, sql_b):
    """Rows of a not in b plus rows of b not in a (as multisets)."""
    return int(stack.scalar("SELECT (SELECT count(*) FROM (%s EXCEPT ALL %s) x) + "
                            "(SELECT count(*) FROM (%s EXCEPT ALL %s) y)"
                            % (sql_a, sql_b, sql_b, sql_a)))


def wait_part_claimed(stack, job_id, owner_pid=None, timeout=120):
    """Wait until a part of the job was just claimed: running, and its
    control thread has recorded (every 500 ms) less than a quarter of its
    bytes read, so the part is seconds away from its commit."""
    end = time.time() + timeout
    while time.time() < end:
        rows = stack.psql("SELECT part, coalesce(lease_owner, '') FROM tripline.job_parts "
                          "WHERE job_id = %d AND state = 'running' "
                          "AND bytes_read * 4 < end_byte - first_byte" % job_id)
        for part, owner in rows:
            if owner_pid is None or owner.endswith(":%d" % owner_pid):
                time.sleep(0.3)         # into its load
                return int(part)
        time.sleep(0.02)
    raise AssertionError("no part of job %d was claimed" % job_id)


def test_split_job_loads_like_a_whole_one(stack):
    # Enough rows that the job runs a few seconds, for its progress
    # events' pace below (200,000 rows gave two events here on 2026-11-28, 300,000 four).
    rows, bad = 300000, 300
    s = None
    try:
        # Four parts of a ~37 MB file.
        probe = os.path.join(stack.var, "probe.csv")
        subprocess.run([tr.GEN, "-n", str(rows), "-s", "77", "--bad", str(bad), "-o", probe],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        size = os.path.getsize(probe)
        with open(probe, "rb") as f:
            data = f.read()
        os.unlink(probe)
        s = split_stack(size // 4 + 1)
        job_id = tr.submit(s, data)
        j = tr.wait_state(s, job_id)
        assert j["state"] == "succeeded", j
        assert j["rows_loaded"] == rows and j["rows_rejected"] == bad, j
        assert j["attempts"] == 1, j
        p = parts(s, job_id)
        assert [x[0] for x in p] == [0, 1, 2, 3], p
        assert all(x[1] == "loaded" and x[2] == 1 for x in p), p
        assert sum(x[3] for x in p) == rows and sum(x[4] for x in p) == bad, p
        assert tr.trips(s, job_id) == rows
        # The job's partition is partitioned by part: four tables, attached.
        kids = s.psql("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                      "WHERE i.inhparent = 'tripline.trips_job_%d'::regclass ORDER BY 1" % job_id)
        assert [k for (k,) in kids] == ["trips_job_%d_p%d" % (job_id, k) for k in range(4)], kids
        assert leftovers(s, job_id)["staged"] == 0
        # Its state is not what keeps its trips: set 'failed' (the runner
        # role may write a state, to end a job), they are neither dropped
        # by the runners' sweep nor by the runner's drop (022_parts_sweep.sql).
        s.psql("SET ROLE tripline_runner; UPDATE tripline.jobs SET state = 'failed' "
               "WHERE id = %d" % job_id)
        try:
            assert s.scalar("SET ROLE tripline_runner; "
                            "SELECT tripline.trips_parts_sweep()") == "0"
            try:
                s.psql("SET ROLE tripline_runner; SELECT tripline.trips_parts_drop(%d)"
                       % job_id)
                raise AssertionError("the parts of a job with attached trips were dropped")
            except RuntimeError as e:
                assert "job %d has its trips attached" % job_id in str(e), e
            assert tr.trips(s, job_id) == rows and len(parts(s, job_id)) == 4
        finally:
            s.psql("UPDATE tripline.jobs SET state = 'succeeded' WHERE id = %d" % job_id)
        # Events: one start, one end, progress summed over the parts.
        ev = tr.events(s, job_id)
        assert [e for e, _ in ev if e != "progress"] == ["queued", "started", "succeeded"], ev
        progress = [d for e, d in ev if e == "progress"]
        for d in progress:
            assert set(d) == tr.PROGRESS_KEYS, d
            assert 0 <= d["percent"] <= 100 and d["rows_loaded"] <= rows, d
        assert ev[-1][1]["rows_loaded"] == rows and ev[-1][1]["rows_rejected"] == bad, ev[-1]
        # Twice a second, however many runners sum them: each sends one
        # only when the last is 450 ms old (031_progress_pace.sql, timed
        # at its sum; created_at a few ms later).  Before, the two
        # runners' steps came 0 to 250 ms apart.
        at = [float(t) for (t,) in s.psql(
            "SELECT extract(epoch FROM created_at) FROM tripline.job_events "
            "WHERE job_id = %d AND event = 'progress' ORDER BY id" % job_id)]
        gaps = [round(b - a, 3) for a, b in zip(at, at[1:])]
        # At least one gap to measure (four events here, 2026-11-28).  A
        # runner may stall between its sum and the event's insert, so a
        # gap may come short of 450 ms by that stall; the middle one may
        # not, and none is as short as before.
        assert len(at) >= 2 and min(gaps) >= 0.2, gaps
        assert sorted(gaps)[len(gaps) // 2] >= 0.4, gaps
        # Both runners loaded parts.
        logs = [s.log(n) for n in ("runner-1", "runner-2")]
        assert any("job %d: split into 4 parts" % job_id in t for t in logs), logs
        loaded = [len(re.findall(r"job %d: part \d loaded" % job_id, t)) for t in logs]
        assert sum(loaded) == 4 and min(loaded) > 0, loaded
        test_reports.check_aggregates(s)

        # The same rows loaded whole (one runner, no split; a blank last
        # line makes the content new): the same trips, the same rejects
        # with the same line numbers.
        s.stop_runners()
        s.env["TRIPLINE_SPLIT_BYTES"] = "0"
        s.start_runners(1)
        whole = tr.submit(s, data + b"\n")
        j = tr.wait_state(s, whole)
        assert j["state"] == "succeeded" and j["rows_loaded"] == rows, j
        assert parts(s, whole) == []
        assert differ(s, "SELECT %s FROM tripline.trips WHERE job_id = %d" % (TRIP_COLS, job_id),
                      "SELECT %s FROM tripline.trips WHERE job_id = %d" % (TRIP_COLS, whole)) == 0
        assert differ(s, "SELECT line, reason, raw FROM tripline.job_rejects WHERE job_id = %d"
                      % job_id, "SELECT line, reason, raw FROM tripline.job_rejects "
                      "WHERE job_id = %d" % whole) == 0
        assert int(s.scalar("SELECT count(*) FROM tripline.job_rejects WHERE job_id = %d"
                            % job_id)) == bad
        test_reports.check_aggregates(s)

        # Quotes do not stop a split: every line feed ends a record
        # (lib/csvstream.h), so a part starting after any line feed reads
        # as the whole file does.  Line 6 gets a quoted field (still good);
        # the good line nearest before each part start a quote left open,
        # which rejects that line alone, in the part it ends.
        starts = [int(x) for (x,) in s.psql("SELECT first_line FROM tripline.job_parts "
                                            "WHERE job_id = %d ORDER BY part" % job_id)]
        bad_lines = {int(x) for (x,) in s.psql("SELECT line FROM tripline.job_rejects "
                                               "WHERE job_id = %d" % whole)}
        lines = data.split(b"\n")
        lines[5] = lines[5].replace(b"POINT", b"\"POINT", 1).replace(b"),", b")\",", 1)
        stray = []
        for first in starts[1:]:
            n = first - 1
            while n in bad_lines:
                n -= 1
            lines[n - 1] = lines[n - 1].replace(b"POINT", b"\"POINT", 1)
            stray.append(n)
        quoted_data = b"\n".join(lines)
        s.stop_runners()
        s.env["TRIPLINE_SPLIT_BYTES"] = str(len(quoted_data) // 4 + 1)
        s.start_runners(2)
        quoted = tr.submit(s, quoted_data)
        j = tr.wait_state(s, quoted)
        assert j["state"] == "succeeded", j
        assert j["rows_loaded"] == rows - len(stray) and j["rows_rejected"] == bad + len(stray), j
        assert len(parts(s, quoted)) == 4, parts(s, quoted)
        assert tr.trips(s, quoted) == rows - len(stray)
        got = s.psql("SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d "
                     "AND reason = 'unterminated quote' ORDER BY line" % quoted)
        assert [(int(a), b) for a, b in got] == [(n, "unterminated quote") for n in stray], got
        assert differ(s, "SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d "
                      "AND reason <> 'unterminated quote'" % quoted,
                      "SELECT line, reason FROM tripline.job_rejects WHERE job_id = %d"
                      % whole) == 0
        test_reports.check_aggregates(s)
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        if s is not None:
            s.close()


def test_split_job_polled_progress(stack):
    """A split job's row has the sums of its parts' counts while they
    load (each part's control thread writes its own and the sums every
    500 ms), as GET /api/jobs/{id} shows them, and the exact totals once
    it succeeded; its phase is the least advanced of its parts'."""
    rows, bad = 600000, 600
    s = None
    try:
        probe = os.path.join(stack.var, "probe.csv")
        r = subprocess.run([tr.GEN, "-n", str(rows), "-s", str(tr.fresh_seed()), "--bad",
                            str(bad), "-o", probe], check=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        m = re.search(r"(\d+) good rows, (\d+) bad rows", r.stderr.decode())
        good, bad = int(m.group(1)), int(m.group(2))
        size = os.path.getsize(probe)
        s = split_stack(size // 3 + 1)
        os.rename(probe, os.path.join(s.var, "inbox", "big.csv"))
        st = os.stat(os.path.join(s.var, "inbox"))
        os.chown(os.path.join(s.var, "inbox", "big.csv"), st.st_uid, st.st_gid)
        job_id = tr.submit_inbox(s, "big.csv")
        seen = tr.poll_job(s, job_id)
        final = seen[-1][1]
        assert final["state"] == "succeeded", final
        assert len(parts(s, job_id)) == 3, parts(s, job_id)
        running = [j for _, j in seen if j["state"] == "running"]
        mid = {(j["bytes_read"], j["rows_loaded"]) for j in running
               if 0 < j["rows_loaded"] < good}
        assert len(mid) >= 2, ("the split job's counts did not move while running",
                               [(round(t, 1), j["rows_loaded"], j["bytes_read"]) for t, j in seen])
        for j in running:
            assert j["bytes_read"] <= size and j["rows_loaded"] <= good and \
                j["rows_rejected"] <= bad, j
        assert (final["rows_loaded"], final["rows_rejected"], final["bytes_read"]) == \
            (good, bad, size), (final, good, bad, size)
        # Its phase: the split pass, then the least advanced of the parts'.
        order = ["splitting", "reading", "indexing", "aggregating", "merging"]
        phases = [j["phase"] for j in running if j["phase"] is not None]
        assert phases and set(phases) <= set(order), phases
        assert "reading" in phases and final["phase"] is None, (phases, final)
        progress = [d for e, d in tr.events(s, job_id) if e == "progress"]
        assert progress and all(d["phase"] in order for d in progress), progress
        ranks = [order.index(d["phase"]) for d in progress]
        assert ranks == sorted(ranks), [d["phase"] for d in progress]
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        if s is not None:
            s.close()


def test_split_job_of_short_parts_tells_its_progress(stack):
    """Parts that each load in less than a progress step (500 ms) still
    move the job's counts and its progress events while they are read:
    each part's control thread began its steps afresh, so none of them
    ever wrote one, and a client saw 0 rows and no event until the last
    part's merge (a user's test, 2026-11-28: 64 parts of 3 MB)."""
    s = split_stack(1000000)
    try:
        name, _ = tr.gen_inbox(s, 400000, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        seen = tr.poll_job(s, job_id, every=0.05)
        final = seen[-1][1]
        assert final["state"] == "succeeded", final
        n = len(parts(s, job_id))
        assert n >= 20, n
        reading = [j for _, j in seen if j["state"] == "running" and
                   j["phase"] == "reading" and 0 < j["rows_loaded"] < final["rows_loaded"]]
        assert len({j["rows_loaded"] for j in reading}) >= 2, \
            [(round(t, 2), j["phase"], j["rows_loaded"]) for t, j in seen]
        progress = [d for e, d in tr.events(s, job_id) if e == "progress"]
        read = [d for d in progress if d["phase"] == "reading" and d["rows_loaded"] > 0]
        assert len(read) >= 2, progress
    finally:
        s.close()


def test_split_job_tried_again_times_its_last_attempt(stack):
    """A split job whose split pass failed and was tried again times its
    pace from its last attempt's start, as a whole job does: its counts
    start again from 0, and its elapsed_s and rows_per_s counted the
    failed attempt and the backoff before (036_attempt_start.sql)."""
    s = split_stack(8 * 1024 * 1024)
    try:
        name, _ = tr.gen_inbox(s, 300000, seed=tr.fresh_seed())
        # Kept to the end: a trigger dropped while parts load would wait
        # for the jobs table's lock behind them.
        with harness.refusing(s, "NEW.lease_owner = 'parts' AND NEW.attempts = 1"):
            job_id = tr.submit_inbox(s, name)
            j = tr.wait_state(s, job_id, timeout=180)
        assert j["state"] == "succeeded" and j["attempts"] == 2, j
        assert len(parts(s, job_id)) >= 2, parts(s, job_id)
        ev = tr.check_final_event(s, job_id, "succeeded")
        retry = [d for e, d in ev if e == "retrying"]
        assert len(retry) == 1 and "part" not in retry[0], retry
        done = ev[-1][1]
        # The second attempt began at next_try or after; the first, with
        # the backoff (2 s), before it.  next_try is run_after to the
        # microsecond: whole seconds, as it was told, could be up to a
        # second early.
        next_try = retry[0]["next_try"]
        assert re.fullmatch(r"[0-9T:.Z+-]+", next_try), next_try
        assert s.scalar("SELECT run_after = '%s'::timestamptz FROM tripline.jobs "
                        "WHERE id = %d" % (next_try, job_id)) == "t", next_try
        last = float(s.scalar("SELECT extract(epoch FROM finished_at - run_after) "
                              "FROM tripline.jobs WHERE id = %d" % job_id))
        whole = float(s.scalar("SELECT extract(epoch FROM finished_at - started_at) "
                               "FROM tripline.jobs WHERE id = %d" % job_id))
        assert whole >= last + 1.9, (whole, last)
        # The failed attempt and the backoff (2 s and more) are not in it;
        # the margin is for the part's runner's own steps around them.
        assert done["elapsed_s"] <= last + 1.0, (done, last, whole)
        rows = done["rows_loaded"] + done["rows_rejected"]
        assert done["rows_per_s"] >= rows / (last + 1.0), (done, last, whole)
    finally:
        s.close()


def test_split_part_queued_again_leaves_the_sums(stack):
    """A part queued again (here its runner, the only one, stops) takes
    its counts out of the job's sums at once, and the job's phase is
    its least advanced part's, a queued one counting as reading: they
    kept what that part had counted until another part's next step, so
    for as long as no runner ran (a review of the job's states)."""
    s = split_stack(50 * 1024 * 1024, runners=1)
    try:
        name, _ = tr.gen_inbox(s, 1000000, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        s.wait_scalar("SELECT count(*) FROM tripline.jobs WHERE id = %d AND rows_loaded "
                      ">= 50000" % job_id, "1", "the split job did not count rows", 120)
        s.kill("runner-1", signal.SIGTERM)
        j = s.job(job_id)
        assert j["state"] == "running", j
        sums = s.psql("SELECT sum(rows_loaded), sum(rows_rejected), sum(bytes_read), "
                      "count(*) FILTER (WHERE state = 'queued') FROM tripline.job_parts "
                      "WHERE job_id = %d" % job_id)[0]
        assert int(sums[3]) >= 1, sums
        assert (j["rows_loaded"], j["rows_rejected"], j["bytes_read"]) == \
            tuple(int(x) for x in sums[:3]), (j, sums)
        assert j["phase"] == "reading", j
    finally:
        s.close()


def test_split_job_failed_by_a_part_names_its_attempts(stack):
    """A split job that a part fails, once that part used its attempts,
    tells the part's attempts in its 'failed' event: the job's own are
    1 (its split), and the event said 1 after the part's 'attempt 2
    failed' (a review of the job's states)."""
    s = harness.Stack(env={"TRIPLINE_SPLIT_BYTES": str(8 * 1024 * 1024),
                           "TRIPLINE_MAX_ATTEMPTS": "2"}, runners=1)
    try:
        name, _ = tr.gen_inbox(s, 100000, seed=tr.fresh_seed())
        with harness.refusing(s, "NEW.state = 'loaded' AND NEW.part = 0", table="job_parts"):
            job_id = tr.submit_inbox(s, name)
            j = tr.wait_state(s, job_id, timeout=120)
        assert j["state"] == "failed" and j["attempts"] == 1, j
        ev = tr.check_final_event(s, job_id, "failed")
        retry = [d for e, d in ev if e == "retrying"]
        assert [(d["part"], d["attempt"]) for d in retry] == [(0, 1)], retry
        assert ev[-1][1]["attempts"] == 2, ev[-1]
        assert ev[-1][1]["error"].startswith("could not record the part"), ev[-1]
    finally:
        s.close()


def test_split_job_cancel_after_its_runners_died(stack):
    """A split job whose runners all died is cancelled at once (200), as
    a whole job is: with a part's lease expired and none held, nobody
    would act on a request.  What its loaded parts left waits for a
    runner (the FastCGI program may not drop tables): the next one drops
    it when it starts, and an idle one whenever it finds some."""
    rows = 1000000
    s = split_stack(50 * 1024 * 1024)
    try:
        name, _ = tr.gen_inbox(s, rows, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        # Killed with a part loaded (its table and staged aggregates
        # committed) and another in its load.
        end = time.time() + 180
        while True:
            states = [x[1] for x in parts(s, job_id)]
            if "loaded" in states and "running" in states:
                break
            assert time.time() < end, parts(s, job_id)
            assert tr.job_row(s, job_id)["state"] == "running", tr.job_row(s, job_id)
            time.sleep(0.05)
        for n in s.runner_names():
            s.kill(n, signal.SIGKILL)
        states = [x[1] for x in parts(s, job_id)]
        assert "loaded" in states and "running" in states, parts(s, job_id)

        def cancel():
            return s.http("POST", "/api/jobs/%d/cancel" % job_id, b"", s.auth())
        # While a part's lease still holds, its runner may be alive: asked.
        # (On a slow machine the leases may have expired already: then the
        # first cancel is the one that ends the job.)
        r = cancel()
        if r.status == 202:
            assert r.json()["state"] == "running", r.json()
            s.wait_scalar("SELECT bool_and(lease_until < now()) FROM tripline.job_parts "
                          "WHERE job_id = %d AND state = 'running'" % job_id, "t",
                          "the dead runners' leases did not expire", seconds=30)
            r = cancel()
        assert r.status == 200, (r.status, r.body)
        assert r.json()["state"] == "cancelled" and r.json()["finished_at"], r.json()
        ev = tr.check_final_event(s, job_id, "cancelled")
        assert ev[-1][1] == {"job": job_id, "state": "cancelled"}, ev[-1]
        left = leftovers(s, job_id)
        assert left["tables"] > 0 and left["staged"] > 0 and left["parts"] > 0, left
        assert left["trips"] == 0, left

        # The first runner back drops it all, and the job stays cancelled.
        s.start_runners(1)
        gone = {"tables": 0, "rejects": 0, "staged": 0, "parts": 0, "trips": 0}
        end = time.time() + 30
        while leftovers(s, job_id) != gone:
            assert time.time() < end, leftovers(s, job_id)
            time.sleep(0.2)
        assert tr.job_row(s, job_id)["state"] == "cancelled"

        # An idle runner drops what turns up later, as a part that
        # committed just after its job ended would leave it.
        s.psql("SET ROLE tripline_owner; CREATE TABLE tripline.trips_job_%d_p7 "
               "(LIKE tripline.trips); INSERT INTO tripline.job_parts (job_id, part, "
               "first_byte, end_byte, first_line, header_end, file_stamp, state) "
               "VALUES (%d, 7, 0, 1, 1, 1, 'x', 'loaded')" % (job_id, job_id))
        end = time.time() + 30
        while leftovers(s, job_id) != gone:
            assert time.time() < end, leftovers(s, job_id)
            time.sleep(0.2)
        # Once when it started, once when idle.
        assert s.log("runner-1").count("dropped what the parts of 1 ended job "
                                               "left") == 2, s.log("runner-1")
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_split_job_faults(stack):
    """A runner killed mid-part, a cancel, a file changed under the parts."""
    rows = 1000000
    s = split_stack(50 * 1024 * 1024)
    try:
        # SIGKILL of a runner loading a part: the part is taken up again
        # once its lease expires, and every row is loaded exactly once.
        name, _ = tr.gen_inbox(s, rows, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        killed_part = wait_part_claimed(s, job_id, owner_pid=s.pid("runner-1"))
        s.kill("runner-1", signal.SIGKILL)
        assert tr.trips(s, job_id) == 0
        s.start_runners(2)
        j = tr.wait_state(s, job_id, timeout=240)
        assert j["state"] == "succeeded", j
        assert j["rows_loaded"] == rows and j["attempts"] == 1, j
        assert tr.trips(s, job_id) == rows
        p = parts(s, job_id)
        assert len(p) >= 3 and sum(x[3] for x in p) == rows, p
        assert sorted(x[2] for x in p)[-1] == 2, p      # the killed part's second attempt
        # The stream says which part starts again, and why.
        ev = [(e, d) for e, d in tr.events(s, job_id) if e != "progress"]
        assert [e for e, _ in ev] == ["queued", "started", "retrying", "succeeded"], ev
        assert ev[2][1] == {"job": job_id, "part": killed_part, "attempt": 1,
                            "next_try": ev[2][1]["next_try"],
                            "error": "the runner stopped during the load"}, ev
        assert leftovers(s, job_id)["staged"] == 0

        # The server drops parts' connections: each such part is tried
        # again after a backoff, with a 'retrying' event naming it.
        name, _ = tr.gen_inbox(s, rows, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        wait_part_claimed(s, job_id)
        killed, end = [], time.time() + 30
        while not killed and time.time() < end:
            killed = s.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE query LIKE 'COPY tripline.trips\\_job\\_%d\\_%%' "
                            "AND state = 'active'" % job_id)
        assert killed and all(k == ("t",) for k in killed), killed
        j = tr.wait_state(s, job_id, timeout=240)
        assert j["state"] == "succeeded" and j["rows_loaded"] == rows, j
        assert tr.trips(s, job_id) == rows
        ev = [(e, d) for e, d in tr.events(s, job_id) if e != "progress"]
        retry = [d for e, d in ev if e == "retrying"]
        assert [e for e, _ in ev] == ["queued", "started"] + ["retrying"] * len(killed) + \
            ["succeeded"], ev
        retried = sorted(x[0] for x in parts(s, job_id) if x[2] == 2)
        assert sorted(d["part"] for d in retry) == retried, (retry, parts(s, job_id))
        for d in retry:
            assert set(d) == {"job", "part", "attempt", "next_try", "error"}, d
            assert d["attempt"] == 1 and d["error"], d
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", d["next_try"]), d

        # A cancel while parts load: within a second, nothing left.  Its
        # event tells the job's rows, summed over the parts as the
        # progress was (it told the cancelling part's alone).
        name, _ = tr.gen_inbox(s, rows, seed=tr.fresh_seed())
        job_id = tr.submit_inbox(s, name)
        wait_part_claimed(s, job_id)
        # Two parts loading, each with rows recorded: the sum is more than
        # either part's, by more than a part loads between two steps.
        s.wait_scalar("SELECT count(*) FROM tripline.job_parts WHERE job_id = %d AND "
                      "state = 'running' AND rows_loaded >= 100000" % job_id, "2",
                      "two parts did not load at once", 60)
        time.sleep(0.6)         # a progress step with both
        j, took = tr.cancel_timed(s, job_id, timeout=30)
        assert j["state"] == "cancelled", j
        assert took < 1.0, took
        ev = tr.check_final_event(s, job_id, "cancelled")
        summed = max(d["rows_loaded"] for e, d in ev if e == "progress")
        assert ev[-1][1]["rows_loaded_before_cancel"] >= summed, (ev[-1], summed)
        time.sleep(0.5)         # the other runner's part rolls back
        assert leftovers(s, job_id) == {"tables": 0, "rejects": 0, "staged": 0, "parts": 0,
                                        "trips": 0}, leftovers(s, job_id)

        # The inbox file changes after the split: the job fails, nothing left.
        name, _ = tr.gen_inbox(s, rows, seed=tr.fresh_seed(), bad=100)
        job_id = tr.submit_inbox(s, name)
        wait_part_claimed(s, job_id)
        os.utime(os.path.join(s.var, "inbox", name), (1, 1))
        j = tr.wait_state(s, job_id, timeout=120)
        assert j["state"] == "failed", j
        assert j["error"] == "the file changed after it was queued", j
        time.sleep(0.5)
        assert leftovers(s, job_id) == {"tables": 0, "rejects": 0, "staged": 0, "parts": 0,
                                        "trips": 0}, leftovers(s, job_id)
        test_reports.check_aggregates(s)
        assert not s.sanitizer_reports(), s.sanitizer_reports()
    finally:
        s.close()


def test_split_rejects_listed_once_the_job_succeeded(stack):
    """A split job's parts commit their rejects as each is read, but the
    list is the job's only once it succeeded (README, openapi): while it
    ran, GET /api/jobs/{id}/rejects listed those of the parts done, and a
    job that then failed would have had them taken back."""
    rows, bad = 200000, 300
    data = harness.generate(rows, seed=79, bad=bad)
    s = split_stack(len(data) // 8 + 1, runners=1)
    try:
        job_id = tr.submit(s, data)
        seen = False
        end = time.time() + 120
        while not seen and time.time() < end:
            state = tr.job_row(s, job_id)["state"]
            if state in harness.FINAL_STATES:
                break
            stored = int(s.scalar("SELECT count(*) FROM tripline.job_rejects WHERE job_id = %d"
                                  % job_id))
            listed = s.http("GET", "/api/jobs/%d/rejects" % job_id).json()["rejects"]
            # Running before and after the read: it was running during it.
            if state == "running" and stored > 0 and \
                    tr.job_row(s, job_id)["state"] == "running":
                assert listed == [], (stored, listed[:2])
                seen = True
            time.sleep(0.05)
        assert seen, "no moment with a part's rejects stored while the job ran"
        j = tr.wait_state(s, job_id)
        assert j["state"] == "succeeded" and j["rows_rejected"] == bad, j
        listed = s.http("GET", "/api/jobs/%d/rejects?limit=1000" % job_id).json()["rejects"]
        assert len(listed) == bad, len(listed)
    finally:
        s.close()
