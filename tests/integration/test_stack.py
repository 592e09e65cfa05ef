"""test_stack.py: the stack's own life (scripts/stack.sh, README "Quick
start" and "Configuration"): up twice is harmless, down keeps the data,
and the settings of a later up apply to it."""
import os
import subprocess
import tempfile

import harness


def read_env(var):
    env = {}
    with open(os.path.join(var, "env")) as f:
        for line in f:
            k, _, v = line.strip()[len("export "):].partition("=")
            env[k] = v.strip("'")
    return env


def test_up_twice_down_up_and_a_new_pgport(stack=None):
    """README, Troubleshooting: a port in use is left by setting
    TRIPLINE_PGPORT; that holds after the first start too, when the
    cluster already exists (its postgresql.conf names the first port)."""
    s = harness.Stack()
    try:
        job = s.load(harness.generate(200, seed=3))
        assert job["state"] == "succeeded", job
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
            want = ("stack: already running with other settings: TRIPLINE_PGPORT, "
                    "TRIPLINE_THREADS, the nginx configuration; to apply them: "
                    "TRIPLINE_VAR=%s make down, then make up\n" % s.var)
            assert str(e).endswith(want), e
        assert read_env(s.var) == s.db
        s.env = old
        old = s.env["TRIPLINE_PGPORT"]
        s.wait_http()
        s.script("pgrestart")                   # keeps the port too
        assert s.scalar("SHOW port") == old
        out = s.script("reset")
        assert out == "tripline stopped, %s removed\n" % s.var, out
        assert not os.path.exists(s.var)
    finally:
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
