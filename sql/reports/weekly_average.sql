-- weekly_average.sql: the weekly average number of trips for an area
-- (GET /api/reports/weekly-average; docs/reports.md).
--
--   psql -v minlon=14.40 -v minlat=50.05 -v maxlon=14.45 -v maxlat=50.10 \
--        [-v match=origin|destination|both|either] [-v from=2018-05-07] \
--        [-v to=2018-05-27] -f sql/reports/weekly_average.sql
--   psql -v region=Prague [-v from=...] [-v to=...] -f sql/reports/weekly_average.sql
--
-- The FastCGI program runs this same file: it skips the psql lines that
-- start with a backslash and sends :'name' as a parameter ($n), NULL for
-- a parameter the request leaves out (here '' stands for that).
\if :{?region} \else \set region '' \endif
\if :{?minlon} \else \set minlon '' \endif
\if :{?minlat} \else \set minlat '' \endif
\if :{?maxlon} \else \set maxlon '' \endif
\if :{?maxlat} \else \set maxlat '' \endif
\if :{?match} \else \set match '' \endif
\if :{?from} \else \set from '' \endif
\if :{?to} \else \set to '' \endif
-- trip_rims is named here, though only the function reads it, so that
-- this statement locks it before taking its snapshot: a merge of rim
-- tables then commits before that snapshot or after this statement,
-- never in between (sql/migrations/016_report_snapshots.sql).
-- The numbers and dates go through report_arg, so that a value that is
-- not one is an error naming its variable, as the API's 400 names its
-- parameter (sql/migrations/021_groups_audit.sql).
SELECT r.* FROM tripline.report_weekly_average(
	NULLIF(:'region', ''),
	tripline.report_arg('minlon', :'minlon', 0::float8),
	tripline.report_arg('minlat', :'minlat', 0::float8),
	tripline.report_arg('maxlon', :'maxlon', 0::float8),
	tripline.report_arg('maxlat', :'maxlat', 0::float8),
	NULLIF(:'match', ''),
	tripline.report_arg('from', :'from', NULL::date),
	tripline.report_arg('to', :'to', NULL::date)) AS r
WHERE NOT EXISTS (SELECT FROM tripline.trip_rims WHERE false);
