-- 011_merge_order.sql: the merge sorts a job's rows by fewer columns.
--
-- agg_merge (009_group_top.sql) inserts a job's new groups sorted by the
-- whole primary key (region_id, origin_cell, dest_cell, slot) and merges
-- its cell rows sorted by (kind, level, ix, iy, week), so that each
-- insert finds its index page in the cache.  The leading columns have a
-- handful of values (a few regions, two kinds, five levels), so nearly
-- every comparison of those sorts goes on to the next column, and a sort
-- on several columns compares each column through its own function
-- (PostgreSQL's abbreviated keys speed up the first column only).  By
-- hand, EXPLAIN ANALYZE of the 10 M job's 3.59 M groups (2026-11-26, 2 vCPU):
-- the four-column sort took 5.4-5.9 s, by origin_cell alone 0.9 s; by
-- origin_cell, region_id, dest_cell, slot 3.7 s.  The origin cell nearly
-- fixes the region (a cell lies in one city), so rows sorted by it alone
-- still reach the index in runs of neighbouring keys.  Cell rows sorted
-- by (ix, iy): 1.07 M rows merged in 3.35 s against 3.97 s.  In the
-- runner, a 10 M job on an empty database, the same file minutes apart:
-- the groups' statement 16.8 s -> 14.3 and 13.5 s, the cells' 3.3 s ->
-- 2.8 s; `make bench` has the end-to-end figure (docs/scalability.md).
-- The order changes no result: only which row is written first.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION agg_merge() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp SET jit = off
SET enable_nestloop = off SET enable_mergejoin = off AS $$
DECLARE
	top_min bigint;
BEGIN
	-- The hash tables of a big job's rows in memory; this transaction
	-- only.
	PERFORM set_config('work_mem', '1GB', true);
	LOCK TABLE tripline.cell_weeks, tripline.region_weeks,
	    tripline.region_datasources, tripline.trip_groups
	    IN SHARE ROW EXCLUSIVE MODE;
	-- Temporary tables are never analysed by autovacuum; without
	-- statistics the planner guesses their size from their pages.
	ANALYZE pg_temp.agg_cells, pg_temp.agg_groups;
	SELECT s.min_trips INTO top_min FROM tripline.group_top_state s;

	-- Near key order (see the head of 011_merge_order.sql).
	MERGE INTO tripline.cell_weeks w
	USING (SELECT * FROM pg_temp.agg_cells ORDER BY ix, iy) a
	ON w.kind = a.kind AND w.level = a.level AND w.ix = a.ix
	    AND w.iy = a.iy AND w.week = a.week
	WHEN MATCHED THEN UPDATE SET trips = w.trips + a.trips
	WHEN NOT MATCHED THEN INSERT (kind, level, ix, iy, week, trips)
	    VALUES (a.kind, a.level, a.ix, a.iy, a.week, a.trips);

	MERGE INTO tripline.region_weeks w
	USING pg_temp.agg_regions a
	ON w.region_id = a.region_id AND w.week = a.week
	WHEN MATCHED THEN UPDATE SET trips = w.trips + a.trips
	WHEN NOT MATCHED THEN INSERT (region_id, week, trips)
	    VALUES (a.region_id, a.week, a.trips);

	MERGE INTO tripline.region_datasources x
	USING pg_temp.agg_sources a
	ON x.region_id = a.region_id AND x.datasource_id = a.datasource_id
	WHEN MATCHED THEN UPDATE SET trips = x.trips + a.trips,
	    first_ts = least(x.first_ts, a.first_ts),
	    last_ts = greatest(x.last_ts, a.last_ts)
	WHEN NOT MATCHED THEN INSERT (region_id, datasource_id, trips,
	    first_ts, last_ts)
	    VALUES (a.region_id, a.datasource_id, a.trips, a.first_ts,
	    a.last_ts);

	-- A job's groups: one UPDATE of the keys it shares with trip_groups
	-- (a hash join) and one INSERT of the others, found by what the
	-- UPDATE returned, so that the new counts come back for group_top
	-- (MERGE has no RETURNING before PostgreSQL 17).  The UPDATE changes
	-- no indexed column: it is HOT where the page has room (fillfactor
	-- 70).  The new keys go near key order: by hand, 1.76 M new groups
	-- into 8.8 M took 24.3 s in the job's hash order and 7.6 s sorted,
	-- as each insert then finds its primary key page in the cache; by
	-- the origin cell alone (011_merge_order.sql).
	CREATE TEMPORARY TABLE IF NOT EXISTS agg_grown (region_id integer,
	    origin_cell bigint, dest_cell bigint, slot smallint, trips bigint)
	    ON COMMIT DROP;
	WITH up AS (
		UPDATE tripline.trip_groups g SET trips = g.trips + a.trips,
		    sum_olon = g.sum_olon + a.sum_olon,
		    sum_olat = g.sum_olat + a.sum_olat,
		    sum_dlon = g.sum_dlon + a.sum_dlon,
		    sum_dlat = g.sum_dlat + a.sum_dlat,
		    first_ts = least(g.first_ts, a.first_ts),
		    last_ts = greatest(g.last_ts, a.last_ts),
		    datasources = g.datasources | a.datasources
		FROM pg_temp.agg_groups a
		WHERE g.region_id = a.region_id AND g.origin_cell = a.origin_cell
		    AND g.dest_cell = a.dest_cell AND g.slot = a.slot
		RETURNING g.region_id, g.origin_cell, g.dest_cell, g.slot, g.trips
	), ins AS (
		INSERT INTO tripline.trip_groups (region_id, origin_cell,
		    dest_cell, slot, trips, sum_olon, sum_olat, sum_dlon,
		    sum_dlat, first_ts, last_ts, datasources)
		SELECT a.region_id, a.origin_cell, a.dest_cell, a.slot, a.trips,
		    a.sum_olon, a.sum_olat, a.sum_dlon, a.sum_dlat, a.first_ts,
		    a.last_ts, a.datasources
		FROM pg_temp.agg_groups a
		WHERE NOT EXISTS (SELECT FROM up
		    WHERE up.region_id = a.region_id AND up.origin_cell = a.origin_cell
		        AND up.dest_cell = a.dest_cell AND up.slot = a.slot)
		ORDER BY a.origin_cell
		RETURNING region_id, origin_cell, dest_cell, slot, trips
	)
	INSERT INTO pg_temp.agg_grown
	SELECT * FROM up WHERE up.trips >= top_min
	UNION ALL
	SELECT * FROM ins WHERE ins.trips >= top_min;
	PERFORM tripline.group_top_add();

	-- The rare datasource ids of 64 and above, only for their groups:
	-- one subquery per group cost a second per million groups.
	IF EXISTS (SELECT FROM pg_temp.agg_more) THEN
		UPDATE tripline.trip_groups AS g SET datasources_more = (SELECT
		    array_agg(DISTINCT x ORDER BY x) FROM unnest(coalesce(
		    g.datasources_more, '{}') || m.more) AS x)
		FROM (SELECT region_id, origin_cell, dest_cell, slot,
		          array_agg(datasource_id) AS more
		      FROM pg_temp.agg_more GROUP BY 1, 2, 3, 4) m
		WHERE g.region_id = m.region_id AND g.origin_cell = m.origin_cell
		    AND g.dest_cell = m.dest_cell AND g.slot = m.slot;
	END IF;
END $$;

RESET ROLE;
