"""test_events.py: the live job event streams over real HTTP through nginx
(GET /api/jobs/{id}/events and GET /api/events, docs/events.md).

Every stream is read with a small Server-Sent Events parser written from
the WHATWG HTML standard (section 9.2.6), and what a client received is
compared with the job_events rows in the database: a gap or a duplicate
fails the test.  Jobs whose whole life must be seen live are uploaded
while the runners are stopped, so the stream is open before they start.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import harness

FINAL = ("succeeded", "failed", "cancelled")


class Event:
    def __init__(self, id_, event, data_lines, t):
        self.id = int(id_) if id_ is not None else None
        self.event = event
        self.data_lines = data_lines        # raw data: lines, as received
        self.raw = "\n".join(data_lines)
        self.data = json.loads(self.raw)
        self.t = t                          # receipt time (monotonic)

    def key(self):
        return (self.id, self.event, self.raw)

    def __repr__(self):
        return "<%s %s %s>" % (self.id, self.event, self.raw[:80])


class Stream:
    """One EventSource-like connection on a raw socket, read field by field.
    Its own buffer and chunked decoding (RFC 9112 section 7.1) let a read
    time out and be tried again, which http.client does not allow."""

    def __init__(self, stack, path, last_id=None, timeout=30, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", stack.port), timeout=timeout)
        h = {"Host": "127.0.0.1:%d" % stack.port, "Accept": "text/event-stream"}
        if last_id is not None:
            h["Last-Event-ID"] = str(last_id)
        h.update(headers or {})
        req = "GET %s HTTP/1.1\r\n%s\r\n" % (path, "".join("%s: %s\r\n" % kv for kv in h.items()))
        self.sock.sendall(req.encode())
        self.raw = b""              # bytes from the socket, not yet decoded
        self.buf = b""              # decoded body bytes, not yet parsed
        self.chunk_left = 0         # body bytes left in the current chunk
        self.body_done = False
        self.comments = []
        self.retry = None
        self.eof = False            # the server ended the stream cleanly
        self.dropped = False        # the connection broke mid-stream
        self.last_id = last_id
        head = self._until(b"\r\n\r\n", timeout)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.chunked = self.headers.get("transfer-encoding") == "chunked"
        self.length = int(self.headers.get("content-length", "-1"))
        if self.status in (204, 304):
            self.length = 0

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionError:
            data = None
        if not data:
            return False
        self.raw += data
        return True

    def _until(self, sep, timeout):
        while sep not in self.raw:
            if not self._fill(timeout):
                raise AssertionError("connection closed in the head")
        head, _, self.raw = self.raw.partition(sep)
        return head

    def _decode(self):
        """Move what can be decoded from raw to buf."""
        if not self.chunked:
            if self.length >= 0:
                take = self.raw[:self.length - len(self.buf)]
                self.buf += take
                self.raw = self.raw[len(take):]
                self.body_done = len(self.buf) >= self.length
            else:
                self.buf += self.raw
                self.raw = b""
            return
        while not self.body_done:
            if self.chunk_left > 0:
                take = self.raw[:self.chunk_left]
                self.buf += take
                self.raw = self.raw[len(take):]
                self.chunk_left -= len(take)
                if self.chunk_left > 0:
                    return
                self.chunk_left = -2        # the chunk's CRLF
            if self.chunk_left == -2:
                if len(self.raw) < 2:
                    return
                assert self.raw[:2] == b"\r\n", self.raw[:20]
                self.raw = self.raw[2:]
                self.chunk_left = 0
            if b"\r\n" not in self.raw:
                return
            size, _, rest = self.raw.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                if not rest.startswith(b"\r\n"):
                    return                  # the final CRLF is to come
                self.raw = rest[2:]
                self.body_done = True
                return
            self.raw = rest
            self.chunk_left = n

    def _line(self, timeout):
        """One line of the body without its LF; None at its end."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            self._decode()
            if b"\n" in self.buf:
                break
            if self.body_done:
                self.eof = True
                return None
            left = end - time.monotonic()
            if left <= 0:
                raise socket.timeout("no event line in %.1fs" % timeout)
            if not self._fill(left):
                self.dropped = True
                return None
        line, _, self.buf = self.buf.partition(b"\n")
        return line

    def body(self, timeout=10):
        end = time.monotonic() + timeout
        while True:
            self._decode()
            if self.body_done or time.monotonic() > end or not self._fill(end - time.monotonic()):
                return self.buf

    def next(self, timeout=30):
        """The next event; None when the stream ended or broke; raises
        socket.timeout (and can be called again) when none came in time."""
        end = time.monotonic() + timeout
        if not hasattr(self, "_ev"):
            self._ev = [None, "message", []]
        while True:
            line = self._line(max(0.0, end - time.monotonic()))
            if line is None:
                return None
            line = line.decode("utf-8")
            if line.endswith("\r"):
                line = line[:-1]
            id_, event, data = self._ev
            if line == "":
                self._ev = [None, "message", []]
                if data:
                    ev = Event(id_, event, data, time.monotonic())
                    self.last_id = ev.id
                    return ev
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "id":
                self._ev[0] = value
            elif field == "event":
                self._ev[1] = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                self.retry = int(value)
            else:
                raise AssertionError("unknown field %r" % line)

    def next_or_none(self, timeout):
        """The next event, or None when none came within timeout (or the
        stream ended)."""
        try:
            return self.next(timeout=timeout)
        except socket.timeout:
            return None

    def collect(self, timeout=120, until=None):
        """Events until the stream ends (or until(event) is true)."""
        out = []
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("stream still open after %ds: %r" % (timeout, out[-3:]))
            try:
                ev = self.next(timeout=left)
            except socket.timeout:
                continue
            if ev is None:
                return out
            out.append(ev)
            if until is not None and until(ev):
                return out

    def close(self):
        self.sock.close()


