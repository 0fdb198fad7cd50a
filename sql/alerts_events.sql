-- Alerts: the event side (SPEC section 8, issue 19).  A capability with a
-- known outage history, and the exact instants at which each event fires:
-- impact tolerance and burn rates computed by hand; suppression by site;
-- dedup keys; a rolled-back outage; depwatch.alert_max_age; imports;
-- report_due; route validation and masking.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- try(call) runs one call in a subtransaction and says how it failed.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	state := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
							hint = PG_EXCEPTION_HINT;
END
$$;

CREATE EXTENSION depwatch CASCADE;
SET search_path = depwatch, public;

-- s: the start of core's outage, ten minutes ago (whole seconds)
SELECT date_trunc('second', now()) - interval '10 minutes' AS s \gset

-- ev: the events since n, times relative to s, keys with s written <s>
CREATE FUNCTION public.ev(s timestamptz, n bigint DEFAULT 0)
	RETURNS TABLE(id bigint, event text, target text, after interval, severity text, suppressed boolean, dedup_key text)
LANGUAGE sql AS $$
	SELECT e.id, e.event, e.target, e.at - s, e.severity, e.suppressed,
		   regexp_replace(replace(e.dedup_key, depwatch_internal._alert_iso(s), '<s>'),
						  '\d{4}-\d\d-\d\dT[0-9:.]+Z', '<t>', 'g')
	FROM depwatch.alert_event e WHERE e.id > n ORDER BY e.id
$$;

-- every dependency is probe 'none' (monitored all the time) and tracked
-- for a day: the windows of the burn rates are fully monitored
SELECT add_dependency('dc1', 'datacenter', 'none', tracked_since => now() - interval '1 day');
SELECT add_dependency('core', 'core', 'none', tracked_since => now() - interval '1 day');
SELECT add_dependency('kcb', 'credit_bureau', 'none', site => 'dc1', tracked_since => now() - interval '1 day');
SELECT add_dependency('nice', 'credit_bureau', 'none', site => 'dc1', tracked_since => now() - interval '1 day');
SELECT add_dependency('mq1', 'messaging', 'none', tracked_since => now() - interval '1 day');
SELECT add_dependency('mq2', 'messaging', 'none', tracked_since => now() - interval '1 day');
SELECT add_dependency('pay', 'payment_network', 'none', tracked_since => now() - interval '2 days');
SELECT add_dependency('pay2', 'payment_network', 'none', tracked_since => now() - interval '2 days');
-- slo 99.9: budget 0.001.  transfer: tolerance 12 min; atm: 4 min 30 s,
-- and planned maintenance over the first 2 minutes of the outage
SELECT add_capability('transfer', ARRAY['core'], 99.9, '12 minutes');
SELECT add_capability('atm', ARRAY['core', 'kcb'], 99.9, '4 minutes 30 seconds');
SELECT add_capability('payments', ARRAY['pay']);
SELECT add_capability('payments_too', ARRAY['pay2']);
SELECT add_maintenance('atm', tstzrange(:'s', :'s'::timestamptz + interval '2 minutes'), 'cash reload') > 0 AS maintenance;

-- routes: everything; critical only; and one that takes suppressed events
SELECT add_alert_route('everything', 'notify', 'depwatch_alerts');
SELECT add_alert_route('pager', 'webhook', 'https://oncall:s3cret@hooks.example/page?token=abc123',
					   'pagerduty', min_severity => 'critical',
					   options => '{"routing_key": "R0UTINGKEY", "headers": {"Authorization": "Bearer T0KEN"}}');
SELECT add_alert_route('noc', 'notify', 'noc', events => ARRAY['dependency_down', 'dependency_up'],
					   options => '{"suppressed": true}');

