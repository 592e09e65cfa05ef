#!/usr/bin/env bash
# bench_stream.sh: the event stream part of make bench (tests/bench/run.sh
# calls it with the stack up).  BENCH_STREAMS clients (1000) open
# GET /api/jobs/{id}/events through nginx on one queued job; once every
# one holds its stream the runner starts, and bench_stream.c measures for
# every event and client the delay from the NOTIFY to the client.
# Meanwhile /api/health, a report and a submission are timed, to show
# that the streams do not starve the other endpoints.
#
#   tests/bench/bench_stream.sh ROWS RESULTS DATE MACHINE COMMIT
#
# Targets (the issue): all streams held, median below 50 ms, p99 below
# 250 ms.  Figures go to RESULTS (docs/bench/results.csv) like run.sh's.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROWS=${1:-0}
RESULTS=${2:-$ROOT/docs/bench/results.csv}
DATE=${3:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}
MACHINE=${4:-$(nproc)cpu-$(uname -m)}
COMMIT=${5:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
STREAMS=${BENCH_STREAMS:-1000}
STREAM_ROWS=${BENCH_STREAM_ROWS:-3000000}
: "${TRIPLINE_VAR:?run from tests/bench/run.sh, or set TRIPLINE_VAR}"
# shellcheck disable=SC1091
. "$TRIPLINE_VAR/env"
PORT=${TRIPLINE_URL##*:}
BIN=build/bench/bench_stream
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

record() {	# record FIGURE VALUE UNIT
	echo "$DATE,$MACHINE,$COMMIT,$ROWS,$1,$2,$3" >> "$RESULTS"
	printf '  %-28s %s %s\n' "$1" "$2" "$3"
}

mkdir -p build/bench
cc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I/usr/include/postgresql \
    -o "$BIN" tests/bench/bench_stream.c -lpq
# Each stream is a socket here, two in nginx and one in the program.
ulimit -n "$(ulimit -Hn)"
nginx_pid=$(cat "$TRIPLINE_VAR/run/nginx.pid" 2>/dev/null || true)
for p in $nginx_pid $(pgrep -P "$nginx_pid" 2>/dev/null || true); do
	lim=$(awk '/Max open files/ {print $4}' "/proc/$p/limits" 2>/dev/null || echo 0)
	if [ "$lim" -lt $((STREAMS * 2 + 64)) ]; then
		echo "  nginx (pid $p) may open only $lim files: streams will fail" >&2
	fi
done

# The job: a generated file in the inbox, queued while no runner runs, so
# that every client is there from its first event on.
file=$TRIPLINE_VAR/inbox/bench-stream.csv
small=$TRIPLINE_VAR/bench-stream-small.csv
build/tripline-gen -n "$STREAM_ROWS" -s 4242 -o "$file"
build/tripline-gen -n 100 -s 4343 -o "$small"
chown --reference="$TRIPLINE_VAR/inbox" "$file" 2>/dev/null || true
for f in "$TRIPLINE_VAR"/run/runner-*.pid; do
	[ -e "$f" ] || continue
	pid=$(cat "$f")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$f"
done
job=$(curl -fsS -H @<(printf 'Authorization: Bearer %s\n' "$TRIPLINE_TOKEN") -H 'Content-Type: application/json' \
    --data '{"path":"bench-stream.csv"}' "$TRIPLINE_URL/api/jobs" |
    $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')

out=$(mktemp)
probes=$(mktemp)
bpid=
cleanup() {
	[ -n "$bpid" ] && kill "$bpid" 2>/dev/null || true
	rm -f "$out" "$out.err" "$probes" "$file" "$small"
}
trap cleanup EXIT
"$BIN" -p "$PORT" -j "$job" -n "$STREAMS" -t 600 > "$out" 2> "$out.err" &
bpid=$!
for _ in $(seq 1 600); do
	grep -q '^ready' "$out" && break
	kill -0 "$bpid" 2>/dev/null || break
	sleep 0.2
done
if ! grep -q '^ready' "$out"; then
	echo "  the streams were not all opened:" >&2
	tail -5 "$out.err" >&2
	scripts/stack.sh runners 1 >/dev/null
	exit 1
fi
echo "  $STREAMS streams open in $(awk '/^ready/ {print $2}' "$out") s; job $job starts"
scripts/stack.sh runners 1 >/dev/null

# While the job runs: the other endpoints, timed (seconds).
probe() {	# probe NAME CURL-ARGS...
	local name=$1 t
	shift
	t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "$@" || echo "000 10")
	echo "$name $t" >> "$probes"
}
while kill -0 "$bpid" 2>/dev/null; do
	probe health "$TRIPLINE_URL/api/health"
	probe report "$TRIPLINE_URL/api/reports/latest-datasource"
	probe submit -H @<(printf 'Authorization: Bearer %s\n' "$TRIPLINE_TOKEN") -F "file=@$small;type=text/csv" \
	    "$TRIPLINE_URL/api/jobs"
	sleep 0.5
done
rc=0
wait "$bpid" || rc=$?
bpid=

val() { awk -v k="$1" '$1 == k {print $2}' "$out"; }
record stream_clients "$(val streams)" streams
record stream_clients_held "$(val streams_held)" streams
record stream_events_per_client "$(val events_per_stream)" events
record stream_busy_retries "$(val busy_retries)" streams
record stream_delay_samples "$(val samples)" samples
record stream_delay_median "$(val delay_median_ms)" ms
record stream_delay_p99 "$(val delay_p99_ms)" ms
record stream_delay_max "$(val delay_max_ms)" ms
for name in health report submit; do
	# mawk (Debian's awk) has no asort: sort(1) orders the times.
	times=$(awk -v n="$name" '$1 == n { printf "%.1f\n", $3 * 1000 }' "$probes" | sort -n)
	count=$(grep -c . <<<"$times" || true)
	bad=$(awk -v n="$name" '$1 == n && $2 !~ /^2/' "$probes" | wc -l)
	median=$(awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }' <<<"$times")
	record "stream_${name}_median" "$median" ms
	record "stream_${name}_max" "$(tail -n 1 <<<"$times")" ms
	if [ "$bad" -gt 0 ]; then
		echo "  $name: $bad of $count probes failed during the streams" >&2
		rc=1
	fi
done
if [ -s "$out.err" ]; then
	echo "  client messages (first lines):" >&2
	head -5 "$out.err" >&2
fi
awk '$1 == "delay_median_ms" && $2 >= 50 { print "  median above the 50 ms target" > "/dev/stderr" }
     $1 == "delay_p99_ms" && $2 >= 250 { print "  p99 above the 250 ms target" > "/dev/stderr" }' "$out"
exit "$rc"
