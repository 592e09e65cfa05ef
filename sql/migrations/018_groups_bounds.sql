-- 018_groups_bounds.sql: the trip-groups report reads only the groups
-- that can come first for min_trips=1 and, while groups are pending,
-- for a box too; it prints a centroid without the ulp of its division.
--
-- min_trips=1 read every group (step 4 of the docs: "single trips are
-- never in group_top"): 2.2 s at 10 M trips where min_trips=2 took 23 ms
-- (by hand, 3.59 M groups, 2026-11-26), about ten times that at 100 M,
-- near the web role's 30 s statement_timeout.  But the head's answer
-- holds for it as for 2: group_top holds every group of at least its
-- minimum (>= 2), so when the head has `limit` matches, every group
-- outside it has fewer trips than each of them.  Only the shortcut for a
-- short head (every group of min_trips or more is in group_top) cannot
-- hold for 1, and its test (top_min <= mt) already says so.
--
-- While any job's groups are pending (017), the report bounded which
-- groups can come first only without a box, and took the bound from a
-- full join of group_top and the stages, materialized twice: 5 s for a
-- 10 M job's 3.59 M staged groups beside 3.59 M merged (by hand,
-- EXPLAIN ANALYZE, 2026-11-26, two cores shared with other work), where
-- a scan of the stage takes 0.4 s.  A box summed every group whose
-- centroid lies within a cell of it: a city-sized box read most of
-- trip_groups.  Now the bound is the limit-th largest count in
-- group_top among the groups that pass the filter, read in group_top's
-- order and stopping there (a box checks each group's centroid in
-- trip_groups, by key), and the candidates take one pass over the
-- stages.  A bound needs `limit` such groups in group_top: while every
-- job's groups are pending (a new installation's first load) there is
-- none, and the report sums the stages as before.  By hand, 2026-11-26,
-- a 10 M job merged and another pending (3.59 M groups each), two cores
-- shared with other work, seconds before -> after: no filter 6.7 -> 2.8,
-- min_trips=1 18.7 -> 2.8, Prague 3.0 -> 1.7, a box over Prague 6.6 ->
-- 2.6, a 4 km box 2.7 -> 2.2, limit 1000 6.2 -> 2.9.

SET ROLE tripline_owner;
SET search_path = tripline;