def db_events(stack, job=None, after=0):
    """(id, event, data as compact JSON) rows from job_events."""
    where = "id > %d" % after
    if job is not None:
        where += " AND job_id = %d" % job
    rows = stack.psql("SELECT id, event, data::text FROM tripline.job_events WHERE %s ORDER BY id" % where)
    return [(int(r[0]), r[1], r[2]) for r in rows]


def same_as_db(stack, events, job=None, after=0):
    want = db_events(stack, job, after)
    got = [(e.id, e.event, e.data) for e in events]
    assert [w[0] for w in want] == [g[0] for g in got], \
        "ids differ:\n want %s\n got  %s" % ([w[0] for w in want], [g[0] for g in got])
    for (wid, wev, wdata), (gid, gev, gdata) in zip(want, got):
        assert wev == gev and json.loads(wdata) == gdata, (wid, wev, wdata, gev, gdata)


def check_stream_head(st):
    assert st.status == 200, (st.status, st.body())
    assert st.headers["content-type"] == "text/event-stream", st.headers
    assert st.headers.get("transfer-encoding") == "chunked", st.headers
    assert "no-store" in st.headers.get("cache-control", "") or \
        "no-cache" in st.headers.get("cache-control", ""), st.headers
    assert "content-length" not in st.headers, st.headers


def check_well_formed(events):
    ids = [e.id for e in events]
    assert all(i is not None for i in ids), events
    assert ids == sorted(set(ids)), "ids not strictly increasing: %s" % ids
    for e in events:
        assert len(e.data_lines) == 1, e.data_lines
        assert isinstance(e.data, dict) and "job" in e.data, e


class Held:
    """Runners stopped for the duration: jobs stay queued until start()."""

    def __init__(self, stack):
        self.stack = stack

    def __enter__(self):
        self.stack.stop_runners()
        return self

    def start(self):
        self.stack.start_runners(1)

    def __exit__(self, *exc):
        self.stack.start_runners(1)


def upload(stack, rows, seed, bad=0, filename="trips.csv"):
    r = stack.upload(harness.generate(rows, seed=seed, bad=bad), filename=filename)
    assert r.status == 202, r
    return r.json()["id"]


def test_events_success_live(stack):
    """A whole successful job, live: queued, started, progress..., succeeded,
    then the stream ends; exactly the rows of job_events."""
    with Held(stack) as held:
        job = upload(stack, 300000, seed=101)
        st = Stream(stack, "/api/jobs/%d/events" % job)
        check_stream_head(st)
        first = st.next(timeout=10)
        assert first.event == "queued" and first.data["job"] == job, first
        held.start()
        events = [first] + st.collect()
    assert st.eof and not st.dropped
    assert st.retry is not None and st.retry > 0
    check_well_formed(events)
    names = [e.event for e in events]
    assert names[:2] == ["queued", "started"], names
    assert names[-1] == "succeeded", names
    assert set(names[2:-1]) <= {"progress"} and len(names) >= 4, names
    same_as_db(stack, events, job)
    for e in events:
        assert e.data["job"] == job
    q = events[0].data
    assert q["state"] == "queued" and q["bytes"] > 0 and q["filename"] == "trips.csv", q
    for e in events[2:-1]:
        for k in ("rows_loaded", "rows_rejected", "bytes_read", "bytes_total",
                  "percent", "rows_per_s", "eta_s"):
            assert k in e.data, (k, e)
        assert 0 <= e.data["percent"] <= 100, e
    s = events[-1].data
    assert s["rows_loaded"] == 300000 and s["rows_rejected"] == 0, s
    for k in ("duplicate_of", "elapsed_s", "rows_per_s"):
        assert k in s, (k, s)
    # Progress while running: the runner sends at least one a second (two
    # allowed here for a busy machine) and not more than ~10 a second.
    running = events[1:]
    gaps = [b.t - a.t for a, b in zip(running, running[1:])]
    assert max(gaps) < 2.0, gaps
    span = running[-1].t - running[0].t
    assert len(running) - 2 <= 12 * span + 2, (len(running), span)
    # The job's stream is over: a reconnect at the final event is 204.
    r = stack.http("GET", "/api/jobs/%d/events" % job,
                   headers={"Last-Event-ID": str(events[-1].id)})
    assert r.status == 204 and r.body == b"", r
    # Nothing follows, so there is no type to name (RFC 9110 section 8.3).
    assert "content-type" not in r.headers, r.headers


def test_events_failed(stack):
    """A file that is not a trips CSV fails: queued, started, failed (with
    the error), then the stream ends and a reconnect is 204."""
    with Held(stack) as held:
        r = stack.upload(b"colour,size\nred,4\n", filename="not-trips.csv")
        assert r.status == 202, r
        job = r.json()["id"]
        st = Stream(stack, "/api/jobs/%d/events" % job)
        check_stream_head(st)
        held.start()
        events = st.collect(timeout=60)
    assert st.eof
    check_well_formed(events)
    names = [e.event for e in events]
    assert names[0] == "queued" and names[-1] == "failed", names
    assert "started" in names, names
    f = events[-1].data
    assert f["job"] == job and f["error"] and f["attempts"] >= 1, f
    same_as_db(stack, events, job)
    r = stack.http("GET", "/api/jobs/%d/events" % job,
                   headers={"Last-Event-ID": str(events[-1].id)})
    assert r.status == 204, r
    # One below the final event: the final event comes, then the end.
    st = Stream(stack, "/api/jobs/%d/events" % job, last_id=events[-1].id - 1)
    rest = st.collect(timeout=10)
    assert [e.key() for e in rest] == [events[-1].key()], rest


