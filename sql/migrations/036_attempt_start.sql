-- 036_attempt_start.sql: a split job's pace and elapsed time count from
-- the start of its current attempt, as a whole job's do.
--
-- A whole job's runner times an attempt from its claim (runner_db.c sets
-- its clock then).  A split job's parts load on other runners, which
-- timed it from the job's started_at: the first attempt's start, which a
-- claim keeps (it is the API's "when the job first ran").  So a split
-- job whose split pass failed and was tried again (an attempt ended by a
-- passing error, or by its runner's death) counted the failed attempt
-- and the backoff as load time: its progress events gave a rows_per_s
-- too low and an eta_s too long, and its succeeded event an elapsed_s
-- too long, though its counts start again from 0 with each attempt.
-- Each claim of the job now records when that attempt started, and the
-- parts' claim (jobs/parts_db.c) counts from it.
SET ROLE tripline_owner;
SET search_path = tripline;

ALTER TABLE jobs ADD COLUMN attempt_started_at timestamptz;
GRANT UPDATE (attempt_started_at) ON jobs TO tripline_runner;
