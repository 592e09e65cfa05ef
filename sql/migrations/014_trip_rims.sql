-- 014_trip_rims.sql: a box's rim counted from sorted coordinates, not
-- read trip by trip.
--
-- weekly_bbox (003_reports.sql) sums the inside of a box from cell_weeks
-- and reads the trips of its rim, the 7-character cells an edge cuts,
-- one by one.  The rim grows with the trips: at 100 M the 1 km box over
-- Prague's centre read 707,075 rim trips in 409 ms
-- (docs/bench/explain-100000000.txt, 2026-11-26, 6855aa6), and the box
-- p95 was 273-336 ms against 50 ms.  A finer level of cell_weeks would
-- cut the rim 4-8 times per level at the price of millions more
-- aggregate rows to merge per job.
--
-- Instead, each job's table of trips gets a table beside it
-- (trips_job_<id>_rim, a partition of trip_rims): for each 7-character
-- origin cell and ISO week, the origins' longitudes sorted, their
-- latitudes sorted, and the latitudes in the order of the longitudes.
-- The trips of a rim cell inside the box are then counted, not read:
--   - a cell that only a west or east edge cuts: the longitudes in
--     [minlon, maxlon], two binary searches in the sorted array
--     (width_bucket, PostgreSQL docs 9.3 "Mathematical Functions": the
--     number of thresholds not above the operand);
--   - one that only a south or north edge cuts: the same on latitudes;
--   - one that holds a corner: the longitude range by binary search,
--     then the latitudes of that slice tested one by one.
-- By hand on a 10 M database (2026-11-26, 2 vCPU), the rim of the 1 km
-- Prague box: 31 ms by the trips, 4 ms by the arrays; with ten copies of
-- each row (the ten jobs of 100 M) 27 ms.  The counts are exact: the
-- arrays hold the very float8 values of the trips, and a box edge equal
-- to a coordinate is handled by sorted_count_below's tie count.
--
-- The table is built from the job's loaded trips where their indexes are
-- built (trips_index_cells): for a whole job on the runner's trips
-- connection, beside the aggregates' merge (013_trips_index_apart.sql),
-- in the table's own transaction (no WAL with wal_level = minimal); for
-- a part of a split job in the part's transaction.  It is attached with
-- the trips (trips_partition_attach; a split job's in trips_parts_attach,
-- through trips_index_cells) and dropped with them.  Only the origin has
-- such a table: the default match; destination, both and either read
-- trips as before.  Cost: about 31 bytes per trip.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE TABLE trip_rims (
	job_id      integer NOT NULL,
	part        smallint NOT NULL,
	cell        bigint NOT NULL,	-- origin_cell >> 25
	week        date NOT NULL,
	lons        float8[] NOT NULL,	-- sorted
	lats        float8[] NOT NULL,	-- sorted
	lats_by_lon float8[] NOT NULL	-- in the order of lons
) PARTITION BY LIST (job_id);
-- Arrays of a dense cell are kilobytes: stored out of line without a
-- compression attempt (floats hardly compress; PostgreSQL docs 73.2
-- "TOAST").
ALTER TABLE trip_rims ALTER COLUMN lons SET STORAGE EXTERNAL,
    ALTER COLUMN lats SET STORAGE EXTERNAL,
    ALTER COLUMN lats_by_lon SET STORAGE EXTERNAL;
CREATE INDEX trip_rims_cell ON trip_rims (cell, week);
GRANT SELECT ON trip_rims TO tripline_web;

-- How many elements of a sorted array are below v: width_bucket counts
-- those not above it, less the ones equal to v (any, only when the last
-- counted one is).  Plain SQL, inlined into the query.
CREATE FUNCTION sorted_count_below(a float8[], v float8) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT width_bucket(v, a) - CASE WHEN a[width_bucket(v, a)] = v
	THEN cardinality(array_positions(a, v)) ELSE 0 END $$;

