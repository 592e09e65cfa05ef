#!/usr/bin/env bash
# storage.sh [sizes]: what each part of the database costs per trip, and
# how many group keys the loaded trips make per trip at three cell and
# slot sizes (docs/reports.md, "Storage" and "Similar trips").  Run
# against a stack holding the trips to measure (. var/env), once its
# runner is idle (the groups merged, the rim tables built); it runs
# VACUUM ANALYZE first.  Prints "part bytes-per-trip" lines, "trips N",
# "rows TABLE N" for the two big aggregates, then "keys CHARS MINUTES
# keys-per-trip"; with "sizes", the first lines only (make bench's
# db_bytes_per_trip and trips_heap_bytes_per_trip are its "database"
# and "trips_heap": tests/bench/run.sh).
#
#   make up && <load> && . var/env && tests/bench/storage.sh
set -euo pipefail
: "${PGHOST:?run . var/env first}"
mode=${1:-all}
psql -XAtq -c "VACUUM ANALYZE" >/dev/null
psql -XAtq -F ' ' -v ON_ERROR_STOP=1 -v mode="$mode" <<'SQL'
-- A partitioned table's size is its partitions' (pg_partition_tree,
-- which lists nothing for a table that is not partitioned); a heap's
-- size is pg_table_size's (with its free space and visibility maps).
CREATE TEMP VIEW part_size AS
SELECT t.part, sum(pg_table_size(p.relid)) AS heap,
       sum(pg_indexes_size(p.relid)) AS idx,
       sum(pg_total_relation_size(p.relid)) AS total
FROM (VALUES ('trips'), ('cell_weeks'), ('trip_groups'), ('group_top'),
             ('trip_rims'), ('region_weeks')) t(part),
     LATERAL (SELECT relid FROM pg_partition_tree(('tripline.' || t.part)::regclass)
              UNION SELECT ('tripline.' || t.part)::regclass) p
GROUP BY t.part;
-- The whole: every table of the schema with its indexes and TOAST.
CREATE TEMP VIEW schema_size AS
SELECT sum(pg_total_relation_size(c.oid)) AS total FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'tripline' AND c.relkind IN ('r', 'p', 'm');
-- The trips loaded (a duplicate job loads none).
SELECT sum(rows_loaded) AS n FROM tripline.jobs \gset
SELECT 'trips_heap', round(heap::numeric / :n, 1) FROM part_size WHERE part = 'trips'
UNION ALL
SELECT 'trips_indexes', round(idx::numeric / :n, 1) FROM part_size WHERE part = 'trips'
UNION ALL
SELECT part, round(total::numeric / :n, 1) FROM part_size WHERE part <> 'trips'
UNION ALL
SELECT 'other', round(((SELECT total FROM schema_size) -
    (SELECT sum(total) FROM part_size))::numeric / :n, 1)
UNION ALL
SELECT 'database', round((SELECT total FROM schema_size)::numeric / :n, 1);
SELECT :'mode' = 'sizes' AS sizes_only \gset
\if :sizes_only
\quit
\endif
SELECT 'trips', :n;
SELECT 'rows', 'trip_groups', count(*) FROM tripline.trip_groups;
SELECT 'rows', 'cell_weeks', count(*) FROM tripline.cell_weeks;
-- A group's key: region, origin and destination cells of CHARS
-- characters (a cell is a 12-character geohash as an integer,
-- lib/geohash.h: 5 bits a character), the slot of MINUTES.
SELECT 'keys', k.chars, k.minutes, round(count(DISTINCT (t.region_id,
       t.origin_cell >> (5 * (12 - k.chars)), t.dest_cell >> (5 * (12 - k.chars)),
       (extract(hour FROM t.ts) * 60 + extract(minute FROM t.ts))::int / k.minutes))::numeric
       / :n, 3)
FROM (VALUES (7, 30), (6, 60), (5, 60)) k(chars, minutes), tripline.trips t
GROUP BY k.chars, k.minutes ORDER BY k.chars DESC;
SQL
