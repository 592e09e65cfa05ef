-- 033_trips_sweep_idle.sql: unattached trips tables are swept by an idle
-- runner too, each under its job's row lock.
--
-- A whole job's trips table is committed before the load transaction
-- attaches it (013_trips_index_apart.sql), so a runner killed in between
-- leaves it.  The job's next load drops it first, but a job may never be
-- loaded again: cancelled after its runner died, or ended at the claim
-- with its attempts used up.  Only a starting runner swept such tables,
-- so a long-lived runner kept a full copy of the job's trips (about 1 GB
-- for 10 M rows) until some runner restarted.  The runner now sweeps
-- whenever its queue is empty (jobs/main.c), as it does the parts of
-- ended split jobs (022_parts_sweep.sql).
--
-- Sweeping often makes a race worth closing: the job's state was read,
-- then its table dropped, and in between a runner could claim the job
-- (its state just read as not running) and commit a new table of the
-- same name, dropped then under its attach.  The job's row is now locked
-- while its table is dropped (FOR NO KEY UPDATE SKIP LOCKED, PostgreSQL
-- docs, "The Locking Clause": it conflicts with a claim's FOR UPDATE, not
-- with the KEY SHARE of an event's foreign key): a claim that holds the
-- row is skipped here, and a claim that comes skips the row, as claims
-- skip locked rows, until the sweep's statement ends.  A table with no
-- job row is dropped as before.  The tables are locked NOWAIT: a sweep
-- that waited for a stalled load's table while holding its job's row
-- would wait for ever, the load waiting for the row in turn, and an idle
-- runner would claim nothing meanwhile.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION trips_partition_sweep() RETURNS integer
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
		IF EXISTS (SELECT FROM tripline.jobs x WHERE x.id = j) THEN
			PERFORM FROM tripline.jobs x WHERE x.id = j
			    AND x.state <> 'running' FOR NO KEY UPDATE SKIP LOCKED;
			CONTINUE WHEN NOT FOUND;
		END IF;
		-- Never wait for a table: a stalled load may hold it, and would
		-- wait for the job's row in turn.  The next sweep tries again.
		BEGIN
			EXECUTE format('LOCK TABLE tripline.%I IN ACCESS EXCLUSIVE '
			    'MODE NOWAIT', format('trips_job_%s', j));
			IF to_regclass(format('tripline.trips_job_%s_rim', j))
			    IS NOT NULL THEN
				EXECUTE format('LOCK TABLE tripline.%I IN ACCESS '
				    'EXCLUSIVE MODE NOWAIT',
				    format('trips_job_%s_rim', j));
			END IF;
		EXCEPTION WHEN lock_not_available THEN
			CONTINUE;
		END;
		-- Attached meanwhile (its load committed): trips, kept.
		CONTINUE WHEN NOT tripline.trips_partition_orphan(j);
		PERFORM tripline.trips_partition_drop(j);
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;

RESET ROLE;
