-- Alert delivery (doc/reference.md, "Alert delivery"): the bodies of the
-- four formats, what the worker is given to send (_alert_due), how answers
-- are recorded (_alert_record), and test_alert_route.  The worker's
-- sending itself is test/integration/alerts_delivery.sh.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS depwatch CASCADE;
RESET client_min_messages;
SET search_path = depwatch, public;
SET timezone = 'UTC';

INSERT INTO alert_route (name, channel, target, format, options, set_by_superuser) VALUES
	('j', 'webhook', 'http://192.0.2.1/j', 'json',
	 '{"headers": {"Authorization": "Bearer t", "X-Bad\nName": "x", "X-Evil": "a\r\nInjected: 1", "Idempotency-Key": "mine", "content-type": "text/plain"}}', true),
	('am', 'webhook', 'http://192.0.2.1/am', 'alertmanager', '{}', true),
	('sl', 'webhook', 'http://192.0.2.1/sl', 'slack', '{}', false),
	('pd', 'webhook', 'http://192.0.2.1/pd', 'pagerduty', '{"routing_key": "R0UTE"}', true),
	('nt', 'notify', 'ops_channel', 'json', '{}', true);
INSERT INTO alert_event (id, at, recorded_at, event, target, target_type, severity, summary, details, suppressed, dedup_key) VALUES
	(101, '2026-01-01 10:00+00', '2026-01-01 10:00:00.5+00', 'capability_degraded', 'payments', 'capability', 'warning',
	 'payments degraded', '{"groups": ["cards"]}', false, 'capability:payments:7'),
	(102, '2026-01-01 10:01+00', '2026-01-01 10:01:00.5+00', 'capability_down', 'payments', 'capability', 'critical',
	 'payments <down> & out', '{}', false, 'capability:payments:7'),
	(103, '2026-01-01 10:05+00', '2026-01-01 10:05:00.5+00', 'capability_up', 'payments', 'capability', 'info',
	 'payments up', '{}', false, 'capability:payments:7'),
	(104, '2026-01-01 11:00+00', '2026-01-01 11:00:00.5+00', 'dependency_recovered', 'core_db', 'dependency', 'info',
	 'core_db recovered', '{}', true, 'dependency:core_db:9');

-- json: the event as one object
SELECT jsonb_pretty(depwatch_internal._alert_body(102, (SELECT id FROM alert_route WHERE name = 'j'))::jsonb);
-- alertmanager: firing; resolving closes every alert its dedup_key opened,
-- with their labels; with no opening event left, what it would have opened
SELECT jsonb_pretty(depwatch_internal._alert_body(102, (SELECT id FROM alert_route WHERE name = 'am'))::jsonb);
SELECT jsonb_pretty(depwatch_internal._alert_body(103, (SELECT id FROM alert_route WHERE name = 'am'))::jsonb);
SELECT jsonb_pretty(depwatch_internal._alert_body(104, (SELECT id FROM alert_route WHERE name = 'am'))::jsonb);
-- slack: escaped text
SELECT depwatch_internal._alert_body(102, (SELECT id FROM alert_route WHERE name = 'sl'));
SELECT depwatch_internal._alert_body(104, (SELECT id FROM alert_route WHERE name = 'sl'));
-- pagerduty: trigger, resolve
SELECT jsonb_pretty(depwatch_internal._alert_body(102, (SELECT id FROM alert_route WHERE name = 'pd'))::jsonb);
SELECT depwatch_internal._alert_body(103, (SELECT id FROM alert_route WHERE name = 'pd'))::jsonb->>'event_action' AS resolve;
-- no such event or route
SELECT depwatch_internal._alert_body(999, (SELECT id FROM alert_route WHERE name = 'j')) IS NULL AS no_event;

-- _alert_due: per webhook route, only its first pending delivery; the
-- Idempotency-Key and the route's headers, control characters and the
-- worker's own names left out; restricted when no superuser set the route
INSERT INTO alert_delivery (event_id, route_id)
SELECT e, r.id FROM unnest('{102,103,101}'::bigint[]) e, alert_route r WHERE r.name IN ('j', 'sl');
SELECT r.name, d.event_id, d.due, d.url, d.headers, d.restricted
  FROM depwatch_internal._alert_due('{}', 10) d JOIN alert_route r ON r.id = d.route_id ORDER BY r.name;
