-- Tracked since (SPEC section 7; issue 17 items 2 and 3).  Before its
-- tracked_since a dependency is untracked: every report counts that time
-- as unmonitored, never as up, whatever its probe kind, and capabilities
-- treat an untracked member like an unmonitored one.  Samples and outages
-- before it are refused; alter_dependency moves it back to import history,
-- never past the earliest sample or outage.  First the update from 0.2.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------------
-- The update: tracked since the first audit row, or the earliest sample or
-- outage stored before it
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch VERSION '0.2' CASCADE;
SELECT count(*) FROM (VALUES
	(depwatch.add_dependency('plain', 'other')),
	(depwatch.add_dependency('with_outage', 'other')),
	(depwatch.add_dependency('with_sample', 'other', 'passive'))) v;
SELECT depwatch.record_outage('with_outage', '2021-05-01', '2021-05-02') > 0 AS recorded;
SELECT depwatch.report_sample('with_sample', true, at => '2022-06-01');
-- created_at is not the first audit row here: the audit row wins
UPDATE depwatch.dependency SET created_at = created_at + interval '1 hour' WHERE name = 'plain';
ALTER EXTENSION depwatch UPDATE TO '0.3';
SELECT d.name,
	   CASE WHEN d.tracked_since = a.at THEN 'first audit row'
			ELSE d.tracked_since::text END AS tracked_since
FROM depwatch.dependency d
JOIN depwatch.audit_log a ON a.table_name = 'dependency' AND a.row_id = d.id AND a.action = 'INSERT'
ORDER BY d.name;
DROP EXTENSION depwatch CASCADE;

-- ---------------------------------------------------------------------------
-- 0.3
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET search_path = depwatch, public;

-- added now, one of each kind (the tcp one is never probed here), and one
-- whose history is imported from 2019
SELECT count(*) FROM (VALUES
	(add_dependency('new_none', 'other')),
	(add_dependency('new_passive', 'other', 'passive')),
	(add_dependency('new_tcp', 'other', 'tcp', '127.0.0.1:1')),
	(add_dependency('old', 'other', tracked_since => '2019-01-01')),
	(add_capability('needs_new', ARRAY['old', 'new_none'])),
	(add_capability('either', ARRAY['old|new_none']))) v;
SELECT name, tracked_since = created_at AS since_added FROM dependencies ORDER BY name;

-- 2020, before any of the new ones existed: nothing of them was monitored
-- (0.2 said 8,784 h monitored at 100 % for new_none and new_passive); a
-- capability that needs one is unmonitored, one that can do without it is up
SELECT target, monitored, unmonitored, availability
FROM availability('[2020-01-01, 2021-01-01)') ORDER BY target_type DESC, target;

-- availability_daily: the days before today, when none of them existed
SELECT target, count(*) AS days, count(*) FILTER (WHERE monitored > interval '0') AS monitored_days
FROM availability_daily
WHERE day < current_date AND target IN ('new_none', 'new_passive', 'needs_new', 'old')
GROUP BY target ORDER BY target;

-- one tracked since noon on 2024-03-10: unmonitored before, up after, in
-- state_timeline, availability, capability_outages and the picture
SELECT add_dependency('hist', 'other', 'passive', tracked_since => '2024-03-10 12:00') > 0 AS added;
SELECT add_capability('on_hist', ARRAY['hist']) > 0 AS added;
SELECT target, state, started_at, ended_at
FROM state_timeline('[2024-03-10, 2024-03-11)', ARRAY['hist', 'on_hist']) ORDER BY target, started_at;
SELECT target, monitored, unmonitored
FROM availability('[2024-03-10, 2024-03-11)') WHERE target IN ('hist', 'on_hist') ORDER BY target;
SELECT * FROM capability_outages('on_hist', '[2024-03-10, 2024-03-11)');
SELECT (xpath('//s:g[s:text[1] = "hist"]/s:rect/s:title/text()',
			  timeline_svg('[2024-03-10, 2024-03-11)', ARRAY['hist'])::xml,
			  ARRAY[ARRAY['s', 'http://www.w3.org/2000/svg']]))::text[] AS runs;

-- samples and outages before it are refused, with a hint
\set VERBOSITY default
SELECT report_sample('hist', true, at => '2024-03-10 11:00');
SELECT record_outage('hist', '2024-03-10 11:00', '2024-03-10 11:30');
\set VERBOSITY terse
-- at tracked_since itself is tracked
SELECT report_sample('hist', true, at => '2024-03-10 12:00');

-- importing older history: move it back, then record it
SELECT alter_dependency('hist', tracked_since => '2024-03-10 06:00');
SELECT report_sample('hist', true, at => '2024-03-10 10:00');
SELECT record_outage('hist', '2024-03-10 11:00', '2024-03-10 11:30') > 0 AS recorded;
SELECT target, state, started_at, ended_at
FROM state_timeline('[2024-03-10, 2024-03-11)', ARRAY['hist']) ORDER BY started_at;

-- never later than the earliest sample or outage, never in the future
\set VERBOSITY default
SELECT alter_dependency('hist', tracked_since => '2024-03-10 10:30');
SELECT alter_dependency('hist', tracked_since => '1989-12-31');
\set VERBOSITY terse
DO $$
BEGIN
	PERFORM depwatch.alter_dependency('new_none', tracked_since => now() + interval '1 day');
EXCEPTION WHEN invalid_parameter_value THEN
	RAISE NOTICE 'refused: %', SQLSTATE;
END
$$;
SELECT tracked_since FROM dependencies WHERE name = 'hist';
-- moving it later, up to the first sample, is allowed
SELECT alter_dependency('hist', tracked_since => '2024-03-10 10:00');
SELECT tracked_since FROM dependencies WHERE name = 'hist';

-- an admin may set it at add_dependency, and never in the future there either
DO $$
BEGIN
	PERFORM depwatch.add_dependency('later', 'other', tracked_since => now() + interval '1 hour');
EXCEPTION WHEN invalid_parameter_value THEN
	RAISE NOTICE 'refused: %', SQLSTATE;
END
$$;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
