"""test_spool.py: the retention of upload files in the spool
(sql/migrations/025_spool_sweep.sql, jobs/spoolsweep.c).  An idle runner
removes an ended upload's file and marks its job (jobs.spool_removed_at):
at once when it succeeded or was cancelled, after
TRIPLINE_SPOOL_KEEP_FAILED seconds when it failed; an inbox file is never
removed, and nothing outside the spool directory either.
"""
import os
import subprocess
import time
import uuid

import harness
import test_runner as tr

SWEEP_SECONDS = 30      # an idle runner looks at least every 5 s


def path_of(stack, job_id):
    return stack.scalar("SELECT path FROM tripline.jobs WHERE id = %d" % job_id)


def removed_at(stack, job_id):
    return stack.scalar("SELECT coalesce(spool_removed_at::text, '') FROM tripline.jobs "
                        "WHERE id = %d" % job_id)


def wait_marked(stack, job_id, what):
    stack.wait_scalar("SELECT spool_removed_at IS NOT NULL FROM tripline.jobs WHERE id = %d"
                      % job_id, "t", what, SWEEP_SECONDS)


def good_csv():
    return tr.tagged(tr.HEADER + b"\n" + tr.GOOD + b"\n")


def swept_upload(stack):
    """A succeeded upload whose file is then removed: once it is, the idle
    runner has swept after every job that ended before it."""
    job_id = tr.submit(stack, good_csv())
    assert tr.wait_state(stack, job_id)["state"] == "succeeded"
    wait_marked(stack, job_id, "job %d: a succeeded upload not swept" % job_id)
    return job_id


def queue_stopped(stack, data, filename="held.csv"):
    """Queue an upload while no runner runs: it stays queued."""
    stack.stop_runners()
    r = stack.upload(data, filename=filename)
    assert r.status == 202, r
    return r.json()["id"]


def test_spool_succeeded_upload_removed(stack):
    data = good_csv()
    job_id = tr.submit(stack, data)
    path = path_of(stack, job_id)
    assert os.path.dirname(path) == os.path.realpath(os.path.join(stack.var, "spool")), path
    assert tr.wait_state(stack, job_id)["state"] == "succeeded"
    wait_marked(stack, job_id, "job %d: succeeded, its spool file not removed" % job_id)
    assert not os.path.exists(path), path
    # The same content again: a duplicate (succeeded, duplicate_of set),
    # whose own file goes too.
    dup = tr.submit(stack, data)
    dup_path = path_of(stack, dup)
    j = tr.wait_state(stack, dup)
    assert j["state"] == "succeeded" and j["duplicate_of"] == job_id, j
    wait_marked(stack, dup, "job %d: a duplicate's spool file not removed" % dup)
    assert not os.path.exists(dup_path), dup_path


def test_spool_inbox_file_stays(stack):
    name = "keep-%s.csv" % uuid.uuid4().hex
    path = stack.write_inbox(name, good_csv())
    job_id = tr.submit_inbox(stack, name)
    assert tr.wait_state(stack, job_id)["state"] == "succeeded"
    swept_upload(stack)
    assert os.path.exists(path), path
    assert removed_at(stack, job_id) == ""


def test_spool_failed_upload_kept(stack):
    """With the default TRIPLINE_SPOOL_KEEP_FAILED (a week)."""
    job_id = tr.submit(stack, b"\x00\x01\x02\x89PNG\r\n\x1a\n" + os.urandom(4000), "junk.bin")
    path = path_of(stack, job_id)
    j = tr.wait_state(stack, job_id)
    assert j["state"] == "failed" and j["error"].startswith("not a trips CSV"), j
    swept_upload(stack)
    assert os.path.exists(path), path
    assert removed_at(stack, job_id) == ""


def test_spool_cancelled_queued_upload_removed(stack):
    """Cancelled while queued, with no runner: the next runner's first
    sweep, when it starts, removes the file."""
    try:
        job_id = queue_stopped(stack, good_csv())
        path = path_of(stack, job_id)
        r = stack.http("POST", "/api/jobs/%d/cancel" % job_id, b"", stack.auth())
        assert r.status == 200, r
        assert tr.job_row(stack, job_id)["state"] == "cancelled"
        assert os.path.exists(path), path
    finally:
        stack.start_runners(1)
    wait_marked(stack, job_id, "job %d: cancelled, its spool file not removed" % job_id)
    assert not os.path.exists(path), path


