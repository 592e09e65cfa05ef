"""bench_reports.py: report latency on a running stack (make bench runs it
after loading ROWS trips; see tests/bench/run.sh).

Fires random requests at every report endpoint, one at a time over one
keep-alive connection, and prints p50/p95/p99 per endpoint; with
--results, appends them to docs/bench/results.csv as
date,machine,commit,rows,figure,value,unit.  The boxes are of every size
(1 m to the whole map), placed over the generator's cities, as the
weekly-average targets say "any bbox".  Only the Python standard library.

    python3 tests/bench/bench_reports.py --url http://127.0.0.1:8080 [--n 1000]
"""
import argparse
import http.client
import json
import random
import sys
import time
import urllib.parse

# The generator's city boxes (tools/gen.c), a little wider.
CITIES = [(14.25, 14.73, 49.93, 50.18), (7.46, 7.83, 44.92, 45.19),
          (9.73, 10.27, 53.36, 53.71)]


def percentile(sorted_ms, p):
    if not sorted_ms:
        return float("nan")
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def random_bbox(rnd):
    x0, x1, y0, y1 = rnd.choice(CITIES)
    w = 10 ** rnd.uniform(-5, 0)      # 1 m to the whole region and more
    h = 10 ** rnd.uniform(-5, -0.3)
    cx, cy = rnd.uniform(x0, x1), rnd.uniform(y0, y1)
    return "%.7f,%.7f,%.7f,%.7f" % (max(-180, cx - w / 2), max(-90, cy - h / 2),
                                    min(180, cx + w / 2), min(90, cy + h / 2))


class Client:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = None

    def get(self, path):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                t0 = time.perf_counter()
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                ms = (time.perf_counter() - t0) * 1000.0
                return r.status, body, ms
            except (http.client.HTTPException, OSError):
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--n", type=int, default=1000, help="weekly-average bbox requests")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rows", default="")
    ap.add_argument("--results")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    ap.add_argument("--machine", default="")
    ap.add_argument("--commit", default="")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    c = Client(a.url)

    st, body, _ = c.get("/api/reports/latest-datasource?top=1000")
    if st != 200:
        print("bench_reports: %s answers %d" % (a.url, st), file=sys.stderr)
        return 1
    regions = [r["region"] for r in json.loads(body)["regions"]] or ["Prague"]
    st, body, _ = c.get("/api/reports/datasource-regions?datasource=cheap_mobile")
    sources = ["cheap_mobile"] if st == 200 else []

    plan = []
    for _ in range(a.n):
        plan.append(("weekly_bbox", "/api/reports/weekly-average?bbox=" + random_bbox(rnd)))
    for m in ("destination", "both", "either"):
        for _ in range(max(10, a.n // 10)):
            plan.append(("weekly_bbox_" + m, "/api/reports/weekly-average?match=%s&bbox=%s"
                         % (m, random_bbox(rnd))))
    for _ in range(max(20, a.n // 3)):
        plan.append(("weekly_region", "/api/reports/weekly-average?region="
                     + urllib.parse.quote(rnd.choice(regions))))
    for _ in range(max(20, a.n // 5)):
        q = rnd.choice(["", "region=" + urllib.parse.quote(rnd.choice(regions)),
                        "bbox=" + random_bbox(rnd), "min_trips=3&limit=1000",
                        "format=geojson&limit=500"])
        plan.append(("trip_groups", "/api/reports/trip-groups?" + q))
    for _ in range(max(20, a.n // 10)):
        plan.append(("latest_datasource", "/api/reports/latest-datasource?top=2"))
        if sources:
            plan.append(("datasource_regions",
                         "/api/reports/datasource-regions?datasource=" + sources[0]))
    rnd.shuffle(plan)

    times, errors = {}, {}
    for name, path in plan:
        st, body, ms = c.get(path)
        if st != 200:
            errors[name] = errors.get(name, 0) + 1
            if errors[name] == 1:
                print("bench_reports: %s -> %d %s" % (path, st, body[:200]), file=sys.stderr)
            continue
        times.setdefault(name, []).append(ms)

    out = []
    print("  %-26s %6s %9s %9s %9s %9s" % ("report", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"))
    for name in sorted(times):
        t = sorted(times[name])
        p50, p95, p99 = percentile(t, 50), percentile(t, 95), percentile(t, 99)
        print("  %-26s %6d %9.2f %9.2f %9.2f %9.2f" % (name, len(t), p50, p95, p99, t[-1]))
        for p, v in (("p50", p50), ("p95", p95), ("p99", p99)):
            out.append(("report_%s_%s" % (name, p), "%.2f" % v, "ms"))
    for name, n in sorted(errors.items()):
        print("  %-26s %6d errors" % (name, n))
        out.append(("report_%s_errors" % name, str(n), "requests"))
    if a.results:
        with open(a.results, "a") as f:
            for fig, v, unit in out:
                f.write("%s,%s,%s,%s,%s,%s,%s\n" % (a.date, a.machine, a.commit, a.rows, fig, v, unit))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
