-- 017_groups_later.sql: a job's groups merged into trip_groups by the idle
-- runner, after the load; until then reports read them from its stage.
--
-- The load merged the job's groups into trip_groups (agg_merge, 011):
-- on a 10 M-row file, 3.59 M groups, 13.6 s of its 22 s of aggregates,
-- on one server process while the other core had finished the trips'
-- index builds (by hand, log_min_duration_statement, 2026-11-26), and
-- more as trip_groups grows (34.7 s for a second 10 M file).  Now the
-- load COPYs the job's groups into a table of its own, a partition of
-- group_stage made in the load transaction (so written without WAL at
-- wal_level minimal, and gone with a rollback), attaches it and lists
-- the job in groups_pending, all in the transaction that makes its trips
-- visible.  trip_rims_tend, which the runner calls when it has no job
-- (jobs/rimtend.c), first merges a pending job's groups into trip_groups
-- and group_top (group_stage_merge: the statement agg_merge ran) and
-- deletes it from groups_pending in one transaction, so that a report
-- reads a job's groups from trip_groups or from its stage, never both,
-- never neither.  Groups pending longer than TRIPLINE_RIM_LAG are merged
-- before the runner claims its next job, as rim tables are built
-- (rimtend_hold).
--
-- report_trip_groups reads the pending stages by an exact, slower way
-- (step 4 below), as weekly_bbox reads a pending job's rim from its
-- trips.  A merged job's stage partition is dropped later
-- (group_stage_sweep): dropping a partition locks group_stage, which a
-- report holds from before its snapshot (sql/reports/trip_groups.sql),
-- so a report whose snapshot still lists the job finds its stage.
-- group_stage_merge runs as the owner (in trip_rims_tend, SECURITY
-- DEFINER) and keeps the grown groups in a temporary table for
-- group_top_add, as agg_merge did as the runner.
DO $$
BEGIN
	EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO tripline_owner',
	    current_database());
END $$;

SET ROLE tripline_owner;
SET search_path = tripline;

-- One partition per job, in the order the runner COPYs the columns.
CREATE TABLE group_stage (
	region_id   integer NOT NULL,
	origin_cell bigint NOT NULL,
	dest_cell   bigint NOT NULL,
	slot        smallint NOT NULL,
	trips       bigint NOT NULL,
	sum_olon    float8 NOT NULL,
	sum_olat    float8 NOT NULL,
	sum_dlon    float8 NOT NULL,
	sum_dlat    float8 NOT NULL,
	first_ts    timestamp NOT NULL,
	last_ts     timestamp NOT NULL,
	datasources bigint NOT NULL,
	job_id      integer NOT NULL
) PARTITION BY LIST (job_id);

-- A group's datasource ids of 64 and above (agg_more), rare: one table.
CREATE TABLE group_stage_more (
	job_id        integer NOT NULL,
	region_id     integer NOT NULL,
	origin_cell   bigint NOT NULL,
	dest_cell     bigint NOT NULL,
	slot          smallint NOT NULL,
	datasource_id smallint NOT NULL
);
CREATE INDEX group_stage_more_job ON group_stage_more (job_id);

