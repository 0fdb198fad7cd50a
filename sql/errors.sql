-- Bad input: every call below gets its own SQLSTATE, a message naming the
-- offending value and a hint, and leaves every table as it was.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

SELECT depwatch.add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00') AS nice;
SELECT depwatch.add_dependency('kcb', 'credit_bureau', tracked_since => '1990-01-01 00:00+00') AS kcb;
SELECT depwatch.add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00') AS core;
SELECT depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb']) AS account_opening;
SELECT depwatch.add_capability('onboarding', ARRAY['account_opening']) AS onboarding;
SELECT depwatch.record_outage('nice', '2017-07-27 08:30+09', '2017-07-27 10:30+09') AS outage;
SELECT depwatch.open_incident('closed one', '2017-07-27 08:00+09') AS incident;
SELECT depwatch.close_incident(1, '2017-07-27 19:00+09');

-- try(call) runs one call and reports how it failed; a call that does not
-- fail is rolled back too, and reported as 'no error'.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	RAISE EXCEPTION 'no error' USING ERRCODE = 'DWNOE';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	IF state = 'DWNOE' THEN
		state := 'no error';
	END IF;
END
$$;

-- checksum of everything depwatch stores
CREATE FUNCTION catalog_checksum() RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
		SELECT 'd' || d::text FROM depwatch.dependency d UNION ALL
		SELECT 'c' || c::text FROM depwatch.capability c UNION ALL
		SELECT 's' || s::text FROM depwatch.sample s UNION ALL
		SELECT 'p' || p::text FROM depwatch.probe_state p UNION ALL
		SELECT 'o' || o::text FROM depwatch.outage o UNION ALL
		SELECT 'm' || m::text FROM depwatch.maintenance m UNION ALL
		SELECT 'i' || i::text FROM depwatch.incident i UNION ALL
		SELECT 'x' || x::text FROM depwatch.incident_dependency x UNION ALL
		SELECT 'a' || a::text FROM depwatch.audit_log a) u(t)
$$;
SELECT catalog_checksum() AS before \gset

