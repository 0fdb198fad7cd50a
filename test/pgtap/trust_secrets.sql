-- trust_secrets.sql: secrets are masked by structure, not by names (SPEC
-- section 6, issue 16 item 5).  Secrets are planted, each spelled Zq<n>-...,
-- in every form 0.2 let through: a postgres target with a password whose
-- probe is switched to none, key=value targets of passive and none
-- dependencies, URL user info (also percent-encoded, and a token as the
-- user), postgres URIs with a percent-encoded keyword, query values under
-- names that say nothing, a fragment, header values; then a reader (SET
-- ROLE depwatch_reader) searches every relation it may SELECT, found in
-- the catalog, every column it may read cast to text: no Zq<n> anywhere.
-- Failed adds and alters whose message would echo a secret (libpq's own
-- parse errors quote the string) leak none in message, detail, hint or
-- context.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(24);

-- the secret pattern: Zq, digits (the pattern itself, spelled Zq[0-9]+,
-- does not match it)
CREATE FUNCTION pg_temp.secret() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'Zq[0-9]+' $$;

-- leaks(): as the current role, every relation of every schema but
-- pg_toast that the role may SELECT (whole, or column by column), and in
-- each every column it may read cast to text, where a secret shows:
-- 'relation.column: value'.  Relations a role may not read, or whose read
-- fails for it, hold nothing it can see.
CREATE FUNCTION pg_temp.leaks() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	c record;
	hit text;
BEGIN
	FOR c IN
		SELECT r.oid::regclass AS rel, a.attname
		FROM pg_class r
		JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f')
		  AND n.nspname NOT IN ('pg_toast')
		  AND n.nspname NOT LIKE 'pg_temp%'
		  AND (has_table_privilege(r.oid, 'SELECT') OR has_column_privilege(r.oid, a.attnum, 'SELECT'))
		ORDER BY 1, 2
	LOOP
		BEGIN
			EXECUTE format('SELECT %1$I::text FROM %2$s WHERE %1$I::text ~ %3$L LIMIT 1',
						   c.attname, c.rel, pg_temp.secret()) INTO hit;
		EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR object_not_in_prerequisite_state THEN
			hit := NULL;
		END;
		IF hit IS NOT NULL THEN
			RETURN NEXT format('%s.%s: %s', c.rel, c.attname, hit);
		END IF;
	END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.leaks(), pg_temp.secret() TO PUBLIC;

