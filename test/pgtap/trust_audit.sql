-- trust_audit.sql: the audit chain of SPEC section 6 (issue 16, item 12).
-- Its head cannot be deleted, nulled, truncated or moved back, and when a
-- superuser gets round that (triggers off), verify_audit() fails; each row
-- names the login role (session_user) as well as the role in effect (SET
-- ROLE), and the hash covers both, while rows written before 0.3 (format
-- 1, no session_actor) still verify.  On 0.2 the head could be deleted or
-- nulled with verify_audit() still ok, and the login role was not kept.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(22);

CREATE ROLE trust_audit_alice LOGIN IN ROLE depwatch_admin;

SELECT depwatch.add_dependency('core', 'core', 'none');
SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'none');
SELECT depwatch.alter_dependency('bureau', vendor => 'acme');
SELECT results_eq('SELECT ok, checked, first_bad FROM depwatch.verify_audit()',
				  $$VALUES (true, 3::bigint, NULL::bigint)$$, 'three changes, a chain that verifies');

-- ---------------------------------------------------------------------------
-- The head is written by the chain only (6)
-- ---------------------------------------------------------------------------
SELECT throws_ok('DELETE FROM depwatch.audit_head', '42501', NULL, 'the head cannot be deleted');
SELECT throws_ok('UPDATE depwatch.audit_head SET last_id = NULL, last_hash = NULL', '42501', NULL,
				 'the head cannot be nulled');
SELECT throws_ok('UPDATE depwatch.audit_head SET last_hash = NULL', '42501', NULL,
				 'the head''s hash cannot be nulled');
SELECT throws_ok('TRUNCATE depwatch.audit_head', '42501', NULL, 'the head cannot be truncated');
SELECT throws_ok($$UPDATE depwatch.audit_head h SET last_id = a.id, last_hash = a.hash
				   FROM depwatch.audit_log a WHERE a.id = (SELECT min(id) FROM depwatch.audit_log)$$,
				 '42501', NULL, 'the head cannot be moved back to cut rows off the end');
SELECT throws_ok($$UPDATE depwatch.audit_head SET last_hash = sha256('forged')$$, '42501', NULL,
				 'the head cannot point at a hash the log does not hold');

-- ---------------------------------------------------------------------------
-- A superuser who turns triggers off is caught by verify_audit() (5)
-- ---------------------------------------------------------------------------
SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
DELETE FROM depwatch.audit_head;
SELECT results_eq('SELECT ok, first_bad FROM depwatch.verify_audit()',
				  $$SELECT false, max(id) FROM depwatch.audit_log$$,
				  'a deleted head: verify_audit() is not ok, at the last row');
ROLLBACK TO tamper;
SET LOCAL session_replication_role = replica;
UPDATE depwatch.audit_head SET last_id = NULL, last_hash = NULL;
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', $$VALUES (false)$$,
				  'a nulled head: verify_audit() is not ok');
ROLLBACK TO tamper;
SET LOCAL session_replication_role = replica;
UPDATE depwatch.audit_head SET last_hash = NULL;
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', $$VALUES (false)$$,
				  'a head with its hash nulled: verify_audit() is not ok');
ROLLBACK TO tamper;
-- the head and the last row deleted together: the head now points past the end
SET LOCAL session_replication_role = replica;
DELETE FROM depwatch.audit_log WHERE id = (SELECT max(id) FROM depwatch.audit_log);
DELETE FROM depwatch.audit_head;
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', $$VALUES (false)$$,
				  'the last row and the head deleted: verify_audit() is not ok');
ROLLBACK TO tamper;
SELECT results_eq('SELECT ok, checked FROM depwatch.verify_audit()', $$VALUES (true, 3::bigint)$$,
				  'untouched, the chain verifies again');

-- ---------------------------------------------------------------------------
-- Both roles are recorded, and hashed (10)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE audit_mark AS SELECT max(id) AS id FROM depwatch.audit_log;
GRANT SELECT ON audit_mark TO PUBLIC;

