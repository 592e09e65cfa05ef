-- 015_rims_both_ends.sql: rim tables for the destination too, built by
-- the idle runner instead of inside the load.
--
-- 014_trip_rims.sql counts a box's rim from sorted coordinates, for the
-- origin only: match=destination still read its rim trip by trip, and at
-- 100 M trips its p95 was 5.2 s (make bench, 2026-11-26, 0fddbfd) against
-- the origin's 20.6 ms.  The destination's rim wants the same arrays.
--
-- Where to build them.  014 built a job's rim table inside the load, on
-- the trips connection beside the aggregates' merge.  By hand on a 10 M
-- job (2026-11-26, 2 vCPU): that connection's two cell indexes take
-- 3.1 + 6.2 s and the origin's rim 9.1 s, beside a merge of 21.3 s; a
-- destination rim of another 9 s would make it the longer of the two and
-- the load about 6 s slower.  A rim table is derived data that no
-- report needs for being exact, only for being fast.  So now the
-- runner builds it when it has no job (trip_rims_tend, one job's table
-- per call, cancelled when a job comes, as the merge was), and until it
-- is built a box reads that job's rim from its trips: the job is listed
-- in trip_rims_pending from the transaction that attaches its trips to
-- the one that attaches its rim table.  A report reads the list and the
-- rim tables under one snapshot, so each job is counted once, by one way
-- or the other.  Cost: a box right after a load reads the new job's rim
-- trips until its table is built (about 25 s per 10 M trips, both ends).
-- A queue that never empties leaves no idle moment: a table pending for
-- longer than TRIPLINE_RIM_LAG (600 s) is built before the runner claims
-- its next job (jobs/rimtend.c, rimtend_hold; trip_rims_pending.since).
--
-- trip_rims gets a kind column (0 origin, 1 destination, as in
-- cell_weeks).  The table is derived: it is dropped and every attached
-- job is listed as pending, so the idle runner rebuilds them all.
SET ROLE tripline_owner;
SET search_path = tripline;

DROP TABLE trip_rims;	-- and its partitions
DROP FUNCTION trip_rims_backfill();

CREATE TABLE trip_rims (
	job_id      integer NOT NULL,
	part        smallint NOT NULL,
	kind        smallint NOT NULL,	-- 0: origin, 1: destination
	cell        bigint NOT NULL,	-- that end's cell >> 25
	week        date NOT NULL,
	lons        float8[] NOT NULL,	-- sorted
	lats        float8[] NOT NULL,	-- sorted
	lats_by_lon float8[] NOT NULL	-- in the order of lons
) PARTITION BY LIST (job_id);
ALTER TABLE trip_rims ALTER COLUMN lons SET STORAGE EXTERNAL,
    ALTER COLUMN lats SET STORAGE EXTERNAL,
    ALTER COLUMN lats_by_lon SET STORAGE EXTERNAL;
CREATE INDEX trip_rims_cell ON trip_rims (kind, cell, week);
GRANT SELECT ON trip_rims TO tripline_web;

-- The attached jobs whose rim table is not built yet, and since when.
CREATE TABLE trip_rims_pending (
	job_id integer PRIMARY KEY,
	since  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON trip_rims_pending TO tripline_web, tripline_runner;
INSERT INTO trip_rims_pending (job_id)
SELECT substr(c.relname, 11)::integer FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'tripline.trips'::regclass
    AND c.relname ~ '^trips_job_[0-9]{1,9}$';

-- A new rim table r of the job (and part) made from src[1] (origin) and
-- src[2] (destination), queries of (cell, week, lon, lat) rows (014, now
-- with the kind).  One statement per end: by hand on a 10 M job the two
-- ends in one took 34 s, one after the other 9 + 16 s (the
-- destinations come in no order).
DROP FUNCTION trip_rims_fill(text, integer, integer, text);
CREATE FUNCTION trip_rims_fill(r text, job integer, p integer, src text[])
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	k integer;
BEGIN
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trip_rims '
	    'INCLUDING STORAGE, CONSTRAINT %I CHECK (job_id = %s), '
	    'CONSTRAINT %I CHECK (part = %s))', r, r || '_job', job,
	    r || '_part', p);
	FOR k IN 0..1 LOOP
		EXECUTE format('INSERT INTO tripline.%I SELECT %s, %s, %s, s.cell, '
		    's.week, array_agg(s.lon ORDER BY s.lon), '
		    'array_agg(s.lat ORDER BY s.lat), array_agg(s.lat ORDER BY s.lon) '
		    'FROM (%s) AS s(cell, week, lon, lat) '
		    'GROUP BY s.cell, s.week ORDER BY s.cell, s.week',
		    r, job, p, k, src[k + 1]);
	END LOOP;
	EXECUTE format('CREATE INDEX %I ON tripline.%I (kind, cell, week)',
	    r || '_cell', r);
