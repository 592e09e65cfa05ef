-- 023_web_calls.sql: the web role queues and cancels jobs through two
-- functions of the owner, and no longer writes jobs or job_events itself,
-- nor creates temporary tables.
--
-- Until now tripline_web inserted a job's six columns and its 'queued'
-- event, and cancelled by updating the job's state, end and error and
-- inserting a 'cancelled' event (cgi/h_upload.c, cgi/h_jobs.c).  Those
-- grants cover any row and any value: a subverted FastCGI program could
-- mark a failed job succeeded, give any job an error, or write events of
-- its choosing, for any job, to every open stream.  Now what it can
-- write is what these two functions write, and nothing else.
--
-- The cancel is also decided under the job's row lock.  The web program
-- tried three statements in turn (queued, orphaned, running) and, as a
-- job could move between them, looked again up to three times before it
-- gave up with a 409 "changed state while cancelling".  With the row
-- locked (FOR UPDATE: PostgreSQL docs, 13.3.2 "Row-Level Locks") the job
-- cannot move while its state is read and changed: a claim skips it
-- (SKIP LOCKED), a runner's lease or end waits for the commit and then
-- finds the row changed (EvalPlanQual, 13.2.1).

-- Nor may it make temporary tables (001_core.sql granted TEMPORARY to both
-- login roles): none of its statements needs one; the runner's aggregates
-- do, and the owner's functions run as the owner.  Revoked by the role
-- that granted it, before SET ROLE.
DO $$
BEGIN
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM tripline_web',
	    current_database());
END
$$;

SET ROLE tripline_owner;
SET search_path = tripline;

-- A new job and its 'queued' event, notified to the stream relay and to
-- the runners (tripline_jobs) at commit.  The job's state, lease, end and
-- duplicate_of take their defaults: a caller gives only what the file is.
CREATE FUNCTION job_queue(file_name text, file_source text, file_path text,
    file_bytes bigint, file_sha256 text, attempts_max integer)
RETURNS SETOF jobs
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	r tripline.jobs;
	ev bigint;
BEGIN
	INSERT INTO tripline.jobs (filename, source, path, bytes, sha256,
	    max_attempts)
	VALUES (file_name, file_source, file_path, file_bytes, file_sha256,
	    attempts_max)
	RETURNING * INTO r;
	INSERT INTO tripline.job_events (job_id, event, data)
	VALUES (r.id, 'queued', jsonb_build_object('job', r.id,
	    'state', 'queued', 'filename', r.filename, 'bytes', r.bytes))
	RETURNING id INTO ev;
	-- The payload is the event id: listeners read the event row.
	PERFORM pg_notify('tripline_events', ev::text);
	PERFORM pg_notify('tripline_jobs', r.id::text);
	RETURN NEXT r;
END $$;

-- Cancel a job: no row when there is no such job, else what was done and
-- the job as it is after it:
--   queued    cancelled at once;
--   orphaned  running, but its runner died (the lease expired), or, for a
--             split job (lease_owner 'parts', no lease of its own), every
--             running part's lease expired (bool_and is NULL, so not
--             orphaned, when no part runs): cancelled at once, as no one
--             would act on a request until a runner took the job over.
--             A dead attempt's load transaction left nothing; what a split
--             job's loaded parts left is dropped by the next idle runner
--             (022_parts_sweep.sql);
--   requested running: the runner is asked (cancel_requested), and ends
--             the job at its next lease step;
--   ended     succeeded, failed or cancelled already: nothing done.
CREATE FUNCTION job_cancel(job integer, OUT outcome text, OUT job_row jobs)
RETURNS SETOF record
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	ev bigint;
BEGIN
	SELECT * INTO job_row FROM tripline.jobs WHERE id = job FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	IF job_row.state = 'queued' THEN
		outcome := 'queued';
	ELSIF job_row.state <> 'running' THEN
		outcome := 'ended';
	ELSIF job_row.lease_until < now() OR (job_row.lease_owner = 'parts'
	    AND (SELECT bool_and(p.lease_until < now())
	         FROM tripline.job_parts p
	         WHERE p.job_id = job AND p.state = 'running')) THEN
		outcome := 'orphaned';
	ELSE
		outcome := 'requested';
	END IF;
	IF outcome IN ('queued', 'orphaned') THEN
		UPDATE tripline.jobs SET state = 'cancelled', finished_at = now()
		WHERE id = job RETURNING * INTO job_row;
		INSERT INTO tripline.job_events (job_id, event, data)
		VALUES (job, 'cancelled',
		    jsonb_build_object('job', job, 'state', 'cancelled'))
		RETURNING id INTO ev;
		PERFORM pg_notify('tripline_events', ev::text);
	ELSIF outcome = 'requested' THEN
		UPDATE tripline.jobs SET cancel_requested = true
		WHERE id = job RETURNING * INTO job_row;
	END IF;
	RETURN NEXT;
END $$;

REVOKE EXECUTE ON FUNCTION job_queue(text, text, text, bigint, text, integer),
    job_cancel(integer) FROM PUBLIC, tripline_runner;
GRANT EXECUTE ON FUNCTION job_queue(text, text, text, bigint, text, integer),
    job_cancel(integer) TO tripline_web;

-- What the web role wrote itself (001_core.sql, 022_parts_sweep.sql).
REVOKE INSERT ON jobs FROM tripline_web;
REVOKE UPDATE ON jobs FROM tripline_web;
REVOKE INSERT ON job_events FROM tripline_web;

RESET ROLE;
