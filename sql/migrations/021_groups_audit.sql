-- 021_groups_audit.sql: what an audit of the trip-groups report found.
--
-- 1. report_check_bbox (003) called report_bad_param unqualified.  The
--    web role's search_path holds tripline (000_roles.sql), the psql user
--    of the README (`. var/env && psql`, tripline_admin) has the default
--    one, so `psql -v minlon=1 -f sql/reports/trip_groups.sql` answered
--    "function report_bad_param(unknown, unknown) does not exist" where
--    the API says "bbox: needs four numbers".  Both report files
--    (trip_groups.sql, weekly_average.sql) reach it.  NaN, which sorts
--    above every number in PostgreSQL, passed the range check and was
--    called "minimum above maximum"; it is not a number.
--
-- 2. trip_groups.sql and weekly_average.sql cast their psql variables
--    themselves (::integer, ::float8, ::date): `-v min_trips=abc`
--    answered `invalid input syntax for type integer: "abc"`, `-v
--    limit=99999999999` `value ... is out of range for type integer`,
--    `-v from=2018-02-30` `date/time field value out of range`, naming
--    no parameter, where the API names it (400, invalid_params).  The
--    files now read them through report_arg (below), which names the
--    variable; '' is still "not given".
--
-- 3. A group's centroid was printed to 15 significant digits to drop the
--    ulp of sum / n (018).  But the runner sums the coordinates one by
--    one (jobs/aggregate.c), and each addition may round: 70 trips from
--    lon -0.1 printed -0.0999999999999999.  In a simulation (1 to 7 decimal
--    coordinates, n equal points summed in order) 15 digits gave the
--    point back for 98% of groups of 30, 80% of 70, 14% of 1,000; 9
--    decimal places for all up to 10,000.  A 1e-9 degree is 0.1 mm,
--    far below any position's accuracy; one trip is still printed as
--    read.  group_in_box compares this same value, so the box filter
--    keeps agreeing with the printed centroid.  The report's margins
--    (1e-9 in group_in_box's first test, a cell elsewhere) stay above
--    the 5e-10 this rounding moves a mean.

SET ROLE tripline_owner;
SET search_path = tripline;

CREATE OR REPLACE FUNCTION report_check_bbox(minlon float8, minlat float8,
    maxlon float8, maxlat float8) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF minlon IS NULL OR minlat IS NULL OR maxlon IS NULL OR maxlat IS NULL
	    OR 'NaN' IN (minlon, minlat, maxlon, maxlat) THEN
		PERFORM tripline.report_bad_param('bbox', 'needs four numbers');
	ELSIF NOT (minlon >= -180 AND maxlon <= 180 AND minlat >= -90 AND maxlat <= 90) THEN
		PERFORM tripline.report_bad_param('bbox', 'out of range');
	ELSIF minlon > maxlon OR minlat > maxlat THEN
		PERFORM tripline.report_bad_param('bbox', 'minimum above maximum');
	END IF;
END $$;

-- A psql variable's value as the type of kind (0 for integer, 0::float8
-- for float8, NULL::date for date; $0, the result, has that type), ''
-- and NULL as NULL; a value the type does not take is an error naming
-- the variable.
CREATE FUNCTION report_arg(name text, value text, kind anyelement)
RETURNS anyelement LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	r ALIAS FOR $0;
BEGIN
	-- Assigned in the block, so that a failed conversion is caught
	-- (RETURN converts after it).
	r := nullif(value, '');
	RETURN r;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range OR
    invalid_datetime_format OR datetime_field_overflow THEN
	PERFORM tripline.report_bad_param(name, format('%s is not %s', to_json(value),
	    CASE pg_typeof(kind) WHEN 'integer'::regtype THEN 'an integer'
	    WHEN 'date'::regtype THEN 'a date YYYY-MM-DD'
	    ELSE 'a number' END));
	RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION group_mean(total float8, n bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN n = 1 THEN total ELSE round((total / n)::numeric, 9)::float8 END
$$;

-- As every report function (003_reports.sql, "Privileges").
REVOKE EXECUTE ON FUNCTION report_arg(text, text, anyelement) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_arg(text, text, anyelement)
    TO tripline_web, tripline_runner;

RESET ROLE;
