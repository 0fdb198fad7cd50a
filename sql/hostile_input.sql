-- Hostile input across the whole API (configuration, operations, reading,
-- economics, classification, pictures): SQL injection text in names, notes
-- and targets, huge strings, NULL in every argument position, out-of-range
-- intervals and periods, malformed jsonb, unicode names.  Every call runs
-- as depwatch_admin (who may call everything) in a subtransaction; each
-- must fail with its own SQLSTATE and a bounded message, and every table
-- of depwatch, the audit chain included, must be as it was.
--
-- Unicode: names of dependencies, capabilities and fee policies are ASCII
-- lower-case identifiers, so that look-alikes (Cyrillic "е" in "nicе"),
-- invisible characters and bidi overrides can never pass for another
-- name; free text (titles, notes, sites, vendors, root causes, fee types)
-- takes any Unicode and keeps it as given.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SET TimeZone = 'UTC';

-- The world the calls are made in: dependencies, capabilities, an ongoing
-- outage, a closed and an open incident, a fee policy, a bound ledger.
SELECT count(*) FROM (VALUES
	(depwatch.add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(depwatch.add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(depwatch.add_dependency('spare', 'other', tracked_since => '1990-01-01 00:00+00')),
	(depwatch.add_dependency('ledger', 'core', 'postgres', 'host=127.0.0.1 port=1 dbname=ledger',
							 options => '{"query": "SELECT true"}', tracked_since => '1990-01-01 00:00+00')),
	(depwatch.add_capability('account_opening', ARRAY['core', 'nice'])),
	(depwatch.add_capability('spare_cap', ARRAY['core'])),
	(depwatch.record_outage('nice', '2022-10-15 06:00', '2022-10-15 07:00')),
	(depwatch.record_outage('core', '2022-12-01 00:00')),
	(depwatch.open_incident('fire', '2022-10-15 06:00')),
	(depwatch.open_incident('still open', '2022-12-01 00:00')),
	(depwatch.add_fee_policy('fees'))) v;
SELECT depwatch.close_incident(1, '2022-10-15 09:00');
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
							 amount numeric, fee numeric, fee_type text, capability text, status text,
							 external boolean);
CREATE TABLE bank.balances (account_id bigint, customer_id text, as_of timestamptz, balance numeric);
-- a view an admin owns: the reports would run its functions as depwatch's owner
CREATE VIEW bank.admin_transfers AS SELECT * FROM bank.transfers;
GRANT USAGE ON SCHEMA bank TO depwatch_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA bank TO depwatch_admin;
ALTER VIEW bank.admin_transfers OWNER TO depwatch_admin;
SELECT depwatch.bind_ledger('bank.transfers', balances => 'bank.balances');

-- try(call) runs one call in a subtransaction and reports how it failed; a
-- call that does not fail is rolled back too, and reported as 'no error'.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	RAISE EXCEPTION 'no error' USING ERRCODE = 'DWNOE';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
							detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	IF state = 'DWNOE' THEN
		state := 'no error';
	END IF;
END
$$;

-- checksum of every table of depwatch (the sample partitions, the audit log
-- and its head included) and of which tables there are; sequences are left
-- out, since a failed INSERT still advances them.
CREATE FUNCTION catalog_checksum() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	h text;
	all_h text := '';
BEGIN
	FOR t IN SELECT c.oid FROM pg_class c
			 WHERE c.relnamespace = 'depwatch'::regnamespace AND c.relkind = 'r' ORDER BY c.relname LOOP
		EXECUTE format('SELECT md5(coalesce(string_agg(x::text, ''|'' ORDER BY x::text), '''')) FROM %s x', t)
			INTO h;
		all_h := all_h || t::text || ':' || h || ';';
	END LOOP;
	RETURN md5(all_h);
END
$$;
SELECT catalog_checksum() AS before \gset
SELECT count(*) AS audit_rows FROM depwatch.audit_log \gset

-- ---------------------------------------------------------------------------
-- 1. NULL in every argument position of every function that takes one.
--    Each function's call is valid as written ("no error" in position 0);
--    then each argument in turn is NULL.  A NULL that means "not given"
--    (an optional setting, "unchanged" for alter_*, "all" for lists) is
--    accepted, and listed as such.
-- ---------------------------------------------------------------------------
CREATE TABLE null_calls (fn text, args text[], optional text[]);
INSERT INTO null_calls VALUES
	('add_dependency', ARRAY['name => ''x''', 'kind => ''core''', 'probe => ''tcp''', 'target => ''192.0.2.1:5432''',
		'every => ''10 s''', 'timeout => ''2 s''', 'fail_after => 3', 'recover_after => 2',
		'degraded_after => ''1 s''', 'options => ''{}''', 'site => ''dc''', 'vendor => ''acme'''],
		ARRAY['degraded_after', 'site', 'vendor']),
	('alter_dependency', ARRAY['name => ''nice''', 'kind => ''other''', 'every => ''20 s''', 'enabled => false'],
		ARRAY['kind', 'every', 'enabled']),
	('drop_dependency', ARRAY['name => ''spare'''], NULL),
	('add_capability', ARRAY['name => ''x''', 'requires => ARRAY[''core'']', 'slo => 99.9',
		'impact_tolerance => ''1 hour'''], ARRAY['impact_tolerance']),
	('alter_capability', ARRAY['name => ''account_opening''', 'requires => ARRAY[''core'']', 'slo => 99',
		'impact_tolerance => ''1 hour'''], ARRAY['requires', 'slo', 'impact_tolerance']),
	('drop_capability', ARRAY['name => ''spare_cap'''], NULL),
	('parse_requirements', ARRAY['requires => ARRAY[''a|b'']'], NULL),
	('maintain_sample_partitions', ARRAY['days_ahead => 1', 'retention => ''90 days'''], ARRAY['retention']),
	('report_sample', ARRAY['dependency => ''nice''', 'ok => true', 'latency => ''1 s''', 'at => ''2022-10-16''',
		'vantage => ''seoul''', 'detail => ''ok'''], ARRAY['latency', 'vantage', 'detail']),
	('record_outage', ARRAY['dependency => ''nice''', 'started_at => ''2022-11-01''', 'ended_at => ''2022-11-02''',
		'kind => ''down''', 'note => ''n''', 'detected_at => ''2022-11-01 00:01'''],
		ARRAY['ended_at', 'note', 'detected_at']),
	('end_outage', ARRAY['dependency => ''core''', 'ended_at => ''2022-12-02''', 'kind => ''down'''], NULL),
	('add_maintenance', ARRAY['target => ''core''', 'during => ''[2026-01-01, 2026-01-02)''', 'note => ''n'''],
		ARRAY['note']),
	('open_incident', ARRAY['title => ''t''', 'started_at => ''2022-10-16''', 'dependencies => ARRAY[''nice'']'],
		ARRAY['dependencies']),
	('close_incident', ARRAY['incident => 2', 'ended_at => ''2022-12-31''', 'root_cause => ''power'''],
		ARRAY['root_cause']),
	('set_incident_facts', ARRAY['incident => 1', 'facts => ''{"data_losses": true}'''], NULL),
	('derive_outages', ARRAY['dependency => ''nice''', 'period => ''[2022-01-01, 2023-01-01)''', 'fail_after => 3',
		'recover_after => 2'], ARRAY['period', 'fail_after', 'recover_after']),
	('availability', ARRAY['period => ''[2022-10-01, 2022-11-01)''', 'bucket => ''day'''], ARRAY['bucket']),
	('capability_outages', ARRAY['capability => ''account_opening''', 'period => ''[2022-10-01, 2022-11-01)'''], NULL),
	('state_timeline', ARRAY['period => ''[2022-10-01, 2022-11-01)''', 'targets => ARRAY[''nice'']'], ARRAY['targets']),
	('timeline_svg', ARRAY['period => ''[2022-10-01, 2022-11-01)''', 'targets => ARRAY[''nice'']'], ARRAY['targets']),
	('bind_ledger', ARRAY['transfers => ''bank.transfers''', 'balances => ''bank.balances'''], ARRAY['balances']),
	('add_fee_policy', ARRAY['name => ''p''', 'fee_types => ARRAY[''atm'']', 'capabilities => ARRAY[''transfer'']',
		'grace => ''1 day''', 'per_customer_cap => 10'], ARRAY['fee_types', 'capabilities', 'per_customer_cap']),
	('set_fee_schedule', ARRAY['fee_type => ''atm''', 'capability => ''transfer''', 'amount => 1',
		'effective => ''[2022-01-01,)'''], ARRAY['capability']),
	('impact', ARRAY['incident => 1'], NULL),
	('fee_waiver', ARRAY['incident => 1', 'policy => ''fees'''], NULL),
	('fee_waiver_summary', ARRAY['incident => 1', 'policy => ''fees'''], NULL),
	('fee_waiver_cost', ARRAY['period => ''[2022-10-01, 2022-11-01)''', 'bucket => ''day'''], NULL),
	('deposit_outflow', ARRAY['incident => 1', 'baseline => ''28 days''', 'horizon => ''14 days''', 'bucket => ''day'''],
		NULL),
	('deposit_outflow_summary', ARRAY['incident => 1', 'baseline => ''28 days''', 'horizon => ''14 days''',
		'bucket => ''day'''], NULL),
	('classify_incident', ARRAY['incident => 1', 'framework => ''dora'''], NULL),
	('incident_timeline', ARRAY['incident => 1'], NULL),
	('incident_report', ARRAY['incident => 1'], NULL);

