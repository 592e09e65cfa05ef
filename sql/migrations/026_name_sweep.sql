-- 026_name_sweep.sql: region and datasource names that no loaded trip
-- uses are removed by an idle runner, and a datasource id freed that way
-- is given again once the identity is used up (docs/security.md, the
-- names were known gap 3).
--
-- The runner adds a new name on a connection of its own in autocommit
-- (jobs/dimcache.c), so that runners never wait for each other's load.
-- A name therefore outlived a job that failed or was cancelled, and
-- datasources.id is a smallint: 32,767 names ever added, loaded or not,
-- and every later new datasource was rejected "too many datasources" for
-- good.  Such a name also answered the datasource and region reports
-- with 200 and nothing, where an unknown one answers 404.
--
-- When a name is in use: every trip of a succeeded job is counted in
-- region_datasources (one row per region and datasource, written in the
-- transaction that ends the job), and the trips of a failed or cancelled
-- job are never read.  What is not in region_datasources yet is a load
-- that is still going on, or a split job (008_parts.sql) whose committed
-- parts wait for the others; so the sweep runs only when
--   * no load holds the names lock: every load takes it shared, in its
--     load transaction, before its first name (names_hold, below), and
--     the sweep takes it alone, without waiting;
--   * and no job is queued or running (jobs_claimable serves this).
-- A runner keeps ids in memory between jobs (dimcache.c); names_hold
-- returns the sweeps' epoch, which a sweep that removed a name raises,
-- and a runner that finds it changed forgets every id it kept.
--
-- A sweep reads every region and datasource, so it runs only after a
-- name was added since the last one (name_sweeps.added, set by the
-- statement that adds a name when it is not set yet: a file of a million
-- new names writes that row once, not a million times).
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE TABLE name_sweeps (
	one   boolean PRIMARY KEY DEFAULT true CHECK (one),
	-- raised by every sweep that removed a name
	epoch bigint NOT NULL DEFAULT 0,
	-- whether a name was added since the last sweep
	added boolean NOT NULL DEFAULT false
);
-- A name added before this migration may be unused: sweep once.
INSERT INTO name_sweeps (added) VALUES (true);

REVOKE ALL ON name_sweeps FROM PUBLIC;
GRANT SELECT ON name_sweeps TO tripline_runner;
GRANT UPDATE (added) ON name_sweeps TO tripline_runner;

-- In the load transaction, before its first name: wait for a sweep that
-- is under way, keep the next one out until the load ends, and return
-- the epoch.  The lock is a transaction-level advisory lock (PostgreSQL
-- docs, 13.3.5 "Advisory Locks"): a load that ends or dies lets it go.
CREATE FUNCTION names_hold() RETURNS bigint
LANGUAGE plpgsql SET search_path = pg_catalog, tripline, pg_temp AS $$
BEGIN
	PERFORM pg_catalog.pg_advisory_xact_lock_shared(
	    pg_catalog.hashtext('tripline.names'));
	RETURN (SELECT s.epoch FROM tripline.name_sweeps s);
END $$;

-- Remove the names no loaded trip uses; how many were removed.  0 at
-- once when no name was added since the last sweep, a load holds the
-- lock, or a job is unfinished: the next idle moment tries again.
-- SECURITY DEFINER: the runner may not delete names itself.
CREATE FUNCTION names_sweep() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	nd integer;
	nr integer;
BEGIN
	IF NOT (SELECT s.added FROM tripline.name_sweeps s)
	    OR NOT pg_catalog.pg_try_advisory_xact_lock(
	        pg_catalog.hashtext('tripline.names'))
	    OR EXISTS (SELECT FROM tripline.jobs j
	        WHERE j.state IN ('queued', 'running')) THEN
		RETURN 0;
	END IF;
	DELETE FROM tripline.datasources d
	WHERE NOT EXISTS (SELECT FROM tripline.region_datasources r
	    WHERE r.datasource_id = d.id);
	GET DIAGNOSTICS nd = ROW_COUNT;
	-- region_datasources alone would do; the other two are the tables a
	-- region's id is read from, each by its primary key.
	DELETE FROM tripline.regions g
	WHERE NOT EXISTS (SELECT FROM tripline.region_datasources r
	        WHERE r.region_id = g.id)
	    AND NOT EXISTS (SELECT FROM tripline.region_weeks w
	        WHERE w.region_id = g.id)
	    AND NOT EXISTS (SELECT FROM tripline.trip_groups t
	        WHERE t.region_id = g.id);
	GET DIAGNOSTICS nr = ROW_COUNT;
	UPDATE tripline.name_sweeps
	SET added = false, epoch = epoch + (nd + nr > 0)::integer;
	RETURN nd + nr;
END $$;

REVOKE EXECUTE ON FUNCTION names_hold(), names_sweep()
    FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION names_hold(), names_sweep() TO tripline_runner;

RESET ROLE;
