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

The reports page (reports.html) is asked what the API is asked, and must
show the same numbers: a region's weeks, dates that narrow them, a box
given lat,lon with its hint, each 400 or 404 reason under its field, trip
groups and their GeoJSON link, the two questions; its address holds the
questions (reload, Back), it fits a phone's width, and with private
reports it asks for the token and keeps it where the upload page does.

Set TRIPLINE_SCREENSHOT=docs/img/page.png (the jobs page) or
TRIPLINE_REPORTS_SCREENSHOT=docs/img/reports.png to keep a screenshot.
"""
import base64
import datetime
import json
import os
import re
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
        # The load waits at its merge (on the lock it takes there,
        # agg_merge_counts) until the FastCGI program has restarted.
        hold = harness.Psql(stack, "hold")
        try:
            hold.send("BEGIN; LOCK TABLE tripline.cell_weeks, tripline.region_weeks, "
                      "tripline.region_datasources IN SHARE ROW EXCLUSIVE MODE;")
            hold.wait_idle_in_transaction()
            b.choose_file("#file", csv)
            b.click("#send")
            job = int(wait_until(lambda: b.text("job-id"), 60, "the job panel"))
            assert b.text("job-name") == "browser-trips.csv"
            # While it runs, the FastCGI program dies and comes back: the
            # page's streams reconnect with Last-Event-ID by themselves.
            wait_until(lambda: b.text("job-state") == "running", 60, "the job to start")
            stack.restart_cgi()
        finally:
            hold.quit()
        wait_until(lambda: b.text("job-state") == "succeeded", 180,
                   "the page to show succeeded (now %r)" % b.text("job-state"))
        # Counted before the reload below opens the stream again.
        log = open(os.path.join(stack.var, "log", "cgi.log"), errors="replace").read()
        assert log.count("/api/jobs/%d/events" % job) >= 2, "the page did not reconnect"
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
        assert shown["href"] == "%s/api/jobs/%d/rejects?limit=1000" % (stack.url, job), shown
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
        # A phone's screen, the first job's rejected rows shown: the
        # tables scroll in their own boxes, not the page (it was 585 px).
        b.call("Emulation.setDeviceMetricsOverride", width=360, height=740,
               deviceScaleFactor=1, mobile=True)
        wait_until(lambda: b.visible("#rejects") and
                   b.eval("document.documentElement.scrollWidth") <= 360, 5,
                   "the jobs page to fit 360 px (it is %s)"
                   % b.eval("document.documentElement.scrollWidth"))
        b.call("Emulation.clearDeviceMetricsOverride")
        # Each job's id is a link: a keyboard reaches a job (focus, Enter).
        link = json.dumps("#jobs tr[data-id=\"%d\"] td:first-child a" % again)
        assert b.eval("document.querySelector(%s).getAttribute('href')" % link) == \
            "#job-%d" % again
        b.eval("document.querySelector(%s).focus()" % link)
        press_enter(b)
        wait_until(lambda: b.text("job-id") == str(again), 10, "Enter on a job's id")
        # Back follows the job followed before (docs/events.md).
        b.eval("history.back()")
        wait_until(lambda: b.text("job-id") == str(first), 10, "Back to the first job")
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


# -- the reports page (nginx/www/reports.html) ----------------------------------

def tap(b, selector):
    """Scroll an element into view and click it."""
    b.eval("document.querySelector(%s).scrollIntoView({block: 'center'})"
           % json.dumps(selector))
    b.click(selector)


def set_field(b, selector, text):
    """Empty a text field, then type into it as a person would."""
    b.eval("document.querySelector(%s).value = ''" % json.dumps(selector))
    tap(b, selector)
    b.type(text)


def press_enter(b):
    """Enter in a field submits its form (HTML's implicit submission)."""
    for kind in ("keyDown", "keyUp"):
        b.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
               windowsVirtualKeyCode=13, nativeVirtualKeyCode=13,
               **({"text": "\r"} if kind == "keyDown" else {}))


