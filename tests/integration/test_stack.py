"""test_stack.py: the stack's own life (scripts/stack.sh, README "Quick
start" and "Configuration"): up twice is harmless, down keeps the data,
and the settings of a later up apply to it."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import harness


def read_env(var):
    env = {}
    with open(os.path.join(var, "env")) as f:
        for line in f:
            k, _, v = line.strip()[len("export "):].partition("=")
            env[k] = v.strip("'")
    return env


def own_var(http_port=None, **extra):
    """A new state directory for stack.sh run by hand, and its
    environment: free ports, the sanitizer build, a small cluster, no
    demo data; extra settings on top."""
    var = tempfile.mkdtemp(prefix="tripline-test-")
    os.chmod(var, 0o755)
    env = dict(os.environ, TRIPLINE_VAR=var,
               TRIPLINE_HTTP_PORT=str(http_port or harness.free_port()),
               TRIPLINE_PGPORT=str(harness.free_port()),
               TRIPLINE_BIN=os.path.join(harness.ROOT, "build", "asan"),
               TRIPLINE_PG_FSYNC="off", TRIPLINE_PG_SHARED_BUFFERS="128MB", DEMO="0",
               **extra)
    return var, env


def test_up_twice_down_up_and_a_new_pgport(stack=None):
    """README, Troubleshooting: a port in use is left by setting
    TRIPLINE_PGPORT; that holds after the first start too, when the
    cluster already exists (its postgresql.conf names the first port)."""
    s = harness.Stack()
    try:
        job = s.load(harness.generate(200, seed=3))
        assert job["state"] == "succeeded", job
        # The logs quote rows and file names: none is others' to read
        # (umask 022 made them so before).
        logs = os.path.join(s.var, "log")
        names = sorted(os.listdir(logs))
        assert {"cgi.log", "runner-1.log", "nginx-error.log"} <= set(names), names
        for p in [logs] + [os.path.join(logs, n) for n in names]:
            assert os.stat(p).st_mode & 0o007 == 0, (p, oct(os.stat(p).st_mode))
        if os.getuid() == 0:
            # ... but the stack's own user's: each log opened by it, not
            # by root (which would follow a link that user planted).
            user = s.env.get("TRIPLINE_USER", "tripline")
            gid = pwd.getpwnam(user).pw_gid
            for n in names:
                r = subprocess.run(["setpriv", "--reuid=" + user, "--regid=%d" % gid,
                                    "--init-groups", "--", "test", "-r", os.path.join(logs, n),
                                    "-a", "-w", os.path.join(logs, n)])
                assert r.returncode == 0, "%s: not %s's to read and write" % (n, user)
        # make rotate-logs: each log moves to .1 and the programs go on
        # writing at the start of the emptied one (they append).
        runner_log = os.path.join(logs, "runner-1.log")
        before = open(runner_log, "rb").read()
        assert ("job %d: " % job["id"]).encode() in before, before[-2000:]
        out = s.script("rotate")
        assert out == "logs rotated in %s/log (five kept of each)\n" % s.var, out
        # (The runner may log a line more, tending the rims, before either.)
        assert open(runner_log + ".1", "rb").read().startswith(before)
        assert before not in open(runner_log, "rb").read()
        job2 = s.load(harness.generate(100, seed=5))
        after = open(runner_log, "rb").read()
        assert ("job %d: " % job2["id"]).encode() in after, after[-2000:]
        assert not after.startswith(b"\0") and before not in after, after[:200]
        s.script("rotate")                      # the older one moves on
        assert open(runner_log + ".2", "rb").read().startswith(before)
        assert open(runner_log + ".1", "rb").read().startswith(after)
        if os.getuid() == 0:
            # A log replaced by a link is not followed by the rotation
            # (as root before, it emptied the link's target).
            victim = os.path.join(s.var, "victim")
            with open(victim, "w") as f:
                f.write("kept\n")
            link = os.path.join(logs, "planted.log")
            os.symlink(victim, link)
            s.script("rotate")
            assert open(victim).read() == "kept\n"
            assert not os.path.exists(link + ".1")
            os.unlink(link)
        out = s.script("up")                    # twice: harmless
        s.wait_http()
        # The way to stop this stack, not the default one under var/.
        assert "stop:      TRIPLINE_VAR=%s make down\n" % s.var in out, out
        assert s.job(job["id"]) == job
        s.script("down")
        s.env["TRIPLINE_PGPORT"] = str(harness.free_port())
        s.script("up")
        s.db = read_env(s.var)
        assert s.db["PGPORT"] == s.env["TRIPLINE_PGPORT"], s.db
        assert s.scalar("SHOW port") == s.env["TRIPLINE_PGPORT"]
        assert s.job(job["id"]) == job          # the data kept
        assert s.load(harness.generate(100, seed=4))["state"] == "succeeded"
        # A running stack keeps its settings until it stops: an up with
        # other ones says which and changes nothing (var/env neither).
        old = dict(s.env)
        s.env.update({"TRIPLINE_PGPORT": str(harness.free_port()),
                      "TRIPLINE_HTTP_PORT": str(harness.free_port()),
                      "TRIPLINE_THREADS": "3"})
        try:
            s.script("up")
            raise AssertionError("up with other settings while running")
        except RuntimeError as e:
            # Each setting named once (the runner, the FastCGI program
            # and nginx may each tell it), with both values.
            want = ("stack: already running with other settings: "
                    "TRIPLINE_HTTP_PORT (running %s, asked %s), "
                    "TRIPLINE_PGPORT (running %s, asked %s), "
                    "TRIPLINE_THREADS (running 8, asked 3); to apply them: "
                    "TRIPLINE_VAR=%s make down, then make up; to keep the running "
                    "stack instead: make up with what it runs (its values, build and "
                    "sql/reports)\n"
                    % (old["TRIPLINE_HTTP_PORT"], s.env["TRIPLINE_HTTP_PORT"],
                       old["TRIPLINE_PGPORT"], s.env["TRIPLINE_PGPORT"], s.var))
            assert str(e).endswith(want), e
        assert read_env(s.var) == s.db
        s.env = old
        # The FastCGI program read the report files at its start: one
        # changed since is not what it serves, so an up says so too.
        report = os.path.join(harness.ROOT, "sql", "reports", "trip_groups.sql")
        st = os.stat(report)
        try:
            os.utime(report)
            try:
                s.script("up")
                raise AssertionError("up with a report file changed while running")
            except RuntimeError as e:
                assert ("stack: already running with other settings: sql/reports "
                        "(changed since the FastCGI program started); to apply them: "
                        "TRIPLINE_VAR=%s make down, then make up" % s.var) in str(e), e
        finally:
            os.utime(report, ns=(st.st_atime_ns, st.st_mtime_ns))
        s.script("up")                          # as it was: harmless again
        old = s.env["TRIPLINE_PGPORT"]
        s.wait_http()
        s.script("pgrestart")                   # keeps the port too
        assert s.scalar("SHOW port") == old
        out = s.script("reset")
        assert out == "tripline stopped, %s removed\n" % s.var, out
        assert not os.path.exists(s.var)
    finally:
        s.close()


def nginx_processes(var):
    """(pid, ppid) of the processes with var's nginx error log open."""
    log = os.path.join(var, "log", "nginx-error.log")
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fds = os.listdir("/proc/%s/fd" % d)
            if not any(os.readlink("/proc/%s/fd/%s" % (d, fd)) == log for fd in fds):
                continue
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            found.append((int(d), ppid))
        except OSError:
            continue
    return found


