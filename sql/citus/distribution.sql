-- distribution.sql: how tripline's schema would be laid out on Citus
-- (distributed PostgreSQL, https://docs.citusdata.com/).  ON PAPER ONLY:
-- Citus is not packaged for Debian 12, so this file has never run here.
-- Run it as the owner on the coordinator after the migrations, before
-- loading any trip.  docs/scalability.md explains each choice and how each
-- report query runs.

SET search_path = tripline;

-- Small, read by every query, written rarely: copied to every worker.
SELECT create_reference_table('settings');
SELECT create_reference_table('regions');
SELECT create_reference_table('datasources');

-- The queue stays on the coordinator (a local table): it is tiny, and
-- FOR UPDATE SKIP LOCKED and LISTEN/NOTIFY need one place.
--   jobs, job_events, job_rejects: not distributed.

-- Trips: distributed by origin cell at the aggregate's coarsest level, so
-- a box's rim query (trips of a few origin cells) goes to the few shards
-- that hold those cells, and a load spreads over every shard.  A
-- distribution column must be a plain column: origin_cell >> 40 is stored
-- as its own column in the Citus variant of the loader.
ALTER TABLE trips ADD COLUMN IF NOT EXISTS origin_cell4 integer;
SELECT create_distributed_table('trips', 'origin_cell4', shard_count => 32);

-- Aggregates: distributed by the same cell key where they have one, and
-- colocated with trips, so a box query's inner cells and its rim run on the
-- same worker without a network join.
SELECT create_distributed_table('cell_weeks', 'ix', colocate_with => 'none');
-- Per-region aggregates are small (regions × weeks): reference tables.
SELECT create_reference_table('region_weeks');
SELECT create_reference_table('region_datasources');
-- Trip groups: distributed by region, so one region's top groups are one
-- shard's ordered index walk; a bbox over groups fans out to every shard
-- and merges the top N on the coordinator.
SELECT create_distributed_table('trip_groups', 'region_id');