-- ---------------------------------------------------------------------------
-- core goes down at s: dependency_down at s, both capabilities down at s
-- (atm's down run began at s, maintenance included), same transaction
-- ---------------------------------------------------------------------------
SELECT record_outage('core', :'s') > 0 AS recorded;
SELECT * FROM ev(:'s');
-- deliveries: every route that matches, notify ones delivered at once
SELECT d.event_id, r.name, d.state, d.attempts FROM alert_delivery d JOIN alert_route r ON r.id = d.route_id
ORDER BY d.event_id, r.name;

-- ---------------------------------------------------------------------------
-- What time brings, now (s + 10 min):
--  tolerance (maintenance not excluded): atm 4:30 -> 2:15, 3:36, 4:30;
--    transfer 12:00 -> 6:00, 9:36 (breached at 12:00: not yet)
--  burn rates, budget 0.001, all monitored:
--    transfer page: 1 h needs 14.4 x 0.001 x 3600 = 51.84 s down, 5 min
--      4.32 s: fires at 0:51.84; ticket: 6 h 129.6 s, 30 min 10.8 s: 2:09.6
--    atm, maintenance [s, s+2:00) out of both down and monitored time:
--      page: 1 h needs 14.4 x 0.001 x 3480 = 50.112 s of down time after
--      2:00: 2:50.112 (5 min: 50.112 >= 14.4 x 0.001 x 180); ticket: 6 h
--      6 x 0.001 x 21480 = 128.88 s: 4:08.88
-- ---------------------------------------------------------------------------
SELECT max(id) AS n0 FROM alert_event \gset
SELECT depwatch_internal._alert_tolerance();
SELECT depwatch_internal._alert_burn_rates();
SELECT * FROM ev(:'s', :n0);
-- a replay makes nothing new
SELECT count(*) AS events FROM alert_event \gset
SELECT depwatch_internal._alert_tolerance(), depwatch_internal._alert_burn_rates(), depwatch_internal._alert_capabilities();
SELECT count(*) - :events AS new_events FROM alert_event;

-- burn_rate at fixed instants
SELECT * FROM burn_rate('transfer', :'s'::timestamptz + interval '1 minute');
SELECT * FROM burn_rate('atm', :'s'::timestamptz + interval '3 minutes');
SELECT * FROM burn_rate('core', :'s'::timestamptz - interval '1 minute');

-- ---------------------------------------------------------------------------
-- core comes back at s + 5:00: dependency_up and capability_up at 5:00,
-- each with the key of the event it ends.  The page resolves where the 5
-- min rate falls below 14.4: 5 min of window after the end less 4.32 s,
-- at 9:55.68, for both (atm's maintenance is out of that window); the
-- ticket still fires (30 min: 300 s down).
-- ---------------------------------------------------------------------------
SELECT max(id) AS n1 FROM alert_event \gset
SELECT end_outage('core', :'s'::timestamptz + interval '5 minutes') > 0 AS ended;
SELECT depwatch_internal._alert_burn_rates();
SELECT * FROM ev(:'s', :n1);
-- the opening and the resolving event share their key
SELECT o.target, o.event, r.event, o.dedup_key = r.dedup_key AS same_key
FROM alert_event o JOIN alert_event r ON r.dedup_key = o.dedup_key AND r.id > o.id
ORDER BY o.id, r.id;
-- the pager route (critical only) hears the info events that end its pages
SELECT e.event, e.target, e.severity FROM alert_delivery d JOIN alert_route r ON r.id = d.route_id
JOIN alert_event e ON e.id = d.event_id WHERE r.name = 'pager' ORDER BY e.id;

-- tolerance_breaches: the real runs, relative to s
SELECT capability, started_at - :'s' AS started, ended_at - :'s' AS ended, lasted, tolerance, breached,
	   breached_at - :'s' AS breached_after, headroom
FROM tolerance_breaches(tstzrange(:'s'::timestamptz - interval '1 hour', :'s'::timestamptz + interval '9 minutes'));
SELECT count(*) AS runs_before FROM tolerance_breaches(tstzrange(:'s'::timestamptz - interval '1 hour', :'s'));
SELECT * FROM try($$SELECT depwatch.tolerance_breaches(NULL)$$);
SELECT * FROM try($$SELECT depwatch.burn_rate('nobody')$$);

-- ---------------------------------------------------------------------------
-- Suppression by site: kcb's outage is written before its building's, in
-- one transaction; at commit dc1 is down at kcb's recorded_at, so kcb's
-- event is suppressed, and goes only to the route that asks for them.
-- atm's capability event is never suppressed.
-- ---------------------------------------------------------------------------
SELECT max(id) AS n2 FROM alert_event \gset
BEGIN;
SELECT record_outage('kcb', now() - interval '1 minute') > 0 AS kcb;
SELECT record_outage('dc1', now() - interval '2 minutes') > 0 AS dc1;
COMMIT;
SELECT event, target, suppressed FROM ev(:'s', :n2);
SELECT event, target, suppressed, route, state FROM alerts WHERE id > :n2 ORDER BY id, route;

-- a rolled-back outage makes no event
SELECT count(*) AS events FROM alert_event \gset
BEGIN;
SELECT record_outage('nice', now() - interval '30 seconds') > 0 AS nice;
SELECT count(*) - :events AS inside FROM alert_event;
ROLLBACK;
SELECT count(*) - :events AS after_rollback FROM alert_event;
SELECT count(*) AS nice_deliveries FROM alerts WHERE target = 'nice';

-- an ongoing outage deleted (a repair): whoever heard it open hears it end
SELECT record_outage('nice', now() - interval '30 seconds') > 0 AS nice;
DELETE FROM outage WHERE dependency_id = (SELECT id FROM dependency WHERE name = 'nice');
SELECT event, details->>'deleted' AS deleted, recorded_at - at < interval '1 minute' AS at_now,
	   dedup_key = (SELECT dedup_key FROM alert_event WHERE target = 'nice' AND event = 'dependency_down') AS same_key
FROM alert_event WHERE target = 'nice' ORDER BY id;

-- ---------------------------------------------------------------------------
-- The past makes no events: an outage that ended 20 minutes ago (older
-- than alert_max_age, 15 min), unless alert_max_age is raised; an import
-- never does
-- ---------------------------------------------------------------------------
SELECT count(*) AS events FROM alert_event \gset
SHOW depwatch.alert_max_age;
SELECT record_outage('mq1', now() - interval '40 minutes', now() - interval '20 minutes') > 0 AS old;
SELECT count(*) - :events AS from_old FROM alert_event;
SET depwatch.alert_max_age = '30min';
SELECT record_outage('mq2', now() - interval '40 minutes', now() - interval '20 minutes') > 0 AS old;
SELECT event, target FROM alert_event WHERE id > (SELECT max(id) - 2 FROM alert_event) ORDER BY id;
RESET depwatch.alert_max_age;
SELECT count(*) AS events FROM alert_event \gset
INSERT INTO outage (dependency_id, kind, during, source)
SELECT id, 'down', tstzrange(now() - interval '1 minute', NULL), 'import' FROM dependency WHERE name = 'mq1';
SELECT count(*) - :events AS from_import FROM alert_event;
-- a reader may not change it
CREATE ROLE alerts_reader IN ROLE depwatch_reader;
SET ROLE alerts_reader;
SELECT * FROM try($$SET depwatch.alert_max_age = '1d'$$);
RESET ROLE;

-- ---------------------------------------------------------------------------
-- report_due: an incident the bank knew of 23 h 10 min ago, a 20-minute
-- outage, 20,000 subscribers: the FSS initial report is due at awareness
-- + 1 day, 50 minutes from now; the reminder is due one hour before, 10
-- minutes ago.  The same incident marked sent makes none.
-- ---------------------------------------------------------------------------
SELECT date_trunc('second', now()) - interval '23 hours 10 minutes' AS aware \gset
SELECT record_outage('pay', :'aware'::timestamptz - interval '10 minutes', :'aware'::timestamptz + interval '10 minutes') > 0 AS pay;
SELECT record_outage('pay2', :'aware'::timestamptz - interval '10 minutes', :'aware'::timestamptz + interval '10 minutes') > 0 AS pay2;
SELECT open_incident('payments down', :'aware'::timestamptz - interval '10 minutes', ARRAY['pay']) AS inc1 \gset
SELECT open_incident('payments down again', :'aware'::timestamptz - interval '10 minutes', ARRAY['pay2']) AS inc2 \gset
SELECT set_incident_facts(:inc1, jsonb_build_object('subscribers', 20000, 'aware_at', :'aware'::timestamptz)) IS NOT NULL AS facts;
SELECT set_incident_facts(:inc2, jsonb_build_object('subscribers', 20000, 'aware_at', :'aware'::timestamptz)) IS NOT NULL AS facts;
SELECT mark_report_sent(:inc2, 'kr_fss_initial', now() - interval '1 minute', 'FSS-2026-001');
SELECT * FROM try($$SELECT depwatch.mark_report_sent(1, 'fss', now())$$);
SELECT * FROM try($$SELECT depwatch.mark_report_sent(1, 'dora_final', now() + interval '1 hour')$$);
-- a change to incidents makes the next tick refresh the deadlines
INSERT INTO alert_tick_state (one, deadlines_at) VALUES (true, now())
	ON CONFLICT (one) DO UPDATE SET deadlines_at = now();
SELECT set_incident_facts(:inc1, jsonb_build_object('subscribers', 20000, 'aware_at', :'aware'::timestamptz)) IS NOT NULL AS facts;
SELECT deadlines_at IS NULL AS deadlines_to_refresh FROM alert_tick_state;
SELECT max(id) AS n3 FROM alert_event \gset
SELECT depwatch_internal._alert_refresh_deadlines();
SELECT incident_id = :inc1 AS first, report, due_at - :'aware'::timestamptz AS after_awareness FROM alert_deadline ORDER BY 1 DESC, 2;
SELECT depwatch_internal._alert_deadlines_due();
SELECT event, target = :'inc1' AS first, target_type, at - :'aware'::timestamptz AS after_awareness, severity,
	   details->>'stage' AS stage, details->>'report' AS report
FROM alert_event WHERE id > :n3 ORDER BY id;
-- deadlines that cannot be computed (the bound ledger broke its contract:
-- classify_incident fails) are kept as they were, and every refresh says
-- so in a WARNING per incident; once the ledger is mended they are
-- computed again
SELECT md5(string_agg(format('%s %s %s', incident_id, report, due_at), ',' ORDER BY incident_id, report)) AS deadlines
FROM alert_deadline \gset
CREATE TABLE public.broken_transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
									  amount numeric, fee numeric, fee_type text, capability text, status text,
									  external boolean);
SELECT bind_ledger('public.broken_transfers') IS NOT NULL AS bound;
ALTER TABLE public.broken_transfers RENAME COLUMN amount TO value;
SELECT depwatch_internal._alert_refresh_deadlines();
SELECT md5(string_agg(format('%s %s %s', incident_id, report, due_at), ',' ORDER BY incident_id, report)) = :'deadlines' AS kept
FROM alert_deadline;
ALTER TABLE public.broken_transfers RENAME COLUMN value TO amount;
DELETE FROM alert_deadline;
SELECT depwatch_internal._alert_refresh_deadlines();
SELECT md5(string_agg(format('%s %s %s', incident_id, report, due_at), ',' ORDER BY incident_id, report)) = :'deadlines' AS computed_again
FROM alert_deadline;

-- ---------------------------------------------------------------------------
-- Routes: validation, masking, audit
-- ---------------------------------------------------------------------------
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'email', 'ops@bank.example')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'ops@bank.example')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'ftp://u:secret@files.example/x')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', 'xml')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', 'pagerduty')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', events => ARRAY['dependency_down', 'fire'])$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', events => '{}')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', targets => ARRAY['nobody'])$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', min_severity => 'page')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', options => '{"suppressed": "yes"}')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', options => '{"headers": {"X-Key": 1}}')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://h.example/x', options => '[]')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'notify', 'chan', 'slack')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('r1', 'notify', repeat('c', 64))$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('R1', 'notify', 'chan')$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('pager', 'notify', 'chan')$$);
SELECT * FROM try($$SELECT depwatch.alter_alert_route('nobody', min_severity => 'info')$$);
SELECT * FROM try($$SELECT depwatch.alter_alert_route('pager', format => 'json', options => '{}')$$);
SELECT * FROM try($$SELECT depwatch.drop_alert_route('nobody')$$);
-- errors never echo a webhook's secrets
SELECT count(*) AS echoed FROM (VALUES
	((SELECT message FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'ftp://u:secret@files.example/x')$$))),
	((SELECT message FROM try($$SELECT depwatch.add_alert_route('r1', 'webhook', 'https://u:secret@files.example/x', 'pagerduty')$$)))) m(t)