def test_stale_pid_files_name_no_stranger(stack=None):
    """A pid file outlives its process (a reboot, kill -9) and its number
    is given again: down signalled whatever process had it, and up took
    it for the program.  A pid is the stack's only with the start time
    recorded beside it (or, for nginx, as the run user's nginx).  And an
    nginx killed with -9 leaves its worker on the port: up and down end
    it.  Both found by a review."""
    s = harness.Stack(runners=1)
    stranger = None
    try:
        assert s.load(harness.generate(50, seed=5))["state"] == "succeeded"
        # nginx's master killed: its worker keeps the port; up ends it.
        os.kill(s.pid("nginx"), signal.SIGKILL)
        time.sleep(0.5)
        assert len(nginx_processes(s.var)) == 1, nginx_processes(s.var)
        s.script("up")
        s.wait_http()
        master = s.pid("nginx")
        for pid, ppid in nginx_processes(s.var):
            assert master in (pid, ppid), ("an nginx not of the new master", pid, ppid)
        s.script("down")
        assert nginx_processes(s.var) == [], nginx_processes(s.var)
        stranger = subprocess.Popen(["sleep", "300"])
        for name in ("runner-1", "cgi", "nginx"):
            with open(os.path.join(s.var, "run", name + ".pid"), "w") as f:
                f.write("%d\n" % stranger.pid)
        with open(os.path.join(s.var, "run", "cgi.start"), "w") as f:
            f.write("1\n")                      # another process's start
        s.script("down")
        assert stranger.poll() is None, "down killed a process not its own"
        s.script("up")                          # not taken for running
        s.wait_http()
        assert stranger.poll() is None
        assert s.load(harness.generate(50, seed=6))["state"] == "succeeded"
        # An up with fewer runners than run stops the others (it left
        # them running, said nothing).
        s.script("runners", "2")
        assert s.runner_names() == ["runner-1", "runner-2"], s.runner_names()
        runner2 = s.pid("runner-2")
        out = s.script("up")
        assert "stopped runner-2 (TRIPLINE_RUNNERS=1)" in out, out
        assert s.runner_names() == ["runner-1"] and \
            not os.path.exists("/proc/%d" % runner2), s.runner_names()
    finally:
        if stranger is not None:
            stranger.kill()
            stranger.wait()
        s.close()


