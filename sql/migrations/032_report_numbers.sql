-- 032_report_numbers.sql: a psql variable that is a number is read with
-- the API's grammar (lib/num.c), as 029 did for dates.
--
-- report_arg (029) converted a float8 variable with PostgreSQL's own
-- input, which takes more than the API: `psql -v minlon=0x0 -v
-- maxlon=0x1p4 ...` answered for the box [0, 16] (a hex float, which the
-- API refuses: 400 "must be four finite numbers"), `-v minlon=' 14.4'`
-- took the space, and `-v minlon=infinity -v maxlon=1` was said to be
-- "minimum above maximum"; while `-v minlon=1e-400`, which the API reads
-- as 0 (an underflow is harmless, lib/num.c), was "not a number".
-- docs/reports.md says a number has one grammar everywhere.  Now a float8
-- variable must be what num_parse_double() takes: an optional '-',
-- digits with an optional fraction (".5" and "5." too), an optional
-- exponent, at most 64 bytes, finite; what underflows is 0.  And
-- report_check_bbox, which a caller of the functions may reach with any
-- float8, calls an infinite bound out of range.  The API sends numbers
-- it has read already, so its answers do not change.
-- test_reports.test_trip_groups_psql_errors_name_the_parameter fails
-- without it.

SET ROLE tripline_owner;
SET search_path = tripline;

-- 029's conversion is kept, renamed (as 024 did with agg_rebuild), and
-- report_arg checks a float8's text before it: one conversion, not two
-- copies of it.
ALTER FUNCTION report_arg(text, text, anyelement) RENAME TO report_arg_convert;

CREATE FUNCTION report_arg(name text, value text, kind anyelement)
RETURNS anyelement LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF pg_typeof(kind) = 'double precision'::regtype AND value <> '' THEN
		IF octet_length(value) > 64 OR
		    value !~ '^-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$' THEN
			PERFORM tripline.report_bad_param(name,
			    format('%s is not a number', to_json(value)));
		END IF;
		-- At most half the least denormal (2^-1075): 0, as strtod
		-- rounds it (float8 input refuses it).  numeric reads this
		-- grammar.
		IF abs(value::numeric) <= 2.4703282292062327208828439643e-324 THEN
			value := '0';
		END IF;
	END IF;
	RETURN tripline.report_arg_convert(name, value, kind);
EXCEPTION WHEN numeric_value_out_of_range THEN
	-- An exponent beyond numeric's range: a negative one underflows to
	-- 0 (lib/num.c), a positive one overflows.
	IF value ~ '[eE]-' THEN
		RETURN tripline.report_arg_convert(name, '0', kind);
	END IF;
	PERFORM tripline.report_bad_param(name,
	    format('%s is not a number', to_json(value)));
	RETURN NULL;
END $$;

-- As every report function (003_reports.sql, "Privileges"); the renamed
-- conversion keeps the grants it had.
REVOKE EXECUTE ON FUNCTION report_arg(text, text, anyelement) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION report_arg(text, text, anyelement)
    TO tripline_web, tripline_runner;

-- As 021, with each bound in its range: an infinite one is out of it.
CREATE OR REPLACE FUNCTION report_check_bbox(minlon float8, minlat float8,
    maxlon float8, maxlat float8) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF minlon IS NULL OR minlat IS NULL OR maxlon IS NULL OR maxlat IS NULL
	    OR 'NaN' IN (minlon, minlat, maxlon, maxlat) THEN
		PERFORM tripline.report_bad_param('bbox', 'needs four numbers');
	ELSIF NOT (minlon BETWEEN -180 AND 180 AND maxlon BETWEEN -180 AND 180 AND
	    minlat BETWEEN -90 AND 90 AND maxlat BETWEEN -90 AND 90) THEN
		PERFORM tripline.report_bad_param('bbox', 'out of range');
	ELSIF minlon > maxlon OR minlat > maxlat THEN
		PERFORM tripline.report_bad_param('bbox', 'minimum above maximum');
	END IF;
END $$;

RESET ROLE;
