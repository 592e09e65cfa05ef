-- datasource_regions.sql: the regions a datasource has appeared in
-- (GET /api/reports/datasource-regions; docs/reports.md).
--
--   psql -v datasource=cheap_mobile -f sql/reports/datasource_regions.sql
--
-- The FastCGI program runs this same file (see weekly_average.sql).
\if :{?datasource} \else \set datasource cheap_mobile \endif
-- An empty variable is "not given", as in the other files.
SELECT * FROM tripline.report_datasource_regions(NULLIF(:'datasource', ''));
