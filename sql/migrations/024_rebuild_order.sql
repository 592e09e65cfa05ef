-- 024_rebuild_order.sql: agg_rebuild() takes its locks in the order the
-- load and the idle runner take them, so that it cannot deadlock with
-- them.
--
-- agg_rebuild (017_groups_later.sql) locked trips (SHARE) and then, by its
-- TRUNCATE, the aggregates (ACCESS EXCLUSIVE).  A load's last transaction
-- takes them the other way: the aggregates in agg_merge_counts (SHARE ROW
-- EXCLUSIVE), group_stage_more and groups_pending in agg_merge, then trips
-- for the ATTACH of its table (SHARE UPDATE EXCLUSIVE, PostgreSQL docs,
-- ALTER TABLE, ATTACH PARTITION).  A rebuild started while a load was
-- between the two waited for the aggregates while the load waited for
-- trips: a deadlock, which the server ends after deadlock_timeout by
-- cancelling one of them (PostgreSQL docs, 13.3.4 "Deadlocks"), the load's
-- attempt or the rebuild.  The idle runner's group merge (group_stage_merge)
-- takes trip_groups, then group_stage_more and groups_pending.
--
-- One order for all: trip_groups, cell_weeks, region_weeks,
-- region_datasources, group_stage_more, groups_pending, trips.  Each of
-- the others takes a subsequence of it.  The rebuild's body is kept as it
-- is, renamed; agg_rebuild takes the locks in that order and calls it, and
-- the body's own LOCK of trips then finds the lock it needs already held.

SET ROLE tripline_owner;
SET search_path = tripline;

ALTER FUNCTION agg_rebuild() RENAME TO agg_rebuild_all;

CREATE FUNCTION agg_rebuild() RETURNS void
LANGUAGE plpgsql SET search_path = tripline, pg_temp AS $$
BEGIN
	LOCK TABLE tripline.trip_groups, tripline.cell_weeks,
	    tripline.region_weeks, tripline.region_datasources,
	    tripline.group_stage_more, tripline.groups_pending
	    IN ACCESS EXCLUSIVE MODE;
	LOCK TABLE tripline.trips IN SHARE MODE;
	PERFORM tripline.agg_rebuild_all();
END $$;

REVOKE EXECUTE ON FUNCTION agg_rebuild(), agg_rebuild_all()
    FROM PUBLIC, tripline_web, tripline_runner;

RESET ROLE;
