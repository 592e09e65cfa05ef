-- 006_both_plan.sql: weekly_bbox_both() reads each cell range by its
-- index, as 003_reports.sql meant it to.
--
-- The planner misjudged the join of the trips with the ranges: its row
-- estimate for four BETWEEN filters on correlated columns was 1/100 of
-- the truth, so it scanned every partition and tested each trip against
-- every range (tests/bench/explain.sh at 10 M trips, a 10 km box over
-- Prague: 134 M join-filter tests, 22.5 s).  Now each range drives a LATERAL
-- subquery (PostgreSQL docs, 7.2.1.5 "LATERAL Subqueries") that OFFSET 0
-- keeps the planner from pulling up into the join, the same fence as the
-- cell_weeks sums of 003_reports.sql: one index range scan per range and
-- partition.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION weekly_bbox_both(minlon float8, minlat float8,
    maxlon float8, maxlat float8, wfrom date, wto date, side int)
RETURNS TABLE (week date, trips bigint)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	lo date := coalesce(wfrom, '-infinity');
	hi date := coalesce(wto, 'infinity');
	-- Every covering cell as a range of 7-character cells.
	rng_lo bigint[];
	rng_hi bigint[];
BEGIN
	-- Adjacent ranges are joined into one (a big box is then a few
	-- long ranges, not thousands of cells).
	SELECT array_agg(a ORDER BY a), array_agg(b ORDER BY a)
	INTO rng_lo, rng_hi
	FROM (SELECT min(q.a) AS a, max(q.b) AS b FROM (
		SELECT p.a, p.b, sum(p.brk) OVER (ORDER BY p.a) AS grp FROM (
			SELECT c.a, c.b, CASE WHEN c.a = lag(c.b) OVER (ORDER BY c.a) + 1
			    THEN 0 ELSE 1 END AS brk
			FROM (SELECT k << (5 * (7 - r.level)) AS a,
			             ((k + 1) << (5 * (7 - r.level))) - 1 AS b
			      FROM tripline.cover_cells(ARRAY(SELECT b FROM
			          tripline.box_cover(minlon, minlat, maxlon, maxlat,
			          tripline.agg_levels()) b), side) r,
			          generate_series(r.iy0, r.iy1) gy,
			          LATERAL tripline.geohash_interleave(r.ix, gy, r.level) k) c
		) p
	) q GROUP BY q.grp) m;
	IF side = 0 THEN
		RETURN QUERY
		SELECT tripline.iso_week(t.ts), count(*)
		FROM unnest(rng_lo, rng_hi) AS q(a, b)
		CROSS JOIN LATERAL (SELECT x.ts FROM tripline.trips x
		    WHERE (x.origin_cell >> 25) BETWEEN q.a AND q.b
		        AND x.origin_lon BETWEEN minlon AND maxlon
		        AND x.origin_lat BETWEEN minlat AND maxlat
		        AND x.dest_lon BETWEEN minlon AND maxlon
		        AND x.dest_lat BETWEEN minlat AND maxlat
		        AND x.ts >= lo AND x.ts < hi + 7 OFFSET 0) t
		GROUP BY 1 ORDER BY 1;
	ELSE
		RETURN QUERY
		SELECT tripline.iso_week(t.ts), count(*)
		FROM unnest(rng_lo, rng_hi) AS q(a, b)
		CROSS JOIN LATERAL (SELECT x.ts FROM tripline.trips x
		    WHERE (x.dest_cell >> 25) BETWEEN q.a AND q.b
		        AND x.origin_lon BETWEEN minlon AND maxlon
		        AND x.origin_lat BETWEEN minlat AND maxlat
		        AND x.dest_lon BETWEEN minlon AND maxlon
		        AND x.dest_lat BETWEEN minlat AND maxlat
		        AND x.ts >= lo AND x.ts < hi + 7 OFFSET 0) t
		GROUP BY 1 ORDER BY 1;
	END IF;
END $$;

RESET ROLE;
