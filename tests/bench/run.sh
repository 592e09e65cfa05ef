#!/usr/bin/env bash
# run.sh: make bench.  For each size in SIZES, a fresh stack (optimised
# build) under $BENCH_VAR: generate the file with the project's generator,
# upload it through nginx and the FastCGI program, time it from "upload
# accepted" (202) to "job succeeded", then measure bytes per trip, the peak
# memory of both programs, and run the report and stream benchmarks when
# present.  Every figure is appended to docs/bench/results.csv with the
# date, the machine and the git commit.
#
#   make bench                          SIZES="10000000"
#   make bench SIZES="1000000 10000000 100000000"
#   BENCH_PARTS="ingest" make bench     only the ingest figures
#   BENCH_FILES=10 make bench            each size as 10 files, loaded in turn
#   BENCH_REPORT_N=300 make bench        fewer report requests (default 1000)
#   BENCH_ROUNDS=2 make bench            load each size twice (other seeds) into
#                                        the same database, measuring after each:
#                                        figures at 1x and 2x the size
#   BENCH_DELETE_FILES=1 make bench      delete each generated file once uploaded
#                                        (the spool keeps its copy): less disk
#   BENCH_RUNNERS=2 BENCH_SPLIT_BYTES=268435456 make bench
#                                        two runners, files over 256 MiB
#                                        loaded in parts by both at once
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SIZES=${SIZES:-10000000}
PARTS=${BENCH_PARTS:-ingest reports explain stream}
NFILES=${BENCH_FILES:-1}
REPORT_N=${BENCH_REPORT_N:-1000}
RUNNERS=${BENCH_RUNNERS:-1}
ROUNDS=${BENCH_ROUNDS:-1}
DELETE_FILES=${BENCH_DELETE_FILES:-0}
SPLIT=${BENCH_SPLIT_BYTES:-0}
BENCH_VAR=${BENCH_VAR:-$ROOT/build/bench}
RESULTS=$ROOT/docs/bench/results.csv
PY=/usr/bin/python3

export TRIPLINE_VAR=$BENCH_VAR/var
export TRIPLINE_HTTP_PORT=${TRIPLINE_HTTP_PORT:-18080}
export TRIPLINE_PGPORT=${TRIPLINE_PGPORT:-55432}
export TRIPLINE_MAX_UPLOAD=${TRIPLINE_MAX_UPLOAD:-68719476736}
export TRIPLINE_PG_SHARED_BUFFERS=${TRIPLINE_PG_SHARED_BUFFERS:-4GB}
export DEMO=0
export TRIPLINE_RUNNERS=$RUNNERS TRIPLINE_SPLIT_BYTES=$SPLIT

date_=$(date -u +%Y-%m-%dT%H:%M:%SZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# The kind of machine, then which one: its CPU model and the first
# characters of its machine-id (hosts of one kind differ in speed), no
# comma (a CSV field).
machine="$(nproc)cpu-$(awk '/MemTotal/ {printf "%.0fGiB", $2/1048576}' /proc/meminfo)-$(uname -m)"
machine="$machine-$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo |
    tr -c 'A-Za-z0-9.\n' '-' | tr -s '-')-$(cut -c1-8 /etc/machine-id 2>/dev/null || echo unknown)"
mkdir -p "$(dirname "$RESULTS")" "$BENCH_VAR"
[ -s "$RESULTS" ] || echo "date,machine,commit,rows,figure,value,unit" > "$RESULTS"

# record ROWS FIGURE VALUE UNIT
record() {
	echo "$date_,$machine,$commit,$1,$2,$3,$4" >> "$RESULTS"
	printf '  %-28s %s %s\n' "$2" "$3" "$4"
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }	# calc FORMAT EXPR

peak_kib() {	# VmHWM (peak resident set) of a pid file's process, in KiB
	local pid
	pid=$(cat "$TRIPLINE_VAR/run/$1.pid" 2>/dev/null) || { echo 0; return; }
	awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0
}

runners_peak_kib() {	# the largest peak of the runners
	local i m=0 k
	for ((i = 1; i <= RUNNERS; i++)); do
		k=$(peak_kib "runner-$i")
		[ "$k" -gt "$m" ] && m=$k
	done
	echo "$m"
}