CREATE TABLE cases (n serial, call text);
INSERT INTO cases (call) VALUES
	-- names
	($$SELECT depwatch.add_dependency(NULL, 'core')$$),
	($$SELECT depwatch.add_dependency('Nice', 'credit_bureau')$$),
	($$SELECT depwatch.add_dependency('credit-bureau', 'credit_bureau')$$),
	($$SELECT depwatch.add_dependency('x''; DROP TABLE depwatch.outage; --', 'core')$$),
	($$SELECT depwatch.add_dependency(repeat('a', 64), 'core')$$),
	($$SELECT depwatch.add_dependency('nice', 'credit_bureau')$$),
	($$SELECT depwatch.add_dependency('account_opening', 'core')$$),
	($$SELECT depwatch.alter_dependency('nope', every => '1 min')$$),
	($$SELECT depwatch.drop_dependency('nope')$$),
	-- kinds, probes, timing
	($$SELECT depwatch.add_dependency('x', 'bureau')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'icmp', 'host')$$),
	($$SELECT depwatch.add_dependency('x', 'core', every => '50 ms', timeout => '10 ms')$$),
	($$SELECT depwatch.add_dependency('x', 'core', every => '10 s', timeout => '11 s')$$),
	($$SELECT depwatch.add_dependency('x', 'core', timeout => '0')$$),
	($$SELECT depwatch.add_dependency('x', 'core', fail_after => 0)$$),
	($$SELECT depwatch.add_dependency('x', 'core', recover_after => -1)$$),
	($$SELECT depwatch.add_dependency('x', 'core', degraded_after => '-1 s')$$),
	-- targets
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'bureau.example')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'bureau.example:0')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'bureau.example:99999')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '[zz::1]:80')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'tcp', 'evil host;rm -rf:80')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'ftp://bureau.example/')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'bureau.example/health')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=core bogus=1')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=''unterminated')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=db password=hunter2 bogus=1')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'ftp://svc:hunter2@b.example/')$$),
	-- options
	($$SELECT depwatch.add_dependency('x', 'core', options => '[1, 2]')$$),
	($$SELECT depwatch.add_dependency('x', 'core', options => NULL)$$),
	($$SELECT depwatch.add_dependency('x', 'core', options => '{"sla": 99}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', options => '{"slo": "high"}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', options => '{"slo": 100.5}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"error_rate": 1.5}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": "soon"}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"min_calls": 2.5}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"expect_status": [200, 999]}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"method": "DELETE"}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"headers": {"X-Key": 1}}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"headers": {"X-Key": "a\r\nX-Evil: 1"}}')$$),
	($$SELECT depwatch.add_dependency('x', 'core', 'http', 'https://b.example/', options => '{"headers": {"Bad Name": "v"}}')$$),
	-- capabilities
	($$SELECT depwatch.add_capability('x', ARRAY['nice||kcb'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core', ''])$$),
	($$SELECT depwatch.add_capability('x', ARRAY[]::text[])$$),
	($$SELECT depwatch.add_capability('x', NULL)$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core', NULL])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core|experian'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['3:nice|kcb'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['0:nice|kcb'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['two:nice|kcb'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['nice|kcb|nice'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['Core'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['x'])$$),
	($$SELECT depwatch.alter_capability('account_opening', ARRAY['onboarding'])$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core'], slo => 0)$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core'], slo => 100.01)$$),
	($$SELECT depwatch.add_capability('x', ARRAY['core'], impact_tolerance => '-1 hour')$$),
	($$SELECT depwatch.drop_capability('account_opening')$$),
	($$SELECT depwatch.drop_dependency('core')$$),
	-- outages
	($$SELECT depwatch.record_outage('nice', '2017-07-27 09:00+09', '2017-07-27 11:00+09')$$),
	($$SELECT depwatch.record_outage('nice', '2017-07-27 07:00+09')$$),
	($$SELECT depwatch.record_outage('nice', '2020-01-02', '2020-01-01')$$),
	($$SELECT depwatch.record_outage('nice', NULL)$$),
	($$SELECT depwatch.record_outage('nice', '2020-01-01', kind => 'partial')$$),
	($$SELECT depwatch.record_outage('experian', '2020-01-01')$$),
	($$SELECT depwatch.end_outage('nice')$$),
	($$SELECT depwatch.end_outage('nice', kind => 'sideways')$$),
	-- maintenance
	($$SELECT depwatch.add_maintenance('core', 'empty')$$),
	($$SELECT depwatch.add_maintenance('core', '[2026-01-01,)')$$),
	($$SELECT depwatch.add_maintenance('mainframe', '[2026-01-01, 2026-01-02)')$$),
	-- incidents
	($$SELECT depwatch.open_incident('  ')$$),
	($$SELECT depwatch.open_incident('x', dependencies => ARRAY['experian'])$$),
	($$SELECT depwatch.close_incident(99)$$),
	($$SELECT depwatch.close_incident(1)$$),
	-- samples
	($$SELECT depwatch.report_sample('experian', true)$$),
	($$SELECT depwatch.report_sample('nice', NULL)$$),
	($$SELECT depwatch.report_sample('nice', true, '-1 s')$$),
	($$SELECT depwatch.report_sample('nice', true, at => 'infinity')$$),
	($$SELECT depwatch.derive_outages('nice', fail_after => 0)$$),
	($$SELECT depwatch.maintain_sample_partitions(-1)$$);

\x on
SELECT n, call, (try(call)).* FROM cases ORDER BY n;
\x off

SELECT catalog_checksum() = :'before' AS nothing_changed;
-- every case failed, and all with a hint
SELECT count(*) AS cases, count(*) FILTER (WHERE (try(call)).state = 'no error') AS succeeded,
	   count(*) FILTER (WHERE (try(call)).hint IS NULL) AS without_hint
FROM cases;

DROP TABLE cases;
DROP FUNCTION try(text);
DROP FUNCTION catalog_checksum();
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
