-- 004_partitions.sql: one partition of trips per job, made, indexed and
-- attached inside the job's load transaction (docs/architecture.md,
-- "Trips partitions").
--
-- Why: the two cell indexes of 003_reports.sql, kept row by row during
-- COPY, cost a random B-tree descent per row and index (a plain COPY of
-- 1 M trips took 26 s with them, 4 s without).  Loaded into a table of
-- its own with no index, then indexed by CREATE INDEX (one sorted build),
-- a job's trips cost a fraction of that.  The runner:
--
--   1. trips_partition_create(job): CREATE TABLE trips_job_<id> with
--      CHECK (job_id = <id>), INSERT granted to the runner;
--   2. COPY tripline.trips_job_<id> ... (binary);
--   3. trips_partition_attach(job): CREATE INDEX (both cell indexes),
--      then ATTACH PARTITION ... FOR VALUES IN (<id>).  The CHECK
--      constraint implies the partition constraint, so ATTACH skips its
--      validation scan (PostgreSQL docs, ALTER TABLE, ATTACH PARTITION);
--      the indexes match the parent's partitioned indexes, so ATTACH
--      adopts them instead of building new ones.
--
-- All in the load transaction: a job's trips appear at its commit, and a
-- failed, cancelled or killed load leaves nothing (the table goes with
-- the rollback).  With wal_level = minimal (scripts/stack.sh) a table
-- created in the same transaction is loaded and indexed without WAL
-- (PostgreSQL docs, 14.4.7 "Disable WAL Archival and Streaming
-- Replication").
--
-- Privileges: ATTACH needs the owner of both tables, and creating a table
-- needs CREATE on the schema; the runner has neither.  These two
-- functions run as their owner (SECURITY DEFINER), take only an integer
-- job id, act only for a job in state 'running', build every name from
-- that integer, and qualify every name (search_path pinned, pg_temp last:
-- PostgreSQL docs, CREATE FUNCTION, "Writing SECURITY DEFINER Functions
-- Safely").  Only the runner role may execute them.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE FUNCTION trips_partition_check(job integer) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	IF job IS NULL OR NOT EXISTS (SELECT FROM tripline.jobs j
	    WHERE j.id = job AND j.state = 'running') THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s is not running', job);
	END IF;
	RETURN format('trips_job_%s', job);
END $$;

CREATE FUNCTION trips_partition_create(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	part text := tripline.trips_partition_check(job);
BEGIN
	EXECUTE format('CREATE TABLE tripline.%I (LIKE tripline.trips, '
	    'CONSTRAINT %I CHECK (job_id = %s))', part, part || '_job', job);
	EXECUTE format('GRANT INSERT ON tripline.%I TO tripline_runner', part);
END $$;

-- The sorts of CREATE INDEX get memory for a 10 M-row job (two 8-byte
-- keys with their row pointers), for this call only.
CREATE FUNCTION trips_partition_attach(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET maintenance_work_mem = '1GB' AS $$
DECLARE
	part text := tripline.trips_partition_check(job);
BEGIN
	-- Loaded: the runner writes no more into it.
	EXECUTE format('REVOKE INSERT ON tripline.%I FROM tripline_runner', part);
	-- The same definitions as trips_origin_cell7 / trips_dest_cell7
	-- (003_reports.sql), so that ATTACH adopts them.
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((origin_cell >> 25))',
	    part || '_origin_cell7', part);
	EXECUTE format('CREATE INDEX %I ON tripline.%I ((dest_cell >> 25))',
	    part || '_dest_cell7', part);
	EXECUTE format('ALTER TABLE tripline.trips ATTACH PARTITION tripline.%I '
	    'FOR VALUES IN (%s)', part, job);
END $$;

REVOKE EXECUTE ON FUNCTION trips_partition_check(integer),
    trips_partition_create(integer), trips_partition_attach(integer)
    FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION trips_partition_create(integer),
    trips_partition_attach(integer) TO tripline_runner;

RESET ROLE;
