#!/usr/bin/env bash
# explain.sh ROWS OUT [COMMIT]: EXPLAIN (ANALYZE, BUFFERS) of every statement each
# report runs, at the stack's current size, into OUT (docs/bench/).  The
# reports are SQL functions, so a plain EXPLAIN of the call shows one
# "Function Scan"; auto_explain with log_nested_statements prints the plan
# of every statement inside (PostgreSQL docs, F.4 auto_explain), sent to
# this client as NOTICEs.  Each report runs twice; the second, warm run is
# the one kept, as the latency benchmark measures warm requests.  Plans of
# statements under 0.05 ms are left out.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
rows=$1 out=$2
# The commit the run started at (run.sh gives it): HEAD may have moved
# during a run of hours.
commit=${3:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)}
: "${TRIPLINE_VAR:?}"
. "$TRIPLINE_VAR/env"

# A box of about 1 km around Prague's centre, a 10 km one, and Prague by
# name: the sizes the latency benchmark spends most of its time on.
runs=(
	"weekly average, bbox 1 km (origin)|-v minlon=14.41 -v minlat=50.08 -v maxlon=14.425 -v maxlat=50.089 -f sql/reports/weekly_average.sql"
	"weekly average, bbox 10 km (origin)|-v minlon=14.35 -v minlat=50.03 -v maxlon=14.50 -v maxlat=50.12 -f sql/reports/weekly_average.sql"
	"weekly average, bbox 10 km (both)|-v minlon=14.35 -v minlat=50.03 -v maxlon=14.50 -v maxlat=50.12 -v match=both -f sql/reports/weekly_average.sql"
	"weekly average, region|-v region=Prague -f sql/reports/weekly_average.sql"
	"trip groups, region|-v region=Prague -v min_trips=2 -v limit=20 -f sql/reports/trip_groups.sql"
	"trip groups, bbox 10 km|-v minlon=14.35 -v minlat=50.03 -v maxlon=14.50 -v maxlat=50.12 -v min_trips=2 -v limit=20 -f sql/reports/trip_groups.sql"
	"latest datasource of the top 2 regions|-v top=2 -f sql/reports/latest_datasource.sql"
	"regions of cheap_mobile|-v datasource=cheap_mobile -f sql/reports/datasource_regions.sql"
)
# Keep the plans of statements that took min ms or more: the functions
# also run dozens of one-row assignments that tell nothing.
keep_slow='
function flush() { if (block != "" && d >= min) printf "%s", block; block = "" }
/NOTICE:  duration: / {
	flush(); d = $0; sub(/.*duration: /, "", d); sub(/ ms.*/, "", d); d += 0
	sub(/^psql:[^ ]* NOTICE:  /, ""); block = "\n" $0 "\n"; next
}
{ block = block $0 "\n" }
END { flush() }'
{
	echo "# EXPLAIN (ANALYZE, BUFFERS) of the reports at $rows trips"
	echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), commit $commit"
	echo "# made by tests/bench/explain.sh (make bench)"
	for r in "${runs[@]}"; do
		title=${r%%|*} args=${r#*|}
		echo
		echo "## $title"
		echo "# psql $args"
		# shellcheck disable=SC2086
		psql -X -q -v ON_ERROR_STOP=1 $args >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		PGOPTIONS="-c client_min_messages=notice" psql -X -q -v ON_ERROR_STOP=1 \
		    -c "LOAD 'auto_explain'" \
		    -c "SET auto_explain.log_min_duration = 0" \
		    -c "SET auto_explain.log_analyze = on" \
		    -c "SET auto_explain.log_buffers = on" \
		    -c "SET auto_explain.log_timing = on" \
		    -c "SET auto_explain.log_nested_statements = on" \
		    -c "SET auto_explain.log_level = notice" \
		    $args 2>&1 >/dev/null | awk -v min=0.05 "$keep_slow"
	done
} > "$out"
echo "  explain written to $out"
