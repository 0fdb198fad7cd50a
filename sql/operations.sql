-- Operations: outages by hand, maintenance, incidents, current status.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'Asia/Seoul';

SELECT depwatch.add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00') AS nice;
SELECT depwatch.add_dependency('kcb', 'credit_bureau', tracked_since => '1990-01-01 00:00+00') AS kcb;
SELECT depwatch.add_dependency('kakaotalk', 'messaging', tracked_since => '1990-01-01 00:00+00') AS kakaotalk;
SELECT depwatch.add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00') AS core;
SELECT depwatch.add_dependency('bureau_probe', 'credit_bureau', 'tcp', '127.0.0.1:9', tracked_since => '1990-01-01 00:00+00') AS bureau_probe;
SELECT depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb']) AS account_opening;

-- Launch day, 2017-07-27: the bureaus overloaded.
SELECT depwatch.record_outage('nice', '2017-07-27 08:30+09', '2017-07-27 10:30+09',
							  note => 'overloaded by launch-day look-ups') AS o1;
SELECT depwatch.record_outage('kcb', '2017-07-27 09:00+09', '2017-07-27 10:00+09', 'degraded') AS o2;
SELECT depwatch.open_incident('Launch day: credit bureaus overloaded', '2017-07-27 08:00+09',
							  ARRAY['nice', 'kcb']) AS i1;
SELECT depwatch.close_incident(1, '2017-07-27 19:00+09', 'credit bureau capacity');

-- The fire, 2022-10-15: KakaoTalk dark, still open.
SELECT depwatch.open_incident('Pangyo data-center fire', '2022-10-15 15:19+09') AS i2;
SELECT depwatch.record_outage('kakaotalk', '2022-10-15 15:30+09', detected_at => '2022-10-15 15:31+09') AS o3;
-- the incident's dependencies were not named: every dependency down in it
SELECT id, dependency, kind, started_at, ended_at, detected_at, source, note, incident
FROM depwatch.outages ORDER BY id;
SELECT depwatch.end_outage('kakaotalk', '2022-10-17 12:09+09') AS ended_outage;
SELECT depwatch.close_incident(2, '2022-10-17 12:09+09');
SELECT id, title, started_at, ended_at, root_cause FROM depwatch.incident ORDER BY id;
SELECT dependency, started_at, ended_at, incident FROM depwatch.outages ORDER BY id;

-- An outage of one kind may overlap one of the other kind.
SELECT depwatch.record_outage('nice', '2017-07-27 08:00+09', '2017-07-27 11:00+09', 'degraded') > 0
	AS degraded_beside_down;

-- Maintenance on a dependency or a capability.
SELECT depwatch.add_maintenance('core', '[2026-11-28 02:00+09, 2026-11-28 04:00+09)', 'core upgrade') AS m1;
SELECT depwatch.add_maintenance('account_opening', '[2026-11-29 01:00+09, 2026-11-29 02:00+09)') AS m2;
SELECT m.id, coalesce(d.name, c.name) AS target, m.during, m.note
FROM depwatch.maintenance m
LEFT JOIN depwatch.dependency d ON d.id = m.dependency_id
LEFT JOIN depwatch.capability c ON c.id = m.capability_id ORDER BY m.id;

-- current_status: down, degraded, maintenance, unmonitored, up (in one
-- transaction, so that now() stands still).
BEGIN;
SELECT depwatch.record_outage('nice', now() - interval '1 hour') > 0 AS nice_down;
SELECT depwatch.record_outage('kcb', now() - interval '5 minutes', kind => 'degraded') > 0 AS kcb_slow;
SELECT depwatch.add_maintenance('kakaotalk', tstzrange(now() - interval '10 minutes', now() + interval '1 hour'))
	> 0 AS kakaotalk_maintenance;
SELECT target, target_type, state,
	   CASE WHEN state IN ('down', 'degraded', 'maintenance') THEN now() - since END AS for_how_long
FROM depwatch.current_status() ORDER BY target;
-- a probed dependency that has never been sampled is unmonitored: here,
-- where no probe worker runs (regress lists no database in
-- depwatch.databases), from when it was added; where one runs, from 3 x
-- every after (test/integration/no_worker.sh)
UPDATE depwatch.dependency SET created_at = now() - interval '1 hour' WHERE name = 'bureau_probe';
SELECT state, since = now() - interval '1 hour' AS since_added, reason
FROM depwatch.current_status() WHERE target = 'bureau_probe';
SELECT depwatch.report_sample('bureau_probe', true);
SELECT state FROM depwatch.current_status() WHERE target = 'bureau_probe';
COMMIT;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