WHERE t LIKE '%secret%';

SELECT add_alert_route('ops_slack', 'webhook', 'https://hooks.slack.example/services/T0/B0/XyZsecret', 'slack',
					   targets => ARRAY['transfer', 'atm'], min_severity => 'warning') > 0 AS added;
SELECT alter_alert_route('ops_slack', events => ARRAY['capability_down', 'capability_up'], targets => '{}');
SELECT name, channel, target, format, events, targets, min_severity, options, set_by_superuser
FROM alert_routes ORDER BY name;
-- the audit log has every change to routes, masked
SELECT action, new->>'name' AS name, new->>'target' AS target, new->'options' AS options
FROM audit_log WHERE table_name = 'alert_route' ORDER BY id;
SELECT drop_alert_route('ops_slack');
SELECT count(*) AS dropped FROM alert_routes WHERE name = 'ops_slack';
SELECT ok FROM verify_audit();

-- readers read events, deliveries and masked routes; never the routes
-- table, never the routes API
SET ROLE alerts_reader;
SELECT count(*) > 0 AS reads_alerts FROM alerts;
SELECT count(*) AS routes FROM alert_routes;
SELECT * FROM try($$SELECT target FROM depwatch.alert_route$$);
SELECT * FROM try($$SELECT depwatch.add_alert_route('mine', 'notify', 'mine')$$);
SELECT * FROM try($$INSERT INTO depwatch.alert_event (at, event, target, target_type, severity, summary, dedup_key) VALUES (now(), 'test', 'x', 'route', 'info', 'x', 'x')$$);
-- nor plant the transaction's routing state: a first id of its choosing
-- would route no event of the next change, or re-route old ones
SELECT * FROM try($$SET depwatch.alert_route_from = '999999999'$$);
SELECT * FROM try($$SELECT set_config('depwatch.alert_route_from', '1', true)$$);
SELECT * FROM try($$SET depwatch.alert_capabilities_due = off$$);
RESET ROLE;

-- metrics: pending and failed deliveries per route
SELECT line FROM regexp_split_to_table(metrics(), E'\n') line
WHERE line ~ '^depwatch_alert' OR line ~ '^# (HELP|TYPE) depwatch_alert' ORDER BY line;

DROP FUNCTION public.ev(timestamptz, bigint);
RESET search_path;
DROP EXTENSION depwatch CASCADE;
DROP EXTENSION btree_gist;
DROP FUNCTION try(text);
DROP ROLE alerts_reader;
