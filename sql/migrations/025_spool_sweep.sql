-- 025_spool_sweep.sql: the spool files of ended uploads are removed by
-- an idle runner (jobs/spoolsweep.c), when it starts and whenever it
-- finds the queue empty.  Until now an upload stayed in the spool after
-- its job ended, so the spool only grew until uploads got 507
-- (docs/security.md).
--
-- The rule: only uploads (source 'upload') have spool files; an inbox
-- file is the user's and never removed.  A job's file goes once the job
-- has ended: at once when it succeeded (a duplicate too: its content is
-- loaded by another job) or was cancelled; when it failed, after
-- TRIPLINE_SPOOL_KEEP_FAILED seconds (the runner's setting, a week by
-- default), so that an operator can look at what failed.  A failed or
-- cancelled job is never run again (no state leads out of them), so its
-- file is needed by no one once it is kept no longer.
--
-- The runner removes the file, then sets spool_removed_at, so the idle
-- query reads only the ended uploads not yet done: a partial index holds
-- exactly them, and a row leaves it once marked.  Without it each idle
-- moment of each runner would scan every job ever run.

SET ROLE tripline_owner;
SET search_path = tripline;

-- When the runner removed the job's spool file (or found it gone, or
-- refused a path not directly in its spool directory); NULL for inbox
-- jobs, unfinished jobs and failed ones still kept.  Added without a
-- default, so no existing row is rewritten; ended uploads of earlier
-- versions are therefore due at the first sweep, which is the point.
ALTER TABLE jobs ADD COLUMN spool_removed_at timestamptz;

-- Ended uploads whose file is not removed yet: the succeeded and
-- cancelled ones read by state, the failed ones by state and the range
-- of finished_at past the keep time.  Kept failed files stay in it for
-- their week, but the range skips them (spool_sweep_due, below).
CREATE INDEX jobs_spool_due ON jobs (state, finished_at)
	WHERE source = 'upload' AND spool_removed_at IS NULL
	    AND state IN ('succeeded', 'failed', 'cancelled');

-- At most batch ended uploads whose file may be removed now, oldest end
-- first.  keep_failed: seconds a failed job's file is kept (0: none).
--
-- Two arms, each an ordered range of jobs_spool_due with its own LIMIT:
-- the succeeded and cancelled ones, then the failed ones past the keep
-- time.  So a week of kept failed files is never read, and the planner
-- has no reason to scan jobs: asked for the same rows with one OR and a
-- LIMIT, it took a sequential scan of all jobs (it counts the inbox
-- jobs' NULL spool_removed_at as pending too; 200,000 jobs: 6,100
-- buffers and 60 ms per idle moment instead of a few buffers).
--
-- Two guards beyond the job's state, in both arms:
--   * a split job (008_parts.sql) ends once: when its last part commits,
--     a part fails it, or a cancel ends it.  A part of a failed or
--     cancelled job may still be reading the file until its lease step
--     notices.  Removing would not break its open descriptor, but a part
--     about to open it would fail on "file not found" for nothing: the
--     file waits until no part holds a live lease (job_parts_claimable
--     serves this);
--   * a file that an unfinished job also names is left: the spool gives
--     each upload a name of its own (cgi/spool.c), so only a row made by
--     hand, or by a subverted web program through job_queue, shares one,
--     and then the unfinished job keeps its file (jobs_claimable, which
--     holds only unfinished jobs, serves this).
-- Not SECURITY DEFINER: it reads what the runner may read anyway.
CREATE FUNCTION spool_sweep_due(keep_failed integer, batch integer)
RETURNS TABLE (id integer, path text)
LANGUAGE sql STABLE SET search_path = pg_catalog, tripline, pg_temp AS $$
SELECT d.id, d.path FROM (
    (SELECT j.id, j.path FROM tripline.jobs j
    WHERE j.source = 'upload' AND j.spool_removed_at IS NULL
        AND j.state IN ('succeeded', 'cancelled')
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

REVOKE EXECUTE ON FUNCTION spool_sweep_due(integer, integer)
    FROM PUBLIC, tripline_web;
GRANT EXECUTE ON FUNCTION spool_sweep_due(integer, integer)
    TO tripline_runner;

-- The runner may set that column and no other new one (002_runner.sql
-- lists the columns of a job's run and end it writes).  The web role
-- writes no column of jobs (023_web_calls.sql) and gets none here.
GRANT UPDATE (spool_removed_at) ON jobs TO tripline_runner;

RESET ROLE;
