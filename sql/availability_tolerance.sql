-- availability()'s impact tolerance columns (SPEC section 9, issue 20):
-- worst_disruption, the longest continuous down run of a capability with a
-- tolerance that overlaps the bucket, judged on its whole length as
-- tolerance_breaches() judges it; tolerance_breached when it lasted
-- strictly longer than the tolerance.  Hand-made outages.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

SELECT count(*) FROM (VALUES
	(add_dependency('d_over', 'other', tracked_since => '2024-01-01 00:00+00')),
	(add_dependency('d_equal', 'other', tracked_since => '2024-01-01 00:00+00')),
	(add_dependency('d_edge', 'other', tracked_since => '2024-01-01 00:00+00')),
	(add_dependency('d_planned', 'other', tracked_since => '2024-01-01 00:00+00')),
	(add_dependency('d_plain', 'other', tracked_since => '2024-01-01 00:00+00')),
	(add_dependency('d_calm', 'other', tracked_since => '2024-01-01 00:00+00'))) v;
-- tolerances: over 1 h, equal 1 h, edge 2 h, planned 30 min, calm 1 h;
-- plain has none
SELECT count(*) FROM (VALUES
	(add_capability('over', ARRAY['d_over'], impact_tolerance => '1 hour')),
	(add_capability('equal', ARRAY['d_equal'], impact_tolerance => '1 hour')),
	(add_capability('edge', ARRAY['d_edge'], impact_tolerance => '2 hours')),
	(add_capability('planned', ARRAY['d_planned'], impact_tolerance => '30 minutes')),
	(add_capability('plain', ARRAY['d_plain'])),
	(add_capability('calm', ARRAY['d_calm'], impact_tolerance => '1 hour'))) v;

-- 2024-03-10 (UTC):
--  10:00-11:30 d_over down: 1 h 30 min, longer than 1 h: breached
--  10:00-11:00 d_equal down: exactly 1 h: not breached (strictly longer)
--  23:00 - 01:30 next day, d_edge down: 2 h 30 min across midnight; each
--              day sees the whole run, breached on both
--  14:00-15:00 d_planned down, wholly under its maintenance: a run all
--              the same (as tolerance_breaches counts it), breached
--  10:00-13:00 d_plain down: no tolerance, no columns
--  d_calm never down: worst 0, not breached
SELECT count(*) FROM (VALUES
	(record_outage('d_over', '2024-03-10 10:00+00', '2024-03-10 11:30+00')),
	(record_outage('d_equal', '2024-03-10 10:00+00', '2024-03-10 11:00+00')),
	(record_outage('d_edge', '2024-03-10 23:00+00', '2024-03-11 01:30+00')),
	(record_outage('d_planned', '2024-03-10 14:00+00', '2024-03-10 15:00+00')),
	(record_outage('d_plain', '2024-03-10 10:00+00', '2024-03-10 13:00+00'))) v;
SELECT add_maintenance('d_planned', '[2024-03-10 14:00+00, 2024-03-10 15:00+00)') > 0;

-- per day: the run across midnight counts whole on both days; longest is
-- clipped to the day
SELECT target, target_type, bucket_start::date AS day, longest, worst_disruption,
	   worst_disruption_seconds, tolerance_breached
FROM availability('[2024-03-10 00:00+00, 2024-03-12 00:00+00)', 'day')
ORDER BY target_type, target, bucket_start;

-- per hour, around d_equal's run: only the buckets it overlaps, never the
-- one it ends at or the one before it starts
SELECT bucket_start, worst_disruption, tolerance_breached
FROM availability('[2024-03-10 09:00+00, 2024-03-10 12:00+00)', 'hour')
WHERE target = 'equal' ORDER BY bucket_start;

-- a period starting inside the run across midnight: the run's real start
-- (as tolerance_breaches gives it)
SELECT a.worst_disruption, a.tolerance_breached, b.started_at, b.lasted, b.breached
FROM availability('[2024-03-11 01:00+00, 2024-03-11 12:00+00)') a,
	 tolerance_breaches('[2024-03-11 01:00+00, 2024-03-11 12:00+00)') b
WHERE a.target = 'edge' AND b.capability = 'edge';

-- consistent with tolerance_breaches() on every hour of the two days:
-- worst_disruption is the longest run it lists, tolerance_breached whether
-- one breached (no row: nothing differs)
SELECT a.target, a.bucket_start, a.worst_disruption, a.tolerance_breached, b.lasted, b.breached
FROM availability('[2024-03-10 00:00+00, 2024-03-12 00:00+00)', 'hour') a
JOIN capability c ON c.name = a.target AND c.impact_tolerance IS NOT NULL
CROSS JOIN LATERAL (SELECT coalesce(max(t.lasted), interval '0') AS lasted, coalesce(bool_or(t.breached), false) AS breached
					FROM tolerance_breaches(tstzrange(a.bucket_start, a.bucket_start + interval '1 hour')) t
					WHERE t.capability = a.target) b
WHERE a.worst_disruption IS DISTINCT FROM b.lasted OR a.tolerance_breached IS DISTINCT FROM b.breached;

-- an ongoing run counts up to now
BEGIN;
SELECT record_outage('d_calm', now() - interval '3 hours') > 0;
SELECT worst_disruption, worst_disruption_seconds, tolerance_breached
FROM availability(tstzrange(now() - interval '1 day', now())) WHERE target = 'calm';
ROLLBACK;

-- the new columns come last, after the 16 of 0.2 (past the 2 arguments)
-- and their *_seconds companions
SELECT a.n - 2 AS "column", a.name
FROM pg_proc p, unnest(p.proargnames) WITH ORDINALITY a(name, n)
WHERE p.oid = 'availability(tstzrange, text)'::regprocedure AND a.n > 2 + 16
ORDER BY a.n;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