def test_events_cancelled_queued(stack):
    """Cancelled while queued: the FastCGI program writes 'cancelled'."""
    with Held(stack):
        job = upload(stack, 1000, seed=102)
        st = Stream(stack, "/api/jobs/%d/events" % job)
        assert st.next(timeout=10).event == "queued"
        r = stack.http("POST", "/api/jobs/%d/cancel" % job, headers=stack.auth())
        assert r.status == 200, r
        events = st.collect(timeout=10)
    assert st.eof
    assert [e.event for e in events] == ["cancelled"], events
    assert events[0].data["job"] == job
    same_as_db(stack, db_to_events(stack, job)[:1] + events, job)


def db_to_events(stack, job):
    class E:
        pass
    out = []
    for i, ev, data in db_events(stack, job):
        e = E()
        e.id, e.event, e.data = i, ev, json.loads(data)
        out.append(e)
    return out


def test_events_cancelled_running(stack):
    """Cancelled while running: the runner stops and writes 'cancelled'."""
    with Held(stack) as held:
        job = upload(stack, 2000000, seed=103)
        st = Stream(stack, "/api/jobs/%d/events" % job)
        held.start()
        events = st.collect(timeout=60, until=lambda e: e.event == "progress")
        r = stack.http("POST", "/api/jobs/%d/cancel" % job, headers=stack.auth())
        assert r.status in (200, 202, 409), r
        events += st.collect(timeout=60)
    assert st.eof
    check_well_formed(events)
    names = [e.event for e in events]
    if r.status == 409:
        raise harness.Skip("the job finished before the cancel: %s" % names[-1])
    assert names[-1] == "cancelled", names
    same_as_db(stack, events, job)


def test_events_resume_after_drop(stack):
    """A client that drops mid-job and comes back with Last-Event-ID gets
    exactly what it missed; the same for the all-jobs stream."""
    everything = Stream(stack, "/api/events")
    check_stream_head(everything)
    with Held(stack) as held:
        job = upload(stack, 600000, seed=104)
        st = Stream(stack, "/api/jobs/%d/events" % job)
        held.start()
        part1 = st.collect(timeout=60, until=lambda e: e.event == "progress")
        st.close()                      # the connection drops
        all1 = everything.collect(timeout=60, until=lambda e: e.event == "progress")
        everything.close()
        time.sleep(0.5)                 # events go on meanwhile
        st = Stream(stack, "/api/jobs/%d/events" % job, last_id=part1[-1].id)
        check_stream_head(st)
        part2 = st.collect(timeout=120)
    assert st.eof
    events = part1 + part2
    check_well_formed(events)
    assert events[-1].event == "succeeded", events
    same_as_db(stack, events, job)
    # The all-jobs stream, resumed where it stopped, up to that final event.
    everything = Stream(stack, "/api/events", last_id=all1[-1].id)
    check_stream_head(everything)
    final_id = events[-1].id
    all2 = everything.collect(timeout=60, until=lambda e: e.id >= final_id)
    everything.close()
    all_events = all1 + all2
    check_well_formed(all_events)
    first = all_events[0].id
    want = [w for w in db_events(stack, after=first - 1) if w[0] <= final_id]
    assert [w[0] for w in want] == [e.id for e in all_events], \
        ([w[0] for w in want], [e.id for e in all_events])


def test_events_finished_job(stack):
    """A finished job's stream sends its state so far and ends at once;
    progress steps followed by another are left out of that history."""
    job = stack.load(harness.generate(300000, seed=105))["id"]
    rows = db_events(stack, job)
    t0 = time.monotonic()
    st = Stream(stack, "/api/jobs/%d/events" % job)
    check_stream_head(st)
    events = st.collect(timeout=10)
    assert st.eof and time.monotonic() - t0 < 3
    check_well_formed(events)
    names = [e.event for e in events]
    assert names[0] == "queued" and names[-1] == "succeeded", names
    progress = [r for r in rows if r[1] == "progress"]
    # Exactly the last progress step stands for the others.
    assert progress, rows
    assert names == ["queued", "started", "progress", "succeeded"], names
    assert events[2].id == progress[-1][0]
    # With Last-Event-ID: 0 the client has nothing: every event comes.
    st = Stream(stack, "/api/jobs/%d/events" % job, last_id=0)
    same_as_db(stack, st.collect(timeout=10), job)
    assert st.eof
    # ?last_event_id= says the same for a client that cannot set the
    # header; the header, when both come, is the newer and wins.
    second = rows[1][0]
    st = Stream(stack, "/api/jobs/%d/events?last_event_id=%d" % (job, second))
    same_as_db(stack, st.collect(timeout=10), job, after=second)
    st = Stream(stack, "/api/jobs/%d/events?last_event_id=0" % job, last_id=second)
    same_as_db(stack, st.collect(timeout=10), job, after=second)
    r = stack.http("GET", "/api/jobs/%d/events?last_event_id=%d" % (job, rows[-1][0]))
    assert r.status == 204, r


def test_events_two_streams_identical(stack):
    """Two clients on one job receive identical events."""
    with Held(stack) as held:
        job = upload(stack, 300000, seed=106)
        a = Stream(stack, "/api/jobs/%d/events" % job)
        b = Stream(stack, "/api/jobs/%d/events" % job)
        held.start()
        ea = a.collect()
        eb = b.collect()
    assert a.eof and b.eof
    assert len(ea) >= 4
    assert [e.key() for e in ea] == [e.key() for e in eb]
    same_as_db(stack, ea, job)


