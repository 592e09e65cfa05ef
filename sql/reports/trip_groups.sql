-- trip_groups.sql: groups of similar trips, largest first
-- (GET /api/reports/trip-groups; docs/reports.md).
--
--   psql [-v region=Prague | -v minlon=.. -v minlat=.. -v maxlon=.. -v maxlat=..] \
--        [-v min_trips=2] [-v limit=100] -f sql/reports/trip_groups.sql
--
-- The FastCGI program runs this same file (see weekly_average.sql).
\if :{?region} \else \set region '' \endif
\if :{?minlon} \else \set minlon '' \endif
\if :{?minlat} \else \set minlat '' \endif
\if :{?maxlon} \else \set maxlon '' \endif
\if :{?maxlat} \else \set maxlat '' \endif
\if :{?min_trips} \else \set min_trips '' \endif
\if :{?limit} \else \set limit '' \endif
-- The numbers go through report_arg, so that a value that is not one
-- is an error naming its variable, as the API's 400 names its parameter
-- (sql/migrations/021_groups_audit.sql).
-- group_stage is named here, though only the function reads it, so that
-- this statement locks it before taking its snapshot: the stage of a job
-- whose groups the snapshot sees pending is not dropped under it
-- (sql/migrations/017_groups_later.sql).
SELECT r.* FROM tripline.report_trip_groups(
	NULLIF(:'region', ''),
	tripline.report_arg('minlon', :'minlon', 0::float8),
	tripline.report_arg('minlat', :'minlat', 0::float8),
	tripline.report_arg('maxlon', :'maxlon', 0::float8),
	tripline.report_arg('maxlat', :'maxlat', 0::float8),
	tripline.report_arg('min_trips', :'min_trips', 0),
	tripline.report_arg('limit', :'limit', 0)) AS r
WHERE NOT EXISTS (SELECT FROM tripline.group_stage WHERE false);