-- a busy route is left out
SELECT count(*) FROM depwatch_internal._alert_due(ARRAY[(SELECT id FROM alert_route WHERE name = 'j')], 10);

-- _alert_record: 2xx delivers; a failure backs off 1 s, then 2 s, never
-- past recorded_at + retry_for; past it, failed
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'j')], '{101}', '{true}', '{HTTP 204}',
					 '1 day', '5 min');
SELECT event_id, state, attempts, delivered_at IS NOT NULL AS delivered, last_error
  FROM alert_delivery WHERE route_id = (SELECT id FROM alert_route WHERE name = 'j') ORDER BY event_id;
UPDATE alert_event SET recorded_at = clock_timestamp() WHERE id = 102;
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'j')], '{102}', '{false}', '{HTTP 500}',
					 '1 day', '5 min');
SELECT state, attempts, last_error,
	   next_attempt_at - clock_timestamp() BETWEEN interval '0.5 s' AND interval '1 s' AS one_second
  FROM alert_delivery WHERE event_id = 102 AND route_id = (SELECT id FROM alert_route WHERE name = 'j');
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'j')], '{102}', '{false}', '{timeout after 10000 ms}',
					 '1 day', '5 min');
SELECT state, attempts, last_error,
	   next_attempt_at - clock_timestamp() BETWEEN interval '1.5 s' AND interval '2 s' AS two_seconds
  FROM alert_delivery WHERE event_id = 102 AND route_id = (SELECT id FROM alert_route WHERE name = 'j');
-- the next attempt is due no later than recorded_at + retry_for
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'j')], '{102}', '{false}', '{HTTP 503}',
					 '1 s', '5 min');
SELECT state, attempts, next_attempt_at <= (SELECT recorded_at + interval '1 s' FROM alert_event WHERE id = 102) AS capped
  FROM alert_delivery WHERE event_id = 102 AND route_id = (SELECT id FROM alert_route WHERE name = 'j');
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'sl')], '{101}', '{false}', '{HTTP 500}',
					 '1 min', '5 min');
SELECT state, attempts, last_error FROM alert_delivery
 WHERE event_id = 101 AND route_id = (SELECT id FROM alert_route WHERE name = 'sl');
-- a delivery no longer pending is left as it is
SELECT depwatch_internal._alert_record(ARRAY[(SELECT id FROM alert_route WHERE name = 'sl')], '{101}', '{true}', '{HTTP 200}',
					 '1 min', '5 min');
SELECT state FROM alert_delivery WHERE event_id = 101 AND route_id = (SELECT id FROM alert_route WHERE name = 'sl');

-- test_alert_route: one test event, delivered to that route only
SELECT test_alert_route('pd') AS test_id \gset
SELECT event, target, target_type, severity, dedup_key = 'test:pd:' || :test_id AS key
  FROM alert_event WHERE id = :test_id;
SELECT r.name, d.state FROM alert_delivery d JOIN alert_route r ON r.id = d.route_id WHERE d.event_id = :test_id;
SELECT test_alert_route('nt') AS notify_id \gset
SELECT r.name, d.state, d.attempts FROM alert_delivery d JOIN alert_route r ON r.id = d.route_id WHERE d.event_id = :notify_id;
SELECT test_alert_route('nope');
\set VERBOSITY sqlstate
SELECT test_alert_route('nope');
\set VERBOSITY default

-- who may: an admin runs test_alert_route, a reader nothing of this
CREATE ROLE alert_admin IN ROLE depwatch_admin;
CREATE ROLE alert_reader IN ROLE depwatch_reader;
SET ROLE alert_admin;
SELECT test_alert_route('j') > 0 AS admin_may;
SELECT depwatch_internal._alert_body(101, 1);
RESET ROLE;
SET ROLE alert_reader;
SELECT test_alert_route('j');
RESET ROLE;
DROP ROLE alert_admin;
DROP ROLE alert_reader;

-- the tests that follow start from no extension, as if this one had not run
SET client_min_messages = warning;
DROP EXTENSION depwatch CASCADE;
RESET client_min_messages;
