"""test_browser.py: the page (nginx/www) in a real browser.  Debian's
headless Chromium is driven over the Chrome DevTools Protocol with a small
WebSocket client (RFC 6455) from the standard library, like a person would
use it: type the token, choose a generated file in the form's file input
(DOM.setFileInputFiles, what a file chooser does), click Upload, and watch
the progress bar reach 100 % and the summary appear; meanwhile the
FastCGI program is killed and restarted, and the page must resume its
streams by itself (EventSource with Last-Event-ID).  The job's first
rejected rows are shown under it (server text as text, never markup),
and an upload of the same content again is marked in the table as a
duplicate of the first.

Set TRIPLINE_SCREENSHOT=docs/img/page.png to keep a screenshot.
"""
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request

import harness

CHROMIUM = "/usr/bin/chromium"


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames,
    client frames masked (section 5.3), pings answered."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://"), url
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == b"101", head

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("websocket closed")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._frame(0x1, text.encode())

    def recv(self, timeout):
        self.sock.settimeout(timeout)
        message = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            payload = self._take(n)
            opcode = b0 & 0x0F
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("websocket closed by the browser")
            message += payload
            if b0 & 0x80:
                return message.decode("utf-8")

    def close(self):
        self.sock.close()


class Browser:
    """Headless Chromium with one page, driven over CDP."""

    def __init__(self, tmp):
        self.profile = os.path.join(tmp, "chromium-profile")
        os.makedirs(self.profile)
        self.log = open(os.path.join(tmp, "chromium.log"), "wb")
        # The flags of /work/.library machine notes: no sandbox as root, no
        # GPU, and nothing that would reach for the network on its own.
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-quic", "--no-first-run",
             "--disable-default-apps", "--disable-extensions",
             "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
             "--window-size=1100,1000", "about:blank"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            if self.proc.poll() is not None:
                raise AssertionError("chromium exited: %s" % open(self.log.name).read()[-2000:])
            time.sleep(0.1)
        port = int(open(port_file).read().split()[0])
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = [t for t in targets if t["type"] == "page"][0]
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.next_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")

    def call(self, method, timeout=30, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        end = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(max(0.1, end - time.monotonic())))
            if msg.get("id") == my:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=30):
        end = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s in %ds" % (method, timeout))
            self.events.append(json.loads(self.ws.recv(left)))

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise AssertionError("%s: %s" % (expr, r["exceptionDetails"]))
        return r["result"].get("value")

    def click(self, selector):
        """A real mouse click at the middle of the element."""
        rect = self.eval("(() => { const r = document.querySelector(%s)"
                         ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
                         % json.dumps(selector))
        x, y = rect[0] + rect[2] / 2, rect[1] + rect[3] / 2
        assert rect[2] > 0 and rect[3] > 0, (selector, rect)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=1)

    def type(self, text):
        self.call("Input.insertText", text=text)

    def choose_file(self, selector, path):
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", files=[path], nodeId=node)

    def bar_full(self):
        """The bar's fill spans the whole bar (after its transition)."""
        wait_until(lambda: self.eval(
            "(() => { const f = document.getElementById('bar-fill').getBoundingClientRect(),"
            " b = document.getElementById('bar').getBoundingClientRect();"
            " return f.width > 0 && Math.abs(f.width - b.width) < 1; })()"), 5, "a full bar")

    def visible(self, selector):
        return self.eval("getComputedStyle(document.querySelector(%s)).display !== 'none'"
                         % json.dumps(selector))

    def text(self, element_id):
        return self.eval("document.getElementById(%s).textContent" % json.dumps(element_id))

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def errors(self):
        """Uncaught exceptions, console errors and Content-Security-Policy
        violations the page reported (not network errors: the restart
        makes some on purpose)."""
        out = []
        for ev in self.events:
            if ev.get("method") == "Log.entryAdded":
                e = ev["params"]["entry"]
                if e.get("level") == "error" and e.get("source") in ("security", "violation",
                                                                       "javascript"):
                    out.append(e.get("text"))
            if ev.get("method") == "Runtime.exceptionThrown":
                out.append(ev["params"]["exceptionDetails"].get("text"))
            elif ev.get("method") == "Runtime.consoleAPICalled" and \
                    ev["params"].get("type") == "error":
                out.append(str(ev["params"].get("args")))
        return out

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()


