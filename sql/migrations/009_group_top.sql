-- 009_group_top.sql: the largest groups kept in a table of their own, so
-- that a job's updates of trip_groups are HOT.
--
-- trip_groups_top (003_reports.sql) indexed trips, so every update of a
-- group's count wrote a new tuple and an entry in both indexes: an update
-- is HOT (heap-only) only when it changes no indexed column, and a
-- column in an index's predicate counts (PostgreSQL docs, 73.7
-- "Heap-Only Tuples").  By hand, on a stack holding 26 M trips
-- (2026-11-26): the groups of a job, 4.7 M keys half of them new, into
-- 6.7 M groups took 68.9 s with that index and 28.8 s without it at
-- fillfactor 70, where 98 % of the updates were HOT.
--
-- The report still needs the largest groups first (007_groups_plan.sql,
-- step 0).  group_top holds the key and count of every group whose count
-- is at least group_top_state.min_trips, indexed in the report's order.
-- After each job the runner's merge (agg_merge) writes the job's groups
-- that reach that minimum into it, and raises the minimum so that about
-- `keep` groups stay (group_top_add).  Counts only grow, so a group below
-- the minimum can only enter it through a later job's merge, which sees
-- it.  `keep` is 100,000: the largest head the report reads (ten times
-- its largest limit), so the head is answered from group_top as it was
-- from the index.
SET ROLE tripline_owner;
SET search_path = tripline;

DROP INDEX trip_groups_top;
-- Room on each page for a later job's HOT update.  CLUSTER rewrites the
-- groups already there to that fill (in key order), once.
ALTER TABLE trip_groups SET (fillfactor = 70);
CLUSTER trip_groups USING trip_groups_pkey;

CREATE TABLE group_top (
	region_id   integer NOT NULL,
	origin_cell bigint NOT NULL,
	dest_cell   bigint NOT NULL,
	slot        smallint NOT NULL,
	trips       bigint NOT NULL,
	PRIMARY KEY (region_id, origin_cell, dest_cell, slot)
);
CREATE INDEX group_top_order ON group_top
	(trips DESC, region_id, origin_cell, dest_cell, slot);

-- One row.  min_trips: every group with at least that many trips is in
-- group_top (2 until group_top holds more than `keep`).
CREATE TABLE group_top_state (
	one       boolean PRIMARY KEY DEFAULT true CHECK (one),
	min_trips bigint NOT NULL DEFAULT 2 CHECK (min_trips >= 2),
	keep      integer NOT NULL DEFAULT 100000 CHECK (keep >= 1)
);
INSERT INTO group_top_state DEFAULT VALUES;

-- After a job's groups are written (agg_merge): pg_temp.agg_grown holds
-- the key and new count of each of the job's groups that reached
-- min_trips.  The new minimum is the keep-th largest count among them
-- and the rest of group_top (never lower than the old one: then every
-- group at or above it is in one of the two).
CREATE FUNCTION group_top_add() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
DECLARE
	st tripline.group_top_state;
	m bigint;
BEGIN
	SELECT * INTO st FROM tripline.group_top_state;
	m := (SELECT x.trips FROM (
		SELECT g.trips FROM pg_temp.agg_grown g
		UNION ALL
		SELECT t.trips FROM tripline.group_top t
		WHERE NOT EXISTS (SELECT FROM pg_temp.agg_grown g
		    WHERE g.region_id = t.region_id AND g.origin_cell = t.origin_cell
		        AND g.dest_cell = t.dest_cell AND g.slot = t.slot)) x
	    ORDER BY x.trips DESC OFFSET st.keep - 1 LIMIT 1);
	m := greatest(st.min_trips, coalesce(m, st.min_trips));
	IF m > st.min_trips THEN
		DELETE FROM tripline.group_top WHERE trips < m;
		UPDATE tripline.group_top_state SET min_trips = m;
	END IF;
	INSERT INTO tripline.group_top AS t
	SELECT g.region_id, g.origin_cell, g.dest_cell, g.slot, g.trips
	FROM pg_temp.agg_grown g WHERE g.trips >= m
	ON CONFLICT (region_id, origin_cell, dest_cell, slot)
	DO UPDATE SET trips = excluded.trips;
