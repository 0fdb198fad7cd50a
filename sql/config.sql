-- Configuration: dependencies, capabilities, requirement groups, redundancy.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- Defaults are those of SPEC section 2.
SELECT depwatch.add_dependency('nice', 'credit_bureau', 'tcp', 'cb.nice.example:443',
							   site => 'nice_dc', vendor => 'nice', tracked_since => '1990-01-01 00:00+00') AS nice;
SELECT depwatch.add_dependency('kcb', 'credit_bureau', 'http', 'https://svc:hunter2@kcb.example/health',
							   options => '{"headers": {"Authorization": "Bearer abc"}, "expect_status": [200, 204]}',
							   site => 'nice_dc', vendor => 'kcb', tracked_since => '1990-01-01 00:00+00') AS kcb;
SELECT depwatch.add_dependency('core', 'core', 'postgres', 'host=core.internal dbname=ledger password=s3cret',
							   every => '5 s', timeout => '1 s', site => 'sangam', tracked_since => '1990-01-01 00:00+00') AS core;
SELECT depwatch.add_dependency('kakaotalk', 'messaging', 'http', 'https://talk.example/health',
							   site => 'pangyo', vendor => 'kakao', degraded_after => '800 ms', tracked_since => '1990-01-01 00:00+00') AS kakaotalk;
SELECT depwatch.add_dependency('kakao_auth', 'identity', 'passive',
							   options => '{"error_rate": 0.3, "window": "2 min", "min_calls": 20}',
							   site => 'pangyo', vendor => 'kakao', tracked_since => '1990-01-01 00:00+00') AS kakao_auth;
SELECT depwatch.add_dependency('kftc', 'payment_network', 'tcp', '[2001:db8::1]:7000', tracked_since => '1990-01-01 00:00+00') AS kftc;
SELECT depwatch.add_dependency('pangyo_dc', 'datacenter', tracked_since => '1990-01-01 00:00+00') AS pangyo_dc;
SELECT name, kind, probe, every, timeout, fail_after, recover_after, degraded_after, site, vendor, enabled
FROM depwatch.dependency ORDER BY id;

-- Readers see targets and options with secrets masked.
SELECT name, target, options FROM depwatch.dependencies ORDER BY id;

-- Capabilities: AND of groups; 'a|b' any one; '2:a|b|c' at least two;
-- members may be capabilities.
SELECT depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb'], slo => 99.5,
							   impact_tolerance => '4 hours') AS account_opening;
SELECT depwatch.add_capability('transfer', ARRAY['core', 'kftc']) AS transfer;
SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk']) AS simple_transfer;
SELECT depwatch.add_capability('login', ARRAY[' 2 : core | kakao_auth | kakaotalk ']) AS login;
SELECT name, requires, slo, impact_tolerance FROM depwatch.capability ORDER BY id;
SELECT * FROM depwatch.requirements ORDER BY capability, requirement;
SELECT * FROM depwatch.parse_requirements(ARRAY['a', 'x|y', '3:p|q|r|s']);

-- Alternatives in one building or from one vendor are not redundancy.
SELECT * FROM depwatch.redundancy_risks();

-- alter_dependency: NULL leaves a setting unchanged, '0' and '' clear.
SELECT depwatch.alter_dependency('kakaotalk', every => '30 s', timeout => '5 s', degraded_after => '0',
								 vendor => '', enabled => false);
SELECT name, every, timeout, degraded_after, site, vendor, enabled
FROM depwatch.dependency WHERE name = 'kakaotalk';
-- changing nothing writes nothing (no audit row)
SELECT count(*) AS audit_rows FROM depwatch.audit_log \gset
SELECT depwatch.alter_dependency('kakaotalk', every => '30 s');
SELECT count(*) = :audit_rows AS nothing_written FROM depwatch.audit_log;

-- alter_capability and drop_capability
SELECT depwatch.alter_capability('login', requires => ARRAY['core|kakao_auth'], slo => 99.99);
SELECT name, requires, slo FROM depwatch.capability WHERE name = 'login';
SELECT depwatch.drop_capability('login');
SELECT count(*) AS login_left FROM depwatch.capability WHERE name = 'login';

-- drop_dependency takes its samples and outages with it.
SELECT depwatch.record_outage('pangyo_dc', '2022-10-15 06:22', '2022-10-15 16:31') > 0 AS recorded;
SELECT depwatch.drop_dependency('pangyo_dc');
SELECT count(*) AS left_behind FROM depwatch.outage o
WHERE NOT EXISTS (SELECT FROM depwatch.dependency d WHERE d.id = o.dependency_id);
SELECT action, table_name FROM depwatch.audit_log ORDER BY id DESC LIMIT 2;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