def test_events_cgi_restart(stack):
    """The FastCGI program killed mid-stream: the client reconnects with
    Last-Event-ID to the new program and resumes without a gap."""
    with Held(stack) as held:
        job = upload(stack, 1500000, seed=107)
        st = Stream(stack, "/api/jobs/%d/events" % job)
        held.start()
        part1 = st.collect(timeout=60, until=lambda e: e.event == "progress")
        stack.kill("cgi", signal.SIGKILL, wait=True)
        tail = st.collect(timeout=30)           # whatever was in flight
        assert st.dropped or st.eof, "the stream survived its program"
        part1 += tail
        stack.restart_cgi()
        st = Stream(stack, "/api/jobs/%d/events" % job, last_id=part1[-1].id)
        check_stream_head(st)
        part2 = st.collect(timeout=120)
    assert st.eof
    events = part1 + part2
    check_well_formed(events)
    assert events[-1].event in FINAL, events
    same_as_db(stack, events, job)


def test_events_stopping_program_says_so(stack):
    """A program stopped with SIGTERM ends each stream with a comment that
    says why and what to do: without it a curl client saw a clean end and
    no final event, as if the job had nothing more to say."""
    st = Stream(stack, "/api/events")
    check_stream_head(st)
    stack.restart_cgi(signal.SIGTERM)
    lines = []
    while True:
        line = st._line(10)
        if line is None:
            break
        lines.append(line)
    assert st.eof, lines
    assert [ln for ln in lines if ln][-1:] == \
        [b": the server is stopping; reconnect with Last-Event-ID"], lines
    st.close()


def test_events_all_resumed_on_a_new_program(stack):
    """/api/events resumed with Last-Event-ID on a program just started:
    its workers have no database connection until they need one, and the
    backlog must not be lost for that (it ended the stream at once, with
    nothing but its retry line)."""
    job = synthetic_job(stack)
    for n in range(3):
        stack.psql(insert_event_sql(job, "progress", {"job": job, "n": n}))
    last = int(stack.scalar("SELECT max(id) FROM tripline.job_events")) - 3
    stack.restart_cgi()
    # One stream per worker thread at least, held open together, so that
    # every worker answers one whatever the order they accept in.
    streams = [Stream(stack, "/api/events", last_id=last) for _ in range(10)]
    try:
        for st in streams:
            check_stream_head(st)
            got = st.collect(timeout=10, until=lambda e: e.data.get("n") == 2)
            assert [e.data.get("n") for e in got] == [0, 1, 2], got
            assert not st.eof and not st.dropped
    finally:
        for st in streams:
            st.close()


def test_events_relay_waits_for_its_first_connection(stack):
    """A program started while its role may not connect: /api/events is
    503 until the relay has read where the events stand, and a stream
    without Last-Event-ID then starts from now.  The relay published the
    horizon 0 after its first failed connection and, once connected, took
    itself for reconnected: every event since the first went to clients
    asking for "from now".  A submission meanwhile gets one 503, where it
    got two answers (the connection was tried twice)."""
    job = synthetic_job(stack)
    stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 0}))

    def events_503():
        """The detail of /api/events' 503, or None for another status."""
        st = Stream(stack, "/api/events", timeout=10)
        try:
            if st.status != 503:
                return None
            assert st.headers.get("content-type") == "application/problem+json", st.headers
            return json.loads(st.body())["detail"]
        finally:
            st.close()
    stack.psql("ALTER ROLE tripline_web CONNECTION LIMIT 0")
    try:
        stack.kill("cgi", signal.SIGKILL)
        stack.script("runners", "0")    # starts the missing program
        # The program's own 503 (nginx answers one too until it listens).
        end = time.time() + 20
        while True:
            try:
                r = stack.http("GET", "/api/health")
                if r.status == 503 and r.json()["detail"] == "the database is unavailable":
                    break
            except OSError:
                pass
            assert time.time() < end, "the new program does not answer"
            time.sleep(0.1)
        assert events_503() == "the event stream is not ready, try again"
        if shutil.which("cgi-fcgi") is not None:
            data = b"region,origin_coord,destination_coord,datetime,datasource\n"
            env = {"REQUEST_METHOD": "POST", "DOCUMENT_URI": "/api/jobs",
                   "CONTENT_TYPE": "text/csv", "CONTENT_LENGTH": str(len(data)),
                   "HTTP_AUTHORIZATION": "Bearer " + stack.token,
                   "GATEWAY_INTERFACE": "CGI/1.1", "PATH": os.environ["PATH"]}
            out = subprocess.run(["cgi-fcgi", "-bind", "-connect",
                                  os.path.join(stack.var, "run", "cgi.sock")],
                                 input=data, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, timeout=60).stdout
            assert out.count(b"Status: ") == 1 and out.startswith(b"Status: 503"), out
    finally:
        stack.psql("ALTER ROLE tripline_web CONNECTION LIMIT -1")
    end = time.time() + 30
    while events_503() is not None:
        assert time.time() < end, "the relay did not connect"
        time.sleep(0.2)
    st = Stream(stack, "/api/events")
    try:
        check_stream_head(st)
        old = st.next_or_none(timeout=2)
        assert old is None, old
        stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 1}))
        e = st.next(timeout=10)
        assert e is not None and e.data == {"job": job, "n": 1}, e
    finally:
        st.close()