END $$;

-- The rim table of the trips table t (014), both ends.
CREATE OR REPLACE FUNCTION trip_rims_make(t text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp
SET work_mem = '1GB' SET maintenance_work_mem = '1GB'
SET max_parallel_maintenance_workers = 0 SET jit = off AS $$
DECLARE
	m text[] := regexp_match(t, '^trips_job_([0-9]{1,9})(_p([0-9]{1,5}))?$');
	job integer := m[1]::integer;
	p integer := coalesce(m[3]::integer, 0);
	r text := t || '_rim';
	kid text;
BEGIN
	IF m IS NULL THEN
		RAISE EXCEPTION 'not a trips table: %', t;
	END IF;
	IF (SELECT c.relkind FROM pg_catalog.pg_class c
	    WHERE c.oid = format('tripline.%I', t)::regclass) = 'p' THEN
		EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trip_rims '
		    'INCLUDING STORAGE) PARTITION BY LIST (part)', r);
		FOR kid IN SELECT c.relname FROM pg_catalog.pg_inherits i
		    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		    WHERE i.inhparent = format('tripline.%I', t)::regclass
		    ORDER BY 1 LOOP
			PERFORM tripline.trip_rims_make(kid);
			EXECUTE format('ALTER TABLE tripline.%I ATTACH PARTITION '
			    'tripline.%I FOR VALUES IN (%s)', r, kid || '_rim',
			    (regexp_match(kid, '_p([0-9]{1,5})$'))[1]::integer);
		END LOOP;
		-- Adopts the parts' indexes (PostgreSQL docs, CREATE INDEX).
		EXECUTE format('CREATE INDEX %I ON tripline.%I (kind, cell, week)',
		    r || '_cell', r);
		RETURN;
	END IF;
	PERFORM tripline.trip_rims_fill(r, job, p, ARRAY[
	    format('SELECT origin_cell >> 25, tripline.iso_week(ts), '
	        'origin_lon, origin_lat FROM tripline.%I', t),
	    format('SELECT dest_cell >> 25, tripline.iso_week(ts), '
	        'dest_lon, dest_lat FROM tripline.%I', t)]);
END $$;

-- The two cell indexes of a trips table (008_parts.sql); no longer its
-- rim table, which the idle runner builds.
CREATE OR REPLACE FUNCTION trips_index_cells(t text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((origin_cell >> 25))',
	    t || '_origin_cell7', t);
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((dest_cell >> 25))',
	    t || '_dest_cell7', t);
END $$;

