#!/usr/bin/env bash
# row_cost.sh [ROWS]: what PostgreSQL costs here to write an aggregate
# row, the floor under agg_merge() (docs/reports.md, "Ingest").  Needs a
# running stack with trip groups loaded (. var/env); works on copies in
# the admin's session and leaves nothing behind.  Prints ms for ROWS rows
# (default 1,000,000, at most what trip_groups holds):
#   insert   INSERT into an empty copy of trip_groups with its indexes
#   merge    MERGE of the same rows again, every key matched (updates)
set -euo pipefail
rows=${1:-1000000}
: "${PGHOST:?run . var/env first}"
psql -X -q -v ON_ERROR_STOP=1 -v rows="$rows" <<'SQL'
\timing off
SET work_mem = '1GB';
CREATE TEMP TABLE src AS SELECT * FROM tripline.trip_groups ORDER BY random() LIMIT :rows;
CREATE TEMP TABLE tg (LIKE tripline.trip_groups INCLUDING ALL);
SELECT count(*) AS rows FROM src \gset
\echo rows :rows
\timing on
\echo insert
INSERT INTO tg SELECT * FROM src;
\echo merge
MERGE INTO tg g USING src a ON g.region_id = a.region_id AND g.origin_cell = a.origin_cell
    AND g.dest_cell = a.dest_cell AND g.slot = a.slot
WHEN MATCHED THEN UPDATE SET trips = g.trips + a.trips, sum_olon = g.sum_olon + a.sum_olon
WHEN NOT MATCHED THEN DO NOTHING;
SQL