def test_events_last_event_id_above_every_event(stack):
    """A Last-Event-ID above every event (a client of a database since
    restored) names nothing: the stream starts afresh, a job's with its
    state so far, and ends after the final event.  It skipped every event
    up to that id, so a job's stream never ended."""
    job = synthetic_job(stack)
    stack.psql(insert_event_sql(job, "queued", {"job": job, "state": "queued"}))
    st = Stream(stack, "/api/jobs/%d/events" % job, last_id=10 ** 15)
    check_stream_head(st)
    first = st.next(timeout=5)
    assert first is not None and first.event == "queued", first
    stack.psql(insert_event_sql(job, "failed", {"job": job, "error": "x", "attempts": 1}))
    rest = st.collect(timeout=10)
    assert [e.event for e in rest] == ["failed"] and st.eof, rest
    same_as_db(stack, [first] + rest, job)
    everything = Stream(stack, "/api/events?last_event_id=%d" % 10 ** 15)
    check_stream_head(everything)
    stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 1}))
    ev = everything.collect(timeout=10, until=lambda e: e.data.get("n") == 1)
    everything.close()
    assert ev[-1].data == {"job": job, "n": 1}, ev


def test_events_resume_at_the_newest_event(stack):
    """A Last-Event-ID equal to the newest event is an ordinary resume, not
    one "above every event": the client has every event, so nothing comes
    until the next one, which comes, and a job's stream ends after its
    final event.  Taken for an id that names nothing, the job's stream
    sent its state so far a second time."""
    job = synthetic_job(stack)
    stack.psql(insert_event_sql(job, "queued", {"job": job, "state": "queued"}))
    stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 1}))
    newest = int(stack.scalar("SELECT max(id) FROM tripline.job_events"))
    assert db_events(stack, job)[-1][0] == newest, (db_events(stack, job), newest)
    st = Stream(stack, "/api/jobs/%d/events" % job, last_id=newest)
    check_stream_head(st)
    early = st.next_or_none(timeout=2)
    assert early is None and not st.eof and not st.dropped, \
        "resumed at the newest event %d, the stream sent %r (ended: %s)" % (
            newest, early, st.eof or st.dropped)
    stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 2}))
    stack.psql(insert_event_sql(job, "failed", {"job": job, "error": "x", "attempts": 1}))
    rest = st.collect(timeout=10)
    assert st.eof, "the stream did not end after the final event"
    assert [e.event for e in rest] == ["progress", "failed"] and rest[0].data["n"] == 2, rest
    same_as_db(stack, rest, job, after=newest)
    # The same on /api/events: nothing old, then the next event.
    newest = int(stack.scalar("SELECT max(id) FROM tripline.job_events"))
    everything = Stream(stack, "/api/events?last_event_id=%d" % newest)
    try:
        check_stream_head(everything)
        early = everything.next_or_none(timeout=2)
        assert early is None and not everything.eof and not everything.dropped, \
            "resumed at the newest event %d, /api/events sent %r" % (newest, early)
        stack.psql(insert_event_sql(job, "progress", {"job": job, "n": 3}))
        e = everything.next(timeout=10)
        assert e is not None and e.id > newest and e.data == {"job": job, "n": 3}, e
    finally:
        everything.close()


def test_events_errors(stack):
    """Unknown job: 404 problem+json, not an empty stream; a malformed
    Last-Event-ID or a query string: 400."""
    r = stack.http("GET", "/api/jobs/2147483000/events")
    assert r.status == 404, r
    assert r.headers["content-type"] == "application/problem+json", r
    assert r.json()["status"] == 404
    r = stack.http("GET", "/api/jobs/abc/events")
    assert r.status == 404, r
    # As every bad value is told (it said "invalid job id ...").
    assert r.json()["detail"] == 'job "abc": ids are integers from 1 to 2147483647', r.json()
    for bad in ("abc", "-1", "1.5", "99999999999999999999"):
        r = stack.http("GET", "/api/events", headers={"Last-Event-ID": bad})
        assert r.status == 400 and r.headers["content-type"] == "application/problem+json", (bad, r)
    for q in ("x=1", "last_event_id=abc", "last_event_id=-1", "last_event_id=1&last_event_id=2"):
        r = stack.http("GET", "/api/events?" + q)
        assert r.status == 400 and r.headers["content-type"] == "application/problem+json", (q, r)
    r = stack.http("POST", "/api/events", b"", stack.auth())
    assert r.status == 405, r


def synthetic_job(stack):
    """A job row no runner will take (its state is final already)."""
    return int(stack.scalar(
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256) "
        "VALUES ('failed', 'synthetic.csv', 'inbox', 'synthetic.csv', 0, repeat('0', 64)) "
        "RETURNING id"))


def insert_event_sql(job, event, data):
    return ("WITH e AS (INSERT INTO tripline.job_events (job_id, event, data) "
            "VALUES (%d, '%s', '%s'::jsonb) RETURNING id) "
            "SELECT pg_notify('tripline_events', id::text) FROM e;"
            % (job, event, json.dumps(data).replace("'", "''")))


def wait_relayed(stack, event_id, timeout=30):
    """Until the relay's horizon is past event_id: a stream after the id
    before it is told it only once the relay took its NOTIFY, and every
    stream opened later gets it as backlog."""
    st = Stream(stack, "/api/events", last_id=event_id - 1)
    st.collect(timeout=timeout, until=lambda e: e.id == event_id)
    st.close()


