-- depwatch demo, historical part: the two incidents of SPEC, recorded as the
-- public timelines give them, and a generated ledger around them.
-- psql variables: transfers, customers (set by scripts/demo.sh).
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
-- tracked since July 2017: their history below is imported
SELECT count(*) AS dependencies FROM (
	SELECT depwatch.add_dependency('nice', 'credit_bureau', site => 'nice_dc', vendor => 'nice', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('kcb', 'credit_bureau', site => 'kcb_dc', vendor => 'kcb', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('kakaotalk', 'messaging', site => 'pangyo', vendor => 'kakao', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('alimtalk', 'messaging', site => 'pangyo', vendor => 'kakao', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('kakao_auth', 'identity', site => 'pangyo', vendor => 'kakao', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('pangyo_dc', 'datacenter', site => 'pangyo', vendor => 'sk_cc', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('core', 'core', site => 'sangam', vendor => 'lg_cns', tracked_since => '2017-07-01 00:00+09')
	UNION ALL SELECT depwatch.add_dependency('kftc', 'payment_network', site => 'kftc', tracked_since => '2017-07-01 00:00+09')) d;
SELECT count(*) AS capabilities FROM (
	SELECT depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb'], slo => 99.5,
								   display_name => 'Account opening')
	UNION ALL SELECT depwatch.add_capability('transfer', ARRAY['core', 'kftc'], slo => 99.95,
											 display_name => 'Transfers')
	UNION ALL SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk'],
											 display_name => 'Simple transfer (by messenger)')
	UNION ALL SELECT depwatch.add_capability('group_account', ARRAY['core', 'kakaotalk'],
											 display_name => 'Group accounts')
	UNION ALL SELECT depwatch.add_capability('notifications', ARRAY['kakaotalk|alimtalk'],
											 display_name => 'Notifications')) c;
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
\echo '== Availability per capability, October 2022 (Korean time)'
SELECT target, monitored, downtime, round(availability, 3) AS availability, slo,
	   budget_left, outages, mttr, longest
FROM depwatch.availability('[2022-10-01 00:00+09, 2022-11-01 00:00+09)')
WHERE target_type = 'capability' ORDER BY target;

\echo
\echo '== What the fire took down, and why'
SELECT * FROM depwatch.capability_outages('simple_transfer', '[2022-10-15 00:00+09, 2022-10-18 00:00+09)');

\echo
\echo '== Availability per capability, July 2017 (Korean time)'
SELECT target, downtime, round(availability, 3) AS availability, slo, budget_left, outages, longest
FROM depwatch.availability('[2017-07-01 00:00+09, 2017-08-01 00:00+09)')
WHERE target_type = 'capability' ORDER BY target;

\echo
\echo '== Launch day: when nobody could open an account'
SELECT * FROM depwatch.capability_outages('account_opening', '[2017-07-27 00:00+09, 2017-07-28 00:00+09)');

\echo
\echo '== A generated bank around both days:' :customers 'customers,' :transfers 'transfers'
\echo '   (launch to the end of 2017, and 8 weeks around the fire)'
\o /dev/null
CREATE SCHEMA bank;
SELECT setseed(0.2017);
-- Half of the customers joined in the launch weeks of 2017 (a third of those
-- on launch day itself), the rest between 2018 and the summer of 2022.
CREATE TABLE bank.accounts AS
SELECT g AS account_id, g AS customer_id,
	   CASE WHEN g > :customers / 2 THEN timestamptz '2018-01-01 00:00+09' + r.r2 * interval '1680 days'
			WHEN r.r1 >= 0.35 THEN timestamptz '2017-07-27 19:00+09' + r.r2 ^ 2 * interval '150 days'
			-- launch day: none got through while both bureaus were down (09:30-10:40)
			WHEN r.r2 * interval '10 hours 50 minutes' < interval '2 hours 30 minutes'
			THEN timestamptz '2017-07-27 07:00+09' + r.r2 * interval '10 hours 50 minutes'
			ELSE timestamptz '2017-07-27 08:10+09' + r.r2 * interval '10 hours 50 minutes' END AS opened_at,
	   CASE WHEN r.r3 < 0.01 THEN timestamptz '2022-10-16+09' + r.r1 * interval '10 days' END AS closed_at
FROM generate_series(1, :customers) g,
	 LATERAL (SELECT random() + g * 0 AS r1, random() + g * 0 AS r2, random() + g * 0 AS r3) r;
-- Account opening: every 2017 customer applied first; while both credit
-- bureaus were down most applications failed and were tried again later.
CREATE TABLE bank.applications AS
SELECT row_number() OVER (ORDER BY at) AS application_id, customer_id, at AS occurred_at, status,
	   CASE WHEN status = 'failed' THEN 'credit bureau unavailable' END AS reason
FROM (SELECT a.customer_id, a.opened_at AS at, 'approved' AS status
	  FROM bank.accounts a WHERE a.opened_at < '2018-01-01+09'
	  UNION ALL
	  SELECT a.customer_id, timestamptz '2017-07-27 09:30+09' + random() * interval '70 minutes', 'failed'
	  FROM bank.accounts a
	  WHERE a.opened_at >= '2017-07-27 10:40+09' AND a.opened_at < '2017-07-27 19:00+09' AND random() < 0.4) x;
-- Transfers: 35 % in 2017 (every fee waived: the launch promise), 65 % in
-- the eight weeks around the fire (fees charged).  ATM withdrawals cost
-- the bank 900 KRW paid to the ATM operator either way.
CREATE TABLE bank.transfers AS
WITH t AS (
	SELECT g AS txn_id,
		   CASE WHEN g <= :transfers * 0.35 THEN 1 + (random() * (:customers / 2 - 1))::int
				ELSE 1 + (random() * (:customers - 1))::int END AS customer,
		   CASE WHEN g <= :transfers * 0.35
				THEN timestamptz '2017-07-27 07:00+09' + random() * interval '157 days'
				ELSE timestamptz '2022-09-10 00:00+09' + random() * interval '56 days' END AS at,
		   (ARRAY['transfer', 'simple_transfer', 'group_account', 'atm'])[1 + (random() * 3)::int] AS capability,
		   random() AS r1, random() AS r2, random() AS r3
	FROM generate_series(1, :transfers) g)
SELECT t.txn_id, t.customer AS account_id, t.customer AS customer_id, t.at AS occurred_at,
	   -- after the fire, more money leaves than comes in
	   round((CASE WHEN t.r2 < 0.5 + CASE WHEN t.at >= '2022-10-15 15:30+09' AND t.at < '2022-10-22+09'
										  THEN 0.15 ELSE 0 END
				   THEN -1 ELSE 1 END) * (10000 + t.r1 * 490000))::numeric AS amount,
	   CASE WHEN t.at < '2018-01-01+09' THEN 0
			WHEN t.capability = 'atm' THEN 1300 WHEN t.capability = 'transfer' AND t.r1 < 0.3 THEN 500
			ELSE 0 END::numeric AS fee,
	   CASE WHEN t.capability = 'atm' THEN 'atm_fee'
			WHEN t.capability = 'transfer' AND t.r1 < 0.3 THEN 'transfer_fee' END AS fee_type,
	   t.capability,
	   CASE WHEN t.capability IN ('simple_transfer', 'group_account')
				 AND t.at >= '2022-10-15 15:30+09' AND t.at < '2022-10-17 12:09+09' AND t.r1 < 0.9
			THEN 'failed' ELSE 'posted' END AS status,
	   t.r3 < 0.7 AS external,
	   CASE WHEN t.capability = 'atm' THEN 900 END::numeric AS partner_fee
FROM t;
CREATE INDEX ON bank.transfers (occurred_at);
CREATE INDEX ON bank.applications (occurred_at);
CREATE TABLE bank.balances AS
SELECT a.account_id, a.customer_id, timestamptz '2022-09-01 00:00+09' AS as_of,
	   round((100000 + random() * 4900000)::numeric) AS balance
FROM bank.accounts a WHERE a.opened_at < '2022-09-01+09';
ANALYZE bank.transfers, bank.applications, bank.balances, bank.accounts;
SELECT depwatch.bind_ledger('bank.transfers', 'bank.applications', 'bank.balances', 'bank.accounts');
SELECT depwatch.add_fee_policy('fire_2022', fee_types => ARRAY['transfer_fee', 'atm_fee'],
							   grace => '3 days', per_customer_cap => 10000);
SELECT depwatch.set_fee_schedule('atm_fee', NULL, 1300, '[2017-07-27+09,)');
SELECT depwatch.set_fee_schedule('transfer_fee', NULL, 500, '[2017-07-27+09,)');
\o
SELECT (SELECT count(*) FROM bank.transfers) AS transfers,
	   (SELECT count(*) FROM bank.accounts) AS customers,
	   (SELECT count(*) FROM bank.applications) AS applications,
	   (SELECT count(*) FROM bank.applications WHERE status = 'failed') AS failed_applications;

\echo
\echo '== Impact of launch day (incident 1): applications that failed while both bureaus were down'
SELECT * FROM depwatch.impact(1);

\echo
\echo '== What the 2017 launch promise cost: transfer and ATM fees waived to the end of the year'
SELECT to_char(bucket_start, 'YYYY-MM') AS month, fee_type, waived_count, forgone, partner_cost
FROM depwatch.fee_waiver_cost('[2017-07-27 00:00+09, 2018-01-01 00:00+09)', 'month')
ORDER BY bucket_start, fee_type;

\echo
\echo '== Impact of the fire (incident 2)'
SELECT * FROM depwatch.impact(2);

\echo
\echo '== Fees to waive (policy fire_2022: transfer and ATM fees, 3 days of grace, at most 10,000 KRW each)'
SELECT customers, fee_count, waiver, round(baseline_fees) AS baseline_fees,
	   round(waiver_pct_of_baseline, 1) AS waiver_pct_of_baseline
FROM depwatch.fee_waiver_summary(2, 'fire_2022');
SELECT * FROM depwatch.fee_waiver(2, 'fire_2022') ORDER BY waiver DESC, customer_id LIMIT 5;

\echo
\echo '== Deposit outflow after the fire (daily, 28-day baseline, 14-day horizon)'
SELECT bucket_start::date AS day, net, round(expected_net) AS expected_net, round(zscore, 2) AS zscore,
	   round(pct_of_deposits, 3) AS pct_of_deposits, customers_drained, accounts_closed
FROM depwatch.deposit_outflow(2);
SELECT deposits_at_start, net_flow, round(abnormal_outflow) AS abnormal_outflow,
	   round(runoff_pct, 3) AS runoff_pct, lcr_stable_pct, lcr_less_stable_pct,
	   customers_drained, round(worst_zscore, 2) AS worst_zscore
FROM depwatch.deposit_outflow_summary(2);

\echo
\echo '== Is the fire a major incident? (facts recorded by hand, the rest measured)'
\o /dev/null
SELECT depwatch.set_incident_facts(2, jsonb_build_object('clients_total', :customers) || '{"critical_services_affected": true,
	"reputational": ["media", "complaints"], "aware_at": "2022-10-15T15:25:00+09:00",
	"classified_at": "2022-10-15T18:00:00+09:00", "subscribers": 18000000,
	"fee_policy": "fire_2022", "eur_per_unit": 0.0007}'::jsonb);
\o
SELECT criterion, met, value FROM depwatch.classify_incident(2, 'dora');
SELECT criterion, met, value FROM depwatch.classify_incident(2, 'kr_fss');
\echo
\echo '== When the regulators must hear of it (incident_report(2), also in report.json)'
\o /dev/null
SELECT jsonb_pretty(depwatch.incident_report(2)) AS report \gset
\o
SELECT 'dora ' || key AS report, (value #>> '{}')::timestamptz AS due_by
FROM jsonb_each(:'report'::jsonb #> '{deadlines,dora}') WHERE key NOT IN ('due', 'assumed')
UNION ALL
SELECT 'kr_fss initial', (:'report'::jsonb #>> '{deadlines,kr_fss,initial}')::timestamptz
ORDER BY due_by;
\pset tuples_only on
\pset format unaligned
\o :outdir/report.json
SELECT :'report';
\o :outdir/report_launch_day.json
SELECT jsonb_pretty(depwatch.incident_report(1));
\o
\pset tuples_only off
\pset format aligned

\echo
\echo '== Launch day for the FSS'
SELECT criterion, met, value FROM depwatch.classify_incident(1, 'kr_fss');

\echo
\echo '== The fire as a scenario: what the bank could have known before it'
\echo '   Transfers and simple transfers are important business services (impact tolerance 4 hours).'
\o /dev/null
SELECT depwatch.alter_capability('transfer', impact_tolerance => '4 hours');
SELECT depwatch.alter_capability('simple_transfer', impact_tolerance => '4 hours');
SELECT depwatch.save_scenario('pangyo_48h', ARRAY['pangyo'], '48 hours');
\o
\echo '   scenario(): "what if everything at the Pangyo site were down 48 h from 2022-10-15 15:19?"'
\echo '   (the capability algebra on that outage alone; expectations from the same window of the 4 weeks before)'
SELECT capability, down, downtime, tolerance, breached, breached_at,
	   round(expected_transfers) AS transfers, round(expected_customers) AS customers,
	   round(expected_value) AS value, round(expected_fees) AS fees_to_waive, dora_major, fss_reportable
FROM depwatch.scenario(ARRAY['pangyo'], '2022-10-15 15:19+09', '48 hours')
ORDER BY capability;
\echo '   What the fire did, in the same 48 hours (capability_outages, impact(2))'
SELECT c.name AS capability,
	   s.downtime AS scenario_downtime,
	   coalesce(sum(o.ended_at - o.started_at) FILTER (WHERE o.kind = 'down'), '0') AS actual_downtime,
	   round(s.expected_transfers) AS scenario_transfers, i.attempted AS actual_transfers,
	   round(s.expected_customers) AS scenario_customers, i.customers AS actual_customers
FROM depwatch.capability c
JOIN depwatch.scenario(ARRAY['pangyo'], '2022-10-15 15:19+09', '48 hours') s ON s.capability = c.name
LEFT JOIN LATERAL depwatch.capability_outages(c.name, '[2022-10-15 15:19+09, 2022-10-17 15:19+09)') o ON true
LEFT JOIN depwatch.impact(2) i ON i.capability = c.name
GROUP BY c.name, s.downtime, s.expected_transfers, i.attempted, s.expected_customers, i.customers
ORDER BY c.name;

\echo
\echo '== Where redundancy is an illusion (concentration(), 2022)'
SELECT provider_type, provider, dependencies, single_point_of_failure, round(downtime_share, 3) AS downtime_share
FROM depwatch.concentration('[2022-01-01 00:00+09, 2023-01-01 00:00+09)')
WHERE single_point_of_failure <> '{}' ORDER BY downtime_share DESC, provider;

\echo
\echo '== The impact tolerance in Q4 2022 (tolerance_breaches, resilience_report: resilience_report.json)'
SELECT capability, started_at, ended_at, lasted, tolerance, breached, breached_at
FROM depwatch.tolerance_breaches('[2022-10-01 00:00+09, 2023-01-01 00:00+09)') ORDER BY capability, started_at;
\pset tuples_only on
\pset format unaligned
\o :outdir/resilience_report.json
SELECT jsonb_pretty(depwatch.resilience_report('[2022-10-01 00:00+09, 2023-01-01 00:00+09)'));
\o
\pset tuples_only off
\pset format aligned

\echo
\echo '== Redress beyond fees: the messaging company''s 2022 table for small merchants'
\echo '   (failed transfers by messenger or group account: up to 300,000 KRW -> 30,000; above -> 50,000)'
\o /dev/null
SELECT depwatch.add_redress_policy('merchants_2022', ARRAY['simple_transfer', 'group_account'], 'failed_value',
								   '[{"up_to": 300000, "pay": 30000}, {"up_to": 500000, "pay": 50000}]');
\o
SELECT * FROM depwatch.redress_summary(2, 'merchants_2022');
SELECT payout, count(*) AS customers, min(amount) AS smallest, max(amount) AS largest
FROM depwatch.redress(2, 'merchants_2022') GROUP BY payout ORDER BY payout;

\echo
\echo '== The audit log is intact'
SELECT * FROM depwatch.verify_audit();

-- Both incidents in one picture: the two timeline_svg() pictures stacked
-- (written to timeline.svg at the end).
\o /dev/null
CREATE SCHEMA depwatch_demo;
CREATE FUNCTION depwatch_demo.both_incidents_svg() RETURNS text LANGUAGE sql
SET TimeZone = 'Asia/Seoul' AS $$
	WITH p(n, svg) AS (
		VALUES (1, depwatch.timeline_svg('[2017-07-27 06:00+09, 2017-07-27 20:00+09)')),
			   (2, depwatch.timeline_svg('[2022-10-15 12:00+09, 2022-10-17 18:00+09)'))),
	b AS (SELECT n, regexp_replace(svg, '^<\?xml[^>]*>\s*', '') AS body,
				 (regexp_match(svg, '<svg[^>]* height="([0-9]+)"'))[1]::int AS height FROM p),
	placed AS (SELECT n, body, height, coalesce(sum(height) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS y FROM b)
	SELECT format('<?xml version="1.0" encoding="UTF-8"?>' || E'\n' ||
				  '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="960" height="%s" viewBox="0 0 960 %s">' || E'\n' ||
				  '<title>depwatch demo: launch day 2017-07-27 and the fire of 2022-10-15 (Asia/Seoul)</title>' || E'\n%s\n</svg>\n',
				  sum(height), sum(height),
				  string_agg(regexp_replace(body, '^<svg ', format('<svg y="%s" ', y)), E'\n' ORDER BY n))
	FROM placed
$$;
\o
\pset tuples_only on
\pset format unaligned
\o :outdir/timeline.svg
SELECT depwatch_demo.both_incidents_svg();
\o

-- The status page customers read (status_page()): what they were told
-- during both incidents (public updates; one internal note that the page
-- leaves out), then the 90 days up to the day after each incident, in
-- status.html (the fire) and status_launch_day.html.
\pset tuples_only off
\pset format aligned
\o /dev/null
SELECT depwatch.add_incident_update(1, 'investigating', 'Some customers cannot open an account: identity checks time out. We are investigating.', '2017-07-27 08:20+09');
SELECT depwatch.add_incident_update(1, 'identified', 'The credit bureaus we query are overloaded by launch-day demand; applications are retried as capacity frees up.', '2017-07-27 09:40+09');
SELECT depwatch.add_incident_update(1, 'identified', 'internal: NICE answers 1 in 3 queries; KCB overflow since 09:30', '2017-07-27 09:45+09', false);
SELECT depwatch.add_incident_update(1, 'monitoring', 'Account opening works again; we are watching closely.', '2017-07-27 11:15+09');
SELECT depwatch.add_incident_update(1, 'resolved', 'Resolved. Fees for failed transfers and ATM withdrawals today will be refunded.', '2017-07-27 19:00+09');
SELECT depwatch.add_incident_update(2, 'investigating', 'Transfers by messenger, group accounts and notifications are failing. Your deposits are safe; transfers in the app work.', '2022-10-15 15:45+09');
SELECT depwatch.add_incident_update(2, 'identified', 'A fire at a partner''s data center cut power to the messaging platform these services use.', '2022-10-15 17:30+09');
SELECT depwatch.add_incident_update(2, 'monitoring', 'Notifications are back; transfers by messenger and group accounts are being restored.', '2022-10-16 22:30+09');
SELECT depwatch.add_incident_update(2, 'resolved', 'All services are back. We apologise for the disruption.', '2022-10-17 12:30+09');
\o
\echo
\echo '== What customers read: status_page() (status.html, status_launch_day.html)'
SELECT incident, status, at, left(message, 60) AS message
FROM depwatch.incident_updates WHERE public ORDER BY incident, at;
\pset tuples_only on
\pset format unaligned
\o :outdir/status.html
SELECT depwatch.status_page('[2022-07-20 00:00+09, 2022-10-18 00:00+09)', title => 'Bank service status');
\o :outdir/status_launch_day.html
SELECT depwatch.status_page('[2017-04-29 00:00+09, 2017-07-28 00:00+09)', title => 'Bank service status');
\o
