"""harness.py: a real tripline stack (PostgreSQL, nginx, the FastCGI program,
the job runners) in a temporary directory, driven over HTTP and psql.

Tests are plain functions `test_*(stack)` in tests/integration/test_*.py;
tests/integration/run.py runs them.  The Python standard library is used,
and PyYAML (python3-yaml) in test_openapi.
"""
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(os.path.dirname(ROOT), "shared", "data", "trips.csv")
FINAL_STATES = ("succeeded", "failed", "cancelled")


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed."""


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers          # lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.headers.get("content-type"), self.body[:300])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample_bytes():
    """The public 100-row sample, or Skip when this workspace has none."""
    if not os.path.exists(SAMPLE):
        raise Skip("sample %s absent" % SAMPLE)
    with open(SAMPLE, "rb") as f:
        return f.read()


def generate(rows, seed=1, bad=0):
    """A CSV from the project's own generator (build/tripline-gen)."""
    cmd = [os.path.join(ROOT, "build", "tripline-gen"), "-n", str(rows), "-s", str(seed)]
    if bad:
        cmd += ["--bad", str(bad)]
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE).stdout


class Stack:
    """One stack in its own directory with its own ports.  env adds or
    overrides stack.sh settings (TRIPLINE_MAX_UPLOAD, TRIPLINE_RUNNERS, ...)."""

    # Seconds a statement of Stack.psql may take: ten times the longest of
    # test_reports.py (31 s, 2 cores).  A test of small statements only
    # may set less on its own stack.
    psql_timeout = 300

    def __init__(self, env=None, runners=1, asan=True):
        self.var = tempfile.mkdtemp(prefix="tripline-test-")
        os.chmod(self.var, 0o755)
        self.port = free_port()
        self.pgport = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "TRIPLINE_VAR": self.var,
            "TRIPLINE_HTTP_PORT": str(self.port),
            "TRIPLINE_PGPORT": str(self.pgport),
            "TRIPLINE_BIN": os.path.join(ROOT, "build", "asan" if asan else ""),
            "TRIPLINE_RUNNERS": str(runners),
            "TRIPLINE_PG_FSYNC": "off",
            "TRIPLINE_PG_SHARED_BUFFERS": "128MB",
            "TRIPLINE_LEASE_SECONDS": "4",
            "TRIPLINE_SUBMIT_RATE": "1000",
            "TRIPLINE_SUBMIT_BURST": "1000",
            "TRIPLINE_UPLOAD_CONN": "1000",
            "DEMO": "0",
        })
        self.env.update(env or {})
        self.url = "http://127.0.0.1:%d" % self.port
        try:
            self.script("up")
        except Exception:
            self.close(keep=True)
            raise
        self.db = {}
        with open(os.path.join(self.var, "env")) as f:
            for line in f:
                k, _, v = line.strip()[len("export "):].partition("=")
                self.db[k] = v.strip("'")
        self.token = self.db["TRIPLINE_TOKEN"]

    # -- processes -----------------------------------------------------
    def script(self, *args):
        r = subprocess.run([os.path.join(ROOT, "scripts", "stack.sh")] + list(args),
                           env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("stack.sh %s failed:\n%s" % (" ".join(args), r.stdout.decode()))
        return r.stdout.decode()

    def pid(self, name):
        try:
            with open(os.path.join(self.var, "run", name + ".pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def runner_names(self):
        return sorted(n[:-4] for n in os.listdir(os.path.join(self.var, "run"))
                      if n.startswith("runner-") and n.endswith(".pid"))

    def log(self, name):
        """The text of var/log/<name>.log ("runner-1", "cgi", ...)."""
        with open(os.path.join(self.var, "log", name + ".log"), errors="replace") as f:
            return f.read()

    def start_runners(self, n):
        """Make sure runners 1..n run (started ones are left alone)."""
        self.script("runners", str(n))

    def kill(self, name, sig=signal.SIGKILL, wait=True):
        pid = self.pid(name)
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        if wait:
            for _ in range(200):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        os.unlink(os.path.join(self.var, "run", name + ".pid"))

    def stop_runners(self):
        for n in self.runner_names():
            self.kill(n, signal.SIGTERM)

    def restart_cgi(self, sig=signal.SIGKILL):
        self.kill("cgi", sig)
        self.script("runners", "0")     # progs_up starts a missing cgi
        self.wait_http()

    def wait_http(self, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            try:
                if self.http("GET", "/api/health").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("the stack does not answer /api/health")

    def sanitizer_reports(self):
        out = []
        logdir = os.path.join(self.var, "log")
        for n in sorted(os.listdir(logdir)):
            if n.startswith(("asan", "ubsan")):
                with open(os.path.join(logdir, n), errors="replace") as f:
                    out.append("%s:\n%s" % (n, f.read()))
            elif n.endswith(".log"):
                with open(os.path.join(logdir, n), errors="replace") as f:
                    text = f.read()
                if "runtime error:" in text or "AddressSanitizer" in text:
                    out.append("%s:\n%s" % (n, text[-4000:]))
        return out

    def close(self, keep=False):
        try:
            self.script("down")
        except Exception:
            pass
        if not keep and not os.environ.get("TRIPLINE_KEEP"):
            shutil.rmtree(self.var, ignore_errors=True)

    # -- HTTP ----------------------------------------------------------
    def http(self, method, path, body=None, headers=None, timeout=60):
        """One request on its own connection.  timeout bounds each send and
        the whole answer: one that never ends (an event stream, kept alive
        by its heartbeats) raises socket.timeout instead of hanging."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            end = time.monotonic() + timeout
            sock = conn.sock            # read through even once conn lets it go
            r = conn.getresponse()
            data = []
            while True:
                try:
                    sock.settimeout(max(0.001, end - time.monotonic()))
                    chunk = r.read1(1 << 16)
                except socket.timeout:
                    raise socket.timeout("%s %s: its %d answer not over after %d s (%d "
                                         "bytes of the body came)" % (
                                             method, path, r.status, timeout,
                                             sum(map(len, data)))) from None
                if not chunk:
                    break
                data.append(chunk)
            if r.length:                # cut short: as read() says it
                raise http.client.IncompleteRead(b"".join(data), r.length)
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, b"".join(data))
        finally:
            conn.close()

    def auth(self, headers=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(headers or {})
        return h

    def upload(self, data, kind="multipart", filename="trips.csv", token=True):
        """Submit a file: kind is multipart (the HTML form), raw (text/csv
        body) or inbox (the bytes are written to the inbox, then named)."""
        headers = self.auth() if token else {}
        if kind == "multipart":
            boundary = "----tripline" + uuid.uuid4().hex
            body = (("--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                     "filename=\"%s\"\r\nContent-Type: text/csv\r\n\r\n")
                    % (boundary, filename)).encode() + data + \
                ("\r\n--%s--\r\n" % boundary).encode()
            headers["Content-Type"] = "multipart/form-data; boundary=" + boundary
            return self.http("POST", "/api/jobs", body, headers)
        if kind == "raw":
            headers["Content-Type"] = "text/csv"
            return self.http("POST", "/api/jobs?filename=" + filename, data, headers)
        if kind == "inbox":
            self.write_inbox(filename, data)
            headers["Content-Type"] = "application/json"
            return self.http("POST", "/api/jobs", json.dumps({"path": filename}).encode(), headers)
        raise ValueError(kind)

    def write_inbox(self, name, data):
        path = os.path.join(self.var, "inbox", name)
        with open(path, "wb") as f:
            f.write(data)
        st = os.stat(os.path.join(self.var, "inbox"))
        os.chown(path, st.st_uid, st.st_gid)
        return path

    def job(self, job_id):
        r = self.http("GET", "/api/jobs/%d" % job_id)
        assert r.status == 200, r
        return r.json()

    def wait_job(self, job_id, timeout=120, states=FINAL_STATES):
        end = time.time() + timeout
        while time.time() < end:
            j = self.job(job_id)
            if j["state"] in states:
                return j
            time.sleep(0.1)
        raise AssertionError("job %d still %s after %ds" % (job_id, j["state"], timeout))

    def load(self, data, kind="multipart", filename="trips.csv", timeout=120):
        """Upload and wait for the job to finish; returns the final job."""
        r = self.upload(data, kind, filename)
        assert r.status == 202, r
        return self.wait_job(r.json()["id"], timeout)

    # -- database ------------------------------------------------------
    def psql(self, sql, timeout=None):
        """Rows of the last statement as tuples of strings (as superuser)."""
        return self.psql_messages(sql, timeout)[0]

    def db_env(self, **extra):
        """The environment for psql as superuser on this stack, plus extra
        (PGAPPNAME, PGUSER, ...)."""
        env = dict(os.environ)
        env.update(self.db)
        env.update(extra)
        return env

    def psql_messages(self, sql, timeout=None):
        """psql(sql), and the server's messages (NOTICE, DEBUG) as text.
        Fails after timeout seconds (psql_timeout by default) instead of
        hanging on a statement that waits for a lock a wrong program never
        lets go, and ends its backend: psql's end would not stop the wait."""
        timeout = timeout or self.psql_timeout
        name = "harness-psql-" + uuid.uuid4().hex[:12]
        try:
            r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-F", "\t", "-c", sql],
                               env=self.db_env(PGAPPNAME=name), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            subprocess.run(["psql", "-XAtq", "-c", "SELECT pg_terminate_backend(pid) FROM "
                            "pg_stat_activity WHERE application_name = '%s'" % name],
                           env=self.db_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
            raise AssertionError("psql: no answer in %d s to %s" % (timeout, sql[:500])) from None
        if r.returncode != 0:
            raise RuntimeError("psql: %s" % r.stderr.decode())
        text = r.stdout.decode()
        return [tuple(line.split("\t")) for line in text.splitlines()], r.stderr.decode()

    def scalar(self, sql):
        rows = self.psql(sql)
        return rows[0][0] if rows else None

    def wait_scalar(self, sql, want, what, seconds=60):
        """Until sql's value is want (text), for up to seconds; else fail
        saying what."""
        for _ in range(int(seconds * 10)):
            if self.scalar(sql) == want:
                return
            time.sleep(0.1)
        raise AssertionError(what)


class Psql:
    """An interactive psql session (superuser) for hand-made transactions,
    named PGAPPNAME=name in pg_stat_activity."""

    def __init__(self, stack, name):
        self.stack, self.name = stack, name
        self.p = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1"],
                                  env=stack.db_env(PGAPPNAME=name), stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def send(self, sql):
        self.p.stdin.write((sql + "\n").encode())
        self.p.stdin.flush()

    def wait_idle_in_transaction(self):
        for _ in range(200):
            n = self.stack.scalar("SELECT count(*) FROM pg_stat_activity WHERE "
                                  "application_name = '%s' AND state = 'idle in transaction'"
                                  % self.name)
            if n == "1":
                return
            time.sleep(0.02)
        raise AssertionError("psql %s is not in its transaction" % self.name)

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=20) == 0, self.p.stderr.read()

    def quit(self):
        """End the session, whatever state it is in (a test's cleanup)."""
        self.p.stdin.close()
        self.p.wait(timeout=20)


@contextlib.contextmanager
def refusing(stack, when, table="jobs", at_commit=False, first="", definer=False, on="UPDATE"):
    """A trigger on tripline.<table> that, for an `on` (UPDATE or INSERT)
    whose new row meets `when` (SQL over NEW), runs the PL/pgSQL
    statements `first` and then raises 'Refused by the test': a failed
    write at a chosen moment (at_commit: a deferred trigger, so the
    COMMIT fails).  definer: SECURITY DEFINER, so it runs as the
    superuser that made it, who sees what other roles' sessions wait
    for.  Dropped on leaving."""
    trigger = ("CREATE CONSTRAINT TRIGGER test_refuse AFTER %s ON tripline.%s "
               "DEFERRABLE INITIALLY DEFERRED" if at_commit else
               "CREATE TRIGGER test_refuse BEFORE %s ON tripline.%s") % (on, table)
    stack.psql("""
        CREATE FUNCTION tripline.test_refuse() RETURNS trigger
        LANGUAGE plpgsql %s AS $$ BEGIN
            IF %s THEN
                %s
                RAISE EXCEPTION 'Refused by the test';
            END IF;
            RETURN NEW;
        END $$;
        %s FOR EACH ROW EXECUTE FUNCTION tripline.test_refuse();"""
               % ("SECURITY DEFINER" if definer else "", when, first, trigger))
    try:
        yield
    finally:
        stack.psql("DROP TRIGGER IF EXISTS test_refuse ON tripline.%s; "
                   "DROP FUNCTION IF EXISTS tripline.test_refuse()" % table)
