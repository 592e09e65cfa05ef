#!/usr/bin/env bash
# load.sh: the load test of docs/security.md ("Load").  A fresh stack of
# the optimised build under $LOAD_VAR (its own ports), ROWS generated trips
# loaded, then three parts, each printing its figures and exiting non-zero
# on any error:
#
#   reads    wrk, CONNECTIONS connections for SECONDS s, on a mix of the
#            read endpoints (/api/health, GET /api/jobs and every
#            /api/reports/* route in cgi/router.c), then READ_SECONDS s on
#            each alone: requests/s, p50, p99, errors (must be 0)
#   submit   SUBMITS small files posted at once by CLIENTS clients: every
#            answer 202, latency p50/p99, time until every job succeeded,
#            every row loaded once
#   streams  STREAMS event streams (/api/events) held open at once, then a
#            job: every stream must receive its events; time to the last
#            (in Python here; make bench's stream pass is tests/bench/bench_stream.sh)
#
#   tests/bench/load.sh                      everything with the defaults
#   PARTS="reads" SECONDS_=10 tests/bench/load.sh
#
# Settings: CONNECTIONS [200], SECONDS_ [30], READ_SECONDS [10], THREADS
# [wrk threads: CPUs], SUBMITS [200], CLIENTS [20], STREAMS [1000],
# ROWS [100000], PARTS ["reads submit streams"], LOAD_VAR
# [build/load/var], TRIPLINE_HTTP_PORT [18280], TRIPLINE_PGPORT [55532],
# KEEP=1 leaves the stack running.  The submission rate limit is raised
# for the run (all clients come from one address).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CONNECTIONS=${CONNECTIONS:-200}
SECONDS_=${SECONDS_:-30}
READ_SECONDS=${READ_SECONDS:-10}
THREADS=${THREADS:-$(nproc)}
SUBMITS=${SUBMITS:-200}
CLIENTS=${CLIENTS:-20}
STREAMS=${STREAMS:-1000}
ROWS=${ROWS:-100000}
PARTS=${PARTS:-reads submit streams}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

export TRIPLINE_VAR=${LOAD_VAR:-$ROOT/build/load/var}
export TRIPLINE_HTTP_PORT=${TRIPLINE_HTTP_PORT:-18280}
export TRIPLINE_PGPORT=${TRIPLINE_PGPORT:-55532}
export TRIPLINE_BIN=$ROOT/build
export TRIPLINE_SUBMIT_RATE=${TRIPLINE_SUBMIT_RATE:-10000}
export TRIPLINE_SUBMIT_BURST=${TRIPLINE_SUBMIT_BURST:-10000}
export TRIPLINE_UPLOAD_CONN=${TRIPLINE_UPLOAD_CONN:-10000}
export DEMO=0

command -v wrk >/dev/null || scripts/install-deps.sh bench
make --no-print-directory -s all

machine="$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME")"
echo "== load test $(date -u +%Y-%m-%dT%H:%M:%SZ), $machine, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), load average $(cut -d' ' -f1-3 /proc/loadavg) before"

failed=0
fail() { echo "FAIL: $*"; failed=1; }

cleanup() {
	[ "${KEEP:-0}" = 1 ] && { echo "stack left running under $TRIPLINE_VAR"; return; }
	scripts/stack.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT

scripts/stack.sh reset >/dev/null 2>&1 || true
scripts/stack.sh up >/dev/null
. "$TRIPLINE_VAR/env"
URL=$TRIPLINE_URL

# Data for the reports: ROWS generated trips, loaded through the inbox.
build/tripline-gen -n "$ROWS" -s 7 -o "$TRIPLINE_VAR/inbox/load.csv" 2>/dev/null
[ "$(id -u)" -eq 0 ] && chown --reference="$TRIPLINE_VAR/inbox" "$TRIPLINE_VAR/inbox/load.csv"
$PY - "$URL" "$ROWS" <<-'EOF'
	import json, os, sys, time, urllib.request
	url, rows = sys.argv[1], int(sys.argv[2])
	token = os.environ["TRIPLINE_TOKEN"]
	req = urllib.request.Request(url + "/api/jobs", json.dumps({"path": "load.csv"}).encode(),
	                             {"Authorization": "Bearer " + token,
	                              "Content-Type": "application/json"})
	job = json.load(urllib.request.urlopen(req))["id"]
	while True:
	    j = json.load(urllib.request.urlopen("%s/api/jobs/%d" % (url, job)))
	    if j["state"] in ("succeeded", "failed", "cancelled"):
	        break
	    time.sleep(0.1)
	assert j["state"] == "succeeded" and j["rows_loaded"] == rows, j
	print("  loaded %d trips for the reports" % rows)
	EOF

# -- reads -------------------------------------------------------------------

# The read endpoints with parameters that make each answer 200.
report_query() {
	case "$1" in
	*/weekly-average)	echo "$1?region=Prague" ;;
	*/trip-groups)		echo "$1?region=Turin&limit=100" ;;
	*/datasource-regions)	echo "$1?datasource=cheap_mobile" ;;
	*)			echo "$1" ;;
	esac
}
paths=(/api/health "/api/jobs?limit=50")
for r in $(grep -oE '"/api/reports/[^"]+"' cgi/router.c | tr -d '"'); do
	paths+=("$(report_query "$r")")
