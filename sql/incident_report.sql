-- incident_timeline() and incident_report(): the 2022 fire as a regulator
-- would get it, with exact reporting deadlines.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'Asia/Seoul';
SET search_path = depwatch, public;

SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kakaotalk', 'messaging', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('pangyo_dc', 'datacenter', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('simple_transfer', ARRAY['core', 'kakaotalk']) > 0;
SELECT add_capability('group_account', ARRAY['core', 'kakaotalk']) > 0;
SELECT count(*) FROM (VALUES
	(record_outage('pangyo_dc', '2022-10-15 15:22+09', '2022-10-16 01:31+09', note => 'power cut')),
	(record_outage('kakaotalk', '2022-10-15 15:30+09', '2022-10-17 12:09+09', note => 'messaging down')),
	(record_outage('core', '2022-10-15 15:30+09', '2022-10-15 16:30+09', 'degraded'))) v;
SELECT add_maintenance('kakaotalk', '[2022-10-17 02:00+09, 2022-10-17 04:00+09)', 'failover work') > 0;
SELECT open_incident('Pangyo data-center fire', '2022-10-15 15:19+09', ARRAY['pangyo_dc', 'kakaotalk']);
SELECT close_incident(1, '2022-10-17 12:30+09', 'fire in the UPS battery room');
SELECT set_incident_facts(1, '{"critical_services_affected": true, "reputational": ["media", "complaints"],
	"aware_at": "2022-10-15T15:25:00+09:00", "classified_at": "2022-10-15T18:00:00+09:00",
	"subscribers": 18000000}') IS NOT NULL;
SELECT set_incident_facts(1, '{"backlog_cleared_at": "2022-10-17T13:00:00+09:00"}') IS NOT NULL;

SELECT * FROM incident_timeline(1) WHERE event <> 'facts recorded';
-- facts are placed when they were recorded (here: now)
SELECT event, detail, at > '2022-10-18' AS recorded_later FROM incident_timeline(1) WHERE event = 'facts recorded';

-- The report: its parts, the classification and the deadlines.  DORA:
-- major (critical services, reputational impact, 45 h); initial by
-- 22:00 (4 h after classification, before 24 h after awareness),
-- intermediate 72 h later, final a month after that.  FSS: within a day
-- of awareness.
SELECT jsonb_object_keys(incident_report(1)) AS part;
SELECT r->'incident'->>'title' AS title, r->'incident'->'dependencies' AS dependencies,
	   jsonb_array_length(r->'timeline') AS timeline_events
FROM incident_report(1) r;
SELECT c->>'capability' AS capability, jsonb_pretty(c->'windows') AS windows
FROM incident_report(1) r, jsonb_array_elements(r->'capabilities') c;
SELECT r#>>'{classification,dora,major}' AS dora_major, r#>>'{classification,kr_fss,major}' AS fss_major,
	   r#>>'{classification,kr_fss,reportable}' AS fss_reportable, r#>>'{economics,ledger_bound}' AS ledger_bound
FROM incident_report(1) r;
SELECT jsonb_pretty(r->'deadlines') FROM incident_report(1) r;

-- The DORA initial deadline in the other two cases: classified late in
-- the first 24 hours (the 24 hours win), and after them (4 hours from
-- classification)
SELECT depwatch_internal._reporting_deadlines('{"aware_at": "2024-01-01T10:00:00+00", "classified_at": "2024-01-02T08:00:00+00"}',
							true, false)#>>'{dora,initial}' AS classified_after_22h;
SELECT depwatch_internal._reporting_deadlines('{"aware_at": "2024-01-01T10:00:00+00", "classified_at": "2024-01-02T16:00:00+00"}',
							true, false)#>>'{dora,initial}' AS classified_after_30h;
SELECT depwatch_internal._reporting_deadlines('{"aware_at": "2024-01-01T10:00:00+00"}', false, true) AS not_major_but_reportable;

\set VERBOSITY terse
SELECT * FROM incident_timeline(99);
SELECT incident_report(NULL);
\set VERBOSITY default

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