def test_spool_path_outside_is_not_removed(stack):
    """Rows whose path is not a file directly in the spool, set by hand:
    marked, and nothing removed, not even a link inside the spool."""
    spool = os.path.realpath(os.path.join(stack.var, "spool"))
    u = uuid.uuid4().hex
    outside = os.path.join(stack.var, "outside-%s.csv" % u)
    with open(outside, "wb") as f:
        f.write(b"mine\n")
    link = os.path.join(spool, "link-%s.csv" % u)
    os.symlink(outside, link)
    sub = os.path.join(spool, "sub-%s" % u)
    os.mkdir(sub)
    nested = os.path.join(sub, "upload-nested.csv")
    with open(nested, "wb") as f:
        f.write(b"nested\n")
    paths = [outside, spool + "/../outside-%s.csv" % u, link, nested, sub, spool,
             spool + "/", "outside-%s.csv" % u]
    ids = []
    try:
        stack.stop_runners()
        for p in paths:
            ids.append(int(stack.scalar(
                "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256, state, "
                "finished_at) VALUES ('x.csv', 'upload', $$%s$$, 5, repeat('0', 64), "
                "'cancelled', now()) RETURNING id" % p)))
    finally:
        stack.start_runners(1)
    for job_id, p in zip(ids, paths):
        wait_marked(stack, job_id, "job %d (%s) not marked" % (job_id, p))
    assert os.path.exists(outside) and os.path.islink(link) and os.path.exists(nested)
    assert os.path.isdir(sub) and os.path.isdir(spool)
    with open(outside, "rb") as f:
        assert f.read() == b"mine\n"
    log = open(os.path.join(stack.var, "log", "runner-1.log"), errors="replace").read()
    for job_id in ids:
        assert "job %d: its path is not a file directly in the spool" % job_id in log, job_id
    os.unlink(link)
    os.unlink(nested)
    os.rmdir(sub)
    os.unlink(outside)


def test_spool_file_gone_or_still_named(stack):
    """An ended upload whose file is already gone is marked, once, without
    a warning (ENOENT counts as removed); a file that an unfinished job
    also names stays, and its ended job is not marked (025's second
    guard).  Rows set by hand."""
    spool = os.path.realpath(os.path.join(stack.var, "spool"))
    u = uuid.uuid4().hex
    gone = os.path.join(spool, "gone-%s.csv" % u)
    shared = os.path.join(spool, "shared-%s.csv" % u)
    with open(shared, "wb") as f:
        f.write(b"shared\n")

    def row(path, state, lease):
        return int(stack.scalar(
            "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256, state, "
            "finished_at, started_at, lease_owner, lease_until) VALUES ('x.csv', 'upload', "
            "$$%s$$, 5, repeat('0', 64), '%s', %s, %s, %s, %s) RETURNING id"
            % (path, state, "now()" if state == "cancelled" else "NULL",
               "now()" if lease else "NULL", "'test'" if lease else "NULL",
               "now() + interval '1 hour'" if lease else "NULL")))
    ids = []
    try:
        stack.stop_runners()
        ids = [row(gone, "cancelled", False), row(shared, "cancelled", False),
               row(shared, "running", True)]
    finally:
        stack.start_runners(1)
    try:
        wait_marked(stack, ids[0], "job %d: its missing file not marked" % ids[0])
        # The gone one's sweep has run past the shared one too.
        swept_upload(stack)
        assert removed_at(stack, ids[1]) == "", "a file an unfinished job names was swept"
        assert os.path.exists(shared)
        log = open(os.path.join(stack.var, "log", "runner-1.log"), errors="replace").read()
        assert "job %d: could not remove" % ids[0] not in log, log[-2000:]
    finally:
        stack.psql("UPDATE tripline.jobs SET state = 'cancelled', finished_at = now(), "
                   "lease_owner = NULL, lease_until = NULL WHERE id = %d" % ids[2])
    wait_marked(stack, ids[1], "job %d: shared file not swept once free" % ids[1])
    assert not os.path.exists(shared)


