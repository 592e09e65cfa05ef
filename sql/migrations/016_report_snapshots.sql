-- 016_report_snapshots.sql: a box report sees each job whole while rim
-- tables are merged and jobs are attached beside it.
--
-- A report runs in one statement, and its functions are STABLE, so all
-- it reads is under the snapshot the statement takes at its start
-- (PostgreSQL docs, 38.7 "Function Volatility Categories").  But the
-- partitions a query reads are the ones in the catalog when it is
-- planned, and the functions plan their queries later than the snapshot
-- was taken.  Two writers change partitions in between:
--
--   - the merge of rim tables (trip_rims_compact) replaces tables by a
--     new one whose rows its own transaction wrote.  A report whose
--     snapshot predates the merge's commit, and whose weekly_bbox plans
--     after it, finds the old tables gone and cannot see the new one's
--     rows: the merged jobs' rim would count zero.  The report's SQL file
--     (sql/reports/weekly_average.sql) now names trip_rims itself, so the
--     statement takes its lock when it is parsed, before its snapshot;
--     the swap needs that table alone (ACCESS EXCLUSIVE, NOWAIT): it
--     commits before the report's snapshot or after its end.
--   - the attach of a job's trips (trips_partition_attach) in the load
--     transaction.  The trips were committed before, by the trips
--     connection, so a report whose snapshot predates the load's commit
--     but that plans the trips after it would read the job's trips while
--     its aggregates are not visible to it.  weekly_bbox reads the trips
--     only of pending jobs, a list the load writes (015); the trips read by
--     weekly_bbox_both (match=both, either) are now limited to the jobs
--     the snapshot sees succeeded, as the aggregates are.
-- Both are checked in tests/integration/test_reports.py
-- (test_weekly_average_under_a_merge_and_a_load), by holding a report
-- between its snapshot and its plan with a lock.
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
	-- The jobs whose end this query's snapshot sees.
	done integer[] := ARRAY(SELECT j.id FROM tripline.jobs j
	    WHERE j.state = 'succeeded');
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
		        AND x.ts >= lo AND x.ts < hi + 7
		        AND x.job_id = ANY (done) OFFSET 0) t
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
		        AND x.ts >= lo AND x.ts < hi + 7
		        AND x.job_id = ANY (done) OFFSET 0) t
		GROUP BY 1 ORDER BY 1;
	END IF;
END $$;

RESET ROLE;
