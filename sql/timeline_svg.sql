-- timeline_svg(): the status-page picture, checked through its structure
-- (xpath) rather than byte for byte: rows and their order, colours,
-- tooltips, availability, axis labels in the session time zone, escaping,
-- and bad input.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- Dependencies recorded by hand (probe none: monitored all the time).
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_a', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b']) > 0;
-- 2024-03-10 (UTC):
--  10:00-11:00 bureau_a down, 10:30-10:45 bureau_b down: account opening
--              degraded 10:00-10:30, down 10:30-10:45, degraded 10:45-11:00
--  14:00-14:20 core down, under maintenance 14:00-14:10: blue, then red,
--              for core and account opening alike
--  16:00-16:30 core degraded
--  18:00-19:00 bureau_b under maintenance while up: blue
SELECT count(*) FROM (VALUES
	(record_outage('bureau_a', '2024-03-10 10:00', '2024-03-10 11:00')),
	(record_outage('bureau_b', '2024-03-10 10:30', '2024-03-10 10:45')),
	(record_outage('core', '2024-03-10 14:00', '2024-03-10 14:20')),
	(record_outage('core', '2024-03-10 16:00', '2024-03-10 16:30', 'degraded')),
	(add_maintenance('core', '[2024-03-10 14:00, 2024-03-10 14:10)')),
	(add_maintenance('bureau_b', '[2024-03-10 18:00, 2024-03-10 19:00)'))) v;

-- x(svg, path): xpath over the SVG namespace, as text
CREATE FUNCTION pg_temp.x(svg text, path text) RETURNS text[]
LANGUAGE sql AS $$
	SELECT xpath(path, svg::xml, ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']])::text[]
$$;
-- The pictures under test, by name (the period's bounds carry their offset,
-- so that every time zone draws the same instants)
CREATE TEMP TABLE pic (name text PRIMARY KEY, svg text);
INSERT INTO pic VALUES
	('all', timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)')),
	('two', timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)', ARRAY['account_opening', 'core']));

-- A standalone SVG 1.1 document
SELECT name, xml_is_well_formed_document(svg) AS well_formed,
	   svg LIKE '<?xml version="1.0" encoding="UTF-8"?>' || E'\n<svg xmlns="http://www.w3.org/2000/svg" version="1.1" %' AS svg_root,
	   pg_temp.x(svg, '/s:svg/@width') AS width, pg_temp.x(svg, '/s:svg/@height') AS height,
	   pg_temp.x(svg, '/s:svg/@viewBox') AS viewbox, svg ~ '^[\x01-\x7e]*$' AS ascii
FROM pic ORDER BY name;
-- and the same for the same data
SELECT timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)') = svg AS deterministic
FROM pic WHERE name = 'all';

-- A row per target: all of them (dependencies, then capabilities, each by
-- name), or those asked for, in that order
SELECT name, pg_temp.x(svg, '//s:g[starts-with(@class, "row ")]/s:text[1]/text()') AS rows,
	   pg_temp.x(svg, '//s:g[starts-with(@class, "row ")]/@class') AS kinds
FROM pic ORDER BY name;

-- Each row's runs: colour by state, maintenance blue over any state,
-- outages drawn last; a tooltip with start, end and duration on each
SELECT r.* FROM pic,
	unnest(pg_temp.x(svg, '//s:g[s:text[1] = "core"]/s:rect/@class'),
		   pg_temp.x(svg, '//s:g[s:text[1] = "core"]/s:rect/@fill'),
		   pg_temp.x(svg, '//s:g[s:text[1] = "core"]/s:rect/s:title/text()')) AS r(class, fill, title)
WHERE name = 'all';
SELECT r.* FROM pic,
	unnest(pg_temp.x(svg, '//s:g[s:text[1] = "account_opening"]/s:rect/@class'),
		   pg_temp.x(svg, '//s:g[s:text[1] = "account_opening"]/s:rect/@fill'),
		   pg_temp.x(svg, '//s:g[s:text[1] = "account_opening"]/s:rect/s:title/text()')) AS r(class, fill, title)
WHERE name = 'all';
SELECT r.* FROM pic,
	unnest(pg_temp.x(svg, '//s:g[s:text[1] = "bureau_b"]/s:rect/@class'),
		   pg_temp.x(svg, '//s:g[s:text[1] = "bureau_b"]/s:rect/@fill')) AS r(class, fill)
WHERE name = 'all';
-- Every outage has a tooltip naming its start, end and duration
SELECT count(*) AS outages,
	   count(*) FILTER (WHERE t ~ '^[a-z_]+: (down|degraded)( during maintenance)? from 2024-03-10 \d\d:\d\d:00 UTC to 2024-03-10 \d\d:\d\d:00 UTC \((\d+ h ?)?(\d+ min)?\)$') AS with_start_end_duration
FROM pic, unnest(pg_temp.x(svg, '//s:rect[contains(@class, " down") or contains(@class, " degraded")]/s:title/text()')) t
WHERE name = 'all';
-- The colours: bars by fill over the whole picture, and the legend
SELECT fill, count(*) AS bars
FROM pic, unnest(pg_temp.x(svg, '//s:rect[starts-with(@class, "run ")]/@fill')) fill
WHERE name = 'all' GROUP BY fill ORDER BY fill;
SELECT pg_temp.x(svg, '//s:g[@class = "legend"]/s:text/text()') AS legend,
	   pg_temp.x(svg, '//s:g[@class = "legend"]/s:rect/@fill') AS swatches
