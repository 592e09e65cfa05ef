-- 010_rim_hash.sql: a box's rim summed by week in a hash, not a sort.
--
-- weekly_bbox (003_reports.sql) adds the rim's trips to the inner cells'
-- counts with GROUP BY week.  The planner expects a few hundred rim rows:
-- it cannot estimate `(origin_cell >> 25) = ANY (rim)` through the
-- expression index.  So it sorts, and at 100 M trips a dense rim is
-- hundreds of thousands of rows: EXPLAIN ANALYZE of the 1 km box over
-- Prague's centre (docs/bench/explain-100000000.txt, 2026-11-26, c8b836e)
-- read 707,300 rim trips in 417 ms, then sorted them on disk (external
-- merge, 18 MB) until 583 ms, and summed them by 624 ms.  A hash of the
-- weeks holds one entry per week whatever the rim.  enable_sort = off
-- only prices a sort out where another plan exists (PostgreSQL docs,
-- 20.7.1): the final ORDER BY over the weeks still sorts.  The setting
-- holds while the function runs and is restored after it.
SET ROLE tripline_owner;
SET search_path = tripline;

ALTER FUNCTION weekly_bbox(int, float8, float8, float8, float8, date, date)
	SET enable_sort = off;

RESET ROLE;