-- A new rim table r of the job (and part) made from src, a query of
-- (cell, week, lon, lat) rows: the one place that lays out its arrays.
-- The CHECKs imply the partition constraints: ATTACH does not scan.
CREATE FUNCTION trip_rims_fill(r text, job integer, p integer, src text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trip_rims '
	    'INCLUDING STORAGE, CONSTRAINT %I CHECK (job_id = %s), '
	    'CONSTRAINT %I CHECK (part = %s))', r, r || '_job', job,
	    r || '_part', p);
	EXECUTE format('INSERT INTO tripline.%I SELECT %s, %s, s.cell, s.week, '
	    'array_agg(s.lon ORDER BY s.lon), array_agg(s.lat ORDER BY s.lat), '
	    'array_agg(s.lat ORDER BY s.lon) '
	    'FROM (%s) AS s(cell, week, lon, lat) '
	    'GROUP BY s.cell, s.week ORDER BY s.cell, s.week', r, job, p, src);
	EXECUTE format('CREATE INDEX %I ON tripline.%I (cell, week)',
	    r || '_cell', r);
END $$;

-- The rim table of the trips table t (trips_job_<job> or
-- trips_job_<job>_p<part>), named t || '_rim'.  A plain table is read
-- into it; a split job's table, partitioned by part, gets one
-- partitioned the same way, made of its parts' (made here if missing),
-- and attached to trip_rims: that call is the job's commit
-- (trips_parts_attach).  Names are made from integers only.
CREATE FUNCTION trip_rims_make(t text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp
SET work_mem = '1GB' SET maintenance_work_mem = '1GB'
SET max_parallel_maintenance_workers = 0 AS $$
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
			IF to_regclass(format('tripline.%I', kid || '_rim')) IS NULL THEN
				PERFORM tripline.trip_rims_make(kid);
			END IF;
			EXECUTE format('ALTER TABLE tripline.%I ATTACH PARTITION '
			    'tripline.%I FOR VALUES IN (%s)', r, kid || '_rim',
			    (regexp_match(kid, '_p([0-9]{1,5})$'))[1]::integer);
		END LOOP;
		-- Adopts the parts' indexes (PostgreSQL docs, CREATE INDEX).
		EXECUTE format('CREATE INDEX %I ON tripline.%I (cell, week)',
		    r || '_cell', r);
		EXECUTE format('ALTER TABLE tripline.trip_rims ATTACH PARTITION '
		    'tripline.%I FOR VALUES IN (%s)', r, job);
		RETURN;
	END IF;
	PERFORM tripline.trip_rims_fill(r, job, p, format('SELECT '
	    'origin_cell >> 25, tripline.iso_week(ts), origin_lon, origin_lat '
	    'FROM tripline.%I', t));
END $$;

-- The two cell indexes of a trips table (008_parts.sql), and now its rim
-- table: every path that indexes a job's or a part's trips calls this.
CREATE OR REPLACE FUNCTION trips_index_cells(t text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((origin_cell >> 25))',
	    t || '_origin_cell7', t);
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((dest_cell >> 25))',
	    t || '_dest_cell7', t);
	PERFORM tripline.trip_rims_make(t);
END $$;

-- Attach the job's table and its rim table (013_trips_index_apart.sql,
-- plus the rim: made here too when a runner from before this migration
-- indexed the table).
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
	ELSIF to_regclass(format('tripline.%I', part || '_rim')) IS NULL THEN
		PERFORM tripline.trip_rims_make(part);
	END IF;
	EXECUTE format('ALTER TABLE tripline.trips ATTACH PARTITION tripline.%I '
	    'FOR VALUES IN (%s)', part, job);
	EXECUTE format('ALTER TABLE tripline.trip_rims ATTACH PARTITION '
	    'tripline.%I FOR VALUES IN (%s)', part || '_rim', job);
END $$;

-- After a load that did not attach its tables: drop them (013, plus the
-- rim table).
CREATE OR REPLACE FUNCTION trips_partition_drop(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
BEGIN
	IF job IS NOT NULL AND tripline.trips_partition_orphan(job) THEN
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I, tripline.%I',
		    format('trips_job_%s', job), format('trips_job_%s_rim', job));
	END IF;