def wait_until(fn, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s" % what)


def rejects_shown(b):
    """The rejected rows under the job, once shown: the head line, each
    row's cells as text, the link, and how many elements the cells hold
    (text only: 0)."""
    return b.eval(
        "(() => { const box = document.getElementById('rejects');"
        " if (box.hidden) return null;"
        " const rows = [...document.querySelectorAll('#rejects-rows tr')];"
        " return { head: document.getElementById('rejects-head').textContent,"
        "  rows: rows.map((tr) => [...tr.cells].map((td) => td.textContent)),"
        "  href: document.getElementById('rejects-link').href,"
        "  elements: document.querySelectorAll('#rejects-rows td *').length }; })()")


def upload_in_page(b, path, previous):
    """Choose path in the form and upload it with the kept token; the
    new job's id once the panel follows it."""
    b.choose_file("#file", path)
    b.click("#send")
    return int(wait_until(lambda: b.text("job-id") not in ("", str(previous)) and
                          b.text("job-id"), 60, "the panel to follow the upload"))


def test_browser_upload_and_watch(stack):
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    tmp = tempfile.mkdtemp(prefix="tripline-browser-")
    rows = 800000
    csv = os.path.join(tmp, "browser-trips.csv")
    with open(csv, "wb") as f:
        f.write(harness.generate(rows, seed=201, bad=7))
    b = Browser(tmp)
    try:
        b.call("Page.navigate", url=stack.url + "/")
        b.wait_event("Page.loadEventFired")
        assert b.eval("document.title") == "tripline"
        # No token stored yet: the page asks for it.
        assert b.visible("#token-row") and not b.visible("#forget")
        b.click("#token")
        b.type(stack.token)
        b.choose_file("#file", csv)
        b.click("#send")
        job = int(wait_until(lambda: b.text("job-id"), 60, "the job panel"))
        assert b.text("job-name") == "browser-trips.csv"
        # While it runs, the FastCGI program dies and comes back: the
        # page's streams reconnect with Last-Event-ID by themselves.
        wait_until(lambda: b.text("job-state") in ("running", "succeeded"), 60,
                   "the job to start")
        restarted = b.text("job-state") == "running"
        if restarted:
            stack.restart_cgi()
        wait_until(lambda: b.text("job-state") == "succeeded", 180,
                   "the page to show succeeded (now %r)" % b.text("job-state"))
        assert b.text("bar-text") == "100 %", b.text("bar-text")
        b.bar_full()
        summary = b.text("job-summary")
        assert "loaded %s rows (7 rejected)" % format(rows, ",") in summary, summary
        assert b.text("st-rejected") == "7", b.text("st-rejected")
        # The rejected rows, as GET /api/jobs/{id}/rejects lists them,
        # under a link to all of them.
        api = stack.http("GET", "/api/jobs/%d/rejects" % job).json()["rejects"]
        assert len(api) == 7, api
        shown = wait_until(lambda: rejects_shown(b), 20, "the rejected rows")
        assert shown["head"] == "the 7 rejected rows", shown
        assert shown["rows"] == [[str(x["line"]), x["reason"], x["raw"]] for x in api], \
            (shown, api)
        assert shown["href"] == "%s/api/jobs/%d/rejects" % (stack.url, job), shown
        # The recent jobs table follows through the one all-jobs stream.
        wait_until(lambda: b.eval(
            "(() => { const r = document.querySelector('#jobs tr[data-id=\"%d\"]');"
            " return r && r.cells[2].textContent; })()" % job) == "succeeded",
            30, "the table row to show succeeded")
        # The token is kept: the next visit does not ask again.
        assert b.eval("localStorage.getItem('tripline.token')") == stack.token
        b.call("Page.reload")
        b.wait_event("Page.loadEventFired")
        wait_until(lambda: b.eval("document.getElementById('jobs').rows.length") > 0, 20,
                   "the table after reload")
        assert not b.visible("#token-row") and b.visible("#forget")
        # The reloaded page follows the job named in its address again.
        wait_until(lambda: b.text("job-summary"), 20, "the summary after reload")
        b.bar_full()
        shot = os.path.join(tmp, "page.png")
        b.screenshot(shot)
        assert os.path.getsize(shot) > 10000
        keep = os.environ.get("TRIPLINE_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)
        # Markup in a rejected row is shown as the text it is; the same
        # file again is a duplicate, marked so in the table, its number a
        # link that follows the first.
        hostile = os.path.join(tmp, "hostile.csv")
        with open(hostile, "wb") as f:
            f.write(b"region,origin_coord,destination_coord,datetime,datasource\n"
                    b"Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-05-28 09:03:40,page_%d\n"
                    b"<b>Prague</b>,<img src=x onerror=alert(1)>,POINT (14.5 50.1),"
                    b"2018-05-28 09:03:40,page\n" % os.getpid())
        first = upload_in_page(b, hostile, job)
        shown = wait_until(lambda: rejects_shown(b), 30, "the hostile rejected row")
        assert shown["head"] == "the rejected row", shown
        assert shown["rows"][0][0] == "3", shown
        assert "<img src=x onerror=alert(1)>" in shown["rows"][0][1], shown
        assert shown["rows"][0][2].startswith("<b>Prague</b>,<img src=x"), shown
        assert shown["elements"] == 0, shown
        again = upload_in_page(b, hostile, first)
        wait_until(lambda: b.text("job-summary") ==
                   "the same content as job %d: nothing loaded again" % first, 30,
                   "the duplicate's summary (now %r)" % b.text("job-summary"))
        assert not b.visible("#rejects"), "rejected rows shown for a duplicate"
        mark = "#jobs tr[data-id=\"%d\"] .dup" % again
        wait_until(lambda: b.eval("(() => { const d = document.querySelector(%s);"
                                  " return d && !d.hidden && d.textContent; })()"
                                  % json.dumps(mark)) == "duplicate of #%d" % first,
                   30, "the table to mark the duplicate")
        assert b.eval("document.querySelector('#jobs tr[data-id=\"%d\"] .dup').hidden"
                      % first), "the first job marked a duplicate"
        b.click(mark + " a")
        wait_until(lambda: b.text("job-id") == str(first), 10, "the link to follow the first")
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    if restarted:
        log = open(os.path.join(stack.var, "log", "cgi.log"), errors="replace").read()
        assert log.count("/api/jobs/%d/events" % job) >= 2, "the page did not reconnect"
