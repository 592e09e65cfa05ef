-- 020_weekly_span.sql: from and to narrow the weekly average's span,
-- never widen it.
--
-- The issue (reports, "Weekly average number of trips for an area"):
-- "The span runs from the week of the earliest trip loaded (all regions)
-- to the week of the latest, unless from/to narrow it".  Until now a date
-- outside the trips' weeks replaced the first or last week and so
-- widened the span: from=2018-01-01 over trips of May counted the
-- months before the first trip as zero weeks and divided the average by
-- them.  Now the first week is the later of the earliest trip's week and
-- from's week, the last the earlier of the latest trip's week and to's;
-- a range that misses every trip's week is the empty span (weeks [],
-- week_count 0, weekly_average 0).  test_weekly_average_http fails
-- without it.  The function is restated whole (PL/pgSQL has no partial
-- replace); only the span's two lines and their comment changed.

SET ROLE tripline_owner;
SET search_path = tripline;

-- GET /api/reports/weekly-average: see docs/reports.md.  The span of
-- weeks is every ISO week from the week of the earliest trip loaded (any
-- region) to the week of the latest; p_from / p_to, when given, narrow
-- it to the weeks holding those dates, never widen it.
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

	lo := (SELECT min(w.week) FROM tripline.region_weeks w);
	hi := (SELECT max(w.week) FROM tripline.region_weeks w);
	-- GREATEST and LEAST ignore NULLs: a date not given leaves its end;
	-- no trip at all leaves both NULL, and the span empty.
	IF lo IS NOT NULL THEN
		lo := greatest(lo, tripline.iso_week(p_from));
		hi := least(hi, tripline.iso_week(p_to));
	END IF;

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
