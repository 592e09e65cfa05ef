-- 012_groups_head_order.sql: the trip-groups report's first step orders
-- its matches instead of trusting the join to keep the head's order.
--
-- Step 0 of report_trip_groups (009_group_top.sql) reads the head of
-- group_top (largest first), fetches each group from trip_groups and
-- keeps the first `limit` that lie in the region or box, by LIMIT alone:
-- right only while the plan reads the head first.  "When using LIMIT,
-- it is important to use an ORDER BY clause that constrains the result
-- rows into a unique order.  Otherwise you will get an unpredictable
-- subset of the query's rows" (PostgreSQL docs, 7.6 "LIMIT and OFFSET"),
-- and the planner is free to put trip_groups outside.  It did, found by
-- test_reports.test_trip_groups_every_plan after agg_merge's insert order
-- changed (011_merge_order.sql): on a small database without fresh
-- statistics it scanned trip_groups outside and probed the head inside,
-- and LIMIT kept the first matches in trip_groups' physical order (groups
-- of 6 trips where groups of 7 were in the box).  With ORDER BY on the
-- head's order the answer no longer depends on the plan; when the head is
-- read first its rows already come in that order (the subquery is sorted
-- by the same keys), so no sort is added and the scan still stops at the
-- limit-th match.
SET ROLE tripline_owner;
SET search_path = tripline;

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
