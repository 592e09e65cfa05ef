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
SELECT r.* FROM tripline.report_weekly_average(
	NULLIF(:'region', ''),
	NULLIF(:'minlon', '')::float8, NULLIF(:'minlat', '')::float8,
	NULLIF(:'maxlon', '')::float8, NULLIF(:'maxlat', '')::float8,
	NULLIF(:'match', ''),
	NULLIF(:'from', '')::date, NULLIF(:'to', '')::date) AS r
WHERE NOT EXISTS (SELECT FROM tripline.trip_rims WHERE false);
