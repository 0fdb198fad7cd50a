-- metrics(): the exposition (Prometheus text format 0.0.4) of SPEC
-- sections 2 and 10 on hand-made
-- data placed relative to now().  The data is made and the exposition read
-- in one transaction, where now() stands still: every window, ratio and
-- age below is exact.  Checked by hand:
--  core      up; down [-72h, -70h) and [-40d, -40d+1h): 2 outages ever,
--            1 in 30 days; 24h 100 %, 30d 1 - 2/720
--  bureau_a  up (slo 99.5); down [-2h, -1h): 24h 23/24, 30d 1 - 1/720
--  bureau_b  down since -90 min (5400 s): 24h 22.5/24, 30d 1 - 1.5/720
--  id_a      degraded since -30 min: up, 100 %
--  msg       in maintenance since -10 min: not up, 100 % (maintenance
--            is not downtime)
--  bureau_api http, every 5 min, with a secret in its target, header and
--            sample details; samples at -10 min (500 ms, outside the 5 min
--            window), -4, -3, -2, -1 min (10, 20, 30, 25 ms): latest
--            25 ms; in the window median 20 ms, p90 and max 30 ms;
--            monitored the last 10 minutes only (600 s of 86400 and of
--            2592000)
--  silent    tcp, disabled, never sampled: unmonitored, monitored 0, so no
--            availability sample; NaN latency quantiles
--  account_opening (core AND bureau_a|bureau_b, slo 99): down while both
--            bureaus were, [-90 min, -60 min), and with core: 24h 1 - 0.5/24,
--            30d 1 - 2.5/720; degraded since -60 min (3600 s)
--  transfer (core AND msg, slo 99.95): up (msg's maintenance alone takes
--            nothing down); 30d 1 - 2/720
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- Nothing configured yet: the metadata of every family, each line ended
-- by a newline, and no OpenMetrics "# EOF".
SELECT count(*) FILTER (WHERE l LIKE '# TYPE %') AS families,
	   count(*) FILTER (WHERE l NOT LIKE '#%' AND l <> '') AS samples,
	   right(metrics(), 1) = E'\n' AND right(metrics(), 2) <> E'\n\n' AS ends_with_one_newline,
	   position('# EOF' IN metrics()) AS eof_at
FROM regexp_split_to_table(metrics(), E'\n') l;

