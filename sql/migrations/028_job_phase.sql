-- 028_job_phase.sql: what a running job is doing, for a client polling
-- GET /api/jobs/{id} and in its progress events (jobs/lease.c).
--
-- percent and eta_s measure the bytes read; after the last byte the load
-- still merges the report aggregates, waits for the trips' index builds
-- and attaches the table (a 10 M file: 10.5 s of reading, then 8.2 s of
-- aggregates and 2.3 s of index, README.md "Performance"), and a client
-- saw "percent 100, eta_s 0" all that time with no sign of it.  The
-- runner knows which step it is in (jobs/loader.c times them for its
-- log), so its control thread writes that too, with the counts it
-- writes every 500 ms; it costs no statement more.
--
-- The phases, in the order a part of a split job goes through them:
--   splitting    the split pass reads the whole file for its cut points
--                (jobs/jobsplit.c; no bytes are counted);
--   reading      the file parsed and its trips copied in (percent and
--                eta_s are about this phase);
--   indexing     the trips' index builds awaited and the table attached
--                (a part: its table's indexes built);
--   aggregating  the rejects stored and the report aggregates merged
--                while the index builds run beside them (a part: its
--                aggregates staged; its rejects are stored as its
--                reading ends);
--   merging      the last part of a split job: every part's staged
--                aggregates merged and the parts attached.
-- A job loaded whole goes reading, aggregating, indexing.  A split job's
-- phase is the least advanced of its parts not yet loaded, a queued
-- one counting as reading.  NULL while nothing is reported (queued, just
-- claimed) and once the job has ended (the ends clear it; the web's
-- cancel of a job whose runner died does not, so the API shows it only
-- for a running job: cgi/job_json.h).
--
-- Added without a default, so no row is rewritten.
SET ROLE tripline_owner;
SET search_path = tripline;

ALTER TABLE jobs ADD COLUMN phase text
	CHECK (phase IN ('splitting', 'reading', 'indexing', 'aggregating',
	    'merging'));
ALTER TABLE job_parts ADD COLUMN phase text
	CHECK (phase IN ('reading', 'indexing', 'aggregating', 'merging'));

-- The runner writes it as it writes the counts (002_runner.sql lists
-- the columns of a job's run it may write; job_parts is the runner's,
-- 008_parts.sql).  The web role writes no column of jobs.
GRANT UPDATE (phase) ON jobs TO tripline_runner;

RESET ROLE;
