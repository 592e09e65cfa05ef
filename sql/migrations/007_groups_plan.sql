-- 007_groups_plan.sql: trip groups by box or region without reading
-- every group.
--
-- 003_reports.sql left the plan to the planner, which cannot estimate a
-- filter on centroids (sum / trips): for a box it read the whole of
-- trip_groups and sorted it (EXPLAIN ANALYZE at 10 M trips, a 10 km box:
-- 318 k of 3.6 M rows kept, 399 ms; at 100 M the table is ten times that).
-- The answer is the first `limit` groups in the order of the index
-- trip_groups_top (trips DESC, then the key) that pass the filter, so:
--
--   0. walk the head of trip_groups_top, `budget` entries (10,000 or ten
--      times the limit).  If the head holds `limit` matches, or is the
--      whole index, its matches are the answer: they come first in the
--      report's order, ties included, because the order is the index's.
--      A big box or region is answered here.
--   1. otherwise, for a region: its groups by the primary key (region_id
--      first), sorted;
--   2. for a box: the groups of the origin cells that can hold a centroid
--      in the box, by the primary key, sorted.  A group's centroid is the
--      mean of its trips' origins, all inside its origin cell, so it lies
--      in that cell; the cells one beyond each side are read too, so that
--      a centroid rounded onto a cell edge is not lost.  The centroid
--      filter then decides, edges inclusive, as before;
--   3. a box of more than 4,096 cells that step 0 did not answer (a large
--      box with few groups), or min_trips = 1 (single trips are not in the
--      partial index): the query of 003_reports.sql.
--
-- The four steps are the branches of one UNION ALL, each behind a test of
-- `mode` that PostgreSQL evaluates once (a one-time filter), so only the
-- chosen branch runs.  tripline.groups_budget (a custom setting) lowers
-- the budget so that the tests reach steps 1 and 2 on small data.
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
		FROM (SELECT 1 FROM (SELECT g.region_id, g.sum_olon, g.sum_olat, g.trips
		          FROM tripline.trip_groups g WHERE g.trips >= 2 AND g.trips >= mt
		          ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
		          LIMIT budget) h
		      WHERE (rid IS NULL OR h.region_id = rid)
		          AND (NOT bbox OR (h.sum_olon / h.trips BETWEEN p_minlon AND p_maxlon
		              AND h.sum_olat / h.trips BETWEEN p_minlat AND p_maxlat))
		      LIMIT lim) m;
		IF n_match < lim THEN
			SELECT count(*) INTO n_head
			FROM (SELECT 1 FROM tripline.trip_groups g
			      WHERE g.trips >= 2 AND g.trips >= mt
			      ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
			      LIMIT budget) h;
		END IF;
		IF n_match >= lim OR n_head < budget THEN
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
		(SELECT g.* FROM (SELECT * FROM tripline.trip_groups x
		    WHERE mode = 0 AND x.trips >= 2 AND x.trips >= mt
		    ORDER BY x.trips DESC, x.region_id, x.origin_cell, x.dest_cell, x.slot
		    LIMIT budget) g
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

RESET ROLE;