def test_events_out_of_order_commits(stack):
    """Ids are taken at INSERT but commits land in any order.  An event
    committed before a lower id is held back until that id commits, then
    both come in id order; an id that never commits (rolled back) delays
    the stream for about a second and loses nothing."""
    job = synthetic_job(stack)
    st = Stream(stack, "/api/jobs/%d/events" % job)
    allst = Stream(stack, "/api/events")
    check_stream_head(st)
    a, b = harness.Psql(stack, "evtest_a"), harness.Psql(stack, "evtest_b")
    try:
        a.send("BEGIN;")
        a.send(insert_event_sql(job, "progress", {"job": job, "n": 1}))
        a.wait_idle_in_transaction()
        t = time.monotonic()
        b.send(insert_event_sql(job, "progress", {"job": job, "n": 2}))  # commits
        for _ in range(100):
            if db_events(stack, job):
                break
            time.sleep(0.02)
        # The higher id is committed, but the lower one is still open.
        # The relay waits a second (RELAY_HOLE_MS) for it from about when
        # b committed, so this look and a's commit must come well within
        # that: what is left of 0.6 s from b's send.
        early = st.next_or_none(timeout=max(0, t + 0.6 - time.monotonic()))
        assert early is None, "sent before the lower id committed: %r" % early
        a.send("COMMIT;")
        e1 = st.next(timeout=5)
        e2 = st.next(timeout=5)
        assert (e1.data["n"], e2.data["n"]) == (1, 2) and e1.id < e2.id, (e1, e2)

        # A rolled-back id: the next event waits for it, then comes.
        a.send("BEGIN;")
        a.send(insert_event_sql(job, "progress", {"job": job, "n": 3}))
        a.wait_idle_in_transaction()
        b.send(insert_event_sql(job, "progress", {"job": job, "n": 4}))
        time.sleep(0.2)
        a.send("ROLLBACK;")
        t0 = time.monotonic()
        e4 = st.next(timeout=5)
        waited = time.monotonic() - t0
        assert e4.data["n"] == 4 and waited < 3, (e4, waited)

        b.send(insert_event_sql(job, "succeeded", {"job": job, "rows_loaded": 0}))
        e5 = st.next(timeout=5)
        assert e5.event == "succeeded"
        assert st.next(timeout=5) is None and st.eof
    finally:
        a.close()
        b.close()
    events = [e1, e2, e4, e5]
    same_as_db(stack, events, job)
    seen = allst.collect(timeout=10, until=lambda e: e.id == e5.id)
    allst.close()
    assert [e.id for e in seen if e.data.get("job") == job] == [e.id for e in events]


def test_events_relay_waits_for_a_missing_id_without_spinning(stack):
    """While the relay waits for a lower id to commit (up to a second), it
    sleeps until then or a NOTIFY.  Its wake-up time was overwritten with
    "now", so it read job_events again and again, about 10,000 times a
    second of every wait (a review counted the transactions).  Counted
    here as scans of job_events, once the relay's backend has reported
    them (at most every 10 s when idle: PostgreSQL docs, "pg_stat_"
    views' statistics are flushed at most once per second, and an idle
    backend's later)."""
    job = synthetic_job(stack)
    scans = ("SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM "
             "pg_stat_user_tables WHERE relid = 'tripline.job_events'::regclass")
    st = Stream(stack, "/api/jobs/%d/events" % job)
    check_stream_head(st)
    a, b = harness.Psql(stack, "evtest_a"), harness.Psql(stack, "evtest_b")
    try:
        time.sleep(11)          # what came before is reported
        before = int(stack.scalar(scans))
        a.send("BEGIN;")
        a.send(insert_event_sql(job, "progress", {"job": job, "n": 1}))
        a.wait_idle_in_transaction()
        b.send(insert_event_sql(job, "progress", {"job": job, "n": 2}))  # commits
        time.sleep(1.5)         # the relay waits a second, then goes on
        a.send("ROLLBACK;")
        e = st.next(timeout=5)
        assert e.data["n"] == 2, e
        time.sleep(11)
        during = int(stack.scalar(scans)) - before
        assert during < 500, "job_events read %d times in a wait of a second" % during
    finally:
        a.close()
        b.close()
        st.close()


def test_events_late_final_ends_a_stream_opened_meanwhile(stack):
    """A job's final event that commits more than a second after a higher
    id (a slow load commit) is sent late, out of order.  A stream opened
    on the job in between, after the relay went on without that id, must
    get it too and end: its backlog could not have it, it was not
    committed yet."""
    job, other = synthetic_job(stack), synthetic_job(stack)
    a, b = harness.Psql(stack, "evtest_a"), harness.Psql(stack, "evtest_b")
    try:
        a.send("BEGIN;")
        a.send(insert_event_sql(job, "succeeded", {"job": job, "rows_loaded": 0}))
        a.wait_idle_in_transaction()
        b.send(insert_event_sql(other, "progress", {"job": other}))  # commits
        watch = Stream(stack, "/api/events", last_id=int(stack.scalar(
            "SELECT max(id) - 1 FROM tripline.job_events")))
        # The relay sends the higher id once it gave up on the lower one.
        seen = watch.collect(timeout=10, until=lambda e: e.data.get("job") == other)
        watch.close()
        assert seen[-1].data["job"] == other, seen
        st = Stream(stack, "/api/jobs/%d/events" % job)
        check_stream_head(st)
        early = st.next_or_none(timeout=0.5)
        assert early is None, early
        a.send("COMMIT;")
        got = st.collect(timeout=10)
        assert [e.event for e in got] == ["succeeded"], got
        assert st.eof
        same_as_db(stack, got, job)
    finally:
        a.close()
        b.close()


def test_events_data_cannot_inject(stack):
    """Text with line breaks and field names inside an event stays one
    data line of JSON: no forged event, id or retry reaches the client."""
    job = synthetic_job(stack)
    evil = "x\nid: 1\nevent: succeeded\n\ndata: {}\r\nretry: 1\r: c\u2028"
    st = Stream(stack, "/api/jobs/%d/events" % job)
    c = harness.Psql(stack, "evtest_c")
    c.send(insert_event_sql(job, "retrying", {"job": job, "attempt": 1,
                                             "next_try": "2026-01-01T00:00:00Z",
                                             "error": evil}))
    c.send(insert_event_sql(job, "failed", {"job": job, "error": evil, "attempts": 3}))
    c.close()
    events = st.collect(timeout=10)
    assert st.eof
    assert [e.event for e in events] == ["retrying", "failed"], events
    assert st.retry == 1000, st.retry
    for e in events:
        assert len(e.data_lines) == 1 and e.data["error"] == evil, e.data_lines
    check_well_formed(events)


