-- latest_datasource.sql: from the most common regions (the top by
-- number of trips), which datasource has the latest trip datetime?
-- (GET /api/reports/latest-datasource; docs/reports.md for the ties.)
--
--   psql -v top=2 -f sql/reports/latest_datasource.sql
--
-- The FastCGI program runs this same file (see weekly_average.sql).
\if :{?top} \else \set top 2 \endif
SELECT * FROM tripline.report_latest_datasource(:'top'::integer);
