-- 019_weekly_fixes.sql: fixes found by the audit of the weekly average
-- and the two questions (docs/reports.md).
--
-- The two questions break ties by name "in ascending order (C
-- collation)", but they sorted by the columns' collation, which is the
-- database's default: C.UTF-8 where scripts/stack.sh and docker/db.sh
-- run initdb, en_US.UTF-8 on a default Amazon RDS database (the cloud
-- deployment of docs/cloud.md).  There, of two top regions with equal
-- counts, "abc" came before "Zed" (C puts "Zed" first), so top=1 named
-- another region and another datasource.  Each name order now says
-- COLLATE "C" (byte order, which for UTF-8 is code point order).
-- test_report_ties_in_c_order gives the columns a non-C collation and
-- fails without this.
--
-- The weekly average listed its weeks with generate_series(lo, hi,
-- interval '7 days') of two dates, which PostgreSQL resolves to the
-- timestamptz form (timestamptz is the preferred type of the date and
-- time category): each step added 7 days in the session's TimeZone.  In
-- a zone whose offset changed in the span (from local mean time to a
-- standard offset, for most: Asia/Kolkata, Europe/Moscow, America/Toronto,
-- America/Sao_Paulo, 32 of 116 zones tried) the values drifted off
-- midnight (in Asia/Kolkata to 00:08:50 from 1906-01-01), so the last one
-- passed `hi` at midnight and the last week was dropped with its trips:
-- region=Beta, trips in the weeks of
-- 1900-01-01 and 2100-12-27, gave week_count 10487 and total_trips 2
-- where brute force gives 10488 and 4, with the database's timezone set
-- to Asia/Kolkata (the server's, database's, role's or a psql user's
-- PGTZ: any of them).  The series is now of timestamp, which has no
-- zone.  test_weekly_average_whatever_the_time_zone fails without it.

SET ROLE tripline_owner;
SET search_path = tripline;

-- Question 1: from the p_top regions with the most trips (ties: name, C
-- order), the datasource with the latest trip datetime (ties: name, C
-- order).  One row; datasource and last_seen are NULL when no trip is
-- loaded.
CREATE OR REPLACE FUNCTION report_latest_datasource(p_top integer)
RETURNS TABLE (top integer, regions json, datasource text, last_seen timestamp)
LANGUAGE plpgsql STABLE SET jit = off AS $$
BEGIN
	IF p_top IS NULL OR p_top < 1 OR p_top > 1000 THEN
		PERFORM tripline.report_bad_param('top', 'not within 1 to 1000');
	END IF;
	RETURN QUERY
	WITH r AS (
		SELECT x.region_id, g.name, sum(x.trips)::bigint AS trips
		FROM tripline.region_datasources x
		JOIN tripline.regions g ON g.id = x.region_id
		GROUP BY x.region_id, g.name
		ORDER BY trips DESC, g.name COLLATE "C"
		LIMIT p_top
	), l AS (
		SELECT d.name, max(x.last_ts) AS last_ts
		FROM tripline.region_datasources x
		JOIN r ON r.region_id = x.region_id
		JOIN tripline.datasources d ON d.id = x.datasource_id
		GROUP BY d.name
		ORDER BY last_ts DESC, d.name COLLATE "C"
		LIMIT 1
	)
	SELECT p_top,
	       coalesce((SELECT json_agg(json_build_object('region', r.name,
	           'trips', r.trips) ORDER BY r.trips DESC, r.name COLLATE "C")
	           FROM r), '[]'),
	       l.name, l.last_ts
	FROM (SELECT 1) AS one LEFT JOIN l ON true;
END $$;

