-- 027_spool_retry.sql: a spool file the runner could not remove is tried
-- again an hour later, not at every idle moment (jobs/spoolsweep.c).
--
-- Until now such a job stayed due: each idle moment of each runner
-- (every few seconds) tried it again and logged a warning, and when a
-- whole batch (100) could not be removed, say after the spool's
-- permissions changed, those same jobs came first every time, so no
-- later file was ever removed.  Now the runner sets spool_retry_at, and
-- a job is due again only after it.
SET ROLE tripline_owner;
SET search_path = tripline;

-- When a file that could not be removed is tried again; NULL: whenever
-- due.  Added without a default: no row is rewritten.
ALTER TABLE jobs ADD COLUMN spool_retry_at timestamptz;

-- 025's function and its two arms, each with one more condition: not
-- before spool_retry_at.  The rows it skips are read from the index
-- range and passed over; there are as many as files that failed.
CREATE OR REPLACE FUNCTION spool_sweep_due(keep_failed integer, batch integer)
RETURNS TABLE (id integer, path text)
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
SELECT d.id, d.path FROM (
    (SELECT j.id, j.path FROM tripline.jobs j
    WHERE j.source = 'upload' AND j.spool_removed_at IS NULL
        AND j.state IN ('succeeded', 'cancelled')
        AND (j.spool_retry_at IS NULL OR j.spool_retry_at <= now())
        AND NOT EXISTS (SELECT FROM tripline.job_parts p
            WHERE p.job_id = j.id AND p.state = 'running'
                AND p.lease_until > now())
        AND NOT EXISTS (SELECT FROM tripline.jobs o
            WHERE o.state IN ('queued', 'running') AND o.path = j.path
                AND o.source = 'upload' AND o.id <> j.id)
    ORDER BY j.state, j.finished_at
    LIMIT batch)
    UNION ALL
    (SELECT j.id, j.path FROM tripline.jobs j
    WHERE j.source = 'upload' AND j.spool_removed_at IS NULL
        AND j.state = 'failed'
        AND j.finished_at <= now() - keep_failed * interval '1 second'
        AND (j.spool_retry_at IS NULL OR j.spool_retry_at <= now())
        AND NOT EXISTS (SELECT FROM tripline.job_parts p
            WHERE p.job_id = j.id AND p.state = 'running'
                AND p.lease_until > now())
        AND NOT EXISTS (SELECT FROM tripline.jobs o
            WHERE o.state IN ('queued', 'running') AND o.path = j.path
                AND o.source = 'upload' AND o.id <> j.id)
    ORDER BY j.state, j.finished_at
    LIMIT batch)
) d
LIMIT batch
$$;

GRANT UPDATE (spool_retry_at) ON jobs TO tripline_runner;

RESET ROLE;