END $$;

-- What the parts of a failed or cancelled job left (008_parts.sql), their
-- rim tables too.
CREATE OR REPLACE FUNCTION trips_parts_drop(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	p integer;
BEGIN
	IF tripline.parts_job_state(job) IS DISTINCT FROM 'ended' THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s has not failed', job);
	END IF;
	FOR p IN SELECT x.part FROM tripline.job_parts x WHERE x.job_id = job
	    LOOP
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I, tripline.%I',
		    format('trips_job_%s_p%s', job, p),
		    format('trips_job_%s_p%s_rim', job, p));
	END LOOP;
	PERFORM tripline.agg_stage_close(job);
	DELETE FROM tripline.job_rejects WHERE job_id = job;
	DELETE FROM tripline.job_parts WHERE job_id = job;
END $$;

-- The jobs a partition of trip_rims holds: a job's own table holds one,
-- a compacted one (trip_rims_compact) several; read from its bound,
-- which PostgreSQL prints as FOR VALUES IN (1, 2, 3).
CREATE FUNCTION trip_rims_jobs(r regclass) RETURNS integer[]
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
SELECT array_agg(m[1]::integer ORDER BY m[1]::integer)
FROM pg_catalog.pg_class c,
    regexp_matches(pg_catalog.pg_get_expr(c.relpartbound, c.oid), '([0-9]+)', 'g') m
WHERE c.oid = r $$;

-- Every attached job's table whose job no partition of trip_rims holds
-- gets its rim table: the jobs loaded before this migration (here), or
-- one whose rim was dropped.
CREATE FUNCTION trip_rims_backfill() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text;
	n integer := 0;
BEGIN
	FOR t IN SELECT c.relname FROM pg_catalog.pg_inherits i
	    JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
	    WHERE i.inhparent = 'tripline.trips'::regclass
	        -- (CASE: the planner may test this before the first line)
	        AND NOT CASE WHEN c.relname ~ '^trips_job_[0-9]{1,9}$'
	            THEN substr(c.relname, 11)::integer END = ANY (coalesce((SELECT
	            array_agg(j) FROM pg_catalog.pg_inherits k,
	            unnest(tripline.trip_rims_jobs(k.inhrelid)) j
	            WHERE k.inhparent = 'tripline.trip_rims'::regclass), '{}'))
	    ORDER BY 1 LOOP
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I', t || '_rim');
		PERFORM tripline.trip_rims_make(t);
		IF NOT (SELECT c.relispartition FROM pg_catalog.pg_class c
		    WHERE c.oid = format('tripline.%I', t || '_rim')::regclass) THEN
			EXECUTE format('ALTER TABLE tripline.trip_rims ATTACH PARTITION '
			    'tripline.%I FOR VALUES IN (%s)', t || '_rim',
			    substr(t, 11)::integer);
		END IF;
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;
DO $$ BEGIN PERFORM tripline.trip_rims_backfill(); END $$;

