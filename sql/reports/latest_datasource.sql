-- latest_datasource.sql: from the most common regions (the top by
-- number of trips), which datasource has the latest trip datetime?
-- (GET /api/reports/latest-datasource; docs/reports.md for the ties.)
--
--   psql -v top=2 -f sql/reports/latest_datasource.sql
--
-- The FastCGI program runs this same file (see weekly_average.sql).
\if :{?top} \else \set top '' \endif
-- top goes through report_arg, so that a value that is not a number is
-- an error naming its variable, as the API's 400 names its parameter
-- (sql/migrations/021_groups_audit.sql); left out or empty, it is 2.
SELECT * FROM tripline.report_latest_datasource(
	coalesce(tripline.report_arg('top', :'top', 0), 2));
