"""test_faults.py: faults injected at random times while jobs load
(docs/security.md, "Faults").

- A runner SIGKILLed at random points, at least 20 times, while three
  runners load small files: every job ends succeeded with each of its rows
  in trips exactly once (and each bad row in job_rejects exactly once).
- PostgreSQL restarted (fast, or immediate: a crash) during loads: the
  runners reconnect and finish; event-stream clients resume with
  Last-Event-ID and end with every event of the database, none twice.
- The FastCGI program SIGKILLed while streams are open: the same for the
  clients, across the restart.
- The spool disk full (a 1 MiB tmpfs over the spool): an upload that does
  not fit is 507 with a clear problem, leaves no job and no file; one
  that fits is accepted and loads.

Timing is random; the seed is printed and TRIPLINE_FAULT_SEED=N replays
it.  The last test prints the totals:
    faults: trials=N injected=N rows_lost=0 rows_doubled=0

All tests share one stack of their own (three runners, a 2 s lease, 50
attempts, so that repeated kills of one job never exhaust its attempts);
the last test closes it.
"""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import harness

GEN = os.path.join(harness.ROOT, "build", "tripline-gen")
FINAL = ("succeeded", "failed", "cancelled")
SEED = int(os.environ.get("TRIPLINE_FAULT_SEED") or random.SystemRandom().randrange(1 << 31))
RNG = random.Random(SEED)
TOTAL = {"trials": 0, "injected": 0, "rows_lost": 0, "rows_doubled": 0,
         "events_missing": 0, "events_doubled": 0}
_own = {"stack": None, "mounted": None}


# -- the stack of this file --------------------------------------------------

def fault_stack():
    if _own["stack"] is None:
        print("faults: seed=%d (replay with TRIPLINE_FAULT_SEED=%d)" % (SEED, SEED))
        _own["stack"] = harness.Stack(env={"TRIPLINE_LEASE_SECONDS": "2",
                                           "TRIPLINE_MAX_ATTEMPTS": "50"}, runners=3)
    return _own["stack"]


def close_fault_stack():
    st = _own["stack"]
    if st is None:
        return
    _own["stack"] = None
    try:
        st.script("down")
    except Exception:
        pass
    if _own["mounted"]:
        subprocess.run(["umount", _own["mounted"]], stderr=subprocess.DEVNULL)
        _own["mounted"] = None
    if not os.environ.get("TRIPLINE_KEEP"):
        shutil.rmtree(st.var, ignore_errors=True)


atexit.register(close_fault_stack)


def sigkill(st, name):
    """SIGKILL a program and wait until it is dead.  A dead process stays a
    zombie until init reaps it, which some inits do late, so "dead" is
    state Z in /proc/PID/stat or no such process (harness.Stack.kill
    waits for the reaping)."""
    pid = st.pid(name)
    assert pid is not None, name
    os.kill(pid, signal.SIGKILL)
    end = time.time() + 10
    while time.time() < end:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    break
        except FileNotFoundError:
            break
        time.sleep(0.01)
    else:
        raise AssertionError("%s (pid %d) did not die" % (name, pid))
    os.unlink(os.path.join(st.var, "run", name + ".pid"))
    return pid


# -- jobs --------------------------------------------------------------------

class Job:
    def __init__(self, id_, good, bad):
        self.id, self.good, self.bad = id_, good, bad


def submit_generated(st, rows, bad=0):
    """Generate a unique file into the inbox and queue it."""
    name = "f-%s.csv" % uuid.uuid4().hex
    path = os.path.join(st.var, "inbox", name)
    cmd = [GEN, "-n", str(rows), "-s", str(RNG.randrange(1, 1 << 40)), "-o", path]
    if bad:
        cmd += ["--bad", str(bad)]
    r = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    good, nbad = rows, 0
    if bad:
        words = r.stderr.decode().split()
        good = int(words[words.index("good") - 1])
        nbad = int(words[words.index("bad") - 1])
    s = os.stat(os.path.join(st.var, "inbox"))
    os.chown(path, s.st_uid, s.st_gid)
    for _ in range(50):         # a 503 while the database restarts
        resp = st.http("POST", "/api/jobs", json.dumps({"path": name}).encode(),
                       st.auth({"Content-Type": "application/json"}))
        if resp.status != 503:
            break
        time.sleep(0.2)
    assert resp.status == 202, resp
    return Job(resp.json()["id"], good, nbad)


