-- trust_outbound.sql: outbound connections are the superuser's decision
-- (SPEC section 6, issue 16 items 2 to 4), as far as add_dependency() and
-- alter_dependency() can tell.  A dependency records whether a superuser
-- set its probe settings last; any other is restricted: no unix socket,
-- no address depwatch.allowed_addresses refuses (by default loopback,
-- link-local, unspecified and multicast), only plain libpq keywords, no
-- query, only GET, HEAD and OPTIONS and no header that re-addresses the
-- request.  Each refusal is insufficient_privilege (42501) with a hint.
-- The worker enforces the same rules when it connects
-- (test/integration/trust_outbound.sh, which also checks the setting's
-- validation: ALTER SYSTEM cannot run in this test's transaction).  Addresses here are never probed:
-- this database is not in depwatch.databases.
BEGIN;
SELECT plan(43);

CREATE ROLE depwatch_out_mallory LOGIN IN ROLE depwatch_admin;

-- ---------------------------------------------------------------------------
-- The setting
-- ---------------------------------------------------------------------------
SELECT is(current_setting('depwatch.allowed_addresses'),
		  '!127.0.0.0/8, !0.0.0.0/8, !169.254.0.0/16, !224.0.0.0/4, 0.0.0.0/0, !::1/128, !::/128, !fe80::/10, !ff00::/8, ::/0',
		  'depwatch.allowed_addresses refuses loopback, link-local, unspecified and multicast by default');
SELECT is((SELECT context FROM pg_settings WHERE name = 'depwatch.allowed_addresses'), 'sighup',
		  'it changes at SIGHUP (a superuser''s ALTER SYSTEM and pg_reload_conf())');
-- ---------------------------------------------------------------------------
-- Who set the probe settings
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT depwatch.add_dependency('su_local', 'core', 'postgres', 'host=/var/run/postgresql user=postgres',
												 options => '{"query": "SELECT true"}')$$,
				'a superuser may probe the local server through its socket, with a query');
SELECT ok((SELECT probe_set_by_superuser FROM depwatch.dependency WHERE name = 'su_local'),
		  'a superuser''s dependency is not restricted');
SET ROLE depwatch_out_mallory;
SELECT lives_ok($$SELECT depwatch.add_dependency('m_http', 'other', 'http', 'https://bureau.example/health')$$,
				'an admin may add an http probe of a host name');
SELECT lives_ok($$SELECT depwatch.add_dependency('m_pg', 'core', 'postgres',
												 'host=192.0.2.7 port=5433 dbname=core user=monitor password=x sslmode=require connect_timeout=3 application_name=m')$$,
				'an admin may add a postgres probe with plain keywords to an allowed address');
RESET ROLE;
SELECT ok(NOT (SELECT probe_set_by_superuser FROM depwatch.dependency WHERE name = 'm_http'),
		  'an admin''s dependency is restricted');
SET ROLE depwatch_out_mallory;
SELECT lives_ok($$SELECT depwatch.alter_dependency('su_local', every => '30 s', enabled => false)$$,
				'an admin may change the schedule of a superuser''s probe');
SELECT lives_ok($$SELECT depwatch.alter_dependency('su_local', options => '{"query": "SELECT true", "slo": 99.5}')$$,
				'... and its slo');
SELECT throws_ok($$SELECT depwatch.alter_dependency('su_local', target => 'host=/tmp user=postgres')$$, '42501', NULL,
				 '... not its target');
RESET ROLE;
SELECT ok((SELECT probe_set_by_superuser FROM depwatch.dependency WHERE name = 'su_local'),
		  'so it stays a superuser''s');
SET ROLE postgres;
SET ROLE depwatch_out_mallory;
SELECT throws_ok($$SELECT depwatch.add_dependency('m_sock', 'core', 'postgres', 'host=/tmp')$$, '42501', NULL,
				 'a superuser who SET ROLE to an admin is that admin');
RESET ROLE;
SELECT lives_ok($$SELECT depwatch.alter_dependency('m_http', target => 'http://127.0.0.1:8080/')$$,
				'a superuser may point an admin''s dependency at loopback');
SELECT ok((SELECT probe_set_by_superuser FROM depwatch.dependency WHERE name = 'm_http'),
		  'the superuser set it last: it is not restricted any more');
SET ROLE depwatch_out_mallory;
SELECT lives_ok($$SELECT depwatch.alter_dependency('m_http', target => 'http://192.0.2.8/')$$,
				'an admin may re-point it to an allowed address');
