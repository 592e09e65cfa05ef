-- 003_reports.sql: the report aggregates, the report functions and the
-- cell-range indexes on trips (docs/reports.md explains the design).
--
-- The runner keeps the aggregates inside each job's load transaction
-- (jobs/aggregate.c fills the temporary tables agg_* and calls
-- agg_merge()), so they become visible together with the job's trips and
-- are never half-counted.  Each report is one function here; the files
-- sql/reports/*.sql call it with psql variables, and the FastCGI program
-- runs those very files (cgi/h_reports.c turns :'name' into $n).
SET ROLE tripline_owner;
SET search_path = tripline;

-- --- Geohash cells in SQL (the same cells as lib/geohash.h) -------------
--
-- A cell of n characters has 5n bits, longitude first: nx = ceil(5n / 2)
-- longitude bits and ny = floor(5n / 2) latitude bits.  Its column ix and
-- row iy index a regular grid; its bounds are exact dyadic rationals
--   [-180 + ix * 360 / 2^nx, -180 + (ix + 1) * 360 / 2^nx) and the same
-- for latitude over 180 / 2^ny, exactly representable in float8.

-- The levels of the weekly-count pyramid (cell_weeks) and, last, the fine
-- level whose cells the edge of a box is computed from (trips_*_cell7).
CREATE FUNCTION agg_levels() RETURNS int[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '{3,4,5,6,7}'::int[] $$;

-- Longitude (kind 0) or latitude (kind 1) bits of an n-character cell.
CREATE FUNCTION geohash_axis_bits(chars int, axis int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CASE WHEN axis = 0 THEN (5 * chars + 1) / 2 ELSE 5 * chars / 2 END $$;

-- The west (south) edge of column (row) i: exact, see above.
CREATE FUNCTION geohash_edge(i bigint, chars int, axis int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT CASE WHEN axis = 0
	THEN -180::float8 + i::float8 * (360::float8 / (2::float8 ^ ((5 * chars + 1) / 2)))
	ELSE -90::float8 + i::float8 * (180::float8 / (2::float8 ^ (5 * chars / 2)))
END $$;

-- Interleave column and row into the cell's integer (Morton order, the
-- bit spreading of lib/geohash.c): with 5n odd, longitude bits sit at the
-- even positions; with 5n even, at the odd ones.
CREATE FUNCTION geohash_interleave(ix bigint, iy bigint, chars int) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
	x bigint := ix;
	y bigint := iy;
BEGIN
	x := (x | (x << 16)) & 281470681808895;		-- 0x0000ffff0000ffff
	x := (x | (x << 8)) & 71777214294589695;	-- 0x00ff00ff00ff00ff
	x := (x | (x << 4)) & 1085102592571150095;	-- 0x0f0f0f0f0f0f0f0f
	x := (x | (x << 2)) & 3689348814741910323;	-- 0x3333333333333333
	x := (x | (x << 1)) & 6148914691236517205;	-- 0x5555555555555555
	y := (y | (y << 16)) & 281470681808895;
	y := (y | (y << 8)) & 71777214294589695;
	y := (y | (y << 4)) & 1085102592571150095;
	y := (y | (y << 2)) & 3689348814741910323;
	y := (y | (y << 1)) & 6148914691236517205;
	IF (5 * chars) % 2 = 1 THEN
		RETURN x | (y << 1);
	END IF;
	RETURN (x << 1) | y;
END $$;

-- The inverse: the bits at the even positions of v, packed.  Plain SQL
-- so that it is inlined: each step names its input twice, hence the
-- repetition (generated, the same five steps as lib/geohash.c).
CREATE FUNCTION geohash_compact(v bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT (((((((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) | ((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) >> 4)) & 71777214294589695) | ((((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) | ((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) >> 4)) & 71777214294589695) >> 8)) & 281470681808895) | ((((((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) | ((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) >> 4)) & 71777214294589695) | ((((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) | ((((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) | ((((v & 6148914691236517205) | ((v & 6148914691236517205) >> 1)) & 3689348814741910323) >> 2)) & 1085102592571150095) >> 4)) & 71777214294589695) >> 8)) & 281470681808895) >> 16)) & 4294967295)
$$;

-- The base32 text of a cell ("u2fkbd7"), as geohash.org spells it.
CREATE FUNCTION geohash_text(cell bigint, chars int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT string_agg(substr('0123456789bcdefghjkmnpqrstuvwxyz',
	((cell >> (5 * (chars - 1 - i))) & 31)::int + 1, 1), '' ORDER BY i)
FROM generate_series(0, chars - 1) AS i $$;

-- The time-of-day slot of a timestamp: minutes since midnight divided by
-- the slot length (the runner's loader_slot, jobs/loader.c).
CREATE FUNCTION time_slot(t timestamp, slot_minutes int) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((extract(hour FROM t)::int * 60 + extract(minute FROM t)::int) / slot_minutes)::smallint $$;

-- The Monday starting the ISO 8601 week of a timestamp or date.
CREATE FUNCTION iso_week(t timestamp) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('week', t)::date $$;

-- --- Aggregates ---------------------------------------------------------

-- Trips per ISO week per geohash cell, at every level of tripline.agg_levels(), by
-- origin (kind 0) and by destination (kind 1).  A box's fully covered
-- cells are summed from here, coarse cells inside, fine ones at the rim.
CREATE TABLE cell_weeks (
	kind   smallint NOT NULL CHECK (kind IN (0, 1)),
	level  smallint NOT NULL,
	ix     integer NOT NULL,
	iy     integer NOT NULL,
	week   date NOT NULL,
	trips  bigint NOT NULL,
	PRIMARY KEY (kind, level, ix, iy, week)
) WITH (fillfactor = 90);
-- Room on each page (fillfactor): a later job's update of a row, which
-- changes no indexed column, can then stay on its page as a HOT update
-- and leave the primary key alone (PostgreSQL docs, 73.7 "Heap-Only
-- Tuples").  trip_groups cannot: trip_groups_top indexes its trips.

-- Trips per region per ISO week: the region weekly average, and the span
-- of loaded weeks (min and max week over all regions).
CREATE TABLE region_weeks (
	region_id integer NOT NULL,
	week      date NOT NULL,
	trips     bigint NOT NULL,
	PRIMARY KEY (region_id, week)
);

-- Trips per region and datasource with the first and last trip datetime:
-- the two questions.
CREATE TABLE region_datasources (
	region_id     integer NOT NULL,
	datasource_id smallint NOT NULL,
	trips         bigint NOT NULL,
	first_ts      timestamp NOT NULL,
	last_ts       timestamp NOT NULL,
	PRIMARY KEY (region_id, datasource_id)
);
CREATE INDEX region_datasources_ds ON region_datasources (datasource_id);

-- Similar trips: same region, origin cell and destination cell at the
-- installation's cell_precision, same slot of slot_minutes.  Coordinate
-- sums give the centroids; datasources is a bit set of datasource ids
-- 1..63 (bit i = id i), datasources_more holds larger ids, sorted.
CREATE TABLE trip_groups (
	origin_cell      bigint NOT NULL,
	dest_cell        bigint NOT NULL,
	first_ts         timestamp NOT NULL,
	last_ts          timestamp NOT NULL,
	sum_olon         float8 NOT NULL,
	sum_olat         float8 NOT NULL,
	sum_dlon         float8 NOT NULL,
	sum_dlat         float8 NOT NULL,
	datasources      bigint NOT NULL,
	trips            bigint NOT NULL,
	region_id        integer NOT NULL,
	slot             smallint NOT NULL,
	datasources_more smallint[],
	PRIMARY KEY (region_id, origin_cell, dest_cell, slot)
);
-- The report lists the largest groups first; a group is two trips or
-- more by default, so only those are indexed (most keys are single trips).
CREATE INDEX trip_groups_top ON trip_groups
	(trips DESC, region_id, origin_cell, dest_cell, slot) WHERE trips >= 2;

-- The edge of a box: every trip of one 7-character cell by an index range
-- (a cell is the contiguous range of its 60-bit cells).  Keys repeat a lot,
-- so B-tree deduplication (PostgreSQL docs, 67.4.3) stores each key once
-- with a list of row pointers: about 6 bytes per trip, not 20.
CREATE INDEX trips_origin_cell7 ON trips ((origin_cell >> 25));
CREATE INDEX trips_dest_cell7 ON trips ((dest_cell >> 25));

-- --- Keeping the aggregates (called by the runner) ----------------------

-- Merge the job's partial sums from the session's temporary tables (made
-- by jobs/aggregate.c, one row per key or several, summed here) into the
-- aggregates.  Rows are inserted in key order so that two runners
-- merging at once take row locks in the same order and cannot deadlock.
CREATE FUNCTION agg_merge() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp SET jit = off AS $$
BEGIN
	-- Sorting a big job's keys in memory, not on disk (a 10 M-row job
	-- sends about 9 M partial group rows); for this transaction only.
	PERFORM set_config('work_mem', '1GB', true);
	INSERT INTO tripline.cell_weeks AS w (kind, level, ix, iy, week, trips)
	SELECT a.kind, l.level,
	       a.ix >> (18 - tripline.geohash_axis_bits(l.level, 0)),
	       a.iy >> (17 - tripline.geohash_axis_bits(l.level, 1)),
	       a.week, sum(a.trips)
	FROM pg_temp.agg_cells a CROSS JOIN unnest(tripline.agg_levels()) AS l(level)
	GROUP BY 1, 2, 3, 4, 5
	ORDER BY 1, 2, 3, 4, 5
	ON CONFLICT (kind, level, ix, iy, week)
	DO UPDATE SET trips = w.trips + EXCLUDED.trips;

	INSERT INTO tripline.region_weeks AS w (region_id, week, trips)
	SELECT region_id, week, sum(trips) FROM pg_temp.agg_regions
	GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (region_id, week) DO UPDATE SET trips = w.trips + EXCLUDED.trips;

	INSERT INTO tripline.region_datasources AS x
	    (region_id, datasource_id, trips, first_ts, last_ts)
	SELECT region_id, datasource_id, sum(trips), min(first_ts), max(last_ts)
	FROM pg_temp.agg_sources GROUP BY 1, 2 ORDER BY 1, 2
	ON CONFLICT (region_id, datasource_id) DO UPDATE SET
		trips = x.trips + EXCLUDED.trips,
		first_ts = least(x.first_ts, EXCLUDED.first_ts),
		last_ts = greatest(x.last_ts, EXCLUDED.last_ts);

	-- The groups' sums first; the rare datasource ids of 64 and above
	-- (rows with more set) afterwards, only for their keys: one
	-- subquery per group here cost a second per million groups.
	INSERT INTO tripline.trip_groups AS g (region_id, origin_cell, dest_cell,
	    slot, trips, sum_olon, sum_olat, sum_dlon, sum_dlat, first_ts,
	    last_ts, datasources)
	SELECT region_id, origin_cell, dest_cell, slot, sum(trips),
	       sum(sum_olon), sum(sum_olat), sum(sum_dlon), sum(sum_dlat),
	       min(first_ts), max(last_ts), bit_or(datasources)
	FROM pg_temp.agg_groups
	GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
	ON CONFLICT (region_id, origin_cell, dest_cell, slot) DO UPDATE SET
		trips = g.trips + EXCLUDED.trips,
		sum_olon = g.sum_olon + EXCLUDED.sum_olon,
		sum_olat = g.sum_olat + EXCLUDED.sum_olat,
		sum_dlon = g.sum_dlon + EXCLUDED.sum_dlon,
		sum_dlat = g.sum_dlat + EXCLUDED.sum_dlat,
		first_ts = least(g.first_ts, EXCLUDED.first_ts),
		last_ts = greatest(g.last_ts, EXCLUDED.last_ts),
		datasources = g.datasources | EXCLUDED.datasources;

	-- Rows already locked above, so no new lock waits.
	IF EXISTS (SELECT FROM pg_temp.agg_groups WHERE more IS NOT NULL) THEN
		UPDATE tripline.trip_groups AS g SET datasources_more = (SELECT
		    array_agg(DISTINCT x ORDER BY x) FROM unnest(coalesce(
		    g.datasources_more, '{}') || m.more) AS x)
		FROM (SELECT region_id, origin_cell, dest_cell, slot,
		          array_agg(more) AS more
		      FROM pg_temp.agg_groups WHERE more IS NOT NULL
		      GROUP BY 1, 2, 3, 4) m
		WHERE g.region_id = m.region_id AND g.origin_cell = m.origin_cell
		    AND g.dest_cell = m.dest_cell AND g.slot = m.slot;
	END IF;
END $$;

-- The job's partial sums, as jobs/aggregate.c sends them with COPY: one
-- table each, dropped at the end of the load transaction.  agg_cells
-- holds the fine level only (7 characters: 18 + 17 bits); agg_merge
-- rolls it up to every level.
CREATE FUNCTION agg_begin() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMPORARY TABLE agg_cells (kind smallint, ix integer,
	    iy integer, week date, trips bigint) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_regions (region_id integer, week date,
	    trips bigint) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_sources (region_id integer,
	    datasource_id smallint, trips bigint, first_ts timestamp,
	    last_ts timestamp) ON COMMIT DROP;
	CREATE TEMPORARY TABLE agg_groups (region_id integer,
	    origin_cell bigint, dest_cell bigint, slot smallint, trips bigint,
	    sum_olon float8, sum_olat float8, sum_dlon float8, sum_dlat float8,
	    first_ts timestamp, last_ts timestamp, datasources bigint,
	    more smallint) ON COMMIT DROP;
END $$;

-- Recompute every aggregate from the trips (for an operator after a
-- restore, and for the tests, which compare it with what the runners
-- kept).  Takes the trips in share mode: loads wait until it is done.
CREATE FUNCTION agg_rebuild() RETURNS void
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
	SELECT k, tripline.geohash_compact(c >> 1) >> 12, tripline.geohash_compact(c) >> 13, w, count(*)
	FROM (SELECT 0 AS k, origin_cell AS c, tripline.iso_week(ts) AS w FROM tripline.trips
	      UNION ALL
	      SELECT 1, dest_cell, tripline.iso_week(ts) FROM tripline.trips) t
	GROUP BY 1, 2, 3, 4;
	INSERT INTO pg_temp.agg_regions
	SELECT region_id, tripline.iso_week(ts), count(*) FROM tripline.trips GROUP BY 1, 2;
	INSERT INTO pg_temp.agg_sources
	SELECT region_id, datasource_id, count(*), min(ts), max(ts)
	FROM tripline.trips GROUP BY 1, 2;
	INSERT INTO pg_temp.agg_groups
	SELECT region_id, origin_cell >> (5 * (12 - p)), dest_cell >> (5 * (12 - p)),
	       tripline.time_slot(ts, sm), count(*), sum(origin_lon), sum(origin_lat), sum(dest_lon),
	       sum(dest_lat), min(ts), max(ts),
	       bit_or(CASE WHEN datasource_id < 64 THEN 1::bigint << datasource_id ELSE 0 END),
	       NULL
	FROM tripline.trips GROUP BY 1, 2, 3, 4;
	INSERT INTO pg_temp.agg_groups
	SELECT DISTINCT region_id, origin_cell >> (5 * (12 - p)),
	       dest_cell >> (5 * (12 - p)), tripline.time_slot(ts, sm), 0, 0, 0, 0, 0, min(ts) OVER w,
	       max(ts) OVER w, 0, datasource_id
	FROM tripline.trips WHERE datasource_id >= 64
	WINDOW w AS (PARTITION BY region_id, origin_cell >> (5 * (12 - p)),
	    dest_cell >> (5 * (12 - p)), tripline.time_slot(ts, sm));
	PERFORM tripline.agg_merge();
	DROP TABLE pg_temp.agg_cells, pg_temp.agg_regions, pg_temp.agg_sources,
	    pg_temp.agg_groups;
END $$;

-- --- Report helpers -------------------------------------------------------
--
-- The report functions run with jit = off: their row estimates (set
-- returning functions, arrays) are rough and high, which would make the
-- planner compile them to machine code (PostgreSQL docs, 32.2 "When to
-- JIT?") for ~200 ms when they run in a few.

-- Names to ids; an unknown name is an error of its own SQLSTATE (P0002,
-- no_data_found), which the FastCGI program answers with 404.
CREATE FUNCTION region_id_of(name text) RETURNS integer
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
	r integer;
BEGIN
	SELECT id INTO r FROM tripline.regions WHERE regions.name = region_id_of.name;
	IF r IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'no_data_found',
		    MESSAGE = format('region %s not found', to_json(name));
	END IF;
	RETURN r;
END $$;

CREATE FUNCTION datasource_id_of(name text) RETURNS smallint
LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
	r smallint;
BEGIN
	SELECT id INTO r FROM tripline.datasources
	WHERE datasources.name = datasource_id_of.name;
	IF r IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'no_data_found',
		    MESSAGE = format('datasource %s not found', to_json(name));
	END IF;
	RETURN r;
END $$;

-- A parameter the caller got wrong (SQLSTATE 22023, answered with 400);
-- the FastCGI program checks the same before it calls, this is for psql.
CREATE FUNCTION report_bad_param(param text, reason text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
	    MESSAGE = format('%s: %s', param, reason), COLUMN = param;
END $$;

CREATE FUNCTION report_check_bbox(minlon float8, minlat float8,
    maxlon float8, maxlat float8) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF minlon IS NULL OR minlat IS NULL OR maxlon IS NULL OR maxlat IS NULL THEN
		PERFORM report_bad_param('bbox', 'needs four numbers');
	ELSIF NOT (minlon >= -180 AND maxlon <= 180 AND minlat >= -90 AND maxlat <= 90) THEN
		PERFORM report_bad_param('bbox', 'out of range');
	ELSIF minlon > maxlon OR minlat > maxlat THEN
		PERFORM report_bad_param('bbox', 'minimum above maximum');
	END IF;
END $$;

-- The cells covering a box (edges inclusive), as rectangles of cells
-- [x0, x1] x [y0, y1] at some level:
--   edge = false: every point of these cells is inside the box.  They tile
--     the largest rectangle of fine cells inside the box, each part at the
--     coarsest level of levels that fits: a coarse rectangle in the
--     middle, then at each finer level a frame at most a few cells wide.
--   edge = true: fine cells the box covers in part (its rim, one cell
--     wide); only their trips need checking one by one.
-- Every point of the box lies in exactly one returned cell.  Bounds are
-- compared exactly (geohash_edge is exact), so a box edge on a cell edge
-- makes that cell inner, never edge; the world's upper edges (lon 180,
-- lat 90) belong to the last column and row, as in lib/geohash.h.
CREATE TYPE cell_rect AS (level int, x0 int, x1 int, y0 int, y1 int,
    edge boolean);
CREATE FUNCTION box_cover(minlon float8, minlat float8, maxlon float8,
    maxlat float8, levels int[])
RETURNS SETOF cell_rect
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE ROWS 12 AS $$
DECLARE
	fine int := levels[array_upper(levels, 1)];
	lo float8[] := ARRAY[minlon, minlat];
	hi float8[] := ARRAY[maxlon, maxlat];
	lim float8[] := ARRAY[180, 90];
	n int;
	m int;
	w float8;
	-- per axis (1 = longitude, 2 = latitude): inner cells a..b, touched
	-- cells ca..cb, previous covered rectangle pa..pb (in fine cells)
	a int[] := '{0,0}';
	b int[] := '{0,0}';
	ca int[] := '{0,0}';
	cb int[] := '{0,0}';
	pa int[];
	pb int[];
	la int[] := '{0,0}';
	lb int[] := '{0,0}';
	qa int[] := '{0,0}';
	qb int[] := '{0,0}';
	s int[] := '{0,0}';
	k int;
	l int;
BEGIN
	FOR k IN 1..2 LOOP
		n := tripline.geohash_axis_bits(fine, k - 1);
		m := 1 << n;
		w := 2 * lim[k] / (1::bigint << n)::float8;
		-- a: the first cell whose lower edge is >= lo.  The estimate can
		-- be one off either way; exact comparisons settle it.
		a[k] := greatest(0, least(m, ceil((lo[k] + lim[k]) / w)::int));
		WHILE a[k] > 0 AND tripline.geohash_edge(a[k] - 1, fine, k - 1) >= lo[k] LOOP
			a[k] := a[k] - 1;
		END LOOP;
		WHILE a[k] < m AND tripline.geohash_edge(a[k], fine, k - 1) < lo[k] LOOP
			a[k] := a[k] + 1;
		END LOOP;
		-- b: the last cell whose upper edge is <= hi.
		b[k] := greatest(-1, least(m - 1, floor((hi[k] + lim[k]) / w)::int - 1));
		WHILE b[k] < m - 1 AND tripline.geohash_edge(b[k] + 2, fine, k - 1) <= hi[k] LOOP
			b[k] := b[k] + 1;
		END LOOP;
		WHILE b[k] >= 0 AND tripline.geohash_edge(b[k] + 1, fine, k - 1) > hi[k] LOOP
			b[k] := b[k] - 1;
		END LOOP;
		-- The cells the box touches: the one holding lo (unless lo is
		-- its lower edge, then a itself) to the one after b, which
		-- holds hi (a point on the edge is inside).
		ca[k] := CASE WHEN a[k] > 0 AND (a[k] = m OR
		    tripline.geohash_edge(a[k], fine, k - 1) > lo[k]) THEN a[k] - 1 ELSE a[k] END;
		cb[k] := least(b[k] + 1, m - 1);
	END LOOP;

	IF a[1] > b[1] OR a[2] > b[2] THEN
		-- No fine cell is inside: every touched cell is edge.
		RETURN QUERY SELECT fine, ca[1], cb[1], ca[2], cb[2], true;
		RETURN;
	END IF;

	-- The rim: touched cells outside a..b, as up to four strips.
	IF ca[2] < a[2] THEN
		RETURN QUERY SELECT fine, ca[1], cb[1], ca[2], a[2] - 1, true;
	END IF;
	IF cb[2] > b[2] THEN
		RETURN QUERY SELECT fine, ca[1], cb[1], b[2] + 1, cb[2], true;
	END IF;
	IF ca[1] < a[1] THEN
		RETURN QUERY SELECT fine, ca[1], a[1] - 1, a[2], b[2], true;
	END IF;
	IF cb[1] > b[1] THEN
		RETURN QUERY SELECT fine, b[1] + 1, cb[1], a[2], b[2], true;
	END IF;

	-- The inside, coarse to fine.  At level l the cells inside a..b form
	-- the rectangle la..lb; what the coarser levels took (pa..pb, scaled
	-- to level l as qa..qb) is cut out, leaving at most four strips.
	FOREACH l IN ARRAY levels LOOP
		FOR k IN 1..2 LOOP
			s[k] := tripline.geohash_axis_bits(fine, k - 1) - tripline.geohash_axis_bits(l, k - 1);
			la[k] := (a[k] + (1 << s[k]) - 1) >> s[k];
			lb[k] := ((b[k] + 1) >> s[k]) - 1;
		END LOOP;
		CONTINUE WHEN la[1] > lb[1] OR la[2] > lb[2];
		IF pa IS NULL THEN
			RETURN QUERY SELECT l, la[1], lb[1], la[2], lb[2], false;
		ELSE
			FOR k IN 1..2 LOOP
				qa[k] := pa[k] >> s[k];
				qb[k] := ((pb[k] + 1) >> s[k]) - 1;
			END LOOP;
			IF la[2] < qa[2] THEN
				RETURN QUERY SELECT l, la[1], lb[1], la[2], qa[2] - 1, false;
			END IF;
			IF lb[2] > qb[2] THEN
				RETURN QUERY SELECT l, la[1], lb[1], qb[2] + 1, lb[2], false;
			END IF;
			IF la[1] < qa[1] THEN
				RETURN QUERY SELECT l, la[1], qa[1] - 1, qa[2], qb[2], false;
			END IF;
			IF lb[1] > qb[1] THEN
				RETURN QUERY SELECT l, qb[1] + 1, lb[1], qa[2], qb[2], false;
			END IF;
		END IF;
		pa := ARRAY[la[1] << s[1], la[2] << s[2]];
		pb := ARRAY[((lb[1] + 1) << s[1]) - 1, ((lb[2] + 1) << s[2]) - 1];
	END LOOP;
END $$;

-- The cells of a cover (box_cover) that can hold trips of kind k: each
-- rectangle is cut to the 5-character cells (or its own level, when
-- coarser) that cell_weeks has rows for, in any week.  A row is one
-- column ix of one rectangle and the rows iy0..iy1 of it to look at.  So
-- a box as large as a country costs what the data near its edge costs,
-- not one probe per cell along its edge.
CREATE TYPE cover_cell AS (level int, ix int, iy0 int, iy1 int, edge boolean);
CREATE FUNCTION cover_cells(cov cell_rect[], k int)
RETURNS SETOF cover_cell
LANGUAGE sql STABLE PARALLEL SAFE AS $$
SELECT r.level, x.ix,
       greatest(r.y0, p.gy << s.sy), least(r.y1, ((p.gy + 1) << s.sy) - 1), r.edge
FROM unnest(cov) r
CROSS JOIN LATERAL (SELECT least(r.level, 5) AS g) g
CROSS JOIN LATERAL (SELECT
	tripline.geohash_axis_bits(r.level, 0) - tripline.geohash_axis_bits(g.g, 0) AS sx,
	tripline.geohash_axis_bits(r.level, 1) - tripline.geohash_axis_bits(g.g, 1) AS sy) s
CROSS JOIN LATERAL (SELECT DISTINCT c.ix AS gx, c.iy AS gy FROM tripline.cell_weeks c
	WHERE c.kind = k AND c.level = g.g
	    AND c.ix BETWEEN r.x0 >> s.sx AND r.x1 >> s.sx
	    AND c.iy BETWEEN r.y0 >> s.sy AND r.y1 >> s.sy) p
CROSS JOIN LATERAL generate_series(greatest(r.x0, p.gx << s.sx),
	least(r.x1, ((p.gx + 1) << s.sx) - 1)) AS x(ix)
$$;

-- Trips per week (weeks with trips only) whose origin (kind 0) or
-- destination (kind 1) lies in the box, edges inclusive: exactly
--   lon BETWEEN minlon AND maxlon AND lat BETWEEN minlat AND maxlat,
-- in weeks wfrom..wto (Mondays; NULL = open).  Inner cells come from
-- cell_weeks, the rim's trips from trips by the cell7 index.
CREATE FUNCTION weekly_bbox(kind int, minlon float8, minlat float8,
    maxlon float8, maxlat float8, wfrom date, wto date)
RETURNS TABLE (week date, trips bigint)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	cells tripline.cover_cell[];
	-- The rim's 7-character cells, sorted for the index scan.
	rim bigint[];
	lo date := coalesce(wfrom, '-infinity');
	hi date := coalesce(wto, 'infinity');
BEGIN
	cells := ARRAY(SELECT c FROM tripline.cover_cells(ARRAY(SELECT b FROM
	    tripline.box_cover(minlon, minlat, maxlon, maxlat,
	    tripline.agg_levels()) b), kind) c);
	rim := ARRAY(SELECT tripline.geohash_interleave(c.ix, gy, 7)
	    FROM unnest(cells) c, generate_series(c.iy0, c.iy1) gy
	    WHERE c.edge ORDER BY 1);
	IF kind = 0 THEN
		RETURN QUERY
		SELECT s.week, sum(s.n)::bigint FROM (
			SELECT w.week, w.trips AS n
			FROM unnest(cells) c
			-- One index range scan per column (OFFSET 0 keeps it so).
			CROSS JOIN LATERAL (SELECT x.week, x.trips FROM tripline.cell_weeks x
			    WHERE x.kind = 0 AND x.level = c.level AND x.ix = c.ix
			        AND x.iy BETWEEN c.iy0 AND c.iy1
			        AND x.week BETWEEN lo AND hi OFFSET 0) w
			WHERE NOT c.edge
			UNION ALL
			SELECT tripline.iso_week(t.ts), 1 FROM tripline.trips t
			WHERE (t.origin_cell >> 25) = ANY (rim)
			    AND t.origin_lon BETWEEN minlon AND maxlon
			    AND t.origin_lat BETWEEN minlat AND maxlat
			    AND t.ts >= lo AND t.ts < hi + 7
		) s GROUP BY s.week ORDER BY s.week;
	ELSE
		RETURN QUERY
		SELECT s.week, sum(s.n)::bigint FROM (
			SELECT w.week, w.trips AS n
			FROM unnest(cells) c
			CROSS JOIN LATERAL (SELECT x.week, x.trips FROM tripline.cell_weeks x
			    WHERE x.kind = 1 AND x.level = c.level AND x.ix = c.ix
			        AND x.iy BETWEEN c.iy0 AND c.iy1
			        AND x.week BETWEEN lo AND hi OFFSET 0) w
			WHERE NOT c.edge
			UNION ALL
			SELECT tripline.iso_week(t.ts), 1 FROM tripline.trips t
			WHERE (t.dest_cell >> 25) = ANY (rim)
			    AND t.dest_lon BETWEEN minlon AND maxlon
			    AND t.dest_lat BETWEEN minlat AND maxlat
			    AND t.ts >= lo AND t.ts < hi + 7
		) s GROUP BY s.week ORDER BY s.week;
	END IF;
END $$;

-- Trips per week with both ends in the box.  No aggregate can answer
-- this for any box (it would need every pair of cells), so the trips of
-- the smaller side (origin or destination, known from the pyramid) are
-- read by cell range and checked: the cost grows with that side's trips.
CREATE FUNCTION weekly_bbox_both(minlon float8, minlat float8,
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
		JOIN tripline.trips t ON (t.origin_cell >> 25) BETWEEN q.a AND q.b
		WHERE t.origin_lon BETWEEN minlon AND maxlon
		    AND t.origin_lat BETWEEN minlat AND maxlat
		    AND t.dest_lon BETWEEN minlon AND maxlon
		    AND t.dest_lat BETWEEN minlat AND maxlat
		    AND t.ts >= lo AND t.ts < hi + 7
		GROUP BY 1 ORDER BY 1;
	ELSE
		RETURN QUERY
		SELECT tripline.iso_week(t.ts), count(*)
		FROM unnest(rng_lo, rng_hi) AS q(a, b)
		JOIN tripline.trips t ON (t.dest_cell >> 25) BETWEEN q.a AND q.b
		WHERE t.origin_lon BETWEEN minlon AND maxlon
		    AND t.origin_lat BETWEEN minlat AND maxlat
		    AND t.dest_lon BETWEEN minlon AND maxlon
		    AND t.dest_lat BETWEEN minlat AND maxlat
		    AND t.ts >= lo AND t.ts < hi + 7
		GROUP BY 1 ORDER BY 1;
	END IF;
END $$;

-- --- The reports (sql/reports/*.sql call these) -------------------------

-- GET /api/reports/weekly-average: see docs/reports.md.  The span of
-- weeks is every ISO week from the week of the earliest trip loaded (any
-- region) to the week of the latest; date_from / date_to, when given,
-- set its first / last week instead (the weeks holding those dates).
CREATE FUNCTION report_weekly_average(p_region text, p_minlon float8,
    p_minlat float8, p_maxlon float8, p_maxlat float8, p_match text,
    p_from date, p_to date)
RETURNS TABLE (area json, match text, weeks json, total_trips bigint,
    week_count integer, weekly_average float8)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	bbox boolean := p_minlon IS NOT NULL OR p_minlat IS NOT NULL OR
	    p_maxlon IS NOT NULL OR p_maxlat IS NOT NULL;
	lo date;
	hi date;
	rid integer;
	n_o bigint;
	n_d bigint;
	wk date[];
	cnt bigint[];
BEGIN
	IF bbox AND p_region IS NOT NULL THEN
		PERFORM tripline.report_bad_param('bbox', 'give bbox or region, not both');
	ELSIF NOT bbox AND p_region IS NULL THEN
		PERFORM tripline.report_bad_param('bbox', 'give bbox or region');
	ELSIF p_region IS NOT NULL AND p_match IS NOT NULL THEN
		PERFORM tripline.report_bad_param('match', 'applies to bbox only');
	ELSIF bbox AND p_match IS NOT NULL AND
	    p_match NOT IN ('origin', 'destination', 'both', 'either') THEN
		PERFORM tripline.report_bad_param('match',
		    format('%s is not origin, destination, both or either', to_json(p_match)));
	ELSIF p_from > p_to THEN
		PERFORM tripline.report_bad_param('to', 'before from');
	END IF;
	IF bbox THEN
		PERFORM tripline.report_check_bbox(p_minlon, p_minlat, p_maxlon, p_maxlat);
	ELSE
		rid := tripline.region_id_of(p_region);
	END IF;

	lo := coalesce(tripline.iso_week(p_from), (SELECT min(w.week) FROM tripline.region_weeks w));
	hi := coalesce(tripline.iso_week(p_to), (SELECT max(w.week) FROM tripline.region_weeks w));

	IF NOT bbox THEN
		SELECT array_agg(w.week), array_agg(w.trips) INTO wk, cnt
		FROM tripline.region_weeks w
		WHERE w.region_id = rid AND w.week BETWEEN lo AND hi;
		area := json_build_object('region', p_region);
	ELSE
		area := json_build_object('bbox',
		    json_build_array(p_minlon, p_minlat, p_maxlon, p_maxlat));
		match := coalesce(p_match, 'origin');
		IF match IN ('origin', 'either') OR match = 'both' THEN
			SELECT array_agg(b.week), array_agg(b.trips) INTO wk, cnt
			FROM tripline.weekly_bbox(0, p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi) b;
		END IF;
		IF match IN ('destination', 'either', 'both') THEN
			n_o := (SELECT sum(x) FROM unnest(cnt) x);
			SELECT array_agg(b.week) || wk, array_agg(b.trips) || cnt,
			       sum(b.trips)
			INTO wk, cnt, n_d
			FROM tripline.weekly_bbox(1, p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi) b;
		END IF;
		IF match = 'both' THEN
			-- Read the smaller side's trips; none on either side: none.
			IF coalesce(n_o, 0) = 0 OR coalesce(n_d, 0) = 0 THEN
				wk := NULL;
				cnt := NULL;
			ELSE
				SELECT array_agg(b.week), array_agg(b.trips) INTO wk, cnt
				FROM tripline.weekly_bbox_both(p_minlon, p_minlat,
				    p_maxlon, p_maxlat, lo, hi,
				    CASE WHEN n_o <= n_d THEN 0 ELSE 1 END) b;
			END IF;
		ELSIF match = 'either' AND coalesce(n_o, 0) > 0 AND coalesce(n_d, 0) > 0 THEN
			-- |O or D| = |O| + |D| - |O and D|
			SELECT array_agg(b.week) || wk, array_agg(-b.trips) || cnt
			INTO wk, cnt
			FROM tripline.weekly_bbox_both(p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi, CASE WHEN n_o <= n_d THEN 0 ELSE 1 END) b;
		END IF;
	END IF;

	SELECT coalesce(json_agg(json_build_object('week_start', g.d,
	           'trips', coalesce(c.n, 0)) ORDER BY g.d), '[]'),
	       coalesce(sum(c.n), 0), count(g.d)
	INTO weeks, total_trips, week_count
	FROM (SELECT generate_series(lo, hi, interval '7 days')::date AS d) g
	LEFT JOIN (SELECT x.w, sum(x.n) AS n FROM unnest(wk, cnt) AS x(w, n)
	    GROUP BY x.w) c ON c.w = g.d;
	weekly_average := CASE WHEN week_count = 0 THEN 0
	    ELSE total_trips::float8 / week_count END;
	RETURN NEXT;
END $$;

-- GET /api/reports/trip-groups: groups of similar trips, largest first
-- (ties: region id, origin cell, destination cell, slot), at least
-- p_min_trips trips each (default 2), at most p_limit (default 100), in a
-- region or with the origin centroid in a box (edges inclusive).
CREATE FUNCTION report_trip_groups(p_region text, p_minlon float8,
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
	rid integer;
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
	-- Two copies of one query: only the first names the partial index's
	-- predicate (trips >= 2) as a constant the planner can match.
	IF mt >= 2 THEN
		RETURN QUERY
		SELECT r.name, tripline.geohash_text(g.origin_cell, p),
		       tripline.geohash_text(g.dest_cell, p), g.slot::integer,
		       to_char(time '00:00' + g.slot * sm * interval '1 minute', 'HH24:MI'),
		       g.trips, g.sum_olon / g.trips, g.sum_olat / g.trips,
		       g.sum_dlon / g.trips, g.sum_dlat / g.trips, g.first_ts, g.last_ts,
		       (SELECT json_agg(d.name ORDER BY d.name) FROM tripline.datasources d
		        WHERE (d.id < 64 AND (g.datasources >> d.id) & 1 = 1)
		            OR d.id = ANY (g.datasources_more))
		FROM tripline.trip_groups g JOIN tripline.regions r ON r.id = g.region_id
		WHERE g.trips >= 2 AND g.trips >= mt
		    AND (rid IS NULL OR g.region_id = rid)
		    AND (NOT bbox OR (g.sum_olon / g.trips BETWEEN p_minlon AND p_maxlon
		        AND g.sum_olat / g.trips BETWEEN p_minlat AND p_maxlat))
		ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
		LIMIT lim;
	ELSE
		RETURN QUERY
		SELECT r.name, tripline.geohash_text(g.origin_cell, p),
		       tripline.geohash_text(g.dest_cell, p), g.slot::integer,
		       to_char(time '00:00' + g.slot * sm * interval '1 minute', 'HH24:MI'),
		       g.trips, g.sum_olon / g.trips, g.sum_olat / g.trips,
		       g.sum_dlon / g.trips, g.sum_dlat / g.trips, g.first_ts, g.last_ts,
		       (SELECT json_agg(d.name ORDER BY d.name) FROM tripline.datasources d
		        WHERE (d.id < 64 AND (g.datasources >> d.id) & 1 = 1)
		            OR d.id = ANY (g.datasources_more))
		FROM tripline.trip_groups g JOIN tripline.regions r ON r.id = g.region_id
		WHERE g.trips >= mt
		    AND (rid IS NULL OR g.region_id = rid)
		    AND (NOT bbox OR (g.sum_olon / g.trips BETWEEN p_minlon AND p_maxlon
		        AND g.sum_olat / g.trips BETWEEN p_minlat AND p_maxlat))
		ORDER BY g.trips DESC, g.region_id, g.origin_cell, g.dest_cell, g.slot
		LIMIT lim;
	END IF;
END $$;

-- Question 1: from the p_top regions with the most trips (ties: name),
-- the datasource with the latest trip datetime (ties: name).  One row;
-- datasource and last_seen are NULL when no trip is loaded.
CREATE FUNCTION report_latest_datasource(p_top integer)
RETURNS TABLE (top integer, regions json, datasource text, last_seen timestamp)
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	IF p_top IS NULL OR p_top < 1 OR p_top > 1000 THEN
		PERFORM tripline.report_bad_param('top', 'not within 1 to 1000');
	END IF;
	RETURN QUERY
	WITH r AS (
		SELECT x.region_id, g.name, sum(x.trips)::bigint AS trips
		FROM tripline.region_datasources x
		JOIN tripline.regions g ON g.id = x.region_id
		GROUP BY x.region_id, g.name
		ORDER BY trips DESC, g.name
		LIMIT p_top
	), l AS (
		SELECT d.name, max(x.last_ts) AS last_ts
		FROM tripline.region_datasources x
		JOIN r ON r.region_id = x.region_id
		JOIN tripline.datasources d ON d.id = x.datasource_id
		GROUP BY d.name
		ORDER BY last_ts DESC, d.name
		LIMIT 1
	)
	SELECT p_top,
	       coalesce((SELECT json_agg(json_build_object('region', r.name,
	           'trips', r.trips) ORDER BY r.trips DESC, r.name) FROM r), '[]'),
	       l.name, l.last_ts
	FROM (SELECT 1) AS one LEFT JOIN l ON true;
END $$;

-- Question 2: the regions where a datasource has trips, by name.
CREATE FUNCTION report_datasource_regions(p_datasource text)
RETURNS TABLE (region text, trips bigint, first_seen timestamp, last_seen timestamp)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	ds smallint;
BEGIN
	IF p_datasource IS NULL THEN
		PERFORM tripline.report_bad_param('datasource', 'missing');
	END IF;
	ds := tripline.datasource_id_of(p_datasource);
	RETURN QUERY
	SELECT g.name, x.trips, x.first_ts, x.last_ts
	FROM tripline.region_datasources x
	JOIN tripline.regions g ON g.id = x.region_id
	WHERE x.datasource_id = ds
	ORDER BY g.name;
END $$;

-- --- Privileges -----------------------------------------------------------

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA tripline FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tripline TO tripline_web, tripline_runner;
REVOKE EXECUTE ON FUNCTION agg_rebuild() FROM tripline_web, tripline_runner;
REVOKE EXECUTE ON FUNCTION agg_merge(), agg_begin() FROM tripline_web;
GRANT SELECT ON cell_weeks, region_weeks, region_datasources, trip_groups
	TO tripline_web, tripline_runner;
GRANT INSERT, UPDATE ON cell_weeks, region_weeks, region_datasources, trip_groups
	TO tripline_runner;

RESET ROLE;