-- A group's centroid as the report prints it.  The sum of n float8
-- coordinates divided by n can be an ulp off the mean: three trips from
-- 14.4973 gave 14.497300000000001.  float8 to numeric keeps DBL_DIG (15)
-- significant digits (PostgreSQL's float8_numeric), which is more than
-- any mean here carries and drops that ulp; one trip's coordinate is
-- printed as it was read.  The box filters compare it too (group_in_box).
CREATE FUNCTION group_mean(total float8, n bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN n = 1 THEN total ELSE (total / n)::numeric::float8 END
$$;

-- Whether a group's centroid, as printed, lies in the closed box: the
-- box's filter must agree with the centroid the user sees (a box drawn
-- from a printed centroid holds its group).  The unrounded mean first,
-- within 1e-9 degrees, spares the numeric of most rows.
CREATE FUNCTION group_in_box(sum_lon float8, sum_lat float8, n bigint,
    minlon float8, minlat float8, maxlon float8, maxlat float8)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT sum_lon / n BETWEEN minlon - 1e-9 AND maxlon + 1e-9
	    AND sum_lat / n BETWEEN minlat - 1e-9 AND maxlat + 1e-9
	    AND tripline.group_mean(sum_lon, n) BETWEEN minlon AND maxlon
	    AND tripline.group_mean(sum_lat, n) BETWEEN minlat AND maxlat
$$;

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
	maxst bigint;
	-- More than the rounding of a centroid summed in another order.
	eps float8 := 1e-9;
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
		END IF;
		-- A box of a few cells reads their groups (step 2's way) at less
		-- than the bound's cost (group_top's groups, by key).
		IF cells IS NULL OR cardinality(cells) > 64 THEN
			-- Only the groups that can come first need their sums.
			-- A group's count is its count in trip_groups (m) plus
			-- its pending stages' (st), so at least m.  group_top
			-- holds every group with m >= top_min; the limit-th
			-- largest m among its groups that pass the filter
			-- (tstar) is a lower bound of the limit-th count of the
			-- answer.  If tstar >= top_min, a group that comes first
			-- is in group_top with m + st >= tstar, or in a stage
			-- only, with top_min - 1 + st >= tstar: a group of
			-- neither has fewer than top_min trips.  Only those are
			-- summed, read by key.  A box passes a group of
			-- group_top only if its centroid in trip_groups is
			-- inside the box by more than a cell (dx, dy, and eps
			-- for the rounding of the sums): its whole origin cell
			-- is then inside, and so is its summed centroid, a mean
			-- of origins in that cell.
			SELECT t.trips INTO tstar
			FROM tripline.group_top t
			LEFT JOIN LATERAL (SELECT x.sum_olon / x.trips AS lon,
			        x.sum_olat / x.trips AS lat
			    FROM tripline.trip_groups x
			    WHERE bbox AND x.region_id = t.region_id
			        AND x.origin_cell = t.origin_cell
			        AND x.dest_cell = t.dest_cell AND x.slot = t.slot
			    OFFSET 0) y ON true
			WHERE t.trips >= mt AND (rid IS NULL OR t.region_id = rid)
			    AND (NOT bbox OR (y.lon BETWEEN p_minlon + dx + eps
			            AND p_maxlon - dx - eps
			        AND y.lat BETWEEN p_minlat + dy + eps
			            AND p_maxlat - dy - eps))
			ORDER BY t.trips DESC, t.region_id, t.origin_cell, t.dest_cell, t.slot
			OFFSET lim - 1 LIMIT 1;
			IF tstar >= top_min THEN
				-- The stages' groups that can reach tstar, and
				-- group_top's.  Without a box each stage group is
				-- matched with group_top (a hash of it).  With one,
				-- the planner cannot count the stage's groups near
				-- the box and would probe group_top once for each (a
				-- second per million): then a superset is taken
				-- instead, without matching, the stages' groups that
				-- can reach tstar whatever their m (< top_min when not
				-- in group_top) and group_top's that can with the
				-- largest st.  (One job's stage has each key once: no
				-- grouping then.)
				WITH s AS NOT MATERIALIZED (
					SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
					       x.trips AS st
					FROM tripline.group_stage x
					WHERE cardinality(pend) = 1 AND x.job_id = ANY (pend)
					    AND (rid IS NULL OR x.region_id = rid)
					    AND (NOT bbox OR (x.sum_olon / x.trips BETWEEN
					        p_minlon - dx AND p_maxlon + dx AND x.sum_olat / x.trips
					        BETWEEN p_minlat - dy AND p_maxlat + dy))
					UNION ALL
					SELECT x.region_id, x.origin_cell, x.dest_cell, x.slot,
					       sum(x.trips)
					FROM tripline.group_stage x
					WHERE cardinality(pend) > 1 AND x.job_id = ANY (pend)
					    AND (rid IS NULL OR x.region_id = rid)
					    AND (NOT bbox OR (x.sum_olon / x.trips BETWEEN
					        p_minlon - dx AND p_maxlon + dx AND x.sum_olat / x.trips
					        BETWEEN p_minlat - dy AND p_maxlat + dy))
					GROUP BY 1, 2, 3, 4
				)
				SELECT max(q.st), array_agg(q.region_id) FILTER (WHERE q.ok),
				       array_agg(q.origin_cell) FILTER (WHERE q.ok),
				       array_agg(q.dest_cell) FILTER (WHERE q.ok),
				       array_agg(q.slot) FILTER (WHERE q.ok)
				INTO maxst, kr, ko, kd, ks
				FROM (SELECT s.*, top_min - 1 + s.st >= tstar AS ok
				      FROM s WHERE bbox
				      UNION ALL
				      SELECT s.*, true
				      FROM s LEFT JOIN tripline.group_top t
				          ON t.region_id = s.region_id
				          AND t.origin_cell = s.origin_cell
				          AND t.dest_cell = s.dest_cell AND t.slot = s.slot
				      WHERE NOT bbox
				          AND coalesce(t.trips, top_min - 1) + s.st >= tstar) q;
				SELECT array_agg(k.r), array_agg(k.o), array_agg(k.d), array_agg(k.sl)
				INTO kr, ko, kd, ks
				FROM (SELECT * FROM unnest(kr, ko, kd, ks)
				      UNION
				      SELECT t.region_id, t.origin_cell, t.dest_cell, t.slot
				      FROM tripline.group_top t
				      WHERE t.trips >= tstar - CASE WHEN bbox THEN coalesce(maxst, 0)
				          ELSE 0 END
				          AND (rid IS NULL OR t.region_id = rid)) k(r, o, d, sl);
				RAISE DEBUG 'trip groups: bound %, % candidates', tstar,
				    cardinality(kr);
			END IF;
		END IF;
	ELSE
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
		          AND (NOT bbox OR tripline.group_in_box(g.sum_olon, g.sum_olat, g.trips,
		              p_minlon, p_minlat, p_maxlon, p_maxlat))
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
		    AND (NOT bbox OR tripline.group_in_box(g.sum_olon, g.sum_olat, g.trips,
		        p_minlon, p_minlat, p_maxlon, p_maxlat))
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
		        AND tripline.group_in_box(x.sum_olon, x.sum_olat, x.trips,
		        p_minlon, p_minlat, p_maxlon, p_maxlat) OFFSET 0) g
		UNION ALL
		SELECT g.* FROM tripline.trip_groups g
		WHERE mode = 3 AND g.trips >= mt
		    AND (rid IS NULL OR g.region_id = rid)
		    AND (NOT bbox OR tripline.group_in_box(g.sum_olon, g.sum_olat, g.trips,
		        p_minlon, p_minlat, p_maxlon, p_maxlat))
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
		WHERE NOT bbox OR tripline.group_in_box(s.sum_olon, s.sum_olat, s.trips,
		    p_minlon, p_minlat, p_maxlon, p_maxlat)
	)
	SELECT r.name, tripline.geohash_text(g.origin_cell, p),
	       tripline.geohash_text(g.dest_cell, p), g.slot::integer,
	       to_char(time '00:00' + g.slot * sm * interval '1 minute', 'HH24:MI'),
	       g.trips, tripline.group_mean(g.sum_olon, g.trips),
	       tripline.group_mean(g.sum_olat, g.trips),
	       tripline.group_mean(g.sum_dlon, g.trips),
	       tripline.group_mean(g.sum_dlat, g.trips), g.first_ts, g.last_ts,
	       (SELECT json_agg(d.name ORDER BY d.name) FROM tripline.datasources d
	        WHERE (d.id < 64 AND (g.datasources >> d.id) & 1 = 1)
	            OR d.id = ANY (g.datasources_more))
	FROM pick g JOIN tripline.regions r ON r.id = g.region_id
	ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
	LIMIT lim;
END $$;

RESET ROLE;