def answered(b, key, path):
    """Wait until the answer of form key shows path as its API address."""
    want = b.eval("location.origin") + path
    check = ("(() => { const r = document.getElementById(%s), a = r.querySelector('.api a');"
             " return !r.hidden && !r.hasAttribute('aria-busy') && !!a && a.href === %s &&"
             " a.textContent === %s; })()"
             % (json.dumps(key + "-result"), json.dumps(want), json.dumps(want)))
    try:
        wait_until(lambda: b.eval(check), 30, "the answer of " + path)
    except AssertionError as e:
        raise AssertionError("%s: the page shows %r" % (e, b.eval(
            "({ msg: document.getElementById(%s).textContent, hash: location.hash,"
            " api: (document.querySelector('#%s-result .api a') || {}).href,"
            " hidden: document.getElementById('%s-result').hidden })"
            % (json.dumps(key + "-msg"), key, key)))) from None


def weekly_shown(b):
    return b.eval(
        "(() => ({ total: document.getElementById('w-total').textContent,"
        " count: document.getElementById('w-count').textContent,"
        " avg: document.getElementById('w-avg').textContent,"
        " avg_value: document.getElementById('w-avg').dataset.value,"
        " rows: [...document.querySelectorAll('#w-weeks tr')].map((tr) =>"
        "   [...tr.cells].slice(0, 3).map((td) => td.textContent)),"
        " bars: [...document.querySelectorAll('#w-weeks .fill')].map((f) =>"
        "   f.getBoundingClientRect().width),"
        " hint: document.getElementById('w-hint').hidden ? null :"
        "   document.getElementById('w-hint-text').textContent,"
        " area: document.getElementById('w-area').textContent }))()")


def field_error(b, name):
    """The reason shown under a field and whether it is marked invalid."""
    return b.eval("[document.getElementById(%s).textContent,"
                  " document.getElementById(%s).getAttribute('aria-invalid')]"
                  % (json.dumps(name + "-err"), json.dumps(name)))


def iso_week(monday):
    y, w, _ = datetime.date.fromisoformat(monday).isocalendar()
    return "%d-W%02d" % (y, w)


