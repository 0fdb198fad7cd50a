-- depwatch demo: the two incidents of SPEC, recorded by hand.
-- Times are from public reports (doc: ../shared/reference/banking_domain.md
-- section 4), in Korean time.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'Asia/Seoul';

\echo
\echo '== What the bank depends on'
SELECT count(*) AS dependencies FROM (
	SELECT depwatch.add_dependency('nice', 'credit_bureau', site => 'nice_dc', vendor => 'nice')
	UNION ALL SELECT depwatch.add_dependency('kcb', 'credit_bureau', site => 'kcb_dc', vendor => 'kcb')
	UNION ALL SELECT depwatch.add_dependency('kakaotalk', 'messaging', site => 'pangyo', vendor => 'kakao')
	UNION ALL SELECT depwatch.add_dependency('alimtalk', 'messaging', site => 'pangyo', vendor => 'kakao')
	UNION ALL SELECT depwatch.add_dependency('kakao_auth', 'identity', site => 'pangyo', vendor => 'kakao')
	UNION ALL SELECT depwatch.add_dependency('pangyo_dc', 'datacenter', site => 'pangyo', vendor => 'sk_cc')
	UNION ALL SELECT depwatch.add_dependency('core', 'core', site => 'sangam', vendor => 'lg_cns')
	UNION ALL SELECT depwatch.add_dependency('kftc', 'payment_network', site => 'kftc')) d;
SELECT count(*) AS capabilities FROM (
	SELECT depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb'], slo => 99.5)
	UNION ALL SELECT depwatch.add_capability('transfer', ARRAY['core', 'kftc'], slo => 99.95)
	UNION ALL SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk'])
	UNION ALL SELECT depwatch.add_capability('group_account', ARRAY['core', 'kakaotalk'])
	UNION ALL SELECT depwatch.add_capability('notifications', ARRAY['kakaotalk|alimtalk'])) c;
SELECT capability, "group", k, members FROM depwatch.requirements ORDER BY capability, requirement;

\echo
\echo '== Launch day, 2017-07-27: the credit bureaus are overloaded (recorded)'
\o /dev/null
SELECT depwatch.record_outage('nice', '2017-07-27 08:05+09', '2017-07-27 09:10+09', 'degraded',
							  'look-ups slow under launch-day load') AS outage;
SELECT depwatch.record_outage('nice', '2017-07-27 09:10+09', '2017-07-27 11:10+09', 'down',
							  'other banks could not query credit status for about 2 h') AS outage;
SELECT depwatch.record_outage('kcb', '2017-07-27 09:30+09', '2017-07-27 10:40+09', 'down',
							  'overflow from NICE') AS outage;
SELECT depwatch.open_incident('Launch day: credit bureaus overloaded', '2017-07-27 08:00+09',
							  ARRAY['nice', 'kcb']) AS incident;
SELECT depwatch.close_incident(1, '2017-07-27 19:00+09', 'credit bureau capacity');
\o

\echo
\echo '== 2022-10-15: fire in the Pangyo data center (recorded)'
\o /dev/null
SELECT depwatch.open_incident('Pangyo data-center fire', '2022-10-15 15:19+09') AS incident;
SELECT depwatch.record_outage('pangyo_dc', '2022-10-15 15:22+09', '2022-10-16 01:31+09', 'down',
							  'power cut, then all servers off for fire-fighting') AS outage;
SELECT depwatch.record_outage('kakaotalk', '2022-10-15 15:30+09', '2022-10-17 12:09+09', 'down',
							  'simple transfer and group accounts fail with it') AS outage;
SELECT depwatch.record_outage('kakao_auth', '2022-10-15 15:30+09', '2022-10-16 19:00+09', 'down',
							  'Kakao-linked authentication') AS outage;
SELECT depwatch.record_outage('core', '2022-10-15 15:30+09', '2022-10-15 16:30+09', 'degraded',
							  'delays and log-out loops; transfers kept working') AS outage;
SELECT depwatch.close_incident(2, '2022-10-17 12:09+09', 'fire in the UPS battery room');
SELECT depwatch.record_outage('alimtalk', '2022-10-15 15:30+09', '2022-10-16 22:00+09', 'down',
							  'notifications fall back to SMS') AS outage;
\o

\echo
\echo '== Outages'
SELECT id, dependency, kind, started_at, ended_at, ended_at - started_at AS lasted, incident, note
FROM depwatch.outages ORDER BY started_at, id;

\echo
\echo '== Incidents'
SELECT id, title, started_at, ended_at, ended_at - started_at AS lasted, root_cause
FROM depwatch.incident ORDER BY id;

\echo
\echo '== Redundancy that is not real (alternatives in one building or from one vendor)'
SELECT * FROM depwatch.redundancy_risks();

\echo
\echo '== Status now'
SELECT target, target_type, state, since FROM depwatch.current_status();

\echo
\echo '== The audit log is intact'
SELECT * FROM depwatch.verify_audit();