-- position 0: the valid call; position i: argument i NULL
CREATE TABLE null_cases AS
SELECT c.fn, p.i, CASE WHEN p.i = 0 THEN '(valid call)' ELSE split_part(c.args[p.i], ' ', 1) END AS arg,
	   p.i > 0 AND split_part(c.args[p.i], ' ', 1) = ANY (coalesce(c.optional, '{}')) AS optional,
	   format('SELECT * FROM depwatch.%s(%s)', c.fn,
			  (SELECT string_agg(CASE WHEN a.n = p.i THEN split_part(a.a, ' ', 1) || ' => NULL' ELSE a.a END,
								 ', ' ORDER BY a.n)
			   FROM unnest(c.args) WITH ORDINALITY a(a, n))) AS call
FROM null_calls c CROSS JOIN LATERAL generate_series(0, cardinality(c.args)) p(i);
GRANT SELECT ON null_cases TO depwatch_admin;

SET ROLE depwatch_admin;
CREATE TEMP TABLE null_results AS
SELECT n.fn, n.i, n.arg, n.optional, r.* FROM null_cases n, LATERAL try(n.call) r;
RESET ROLE;

SELECT fn, arg, state, left(message, 110) AS message FROM null_results
WHERE NOT optional ORDER BY fn, i;
-- the NULLs that mean "not given", accepted
SELECT fn, string_agg(arg, ', ' ORDER BY i) AS accepted_null FROM null_results
WHERE optional AND state = 'no error' GROUP BY fn ORDER BY fn;
SELECT count(*) AS null_calls,
	   count(*) FILTER (WHERE i > 0 AND NOT optional) AS must_fail,
	   count(*) FILTER (WHERE i > 0 AND NOT optional AND state = 'no error') AS accepted_wrongly,
	   count(*) FILTER (WHERE optional AND state <> 'no error') AS optional_refused,
	   count(*) FILTER (WHERE i = 0 AND state <> 'no error') AS valid_refused,
	   count(*) FILTER (WHERE state LIKE 'XX%' OR state LIKE '42883') AS internal_errors
