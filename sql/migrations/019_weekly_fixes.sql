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

RESET ROLE;
