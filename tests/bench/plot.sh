#!/usr/bin/env bash
# plot.sh: charts of docs/bench/results.csv (the newest figure per size)
# into docs/bench/*.svg with gnuplot: ingest time against rows, query
# latency against rows, bytes per trip against rows.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CSV=${1:-$ROOT/docs/bench/results.csv}
OUT=$ROOT/docs/bench
command -v gnuplot >/dev/null || { echo "plot: gnuplot missing (scripts/install-deps.sh bench)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# series FIGURE: "rows value" lines, the newest value for each size from
# runs with one runner (a run with BENCH_RUNNERS=2 is compared in the docs,
# not drawn as a point of the same curve)
series() {
	awk -F, -v f="$1" '
	    FNR == NR { if ($5 == "runners" && $6 != 1) multi[$1] = 1; next }
	    FNR > 1 && $5 == f && !($1 in multi) { v[$4] = $6 }
	    END { for (r in v) print r, v[r] }' "$CSV" "$CSV" |
	    sort -n > "$tmp/$1.dat"
	echo "$tmp/$1.dat"
}

plot() {	# plot FILE TITLE YLABEL FIGURE:LABEL...
	local file=$1 title=$2 ylabel=$3 cmd="" sep="" f label
	shift 3
	for spec in "$@"; do
		f=${spec%%:*}; label=${spec#*:}
		cmd+="$sep'$(series "$f")' using 1:2 with linespoints title '$label'"
		sep=", "
	done
	gnuplot <<-EOG
	set terminal svg size 720,420 dynamic font 'sans,11'
	set output '$OUT/$file'
	set title '$title'
	set xlabel 'trips loaded'
	set ylabel '$ylabel'
	set logscale x
	set format x '%.0s%c'
	set grid
	set key left top
	plot $cmd
	EOG
	echo "wrote docs/bench/$file"
}

plot ingest.svg "Ingest: upload accepted to job succeeded" "seconds" \
    load_seconds:"load (s)"
plot latency.svg "Report latency, p95 over random parameters" "ms" \
    report_weekly_bbox_p95:"weekly average, bbox" \
    report_weekly_region_p95:"weekly average, region" \
    report_trip_groups_p95:"trip groups"
plot bytes.svg "Database bytes per trip" "bytes" \
    db_bytes_per_trip:"whole database" trips_heap_bytes_per_trip:"trips heap"