def test_browser_reports_page(stack):
    """The reports page shows what the API answers, for the same query:
    a region's weeks, a box given lat,lon with its hint, a malformed box
    with the reason under the box field, trip groups, the two questions;
    its address holds the question, so a reload shows the answer again;
    and nothing breaks the Content-Security-Policy."""
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    tmp = tempfile.mkdtemp(prefix="tripline-reports-page-")
    csv = os.path.join(tmp, "reports-page.csv")
    subprocess.run([os.path.join(harness.ROOT, "build", "tripline-gen"), "-n", "20000",
                    "-s", "203", "--days", "45", "-o", csv], check=True)
    with open(csv, "rb") as f:
        job = stack.load(f.read(), filename="reports-page.csv")
    assert job["state"] == "succeeded", job

    def api(path):
        r = stack.http("GET", path)
        assert r.status == 200, (path, r)
        return r.json()

    b = Browser(tmp)
    try:
        b.call("Page.navigate", url=stack.url + "/reports.html")
        b.wait_event("Page.loadEventFired")
        assert b.eval("document.title") == "tripline reports"
        # The two pages link each other.
        assert b.eval("[...document.querySelectorAll('header nav a')].map((a) =>"
                      " [a.textContent, a.getAttribute('href'),"
                      " a.getAttribute('aria-current')])") == \
            [["Jobs", "/", None], ["Reports", "/reports.html", "page"]]

        # The two questions are answered as the page opens, with their
        # defaults, as the API answers them.
        answered(b, "q1", "/api/reports/latest-datasource?top=2")
        q1 = api("/api/reports/latest-datasource?top=2")
        assert b.text("q1-datasource") == q1["datasource"], (b.text("q1-datasource"), q1)
        assert q1["last_seen"] in b.text("q1-when"), (b.text("q1-when"), q1)
        assert b.eval("[...document.querySelectorAll('#q1-regions li')].map((li) =>"
                      " [li.querySelector('.name').textContent,"
                      " li.querySelector('.count').textContent])") == \
            [[r["region"], "%s trips" % format(r["trips"], ",")] for r in q1["regions"]]
        answered(b, "q2", "/api/reports/datasource-regions?datasource=cheap_mobile")
        q2 = api("/api/reports/datasource-regions?datasource=cheap_mobile")
        assert q2["regions"], q2
        assert b.eval("[...document.querySelectorAll('#q2-rows tr')].map((tr) =>"
                      " [...tr.cells].map((td) => td.textContent))") == \
            [[r["region"], format(r["trips"], ","), r["first_seen"], r["last_seen"]]
             for r in q2["regions"]]
        # Another top: the answer and the address follow.
        set_field(b, "#q1-top", "3")
        tap(b, "#q1-form button[type=submit]")
        answered(b, "q1", "/api/reports/latest-datasource?top=3")
        q1 = api("/api/reports/latest-datasource?top=3")
        assert len(q1["regions"]) == 3 and b.text("q1-datasource") == q1["datasource"]
        assert b.eval("location.hash") == "#q1.top=3", b.eval("location.hash")

        # A region's weekly average, asked from the keyboard (Enter in the
        # field): every number shown is the API's for the same query.
        region = q1["regions"][0]["region"]
        set_field(b, "#w-region", region)
        press_enter(b)
        path = "/api/reports/weekly-average?region=" + region
        answered(b, "w", path)
        want = api(path)
        shown = weekly_shown(b)
        assert want["total_trips"] > 0 and want["week_count"] >= 7, want
        assert shown["total"] == format(want["total_trips"], ","), (shown, want)
        assert shown["count"] == format(want["week_count"], ","), (shown, want)
        assert float(shown["avg_value"]) == want["weekly_average"], (shown, want)
        assert abs(float(shown["avg"].replace(",", "")) - want["weekly_average"]) <= 0.005, \
            (shown, want)
        assert shown["rows"] == [[iso_week(w["week_start"]), w["week_start"],
                                  format(w["trips"], ",")] for w in want["weeks"]], \
            (shown, want)
        # A bar per week, as long as its count says (the largest the longest).
        top = max(w["trips"] for w in want["weeks"])
        longest = max(shown["bars"])
        assert longest > 50, shown["bars"]
        for w, px in zip(want["weeks"], shown["bars"]):
            assert abs(px - longest * w["trips"] / top) < 1.5, (shown["bars"], want)
        assert region in shown["area"] and shown["hint"] is None, shown
        assert b.eval("location.hash") == "#w.region=%s&q1.top=3" % region, \
            b.eval("location.hash")

        keep = os.environ.get("TRIPLINE_REPORTS_SCREENSHOT")
        if keep:
            shot = os.path.join(tmp, "reports.png")
            b.screenshot(shot)
            shutil.copyfile(shot, keep)
        # Dates narrow the weeks; a "to" before "from" is refused, its
        # reason under "to".
        mondays = [w["week_start"] for w in want["weeks"]]
        b.eval("document.getElementById('w-from').value = %s;"
               " document.getElementById('w-to').value = %s"
               % (json.dumps(mondays[1]), json.dumps(mondays[3])))
        tap(b, "#w-form button[type=submit]")
        path = "/api/reports/weekly-average?region=%s&from=%s&to=%s" % (
            region, mondays[1], mondays[3])
        answered(b, "w", path)
        narrow = api(path)
        assert weekly_shown(b)["rows"] == [[iso_week(w["week_start"]), w["week_start"],
                                            format(w["trips"], ",")]
                                           for w in narrow["weeks"]]
        assert len(narrow["weeks"]) == 3, narrow
        b.eval("document.getElementById('w-from').value = %s;"
               " document.getElementById('w-to').value = %s"
               % (json.dumps(mondays[3]), json.dumps(mondays[1])))
        tap(b, "#w-form button[type=submit]")
        problem = stack.http("GET", "/api/reports/weekly-average?region=%s&from=%s&to=%s" % (
            region, mondays[3], mondays[1])).json()
        assert [x["name"] for x in problem["invalid_params"]] == ["to"], problem
        wait_until(lambda: field_error(b, "w-to") ==
                   [problem["invalid_params"][0]["reason"], "true"], 20,
                   "the reason under to (shown %r)" % (field_error(b, "w-to"),))
        # Back: the address before, and its answer.
        b.eval("history.back()")
        answered(b, "w", path)
        assert b.eval("document.getElementById('w-to').value") == mondays[3]
        b.eval("document.getElementById('w-from').value = '';"
               " document.getElementById('w-to').value = ''")
        tap(b, "#w-form button[type=submit]")
        path = "/api/reports/weekly-average?region=" + region
        answered(b, "w", path)

        # The address holds the questions: a reload answers them again.
        b.call("Page.reload")
        b.wait_event("Page.loadEventFired")
        answered(b, "w", path)
        answered(b, "q1", "/api/reports/latest-datasource?top=3")
        assert weekly_shown(b)["rows"] == shown["rows"]
        assert b.eval("document.getElementById('w-region').value") == region

        # An address the form cannot hold (a bookmark edited by hand, a
        # date 2018-13-45): the API's reason under the field and the
        # address kept, not Prague's every week and the date dropped.
        bad = "/api/reports/weekly-average?region=%s&from=2018-13-45" % region
        problem = stack.http("GET", bad).json()
        b.eval("location.hash = %s" % json.dumps("#w.region=%s&w.from=2018-13-45" % region))
        wait_until(lambda: field_error(b, "w-from") ==
                   [problem["invalid_params"][0]["reason"], "true"], 20,
                   "the reason under from (shown %r)" % (field_error(b, "w-from"),))
        assert not b.visible("#w-result") and "w.from=2018-13-45" in b.eval("location.hash")
        # A question refused before it is asked (no box): no answer shown,
        # not the last one, which is another question's.
        tap(b, "input[name=w-area][value=bbox]")
        b.eval("document.getElementById('w-bbox').value = ''")
        tap(b, "#w-form button[type=submit]")
        wait_until(lambda: field_error(b, "w-bbox") ==
                   ["enter minLon,minLat,maxLon,maxLat", "true"], 5, "the empty box refused")
        assert not b.visible("#w-result")

        # A box given lat,lon (Prague's, the wrong way round) holds
        # nothing: the zeros and the API's hint, shown.
        tap(b, "input[name=w-area][value=bbox]")
        set_field(b, "#w-bbox", "50.0,14.35,50.12,14.55")
        tap(b, "#w-form button[type=submit]")
        path = "/api/reports/weekly-average?bbox=50.0,14.35,50.12,14.55"
        answered(b, "w", path)
        want = api(path)
        assert want["total_trips"] == 0 and "hint" in want, want
        shown = weekly_shown(b)
        assert shown["hint"] == want["hint"], (shown, want)
        assert shown["total"] == "0" and b.visible("#w-hint"), shown
        # The hint's own box, one click away: the trips it promised.
        tap(b, "#w-hint-use")
        path = "/api/reports/weekly-average?bbox=" + \
            re.search(r"try bbox=([-0-9.,]+)", want["hint"]).group(1)
        answered(b, "w", path)
        want = api(path)
        shown = weekly_shown(b)
        assert want["total_trips"] > 0 and shown["hint"] is None, (shown, want)
        assert shown["total"] == format(want["total_trips"], ","), (shown, want)

        # A malformed box: the API's reason under the box field, its
        # detail below the form, no stale answer.
        set_field(b, "#w-bbox", "14.35, 50.0,14.55,50.12")
        tap(b, "#w-form button[type=submit]")
        r = stack.http("GET", "/api/reports/weekly-average?bbox=14.35,%2050.0,14.55,50.12")
        assert r.status == 400, r
        problem = r.json()
        reason = problem["invalid_params"][0]["reason"]
        wait_until(lambda: field_error(b, "w-bbox") == [reason, "true"], 20,
                   "the reason under the box (shown %r)" % (field_error(b, "w-bbox"),))
        assert b.eval("document.querySelector('#w-msg .detail').textContent") == \
            problem["detail"]
        assert not b.visible("#w-result")
        assert b.eval("document.activeElement.id") == "w-bbox"

        # An unknown region: 404, its reason under the region field.
        tap(b, "input[name=w-area][value=region]")
        set_field(b, "#w-region", "Atlantis")
        tap(b, "#w-form button[type=submit]")
        problem = stack.http("GET", "/api/reports/weekly-average?region=Atlantis").json()
        wait_until(lambda: field_error(b, "w-region")[0] ==
                   problem["invalid_params"][0]["reason"], 20, "the 404's reason")

        # Trip groups of a region: the table is the API's list, the
        # GeoJSON link the same query.
        tap(b, "input[name=g-area][value=region]")
        set_field(b, "#g-region", region)
        set_field(b, "#g-min_trips", "1")

        def ask_groups(limit):
            set_field(b, "#g-limit", str(limit))
            tap(b, "#g-form button[type=submit]")
            path = "/api/reports/trip-groups?region=%s&min_trips=1&limit=%d" % (region, limit)
            answered(b, "g", path)
            want = api(path)
            assert want["count"] == limit, want["count"]
            return path, want

        path, want = ask_groups(25)
        rows = b.eval("[...document.querySelectorAll('#g-rows tr')].map((tr) =>"
                      " [...tr.cells].map((td) => td.textContent))")
        assert len(rows) == 25, rows
        for row, g in zip(rows, want["groups"]):
            assert row[0] == format(g["trips"], ",") and row[1] == g["region"], (row, g)
            assert row[2].startswith(g["origin_cell"]) and \
                row[3].startswith(g["dest_cell"]), (row, g)
            assert row[4] == g["slot_start"] and \
                row[5] == g["first_seen"] + g["last_seen"], (row, g)
            assert row[6] == ", ".join(g["datasources"]), (row, g)
        assert b.eval("document.getElementById('g-geojson').href") == \
            stack.url + path + "&format=geojson"
        r = stack.http("GET", path + "&format=geojson")
        assert r.status == 200 and len(r.json()["features"]) == 25, r
        assert not b.visible("#g-more-line")
        # Many groups are drawn 500 rows at a time, the rest a button
        # away, in the API's order.
        path, want = ask_groups(1200)
        drawn = "document.querySelectorAll('#g-rows tr').length"
        assert b.eval(drawn) == 500 and b.visible("#g-more-line"), b.eval(drawn)
        assert b.text("g-more") == "Show 500 more (700 not shown)", b.text("g-more")
        tap(b, "#g-more")
        wait_until(lambda: b.eval(drawn) == 1000, 10, "the next 500 rows")
        assert b.text("g-more") == "Show 200 more (200 not shown)", b.text("g-more")
        tap(b, "#g-more")
        wait_until(lambda: b.eval(drawn) == 1200, 10, "the last 200 rows")
        assert not b.visible("#g-more-line")
        rows = b.eval("[...document.querySelectorAll('#g-rows tr')].map((tr) =>"
                      " [tr.cells[0].textContent, tr.cells[2].textContent])")
        assert [r[0] for r in rows] == [format(g["trips"], ",") for g in want["groups"]]
        assert all(r[1].startswith(g["origin_cell"]) for r, g in zip(rows, want["groups"]))
        # A limit out of range: the reason under that field.
        set_field(b, "#g-limit", "20000")
        tap(b, "#g-form button[type=submit]")
        wait_until(lambda: field_error(b, "g-limit")[1] == "true" and
                   field_error(b, "g-limit")[0], 20, "the reason under the limit")
        # Groups of a box given lat,lon: none, and the API's hint, whose
        # button asks for the box it names.  A box of 1 km away from the centre, not the
        # city's: with single trips (min_trips=1) a box reads every group
        # of its cells, which on the shared stack of a whole run took
        # longer than the statement timeout (docs/reports.md, "Cost").
        set_field(b, "#g-limit", "25")
        tap(b, "input[name=g-area][value=bbox]")
        set_field(b, "#g-bbox", "50.03,14.48,50.04,14.50")
        tap(b, "#g-form button[type=submit]")
        path = "/api/reports/trip-groups?bbox=50.03,14.48,50.04,14.50&min_trips=1&limit=25"
        answered(b, "g", path)
        want = api(path)
        assert want["groups"] == [] and "hint" in want, want
        assert b.visible("#g-hint") and b.text("g-hint-text") == want["hint"]
        tap(b, "#g-hint-use")
        path = "/api/reports/trip-groups?bbox=" + \
            re.search(r"try bbox=([-0-9.,]+)", want["hint"]).group(1) + "&min_trips=1&limit=25"
        answered(b, "g", path)
        want = api(path)
        assert not b.visible("#g-hint") and want["count"] > 0, want
        assert len(b.eval("[...document.querySelectorAll('#g-rows tr')]"
                          ".map((tr) => tr.cells.length)")) == want["count"]

        # Server text is text: no element came from an answer's markup.
        assert b.eval("document.querySelectorAll('main td *:not(span), main li *:not(span)')"
                      ".length") == 0
        # The narrow screen of a phone: nothing wider than the page but
        # the tables, which scroll in their own boxes.
        b.call("Emulation.setDeviceMetricsOverride", width=360, height=740,
               deviceScaleFactor=1, mobile=True)
        wait_until(lambda: b.eval("document.documentElement.scrollWidth") <= 360, 5,
                   "the page to fit 360 px (it is %s)"
                   % b.eval("document.documentElement.scrollWidth"))
        b.call("Emulation.clearDeviceMetricsOverride")
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_browser_reports_token(stack):
    """With TRIPLINE_REPORTS_PUBLIC=0 the reports page asks for the token
    as the upload page does (a 401), keeps it where that page keeps it,
    and asks again with it; forgotten, it is asked for again."""
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    own = harness.Stack(env={"TRIPLINE_REPORTS_PUBLIC": "0"}, runners=0)
    tmp = tempfile.mkdtemp(prefix="tripline-reports-token-")
    b = Browser(tmp)
    try:
        b.call("Page.navigate", url=own.url + "/reports.html#q2.datasource=cheap_mobile")
        b.wait_event("Page.loadEventFired")
        wait_until(lambda: b.visible("#token-form"), 20, "the token prompt")
        assert b.eval("document.activeElement.id") == "token"
        assert b.text("token-msg"), "no reason given for the prompt"
        assert not b.visible("#q1-result") and not b.visible("#q2-result")
        # A wrong token: asked again.
        tap(b, "#token")
        b.type("not-" + own.token)
        press_enter(b)
        wait_until(lambda: b.eval("document.getElementById('token').value") == "not-" +
                   own.token and b.visible("#token-form") and
                   b.text("q1-msg") == "waiting for the token", 20, "the prompt again")
        b.eval("document.getElementById('token').value = ''")
        tap(b, "#token")
        b.type(own.token)
        press_enter(b)
        # Nothing loaded: no datasource yet, and cheap_mobile is unknown
        # (404, its reason under its field).
        answered(b, "q1", "/api/reports/latest-datasource?top=2")
        assert b.text("q1-datasource") == "none"
        problem = own.http("GET", "/api/reports/datasource-regions?datasource=cheap_mobile",
                           headers=own.auth()).json()
        wait_until(lambda: field_error(b, "q2-datasource") ==
                   [problem["invalid_params"][0]["reason"], "true"], 20,
                   "the 404 under the datasource")
        assert not b.visible("#token-form") and b.visible("#token-line")
        assert b.eval("localStorage.getItem('tripline.token')") == own.token
        # The upload page has it too: it does not ask.
        b.call("Page.navigate", url=own.url + "/")
        b.wait_event("Page.loadEventFired")
        assert not b.visible("#token-row") and b.visible("#forget")
        b.call("Page.navigate", url=own.url + "/reports.html")
        b.wait_event("Page.loadEventFired")
        answered(b, "q1", "/api/reports/latest-datasource?top=2")
        assert not b.visible("#token-form")
        tap(b, "#forget")
        assert b.eval("localStorage.getItem('tripline.token')") is None
        tap(b, "#q1-form button[type=submit]")
        wait_until(lambda: b.visible("#token-form"), 20, "the prompt after forget")
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        own.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_browser_refuses_a_file_over_the_limit(stack):
    """A file over TRIPLINE_MAX_UPLOAD is refused by the page when it is
    chosen and when Upload is clicked, from the limit GET /api/health
    gives: it was sent in full (gigabytes, for a big one) before nginx's
    413.  The text is the page's own (nginx says "the body is ..."), and
    no job comes of it; a file under the limit still goes."""
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    own = harness.Stack(env={"TRIPLINE_MAX_UPLOAD": "100000"}, runners=0)
    tmp = tempfile.mkdtemp(prefix="tripline-browser-limit-")
    big, fits = os.path.join(tmp, "big.csv"), os.path.join(tmp, "fits.csv")
    with open(big, "wb") as f:
        f.write(harness.generate(2000, seed=5))
    with open(fits, "wb") as f:
        f.write(harness.generate(20, seed=5))
    size = os.path.getsize(big)
    assert size > 100000 and os.path.getsize(fits) < 100000
    said = "the file is %s bytes, over the limit of 100,000 bytes" % format(size, ",")
    b = Browser(tmp)
    try:
        b.call("Page.navigate", url=own.url + "/")
        b.wait_event("Page.loadEventFired")
        b.click("#token")
        b.type(own.token)
        b.choose_file("#file", big)
        wait_until(lambda: b.text("form-msg") == said, 20, "the limit when chosen")
        b.eval("document.getElementById('form-msg').textContent = ''")
        b.click("#send")
        wait_until(lambda: b.text("form-msg") == said, 20, "the limit when sent")
        jobs = own.http("GET", "/api/jobs", headers=own.auth()).json()["jobs"]
        assert jobs == [], jobs
        b.choose_file("#file", fits)
        wait_until(lambda: b.text("form-msg") == "", 20, "the message gone")
        b.click("#send")
        job = int(wait_until(lambda: b.text("job-id"), 60, "the job panel"))
        assert b.text("job-name") == "fits.csv", b.text("job-name")
        jobs = own.http("GET", "/api/jobs", headers=own.auth()).json()["jobs"]
        assert [j["id"] for j in jobs] == [job], jobs
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        own.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_browser_panel_tells_what_is_true(stack):
    """The job panel of the page says what the API says.  Each of these
    failed before the fix that came with it (the audit of the page as a
    new user meets it): an address naming no job showed it "queued",
    "reconnecting…" for two minutes, where GET /api/jobs/{id} is 404; an
    address edited to another job (or Back) followed nothing; a job that
    ended before its first progress read "0 of 106 B" and "loaded 1 rows";
    Cancel ignored the token typed in the field (401 "a bearer token is
    required" for a visitor who had not uploaded from this browser); a
    cancelled job went on showing its last progress's rows loaded and
    time left, though nothing of it is kept (0 rows in the API)."""
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    tmp = tempfile.mkdtemp(prefix="tripline-browser-")
    one = (b"region,origin_coord,destination_coord,datetime,datasource\n"
           b"Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-05-28 09:03:40,panel_%d\n"
           % os.getpid())
    small = stack.load(one, filename="one.csv")
    assert small["state"] == "succeeded" and small["rows_loaded"] == 1, small
    missing = int(stack.scalar("SELECT coalesce(max(id), 0) + 1000 FROM tripline.jobs"))
    b = Browser(tmp)
    runners_stopped = False
    try:
        b.call("Page.navigate", url="%s/#job-%d" % (stack.url, missing))
        b.wait_event("Page.loadEventFired")
        wait_until(lambda: b.text("job-summary") == 'job "%d" not found' % missing, 20,
                   "the page to say there is no such job (now %r, %r)" % (
                       b.text("job-state"), b.text("job-conn")))
        time.sleep(1.5)                 # no stream retried meanwhile
        assert b.text("job-state") == "" and b.text("job-conn") == "", (
            b.text("job-state"), b.text("job-conn"))
        assert not b.visible("#cancel")
        # The address edited to another job follows it.
        b.eval("location.hash = '#job-%d'" % small["id"])
        wait_until(lambda: b.text("job-state") == "succeeded", 20,
                   "the edited address to follow job %d" % small["id"])
        assert b.text("job-id") == str(small["id"])
        # The state can come from the job's GET before the stream's
        # succeeded event, which writes the bytes: wait for them.
        sized = "%d B of %d B" % (len(one), len(one))
        wait_until(lambda: b.text("st-bytes") == sized, 20,
                   "the bytes %r (shown %r)" % (sized, b.text("st-bytes")))
        assert b.text("job-summary").startswith("loaded 1 row (0 rejected) in "), \
            b.text("job-summary")
        # A visitor without a kept token follows a running job, types the
        # token, cancels: the job is cancelled and shows nothing kept.
        stack.stop_runners()
        runners_stopped = True
        big = stack.upload(harness.generate(1000000, seed=202), filename="panel-big.csv")
        assert big.status == 202, big
        job = big.json()["id"]
        b.eval("location.hash = '#job-%d'" % job)
        wait_until(lambda: b.text("job-id") == str(job) and b.text("job-state") == "queued",
                   20, "the page to follow the queued job")
        stack.start_runners(1)
        runners_stopped = False
        wait_until(lambda: b.text("job-state") == "running" and
                   b.text("st-rows") not in ("–", "0"), 60, "progress of the running job")
        assert b.visible("#token-row") and b.visible("#cancel")
        b.click("#token")
        b.type(stack.token)
        b.click("#cancel")
        wait_until(lambda: b.text("job-state") in ("cancelled", "succeeded"), 60,
                   "the cancel (summary %r)" % b.text("job-summary"))
        assert b.text("job-state") == "cancelled", b.text("job-summary")
        assert stack.job(job)["state"] == "cancelled"
        assert b.text("job-summary").startswith("cancelled"), b.text("job-summary")
        assert [b.text(x) for x in ("st-rows", "st-rejected", "st-rate", "st-eta")] == \
            ["0", "0", "–", "–"], [b.text(x) for x in ("st-rows", "st-rate", "st-eta")]
        assert b.eval("localStorage.getItem('tripline.token')") == stack.token
        assert not b.visible("#token-row")
        assert b.errors() == [], b.errors()
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if runners_stopped:
            stack.start_runners(1)