BEGIN;
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_a', 'credit_bureau', options => '{"slo": 99.5}', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('id_a', 'identity', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_api', 'credit_bureau', 'http',
					'https://metrics_user:s3cr3t-pa55@bureau-api.example/health', every => '5 min',
					options => '{"headers": {"Authorization": "Bearer t0ken-xyz"}}', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('silent', 'other', 'tcp', '127.0.0.1:9', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT alter_dependency('silent', enabled => false);
SELECT add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b'], slo => 99.0) > 0;
SELECT add_capability('transfer', ARRAY['core', 'msg'], slo => 99.95) > 0;
SELECT count(*) FROM (VALUES
	(record_outage('core', now() - interval '40 days', now() - interval '40 days' + interval '1 hour')),
	(record_outage('core', now() - interval '72 hours', now() - interval '70 hours')),
	(record_outage('bureau_a', now() - interval '2 hours', now() - interval '1 hour')),
	(record_outage('bureau_b', now() - interval '90 minutes')),
	(record_outage('id_a', now() - interval '30 minutes', kind => 'degraded'))) v;
SELECT add_maintenance('msg', tstzrange(now() - interval '10 minutes', now() + interval '50 minutes')) > 0;
SELECT count(report_sample('bureau_api', true, l, now() - a,
						   detail => 'GET https://bureau-api.example/health: 200'))
FROM (VALUES (interval '10 min', interval '500 ms'), ('4 min', '10 ms'), ('3 min', '20 ms'),
			 ('2 min', '30 ms'), ('1 min', '25 ms')) v(a, l);
SELECT target, state FROM current_status();

CREATE TEMP TABLE exposition AS SELECT metrics() AS text;
CREATE TEMP VIEW line AS
	SELECT n, l FROM exposition, regexp_split_to_table(text, E'\n') WITH ORDINALITY x(l, n);

-- The metadata, in order: HELP and TYPE, no OpenMetrics UNIT (the unit is
-- the name's suffix, _seconds or _ratio), a counter named with its
-- _total; the last line ends with a newline, no "# EOF" after it.
SELECT l FROM line WHERE l LIKE '#%' ORDER BY n;
SELECT right(text, 1) = E'\n' AND right(text, 2) <> E'\n\n' AS ends_with_one_newline,
	   position('# EOF' IN text) AS eof_at, position('# UNIT' IN text) AS unit_at FROM exposition;

-- Up (working: up or degraded), and the one state set to 1 of the five
-- each target has
SELECT l FROM line WHERE l LIKE 'depwatch\_up{%' ORDER BY n;
SELECT l FROM line WHERE l LIKE 'depwatch\_state{%} 1' ORDER BY n;
SELECT count(*) AS state_samples, count(*) FILTER (WHERE l LIKE '% 1') AS set_to_1,
	   count(DISTINCT substring(l FROM 'target="([^"]*)"')) AS targets
FROM line WHERE l LIKE 'depwatch\_state{%';
-- the five states in a fixed order
SELECT l FROM line WHERE l LIKE 'depwatch\_state{target="bureau\_b"%' ORDER BY n;

-- Seconds in the current state: from the ongoing outage or maintenance,
-- or from creation (in this transaction: 0 s) for the rest
SELECT l FROM line WHERE l LIKE 'depwatch\_state\_duration\_seconds{%' ORDER BY n;

-- Outages: the counter of dependencies' down outages ever, and the
-- outages in each window for every target
SELECT l FROM line WHERE l LIKE 'depwatch\_outages\_total{%' ORDER BY n;
SELECT l FROM line WHERE l LIKE 'depwatch\_outages\_in\_window{%' AND l NOT LIKE '% 0' ORDER BY n;

-- Availability (none for silent: nothing monitored), the monitored share
-- where it is not 1, the objectives
SELECT l FROM line WHERE l LIKE 'depwatch\_availability\_ratio{%' ORDER BY n;
SELECT l FROM line WHERE l LIKE 'depwatch\_monitored\_ratio{%' AND l NOT LIKE '% 1' ORDER BY n;
SELECT l FROM line WHERE l LIKE 'depwatch\_slo\_ratio{%' ORDER BY n;

-- Latency: the latest sample, and quantiles of the last 5 minutes
SELECT l FROM line WHERE l LIKE 'depwatch\_%latency%{%' ORDER BY n;

-- No secret: the catalog and the samples hold them, the exposition not.
SELECT position('s3cr3t' IN target) > 0 AS secret_in_target,
	   options::text LIKE '%t0ken%' AS secret_in_options
FROM dependency WHERE name = 'bureau_api';
SELECT count(*) AS samples_naming_the_host FROM sample WHERE detail LIKE '%bureau-api.example%';
SELECT position('s3cr3t' IN text) AS password_at, position('metrics_user' IN text) AS user_at,
	   position('bureau-api.example' IN text) AS host_at, position('t0ken' IN text) AS token_at,
	   position('127.0.0.1' IN text) AS address_at
FROM exposition;

-- A reader gets the same exposition.
CREATE ROLE depwatch_metrics_reader IN ROLE depwatch_reader;
SET ROLE depwatch_metrics_reader;
SELECT md5(metrics()) AS reader_md5 \gset
RESET ROLE;
SELECT md5(text) = :'reader_md5' AS reader_sees_the_same FROM exposition;

-- Label values are escaped (backslash, double quote, newline).  Names
-- cannot hold those characters, so the check that keeps them out goes,
-- for this test only.
SAVEPOINT odd_name;
ALTER TABLE dependency DROP CONSTRAINT dependency_name_check;
UPDATE dependency SET name = E'odd\\"name\nx' WHERE name = 'silent';
SELECT l FROM regexp_split_to_table(metrics(), E'\n') l WHERE l LIKE 'depwatch\_up{target="odd%';
ROLLBACK TO SAVEPOINT odd_name;
COMMIT;

-- Outside that transaction the ages go on: bureau_b has been down for
-- 5400 s and a little more.
SELECT substring(l FROM ' ([0-9.]+)$')::numeric BETWEEN 5400 AND 5400 + 600 AS bureau_b_down_5400_s_and_more
FROM regexp_split_to_table(metrics(), E'\n') l
WHERE l LIKE 'depwatch\_state\_duration\_seconds{target="bureau\_b"%';

-- Without depwatch_reader, no metrics, even with the schema in reach.
CREATE ROLE depwatch_metrics_outsider;
GRANT USAGE ON SCHEMA depwatch TO depwatch_metrics_outsider;
SET ROLE depwatch_metrics_outsider;
SELECT depwatch.metrics();
RESET ROLE;
REVOKE USAGE ON SCHEMA depwatch FROM depwatch_metrics_outsider;
DROP ROLE depwatch_metrics_reader, depwatch_metrics_outsider;
DROP VIEW line;
DROP TABLE exposition;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