done

# wrk prints latencies as 1.23ms, 456.00us or 1.02s.
to_ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000;
	else if (v ~ /ms$/) printf "%.2f", v + 0; else if (v ~ /s$/) printf "%.2f", v * 1000;
	else print "?" }'; }

# run_wrk NAME SECONDS PATH...: one wrk run over the paths in turn.
run_wrk() {
	local name=$1 secs=$2 out lua p50 p99 rps non2xx sockerr
	shift 2
	lua=$(mktemp)
	{
		echo 'local paths = {'
		for p in "$@"; do printf '  "%s",\n' "$p"; done
		echo '}'
		echo 'local i = 0'
		echo 'request = function()'
		echo '  i = i + 1'
		echo '  return wrk.format("GET", paths[(i % #paths) + 1])'
		echo 'end'
	} >"$lua"
	# Check every path answers 200 before loading it.
	for p in "$@"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$p")
		[ "$code" = 200 ] || fail "$p answers $code"
	done
	out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "${secs}s" --timeout 10s --latency \
	    -s "$lua" "$URL" 2>&1)
	rm -f "$lua"
	p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
	sockerr=$(grep -oE 'Socket errors: .*' <<<"$out" || true)
	printf '  %-34s %9s req/s  p50 %8s ms  p99 %8s ms  errors %s\n' "$name" "$rps" \
	    "$(to_ms "$p50")" "$(to_ms "$p99")" "${non2xx:-0}${sockerr:+, $sockerr}"
	[ -z "$non2xx" ] && [ -z "$sockerr" ] || { fail "$name: errors"; echo "$out"; }
}

if [[ " $PARTS " == *" reads "* ]]; then
	echo "== reads: wrk, $CONNECTIONS connections, $THREADS threads"
	run_wrk "mix of ${#paths[@]} endpoints, ${SECONDS_} s" "$SECONDS_" "${paths[@]}"
	for p in "${paths[@]}"; do
		run_wrk "${p%%\?*}, ${READ_SECONDS} s" "$READ_SECONDS" "$p"
	done
fi

# -- submissions -------------------------------------------------------------

if [[ " $PARTS " == *" submit "* ]]; then
	echo "== submit: $SUBMITS small files by $CLIENTS clients at once"
	$PY - "$URL" "$SUBMITS" "$CLIENTS" <<-'EOF' || fail "submissions"
	import http.client, json, os, sys, threading, time, uuid
	url, n, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	token = os.environ["TRIPLINE_TOKEN"]
	host, port = url.split("//")[1].split(":")
	HEAD = b"region,origin_coord,destination_coord,datetime,datasource,tag\n"
	ROW = (b"Prague,POINT (14.4973794438195 50.00136875782316),POINT (14.43109483523328 "
	       b"50.04052930943246),2018-05-28 09:03:40,funny_car,")
	ROWS = 50
	files = [HEAD + b"".join(ROW + uuid.uuid4().hex.encode() + b"\n" for _ in range(ROWS))
	         for _ in range(n)]
	lat, ids, errors = [], [], []
	lock = threading.Lock()
	go = threading.Barrier(clients)
	def client(k):
	    go.wait()
	    for i in range(k, n, clients):
	        c = http.client.HTTPConnection(host, int(port), timeout=60)
	        t = time.monotonic()
	        c.request("POST", "/api/jobs?filename=load-%d.csv" % i, files[i],
	                  {"Authorization": "Bearer " + token, "Content-Type": "text/csv"})
	        r = c.getresponse()
	        body = r.read()
	        with lock:
	            lat.append(time.monotonic() - t)
	            if r.status == 202:
	                ids.append(json.loads(body)["id"])
	            else:
	                errors.append((r.status, body[:200]))
	        c.close()
	t0 = time.monotonic()
	th = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
	for t in th: t.start()
	for t in th: t.join()
	t1 = time.monotonic()
	lat.sort()
	pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
	print("  %d accepted in %.2f s (%.0f/s), latency p50 %.1f ms p99 %.1f ms, errors %d"
	      % (len(ids), t1 - t0, len(ids) / (t1 - t0), pct(0.50), pct(0.99), len(errors)))
	for e in errors[:5]:
	    print("   ", e)
	left = set(ids)
	loaded = 0
	while left:
	    for i in list(left):
	        c = http.client.HTTPConnection(host, int(port), timeout=60)
	        c.request("GET", "/api/jobs/%d" % i)
	        j = json.loads(c.getresponse().read())
	        c.close()
	        if j["state"] in ("succeeded", "failed", "cancelled"):
	            left.discard(i)
	            if j["state"] != "succeeded" or j["rows_loaded"] != ROWS:
	                errors.append(("job", j))
	            loaded += j["rows_loaded"]
	    time.sleep(0.2)
	t2 = time.monotonic()
	print("  all %d jobs succeeded %.2f s after the last answer (%d rows, %.0f jobs/s overall)"
	      % (len(ids), t2 - t1, loaded, len(ids) / (t2 - t0)))
	sys.exit(1 if errors or len(ids) != n else 0)
	EOF