def wait_final(st, jobs, timeout=180):
    end = time.time() + timeout
    ids = ",".join(str(j.id) for j in jobs)
    while time.time() < end:
        try:
            left = st.scalar("SELECT count(*) FROM tripline.jobs WHERE id IN (%s) AND "
                             "state NOT IN ('succeeded', 'failed', 'cancelled')" % ids)
        except RuntimeError:    # the database is restarting
            left = None
        if left == "0":
            return
        time.sleep(0.1)
    raise AssertionError("jobs not finished after %ds: %s" % (timeout, st.psql(
        "SELECT id, state, attempts, error FROM tripline.jobs WHERE id IN (%s) AND state NOT IN "
        "('succeeded', 'failed', 'cancelled')" % ids)))


def count_rows(st, jobs):
    """(rows lost, rows doubled, problems) over jobs, against trips,
    job_rejects and each job's row."""
    ids = ",".join(str(j.id) for j in jobs)
    trips = dict(st.psql("SELECT job_id, count(*) FROM tripline.trips WHERE job_id IN (%s) "
                         "GROUP BY 1" % ids))
    rejects = dict(st.psql("SELECT job_id, count(*) FROM tripline.job_rejects WHERE job_id IN "
                           "(%s) GROUP BY 1" % ids))
    rows = {int(r[0]): r[1:] for r in st.psql(
        "SELECT id, state, rows_loaded, rows_rejected, coalesce(error, '') FROM tripline.jobs "
        "WHERE id IN (%s)" % ids)}
    ends = dict(st.psql("SELECT job_id, count(*) FROM tripline.job_events WHERE job_id IN (%s) "
                        "AND event IN ('succeeded', 'failed', 'cancelled') GROUP BY 1" % ids))
    lost = doubled = 0
    problems = []
    for j in jobs:
        t = int(trips.get(str(j.id), 0))
        r = int(rejects.get(str(j.id), 0))
        lost += max(0, j.good - t) + max(0, j.bad - r)
        doubled += max(0, t - j.good) + max(0, r - j.bad)
        state, loaded, rejected, error = rows[j.id]
        if (state, int(loaded), int(rejected)) != ("succeeded", j.good, j.bad):
            problems.append("job %d: %s %s/%s rows, want %d/%d %s" % (
                j.id, state, loaded, rejected, j.good, j.bad, error))
        if ends.get(str(j.id)) != "1":
            problems.append("job %d: %s final events" % (j.id, ends.get(str(j.id), "0")))
    return lost, doubled, problems


def report(name, trials, injected, lost, doubled, missing=0, twice=0):
    for k, v in (("trials", trials), ("injected", injected), ("rows_lost", lost),
                 ("rows_doubled", doubled), ("events_missing", missing),
                 ("events_doubled", twice)):
        TOTAL[k] += v
    print("faults: %s: trials=%d injected=%d rows_lost=%d rows_doubled=%d events_missing=%d "
          "events_doubled=%d" % (name, trials, injected, lost, doubled, missing, twice))


# -- event stream clients ----------------------------------------------------

