-- 031_progress_pace.sql: a split job's progress events come twice a
-- second, however many runners load its parts.
--
-- Every runner loading a part of a split job sums the parts' counts into
-- the job's row and sends the job's progress event, each every 500 ms
-- (jobs/lease.c, lease_sum_sql).  With two runners a client was sent two
-- events in each 500 ms, often a few milliseconds apart, and the second
-- one told nothing new; docs/events.md promises one every 500 ms.  The
-- job's row now holds when its last progress event was sent: a part's
-- runner still writes the sums each time (GET /api/jobs/{id} stays
-- current) but sends the event only when the last one is 450 ms old or
-- more (the time of the summing statement, under the job's row lock that
-- orders the sums).  A job loaded whole, and the split pass, write it
-- with their counts.
--
-- Added without a default, so no row is rewritten.
SET ROLE tripline_owner;
SET search_path = tripline;

ALTER TABLE jobs ADD COLUMN progress_at timestamptz;

-- The runner writes it as it writes the counts (028_job_phase.sql).
GRANT UPDATE (progress_at) ON jobs TO tripline_runner;

RESET ROLE;
