-- 022_parts_sweep.sql: what the parts of an ended split job left, dropped
-- by whichever runner is idle, so that a split job can be cancelled
-- without a runner (cgi/h_jobs.c, SQL_CANCEL_ORPHANED).
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
	    WHERE tripline.parts_job_state(p.job_id) = 'ended' LOOP
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

RESET ROLE;
