-- 008_parts.sql: one large file loaded by several runners at once, as
-- byte ranges ("parts"), with the job's all-at-once visibility kept
-- (docs/architecture.md, "Split jobs").
--
-- The runner that claims a large job reads the file once (its SHA-256,
-- its line breaks; jobs/split.c), writes one job_parts row per range and
-- gives the job's lease up (lease_owner 'parts'): from then on the parts
-- are the units of work, claimed with FOR UPDATE SKIP LOCKED by any
-- runner, each under its own lease.  A part loads in a transaction of its
-- own: its trips into a table of its own (trips_job_<job>_p<part>,
-- indexed, not attached), its rejects, and its aggregates into the job's
-- stage tables (agg_stage_<job>_*); none of it is read by any report.  The runner that
-- commits the last part also, in that same transaction, attaches every
-- part to trips, merges the staged aggregates and marks the job
-- succeeded: the job's trips and counts appear in one commit, as for a
-- job loaded whole.  A failed or cancelled job drops what its parts left.
SET ROLE tripline_owner;
SET search_path = tripline;

-- The part a trip was loaded by (0 for a job loaded whole): the column
-- that lets a job's partition be partitioned again by part.  It costs no
-- byte: a row was 90 bytes stored as 96 (MAXALIGN 8), it is now 92, still
-- stored as 96 (001_core.sql).  Added with a constant default, so no
-- existing row is rewritten (PostgreSQL docs, ALTER TABLE, "Notes").
ALTER TABLE trips ADD COLUMN part smallint NOT NULL DEFAULT 0;

CREATE TABLE job_parts (
	job_id      integer NOT NULL REFERENCES jobs (id),
	part        smallint NOT NULL CHECK (part >= 0),
	first_byte  bigint NOT NULL CHECK (first_byte >= 0),
	end_byte    bigint NOT NULL CHECK (end_byte > first_byte),
	first_line  bigint NOT NULL CHECK (first_line >= 1),
	header_end  bigint NOT NULL CHECK (header_end > 0),
	file_stamp  text NOT NULL,      -- inode, size and mtime at the split
	state       text NOT NULL DEFAULT 'queued'
	            CHECK (state IN ('queued', 'running', 'loaded')),
	attempts    integer NOT NULL DEFAULT 0,
	run_after   timestamptz NOT NULL DEFAULT now(),
	lease_owner text,
	lease_until timestamptz,
	rows_loaded   bigint NOT NULL DEFAULT 0,
	rows_rejected bigint NOT NULL DEFAULT 0,
	bytes_read    bigint NOT NULL DEFAULT 0,
	error       text,
	PRIMARY KEY (job_id, part)
);
-- The claim and the runners' wake-up look only at unfinished parts.
CREATE INDEX job_parts_claimable ON job_parts (job_id, part)
	WHERE state IN ('queued', 'running');

-- A part's aggregates wait for the last part in tables of the job's own,
-- agg_stage_<job>_<kind>, made at the split (agg_stage_open) with the
-- columns of these templates, which are agg_begin()'s temporary tables
-- and hold no row.  Tables of its own, not rows in shared ones, because
-- the last part drops them when done (a DELETE of millions of rows cost
-- seconds), and a part inserting into its job's table locks nothing
-- another job's parts use.  No index: the last part reads them whole.
CREATE TABLE agg_stage_cells (kind smallint, level smallint, ix integer,
    iy integer, week date, trips bigint);
CREATE TABLE agg_stage_regions (region_id integer, week date, trips bigint);
CREATE TABLE agg_stage_sources (region_id integer, datasource_id smallint,
    trips bigint, first_ts timestamp, last_ts timestamp);
CREATE TABLE agg_stage_groups (region_id integer, origin_cell bigint,
    dest_cell bigint, slot smallint, trips bigint, sum_olon float8,
    sum_olat float8, sum_dlon float8, sum_dlat float8, first_ts timestamp,
    last_ts timestamp, datasources bigint);
CREATE TABLE agg_stage_more (region_id integer, origin_cell bigint,
    dest_cell bigint, slot smallint, datasource_id smallint);

-- Where a split job stands, for the guards of the functions below:
-- 'split' while its parts load (running, handed to its parts), 'ended'
-- once failed, cancelled or found a duplicate at its last part's end,
-- NULL otherwise (not split, or succeeded: its parts are trips now).
CREATE FUNCTION parts_job_state(job integer) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
	SELECT CASE
	    WHEN j.state = 'running' AND j.lease_owner = 'parts' THEN 'split'
	    WHEN j.state IN ('failed', 'cancelled')
	        OR (j.state = 'succeeded' AND j.duplicate_of IS NOT NULL)
	        THEN 'ended' END
	FROM tripline.jobs j WHERE j.id = job
$$;

-- The kinds of staged aggregate, the suffixes of the names above.
CREATE FUNCTION agg_stage_kinds() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT ARRAY['cells', 'regions', 'sources', 'groups', 'more']
$$;

-- At the split, in its transaction: the job's stage tables.
CREATE FUNCTION agg_stage_open(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	k text;
BEGIN
	PERFORM tripline.trips_partition_check(job);
	FOREACH k IN ARRAY tripline.agg_stage_kinds() LOOP
		EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.%I)',
		    format('agg_stage_%s_%s', job, k), 'agg_stage_' || k);
		EXECUTE format('GRANT SELECT, INSERT ON tripline.%I TO '
		    'tripline_runner', format('agg_stage_%s_%s', job, k));
	END LOOP;
END $$;

