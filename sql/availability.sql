-- Availability analytics on hand-checked data: capability timelines
-- (any-of, k-of-n, nested), maintenance, monitor gaps, buckets, DST.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- Dependencies recorded by hand (probe none: monitored all the time).
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_a', 'credit_bureau', options => '{"slo": 99.5}', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('id_a', 'identity', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('id_b', 'identity', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('id_c', 'identity', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b', '2:id_a|id_b|id_c'], slo => 99.0) > 0;
SELECT add_capability('transfer', ARRAY['core'], slo => 99.95) > 0;
-- nested: a capability requires a capability
SELECT add_capability('simple_transfer', ARRAY['transfer', 'msg']) > 0;

-- 2024-03-10 (UTC):
--  10:00-11:00 bureau_a down, 10:30-10:45 bureau_b down: account opening
--              down only while both are (10:30-10:45), degraded around it;
--              bureau_a's maintenance 10:15-10:20 sits inside its outage
--  12:00-13:00 id_a down, 12:30-12:40 id_b down: 2 of 3 lost 12:30-12:40
--  14:00-14:20 core down: everything down
--  15:00-15:30 msg down, with maintenance 15:00-15:10
--  16:00-16:30 core degraded
SELECT count(*) FROM (VALUES
	(record_outage('bureau_a', '2024-03-10 10:00', '2024-03-10 11:00')),
	(record_outage('bureau_b', '2024-03-10 10:30', '2024-03-10 10:45')),
	(record_outage('id_a', '2024-03-10 12:00', '2024-03-10 13:00')),
	(record_outage('id_b', '2024-03-10 12:30', '2024-03-10 12:40')),
	(record_outage('core', '2024-03-10 14:00', '2024-03-10 14:20')),
	(record_outage('msg', '2024-03-10 15:00', '2024-03-10 15:30')),
	(record_outage('core', '2024-03-10 16:00', '2024-03-10 16:30', 'degraded'))) v;
SELECT add_maintenance('bureau_a', '[2024-03-10 10:15, 2024-03-10 10:20)') > 0;
SELECT add_maintenance('msg', '[2024-03-10 15:00, 2024-03-10 15:10)') > 0;

-- Capability windows, with the groups that caused them
SELECT * FROM capability_outages('account_opening', '[2024-03-10, 2024-03-11)');
SELECT * FROM capability_outages('transfer', '[2024-03-10, 2024-03-11)');
SELECT * FROM capability_outages('simple_transfer', '[2024-03-10, 2024-03-11)');
-- clipped to the period
SELECT * FROM capability_outages('account_opening', '[2024-03-10 10:40, 2024-03-10 12:35)');

-- The day, every target
SELECT target, target_type, bucket_start, monitored, downtime, degraded, maintenance,
	   unmonitored, round(availability, 4) AS availability, slo, budget, budget_left,
	   outages, mttr, mtbf, longest
FROM availability('[2024-03-10, 2024-03-11)');

-- Hourly buckets: every hour is there, even the quiet ones
SELECT bucket_start, monitored, downtime, degraded, maintenance, outages, longest
FROM availability('[2024-03-10 09:00, 2024-03-10 17:00)', 'hour')
WHERE target = 'simple_transfer';
-- A bucket that begins before the period is cut to the period
SELECT target, bucket_start, monitored, downtime
FROM availability('[2024-03-10 10:30, 2024-03-10 12:00)', 'hour')
WHERE target = 'bureau_a';
-- Weeks and months start where date_trunc says
SELECT DISTINCT bucket_start, monitored FROM availability('[2024-02-20, 2024-03-20)', 'week') ORDER BY 1;
SELECT DISTINCT bucket_start, monitored FROM availability('[2024-01-15, 2024-04-15)', 'month') ORDER BY 1;

-- The state timeline that the picture and BI tools draw
SELECT * FROM state_timeline('[2024-03-10 14:50, 2024-03-10 16:40)', ARRAY['simple_transfer', 'msg']);

-- Asked for some targets, only what they stand on is read: the same runs
SELECT (SELECT array_agg(t ORDER BY t.target, t.started_at)
		FROM state_timeline('[2024-03-10, 2024-03-11)', ARRAY['simple_transfer', 'bureau_b']) t)
	 = (SELECT array_agg(t ORDER BY t.target, t.started_at)
		FROM state_timeline('[2024-03-10, 2024-03-11)') t WHERE t.target IN ('simple_transfer', 'bureau_b'))
	   AS same_runs;

-- Buckets across a DST change: Europe/Berlin springs forward on 2024-03-31
-- (a 23-hour day) and falls back on 2024-10-27 (25 hours).
SET TimeZone = 'Europe/Berlin';
SELECT bucket_start, monitored FROM availability('[2024-03-30, 2024-04-02)', 'day') WHERE target = 'core';
SELECT bucket_start, monitored FROM availability('[2024-10-26, 2024-10-29)', 'day') WHERE target = 'core';
SELECT bucket_start, monitored FROM availability('[2024-03-31 00:00, 2024-03-31 05:00)', 'hour') WHERE target = 'core';
SET TimeZone = 'UTC';