def test_spool_file_that_cannot_be_removed_waits(stack):
    """A file the runner cannot remove (here immutable: unlink gives EPERM)
    is tried again an hour later (027_spool_retry.sql), with one warning,
    and a whole batch of such jobs no longer keeps later files in the
    spool for ever: before, the same 100 came first at every idle moment.
    Rows set by hand; needs root for chattr."""
    if os.geteuid() != 0 or subprocess.run(["which", "chattr"], stdout=subprocess.DEVNULL).returncode:
        raise harness.Skip("needs root and chattr to make a file immutable")
    spool = os.path.realpath(os.path.join(stack.var, "spool"))
    u = uuid.uuid4().hex
    stuck = os.path.join(spool, "stuck-%s.csv" % u)
    later = os.path.join(spool, "later-%s.csv" % u)
    for p in (stuck, later):
        with open(p, "wb") as f:
            f.write(b"x\n")
    if subprocess.run(["chattr", "+i", stuck], stderr=subprocess.DEVNULL).returncode:
        os.unlink(stuck)
        os.unlink(later)
        raise harness.Skip("this file system has no immutable files")
    # A whole batch that cannot be removed, ended before the file that
    # can, in one statement: a sweep sees all or none.  (The runners are
    # not stopped: stack.sh would chown the immutable file when starting
    # them.)
    ids = [int(x) for x, in stack.psql(
        "INSERT INTO tripline.jobs (filename, source, path, bytes, sha256, state, "
        "finished_at) SELECT 'x.csv', 'upload', p, 2, repeat('0', 64), 'cancelled', "
        "now() - g * interval '1 second' FROM (SELECT $$%s$$ AS p, g FROM "
        "generate_series(1, 100) g UNION ALL SELECT $$%s$$, 0) x ORDER BY g DESC "
        "RETURNING id" % (stuck, later))]
    later_id = ids[-1]
    try:
        wait_marked(stack, later_id, "job %d: kept behind a batch that cannot be removed"
                    % later_id)
        assert not os.path.exists(later)
        assert os.path.exists(stuck)
        waiting = stack.scalar(
            "SELECT count(*) FROM tripline.jobs WHERE path = $$%s$$ AND spool_removed_at "
            "IS NULL AND spool_retry_at > now() + interval '50 minutes'" % stuck)
        assert waiting == "100", waiting
        swept_upload(stack)             # idle moments pass: none is tried again
        log = open(os.path.join(stack.var, "log", "runner-1.log"), errors="replace").read()
        for i in ids[:100]:
            n = log.count("job %d: could not remove its spool file" % i)
            assert n == 1, (i, n, log[-2000:])
    finally:
        subprocess.run(["chattr", "-i", stuck])
        os.unlink(stuck)
        stack.psql("UPDATE tripline.jobs SET spool_removed_at = now() WHERE id IN (%s)"
                   % ",".join(map(str, ids or [0])))


# -- a stack that keeps no failed upload, with split jobs ---------------------

_own = {}


def keep0_stack():
    if "stack" not in _own:
        _own["stack"] = harness.Stack(env={"TRIPLINE_SPOOL_KEEP_FAILED": "0",
                                           "TRIPLINE_SPLIT_BYTES": "400000"}, runners=2)
    return _own["stack"]


def close_keep0_stack():
    s = _own.pop("stack", None)
    if s is None:
        return []
    reports = s.sanitizer_reports()
    s.close()
    return reports


def test_spool_failed_upload_removed_when_keep_is_0(stack):
    s = keep0_stack()
    try:
        job_id = tr.submit(s, b"a,b,c\n1,2,3\n" + uuid.uuid4().hex.encode() + b"\n", "abc.csv")
        path = path_of(s, job_id)
        j = tr.wait_state(s, job_id)
        assert j["state"] == "failed", j
        wait_marked(s, job_id, "job %d: failed, not removed with keep 0" % job_id)
        assert not os.path.exists(path), path
    except Exception:
        close_keep0_stack()
        raise


def test_spool_split_upload_removed_after_its_last_part(stack):
    """A split job's file stays while its parts load, and goes once the
    job has ended (its last part's commit)."""
    s = keep0_stack()
    try:
        probe = os.path.join(s.var, "probe.csv")
        subprocess.run([tr.GEN, "-n", "20000", "-s", str(tr.fresh_seed()), "-o", probe],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with open(probe, "rb") as f:
            data = f.read()
        os.unlink(probe)
        assert len(data) > 3 * 400000, len(data)
        job_id = tr.submit(s, data)
        path = path_of(s, job_id)
        seen_parts = False
        while True:
            state = tr.job_row(s, job_id)["state"]
            loading = s.scalar("SELECT count(*) FROM tripline.job_parts WHERE job_id = %d "
                               "AND state <> 'loaded'" % job_id)
            if state in harness.FINAL_STATES:
                break
            seen_parts = seen_parts or int(loading) > 0
            # Checked after the state: a file gone now belongs to a job
            # that was still running a moment ago.
            assert os.path.exists(path) or \
                tr.job_row(s, job_id)["state"] in harness.FINAL_STATES, "removed mid-load"
            time.sleep(0.05)
        assert state == "succeeded", state
        assert seen_parts, "the job was not split"
        wait_marked(s, job_id, "job %d: split, not removed" % job_id)
        assert not os.path.exists(path), path
    finally:
        reports = close_keep0_stack()
    assert not reports, "\n".join(reports)[:20000]