-- The job's stage tables, gone: by the last part once it has read them
-- back into its own sums (jobs/aggregate.c, agg_unstage) and merged them,
-- or with the parts of a failed or cancelled job (trips_parts_drop).
CREATE FUNCTION agg_stage_close(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	k text;
BEGIN
	IF tripline.parts_job_state(job) IS NULL THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s is not split', job);
	END IF;
	FOREACH k IN ARRAY tripline.agg_stage_kinds() LOOP
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I',
		    format('agg_stage_%s_%s', job, k));
	END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON job_parts TO tripline_runner;
GRANT SELECT ON job_parts TO tripline_web;
REVOKE ALL ON agg_stage_cells, agg_stage_regions, agg_stage_sources,
    agg_stage_groups, agg_stage_more FROM PUBLIC;

-- The two cell indexes of trips (003_reports.sql) on table t, as
-- trips_partition_attach() builds them on a job's partition, so that
-- ATTACH adopts them.  Only for the SECURITY DEFINER functions below.
CREATE FUNCTION trips_index_cells(t text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((origin_cell >> 25))',
	    t || '_origin_cell7', t);
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((dest_cell >> 25))',
	    t || '_dest_cell7', t);
END $$;

-- The part's table, as trips_partition_create() makes a job's: no index,
-- INSERT for the runner, CHECK constraints that imply both partition
-- constraints (job_id in trips, part in the job's table), so neither
-- ATTACH scans it.  Only for a part its caller holds the lease of.
CREATE FUNCTION trips_part_check(job integer, p integer, owner text)
RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	PERFORM tripline.trips_partition_check(job);
	IF p IS NULL OR NOT EXISTS (SELECT FROM tripline.job_parts x
	    WHERE x.job_id = job AND x.part = p AND x.state = 'running'
	    AND x.lease_owner = owner) THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('part %s of job %s is not ours', p, job);
	END IF;
	RETURN format('trips_job_%s_p%s', job, p);
END $$;

CREATE FUNCTION trips_part_create(job integer, p integer, owner text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text := tripline.trips_part_check(job, p, owner);
BEGIN
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trips, '
	    'CONSTRAINT %I CHECK (job_id = %s), CONSTRAINT %I CHECK (part = %s))',
	    t, t || '_job', job, t || '_part', p);
	EXECUTE format('GRANT INSERT ON tripline.%I TO tripline_runner', t);
END $$;

-- Index the loaded part (the definitions of trips_partition_attach()).
CREATE FUNCTION trips_part_index(job integer, p integer, owner text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET maintenance_work_mem = '1GB' AS $$
DECLARE
	t text := tripline.trips_part_check(job, p, owner);
BEGIN
	EXECUTE format('REVOKE INSERT ON tripline.%I FROM tripline_runner', t);
	PERFORM tripline.trips_index_cells(t);
END $$;

-- The job's partition, partitioned by part: made from the loaded parts,
-- then attached to trips.  CREATE INDEX on a partitioned table adopts a
-- partition's matching index instead of building one (PostgreSQL docs,
-- CREATE INDEX, "Notes"), and ATTACH adopts the job table's indexes as
-- trips_partition_attach() does; no scan, no index build happens here.
CREATE FUNCTION trips_parts_attach(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	t text := tripline.trips_partition_check(job);
	p integer;
BEGIN
	-- The caller's own part is still 'running' until its last statement.
	IF EXISTS (SELECT FROM tripline.job_parts x WHERE x.job_id = job
	    AND x.state = 'queued') THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s has parts not loaded', job);
	END IF;
	-- No CHECK here: a partitioned table's constraints must exist in
	-- each partition by name.  Each part's own CHECK (job_id = job)
	-- spares ATTACH to trips its scan, part by part.
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
END $$;

-- What the parts of a failed or cancelled job left: their tables, staged
-- aggregates, rejects and rows.  Called in the transaction that ended the
-- job (so never for a succeeded job, whose parts are trips), under the
-- job's parts lock (jobs/parts_db.c): a part that commits before it is
-- seen here, one that commits after finds the job ended and rolls back.
CREATE FUNCTION trips_parts_drop(job integer) RETURNS void
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
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I',
		    format('trips_job_%s_p%s', job, p));
	END LOOP;
	PERFORM tripline.agg_stage_close(job);
	DELETE FROM tripline.job_rejects WHERE job_id = job;
	DELETE FROM tripline.job_parts WHERE job_id = job;
END $$;

-- A part's aggregates, from agg_begin()'s temporary tables into the
-- job's stage tables (names made from the integer job id).
CREATE FUNCTION agg_stage(job integer) RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
DECLARE
	k text;
BEGIN
	FOREACH k IN ARRAY tripline.agg_stage_kinds() LOOP
		EXECUTE format('INSERT INTO tripline.%I SELECT * FROM pg_temp.%I',
		    format('agg_stage_%s_%s', job, k), 'agg_' || k);
		EXECUTE format('TRUNCATE pg_temp.%I', 'agg_' || k);
	END LOOP;
END $$;

REVOKE EXECUTE ON FUNCTION trips_part_check(integer, integer, text),
    trips_index_cells(text), parts_job_state(integer),
    trips_part_create(integer, integer, text),
    trips_part_index(integer, integer, text), trips_parts_attach(integer),
    trips_parts_drop(integer), agg_stage_open(integer),
    agg_stage_close(integer), agg_stage(integer) FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION trips_part_create(integer, integer, text),
    trips_part_index(integer, integer, text), trips_parts_attach(integer),
    trips_parts_drop(integer), agg_stage_open(integer),
    agg_stage_close(integer), agg_stage(integer) TO tripline_runner;

RESET ROLE;
