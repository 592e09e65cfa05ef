-- questions.sql: the two questions, answered from the loaded trips.
--
--   . var/env && psql -f sql/questions.sql
--
-- Each answer is the report file the HTTP API runs too (one source of
-- truth): \ir includes it with the variables set here.  What the files
-- call, tripline.report_latest_datasource and
-- tripline.report_datasource_regions, is plain SQL over the aggregates
-- the runner keeps (sql/migrations/003_reports.sql); docs/reports.md
-- says how ties and "latest" are decided.

\echo 'From the two most commonly appearing regions, which is the latest datasource?'
\set top 2
\ir reports/latest_datasource.sql

\echo 'What regions has the "cheap_mobile" datasource appeared in?'
\set datasource cheap_mobile
\ir reports/datasource_regions.sql
