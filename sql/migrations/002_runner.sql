-- 002_runner.sql: the runner changes a job's run and its end, never what
-- the job is.  001_core.sql granted UPDATE on every column of jobs; keep
-- only the columns jobs/runner_db.c and jobs/lease.c write (claim, lease,
-- counts, end, retry), so a runner cannot point a job at another file
-- (path, source), fake its content (sha256, bytes) or clear a user's
-- cancel request.  SELECT ... FOR UPDATE needs UPDATE on at least one
-- column (PostgreSQL docs, SELECT, "The Locking Clause"): kept.
REVOKE UPDATE ON tripline.jobs FROM tripline_runner;
GRANT UPDATE (state, attempts, max_attempts, lease_owner, lease_until,
              started_at, finished_at, run_after, rows_loaded,
              rows_rejected, bytes_read, error, duplicate_of)
	ON tripline.jobs TO tripline_runner;
