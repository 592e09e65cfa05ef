-- 005_merge.sql: the aggregates' merge without sorting or upsert.
--
-- Measured by hand (2 M-row job into the aggregates of 4 M trips,
-- auto_explain with log_nested_statements, 2026-11-25):
-- agg_merge() of 003_reports.sql took 16.5 s, 7.6 s of it in the
-- server's GROUP BY and ORDER BY of the runner's partial rows (cell
-- levels rolled up here, spilled partial groups summed here) and the rest
-- in INSERT ... ON CONFLICT, whose speculative insertion costs a third
-- more than the plain join of MERGE (1.5 M unique rows into an empty
-- trip_groups: 10.5 s against 7.7 s; all matched: 23.5 s against 19.4 s).
--
-- Now the runner sends one row per key at every level (jobs/aggregate.c
-- sums its spilled entries by hash partition), so the merge is one MERGE
-- per aggregate (PostgreSQL docs, MERGE) with nothing to group or sort.
-- MERGE is not an upsert: two runners inserting the same new key at once
-- would collide on the primary key.  Merges therefore take the
-- aggregates in SHARE ROW EXCLUSIVE mode, which conflicts with itself
-- and not with the readers' ACCESS SHARE (PostgreSQL docs, 13.3.1
-- "Table-Level Locks"): runners load in parallel and merge one at a time,
-- and no order of row locks is needed to avoid deadlocks.
SET ROLE tripline_owner;
SET search_path = tripline;

-- The job's rows, as jobs/aggregate.c sends them with COPY: one row per
-- key, dropped at the end of the load transaction.
CREATE OR REPLACE FUNCTION agg_begin() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMPORARY TABLE agg_cells (kind smallint, level smallint,
	    ix integer, iy integer, week date, trips bigint) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_regions (region_id integer, week date,
	    trips bigint) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_sources (region_id integer,
	    datasource_id smallint, trips bigint, first_ts timestamp,
	    last_ts timestamp) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_groups (region_id integer,
	    origin_cell bigint, dest_cell bigint, slot smallint, trips bigint,
	    sum_olon float8, sum_olat float8, sum_dlon float8, sum_dlat float8,
	    first_ts timestamp, last_ts timestamp, datasources bigint)
	    ON COMMIT DROP;
	-- Datasource ids of 64 and above of a group (not in its bit set).
	CREATE TEMPORARY TABLE agg_more (region_id integer, origin_cell bigint,
	    dest_cell bigint, slot smallint, datasource_id smallint)
	    ON COMMIT DROP;
END $$;

-- The join of each MERGE is a hash join: the planner's own choice, a
-- nested loop of index probes, cost 4.7 us a probe here (4 buffer hits
-- each): 3 s for 640 k cell rows, 6.3 s for 1.1 M groups, where hashing
-- the job's rows and reading the aggregate once takes a fraction of it.
CREATE OR REPLACE FUNCTION agg_merge() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp SET jit = off
SET enable_nestloop = off SET enable_mergejoin = off AS $$
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

	MERGE INTO tripline.cell_weeks w
	USING pg_temp.agg_cells a
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

	MERGE INTO tripline.trip_groups g
	USING pg_temp.agg_groups a
	ON g.region_id = a.region_id AND g.origin_cell = a.origin_cell
	    AND g.dest_cell = a.dest_cell AND g.slot = a.slot
	WHEN MATCHED THEN UPDATE SET trips = g.trips + a.trips,
	    sum_olon = g.sum_olon + a.sum_olon,
	    sum_olat = g.sum_olat + a.sum_olat,
	    sum_dlon = g.sum_dlon + a.sum_dlon,
	    sum_dlat = g.sum_dlat + a.sum_dlat,
	    first_ts = least(g.first_ts, a.first_ts),
	    last_ts = greatest(g.last_ts, a.last_ts),
	    datasources = g.datasources | a.datasources
	WHEN NOT MATCHED THEN INSERT (region_id, origin_cell, dest_cell, slot,
	    trips, sum_olon, sum_olat, sum_dlon, sum_dlat, first_ts, last_ts,
	    datasources)
	    VALUES (a.region_id, a.origin_cell, a.dest_cell, a.slot, a.trips,
	    a.sum_olon, a.sum_olat, a.sum_dlon, a.sum_dlat, a.first_ts,
	    a.last_ts, a.datasources);

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

-- Recompute every aggregate from the trips (for an operator after a
-- restore, and for the tests, which compare it with what the runners
-- kept): the same rows the runner sends, by GROUP BY, then agg_merge().
CREATE OR REPLACE FUNCTION agg_rebuild() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
DECLARE
	p int := (SELECT value::int FROM tripline.settings WHERE key = 'cell_precision');
	sm int := (SELECT value::int FROM tripline.settings WHERE key = 'slot_minutes');
BEGIN
	LOCK TABLE tripline.trips IN SHARE MODE;
	TRUNCATE tripline.cell_weeks, tripline.region_weeks,
	    tripline.region_datasources, tripline.trip_groups;
	PERFORM tripline.agg_begin();
	INSERT INTO pg_temp.agg_cells
	SELECT f.k, l.level,
	       f.ix >> (18 - tripline.geohash_axis_bits(l.level, 0)),
	       f.iy >> (17 - tripline.geohash_axis_bits(l.level, 1)),
	       f.w, sum(f.n)
	FROM (SELECT k, tripline.geohash_compact(c >> 1) >> 12 AS ix,
	             tripline.geohash_compact(c) >> 13 AS iy, w, count(*) AS n
	      FROM (SELECT 0 AS k, origin_cell AS c, tripline.iso_week(ts) AS w
	            FROM tripline.trips
	            UNION ALL
	            SELECT 1, dest_cell, tripline.iso_week(ts) FROM tripline.trips) t
	      GROUP BY 1, 2, 3, 4) f
	CROSS JOIN unnest(tripline.agg_levels()) AS l(level)
	GROUP BY 1, 2, 3, 4, 5;
	INSERT INTO pg_temp.agg_regions
	SELECT region_id, tripline.iso_week(ts), count(*) FROM tripline.trips GROUP BY 1, 2;
	INSERT INTO pg_temp.agg_sources
	SELECT region_id, datasource_id, count(*), min(ts), max(ts)
	FROM tripline.trips GROUP BY 1, 2;
	INSERT INTO pg_temp.agg_groups
	SELECT region_id, origin_cell >> (5 * (12 - p)), dest_cell >> (5 * (12 - p)),
	       tripline.time_slot(ts, sm), count(*), sum(origin_lon), sum(origin_lat), sum(dest_lon),
	       sum(dest_lat), min(ts), max(ts),
	       bit_or(CASE WHEN datasource_id < 64 THEN 1::bigint << datasource_id ELSE 0 END)
	FROM tripline.trips GROUP BY 1, 2, 3, 4;
	INSERT INTO pg_temp.agg_more
	SELECT DISTINCT region_id, origin_cell >> (5 * (12 - p)),
	       dest_cell >> (5 * (12 - p)), tripline.time_slot(ts, sm), datasource_id
	FROM tripline.trips WHERE datasource_id >= 64;
	PERFORM tripline.agg_merge();
	DROP TABLE pg_temp.agg_cells, pg_temp.agg_regions, pg_temp.agg_sources,
	    pg_temp.agg_groups, pg_temp.agg_more;
END $$;

RESET ROLE;
