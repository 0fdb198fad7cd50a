-- bench/status_page.sql: how long status_page() takes for a bank-sized
-- map: 40 dependencies, 20 capabilities (each needing one dependency and
-- one of two others), about 10 outages per dependency over the last 90
-- days (a third degraded, where the dependency has a degraded level),
-- 10 maintenance windows, 10 incidents with 3 updates each.  Run in an
-- empty database with depwatch installed:
--   psql -X -d bench -f bench/status_page.sql
-- It prints the median of 11 runs of each page (bench/status_page_results.md).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET search_path = depwatch, public;
SELECT setseed(0.21);
SELECT count(add_dependency('dep' || g, 'other', degraded_after => interval '1 s',
							tracked_since => now() - interval '400 days')) AS dependencies
FROM generate_series(1, 40) g;
SELECT count(add_capability('cap' || g, ARRAY['dep' || g, 'dep' || (g + 20) || '|dep' || ((g % 20) + 21)],
							display_name => 'Capability ' || g)) AS capabilities
FROM generate_series(1, 20) g;
SELECT count(record_outage('dep' || d, t, t + (random() * 3 + 0.1) * interval '1 hour',
						   CASE WHEN random() < 0.3 THEN 'degraded' ELSE 'down' END)) AS outages
FROM generate_series(1, 40) d,
	 LATERAL (SELECT date_trunc('hour', now()) - interval '88 days' + k * interval '9 days'
					 + (random() * 100)::int * interval '1 hour' AS t
			  FROM generate_series(0, 9) k) x;
SELECT count(add_maintenance('dep' || g, tstzrange(now() - g * interval '3 days',
												   now() - g * interval '3 days' + interval '2 hours'))) AS maintenance
FROM generate_series(1, 10) g;
SELECT count(*) AS incidents FROM (
	SELECT i, close_incident(i, now() - k * interval '8 days' + interval '3 hours'),
		   add_incident_update(i, 'investigating', 'Looking into it.', now() - k * interval '8 days' + interval '10 minutes'),
		   add_incident_update(i, 'monitoring', 'A fix is in place.', now() - k * interval '8 days' + interval '2 hours'),
		   add_incident_update(i, 'resolved', 'Resolved.', now() - k * interval '8 days' + interval '3 hours')
	FROM (SELECT k, open_incident('Incident ' || k, now() - k * interval '8 days') AS i
		  FROM generate_series(1, 10) k) o) x;

CREATE FUNCTION pg_temp.ms(page text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz;
	runs numeric[] := '{}';
BEGIN
	FOR i IN 1..11 LOOP
		t := clock_timestamp();
		EXECUTE page;
		runs := runs || extract(epoch FROM clock_timestamp() - t) * 1000;
	END LOOP;
	RETURN round((SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY r) FROM unnest(runs) r), 1);
END
$$;
SELECT 'status_page(), 90 days, 20 capabilities' AS page,
	   pg_temp.ms('SELECT depwatch.status_page()') AS median_ms,
	   length(depwatch.status_page()) AS bytes
UNION ALL
SELECT 'status_page(), 366 days, 20 capabilities',
	   pg_temp.ms($$SELECT depwatch.status_page(tstzrange(now() - interval '366 days', now()))$$),
	   length(depwatch.status_page(tstzrange(now() - interval '366 days', now())))
UNION ALL
SELECT 'availability(90 days, ''day'') alone',
	   pg_temp.ms($$SELECT count(*) FROM depwatch.availability(tstzrange(now() - interval '90 days', now()), 'day')$$),
	   NULL;
