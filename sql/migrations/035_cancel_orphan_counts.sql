-- 035_cancel_orphan_counts.sql: a job cancelled after its runner died
-- shows no rows loaded.
--
-- job_cancel (023_web_calls.sql) ends at once a running job whose lease
-- expired (its runner died), and a split job whose running parts' leases
-- all did.  It set only the state and the end time, so the job kept the
-- counts its dead attempt's progress had written: GET /api/jobs/{id}
-- answered "cancelled" with rows_loaded in the millions, though none of
-- those trips exists (the dead load transaction left nothing), against
-- the API's "0 when it failed or was cancelled" (docs/openapi.yaml; found
-- by a review of the docs).  It now ends the job as the runner's
-- cancelled end does: 0 rows loaded and rejected, no lease and no phase
-- (bytes_read, how far the reading got, stays, as the runner's end
-- keeps it).  The jobs page forced 0 itself, so showed no difference.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION job_cancel(job integer, OUT outcome text, OUT job_row jobs)
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
		-- As the runner's cancelled end (jobs/runner_db.c): nothing of
		-- it is kept, so no rows counted; no lease, no phase.
		UPDATE tripline.jobs SET state = 'cancelled', finished_at = now(),
		    rows_loaded = 0, rows_rejected = 0,
		    lease_owner = NULL, lease_until = NULL, phase = NULL
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

RESET ROLE;