-- Compaction.  A box's rim reads one row per rim cell, week and
-- partition of trip_rims, so its cost grows with the number of jobs: by
-- hand at 100 M (ten jobs, 2026-11-26) the 300 boxes of make bench took
-- p95 33-38 ms with ten partitions and 8.3-8.8 ms with the same rows
-- merged into one.  This merges partitions into one table that holds all
-- their jobs (FOR VALUES IN (...), at most 100): the smallest first,
-- taking the next while it is at most four times what is taken (or than
-- 8 MB: small tables cost nothing to merge), so that a table is rewritten
-- a few times in its life, not at every load (size-tiered, as in LSM
-- trees); and only when at least min_parts are taken.  The new table is
-- made in this transaction (no WAL with wal_level = minimal) while
-- reports and loads go on; only the swap at the end takes the parent's
-- ACCESS EXCLUSIVE lock, for a catalog change, and only when it is free
-- (NOWAIT), so that reports never queue behind it.  One compaction at a
-- time (an advisory lock).  The runner calls it when it has no job
-- (jobs/rimcompact.c) and cancels it when a job comes.  Returns the
-- number of partitions merged (0: nothing to do).
CREATE SEQUENCE trip_rims_compacted;
CREATE FUNCTION trip_rims_compact(min_parts integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET work_mem = '1GB' SET maintenance_work_mem = '1GB'
SET max_parallel_maintenance_workers = 0
SET client_min_messages = warning AS $$
DECLARE
	i integer;
	parts regclass[] := '{}';
	jobs integer[] := '{}';
	taken bigint := 0;
	p record;
	r text := format('trip_rims_c%s', nextval('tripline.trip_rims_compacted'));
	src text;
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
	    ORDER BY 2, 1 LOOP
		EXIT WHEN cardinality(parts) > 0 AND p.size > 4 * greatest(taken, 8388608);
		-- The rows carry their first job's id, and CHECK (job_id = it)
		-- proves the bound, so ATTACH does not scan: PostgreSQL proves
		-- it for lists of up to 100 values (predtest.c,
		-- MAX_SAOP_ARRAY_SIZE).
		CONTINUE WHEN cardinality(jobs) + cardinality(p.held) > 100;
		parts := parts || p.rel;
		jobs := jobs || p.held;
		taken := taken + p.size;
	END LOOP;
	IF cardinality(parts) < min_parts THEN
		RETURN 0;
	END IF;
	SELECT string_agg(format('SELECT x.cell, x.week, u.lon, u.lat FROM %s x, '
	    'unnest(x.lons, x.lats_by_lon) AS u(lon, lat)', x), ' UNION ALL ')
	INTO src FROM unnest(parts) x;
	PERFORM tripline.trip_rims_fill(r, jobs[1], 0, src);
	-- The swap needs the parent alone.  Queueing for its lock would
	-- queue every report that reads it behind us: try without waiting
	-- instead, for up to 10 s, then give up (the next idle moment tries
	-- again).
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

-- Trips per week whose origin (kind 0) or destination (kind 1) lies in
-- the box (003_reports.sql): the origin's rim now from trip_rims.
CREATE OR REPLACE FUNCTION weekly_bbox(kind int, minlon float8, minlat float8,
    maxlon float8, maxlat float8, wfrom date, wto date)
RETURNS TABLE (week date, trips bigint)
LANGUAGE plpgsql STABLE SET jit = off SET enable_sort = off AS $$
DECLARE
	cells tripline.cover_cell[];
	-- The rim's 7-character cells, sorted for the index scan; for the
	-- origin, whether the box cuts each one's longitudes, latitudes.
	rim bigint[];
	cut_lon boolean[];
	cut_lat boolean[];
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
	-- One query; the side that kind does not ask for is cut at plan time
	-- (a one-time filter on the parameter).
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
		    WHERE x.cell = q.cell AND x.week BETWEEN lo AND hi OFFSET 0) r
		WHERE weekly_bbox.kind = 0
		UNION ALL
		SELECT tripline.iso_week(t.ts), 1 FROM tripline.trips t
		WHERE weekly_bbox.kind = 1 AND (t.dest_cell >> 25) = ANY (rim)
		    AND t.dest_lon BETWEEN minlon AND maxlon
		    AND t.dest_lat BETWEEN minlat AND maxlat
		    AND t.ts >= lo AND t.ts < hi + 7
	) s GROUP BY s.week ORDER BY s.week;
END $$;

REVOKE EXECUTE ON FUNCTION trip_rims_make(text),
    trip_rims_fill(text, integer, integer, text), trip_rims_backfill(),
    trip_rims_jobs(regclass), trip_rims_compact(integer)
    FROM PUBLIC, tripline_web, tripline_runner;
GRANT EXECUTE ON FUNCTION trip_rims_compact(integer) TO tripline_runner;
REVOKE EXECUTE ON FUNCTION sorted_count_below(float8[], float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sorted_count_below(float8[], float8)
    TO tripline_web, tripline_runner;

RESET ROLE;
