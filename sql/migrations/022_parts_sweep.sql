-- 022_parts_sweep.sql: what the parts of an ended split job left, dropped
-- by whichever runner is idle, so that a split job can be cancelled
-- without a runner (cgi/h_jobs.c, SQL_CANCEL_ORPHANED); two limits on
-- what the roles can do to that end, and a drop that no longer takes a
-- table it did not find (below).
--
-- Until now only the runner that ended a split job dropped its parts'
-- tables, staged aggregates, rejects and rows (trips_parts_drop, in the
-- transaction that ended it).  A cancel of a split job whose runners had
-- all died therefore only asked (202) and waited for a runner to come
-- back.  The FastCGI program now ends such a job itself; its role may
-- not drop tables, so the leftovers wait for this sweep, which a runner
-- runs when it starts and whenever it finds the queue empty.  It is also
-- what drops the tables of a part that committed just after its job
-- ended another way (its commit checks the job without locking it).

SET ROLE tripline_owner;
SET search_path = tripline;

-- Whether the job's trips table is attached to trips: the job succeeded
-- (its last part attached every part in the commit that ended it).
CREATE FUNCTION trips_job_attached(job integer) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
SELECT EXISTS (SELECT FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'tripline' AND c.relname = format('trips_job_%s', job)
        AND c.relispartition)
$$;

-- trips_parts_drop (014) trusted jobs.state alone, which the web role may
-- write (cancel): a succeeded split job set 'failed' by hand would have
-- its loaded trips dropped, at once by a runner's call or now by the
-- sweep, while the aggregates still counted them.  Trips once attached
-- are never dropped here.
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
	IF tripline.trips_job_attached(job) THEN
		RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
		    MESSAGE = format('job %s has its trips attached', job);
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

-- Every split job that has ended but still has parts: each dropped under
-- the job's parts lock, the advisory lock jobs/parts_db.c takes
-- (PARTS_LOCK_CLASS, 7474, and the job id; PostgreSQL docs, "Advisory
-- Lock Functions"), so a part committing meanwhile is either seen or
-- finds its job ended and rolls back.  Returns how many jobs it cleared.
CREATE FUNCTION trips_parts_sweep() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	j integer;
	n integer := 0;
BEGIN
	FOR j IN SELECT DISTINCT p.job_id FROM tripline.job_parts p
	    WHERE tripline.parts_job_state(p.job_id) = 'ended'
	        AND NOT tripline.trips_job_attached(p.job_id) LOOP
		PERFORM pg_catalog.pg_advisory_xact_lock(7474, j);
		-- Another runner's sweep may have cleared it while we waited.
		CONTINUE WHEN NOT EXISTS (SELECT FROM tripline.job_parts x
		    WHERE x.job_id = j);
		PERFORM tripline.trips_parts_drop(j);
		n := n + 1;
	END LOOP;
	RETURN n;
END $$;

REVOKE EXECUTE ON FUNCTION trips_parts_sweep() FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION trips_parts_sweep() TO tripline_runner;

-- trips_partition_drop (014) dropped trips_job_<id> by name when it was
-- found unattached.  A runner whose lease another had taken over drops
-- its own table so after its commit failed; if the new owner had dropped
-- that table and committed its own of the same name meanwhile, the DROP,
-- which looks the name up again once its lock wait ends, dropped the new
-- owner's table, and that load failed at its ATTACH.  Now the table is
-- locked first and dropped only if it is still the one found unattached.
CREATE OR REPLACE FUNCTION trips_partition_drop(job integer) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp
SET client_min_messages = warning AS $$
DECLARE
	t oid;
	name text := format('trips_job_%s', job);
BEGIN
	IF job IS NULL THEN
		RETURN;
	END IF;
	SELECT c.oid INTO t FROM pg_catalog.pg_class c
	    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname = 'tripline' AND c.relname = name
	        AND c.relkind = 'r' AND NOT c.relispartition;
	IF t IS NULL THEN
		RETURN;
	END IF;
	BEGIN
		EXECUTE format('LOCK TABLE tripline.%I IN ACCESS EXCLUSIVE MODE',
		    name);
	EXCEPTION WHEN undefined_table THEN
		RETURN;		-- dropped meanwhile, and no other in its place
	END;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid = t
	    AND NOT c.relispartition) THEN
		RETURN;		-- another table of that name now, or attached
	END IF;
	EXECUTE format('DROP TABLE IF EXISTS tripline.%I, tripline.%I', name,
	    name || '_rim');
END $$;

-- The web role inserted any column of jobs (001_core.sql): a row born
-- 'succeeded' with a file's sha256 made every later job of that content
-- a duplicate, never loaded; one born 'running' without a lease could be
-- neither claimed nor cancelled.  It writes these six (cgi/h_upload.c).
REVOKE INSERT ON jobs FROM tripline_web;
GRANT INSERT (filename, source, path, bytes, sha256, max_attempts) ON jobs
    TO tripline_web;

RESET ROLE;