RESET ROLE;
SELECT ok(NOT (SELECT probe_set_by_superuser FROM depwatch.dependency WHERE name = 'm_http'),
		  'the admin set it last: it is restricted again');
SELECT is((SELECT new->>'probe_set_by_superuser' FROM depwatch.audit_log
		   WHERE table_name = 'dependency' ORDER BY id DESC LIMIT 1), 'false',
		  'the audit log records who set the probe settings');

-- ---------------------------------------------------------------------------
-- What an admin cannot set (item 2: the local server, libraries,
-- passwords; item 4: internal addresses, re-addressed requests)
-- ---------------------------------------------------------------------------
SET ROLE depwatch_out_mallory;
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=/var/run/postgresql user=postgres')$$,
				 '42501', 'a unix socket is not allowed for a probe not set by a superuser',
				 'no unix socket');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'dbname=bank user=postgres')$$,
				 '42501', 'a unix socket is not allowed for a probe not set by a superuser',
				 'no host: libpq''s default is the unix socket');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'postgresql://%2Fvar%2Frun%2Fpostgresql/bank')$$,
				 '42501', NULL, 'no unix socket in URI form');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=@abstract user=postgres')$$,
				 '42501', NULL, 'no abstract unix socket');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=db.example,/tmp')$$,
				 '42501', NULL, 'no unix socket among several hosts');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=127.0.0.1 user=postgres')$$,
				 '42501', 'address 127.0.0.1 is not allowed by depwatch.allowed_addresses for a probe not set by a superuser',
				 'no loopback address');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=db.example hostaddr=127.0.0.1')$$,
				 '42501', NULL, 'no loopback hostaddr behind a host name');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=localhost')$$,
				 '42501', NULL, 'no localhost');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres',
												  'host=192.0.2.7 options=''-c session_preload_libraries=/tmp/evil.so''')$$,
				 '42501', 'connection keyword "options" is not allowed for a probe not set by a superuser',
				 'no options (session_preload_libraries, superuser-only settings)');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres',
												  'postgresql://192.0.2.7/bank?options=-c%20session_preload_libraries%3D/tmp/evil.so')$$,
				 '42501', NULL, 'no options in URI form');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 passfile=/var/lib/postgresql/.pgpass')$$,
				 '42501', 'connection keyword "passfile" is not allowed for a probe not set by a superuser',
				 'no passfile');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 service=ledger')$$,
				 '42501', NULL, 'no service');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 sslkey=/etc/ssl/private/server.key')$$,
				 '42501', NULL, 'no sslkey');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 sslcert=/var/lib/postgresql/.postgresql/postgresql.crt')$$,
				 '42501', NULL, 'no sslcert');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 krbsrvname=postgres')$$,
				 '42501', NULL, 'no krbsrvname');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7 replication=database')$$,
				 '42501', NULL, 'no replication');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'core', 'postgres', 'host=192.0.2.7',
												  options => '{"query": "SELECT 1"}')$$,
				 '42501', 'only a superuser may set the query of a postgres probe, or change its target',
				 'no query');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'http', 'http://169.254.169.254/latest/meta-data/')$$,
				 '42501', NULL, 'no link-local address (cloud metadata)');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'http', 'http://[::ffff:127.0.0.1]:8080/')$$,
				 '42501', NULL, 'no IPv4-mapped loopback');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'http', 'http://2130706433/')$$,
				 '42501', NULL, 'no loopback written as a number');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'tcp', '[::1]:5432')$$,
				 '42501', NULL, 'no IPv6 loopback');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'tcp', '0.0.0.0:5432')$$,
				 '42501', NULL, 'no unspecified address');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'http', 'https://bureau.example/', options => '{"method": "POST"}')$$,
				 '42501', 'method POST is not allowed for a probe not set by a superuser',
				 'no method that changes the peer''s state');
SELECT throws_ok($$SELECT depwatch.add_dependency('x', 'other', 'http', 'https://192.0.2.9/',
												  options => '{"headers": {"Host": "admin.internal"}}')$$,
				 '42501', 'header "Host" is not allowed for a probe not set by a superuser',
				 'no Host header');
SELECT throws_ok($$SELECT depwatch.alter_dependency('m_pg', target => 'host=192.0.2.7 user=postgres',
													options => '{"query": "SELECT 1"}')$$,
				 '42501', NULL, 'alter_dependency refuses the same');
RESET ROLE;
SELECT is((SELECT count(*) FROM depwatch.dependency WHERE name = 'x'), 0::bigint, 'nothing refused was stored');
SELECT * FROM finish();
ROLLBACK;