-- Question 2: the regions where a datasource has trips, by name (C
-- order, as question 1's ties).
CREATE OR REPLACE FUNCTION report_datasource_regions(p_datasource text)
RETURNS TABLE (region text, trips bigint, first_seen timestamp, last_seen timestamp)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	ds smallint;
BEGIN
	IF p_datasource IS NULL THEN
		PERFORM tripline.report_bad_param('datasource', 'missing');
	END IF;
	ds := tripline.datasource_id_of(p_datasource);
	RETURN QUERY
	SELECT g.name, x.trips, x.first_ts, x.last_ts
	FROM tripline.region_datasources x
	JOIN tripline.regions g ON g.id = x.region_id
	WHERE x.datasource_id = ds
	ORDER BY g.name COLLATE "C";
END $$;

-- GET /api/reports/weekly-average: see docs/reports.md.  The span of
-- weeks is every ISO week from the week of the earliest trip loaded (any
-- region) to the week of the latest; date_from / date_to, when given,
-- set its first / last week instead (the weeks holding those dates).
CREATE OR REPLACE FUNCTION report_weekly_average(p_region text, p_minlon float8,
    p_minlat float8, p_maxlon float8, p_maxlat float8, p_match text,
    p_from date, p_to date)
RETURNS TABLE (area json, match text, weeks json, total_trips bigint,
    week_count integer, weekly_average float8)
LANGUAGE plpgsql STABLE SET jit = off AS $$
DECLARE
	bbox boolean := p_minlon IS NOT NULL OR p_minlat IS NOT NULL OR
	    p_maxlon IS NOT NULL OR p_maxlat IS NOT NULL;
	lo date;
	hi date;
	rid integer;
	n_o bigint;
	n_d bigint;
	wk date[];
	cnt bigint[];
BEGIN
	IF bbox AND p_region IS NOT NULL THEN
		PERFORM tripline.report_bad_param('bbox', 'give bbox or region, not both');
	ELSIF NOT bbox AND p_region IS NULL THEN
		PERFORM tripline.report_bad_param('bbox', 'give bbox or region');
	ELSIF p_region IS NOT NULL AND p_match IS NOT NULL THEN
		PERFORM tripline.report_bad_param('match', 'applies to bbox only');
	ELSIF bbox AND p_match IS NOT NULL AND
	    p_match NOT IN ('origin', 'destination', 'both', 'either') THEN
		PERFORM tripline.report_bad_param('match',
		    format('%s is not origin, destination, both or either', to_json(p_match)));
	ELSIF p_from > p_to THEN
		PERFORM tripline.report_bad_param('to', 'before from');
	END IF;
	IF bbox THEN
		PERFORM tripline.report_check_bbox(p_minlon, p_minlat, p_maxlon, p_maxlat);
	ELSE
		rid := tripline.region_id_of(p_region);
	END IF;

	lo := coalesce(tripline.iso_week(p_from), (SELECT min(w.week) FROM tripline.region_weeks w));
	hi := coalesce(tripline.iso_week(p_to), (SELECT max(w.week) FROM tripline.region_weeks w));

	IF NOT bbox THEN
		SELECT array_agg(w.week), array_agg(w.trips) INTO wk, cnt
		FROM tripline.region_weeks w
		WHERE w.region_id = rid AND w.week BETWEEN lo AND hi;
		area := json_build_object('region', p_region);
	ELSE
		area := json_build_object('bbox',
		    json_build_array(p_minlon, p_minlat, p_maxlon, p_maxlat));
		match := coalesce(p_match, 'origin');
		IF match IN ('origin', 'either') OR match = 'both' THEN
			SELECT array_agg(b.week), array_agg(b.trips) INTO wk, cnt
			FROM tripline.weekly_bbox(0, p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi) b;
		END IF;
		IF match IN ('destination', 'either', 'both') THEN
			n_o := (SELECT sum(x) FROM unnest(cnt) x);
			SELECT array_agg(b.week) || wk, array_agg(b.trips) || cnt,
			       sum(b.trips)
			INTO wk, cnt, n_d
			FROM tripline.weekly_bbox(1, p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi) b;
		END IF;
		IF match = 'both' THEN
			-- Read the smaller side's trips; none on either side: none.
			IF coalesce(n_o, 0) = 0 OR coalesce(n_d, 0) = 0 THEN
				wk := NULL;
				cnt := NULL;
			ELSE
				SELECT array_agg(b.week), array_agg(b.trips) INTO wk, cnt
				FROM tripline.weekly_bbox_both(p_minlon, p_minlat,
				    p_maxlon, p_maxlat, lo, hi,
				    CASE WHEN n_o <= n_d THEN 0 ELSE 1 END) b;
			END IF;
		ELSIF match = 'either' AND coalesce(n_o, 0) > 0 AND coalesce(n_d, 0) > 0 THEN
			-- |O or D| = |O| + |D| - |O and D|
			SELECT array_agg(b.week) || wk, array_agg(-b.trips) || cnt
			INTO wk, cnt
			FROM tripline.weekly_bbox_both(p_minlon, p_minlat, p_maxlon,
			    p_maxlat, lo, hi, CASE WHEN n_o <= n_d THEN 0 ELSE 1 END) b;
		END IF;
	END IF;

	SELECT coalesce(json_agg(json_build_object('week_start', g.d,
	           'trips', coalesce(c.n, 0)) ORDER BY g.d), '[]'),
	       coalesce(sum(c.n), 0), count(g.d)
	INTO weeks, total_trips, week_count
	-- timestamp, not timestamptz (what generate_series of two dates
	-- resolves to): days counted without a time zone (see the top).
	FROM (SELECT generate_series(lo::timestamp, hi::timestamp,
	    interval '7 days')::date AS d) g
	LEFT JOIN (SELECT x.w, sum(x.n) AS n FROM unnest(wk, cnt) AS x(w, n)
	    GROUP BY x.w) c ON c.w = g.d;
	weekly_average := CASE WHEN week_count = 0 THEN 0
	    ELSE total_trips::float8 / week_count END;
	RETURN NEXT;
END $$;


RESET ROLE;