class Follower(threading.Thread):
    """An EventSource: follows path, reconnecting with Last-Event-ID after
    any drop, until a job stream's final event (job set) or until it has
    every id up to stop_at (job None)."""

    def __init__(self, st, path, last_id, job=None):
        super().__init__(daemon=True)
        self.port, self.path, self.last_id, self.job = st.port, path, last_id, job
        self.ids = []               # every id received, in order, repeats kept
        self.names = {}
        self.connects = 0
        self.stop_at = None
        self.quit = False
        self.done = False
        self.error = None

    def run(self):
        try:
            while not self.quit and not self.done:
                try:
                    self.session()
                except (OSError, AssertionError, ValueError):
                    pass
                if not self.done:
                    time.sleep(0.1)         # EventSource waits too (retry)
        except Exception as e:              # noqa: BLE001 - reported by the test
            self.error = repr(e)

    def finished(self):
        if self.job is not None:
            return self.done
        return self.stop_at is not None and self.last_id >= self.stop_at

    def session(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                       "Last-Event-ID: %d\r\n\r\n" % (self.path, self.last_id)).encode())
            s.settimeout(1)
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += self.recv(s)
            head, _, raw = buf.partition(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            self.connects += 1
            if status == 204:               # the client has the final event
                self.done = True
                return
            if status != 200:
                return
            chunked = b"transfer-encoding: chunked" in head.lower()
            body = b""
            ev = {}
            while not self.quit:
                if self.finished():
                    self.done = True
                    return
                if chunked:
                    while True:
                        if b"\r\n" not in raw:
                            break
                        size, _, rest = raw.partition(b"\r\n")
                        n = int(size.split(b";")[0], 16)
                        if len(rest) < n + 2:
                            break
                        if n == 0:
                            return
                        body += rest[:n]
                        raw = rest[n + 2:]
                else:
                    body, raw = body + raw, b""
                while b"\n" in body:
                    line, _, body = body.partition(b"\n")
                    line = line.rstrip(b"\r").decode()
                    if line == "":
                        if "id" in ev:
                            self.event(int(ev["id"]), ev.get("event", "message"))
                        ev = {}
                    elif not line.startswith(":"):
                        k, _, v = line.partition(":")
                        ev[k] = v[1:] if v.startswith(" ") else v
                if self.done:
                    return
                try:
                    more = s.recv(65536)
                except socket.timeout:
                    continue
                if not more:
                    return
                raw += more

    @staticmethod
    def recv(s):
        d = s.recv(65536)
        if not d:
            raise OSError("closed in the head")
        return d

    def event(self, id_, name):
        self.ids.append(id_)
        self.names[id_] = name
        self.last_id = max(self.last_id, id_)
        if self.job is not None and name in FINAL:
            self.done = True


def check_followers(st, followers, jobs, after):
    """(missing, doubled, problems) of every follower against job_events."""
    for f in followers:
        if f.job is None:
            f.stop_at = int(st.scalar("SELECT max(id) FROM tripline.job_events"))
    end = time.time() + 60
    for f in followers:
        f.join(max(0.1, end - time.time()))
    missing = twice = 0
    problems = []
    for f in followers:
        f.quit = True
        if f.error:
            problems.append("%s: %s" % (f.path, f.error))
        if f.is_alive():
            problems.append("%s: still waiting, last id %d" % (f.path, f.last_id))
        if f.job is not None:
            want = [int(r[0]) for r in st.psql(
                "SELECT id FROM tripline.job_events WHERE job_id = %d ORDER BY id" % f.job)]
        else:
            want = [int(r[0]) for r in st.psql(
                "SELECT id FROM tripline.job_events WHERE id > %d AND id <= %d ORDER BY id"
                % (after, f.stop_at))]
        got = set(f.ids)
        missing += len(set(want) - got)
        twice += len(f.ids) - len(got)
        if set(want) != got or len(got) != len(f.ids):
            problems.append("%s: %d events missing, %d twice, %d extra (connects %d)" % (
                f.path, len(set(want) - got), len(f.ids) - len(got), len(got - set(want)),
                f.connects))
    return missing, twice, problems


def open_followers(st, jobs):
    after = int(st.scalar("SELECT coalesce(max(id), 0) FROM tripline.job_events"))
    fs = [Follower(st, "/api/jobs/%d/events" % j.id, 0, job=j.id) for j in jobs for _ in (0, 1)]
    fs.append(Follower(st, "/api/events", after))
    for f in fs:
        f.start()
    return fs, after


def wait_loading(st, jobs, timeout=60):
    """Until some job is being loaded (or, on a fast machine, all ended)."""
    ids = ",".join(str(j.id) for j in jobs)
    end = time.time() + timeout
    while time.time() < end:
        n = st.psql("SELECT count(*) FILTER (WHERE state = 'running'), "
                    "count(*) FILTER (WHERE state IN ('succeeded', 'failed', 'cancelled')) "
                    "FROM tripline.jobs WHERE id IN (%s)" % ids)[0]
        if n[0] != "0" or n[1] == str(len(jobs)):
            return
        time.sleep(0.02)
    raise AssertionError("no job started loading")


def busy_runners(st):
    """Runners holding a job now (lease_owner is "host:pid")."""
    pids = {int(r[0].rsplit(":", 1)[1]) for r in st.psql(
        "SELECT lease_owner FROM tripline.jobs WHERE state = 'running' AND "
        "lease_owner IS NOT NULL")}
    return [n for n in st.runner_names() if st.pid(n) in pids]


def running(st, jobs):
    ids = ",".join(str(j.id) for j in jobs)
    return int(st.scalar("SELECT count(*) FROM tripline.jobs WHERE id IN (%s) AND "
                         "state = 'running'" % ids))


# -- tests -------------------------------------------------------------------

def test_faults_runner_sigkill(stack):
    st = fault_stack()
    jobs = []
    trials = injected = 0
    while trials < 20 or (injected < 10 and trials < 40):
        if not jobs or st.scalar("SELECT count(*) FROM tripline.jobs WHERE state IN "
                                 "('queued', 'running')") == "0":
            for _ in range(8):
                jobs.append(submit_generated(st, RNG.randrange(15000, 60000),
                                             bad=RNG.choice((0, 0, 25))))
        time.sleep(RNG.uniform(0.05, 0.5))
        name = RNG.choice(busy_runners(st) or st.runner_names())
        pid = sigkill(st, name)
        trials += 1
        held = st.scalar("SELECT count(*) FROM tripline.jobs WHERE state = 'running' AND "
                         "lease_owner LIKE '%%:%d'" % pid)
        injected += int(held)
        st.start_runners(3)
    wait_final(st, jobs)
    lost, doubled, problems = count_rows(st, jobs)
    report("runner SIGKILL", trials, injected, lost, doubled)
    assert not problems, "\n".join(problems)
    assert (lost, doubled) == (0, 0), (lost, doubled)
    assert trials >= 20 and injected >= 10, (trials, injected)


def test_faults_postgres_restart(stack):
    st = fault_stack()
    trials = injected = lost = doubled = missing = twice = 0
    problems = []
    for trial in range(3):
        mode = RNG.choice(("fast", "immediate"))
        jobs = [submit_generated(st, RNG.randrange(100000, 200000)) for _ in range(2)]
        followers, after = open_followers(st, jobs)
        wait_loading(st, jobs)
        time.sleep(RNG.uniform(0, 1.0))
        busy = running(st, jobs)
        st.script("pgrestart", mode)
        trials += 1
        injected += 1 if busy else 0
        wait_final(st, jobs)
        lo, do, pr = count_rows(st, jobs)
        mi, tw, pf = check_followers(st, followers, jobs, after)
        lost, doubled, missing, twice = lost + lo, doubled + do, missing + mi, twice + tw
        problems += ["trial %d (%s): %s" % (trial, mode, p) for p in pr + pf]
    report("postgres restart", trials, injected, lost, doubled, missing, twice)
    assert not problems, "\n".join(problems)
    assert (lost, doubled, missing, twice) == (0, 0, 0, 0)
    assert injected >= 1, injected


def test_faults_reports_after_a_postgres_restart(stack):
    """Every worker's connection dies with the database; a report (it only
    reads) runs again on a new one instead of answering 503, as the other
    endpoints do (cgi/http.c, http_exec_result)."""
    st = fault_stack()
    paths = ["/api/reports/latest-datasource?top=2",
             "/api/reports/datasource-regions?datasource=cheap_mobile",
             "/api/reports/weekly-average?bbox=14.4,50,14.5,50.1",
             "/api/reports/trip-groups?limit=5"]

    def burst():
        """Each report from 16 clients at once, so that most of the 8
        workers take some: the statuses."""
        got, lock = [], threading.Lock()

        def client(k):
            for p in paths:
                r = st.http("GET", p)
                with lock:
                    got.append((r.status, p, k))
        th = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in th:
            t.start()
        for t in th:
            t.join(120)
        return got

    assert all(s in (200, 404) for s, _, _ in burst())   # every worker connected
    st.script("pgrestart", "fast")
    got = burst()
    bad = [g for g in got if g[0] not in (200, 404)]
    assert len(got) == 16 * len(paths) and not bad, bad


def test_faults_runner_connections_after_a_postgres_restart(stack):
    """A restart while the runners are idle ends every connection they
    hold; the jobs after it load at their first attempt.  A runner's idle
    connections (the trips, control and names ones) still read
    CONNECTION_OK until a query fails on them: each is checked before a
    job uses it (db_check), not found dead by the job, which then spent
    an attempt on it, and a job of three attempts could fail for good."""
    st = fault_stack()

    def new_names(n):
        """n files at once, each naming a new region and datasource (so
        the runner's names connection is used): their final jobs."""
        ids = []
        for _ in range(n):
            tag = uuid.uuid4().hex[:12]
            data = ("region,origin_coord,destination_coord,datetime,datasource\n"
                    "R%s,POINT (14.4 50.0),POINT (14.5 50.1),2018-05-28 09:03:40,d%s\n"
                    % (tag, tag)).encode()
            r = st.upload(data, "raw", "names-%s.csv" % tag)
            assert r.status == 202, r
            ids.append(r.json()["id"])
        return [st.wait_job(i, 120) for i in ids]

    assert all(j["state"] == "succeeded" for j in new_names(6))
    st.script("pgrestart", "fast")
    end = time.time() + 60
    while time.time() < end:
        r = st.http("GET", "/api/health")
        if r.status == 200 and r.json().get("runners") == 3:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the runners did not come back: %s" % r.body)
    jobs = new_names(6)
    assert [(j["state"], j["attempts"]) for j in jobs] == [("succeeded", 1)] * 6, \
        st.psql("SELECT job_id, data->>'error' FROM tripline.job_events "
                "WHERE event = 'retrying' AND job_id >= %d" % jobs[0]["id"])


def test_faults_cgi_killed_with_streams(stack):
    st = fault_stack()
    jobs0 = [submit_generated(st, 100)]
    wait_final(st, jobs0)
    r = st.http("GET", "/api/jobs/%d/events" % jobs0[0].id)
    if r.status == 404 and "no such resource" in r.body.decode():
        raise harness.Skip("GET /api/jobs/{id}/events is not routed yet (cgi/router.c)")
    assert r.status == 200, r
    trials = injected = lost = doubled = missing = twice = 0
    problems = []
    for trial in range(3):
        jobs = [submit_generated(st, RNG.randrange(60000, 120000)) for _ in range(2)]
        followers, after = open_followers(st, jobs)
        wait_loading(st, jobs)
        time.sleep(RNG.uniform(0, 0.8))
        open_now = sum(1 for f in followers if f.connects > 0 and not f.done)
        sigkill(st, "cgi")
        trials += 1
        injected += 1 if open_now else 0
        time.sleep(RNG.uniform(0, 0.5))     # down for a random while
        st.script("runners", "3")           # starts the missing program
        st.wait_http()
        wait_final(st, jobs)
        lo, do, pr = count_rows(st, jobs)
        mi, tw, pf = check_followers(st, followers, jobs, after)
        lost, doubled, missing, twice = lost + lo, doubled + do, missing + mi, twice + tw
        problems += ["trial %d: %s" % (trial, p) for p in pr + pf]
        reconnected = [f for f in followers if f.connects >= 2]
        if open_now and not reconnected:
            problems.append("trial %d: no stream had to reconnect" % trial)
    report("fastcgi SIGKILL with open streams", trials, injected, lost, doubled, missing, twice)
    assert not problems, "\n".join(problems)
    assert (lost, doubled, missing, twice) == (0, 0, 0, 0)
    assert injected >= 1, injected


def test_faults_spool_full(stack):
    """The last test of the file: it closes the shared fault stack."""
    st = fault_stack()
    try:
        spool = os.path.join(st.var, "spool")
        if os.geteuid() != 0:
            raise harness.Skip("mounting a small tmpfs over the spool needs root")
        s = os.stat(spool)
        # The runners hold the spool directory open: stop them, mount, start.
        st.stop_runners()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755,uid=%d,gid=%d"
                            % (s.st_uid, s.st_gid), "tmpfs", spool],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            st.start_runners(3)
            raise harness.Skip("mount -t tmpfs not permitted here: %s" % r.stdout.decode().strip())
        _own["mounted"] = spool
        before = st.psql("SELECT (SELECT count(*) FROM tripline.jobs), "
                         "(SELECT count(*) FROM tripline.job_events)")
        header = b"region,origin_coord,destination_coord,datetime,datasource,tag\n"
        line = (b"Prague,POINT (14.4973794438195 50.00136875782316),POINT (14.43109483523328 "
                b"50.04052930943246),2018-05-28 09:03:40,funny_car,")

        def csv(nbytes):
            tag = uuid.uuid4().hex.encode()
            row = line + tag + b"\n"
            return header + row * (nbytes // len(row) + 1)

        problems = []
        trials = 0
        # Over the whole disk: raw and multipart.
        for kind in ("raw", "multipart"):
            r = st.upload(csv(2 << 20), kind=kind, filename="big.csv")
            trials += 1
            if r.status != 507 or r.headers.get("content-type") != "application/problem+json" \
                    or "not enough space" not in r.json().get("detail", ""):
                problems.append("%s upload over the disk: %r" % (kind, r))
        assert st.psql("SELECT (SELECT count(*) FROM tripline.jobs), "
                       "(SELECT count(*) FROM tripline.job_events)") == before
        assert os.listdir(spool) == [], os.listdir(spool)
        # Fill it: 700 KiB fits, then 400 KiB more does not.
        first = st.upload(csv(700 << 10), kind="raw", filename="first.csv")
        assert first.status == 202, first
        r = st.upload(csv(400 << 10), kind="raw", filename="second.csv")
        trials += 1
        if r.status != 507:
            problems.append("upload over what is left: %r" % r)
        names = os.listdir(spool)
        assert len(names) == 1 and names[0].startswith("upload-"), names
        assert st.http("GET", "/api/health").status == 200
        # The accepted one loads whole.
        st.start_runners(3)
        j = st.wait_job(first.json()["id"], timeout=60)
        want = (700 << 10) // (len(line) + 33) + 1
        if (j["state"], j["rows_loaded"], j["rows_rejected"]) != ("succeeded", want, 0):
            problems.append("the accepted upload: %r, want %d rows" % (j, want))
        report("spool disk full", trials, trials, 0, 0)
        assert not problems, "\n".join(problems)
    finally:
        sanitizers = st.sanitizer_reports()
        close_fault_stack()
        print("faults: trials=%d injected=%d rows_lost=%d rows_doubled=%d" % (
            TOTAL["trials"], TOTAL["injected"], TOTAL["rows_lost"], TOTAL["rows_doubled"]))
    # The fault stack's programs were built with sanitizers too.
    assert not sanitizers, "\n".join(sanitizers)[:20000]