END $$;

-- TRUNCATE trip_groups (agg_rebuild(), or an operator) empties group_top
-- with it and starts the minimum again.
CREATE FUNCTION group_top_reset() RETURNS trigger
LANGUAGE plpgsql SET search_path = tripline AS $$
BEGIN
	TRUNCATE tripline.group_top;
	UPDATE tripline.group_top_state SET min_trips = 2;
	RETURN NULL;
END $$;
CREATE TRIGGER trip_groups_truncate AFTER TRUNCATE ON trip_groups
	FOR EACH STATEMENT EXECUTE FUNCTION group_top_reset();

-- The groups already there: the `keep` largest, ties included.
UPDATE group_top_state SET min_trips = greatest(2, coalesce((SELECT trips
    FROM trip_groups ORDER BY trips DESC
    OFFSET (SELECT keep FROM group_top_state) - 1 LIMIT 1), 2));
INSERT INTO group_top
SELECT region_id, origin_cell, dest_cell, slot, trips FROM trip_groups
WHERE trips >= (SELECT min_trips FROM group_top_state);

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

	-- In key order, as the groups below.
	MERGE INTO tripline.cell_weeks w
	USING (SELECT * FROM pg_temp.agg_cells
	    ORDER BY kind, level, ix, iy, week) a
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
	-- 70).  The new keys go in key order: by hand, 1.76 M new groups
	-- into 8.8 M took 24.3 s in the job's hash order and 7.6 s sorted,
	-- as each insert then finds its primary key page in the cache.
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
		ORDER BY a.region_id, a.origin_cell, a.dest_cell, a.slot
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
	x0 bigint;
	x1 bigint;
	y0 bigint;
	y1 bigint;
	n_head bigint := 0;
	n_match bigint;
	mode int := 3;
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

	IF mt >= 2 THEN
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
			nx := tripline.geohash_axis_bits(p, 0);
			ny := tripline.geohash_axis_bits(p, 1);
			x0 := greatest(floor((p_minlon + 180) / 360 * (1::bigint << nx))::bigint - 1, 0);
			x1 := least(floor((p_maxlon + 180) / 360 * (1::bigint << nx))::bigint + 1,
			    (1::bigint << nx) - 1);
			y0 := greatest(floor((p_minlat + 90) / 180 * (1::bigint << ny))::bigint - 1, 0);
			y1 := least(floor((p_maxlat + 90) / 180 * (1::bigint << ny))::bigint + 1,
			    (1::bigint << ny) - 1);
			IF (x1 - x0 + 1) * (y1 - y0 + 1) <= 4096 THEN
				mode := 2;
				cells := ARRAY(SELECT tripline.geohash_interleave(x, y, p)
				    FROM generate_series(x0, x1) x, generate_series(y0, y1) y);
				rids := ARRAY(SELECT id FROM tripline.regions);
			END IF;
		END IF;
	END IF;

	RAISE DEBUG 'trip groups: step %', mode;
	RETURN QUERY
	WITH pick AS (
		-- The head's rows arrive in index order, so LIMIT keeps the
		-- first matches and the scan stops there.
		(SELECT g.* FROM (SELECT t.region_id, t.origin_cell, t.dest_cell, t.slot
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


REVOKE EXECUTE ON FUNCTION group_top_add(), group_top_reset() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION group_top_add() TO tripline_runner;
GRANT SELECT ON group_top, group_top_state TO tripline_web, tripline_runner;
GRANT INSERT, UPDATE, DELETE ON group_top TO tripline_runner;
GRANT UPDATE ON group_top_state TO tripline_runner;

RESET ROLE;
