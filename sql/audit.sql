-- The audit log: every change, append-only, SHA-256 hash-chained.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

SELECT * FROM depwatch.verify_audit();	-- empty log

SELECT depwatch.add_dependency('nice', 'credit_bureau', 'http', 'https://u:topsecret@nice.example/', tracked_since => '1990-01-01 00:00+00') AS nice;
SELECT depwatch.add_capability('account_opening', ARRAY['nice']) AS cap;
SELECT depwatch.alter_dependency('nice', fail_after => 5);
SELECT depwatch.record_outage('nice', '2017-07-27 08:30+09', '2017-07-27 10:30+09') AS outage;
SELECT depwatch.add_maintenance('nice', '[2026-01-01, 2026-01-02)') AS maintenance;
SELECT depwatch.open_incident('launch day', '2017-07-27 08:00+09', ARRAY['nice']) AS incident;
SELECT depwatch.close_incident(1, '2017-07-27 19:00+09');

SET ROLE depwatch_operator;
SELECT depwatch.end_outage('nice', '2017-07-27 10:30+09');	-- fails: nothing open
SELECT depwatch.record_outage('nice', '2018-01-01', '2018-01-02') AS outage2;
RESET ROLE;

SELECT id, actor, action, table_name, row_id, old IS NOT NULL AS has_old, new IS NOT NULL AS has_new,
	   (prev_hash IS NULL) = (id = 1) AS chained, length(hash) AS hash_bytes
FROM depwatch.audit_log ORDER BY id;
-- what changed in the UPDATE, and no secret in the log
SELECT old->>'fail_after' AS old_fail_after, new->>'fail_after' AS new_fail_after
FROM depwatch.audit_log WHERE action = 'UPDATE' AND table_name = 'dependency';
SELECT count(*) AS secrets_in_log FROM depwatch.audit_log WHERE old::text ~ 'topsecret' OR new::text ~ 'topsecret';
SELECT new->>'target' AS logged_target FROM depwatch.audit_log WHERE id = 1;
SELECT * FROM depwatch.verify_audit();

-- Append-only, even for its owner.
UPDATE depwatch.audit_log SET actor = 'mallory' WHERE id = 2;
DELETE FROM depwatch.audit_log WHERE id = 2;
TRUNCATE depwatch.audit_log;

-- A superuser who turns the guard off to tamper is caught by verify_audit.
ALTER TABLE depwatch.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE depwatch.audit_log SET actor = 'mallory' WHERE id = 4;
SELECT * FROM depwatch.verify_audit();
UPDATE depwatch.audit_log SET actor = 'postgres' WHERE id = 4;
SELECT * FROM depwatch.verify_audit();
-- removing a row in the middle breaks the chain at the next one
CREATE TEMP TABLE saved AS SELECT * FROM depwatch.audit_log WHERE id = 3;
DELETE FROM depwatch.audit_log WHERE id = 3;
SELECT * FROM depwatch.verify_audit();
INSERT INTO depwatch.audit_log SELECT * FROM saved;
SELECT * FROM depwatch.verify_audit();
-- removing the last row is caught by the chain's head
CREATE TEMP TABLE last_row AS SELECT * FROM depwatch.audit_log ORDER BY id DESC LIMIT 1;
DELETE FROM depwatch.audit_log WHERE id = (SELECT id FROM last_row);
SELECT * FROM depwatch.verify_audit();
INSERT INTO depwatch.audit_log SELECT * FROM last_row;
ALTER TABLE depwatch.audit_log ENABLE TRIGGER audit_log_append_only;
SELECT * FROM depwatch.verify_audit();

-- The hash does not depend on session settings.
SET TimeZone = 'Pacific/Chatham';
SET IntervalStyle = 'iso_8601';
SELECT depwatch.alter_dependency('nice', every => '20 s');
SELECT new->>'every' AS every_logged FROM depwatch.audit_log ORDER BY id DESC LIMIT 1;
SELECT * FROM depwatch.verify_audit();

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