-- The jobs whose groups are in group_stage, not yet in trip_groups.
CREATE TABLE groups_pending (
	job_id integer PRIMARY KEY,
	since  timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON group_stage, group_stage_more, groups_pending FROM PUBLIC;
GRANT SELECT ON group_stage, group_stage_more, groups_pending TO tripline_web;
GRANT SELECT ON groups_pending TO tripline_runner;
GRANT INSERT ON group_stage_more TO tripline_runner;

-- In the load transaction, before the COPY: the job's stage table.
CREATE FUNCTION group_stage_open(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text := 'group_stage_' || job;
BEGIN
	PERFORM tripline.trips_partition_check(job);
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.group_stage, '
	    'CONSTRAINT %I CHECK (job_id = %s))', t, t || '_job', job);
	EXECUTE format('ALTER TABLE tripline.%I ALTER COLUMN job_id SET DEFAULT %s',
	    t, job);
	EXECUTE format('GRANT INSERT ON tripline.%I TO tripline_runner', t);
END $$;

-- In the load transaction, after the COPY: the stage is the job's, and
-- pending.  The CHECK constraint spares ATTACH its scan (PostgreSQL
-- docs, ALTER TABLE, ATTACH PARTITION).
CREATE FUNCTION group_stage_attach(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text := 'group_stage_' || job;
BEGIN
	PERFORM tripline.trips_partition_check(job);
	EXECUTE format('REVOKE INSERT ON tripline.%I FROM tripline_runner', t);
	EXECUTE format('ALTER TABLE tripline.group_stage ATTACH PARTITION '
	    'tripline.%I FOR VALUES IN (%s)', t, job);
	INSERT INTO tripline.groups_pending (job_id) VALUES (job);
END $$;

-- The load's merge (011_merge_order.sql) without the groups, which go to
-- the job's stage: cells, regions and datasources are small and merged
-- here (agg_merge), as agg_rebuild merges them.
DROP FUNCTION agg_merge();
CREATE FUNCTION agg_merge_counts() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp SET jit = off
SET enable_nestloop = off SET enable_mergejoin = off AS $$
BEGIN
	PERFORM set_config('work_mem', '1GB', true);
	LOCK TABLE tripline.cell_weeks, tripline.region_weeks,
	    tripline.region_datasources IN SHARE ROW EXCLUSIVE MODE;
	ANALYZE pg_temp.agg_cells;

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
END $$;

CREATE FUNCTION agg_merge(job integer) RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
BEGIN
	PERFORM tripline.agg_merge_counts();
	INSERT INTO tripline.group_stage_more (job_id, region_id, origin_cell,
	    dest_cell, slot, datasource_id)
	SELECT job, m.region_id, m.origin_cell, m.dest_cell, m.slot,
	    m.datasource_id
	FROM pg_temp.agg_more m;
	PERFORM tripline.group_stage_attach(job);
END $$;
REVOKE EXECUTE ON FUNCTION agg_merge(integer), agg_merge_counts()
    FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION agg_merge(integer), agg_merge_counts()
    TO tripline_runner;

-- Every aggregate from the trips (005_merge.sql), the groups straight
-- into trip_groups and group_top: they count every trip, so no job's
-- groups are pending after it (the sweep drops the stages).
CREATE OR REPLACE FUNCTION agg_rebuild() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
DECLARE
	p int := (SELECT value::int FROM tripline.settings WHERE key = 'cell_precision');
	sm int := (SELECT value::int FROM tripline.settings WHERE key = 'slot_minutes');
BEGIN
	LOCK TABLE tripline.trips IN SHARE MODE;
	-- (The TRUNCATE of trip_groups empties group_top: 009_group_top.sql.)
	TRUNCATE tripline.cell_weeks, tripline.region_weeks,
	    tripline.region_datasources, tripline.trip_groups,
	    tripline.group_stage_more, tripline.groups_pending;
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
	PERFORM tripline.agg_merge_counts();
	INSERT INTO tripline.trip_groups (region_id, origin_cell, dest_cell, slot,
	    trips, sum_olon, sum_olat, sum_dlon, sum_dlat, first_ts, last_ts,
	    datasources, datasources_more)
	SELECT region_id, origin_cell >> (5 * (12 - p)), dest_cell >> (5 * (12 - p)),
	       tripline.time_slot(ts, sm), count(*), sum(origin_lon), sum(origin_lat),
	       sum(dest_lon), sum(dest_lat), min(ts), max(ts),
	       bit_or(CASE WHEN datasource_id < 64 THEN 1::bigint << datasource_id ELSE 0 END),
	       array_agg(DISTINCT datasource_id ORDER BY datasource_id)
	           FILTER (WHERE datasource_id >= 64)
	FROM tripline.trips GROUP BY 1, 2, 3, 4;
	CREATE TEMPORARY TABLE agg_grown ON COMMIT DROP AS
	SELECT region_id, origin_cell, dest_cell, slot, trips
	FROM tripline.trip_groups WHERE trips >= 2;
	PERFORM tripline.group_top_add();
	DROP TABLE pg_temp.agg_cells, pg_temp.agg_regions, pg_temp.agg_sources,
	    pg_temp.agg_groups, pg_temp.agg_more, pg_temp.agg_grown;
END $$;

-- A pending job's groups into trip_groups and group_top: the statements
-- of 011's agg_merge, reading the job's stage.  For trip_rims_tend.
CREATE FUNCTION group_stage_merge(job integer) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp
SET jit = off SET enable_nestloop = off SET enable_mergejoin = off AS $$
DECLARE
	top_min bigint;
BEGIN
	PERFORM set_config('work_mem', '1GB', true);
	LOCK TABLE tripline.trip_groups IN SHARE ROW EXCLUSIVE MODE;
	SELECT s.min_trips INTO top_min FROM tripline.group_top_state s;
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

-- Drop the stage tables of merged jobs, if no report holds group_stage:
-- how many were dropped.  Never waits (a waiting ACCESS EXCLUSIVE lock
-- would queue every later report behind it).
CREATE FUNCTION group_stage_sweep() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text;
	n integer := 0;
BEGIN
	FOR t IN SELECT c.relname FROM pg_catalog.pg_inherits i
	    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
	    WHERE i.inhparent = 'tripline.group_stage'::regclass
	        AND NOT EXISTS (SELECT FROM tripline.groups_pending p
	            WHERE c.relname = 'group_stage_' || p.job_id) LOOP
		BEGIN
			LOCK TABLE tripline.group_stage IN ACCESS EXCLUSIVE MODE NOWAIT;
		EXCEPTION WHEN lock_not_available THEN
			RETURN n;
		END;
		EXECUTE format('DROP TABLE tripline.%I', t);
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;

-- One step of upkeep (015): a pending job's groups first (the reports'
-- slow way lasts until then), then the stages they leave, then rims.
CREATE OR REPLACE FUNCTION trip_rims_tend(min_parts integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	job integer;
	n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('tripline.trip_rims_compact')) THEN
		RETURN NULL;
	END IF;
	SELECT p.job_id INTO job FROM tripline.groups_pending p
	ORDER BY p.since, p.job_id LIMIT 1;
	IF job IS NOT NULL THEN
		PERFORM tripline.group_stage_merge(job);
		RETURN format('merged the groups of job %s', job);
	END IF;
	n := tripline.group_stage_sweep();
	IF n > 0 THEN
		RETURN format('dropped %s merged group stages', n);
	END IF;
	job := tripline.trip_rims_build();
	IF job IS NOT NULL THEN
		RETURN format('built the rim table of job %s', job);
	END IF;
	n := tripline.trip_rims_compact(min_parts);
	RETURN CASE WHEN n > 0 THEN format('merged %s rim tables into one', n) END;
END $$;

REVOKE EXECUTE ON FUNCTION group_stage_open(integer),
    group_stage_attach(integer), group_stage_merge(integer),
    group_stage_sweep() FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION group_stage_open(integer),
    group_stage_attach(integer) TO tripline_runner;
-- The runner's own statements no longer write the groups: only
-- trip_rims_tend, as the owner, does.
REVOKE INSERT, UPDATE ON trip_groups FROM tripline_runner;
REVOKE INSERT, UPDATE, DELETE ON group_top FROM tripline_runner;
REVOKE UPDATE ON group_top_state FROM tripline_runner;
REVOKE EXECUTE ON FUNCTION group_top_add() FROM tripline_runner;

-- The cells of precision p a box's groups can start in, with a margin of
-- one cell (a centroid on a cell's edge): NULL for more than 4096 cells
-- (step 2 of report_trip_groups, 007_groups_plan.sql).
CREATE FUNCTION groups_box_cells(p int, minlon float8, minlat float8,
    maxlon float8, maxlat float8) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	nx int := tripline.geohash_axis_bits(p, 0);
	ny int := tripline.geohash_axis_bits(p, 1);
	x0 bigint := greatest(floor((minlon + 180) / 360 * (1::bigint << nx))::bigint - 1, 0);
	x1 bigint := least(floor((maxlon + 180) / 360 * (1::bigint << nx))::bigint + 1,
	    (1::bigint << nx) - 1);
	y0 bigint := greatest(floor((minlat + 90) / 180 * (1::bigint << ny))::bigint - 1, 0);
	y1 bigint := least(floor((maxlat + 90) / 180 * (1::bigint << ny))::bigint + 1,
	    (1::bigint << ny) - 1);
BEGIN
	IF (x1 - x0 + 1) * (y1 - y0 + 1) > 4096 THEN
		RETURN NULL;
	END IF;
	RETURN ARRAY(SELECT tripline.geohash_interleave(x, y, p)
	    FROM generate_series(x0, x1) x, generate_series(y0, y1) y);
END $$;

-- The report (012_groups_head_order.sql) with a fifth way, step 4: while
-- any job's groups are pending, each group is summed from trip_groups and
-- the pending stages (a group's count and centroid change when a job adds
-- to it, so neither group_top's order nor a centroid read before the sum
-- holds).  It reads every group of the region, or of the cells around a
-- small box, or, for a larger box, those whose centroid lies within one
-- cell of it: a group's trips all start in its origin cell, so the
-- centroid of each part of it lies in that cell too.  Exact; it costs
-- what step 1 or 2 costs plus a scan of the pending stages (a big box
-- scans trip_groups).
CREATE OR REPLACE FUNCTION report_trip_groups(p_region text, p_minlon float8,
    p_minlat float8, p_maxlon float8, p_maxlat float8, p_min_trips integer,
    p_limit integer)
RETURNS TABLE (region text, origin_cell text, dest_cell text, slot integer,
    slot_start text, trips bigint, origin_lon float8, origin_lat float8,
    dest_lon float8, dest_lat float8, first_seen timestamp,
    last_seen timestamp, datasources json)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	bbox boolean := p_minlon IS NOT NULL OR p_minlat IS NOT NULL OR
	    p_maxlon IS NOT NULL OR p_maxlat IS NOT NULL;
	p int := (SELECT value::int FROM tripline.settings WHERE key = 'cell_precision');
	sm int := (SELECT value::int FROM tripline.settings WHERE key = 'slot_minutes');
	mt bigint := coalesce(p_min_trips, 2);
	top_min bigint := (SELECT s.min_trips FROM tripline.group_top_state s);
	lim int := coalesce(p_limit, 100);
	budget int;
	rid integer;
	rids integer[];
	cells bigint[];
	nx int;
	ny int;
	n_head bigint := 0;
	n_match bigint;
	mode int := 3;
	-- Read under the query's snapshot, as the stages are (STABLE).
	pend integer[] := ARRAY(SELECT x.job_id FROM tripline.groups_pending x);
	dx float8;
	dy float8;
	-- Step 4's candidates, when bounded (below): their keys.
	kr integer[];
	ko bigint[];
	kd bigint[];
	ks smallint[];
	tstar bigint;
BEGIN
	IF bbox AND p_region IS NOT NULL THEN
		PERFORM tripline.report_bad_param('bbox', 'give bbox or region, not both');
	ELSIF mt < 1 THEN
		PERFORM tripline.report_bad_param('min_trips', 'below 1');
	ELSIF lim < 1 OR lim > 10000 THEN
		PERFORM tripline.report_bad_param('limit', 'not within 1 to 10000');
	END IF;
	IF bbox THEN
		PERFORM tripline.report_check_bbox(p_minlon, p_minlat, p_maxlon, p_maxlat);
	END IF;
	IF p_region IS NOT NULL THEN
		rid := tripline.region_id_of(p_region);
	END IF;
	budget := greatest(coalesce(nullif(current_setting('tripline.groups_budget',
	    true), '')::int, 10000), 1);
	budget := least(budget, greatest(10 * lim, 10000));

	IF cardinality(pend) > 0 THEN
		mode := 4;
		rids := ARRAY(SELECT id FROM tripline.regions);
		nx := tripline.geohash_axis_bits(p, 0);
		ny := tripline.geohash_axis_bits(p, 1);
		dx := 360.0 / (1::bigint << nx);
		dy := 180.0 / (1::bigint << ny);
	END IF;
	IF mode = 4 THEN
		IF bbox THEN
			cells := tripline.groups_box_cells(p, p_minlon, p_minlat,
			    p_maxlon, p_maxlat);
		ELSIF mt >= 2 THEN
			-- Without a box, only the groups that can come first need
			-- their sums.  A group's count is its count in trip_groups
			-- (m) plus its pending stages' (st).  group_top holds every
			-- group with m >= top_min, so m + st is known exactly for
			-- its groups, and at least st for the stages' others.  If
			-- the limit-th largest of these lower bounds (tstar) is at
			-- least top_min, the groups that come first all have a
			-- count >= tstar: a group of neither has m < top_min; one
			-- of the stages only has m <= top_min - 1.  Only those
			-- that can reach tstar are read (step 4 below, by key).
			-- (One job's stage has each key once: no grouping then.)
			WITH s AS MATERIALIZED (
				SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
				       x.trips AS st
				FROM tripline.group_stage x
				WHERE cardinality(pend) = 1 AND x.job_id = ANY (pend)
				    AND (rid IS NULL OR x.region_id = rid)
				UNION ALL
				SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
				       sum(x.trips)
				FROM tripline.group_stage x
				WHERE cardinality(pend) > 1 AND x.job_id = ANY (pend)
				    AND (rid IS NULL OR x.region_id = rid)
				GROUP BY 1, 2, 3, 4
			), c AS MATERIALIZED (
				SELECT coalesce(t.region_id, s.region_id) AS region_id,
				       coalesce(t.origin_cell, s.origin_cell) AS origin_cell,
				       coalesce(t.dest_cell, s.dest_cell) AS dest_cell,
				       coalesce(t.slot, s.slot) AS slot,
				       coalesce(t.trips, 0) + coalesce(s.st, 0) AS lb,
				       t.trips IS NOT NULL AS exact, coalesce(s.st, 0) AS st
				FROM (SELECT g.* FROM tripline.group_top g
				      WHERE rid IS NULL OR g.region_id = rid) t
				FULL JOIN s ON s.region_id = t.region_id
				    AND s.origin_cell = t.origin_cell
				    AND s.dest_cell = t.dest_cell AND s.slot = t.slot
			), th AS (
				SELECT c.lb FROM c WHERE c.lb >= mt
				ORDER BY c.lb DESC OFFSET lim - 1 LIMIT 1
			)
			SELECT th.lb, array_agg(c.region_id), array_agg(c.origin_cell),
			       array_agg(c.dest_cell), array_agg(c.slot)
			INTO tstar, kr, ko, kd, ks
			FROM th CROSS JOIN c
			WHERE (c.exact AND c.lb >= th.lb)
			    OR (NOT c.exact AND top_min - 1 + c.st >= th.lb)
			GROUP BY th.lb;
			IF tstar IS NULL OR tstar < top_min THEN
				kr := NULL;
			ELSE
				RAISE DEBUG 'trip groups: bound %, % candidates', tstar,
				    cardinality(kr);
			END IF;
		END IF;
	ELSIF mt >= 2 THEN
		-- Stops at the limit-th match: a big region or box reads a few
		-- entries of the head, not all of it.
		SELECT count(*) INTO n_match
		FROM (SELECT 1 FROM (SELECT t.region_id, t.origin_cell, t.dest_cell, t.slot
		          FROM tripline.group_top t WHERE t.trips >= mt
		          ORDER BY t.trips DESC, t.region_id, t.origin_cell, t.dest_cell, t.slot
		          LIMIT budget) h
		      CROSS JOIN LATERAL (SELECT x.sum_olon, x.sum_olat, x.trips
		          FROM tripline.trip_groups x WHERE x.region_id = h.region_id
		              AND x.origin_cell = h.origin_cell AND x.dest_cell = h.dest_cell
		              AND x.slot = h.slot) g
		      WHERE (rid IS NULL OR h.region_id = rid)
		          AND (NOT bbox OR (g.sum_olon / g.trips BETWEEN p_minlon AND p_maxlon
		              AND g.sum_olat / g.trips BETWEEN p_minlat AND p_maxlat))
		      LIMIT lim) m;
		IF n_match < lim THEN
			SELECT count(*) INTO n_head
			FROM (SELECT 1 FROM tripline.group_top t WHERE t.trips >= mt
			      ORDER BY t.trips DESC, t.region_id, t.origin_cell, t.dest_cell, t.slot
			      LIMIT budget) h;
		END IF;
		-- A head shorter than the budget is every group of min_trips or
		-- more only when group_top keeps all of them.
		IF n_match >= lim OR (n_head < budget AND top_min <= mt) THEN
			mode := 0;
		ELSIF rid IS NOT NULL THEN
			mode := 1;
		ELSIF bbox THEN
			cells := tripline.groups_box_cells(p, p_minlon, p_minlat,
			    p_maxlon, p_maxlat);
			IF cells IS NOT NULL THEN
				mode := 2;
				rids := ARRAY(SELECT id FROM tripline.regions);
			END IF;
		END IF;
	END IF;

	RAISE DEBUG 'trip groups: step %', mode;
	RETURN QUERY
	WITH pick AS (
		-- The first matches in the head's order (see the head of
		-- 012_groups_head_order.sql): when the head is read first, its
		-- rows arrive in that order and the scan stops at the limit.
		(SELECT g.* FROM (SELECT t.trips, t.region_id, t.origin_cell,
		        t.dest_cell, t.slot
		    FROM tripline.group_top t
		    WHERE mode = 0 AND t.trips >= mt
		    ORDER BY t.trips DESC, t.region_id, t.origin_cell, t.dest_cell, t.slot
		    LIMIT budget) h
		CROSS JOIN LATERAL (SELECT * FROM tripline.trip_groups x
		    WHERE x.region_id = h.region_id AND x.origin_cell = h.origin_cell
		        AND x.dest_cell = h.dest_cell AND x.slot = h.slot) g
		WHERE (rid IS NULL OR g.region_id = rid)
		    AND (NOT bbox OR (g.sum_olon / g.trips BETWEEN p_minlon AND p_maxlon
		        AND g.sum_olat / g.trips BETWEEN p_minlat AND p_maxlat))
		ORDER BY h.trips DESC, h.region_id, h.origin_cell, h.dest_cell, h.slot
		LIMIT lim)
		UNION ALL
		SELECT g.* FROM (SELECT * FROM tripline.trip_groups x
		    WHERE mode = 1 AND x.region_id = rid AND x.trips >= mt OFFSET 0) g
		UNION ALL
		SELECT g.* FROM unnest(cells) c(cell)
		CROSS JOIN LATERAL (SELECT * FROM tripline.trip_groups x
		    WHERE mode = 2 AND x.region_id = ANY (rids) AND x.origin_cell = c.cell
		        AND x.trips >= mt
		        AND x.sum_olon / x.trips BETWEEN p_minlon AND p_maxlon
		        AND x.sum_olat / x.trips BETWEEN p_minlat AND p_maxlat OFFSET 0) g
		UNION ALL
		SELECT g.* FROM tripline.trip_groups g
		WHERE mode = 3 AND g.trips >= mt
		    AND (rid IS NULL OR g.region_id = rid)
		    AND (NOT bbox OR (g.sum_olon / g.trips BETWEEN p_minlon AND p_maxlon
		        AND g.sum_olat / g.trips BETWEEN p_minlat AND p_maxlat))
		UNION ALL
		SELECT s.origin_cell, s.dest_cell, s.first_ts, s.last_ts, s.sum_olon,
		       s.sum_olat, s.sum_dlon, s.sum_dlat, s.datasources, s.trips,
		       s.region_id, s.slot,
		       CASE WHEN mo.more IS NULL THEN s.more ELSE ARRAY(SELECT DISTINCT e
		           FROM unnest(coalesce(s.more, '{}') || mo.more) e ORDER BY e) END
		FROM (SELECT u.region_id, u.origin_cell, u.dest_cell, u.slot,
		          sum(u.trips)::bigint AS trips, sum(u.sum_olon) AS sum_olon,
		          sum(u.sum_olat) AS sum_olat, sum(u.sum_dlon) AS sum_dlon,
		          sum(u.sum_dlat) AS sum_dlat, min(u.first_ts) AS first_ts,
		          max(u.last_ts) AS last_ts, bit_or(u.datasources) AS datasources,
		          max(u.more) AS more
		      FROM (SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
		                x.trips, x.sum_olon, x.sum_olat, x.sum_dlon, x.sum_dlat,
		                x.first_ts, x.last_ts, x.datasources,
		                x.datasources_more AS more
		            FROM tripline.trip_groups x
		            WHERE mode = 4 AND kr IS NULL AND (rid IS NULL OR x.region_id = rid)
		                AND (cells IS NULL OR (x.region_id = ANY (rids)
		                    AND x.origin_cell = ANY (cells)))
		                AND (NOT bbox OR (x.sum_olon / x.trips BETWEEN
		                    p_minlon - dx AND p_maxlon + dx AND x.sum_olat / x.trips
		                    BETWEEN p_minlat - dy AND p_maxlat + dy))
		            UNION ALL
		            -- the bounded candidates, by the primary key
		            SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
		                x.trips, x.sum_olon, x.sum_olat, x.sum_dlon, x.sum_dlat,
		                x.first_ts, x.last_ts, x.datasources,
		                x.datasources_more AS more
		            FROM unnest(kr, ko, kd, ks) k(r, o, d, sl)
		            CROSS JOIN LATERAL (SELECT * FROM tripline.trip_groups y
		                WHERE mode = 4 AND y.region_id = k.r AND y.origin_cell = k.o
		                    AND y.dest_cell = k.d AND y.slot = k.sl OFFSET 0) x
		            UNION ALL
		            SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
		                x.trips, x.sum_olon, x.sum_olat, x.sum_dlon, x.sum_dlat,
		                x.first_ts, x.last_ts, x.datasources, NULL::smallint[]
		            FROM tripline.group_stage x
		            WHERE mode = 4 AND x.job_id = ANY (pend)
		                AND (rid IS NULL OR x.region_id = rid)
		                AND (cells IS NULL OR x.origin_cell = ANY (cells))
		                AND (kr IS NULL OR (x.region_id, x.origin_cell, x.dest_cell,
		                    x.slot) IN (SELECT * FROM unnest(kr, ko, kd, ks)))
		                AND (NOT bbox OR (x.sum_olon / x.trips BETWEEN
		                    p_minlon - dx AND p_maxlon + dx AND x.sum_olat / x.trips
		                    BETWEEN p_minlat - dy AND p_maxlat + dy))) u
		      GROUP BY 1, 2, 3, 4
		      HAVING sum(u.trips) >= mt) s
		LEFT JOIN (SELECT m.region_id, m.origin_cell, m.dest_cell, m.slot,
		               array_agg(DISTINCT m.datasource_id) AS more
		           FROM tripline.group_stage_more m
		           WHERE mode = 4 AND m.job_id = ANY (pend)
		           GROUP BY 1, 2, 3, 4) mo
		    ON mo.region_id = s.region_id AND mo.origin_cell = s.origin_cell
		        AND mo.dest_cell = s.dest_cell AND mo.slot = s.slot
		WHERE NOT bbox OR (s.sum_olon / s.trips BETWEEN p_minlon AND p_maxlon
		    AND s.sum_olat / s.trips BETWEEN p_minlat AND p_maxlat)
	)
	SELECT r.name, tripline.geohash_text(g.origin_cell, p),
	       tripline.geohash_text(g.dest_cell, p), g.slot::integer,
	       to_char(time '00:00' + g.slot * sm * interval '1 minute', 'HH24:MI'),
	       g.trips, g.sum_olon / g.trips, g.sum_olat / g.trips,
	       g.sum_dlon / g.trips, g.sum_dlat / g.trips, g.first_ts, g.last_ts,
	       (SELECT json_agg(d.name ORDER BY d.name) FROM tripline.datasources d
	        WHERE (d.id < 64 AND (g.datasources >> d.id) & 1 = 1)
	            OR d.id = ANY (g.datasources_more))
	FROM pick g JOIN tripline.regions r ON r.id = g.region_id
	ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
	LIMIT lim;
END $$;

RESET ROLE;