SET ROLE depwatch_admin;
SELECT depwatch.alter_dependency('core', site => 'dc_a');
RESET ROLE;
SELECT is((SELECT string_agg(actor || ' ' || session_actor, ', ') FROM depwatch.audit_log
		   WHERE id > (SELECT id FROM audit_mark)),
		  'depwatch_admin ' || current_user,
		  'SET ROLE: actor is the role set, session_actor the login role');

-- a login role other than the superuser, which then sets a role of its own
SET SESSION AUTHORIZATION trust_audit_alice;
SELECT depwatch.alter_dependency('core', site => 'dc_b');
SET ROLE depwatch_admin;
SELECT depwatch.alter_dependency('core', site => 'dc_c');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT actor, session_actor FROM depwatch.audit_log WHERE id > (SELECT id FROM audit_mark)
					ORDER BY id OFFSET 1$$,
				  $$VALUES ('trust_audit_alice'::text, 'trust_audit_alice'::text),
						   ('depwatch_admin', 'trust_audit_alice')$$,
				  'a login role is its own actor; after SET ROLE, the login role is still named');
SELECT is((SELECT count(*) FROM depwatch.audit_log WHERE session_actor IS NULL), 0::bigint,
		  'every row of 0.3 names its login role');
SELECT results_eq('SELECT ok, checked FROM depwatch.verify_audit()', $$VALUES (true, 6::bigint)$$,
				  'the chain with both roles verifies');

SAVEPOINT tamper;
SET LOCAL session_replication_role = replica;
UPDATE depwatch.audit_log SET session_actor = 'someone_else'
WHERE id = (SELECT min(id) FROM depwatch.audit_log WHERE session_actor = 'trust_audit_alice');
SELECT results_eq('SELECT ok, first_bad FROM depwatch.verify_audit()',
				  $$SELECT false, min(id) FROM depwatch.audit_log WHERE session_actor = 'someone_else'$$,
				  'the hash covers session_actor: changing it breaks the chain at that row');
ROLLBACK TO tamper;
SET LOCAL session_replication_role = replica;
UPDATE depwatch.audit_log SET session_actor = NULL
WHERE id = (SELECT max(id) FROM depwatch.audit_log);
SELECT results_eq('SELECT ok, first_bad FROM depwatch.verify_audit()',
				  $$SELECT false, max(id) FROM depwatch.audit_log$$,
				  'nulling session_actor (to pass the row off as one written before 0.3) breaks the chain');
ROLLBACK TO tamper;

-- a row of format 1 (no session_actor, as 0.1 and 0.2 wrote them) still
-- verifies: it is hashed as _audit_hash's first form hashed it
SET LOCAL session_replication_role = replica;
UPDATE depwatch.audit_log a
   SET session_actor = NULL,
	   hash = depwatch_internal._audit_hash(a.prev_hash, a.id, a.at, a.actor, a.action, a.table_name, a.row_id, a.old, a.new)
 WHERE a.id = (SELECT min(id) FROM depwatch.audit_log);
SELECT is((SELECT hash FROM depwatch.audit_log ORDER BY id LIMIT 1),
		  (SELECT depwatch_internal._audit_hash(a.prev_hash, a.id, a.at, a.actor, NULL, a.action, a.table_name,
									   a.row_id, a.old, a.new)
		   FROM depwatch.audit_log a ORDER BY id LIMIT 1),
		  'format 1 (session_actor NULL) is the hash of 0.1 and 0.2');
ROLLBACK TO tamper;
SELECT isnt((SELECT hash FROM depwatch.audit_log ORDER BY id LIMIT 1),
			(SELECT depwatch_internal._audit_hash(a.prev_hash, a.id, a.at, a.actor, a.action, a.table_name,
										 a.row_id, a.old, a.new)
			 FROM depwatch.audit_log a ORDER BY id LIMIT 1),
			'format 2 differs from format 1 for the same row');

SELECT ok(col_description('depwatch.audit_log'::regclass,
						  (SELECT attnum FROM pg_attribute WHERE attrelid = 'depwatch.audit_log'::regclass
						   AND attname = 'session_actor')) IS NOT NULL,
		  'session_actor is documented');
SET ROLE depwatch_reader;
SELECT is((SELECT count(session_actor) FROM depwatch.audit_log), 6::bigint,
		  'a reader sees the login role of every change');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