fi

# -- streams -------------------------------------------------------------------

if [[ " $PARTS " == *" streams "* ]]; then
	echo "== streams: $STREAMS event streams held at once"
	$PY - "$URL" "$STREAMS" <<-'EOF' || fail "streams"
	import json, os, resource, selectors, socket, sys, time, uuid, urllib.request
	url, n = sys.argv[1], int(sys.argv[2])
	token = os.environ["TRIPLINE_TOKEN"]
	host, port = url.split("//")[1].split(":")
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 256)), hard))
	sel = selectors.DefaultSelector()
	last = json.load(urllib.request.urlopen(url + "/api/jobs?limit=1"))["jobs"][0]["id"]
	t0 = time.monotonic()
	socks = []
	for i in range(n):
	    s = socket.create_connection((host, int(port)))
	    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	    s.setblocking(False)
	    sel.register(s, selectors.EVENT_READ, i)
	    socks.append(s)
	buf = [b""] * n
	heads = 0
	def pump(deadline, want):
	    global heads
	    while time.monotonic() < deadline:
	        for key, _ in sel.select(0.2):
	            i = key.data
	            d = key.fileobj.recv(65536)
	            if not d:
	                raise SystemExit("stream %d closed" % i)
	            buf[i] += d
	        if want():
	            return True
	    return False
	ok = pump(time.monotonic() + 60, lambda: all(b" 200 " in b[:20] for b in buf))
	t1 = time.monotonic()
	bad = [b[:60] for b in buf if b" 200 " not in b[:20]]
	print("  %d streams open in %.2f s%s" % (n - len(bad), t1 - t0,
	      "" if ok else ", %d not: %r" % (len(bad), bad[:3])))
	if not ok:
	    sys.exit(1)
	# One job: every stream must see its succeeded event.
	data = (b"region,origin_coord,destination_coord,datetime,datasource,tag\n"
	        b"Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-05-28 09:03:40,funny_car,"
	        + uuid.uuid4().hex.encode() + b"\n")
	req = urllib.request.Request(url + "/api/jobs?filename=streams.csv", data,
	                             {"Authorization": "Bearer " + token, "Content-Type": "text/csv"})
	t2 = time.monotonic()
	job = json.load(urllib.request.urlopen(req))["id"]
	mark = b'"job":%d' % job
	got = {}
	def all_seen():
	    for i in range(n):
	        if i not in got and b"event: succeeded" in buf[i] and mark in buf[i]:
	            got[i] = time.monotonic() - t2
	    return len(got) == n
	ok = pump(time.monotonic() + 60, all_seen)
	lat = sorted(got.values())
	pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
	print("  job %d: %d of %d streams got its events; submit to 'succeeded' on a stream: "
	      "p50 %.0f ms, p99 %.0f ms, last %.0f ms" % (job, len(got), n, pct(0.5), pct(0.99),
	      lat[-1] * 1000 if lat else float("nan")))
	for s in socks:
	    s.close()
	sys.exit(0 if ok else 1)
	EOF
fi

[ "$failed" -eq 0 ] && echo "load: ok" || echo "load: FAILED"
exit "$failed"