-- failure(call, target): the error a call raises, as message | detail |
-- hint | context, from GET STACKED DIAGNOSTICS; NULL when it succeeds.
-- The target is passed as the bind parameter $1, as clients should pass
-- secrets (doc/reference.md), so that only depwatch's own messages could
-- carry it.
CREATE FUNCTION pg_temp.failure(call text, target text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	m text; d text; h text; c text;
BEGIN
	EXECUTE call USING target;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
							h = PG_EXCEPTION_HINT, c = PG_EXCEPTION_CONTEXT;
	RETURN concat_ws(' | ', m, d, h, c);
END
$$;

-- ---------------------------------------------------------------------------
-- The secrets (3)
-- ---------------------------------------------------------------------------
DO $$
BEGIN
	-- a postgres target with a password, switched to probe none (0.2 showed
	-- it in clear in dependencies and in the audit log)
	PERFORM depwatch.add_dependency('ledger', 'core', 'postgres',
		'host=db.example user=monitor password=Zq1-conninfo dbname=ledger');
	PERFORM depwatch.alter_dependency('ledger', probe => 'none');
	-- key=value targets of passive and none dependencies (never masked in 0.2)
	PERFORM depwatch.add_dependency('cards', 'payment_network', 'passive',
		'host=cards.example password=Zq2-passive');
	PERFORM depwatch.add_dependency('swift', 'payment_network', 'none',
		'host=swift.example sslpassword=Zq3-none');
	-- a postgres URI with user info, under probe none
	PERFORM depwatch.add_dependency('dw', 'other', 'none', 'postgresql://etl:Zq4-uri@dw.example/dw');
	-- a percent-encoded keyword in a postgres URI (libpq decodes it to password)
	PERFORM depwatch.add_dependency('risk', 'other', 'postgres',
		'postgresql://risk.example/risk?pass%77ord=Zq5-pctname');
	PERFORM depwatch.alter_dependency('risk', probe => 'passive');
	-- URL user info, percent-encoded, and a token as the user
	PERFORM depwatch.add_dependency('idv', 'identity', 'http',
		'https://svc:Zq6%2Dpct@idv.example/health');
	PERFORM depwatch.add_dependency('git', 'other', 'none', 'https://Zq7-token@git.example/repo');
	-- query values under names that say nothing, a percent-encoded name, a
	-- bare parameter and a fragment
	PERFORM depwatch.add_dependency('bureau', 'credit_bureau', 'http',
		'https://bureau.example/health?x=Zq8-q&pass%77ord=Zq9-q&Zq10-bare#Zq11-frag',
		options => '{"headers": {"X-Custom": "Zq12-header", "Authorization": "Bearer Zq13-header"}}');
	-- the same under passive, where 0.2 masked by name only
	PERFORM depwatch.add_dependency('sms', 'messaging', 'passive', 'https://sms.example/send?k=Zq14-q');
	-- a target changed: the audit log holds the old and the new one
	PERFORM depwatch.alter_dependency('idv', target => 'https://svc:Zq15-new@idv.example/health?v=Zq16-q');
END
$$;
SELECT is((SELECT count(*) FROM depwatch.dependency WHERE target ~ pg_temp.secret()), 9::bigint,
		  'the secrets are stored, for the probes');
SELECT is((SELECT count(*) FROM depwatch.audit_log), 12::bigint, 'and their changes logged');
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', $$VALUES (true)$$, 'the chain verifies');

-- ---------------------------------------------------------------------------
-- What a reader sees (9)
-- ---------------------------------------------------------------------------
SET ROLE depwatch_reader;
SELECT is_empty('SELECT * FROM pg_temp.leaks()',
				'a reader finds no secret in any relation it can read, audit_log included');
SELECT ok((SELECT count(DISTINCT c.oid) FROM pg_class c
		   WHERE c.relnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND has_table_privilege(c.oid, 'SELECT')) >= 10,
		  'the search went through the relations a reader reads');
SELECT is((SELECT target FROM depwatch.dependencies WHERE name = 'ledger'),
		  'user=''monitor'' password=''********'' dbname=''ledger'' host=''db.example''',
		  'a postgres target switched to probe none: its password is masked, the rest shown');
SELECT is((SELECT target FROM depwatch.dependencies WHERE name = 'cards'),
		  'password=''********'' host=''cards.example''', 'a key=value target of a passive dependency');
SELECT is((SELECT target FROM depwatch.dependencies WHERE name = 'dw'),
		  'user=''etl'' password=''********'' dbname=''dw'' host=''dw.example''',
		  'a postgres URI under probe none');
SELECT is((SELECT target FROM depwatch.dependencies WHERE name = 'git'),
		  'https://********@git.example/repo', 'a token as the user of a URL');
SELECT is((SELECT target FROM depwatch.dependencies WHERE name = 'bureau'),
		  'https://bureau.example/health?x=********&pass%77ord=********&********#********',
		  'every query value, a bare parameter and the fragment');
SELECT is((SELECT options FROM depwatch.dependencies WHERE name = 'bureau'),
		  '{"headers": {"X-Custom": "********", "Authorization": "********"}}'::jsonb,
		  'every header value, whatever its name');
SELECT is((SELECT old->>'target' || ' ' || (new->>'target') FROM depwatch.audit_log
		   WHERE table_name = 'dependency' AND action = 'UPDATE' AND new->>'name' = 'idv'),
		  'https://svc:********@idv.example/health https://svc:********@idv.example/health?v=********',
		  'the audit log holds the old and the new target masked');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Errors quote no secret (12)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE failed (label text, call text, target text, error text);
INSERT INTO failed (label, call, target)
SELECT label, format('SELECT depwatch.add_dependency(''x'', ''core'', %L, $1)', probe), target
FROM (VALUES
	('conninfo, "=" missing after password', 'postgres', 'host=db password Zq20-err'),
	('conninfo, mistyped keyword', 'postgres', 'host=db pass=Zq21-err'),
	('conninfo, stray word', 'postgres', 'host=db Zq22-err'),
	('conninfo, unterminated quote', 'postgres', 'host=db password=''Zq23-err'),
	('URI, bad query parameter', 'postgres', 'postgresql://db/x?password=Zq24-err&bad'),
	('URI, bad percent-encoding', 'postgres', 'postgresql://u:Zq25-err@db/x?a=%zz'),
	('URI, a "?" in the password of a libpq URI', 'tcp', 'postgresql://u:Zq26?err@db:99999'),
	('tcp, user info', 'tcp', 'u:Zq27-err@db.example:99999'),
	('http, a conninfo given as a URL', 'http', 'host=db password=Zq28-err'),
	('http, bad URL with a query and a fragment', 'http', 'ftp://db.example/?k=Zq29-err#Zq30-err')
) AS t(label, probe, target);
INSERT INTO failed (label, call, target) VALUES
	('alter, a bad target for the dependency''s probe',
	 $$SELECT depwatch.alter_dependency('idv', target => $1)$$, 'https://u:Zq31-err@'),
	('alter, a probe that does not suit the stored target',
	 $$SELECT depwatch.alter_dependency('ledger', probe => coalesce($1, 'tcp'))$$, NULL);
UPDATE failed SET error = pg_temp.failure(call, target);
SELECT ok(error IS NOT NULL AND error !~ pg_temp.secret(), label || ': ' || coalesce(error, 'no error'))
FROM failed ORDER BY label;

SELECT * FROM finish();
ROLLBACK;
