-- Regulatory facts recorded on an incident (SPEC section 3,
-- "Classification"): checked key by key, merged, audited.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

SELECT add_dependency('core', 'core') > 0;
SELECT open_incident('fire', '2022-10-15 06:19+00');
-- Every key, with its type
SELECT key, type FROM depwatch_internal._incident_fact_types() ORDER BY key;
SELECT set_incident_facts(1, '{"critical_services_affected": true, "clients_total": 1200000,
	"reputational": ["media", "complaints"], "aware_at": "2022-10-15T15:25:00+09:00",
	"counterparts_total": 12, "counterparts_affected": 5, "relevant_clients_affected": false,
	"member_states": 1, "data_losses": false, "malicious_access": false, "costs_eur": 25000.50,
	"root_cause": "power", "classified_at": "2022-10-15T18:00:00+09:00",
	"backlog_cleared_at": "2022-10-17T12:30:00+09:00", "subscribers": 18000000}');
-- Later calls override keys; a JSON null removes one
SELECT set_incident_facts(1, '{"clients_total": 1300000, "reputational": null}');
SELECT jsonb_pretty(facts) FROM incident WHERE id = 1;
-- A call that changes nothing writes nothing
SELECT count(*) AS audit_rows_before FROM audit_log WHERE table_name = 'incident';
SELECT set_incident_facts(1, '{"clients_total": 1300000}') IS NOT NULL;
SELECT count(*) AS audit_rows_after FROM audit_log WHERE table_name = 'incident';
SELECT old->'facts'->'clients_total' AS old_clients, new->'facts'->'clients_total' AS new_clients
FROM audit_log WHERE table_name = 'incident' AND action = 'UPDATE' ORDER BY id DESC LIMIT 1;

-- Bad facts: an error naming the key, and nothing written
\set VERBOSITY terse
SELECT set_incident_facts(1, '{"clients": 1}');
SELECT set_incident_facts(1, '{"clients_total": -1}');
SELECT set_incident_facts(1, '{"clients_total": 1.5}');
SELECT set_incident_facts(1, '{"clients_total": "many"}');
SELECT set_incident_facts(1, '{"critical_services_affected": "yes"}');
SELECT set_incident_facts(1, '{"reputational": ["tv"]}');
SELECT set_incident_facts(1, '{"reputational": "media"}');
SELECT set_incident_facts(1, '{"costs_eur": -5}');
SELECT set_incident_facts(1, '{"costs_eur": "lots"}');
SELECT set_incident_facts(1, '{"aware_at": "2022-10-15 10:00"}');
SELECT set_incident_facts(1, '{"aware_at": "2022-13-01 10:00+00"}');
SELECT set_incident_facts(1, '{"root_cause": ""}');
SELECT set_incident_facts(1, '{"subscribers": 10, "member_states": true}');
SELECT set_incident_facts(1, '[1]');
SELECT set_incident_facts(1, NULL);
SELECT set_incident_facts(9, '{}');
\set VERBOSITY default
SELECT set_incident_facts(1, '{"clients": 1}');
SELECT facts->'clients_total' AS clients_total, facts ? 'subscribers' AS has_subscribers FROM incident;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