FROM pic WHERE name = 'all';
-- Availability beside each row, as availability() has it
SELECT pg_temp.x(svg, '//s:text[@class = "availability"]/text()') AS availability FROM pic WHERE name = 'all';
SELECT array_agg(round(availability, 2) || '%' ORDER BY target_type DESC, target) AS from_availability
FROM availability('[2024-03-10 08:00+00, 2024-03-10 20:00+00)');

-- Axis labels follow the session time zone: the same instants under UTC
-- and Asia/Tokyo (+09, so the labels cross midnight and the date changes)
INSERT INTO pic VALUES ('utc', timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)', ARRAY['core']));
SET TimeZone = 'Asia/Tokyo';
INSERT INTO pic VALUES ('tokyo', timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)', ARRAY['core']));
-- Europe/Berlin springs forward at 02:00 on 2024-03-31: no 02:00 tick
SET TimeZone = 'Europe/Berlin';
INSERT INTO pic VALUES ('berlin_dst', timeline_svg('[2024-03-30 23:00+00, 2024-03-31 04:00+00)', ARRAY['core']));
SET TimeZone = 'UTC';
SELECT name, pg_temp.x(svg, '//s:text[@class = "tick"]/text()') AS ticks,
	   pg_temp.x(svg, '//s:text[@class = "tick2"]/text()') AS dates
FROM pic WHERE name IN ('utc', 'tokyo', 'berlin_dst') ORDER BY name;
SELECT name, pg_temp.x(svg, '/s:svg/s:title/text()') AS heading,
	   pg_temp.x(svg, '//s:rect[@class = "run down"]/s:title/text()') AS outage
FROM pic WHERE name IN ('utc', 'tokyo') ORDER BY name;

-- Round ticks for periods of every length: hours, days, weeks, months, years
SELECT p.len, pg_temp.x(s.svg, '//s:text[@class = "tick"]/text()') AS ticks,
	   pg_temp.x(s.svg, '//s:text[@class = "tick2"]/text()') AS second_line
FROM (VALUES ('2 hours', tstzrange('2024-03-10 08:00', '2024-03-10 10:00')),
			 ('1 day', tstzrange('2024-03-10', '2024-03-11')),
			 ('1 week', tstzrange('2024-03-04', '2024-03-11')),
			 ('1 month', tstzrange('2024-03-01', '2024-04-01')),
			 ('1 year', tstzrange('2024-01-01', '2025-01-01')),
			 ('10 years', tstzrange('2014-06-01', '2024-06-01'))) p(len, period),
	 LATERAL (SELECT timeline_svg(p.period) AS svg) s;

-- A one-second outage over ten years still shows: one pixel wide
SELECT record_outage('bureau_a', '2020-01-01 00:00', '2020-01-01 00:00:01') > 0;
SELECT pg_temp.x(svg, '//s:rect[@class = "run down"]/@width') AS width,
	   pg_temp.x(svg, '//s:rect[@class = "run down"]/s:title/text()') AS title
FROM (SELECT timeline_svg('[2015-01-01, 2025-01-01)', ARRAY['bureau_a']) AS svg) s;

-- The future is unmonitored (grey); an outage going on now says so
BEGIN;
SELECT add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00') > 0;
SELECT record_outage('msg', now() - interval '30 min') > 0;
SELECT pg_temp.x(svg, '//s:rect[starts-with(@class, "run ")]/@class') AS class,
	   pg_temp.x(svg, '//s:rect[starts-with(@class, "run ")]/@fill') AS fill,
	   substring((pg_temp.x(svg, '//s:rect[@class = "run down"]/s:title/text()'))[1] FROM ', .*$') AS outage
FROM (SELECT timeline_svg(tstzrange(now() - interval '1 hour', now() + interval '1 hour'), ARRAY['msg']) AS svg) s;
ROLLBACK;

-- Text is escaped: a time zone whose name and abbreviation hold XML's
-- markup characters still gives a well-formed picture that says them
SET TimeZone = '<A&"B>-3';
SELECT xml_is_well_formed_document(svg) AS well_formed,
	   strpos(svg, 'A&amp;&quot;B') > 0 AS escaped, strpos(svg, 'A&"B') = 0 AS nothing_raw,
	   pg_temp.x(svg, 'count(/s:svg/s:title[contains(., ''11:00:00 A&"B to '') and contains(., ''(time zone <A&"B>-3)'')])') AS heading_says_it,
	   pg_temp.x(svg, 'count(//s:rect[@class = "run down"]/s:title[contains(., ''from 2024-03-10 17:10:00 A&"B'')])') AS tooltip_says_it
FROM (SELECT timeline_svg('[2024-03-10 08:00+00, 2024-03-10 20:00+00)', ARRAY['core']) AS svg) s;
SET TimeZone = 'UTC';

-- Bad input
\set VERBOSITY terse
SELECT timeline_svg(NULL);
SELECT timeline_svg('empty');
SELECT timeline_svg('[2024-01-01,)');
SELECT timeline_svg('[2010-01-01, 2024-01-01)');
SELECT timeline_svg('[2024-01-01, 2024-01-02)', ARRAY[]::text[]);
SELECT timeline_svg('[2024-01-01, 2024-01-02)', ARRAY['core', 'nope']);
SELECT timeline_svg('[2024-01-01, 2024-01-02)', ARRAY['core', NULL]);
\set VERBOSITY default

DROP TABLE pic;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
