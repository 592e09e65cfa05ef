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
-- 2. trip_groups.sql cast its psql variables itself (::integer,
--    ::float8): `-v min_trips=abc` answered `invalid input syntax for
--    type integer: "abc"`, `-v limit=99999999999` `value ... is out of
--    range for type integer`, naming no parameter, where the API names
--    it (400, invalid_params).  The file now reads them through
--    report_int_arg and report_float_arg (below), which name the
--    variable; '' is still "not given".

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

CREATE FUNCTION report_int_arg(name text, value text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN nullif(value, '')::integer;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
	PERFORM tripline.report_bad_param(name,
	    format('%s is not an integer', to_json(value)));
	RETURN NULL;
END $$;

CREATE FUNCTION report_float_arg(name text, value text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN nullif(value, '')::float8;
EXCEPTION WHEN invalid_text_representation OR numeric_value_out_of_range THEN
	PERFORM tripline.report_bad_param(name,
	    format('%s is not a number', to_json(value)));
	RETURN NULL;
END $$;

-- As every report function (003_reports.sql, "Privileges").
REVOKE EXECUTE ON FUNCTION report_int_arg(text, text),
    report_float_arg(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_int_arg(text, text),
    report_float_arg(text, text) TO tripline_web, tripline_runner;

RESET ROLE;