-- Attach the job's table (013_trips_index_apart.sql); its rim table is
-- pending from here.
CREATE OR REPLACE FUNCTION trips_partition_attach(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET maintenance_work_mem = '1GB' AS $$
DECLARE
	part text := tripline.trips_partition_check(job);
BEGIN
	IF to_regclass(format('tripline.%I', part || '_origin_cell7')) IS NULL THEN
		EXECUTE format('REVOKE INSERT ON tripline.%I FROM tripline_runner', part);
		PERFORM tripline.trips_index_cells(part);
	END IF;
	EXECUTE format('ALTER TABLE tripline.trips ATTACH PARTITION tripline.%I '
	    'FOR VALUES IN (%s)', part, job);
	INSERT INTO tripline.trip_rims_pending (job_id) VALUES (job);
END $$;

-- A split job's partition, made from its loaded parts (008_parts.sql);
-- its rim table is pending from here.
CREATE OR REPLACE FUNCTION trips_parts_attach(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text := tripline.trips_partition_check(job);
	p integer;
BEGIN
	IF EXISTS (SELECT FROM tripline.job_parts x WHERE x.job_id = job
	    AND x.state = 'queued') THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s has parts not loaded', job);
	END IF;
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trips) '
	    'PARTITION BY LIST (part)', t);
	FOR p IN SELECT x.part FROM tripline.job_parts x WHERE x.job_id = job
	    ORDER BY x.part LOOP
		EXECUTE format('ALTER TABLE tripline.%I ATTACH PARTITION '
		    'tripline.%I FOR VALUES IN (%s)', t, t || '_p' || p, p);
	END LOOP;
	PERFORM tripline.trips_index_cells(t);
	EXECUTE format('ALTER TABLE tripline.trips ATTACH PARTITION tripline.%I '
	    'FOR VALUES IN (%s)', t, job);
	INSERT INTO tripline.trip_rims_pending (job_id) VALUES (job);
END $$;

-- Build the rim table of one pending job and attach it; returns the job,
-- NULL when none is pending.
CREATE FUNCTION trip_rims_build() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	job integer;
	t text;
BEGIN
	SELECT x.job_id INTO job FROM tripline.trip_rims_pending x
	ORDER BY x.job_id LIMIT 1;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	t := format('trips_job_%s', job);
	IF to_regclass(format('tripline.%I', t)) IS NOT NULL THEN
		PERFORM tripline.trip_rims_make(t);
		EXECUTE format('ALTER TABLE tripline.trip_rims ATTACH PARTITION '
		    'tripline.%I FOR VALUES IN (%s)', t || '_rim', job);
	END IF;
	DELETE FROM tripline.trip_rims_pending x WHERE x.job_id = job;
	RETURN job;
END $$;