def test_events_streams_do_not_starve(stack):
    """Streams are handed to the relay: with far more open streams than
    worker threads, the other endpoints still answer at once."""
    streams = [Stream(stack, "/api/events") for _ in range(60)]
    try:
        for s in streams:
            check_stream_head(s)
        t0 = time.monotonic()
        r = stack.http("GET", "/api/health", timeout=5)
        assert r.status == 200, r
        r = stack.http("GET", "/api/jobs?limit=5", timeout=5)
        assert r.status == 200, r
        r = stack.upload(harness.generate(100, seed=108))
        assert r.status == 202, r
        assert time.monotonic() - t0 < 3
        job = r.json()["id"]
        # Every one of the streams sees the new job's queued event.
        for s in streams:
            ev = s.collect(timeout=10, until=lambda e: e.data.get("job") == job)[-1]
            assert ev.event == "queued", ev
    finally:
        for s in streams:
            s.close()
    stack.wait_job(job)


def job_with_events(stack, event, n):
    """A synthetic job with n events named event, then its final one,
    notified: once a stream has it, the relay's horizon is past every one
    of them and they are all backlog.  The job and its event ids."""
    job = synthetic_job(stack)
    stack.psql("INSERT INTO tripline.job_events (job_id, event, data) "
               "SELECT %d, '%s', jsonb_build_object('job', %d, 'n', g) "
               "FROM generate_series(1, %d) g" % (job, event, job, n))
    stack.psql(insert_event_sql(job, "failed", {"job": job, "error": "x", "attempts": 1}))
    ids = [r[0] for r in db_events(stack, job)]
    assert len(ids) == n + 1, len(ids)
    return job, ids


def test_events_backlog_longer_than_a_page(stack):
    """A backlog is read 1000 events at a time (EVENTS_PAGE in
    cgi/h_events.c): one of 2345 events, of exactly 2000, of 1001 and of
    exactly 1000 comes whole, each event once and in id order, on a job's
    stream and on /api/events.  Paging that stopped after a full page sent
    the first 1000 and lost the rest."""
    job, ids = job_with_events(stack, "progress", 2344)
    final = ids[-1]
    wait_relayed(stack, final)

    def take(st):
        """Events until the final one, the end, or 20 s without any."""
        out = []
        while not out or out[-1].id != final:
            e = st.next_or_none(timeout=20)
            if e is None:
                break
            out.append(e)
        return out

    def check(got, want, what):
        """got is exactly the rows want: each once, in order, its own data."""
        have = [e.id for e in got]
        missing = sorted(set(w[0] for w in want) - set(have))
        assert have == [w[0] for w in want], \
            "%s: %d events came for %d, %d missing (the first: %s), ids strictly " \
            "increasing: %s" % (what, len(have), len(want), len(missing),
                                missing[0] if missing else None, have == sorted(set(have)))
        for (wid, wev, wdata), e in zip(want, got):
            assert e.event == wev and e.data == json.loads(wdata), (what, wid, wev, wdata, e)

    for k in (0, 345, 1344, 1345):     # 2345, 2000, 1001 and 1000 events
        after = ids[k - 1] if k else ids[0] - 1
        st = Stream(stack, "/api/jobs/%d/events" % job, last_id=after)
        try:
            check_stream_head(st)
            check(take(st), db_events(stack, job, after),
                  "the job's stream after %d" % after)
            assert st.next_or_none(timeout=10) is None and st.eof, \
                "the job's stream did not end after its final event"
        finally:
            st.close()
        everything = Stream(stack, "/api/events", last_id=after)
        try:
            check_stream_head(everything)
            check(take(everything), [r for r in db_events(stack, after=after) if r[0] <= final],
                  "/api/events after %d" % after)
        finally:
            everything.close()


def test_events_backlog_past_a_page_of_unknown_events(stack):
    """A full page of events this program does not send (an event name it
    does not know, as a newer runner might write): the backlog goes on
    after them.  The next page began after the last event sent, so it read
    the same page again, and the worker spun for ever."""
    job, ids = job_with_events(stack, "renamed", 1500)
    for path in ("/api/jobs/%d/events" % job, "/api/events"):
        st = Stream(stack, path, last_id=ids[0] - 1)
        try:
            check_stream_head(st)
            got = st.collect(timeout=20, until=lambda e: e.id >= ids[-1])
            assert got and got[-1].id == ids[-1] and got[-1].event == "failed", (path, got[-3:])
            assert not [e for e in got if e.event == "renamed"], path
        finally:
            st.close()
    # The program still answers (no worker left spinning).
    assert stack.http("GET", "/api/health").status == 200