FROM null_results;

-- ---------------------------------------------------------------------------
-- 2. Injection text, huge strings, out-of-range values, malformed jsonb,
--    unicode names, escalation attempts.
-- ---------------------------------------------------------------------------
CREATE TABLE cases (n serial, label text, call text);
GRANT SELECT ON cases TO depwatch_admin;
INSERT INTO cases (label, call) VALUES
	-- SQL injection text: names, kinds, targets, notes, buckets, frameworks, facts
	('config: injection in a name', $$SELECT depwatch.add_dependency('x"; DELETE FROM depwatch.audit_log; --', 'core')$$),
	('config: injection in a kind', $$SELECT depwatch.add_dependency('x', 'core''; DROP TABLE depwatch.dependency; --')$$),
	('config: injection in a probe', $$SELECT depwatch.add_dependency('x', 'core', 'tcp; DROP TABLE depwatch.outage')$$),
	('config: injection in a tcp target', $$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'a.example:80; DROP TABLE depwatch.outage')$$),
	('config: injection in an http target', $$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/''); DROP TABLE depwatch.outage; --')$$),
	('config: injection in a conninfo', $$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=db options=''-c log_statement=all''; DROP')$$),
	('config: injection in alter_dependency', $$SELECT depwatch.alter_dependency('nice''; DROP TABLE depwatch.outage; --', enabled => false)$$),
	('config: injection in drop_dependency', $$SELECT depwatch.drop_dependency('nice'' OR ''1''=''1')$$),
	('config: injection in a requirement', $$SELECT depwatch.add_capability('x', ARRAY['core''; DROP TABLE depwatch.outage; --'])$$),
	('ops: injection in report_sample', $$SELECT depwatch.report_sample('nice''; DROP TABLE depwatch.outage; --', true)$$),
	('ops: injection in add_maintenance', $$SELECT depwatch.add_maintenance('core''; DROP TABLE depwatch.outage; --', '[2026-01-01, 2026-01-02)')$$),
	('read: injection in derive_outages', $$SELECT * FROM depwatch.derive_outages('nice''; DROP TABLE depwatch.outage; --')$$),
	('read: injection in a bucket', $$SELECT * FROM depwatch.availability('[2022-01-01, 2022-02-01)', 'day''; DROP TABLE depwatch.outage; --')$$),
	('read: injection in state_timeline', $$SELECT * FROM depwatch.state_timeline('[2022-01-01, 2022-02-01)', ARRAY['nice''; DROP TABLE depwatch.outage; --'])$$),
	('svg: markup as a target', $$SELECT depwatch.timeline_svg('[2022-01-01, 2022-02-01)', ARRAY['<script>alert(1)</script>'])$$),
	('econ: injection in a policy', $$SELECT * FROM depwatch.fee_waiver(1, 'fees''; DROP TABLE depwatch.outage; --')$$),
	('econ: injection in bind_ledger', $$SELECT depwatch.bind_ledger('bank.transfers; DROP TABLE depwatch.outage')$$),
	('class: injection in a framework', $$SELECT * FROM depwatch.classify_incident(1, 'dora'' OR ''1''=''1')$$),
	('class: injection in a fact name', $$SELECT depwatch.set_incident_facts(1, '{"x''); DROP TABLE depwatch.outage; --": true}')$$),
	-- huge strings (1 MB): refused, and never echoed whole
	('huge: name', $$SELECT depwatch.add_dependency(repeat('a', 1000000), 'core')$$),
	('huge: kind', $$SELECT depwatch.add_dependency('x', repeat('k', 1000000))$$),
	('huge: probe', $$SELECT depwatch.add_dependency('x', 'core', repeat('p', 1000000))$$),
	('huge: tcp target', $$SELECT depwatch.add_dependency('x', 'core', 'tcp', repeat('h', 1000000) || ':80')$$),
	('huge: http target', $$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/' || repeat('p', 1000000))$$),
	('huge: conninfo', $$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=' || repeat('h', 1000000))$$),
	('huge: site', $$SELECT depwatch.add_dependency('x', 'core', site => repeat('s', 1000000))$$),
	('huge: vendor', $$SELECT depwatch.alter_dependency('nice', vendor => repeat('v', 1000000))$$),
	('huge: option', $$SELECT depwatch.add_dependency('x', 'core', options => jsonb_build_object('slo', 99, 'x', repeat('o', 1000000)))$$),
	('huge: requirement group', $$SELECT depwatch.add_capability('x', ARRAY['core|' || repeat('n|', 100000) || 'nice'])$$),
	('huge: requirement name', $$SELECT * FROM depwatch.parse_requirements(ARRAY[repeat('a', 1000000)])$$),
	('huge: 100,000 groups', $$SELECT depwatch.add_capability('x', array_fill('core'::text, ARRAY[100000]))$$),
	('huge: fee type', $$SELECT depwatch.set_fee_schedule(repeat('f', 1000000), NULL, 1, '[2022-01-01,)')$$),
	('huge: fee types of a policy', $$SELECT depwatch.add_fee_policy('p', ARRAY[repeat('f', 1000000)])$$),
	('huge: policy name', $$SELECT depwatch.add_fee_policy(repeat('p', 1000000))$$),
	-- out-of-range intervals, periods and numbers
	('config: every of a million years', $$SELECT depwatch.add_dependency('x', 'core', every => '1000000 years')$$),
	('config: every of 2 days', $$SELECT depwatch.alter_dependency('nice', every => '2 days')$$),
	('config: degraded_after of 1000 years', $$SELECT depwatch.add_dependency('x', 'core', degraded_after => '1000 years')$$),
	('config: passive window of 10^9 years', $$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": "1000000000 years"}')$$),
	('config: passive window of 2 days', $$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": "2 days"}')$$),
	('config: slo 1e400', $$SELECT depwatch.add_dependency('x', 'core', options => '{"slo": 1e400}')$$),
	('config: quorum 1e30', $$SELECT depwatch.add_dependency('x', 'core', options => '{"quorum": 1e30}')$$),
	('config: count 2^31', $$SELECT depwatch.add_capability('x', ARRAY['2147483648:core|nice'])$$),
	('config: count -1', $$SELECT depwatch.add_capability('x', ARRAY['-1:core|nice'])$$),
	('config: slo NaN', $$SELECT depwatch.add_capability('x', ARRAY['core'], slo => 'NaN')$$),
	('config: retention of a million years', $$SELECT depwatch.maintain_sample_partitions(0, '1000000 years')$$),
	('ops: latency of a million years', $$SELECT depwatch.report_sample('nice', true, '1000000 years')$$),
	('ops: latency of 2 days', $$SELECT depwatch.report_sample('nice', true, '2 days')$$),
	('ops: sample at -infinity', $$SELECT depwatch.report_sample('nice', true, at => '-infinity')$$),
	('ops: outage from -infinity', $$SELECT depwatch.record_outage('nice', '-infinity', '2022-01-01')$$),
	('ops: outage to infinity', $$SELECT depwatch.record_outage('nice', '2022-01-01', 'infinity')$$),
	('ops: outage detected before it started', $$SELECT depwatch.record_outage('nice', '2022-01-01', '2022-01-02', detected_at => '2021-01-01')$$),
	('ops: unbounded maintenance', $$SELECT depwatch.add_maintenance('core', '(,)')$$),
	('ops: incident at infinity', $$SELECT depwatch.open_incident('t', 'infinity')$$),
	('read: empty period', $$SELECT * FROM depwatch.availability('empty')$$),
	('read: period without an end', $$SELECT * FROM depwatch.availability('[2022-01-01,)')$$),
	('read: 8,000-year period by hour', $$SELECT * FROM depwatch.availability('[1000-01-01, 9000-01-01)', 'hour')$$),
	('read: unknown bucket', $$SELECT * FROM depwatch.availability('[2022-01-01, 2022-02-01)', 'fortnight')$$),
	('read: fail_after -5', $$SELECT * FROM depwatch.derive_outages('nice', recover_after => -5)$$),
	('svg: 10,000-year period', $$SELECT depwatch.timeline_svg('[0001-01-01, 9999-01-01)')$$),
	('econ: baseline of 100,000 years', $$SELECT * FROM depwatch.deposit_outflow(1, '100000 years')$$),
	('econ: horizon of 100,000 years', $$SELECT * FROM depwatch.deposit_outflow(1, horizon => '100000 years')$$),
	('econ: negative baseline', $$SELECT * FROM depwatch.deposit_outflow(1, '-28 days')$$),
	('econ: baseline of 36 hours by day', $$SELECT * FROM depwatch.deposit_outflow(1, '36 hours')$$),
	('econ: bucket of a minute', $$SELECT * FROM depwatch.fee_waiver_cost('[2022-01-01, 2022-02-01)', 'minute')$$),
	('econ: cap NaN', $$SELECT depwatch.add_fee_policy('p', per_customer_cap => 'NaN')$$),
	('econ: negative grace', $$SELECT depwatch.add_fee_policy('p', grace => '-1 day')$$),
	('econ: amount NaN', $$SELECT depwatch.set_fee_schedule('atm', NULL, 'NaN', '[2022-01-01,)')$$),
	('econ: empty effective range', $$SELECT depwatch.set_fee_schedule('atm', NULL, 1, 'empty')$$),
	('class: clients_total 1e400', $$SELECT depwatch.set_incident_facts(1, '{"clients_total": 1e400}')$$),
	('class: member_states 10^20', $$SELECT depwatch.set_incident_facts(1, '{"member_states": 99999999999999999999}')$$),
	('class: costs NaN', $$SELECT depwatch.set_incident_facts(1, '{"costs_eur": "NaN"}')$$),
	('class: awareness at infinity', $$SELECT depwatch.set_incident_facts(1, '{"aware_at": "infinity"}')$$),
	('class: time without its zone', $$SELECT depwatch.set_incident_facts(1, '{"aware_at": "2022-10-15 07:00"}')$$),
	('class: unknown framework', $$SELECT * FROM depwatch.classify_incident(1, 'sec')$$),
	-- malformed jsonb
	('json: truncated options', $$SELECT depwatch.add_dependency('x', 'core', options => '{"slo":')$$),
	('json: options a string', $$SELECT depwatch.add_dependency('x', 'core', options => '"slo"')$$),
	('json: options an array', $$SELECT depwatch.alter_dependency('nice', options => '[]')$$),
	('json: slo null', $$SELECT depwatch.add_dependency('x', 'core', options => '{"slo": null}')$$),
	('json: headers an array', $$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"headers": []}')$$),
	('json: header with a NUL', $$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"headers": {"X-Key": "a\u0000b"}}')$$),
	('json: expect_status an object', $$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"expect_status": {"a": 200}}')$$),
	('json: query a number', $$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=db', options => '{"query": 1}')$$),
	('json: facts an array', $$SELECT depwatch.set_incident_facts(1, '[]')$$),
	('json: facts truncated', $$SELECT depwatch.set_incident_facts(1, '{"data_losses": tr')$$),
	('json: reputational a string', $$SELECT depwatch.set_incident_facts(1, '{"reputational": "media"}')$$),
	('json: root cause an object', $$SELECT depwatch.set_incident_facts(1, '{"root_cause": {"a": 1}}')$$),
	-- unicode names: refused; look-alikes, invisible and bidi characters too
	('unicode: umlaut', $$SELECT depwatch.add_dependency('büro', 'credit_bureau')$$),
	('unicode: Cyrillic look-alike of nice', $$SELECT depwatch.add_dependency('nicе', 'credit_bureau')$$),
	('unicode: zero-width space', $$SELECT depwatch.add_dependency(U&'ni\200Bce', 'credit_bureau')$$),
	('unicode: full-width letters', $$SELECT depwatch.add_dependency('ｎｉｃｅ', 'credit_bureau')$$),
	('unicode: Hangul', $$SELECT depwatch.add_dependency('신용평가', 'credit_bureau')$$),
	('unicode: right-to-left override', $$SELECT depwatch.add_dependency(U&'x\202Egnp', 'credit_bureau')$$),
	('unicode: Cyrillic member', $$SELECT depwatch.add_capability('x', ARRAY['сore'])$$),
	('unicode: policy name', $$SELECT depwatch.add_fee_policy('pölicy')$$),
	('unicode: tcp host', $$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'bü.example:80')$$),
	-- escalation through configuration, as depwatch_admin
	('escalate: postgres probe with a query', $$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=/var/run/postgresql user=postgres', options => '{"query": "ALTER ROLE depwatch_admin SUPERUSER"}')$$),
	('escalate: set the query of a probe', $$SELECT depwatch.alter_dependency('ledger', options => '{"query": "COPY (SELECT 1) TO PROGRAM ''id''"}')$$),
	('escalate: re-point a probe with a query', $$SELECT depwatch.alter_dependency('ledger', target => 'host=/var/run/postgresql user=postgres')$$),
	('escalate: bind a view an admin owns', $$SELECT depwatch.bind_ledger('bank.admin_transfers')$$),
	('escalate: bind the roles catalog', $$SELECT depwatch.bind_ledger('pg_catalog.pg_authid')$$);

SET ROLE depwatch_admin;
CREATE TEMP TABLE results AS SELECT c.n, c.label, r.* FROM cases c, LATERAL try(c.call) r;
RESET ROLE;

\x on
SELECT label, state, message, detail, hint FROM results ORDER BY n;
\x off

-- every case failed, none with an internal error, all with a hint but
-- those PostgreSQL refused before depwatch saw them (malformed jsonb, a
-- NUL, a bad relation name), and no message echoes a huge string
SELECT count(*) AS cases,
	   count(*) FILTER (WHERE state = 'no error') AS accepted,
	   count(*) FILTER (WHERE state LIKE 'XX%') AS internal_errors,
	   count(*) FILTER (WHERE nullif(hint, '') IS NULL) AS without_hint,
	   max(length(message)) < 400 AS messages_bounded
FROM results;
SELECT label, state FROM results WHERE nullif(hint, '') IS NULL ORDER BY n;

-- nothing was written
SELECT catalog_checksum() = :'before' AS nothing_changed,
	   (SELECT count(*) FROM depwatch.audit_log) = :audit_rows AS no_audit_rows,
	   (SELECT ok FROM depwatch.verify_audit()) AS audit_chain_ok;

-- ---------------------------------------------------------------------------
-- 3. What is data stays data: injection text and any Unicode in free text
--    are stored as given, and the tables hold nothing else.
-- ---------------------------------------------------------------------------
BEGIN;
SELECT depwatch.open_incident($$'); DROP TABLE depwatch.outage; -- 데이터센터 화재 🔥$$, '2022-10-20') AS incident \gset
SELECT depwatch.add_maintenance('core', '[2026-02-01, 2026-02-02)', $$x'); DELETE FROM depwatch.audit_log; --$$) > 0 AS maintenance;
SELECT depwatch.alter_dependency('nice', site => '판교 데이터센터', vendor => 'Société Générale ''; --');
SELECT title FROM depwatch.incident WHERE id = :incident;
SELECT note FROM depwatch.maintenance ORDER BY id DESC LIMIT 1;
SELECT name, site, vendor FROM depwatch.dependencies WHERE name = 'nice';
SELECT to_regclass('depwatch.outage') IS NOT NULL AS outage_still_there,
	   (SELECT ok FROM depwatch.verify_audit()) AS audit_chain_ok;
ROLLBACK;
SELECT catalog_checksum() = :'before' AS nothing_changed;

DROP TABLE cases, null_calls, null_cases;
DROP FUNCTION try(text);
DROP FUNCTION catalog_checksum();
DROP SCHEMA bank CASCADE;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
