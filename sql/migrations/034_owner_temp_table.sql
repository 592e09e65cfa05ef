-- 034_owner_temp_table.sql: the idle runner's group merge makes its own
-- temporary table, never one the caller made; and the functions made
-- after 003 are not PUBLIC's.
--
-- group_stage_merge (017) runs as the owner, inside trip_rims_tend
-- (SECURITY DEFINER), and collected the groups it grew in
-- pg_temp.agg_grown, made with CREATE TEMPORARY TABLE IF NOT EXISTS.
-- The temporary schema is the calling session's: a runner session that
-- made agg_grown first, with a trigger of its own on it (its function
-- in pg_temp too), had that table taken as is, and its trigger ran as
-- tripline_owner at the INSERT (found by a review, shown with setval on
-- an owner's sequence, which no rollback undoes).  A SECURITY DEFINER
-- function must not use objects its caller can make (PostgreSQL docs,
-- CREATE FUNCTION, "Writing SECURITY DEFINER Functions Safely"): the
-- merge now refuses to start when the session has an agg_grown, and makes
-- its own, which it alone can change.  No other function that runs as
-- the owner reads the temporary schema (the runner's own merge, agg_merge,
-- reads the tables it made, as itself).
--
-- 003 revoked EXECUTE from PUBLIC on every function then; functions made
-- since kept PUBLIC's default EXECUTE (agg_stage_kinds, groups_box_cells,
-- group_mean, group_in_box, trips_job_attached).  PUBLIC has no CONNECT
-- on the database, so no one else could call them, but the rule is that
-- only the roles named run a function: theirs are now granted as 003
-- granted, and functions the owner makes from now on are PUBLIC's no more
-- (ALTER DEFAULT PRIVILEGES).
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION group_stage_merge(job integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp
SET jit = off SET enable_nestloop = off SET enable_mergejoin = off AS $$
DECLARE
	top_min bigint;
BEGIN
	PERFORM set_config('work_mem', '1GB', true);
	IF to_regclass('pg_temp.agg_grown') IS NOT NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'duplicate_table',
		    MESSAGE = 'the session has a temporary agg_grown: the group '
		        'merge makes its own';
	END IF;
	LOCK TABLE tripline.trip_groups IN SHARE ROW EXCLUSIVE MODE;
	SELECT s.min_trips INTO top_min FROM tripline.group_top_state s;
	CREATE TEMPORARY TABLE agg_grown (region_id integer,
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
		FROM tripline.group_stage a
		WHERE a.job_id = job AND g.region_id = a.region_id
		    AND g.origin_cell = a.origin_cell
		    AND g.dest_cell = a.dest_cell AND g.slot = a.slot
		RETURNING g.region_id, g.origin_cell, g.dest_cell, g.slot, g.trips
	), ins AS (
		INSERT INTO tripline.trip_groups (region_id, origin_cell,
		    dest_cell, slot, trips, sum_olon, sum_olat, sum_dlon,
		    sum_dlat, first_ts, last_ts, datasources)
		SELECT a.region_id, a.origin_cell, a.dest_cell, a.slot, a.trips,
		    a.sum_olon, a.sum_olat, a.sum_dlon, a.sum_dlat, a.first_ts,
		    a.last_ts, a.datasources
		FROM tripline.group_stage a
		WHERE a.job_id = job AND NOT EXISTS (SELECT FROM up
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
	DROP TABLE pg_temp.agg_grown;

	UPDATE tripline.trip_groups AS g SET datasources_more = (SELECT
	    array_agg(DISTINCT x ORDER BY x) FROM unnest(coalesce(
	    g.datasources_more, '{}') || m.more) AS x)
	FROM (SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
	          array_agg(x.datasource_id) AS more
	      FROM tripline.group_stage_more x WHERE x.job_id = job
	      GROUP BY 1, 2, 3, 4) m
	WHERE g.region_id = m.region_id AND g.origin_cell = m.origin_cell
	    AND g.dest_cell = m.dest_cell AND g.slot = m.slot;
	DELETE FROM tripline.group_stage_more x WHERE x.job_id = job;
	DELETE FROM tripline.groups_pending x WHERE x.job_id = job;
END $$;

REVOKE EXECUTE ON FUNCTION agg_stage_kinds(),
    groups_box_cells(integer, float8, float8, float8, float8),
    group_mean(float8, bigint),
    group_in_box(float8, float8, bigint, float8, float8, float8, float8),
    trips_job_attached(integer)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agg_stage_kinds(),
    groups_box_cells(integer, float8, float8, float8, float8),
    group_mean(float8, bigint),
    group_in_box(float8, float8, bigint, float8, float8, float8, float8),
    trips_job_attached(integer)
    TO tripline_web, tripline_runner;

ALTER DEFAULT PRIVILEGES FOR ROLE tripline_owner
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

RESET ROLE;
