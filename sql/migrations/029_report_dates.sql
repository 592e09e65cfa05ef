-- 029_report_dates.sql: a psql variable that is a date is read as the
-- API reads it, YYYY-MM-DD of the years 1900 to 2100.
--
-- report_arg (021) converted a date variable with PostgreSQL's date
-- input, which takes far more than the docs' YYYY-MM-DD: `psql -v
-- from=05/10/2018 -f sql/reports/weekly_average.sql` answered for May 10
-- (the session's DateStyle, MDY), where a reader of 10 May writes 5
-- October; `-v from=today`, `epoch`, `infinity`, `20180510` and `May 10
-- 2018` were taken too, and `-v from=1800-01-01` or `10000-01-01`, whose
-- years the API refuses (400, "must be a date YYYY-MM-DD of the years
-- 1900 to 2100", cgi/param.c).  docs/reports.md promises the psql user
-- the API's checks.  Now a date variable must be written YYYY-MM-DD (a
-- real date, as before: "2018-02-30" is not one) and lie in the years
-- 1900 to 2100; anything else is an error naming the variable (SQLSTATE
-- 22023).  The API sends dates it has checked already, so its answers
-- do not change.  test_reports.test_trip_groups_psql_errors_name_the_parameter
-- fails without it.

SET ROLE tripline_owner;
SET search_path = tripline;

-- A psql variable's value as the type of kind (0 for integer, 0::float8
-- for float8, NULL::date for date; $0, the result, has that type), ''
-- and NULL as NULL; a value the type does not take is an error naming
-- the variable.  A date is YYYY-MM-DD of the years 1900 to 2100.
CREATE OR REPLACE FUNCTION report_arg(name text, value text, kind anyelement)
RETURNS anyelement LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	r ALIAS FOR $0;
	is_date boolean := pg_typeof(kind) = 'date'::regtype;
BEGIN
	IF is_date AND value <> '' AND value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
		PERFORM tripline.report_bad_param(name,
		    format('%s is not a date YYYY-MM-DD', to_json(value)));
	END IF;
	-- Assigned in the block, so that a failed conversion is caught
	-- (RETURN converts after it).
	r := nullif(value, '');
	-- In a block of its own: the expression is prepared only for a date.
	IF is_date AND r IS NOT NULL THEN
		IF NOT (extract(year FROM r) BETWEEN 1900 AND 2100) THEN
			PERFORM tripline.report_bad_param(name, format(
			    '%s is not within the years 1900 to 2100', to_json(value)));
		END IF;
	END IF;
	RETURN r;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR
    invalid_datetime_format OR datetime_field_overflow THEN
	PERFORM tripline.report_bad_param(name, format('%s is not %s', to_json(value),
	    CASE pg_typeof(kind) WHEN 'integer'::regtype THEN 'an integer'
	    WHEN 'date'::regtype THEN 'a date YYYY-MM-DD'
	    ELSE 'a number' END));
	RETURN NULL;
END $$;

RESET ROLE;