-- Merge rim tables (014), now of both ends, and the smallest first as 014
-- says (its loop was ordered by the jobs the tables hold).
CREATE OR REPLACE FUNCTION trip_rims_compact(min_parts integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET work_mem = '1GB' SET maintenance_work_mem = '1GB'
SET max_parallel_maintenance_workers = 0 SET jit = off
SET client_min_messages = warning AS $$
DECLARE
	i integer;
	parts regclass[] := '{}';
	jobs integer[] := '{}';
	taken bigint := 0;
	p record;
	r text := format('trip_rims_c%s', nextval('tripline.trip_rims_compacted'));
	src text[];
BEGIN
	IF min_parts IS NULL OR min_parts < 2
	    OR NOT pg_try_advisory_xact_lock(hashtext('tripline.trip_rims_compact')) THEN
		RETURN 0;
	END IF;
	FOR p IN SELECT i.inhrelid AS rel, tripline.trip_rims_jobs(i.inhrelid) AS held,
	        (SELECT coalesce(sum(pg_catalog.pg_total_relation_size(x.relid)), 0)
	        FROM pg_catalog.pg_partition_tree(i.inhrelid) x) AS size
	    FROM pg_catalog.pg_inherits i
	    WHERE i.inhparent = 'tripline.trip_rims'::regclass
	    ORDER BY 3, 1 LOOP
		EXIT WHEN cardinality(parts) > 0 AND p.size > 4 * greatest(taken, 8388608);
		-- At most 100 jobs: see 014.
		CONTINUE WHEN cardinality(jobs) + cardinality(p.held) > 100;
		parts := parts || p.rel;
		jobs := jobs || p.held;
		taken := taken + p.size;
	END LOOP;
	IF cardinality(parts) < min_parts THEN
		RETURN 0;
	END IF;
	SELECT ARRAY(SELECT string_agg(format('SELECT x.cell, x.week, u.lon, '
	    'u.lat FROM %s x, unnest(x.lons, x.lats_by_lon) AS u(lon, lat) '
	    'WHERE x.kind = %s', x, k), ' UNION ALL ')
	    FROM generate_series(0, 1) k, unnest(parts) x GROUP BY k ORDER BY k)
	INTO src;
	PERFORM tripline.trip_rims_fill(r, jobs[1], 0, src);
	-- The swap: see 014 (NOWAIT, tried for 10 s).
	FOR i IN 1..100 LOOP
		BEGIN
			LOCK TABLE tripline.trip_rims IN ACCESS EXCLUSIVE MODE NOWAIT;
			EXIT;
		EXCEPTION WHEN lock_not_available THEN
			IF i = 100 THEN
				RAISE EXCEPTION USING ERRCODE = 'lock_not_available',
				    MESSAGE = 'the rim tables stayed in use; merge them later';
			END IF;
			PERFORM pg_sleep(0.1);
		END;
	END LOOP;
	FOR p IN SELECT x AS rel FROM unnest(parts) x LOOP
		EXECUTE format('ALTER TABLE tripline.trip_rims DETACH PARTITION %s', p.rel);
		EXECUTE format('DROP TABLE %s', p.rel);
	END LOOP;
	EXECUTE format('ALTER TABLE tripline.trip_rims ATTACH PARTITION tripline.%I '
	    'FOR VALUES IN (%s)', r, array_to_string(jobs, ', '));
	RETURN cardinality(parts);
END $$;

-- What an idle runner does for the rims, one step per call: build the
-- table of one pending job, else merge tables (when min_parts > 1).
-- One runner at a time (the merge's advisory lock, taken here first).
-- Says what it did, or NULL.
CREATE FUNCTION trip_rims_tend(min_parts integer) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	job integer;
	n integer;
BEGIN
	IF NOT pg_try_advisory_xact_lock(hashtext('tripline.trip_rims_compact')) THEN
		RETURN NULL;
	END IF;
	job := tripline.trip_rims_build();
	IF job IS NOT NULL THEN
		RETURN format('built the rim table of job %s', job);
	END IF;
	n := tripline.trip_rims_compact(min_parts);
	RETURN CASE WHEN n > 0 THEN format('merged %s rim tables into one', n) END;
END $$;

-- Trips per week whose origin (kind 0) or destination (kind 1) lies in
-- the box (014): the rim of either end from trip_rims, and for the jobs
-- whose rim table is pending from their trips.
CREATE OR REPLACE FUNCTION weekly_bbox(kind int, minlon float8, minlat float8,
    maxlon float8, maxlat float8, wfrom date, wto date)
RETURNS TABLE (week date, trips bigint)
LANGUAGE plpgsql STABLE SET jit = off SET enable_sort = off AS $$
DECLARE
	cells tripline.cover_cell[];
	-- The rim's 7-character cells, sorted for the index scan, and
	-- whether the box cuts each one's longitudes, latitudes.
	rim bigint[];
	cut_lon boolean[];
	cut_lat boolean[];
	-- Read under the query's snapshot, as the rim tables are (STABLE).
	pending integer[] := ARRAY(SELECT x.job_id FROM tripline.trip_rims_pending x);
	lo date := coalesce(wfrom, '-infinity');
	hi date := coalesce(wto, 'infinity');
BEGIN
	cells := ARRAY(SELECT c FROM tripline.cover_cells(ARRAY(SELECT b FROM
	    tripline.box_cover(minlon, minlat, maxlon, maxlat,
	    tripline.agg_levels()) b), kind) c);
	-- A cell's points lie in [west, east] x [south, north] (the upper
	-- bounds only at the world's edge): the box cuts the longitudes
	-- unless it holds that whole span.
	SELECT array_agg(r.cell ORDER BY r.cell),
	       array_agg(NOT (minlon <= r.w AND r.e <= maxlon) ORDER BY r.cell),
	       array_agg(NOT (minlat <= r.s AND r.n <= maxlat) ORDER BY r.cell)
	INTO rim, cut_lon, cut_lat
	FROM (SELECT tripline.geohash_interleave(c.ix, gy, 7) AS cell,
	          tripline.geohash_edge(c.ix, 7, 0) AS w,
	          tripline.geohash_edge(c.ix + 1, 7, 0) AS e,
	          tripline.geohash_edge(gy, 7, 1) AS s,
	          tripline.geohash_edge(gy + 1, 7, 1) AS n
	      FROM unnest(cells) c, generate_series(c.iy0, c.iy1) gy
	      WHERE c.edge) r;
	-- One query; the branches that kind does not ask for are cut at
	-- plan time, and the trips of jobs not pending by partition pruning.
	RETURN QUERY
	SELECT s.week, sum(s.n)::bigint FROM (
		SELECT w.week, w.trips AS n
		FROM unnest(cells) c
		-- One index range scan per column (OFFSET 0 keeps it so).
		CROSS JOIN LATERAL (SELECT x.week, x.trips FROM tripline.cell_weeks x
		    WHERE x.kind = weekly_bbox.kind AND x.level = c.level AND x.ix = c.ix
		        AND x.iy BETWEEN c.iy0 AND c.iy1
		        AND x.week BETWEEN lo AND hi OFFSET 0) w
		WHERE NOT c.edge
		UNION ALL
		SELECT r.week, CASE
		    WHEN NOT q.cut_lon AND NOT q.cut_lat THEN cardinality(r.lons)
		    WHEN NOT q.cut_lat THEN width_bucket(maxlon, r.lons)
		        - tripline.sorted_count_below(r.lons, minlon)
		    WHEN NOT q.cut_lon THEN width_bucket(maxlat, r.lats)
		        - tripline.sorted_count_below(r.lats, minlat)
		    ELSE (SELECT count(*) FROM unnest(r.lats_by_lon[
		        tripline.sorted_count_below(r.lons, minlon) + 1 :
		        width_bucket(maxlon, r.lons)]) y
		        WHERE y BETWEEN minlat AND maxlat)
		    END
		FROM unnest(rim, cut_lon, cut_lat) AS q(cell, cut_lon, cut_lat)
		CROSS JOIN LATERAL (SELECT x.week, x.lons, x.lats, x.lats_by_lon
		    FROM tripline.trip_rims x
		    WHERE x.kind = weekly_bbox.kind AND x.cell = q.cell
		        AND x.week BETWEEN lo AND hi OFFSET 0) r
		UNION ALL
		SELECT tripline.iso_week(t.ts), 1 FROM tripline.trips t
		WHERE weekly_bbox.kind = 0 AND t.job_id = ANY (pending)
		    AND (t.origin_cell >> 25) = ANY (rim)
		    AND t.origin_lon BETWEEN minlon AND maxlon
		    AND t.origin_lat BETWEEN minlat AND maxlat
		    AND t.ts >= lo AND t.ts < hi + 7
		UNION ALL
		SELECT tripline.iso_week(t.ts), 1 FROM tripline.trips t
		WHERE weekly_bbox.kind = 1 AND t.job_id = ANY (pending)
		    AND (t.dest_cell >> 25) = ANY (rim)
		    AND t.dest_lon BETWEEN minlon AND maxlon
		    AND t.dest_lat BETWEEN minlat AND maxlat
		    AND t.ts >= lo AND t.ts < hi + 7
	) s GROUP BY s.week ORDER BY s.week;
END $$;

REVOKE EXECUTE ON FUNCTION trip_rims_build(), trip_rims_tend(integer),
    trip_rims_fill(text, integer, integer, text[]),
    trip_rims_compact(integer) FROM PUBLIC, tripline_web, tripline_runner;
GRANT EXECUTE ON FUNCTION trip_rims_tend(integer) TO tripline_runner;

RESET ROLE;
