-- 030_names_sweep_row.sql: a sweep without the row of name_sweeps does
-- nothing.
--
-- names_sweep (026) began with IF NOT (SELECT added FROM name_sweeps):
-- with the one row deleted by hand that is NOT NULL, which IF takes as
-- false, so the sweep went on, removed the unused names and raised no
-- epoch (its UPDATE found no row).  A runner that kept the ids of those
-- names then used them once the row was back: trips naming a removed
-- datasource, or one whose id was given again.  Loads already stop
-- without the row (names_hold returns NULL: "tripline.name_sweeps has no
-- row"); sweeps now wait for it too.  The function is restated whole,
-- as migrations here do; CREATE OR REPLACE keeps its grants.
SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION names_sweep() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, tripline, pg_temp AS $$
DECLARE
	nd integer;
	nr integer;
BEGIN
	IF NOT coalesce((SELECT s.added FROM tripline.name_sweeps s), false)
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

RESET ROLE;