def test_browser_retry_starts_over_and_says_why(stack):
    """A job retried after its runner died: the page showed "retrying"
    for an instant, then "attempt 2" alone, the reason gone, and the
    first attempt's rows and time left stayed beside a bar at 0 (found
    by a review of the page).  The events are written here as the
    runners write them (docs/events.md), on a job no runner takes."""
    if not os.access(CHROMIUM, os.X_OK):
        raise harness.Skip("%s is missing (Debian package chromium)" % CHROMIUM)
    job = int(stack.scalar(
        "INSERT INTO tripline.jobs (state, filename, source, path, bytes, sha256, "
        "attempts, started_at, lease_owner, lease_until) VALUES ('running', "
        "'retried.csv', 'inbox', 'retried.csv', 1000, repeat('0', 64), 2, now(), "
        "'elsewhere:1', now() + interval '1 hour') RETURNING id"))

    def event(name, data):
        data = dict(data, job=job)
        stack.psql("WITH e AS (INSERT INTO tripline.job_events (job_id, event, data) "
                   "VALUES (%d, '%s', '%s'::jsonb) RETURNING id) "
                   "SELECT pg_notify('tripline_events', id::text) FROM e"
                   % (job, name, json.dumps(data).replace("'", "''")))

    event("started", {"attempt": 1, "bytes_total": 1000})
    event("progress", {"rows_loaded": 500, "rows_rejected": 0, "bytes_read": 500,
                       "bytes_total": 1000, "percent": 50.0, "rows_per_s": 1000,
                       "eta_s": 0.5, "phase": "reading"})
    tmp = tempfile.mkdtemp(prefix="tripline-browser-")
    b = Browser(tmp)
    try:
        b.call("Page.navigate", url="%s/#job-%d" % (stack.url, job))
        b.wait_event("Page.loadEventFired")
        wait_until(lambda: b.text("st-rows") == "500", 20, "the first attempt's rows")
        event("retrying", {"attempt": 1, "next_try": "2026-01-01T00:00:00Z",
                           "error": "the runner stopped during the load"})
        event("started", {"attempt": 2, "bytes_total": 1000})
        want = "attempt 2, after attempt 1 failed: the runner stopped during the load"
        wait_until(lambda: b.text("job-summary") == want, 20,
                   "the summary %r (shown %r)" % (want, b.text("job-summary")))
        assert (b.text("st-rows"), b.text("st-eta"), b.text("st-bytes")) == \
            ("–", "–", "0 of 1.0 kB"), (b.text("st-rows"), b.text("st-eta"),
                                       b.text("st-bytes"))
        assert b.errors() == [], b.errors()
    finally:
        stack.psql("UPDATE tripline.jobs SET state = 'failed', finished_at = now(), "
                   "error = 'test', lease_owner = NULL, lease_until = NULL WHERE id = %d"
                   % job)
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
