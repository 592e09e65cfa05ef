-- 013_trips_index_apart.sql: a job's trips loaded and indexed on a
-- connection of their own, while the load transaction merges the
-- aggregates; attached in the load transaction, as before.
--
-- A 10 M job (make bench, 2026-11-26): read and copy 17 s, aggregates
-- 22-23 s, index 6-7 s, one after the other in one transaction.  During
-- the aggregates one core is idle: the merge is one backend, and the
-- runner waits for it.  So the runner now copies the trips on a second
-- connection, in a transaction that creates the job's table (so COPY
-- FREEZE and, with wal_level = minimal, no WAL, as before), builds its two
-- indexes there while the load transaction merges the aggregates, and
-- commits it only once the merge is done.  The load transaction then
-- attaches the table and ends the job: trips and aggregates still appear
-- together, at that one commit (jobs/loader.c).
--
-- In between the job's table is committed but not attached: no report
-- reads it (reports read trips, and only the owner and, for INSERT while
-- loading, the runner have rights on the table itself).  A runner killed
-- in that moment leaves it behind.  trips_partition_drop() drops such a
-- table: called by the runner before it makes the job's (the retry) and
-- after a load that did not attach it; trips_partition_sweep() calls it
-- at a runner's start for every job no longer running.
SET ROLE tripline_owner;
SET search_path = tripline;

-- A table named for the job that is not (yet) a partition of trips.
CREATE FUNCTION trips_partition_orphan(job integer) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'tripline' AND c.relname = format('trips_job_%s', job)
        AND c.relkind = 'r' AND NOT c.relispartition)
$$;

-- Index the loaded table, in the transaction that made it.  One process
-- for each build: they run beside the merge, which has the other core.
CREATE FUNCTION trips_partition_index(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET maintenance_work_mem = '1GB'
SET max_parallel_maintenance_workers = 0 AS $$
DECLARE
	part text := tripline.trips_partition_check(job);
BEGIN
	EXECUTE format('REVOKE INSERT ON tripline.%I FROM tripline_runner', part);
	PERFORM tripline.trips_index_cells(part);
END $$;

-- Attach the job's table, indexed by trips_partition_index(); a runner
-- from before this migration loads the table in the load transaction and
-- calls only this, which then indexes it as 004_partitions.sql did.
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
END $$;

-- After a load that did not attach its table: drop it, whatever the
-- job's state now.  An attached table (the job succeeded) is trips and
-- stays.
CREATE FUNCTION trips_partition_drop(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
BEGIN
	IF job IS NOT NULL AND tripline.trips_partition_orphan(job) THEN
		EXECUTE format('DROP TABLE IF EXISTS tripline.%I', format('trips_job_%s', job));
	END IF;
END $$;

-- Every job's table left unattached by a load that will not go on (its
-- job is not running: a running job's runner, or the one that takes it
-- next, has it in hand).
CREATE FUNCTION trips_partition_sweep() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	j integer;
	n integer := 0;
BEGIN
	FOR j IN SELECT substr(c.relname, 11)::integer FROM pg_catalog.pg_class c
	    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'tripline' AND c.relname ~ '^trips_job_[0-9]{1,9}$'
	        AND c.relkind = 'r' AND NOT c.relispartition LOOP
		CONTINUE WHEN EXISTS (SELECT FROM tripline.jobs x WHERE x.id = j
		    AND x.state = 'running');
		PERFORM tripline.trips_partition_drop(j);
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION trips_partition_orphan(integer),
    trips_partition_index(integer), trips_partition_drop(integer),
    trips_partition_sweep() FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION trips_partition_index(integer),
    trips_partition_drop(integer), trips_partition_sweep() TO tripline_runner;

RESET ROLE;