def test_events_backlog_to_clients_reading_nothing(stack):
    """Clients that ask for a long backlog and read nothing hold the
    worker threads that send it only briefly: more of them than there are
    workers must not keep the rest of the API waiting for long (each held
    its worker for seconds of 10 s send timeouts; /api/health waited 45 s,
    4 s with the backlog's time bounded)."""
    job = synthetic_job(stack)
    stack.psql("INSERT INTO tripline.job_events (job_id, event, data) "
               "SELECT %d, 'progress', jsonb_build_object('job', %d, 'pad', "
               "repeat('x', 300), 'n', g) FROM generate_series(1, 100000) g" % (job, job))
    first = int(stack.scalar("SELECT min(id) FROM tripline.job_events WHERE job_id = %d"
                             % job))
    # Wait for the relay to pass them: the backlog is what is below it.
    stack.psql(insert_event_sql(job, "progress", {"job": job, "n": "last"}))
    last = int(stack.scalar("SELECT max(id) FROM tripline.job_events"))
    wait_relayed(stack, last, timeout=60)
    socks = []
    try:
        for _ in range(16):
            s = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(("GET /api/events?last_event_id=%d HTTP/1.1\r\nHost: x\r\n\r\n"
                       % (first - 1)).encode())
            socks.append(s)
        time.sleep(1)
        t0 = time.monotonic()
        r = stack.http("GET", "/api/health", timeout=60)
        waited = time.monotonic() - t0
        assert r.status == 200, r
        assert waited < 15, "the API waited %.1f s for the streams' workers" % waited
    finally:
        for s in socks:
            s.close()
        stack.psql("DELETE FROM tripline.job_events WHERE job_id = %d" % job)


def test_events_slow_client_dropped(stack):
    """A client that reads nothing cannot hold the relay back: its stream
    is dropped once its queue is full, and other clients go on at once."""
    job = synthetic_job(stack)
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", stack.port))
    slow.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    # Its head: the stream starts from the relay's horizon taken before
    # it, so the events below are the slow stream's to send.
    slow.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = slow.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    fast = Stream(stack, "/api/events")
    check_stream_head(fast)
    big = "y" * 20000
    n = 600         # 12 MB, more than every buffer between relay and client
    stack.psql("WITH e AS (INSERT INTO tripline.job_events (job_id, event, data) "
               "SELECT %d, 'progress', jsonb_build_object('job', %d, 'n', g, 'pad', '%s') "
               "FROM generate_series(1, %d) g RETURNING id) "
               "SELECT pg_notify('tripline_events', max(id)::text) FROM e" % (job, job, big, n))
    t0 = time.monotonic()
    got = fast.collect(timeout=60, until=lambda e: e.data.get("n") == n)
    elapsed = time.monotonic() - t0
    assert [e.data["n"] for e in got if e.data.get("job") == job] == list(range(1, n + 1))
    assert elapsed < 20, elapsed
    fast.close()
    # The slow client's stream was ended: reading it now comes to the end
    # of its body (the last chunk) or of the connection, after at most
    # what the buffers held.
    # (Heartbeats would keep a stream that is not ended open for good:
    # 60 s in all.)
    end = time.monotonic() + 60
    total, tail = 0, b""
    try:
        while not tail.endswith(b"\r\n0\r\n\r\n"):
            if time.monotonic() > end:
                raise socket.timeout()
            slow.settimeout(max(0.001, min(20, end - time.monotonic())))
            chunk = slow.recv(1 << 16)
            if not chunk:
                break
            total += len(chunk)
            tail = (tail + chunk)[-16:]
    except socket.timeout:
        raise AssertionError("the slow stream is still open after %d bytes" % total)
    except ConnectionError:
        pass
    slow.close()
    assert total < n * len(big), total
    log = open(os.path.join(stack.var, "log", "cgi.log"), errors="replace").read()
    assert "reads too slowly" in log


def test_events_backlogs_leave_workers_free(stack):
    """A long backlog holds its worker for up to a second (EVENTS_BACKLOG_MS
    in cgi/h_events.c).  Clients catching up at once take at most half the
    workers: the others are told to come back (the head, retry, a comment,
    the end; EventSource reconnects with its Last-Event-ID), and the
    other endpoints still answer at once."""
    own = harness.Stack(env={"TRIPLINE_THREADS": "4"}, runners=0)
    socks = []
    try:
        job = synthetic_job(own)
        own.psql("INSERT INTO tripline.job_events (job_id, event, data) "
                 "SELECT %d, 'progress', jsonb_build_object('job', %d, 'n', g, 'pad', "
                 "repeat('y', 20000)) FROM generate_series(1, 600) g" % (job, job))
        own.psql(insert_event_sql(job, "failed", {"job": job, "error": "x", "attempts": 1}))
        # The relay's horizon past them: every client below gets all of
        # them as backlog.
        wait_relayed(own, int(own.scalar("SELECT max(id) FROM tripline.job_events")))
        for _ in range(8):      # clients that read nothing: a backlog each
            c = socket.socket()
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", own.port))
            c.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 0\r\n\r\n")
            socks.append(c)
        time.sleep(0.2)
        waits = []
        for _ in range(3):
            t0 = time.monotonic()
            assert own.http("GET", "/api/health", timeout=10).status == 200
            waits.append(time.monotonic() - t0)
        # A worker held by a backlog would take a whole second
        # (EVENTS_BACKLOG_MS).
        assert max(waits) < 0.9, waits
        told = 0
        for c in socks:         # a short answer, whole, says come back
            c.settimeout(0.5)
            body = b""
            try:
                while not body.endswith(b"\r\n0\r\n\r\n") and len(body) < 2000:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    body += chunk
            except socket.timeout:
                pass
            if b": busy, reconnect with Last-Event-ID" in body and b"id:" not in body:
                assert b"200 OK" in body and b"retry: 1000" in body, body
                told += 1
        assert told >= 4, told  # at most 2 of the 4 workers send a backlog
    finally:
        for c in socks:
            c.close()
        own.close()


def test_events_heartbeat(stack):
    """An idle stream gets a ': heartbeat' comment within 15 s."""
    st = Stream(stack, "/api/events", timeout=25)
    check_stream_head(st)
    t0 = time.monotonic()
    line = b""
    while not line.startswith(b":"):
        line = st._line(max(0.1, 17 - (time.monotonic() - t0)))
        assert line is not None, "stream ended"
    assert line == b": heartbeat", line
    assert time.monotonic() - t0 <= 16, time.monotonic() - t0
    st.close()