def test_connection_hungry_settings_are_refused(stack=None):
    """tripline_web and tripline_runner may each hold 64 connections
    (000_roles.sql): a FastCGI worker holds one and the relay one more, a
    runner four.  More threads or runners than fit are refused at start,
    with the range, not left to wait for a connection that never comes."""
    r = subprocess.run([os.path.join(harness.ROOT, "build", "asan", "tripline-cgi")],
                       env=dict(os.environ, TRIPLINE_THREADS="64"), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    out = r.stdout.decode()
    assert r.returncode != 0 and \
        'invalid TRIPLINE_THREADS: "64" (a whole number from 1 to 63)' in out, (r.returncode, out)
    with tempfile.TemporaryDirectory() as var:
        r = subprocess.run([os.path.join(harness.ROOT, "scripts", "stack.sh"), "up"],
                           env=dict(os.environ, TRIPLINE_VAR=var, TRIPLINE_RUNNERS="17"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        assert r.returncode != 0 and \
            'invalid TRIPLINE_RUNNERS: "17" (a whole number from 0 to 16)' in out, out
        assert os.listdir(var) == [], os.listdir(var)   # refused before anything
        # The cell and the slot are read by migrate.sh, once PostgreSQL
        # runs: refused before it starts too, not left running.
        for name, value, rng in (("TRIPLINE_CELL_PRECISION", "13", "1 to 12"),
                                 ("TRIPLINE_SLOT_MINUTES", "0", "1 to 1440")):
            r = subprocess.run([os.path.join(harness.ROOT, "scripts", "stack.sh"), "up"],
                               env=dict(os.environ, TRIPLINE_VAR=var, **{name: value}),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = r.stdout.decode()
            assert r.returncode != 0 and \
                'invalid %s: "%s" (a whole number from %s)' % (name, value, rng) in out, out
            assert os.listdir(var) == [], os.listdir(var)


def processes_of(var):
    """Every process whose command line or environment names var: the
    stack's programs (their environment), PostgreSQL (-D var/pgdata) and
    nginx (-p var/nginx)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read()
        except OSError:
            continue
        if var.encode() in cmd or ("TRIPLINE_SPOOL=%s/" % var).encode() in env:
            out.append((int(pid), cmd.replace(b"\0", b" ").decode(errors="replace")))
    return out


def test_two_ups_at_once(stack=None):
    """Two ups on one state directory at once each started PostgreSQL, and
    one stopped the other's, both failing (found by a review).  One takes
    the directory's lock; the other says so at once and starts nothing."""
    var, env = own_var()
    script = os.path.join(harness.ROOT, "scripts", "stack.sh")
    try:
        first = subprocess.Popen([script, "up"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        time.sleep(1)
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        assert r.returncode != 0 and out.endswith(
            "stack: another make up or make down runs on %s\n" % var), out
        out = first.communicate(timeout=180)[0].decode()
        assert first.returncode == 0 and "tripline is up." in out, out
    finally:
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(var, ignore_errors=True)


def test_paths_with_spaces(stack=None):
    """A checkout and a state directory whose paths hold spaces (found by
    a review: the programs' environment was split into words, nginx's and
    PostgreSQL's configurations took the paths unquoted): up, the demo
    file loaded from the inbox, the pages and a report served, down.  A
    path that the configurations cannot quote is refused, by name."""
    base = tempfile.mkdtemp(prefix="tripline-test-")
    os.chmod(base, 0o755)
    checkout = os.path.join(base, "my tripline")
    os.symlink(harness.ROOT, checkout)
    var, env = own_var()
    os.rmdir(var)
    var = os.path.join(base, "state & dir | here")
    port = int(env["TRIPLINE_HTTP_PORT"])
    env.update(TRIPLINE_VAR=var, DEMO="1", TRIPLINE_DEMO_ROWS="300")
    script = os.path.join(checkout, "scripts", "stack.sh")
    try:
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode()
        assert r.returncode == 0 and "tripline is up." in out, out
        assert ("  database:  . %s/state\\ \\&\\ dir\\ \\|\\ here/env && psql\n" % base
                in out), out
        base_url = "http://127.0.0.1:%d" % port
        for path in ("/", "/reports.html", "/api/reports/latest-datasource?top=2"):
            with urllib.request.urlopen(base_url + path, timeout=30) as resp:
                assert resp.status == 200, (path, resp.status)
        psql = ["bash", "-c", '. "$1/env" && psql -XAtc "$2"', "psql", var,
                "SELECT state, rows_loaded FROM tripline.jobs"]
        for _ in range(600):
            got = subprocess.run(psql, stdout=subprocess.PIPE, check=True).stdout
            if got == b"succeeded|300\n":
                break
            time.sleep(0.1)
        assert got == b"succeeded|300\n", got
        r = subprocess.run([script, "down"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        assert r.returncode == 0 and processes_of(var) == [], (r.stdout, processes_of(var))
        bad = os.path.join(base, "it's")
        r = subprocess.run([script, "up"], env=dict(env, TRIPLINE_VAR=bad),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        assert r.returncode != 0 and out.endswith(
            "stack: unsupported path \"%s\": it may not hold a quote, a backslash, "
            "a $, a comma or a line break\n" % bad), out
        assert not os.path.exists(bad), os.listdir(base)
    finally:
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(base, ignore_errors=True)


def test_root_follows_no_link_in_var(stack=None):
    """As root, every file stack.sh writes or reads in var/ (the run
    user's, who may put a link anywhere in it) is opened by the run user
    (found by a review: root wrote var/env, the pid files, nginx.conf and
    demo.csv itself and then gave the last two away with a chown that
    followed a link, and read var/token itself and printed it).  A link
    planted in place of each leads root nowhere: its target, root's, is
    neither written, given away, created nor shown; the up fails, naming
    the file, and leaves nothing running."""
    if os.getuid() != 0:
        raise harness.Skip("stack.sh drops to a run user only when run as root")
    var, env = own_var()
    env.update(DEMO="1", TRIPLINE_DEMO_ROWS="50")
    # Root's files, in a directory the run user may search (so its stat
    # of them works and only a read or a write is refused).
    victims = tempfile.mkdtemp(prefix="tripline-test-")
    os.chmod(victims, 0o755)
    script = os.path.join(harness.ROOT, "scripts", "stack.sh")
    names = ["inbox/demo.csv", "env", "nginx/nginx.conf", "run/cgi.pid",
             "run/cgi.start", "run/cgi.started", "token"]

    def victim(name):
        return os.path.join(victims, name.replace("/", "_"))

    def seen():
        out = {}
        for n in names:
            st = os.stat(victim(n))
            with open(victim(n), "rb") as f:
                out[n] = (st.st_uid, st.st_mode, st.st_mtime_ns, f.read())
        return out

    def up():
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        return r.returncode, r.stdout.decode()

    for n in names:
        with open(victim(n), "wb") as f:
            f.write(b"root's own %s\n" % n.encode())
        os.chmod(victim(n), 0o600)
    lock_victim = os.path.join(victims, "lock")
    before = seen()
    try:
        for n in names:
            link = os.path.join(var, n)
            if n == "inbox/demo.csv":
                # Before the first up: its demo file is made only once.
                os.makedirs(os.path.dirname(link))
            else:
                r = subprocess.run([script, "down"], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=120)
                assert r.returncode == 0, r.stdout
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(victim(n), link)
            rc, out = up()
            assert seen() == before, (n, out)
            assert rc != 0 and os.path.join(var, n) in out, (n, out)
            assert "root's own" not in out and "Killed" not in out, (n, out)
            assert processes_of(var) == [], (n, processes_of(var))
            if os.path.lexists(link):       # a failed pid file goes
                os.unlink(link)
            if n == "inbox/demo.csv":
                rc, out = up()
                assert rc == 0 and "queued the demo file" in out, out
        # The up-down lock is var/ itself, no file root opens there.
        subprocess.run([script, "down"], env=env, stdout=subprocess.PIPE, check=True)
        os.symlink(lock_victim, os.path.join(var, ".stack.lock"))
        rc, out = up()
        assert rc == 0 and "tripline is up." in out, out
        assert not os.path.lexists(lock_victim)
        assert seen() == before
    finally:
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(var, ignore_errors=True)
        shutil.rmtree(victims, ignore_errors=True)


def test_a_failed_up_stops_what_it_started(stack=None):
    """README, Quick start: an up that fails midway (here nginx cannot
    listen: something else has its port) stops what it had started, by
    pid, and says so; then an up with a free port starts them all again."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    var, env = own_var(port)
    script = os.path.join(harness.ROOT, "scripts", "stack.sh")
    try:
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode()
        assert r.returncode != 0, out
        want = ("stack: nginx did not start, see %s/log/nginx-error.log (is port %d free?)\n"
                "stack: stopped what this up had started: postgresql, cgi, runner-1\n"
                % (var, port))
        assert out.endswith(want), out
        assert processes_of(var) == [], processes_of(var)
        assert not [n for n in os.listdir(os.path.join(var, "run")) if n.endswith(".pid")], \
            os.listdir(os.path.join(var, "run"))
        # Nothing was left half-started: with the port free, up works.
        busy.close()
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode()
        assert r.returncode == 0 and "tripline is up." in out, out
        # Something that ran before a failed up is left running, and named.
        nginx = int(open(os.path.join(var, "run", "nginx.pid")).read())
        os.kill(nginx, signal.SIGQUIT)
        for _ in range(100):
            if not os.path.exists("/proc/%d" % nginx):
                break
            time.sleep(0.1)
        busy = socket.socket()
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", port))
        busy.listen()
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode()
        assert r.returncode != 0, out
        assert out.endswith("stack: still running from before: cgi, runner-1, postgresql; "
                            "to stop them: TRIPLINE_VAR=%s make down\n" % var), out
    finally:
        busy.close()
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(var, ignore_errors=True)


def test_bad_settings_are_named_at_up(stack=None):
    """A setting up cannot use is named with its range, as
    TRIPLINE_RUNNERS is.  Before: TRIPLINE_SUBMIT_RATE=fast reached the
    nginx configuration and failed as "nginx did not start ... (is port
    8080 free?)"; TRIPLINE_MAX_UPLOAD=1G (an nginx size, refused by the
    programs) and TRIPLINE_THREADS=100 or TRIPLINE_LEASE_SECONDS=1 (the
    programs' own settings, lib/config.c) made the programs exit at start
    and up wait 20 s to say "/api/health does not answer; see var/log/",
    the reason only in cgi.log."""
    script = os.path.join(harness.ROOT, "scripts", "stack.sh")
    for name, value, want in (
            ("TRIPLINE_SUBMIT_RATE", "fast", "a whole number from 1 to 1000000"),
            ("TRIPLINE_SUBMIT_BURST", "-1", "a whole number from 0 to 1000000"),
            ("TRIPLINE_UPLOAD_CONN", "0", "a whole number from 1 to 65535"),
            ("TRIPLINE_MAX_UPLOAD", "1G", "a whole number from 1 to 9223372036854775807"),
            ("TRIPLINE_MAX_UPLOAD", "9223372036854775808",
             "a whole number from 1 to 9223372036854775807"),
            ("TRIPLINE_HTTP_PORT", "80800", "a whole number from 1024 to 65535"),
            # nginx runs as the run user: it cannot bind below 1024.
            ("TRIPLINE_HTTP_PORT", "81", "a whole number from 1024 to 65535"),
            # Written into postgresql.conf at the first start, where a
            # value PostgreSQL refuses stopped every later start.
            ("TRIPLINE_PG_SHARED_BUFFERS", "lots",
             "a whole number, with kB, MB, GB or TB"),
            ("TRIPLINE_PG_SHARED_BUFFERS", "512 MB",
             "a whole number, with kB, MB, GB or TB"),
            ("TRIPLINE_PG_FSYNC", "maybe", "on or off")):
        with tempfile.TemporaryDirectory() as var:
            r = subprocess.run([script, "up"], env=dict(os.environ, TRIPLINE_VAR=var,
                                                         **{name: value}),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
            out = r.stdout.decode()
            assert r.returncode != 0 and out.endswith(
                'stack: invalid %s: "%s" (%s)\n' % (name, value, want)), out
            assert os.listdir(var) == [], os.listdir(var)   # refused before anything
    # A setting only the programs read: they exit at start naming it, and
    # up says so at once, then stops what it started.
    var, env = own_var(TRIPLINE_LEASE_SECONDS="1")
    try:
        r = subprocess.run([script, "up"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=180)
        out = r.stdout.decode()
        assert r.returncode != 0, out
        bad = 'invalid TRIPLINE_LEASE_SECONDS: "1" (a whole number from 2 to 86400)'
        # The runner refuses it too, once it has read its settings.
        assert "stack: cgi exited: %s\n" % bad in out, out
        assert out.endswith("stack: stopped what this up had started: postgresql, cgi, "
                            "runner-1, nginx\n"), out
        assert "does not answer" not in out, out
        assert processes_of(var) == [], processes_of(var)
    finally:
        subprocess.run([script, "down"], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(var, ignore_errors=True)


def test_cgi_refuses_to_start_without_a_token(stack=None):
    """An unset or empty TRIPLINE_TOKEN opened uploads and cancels to
    anyone, without a word; the program now refuses to start.  Before
    any connection: no stack needed."""
    for env in ({"TRIPLINE_TOKEN": ""}, {}):
        e = {k: v for k, v in os.environ.items() if k != "TRIPLINE_TOKEN"}
        e.update(env)
        r = subprocess.run([os.path.join(harness.ROOT, "build", "asan", "tripline-cgi")],
                           env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        out = r.stdout.decode()
        assert r.returncode == 1 and out.endswith(
            "TRIPLINE_TOKEN is not set: uploads and cancels would be open to "
            "anyone\n"), (env, out)


def test_bad_log_level_is_named(stack=None):
    """TRIPLINE_LOG_LEVEL takes debug, info, warn or error; any other
    value stops both programs at start, named (it was ignored, and only
    "debug" was read at all).  Before any connection: no stack needed."""
    for prog in ("tripline-cgi", "tripline-runner"):
        r = subprocess.run([os.path.join(harness.ROOT, "build", "asan", prog)],
                           env=dict(os.environ, TRIPLINE_LOG_LEVEL="loud"),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        out = r.stdout.decode()
        assert r.returncode == 1 and out.endswith(
            'invalid TRIPLINE_LOG_LEVEL: "loud" (debug, info, warn or error)\n'), (prog, out)