-- Monitor gaps.  A probed dependency (every 10 s, so a gap is anything
-- over 30 s; fail_after 1) fed by report_sample, two hours ago:
--  +0 .. +20s good, +30s bad: down from +30s
--  nothing until +30m, bad: down at both ends, so down through the gap
--  +31m good: the outage ends, but +30m30s .. +31m was not watched
--  nothing until +40m: unmonitored +31m30s .. +40m
--  +40m good, nothing until +50m good: unmonitored +40m30s .. +50m
--  nothing after +50m: unmonitored from +50m30s on
SELECT add_dependency('gapdep', 'other', 'tcp', '127.0.0.1:9', every => '10 s', timeout => '1 s',
					  fail_after => 1, recover_after => 1, tracked_since => '1990-01-01 00:00+00') > 0;
SELECT add_capability('gapcap', ARRAY['gapdep']) > 0;
CREATE TEMP TABLE base AS
	SELECT date_trunc('minute', now()) - interval '2 hours' AS b,
		   date_trunc('minute', now()) - interval '5 min' AS five_ago;
SELECT count(report_sample('gapdep', ok, interval '5 ms', b + at))
FROM base, (VALUES ('0 s'::interval, true), ('10 s', true), ('20 s', true), ('30 s', false),
				   ('30 min', false), ('31 min', true), ('40 min', true), ('50 min', true)) v(at, ok);
SELECT kind, started_at - b AS started, ended_at - b AS ended
FROM outages, base WHERE dependency = 'gapdep';
SELECT target, monitored, downtime, unmonitored, outages, longest
FROM availability(tstzrange((SELECT b FROM base), (SELECT b FROM base) + interval '1 hour')), base
WHERE target IN ('gapdep', 'gapcap');
SELECT target, state, maintenance, started_at - b AS started, ended_at - b AS ended
FROM state_timeline(tstzrange((SELECT b FROM base), (SELECT b FROM base) + interval '1 hour'),
					ARRAY['gapdep', 'gapcap']), base;
-- The gaps were recorded as the samples came; the first row is the time
-- before the first sample (which came before the dependency was added) ...
SELECT CASE WHEN isfinite(after) THEN after - b END AS after, before - b AS before,
	   lower(unmonitored) - b AS unmonitored_from
FROM monitor_gap, base ORDER BY before;
-- ... so they outlive the samples: expire them, and nothing changes
DELETE FROM sample WHERE dependency_id = (SELECT id FROM dependency WHERE name = 'gapdep');
SELECT target, monitored, downtime, unmonitored
FROM availability(tstzrange((SELECT b FROM base), (SELECT b FROM base) + interval '1 hour')), base
WHERE target = 'gapdep';
-- The future is not monitored yet
SELECT target, unmonitored >= interval '1 hour' AS future_unmonitored
FROM availability(tstzrange(now(), now() + interval '1 hour'))
WHERE target IN ('core', 'gapdep', 'transfer');

-- current_status covers capabilities, and since when
SELECT target, target_type, state, since - b AS since
FROM current_status(), base WHERE target IN ('gapdep', 'gapcap');
SELECT target, target_type, state FROM current_status() WHERE target_type = 'capability';
-- an ongoing capability outage, from an ongoing member outage
SELECT record_outage('msg', five_ago) > 0 FROM base;
SELECT target, state, since = five_ago AS since_the_outage
FROM current_status(), base WHERE target IN ('msg', 'simple_transfer', 'transfer');
SELECT kind, ended_at IS NULL AS ongoing, causes
FROM capability_outages('simple_transfer', tstzrange(now() - interval '1 hour', now() + interval '1 hour'));
SELECT end_outage('msg', now());

-- Bad input
\set VERBOSITY terse
SELECT * FROM availability('empty');
SELECT * FROM availability('[2024-01-01,)');
SELECT * FROM availability('[2024-01-01, infinity)');
SELECT * FROM availability(NULL);
SELECT * FROM availability('[2010-01-01, 2024-01-01)');
SELECT * FROM availability('[2024-01-01, 2024-01-02)', 'fortnight');
SELECT * FROM capability_outages('nope', '[2024-01-01, 2024-01-02)');
SELECT * FROM capability_outages('core', '[2024-01-01, 2024-01-02)');
SELECT * FROM capability_outages(NULL, '[2024-01-01, 2024-01-02)');
SELECT * FROM state_timeline('[2024-01-01, 2024-01-02)', ARRAY[]::text[]);
SELECT * FROM state_timeline('[2024-01-01, 2024-01-02)', ARRAY['core', 'nope']);
SELECT * FROM state_timeline('[2024-01-01, 2024-01-02)', ARRAY['core', NULL]);
SELECT add_capability('too_many', array_fill('core'::text, ARRAY[65]));
\set VERBOSITY default

DROP TABLE base;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