for size in $SIZES; do
	scripts/stack.sh reset >/dev/null 2>&1 || true
	scripts/stack.sh up >/dev/null
	. "$TRIPLINE_VAR/env"
	for ((round = 1; round <= ROUNDS; round++)); do
	# rows: the trips in the database after this round.
	rows=$((size * round))
	echo "== $rows rows ($machine, $date_, $commit)"
	# BENCH_FILES > 1: the size as that many files of size/BENCH_FILES
	# rows each (other seeds), uploaded one after another while the
	# runner loads, as fleets send them.  A later round: other seeds.
	files=()
	for ((i = 0; i < NFILES; i++)); do
		r=""
		[ "$round" = 1 ] || r=-r$round
		if [ "$NFILES" = 1 ]; then
			f=$BENCH_VAR/trips-$size$r.csv
		else
			f=$BENCH_VAR/trips-$size$r-$((i + 1))of$NFILES.csv
		fi
		if [ ! -s "$f" ]; then
			echo "  generating $f"
			build/tripline-gen -n "$((size / NFILES))" \
			    -s "$((42 + (round - 1) * NFILES + i))" -o "$f"
		fi
		files+=("$f")
	done
	if [[ " $PARTS " == *" ingest "* ]]; then
		t0=$(date +%s.%N) t1= jobs=()
		for f in "${files[@]}"; do
			jobs+=("$(curl -fsS -T "$f" -X POST -H 'Content-Type: text/csv' \
			    -H @<(printf 'Authorization: Bearer %s\n' "$TRIPLINE_TOKEN") \
			    "$TRIPLINE_URL/api/jobs?filename=$(basename "$f")" |
			    $PY -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
			[ -n "$t1" ] || t1=$(date +%s.%N)
			if [ "$DELETE_FILES" = 1 ]; then rm -f "$f"; fi
		done
		tu=$(date +%s.%N)
		state=$($PY - "$TRIPLINE_URL" "${jobs[@]}" <<-'EOF'
		import datetime, json, sys, time, urllib.request
		url, jobs = sys.argv[1], sys.argv[2:]
		done = {}
		while len(done) < len(jobs):
		    for job in jobs:
		        if job in done:
		            continue
		        j = json.load(urllib.request.urlopen("%s/api/jobs/%s" % (url, job)))
		        if j["state"] in ("succeeded", "failed", "cancelled"):
		            done[job] = j
		    time.sleep(0.05)
		ts = lambda v: datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
		secs = [(ts(done[j]["finished_at"]) - ts(done[j]["started_at"])).total_seconds()
		        for j in jobs]
		for j, s in zip(jobs, secs):
		    print("  job %s: %s, %d rows in %.1f s" % (j, done[j]["state"],
		          done[j]["rows_loaded"], s), file=sys.stderr)
		bad = [done[j]["state"] for j in jobs if done[j]["state"] != "succeeded"]
		print(bad[0] if bad else "succeeded", sum(done[j]["rows_loaded"] for j in jobs),
		      sum(done[j]["rows_rejected"] for j in jobs), "%.2f" % secs[0], "%.2f" % secs[-1])
		EOF
		)
		t2=$(date +%s.%N)
		read -r st loaded rejected first last <<<"$state"
		[ "$st" = succeeded ] || { echo "jobs ${jobs[*]}: $st"; exit 1; }
		record "$rows" files "$NFILES" files
		record "$rows" runners "$RUNNERS" runners
		record "$rows" split_bytes "$SPLIT" bytes
		record "$rows" job_load_seconds_first "$first" s
		record "$rows" job_load_seconds_last "$last" s
		record "$rows" upload_seconds "$(calc "%.2f" "$tu - $t0")" s
		record "$rows" load_seconds "$(calc "%.2f" "$t2 - $t1")" s
		record "$rows" ingest_rows_per_s "$(calc "%.0f" "$loaded / ($t2 - $t1)")" rows/s
		record "$rows" upload_and_load_rows_per_s "$(calc "%.0f" "$loaded / ($t2 - $t0)")" rows/s
		record "$rows" rows_rejected "$rejected" rows
		# The idle runner merges each job's groups, builds each job's rim
		# table, then merges them (jobs/rimtend.c, sql/migrations/
		# 014_trip_rims.sql, 015_rims_both_ends.sql, 017_groups_later.sql);
		# the reports run once it has: no job pending and one table left,
		# or 10 s without a step running or the counts moving.  (The
		# counts too: a step lasts about as long as a poll here, so polls
		# in step with the gaps between steps saw none running for 10 s
		# and measured 200 small jobs with 177 rim tables still to build.)
		rim_tables() { psql -XAtc "SELECT count(*) FROM pg_inherits
		    WHERE inhparent = 'tripline.trip_rims'::regclass"; }
		# (jobs whose groups or rim table are pending)
		rim_pending() { psql -XAtc "SELECT (SELECT count(*) FROM tripline.trip_rims_pending)
		    + (SELECT count(*) FROM tripline.groups_pending)"; }
		tc=$(date +%s.%N) idle=0 pending=$(rim_pending) rims=$(rim_tables)
		record "$rows" rim_tables_loaded "$rims" tables
		record "$rows" rim_pending_loaded "$(psql -XAtc "SELECT count(*)
		    FROM tripline.trip_rims_pending")" jobs
		record "$rows" groups_pending_loaded "$(psql -XAtc "SELECT count(*)
		    FROM tripline.groups_pending")" jobs
		while { [ "$rims" -gt 1 ] || [ "$pending" -gt 0 ]; } && [ "$idle" -lt 20 ]; do
			sleep 0.5
			busy=$(psql -XAtc "SELECT count(*) FROM pg_stat_activity
			    WHERE query LIKE '%trip_rims_tend%' AND state = 'active'
			    AND pid <> pg_backend_pid()")
			was="$pending $rims"
			# (pending first: a build attaches its table and leaves the
			# list in one commit, so no table is missed in between)
			pending=$(rim_pending) rims=$(rim_tables)
			if [ "$busy" = 0 ] && [ "$was" = "$pending $rims" ]; then
				idle=$((idle + 1))
			else
				idle=0
			fi
		done
		record "$rows" rim_upkeep_wait_seconds "$(calc "%.1f" "$(date +%s.%N) - $tc")" s
		record "$rows" rim_tables "$rims" tables
		record "$rows" rim_pending "$pending" jobs
		grep -hE "(merged the groups of job|built the rim table of job|merged [0-9]* rim tables)" \
		    "$TRIPLINE_VAR"/log/runner-*.log 2>/dev/null | sed 's/^/  /' || true
		# The sizes as tests/bench/storage.sh splits them (after VACUUM
		# ANALYZE): its whole and the trips' heap, per trip loaded.
		sizes=$(tests/bench/storage.sh sizes)
		record "$rows" db_bytes_per_trip "$(awk '$1 == "database" { print $2 }' <<<"$sizes")" bytes
		record "$rows" trips_heap_bytes_per_trip "$(awk '$1 == "trips_heap" { print $2 }' <<<"$sizes")" bytes
		record "$rows" runner_peak_rss "$(runners_peak_kib)" KiB
		# A split job: when each part ended, from the runners' logs.
		grep -h "split into\|part [0-9]* loaded" "$TRIPLINE_VAR"/log/runner-*.log 2>/dev/null |
		    sort | sed 's/^/  /' || true
		# Where each job's (or part's) time went, as its runner logged
		# it (jobs/loader.c, loader_phase_log); the first and last
		# job's phases are figures.
		grep -h ": read and copy [0-9.]* s" "$TRIPLINE_VAR"/log/runner-*.log 2>/dev/null |
		    sort | sed 's/^[^ ]* [^ ]* info: /  /' || true
		for which in first last; do
			[ "$which" = first ] && j=${jobs[0]} || j=${jobs[${#jobs[@]} - 1]}
			line=$(grep -h "job $j: read and copy" "$TRIPLINE_VAR"/log/runner-*.log 2>/dev/null | tail -1) || true
			[ -n "$line" ] || continue
			for ph in "read and copy:read" aggregates:aggregates index:index commit:commit; do
				v=$(sed -n "s/.*${ph%%:*} \([0-9.]*\) s.*/\1/p" <<<"$line")
				[ -n "$v" ] && record "$rows" "job_${ph##*:}_seconds_$which" "$v" s
			done
		done
		record "$rows" cgi_peak_rss "$(peak_kib cgi)" KiB
	fi
	if [[ " $PARTS " == *" reports "* ]] && [ -e tests/bench/bench_reports.py ]; then
		# Failed requests are figures too (report_*_errors): go on, fail
		# at the end.
		$PY tests/bench/bench_reports.py --url "$TRIPLINE_URL" --rows "$rows" --n "$REPORT_N" \
		    --results "$RESULTS" --date "$date_" --machine "$machine" --commit "$commit" ||
		    report_errors=1
	fi
	if [[ " $PARTS " == *" explain "* ]]; then
		tests/bench/explain.sh "$rows" "docs/bench/explain-$rows.txt" "$commit"
	fi
	if [[ " $PARTS " == *" stream "* ]] && [ -x tests/bench/bench_stream.sh ]; then
		tests/bench/bench_stream.sh "$rows" "$RESULTS" "$date_" "$machine" "$commit"
	fi
	done
	scripts/stack.sh down >/dev/null
done
echo "results appended to $RESULTS"
tests/bench/plot.sh "$RESULTS" 2>/dev/null || true
if [ -n "${report_errors:-}" ]; then
	echo "some report requests failed: see report_*_errors in $RESULTS"
	exit 1
fi
