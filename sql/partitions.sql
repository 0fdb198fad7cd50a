-- Sample partitions: daily partitions ahead, expired ones dropped,
-- history from before them kept in the default partition.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

SELECT depwatch.add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00') AS nice;
SHOW depwatch.sample_retention;

-- Before any daily partition exists, samples land in the default one.
SELECT depwatch.report_sample('nice', false, at => now() - interval '10 days');
SELECT depwatch.report_sample('nice', true, at => now() - interval '1 day');
SELECT depwatch.report_sample('nice', true, at => date_trunc('day', now()) + interval '1 microsecond');
SELECT count(*) AS in_default FROM depwatch.sample_default;

-- Making today's and the next days' partitions moves today's sample.
SELECT action, partition = 'sample_' || to_char(now() + (n - 1) * interval '1 day', 'YYYYMMDD') AS named_by_day
FROM depwatch.maintain_sample_partitions(2) WITH ORDINALITY p(action, partition, n);
SELECT tableoid::regclass::text LIKE 'depwatch_internal.sample_2%' AS in_daily_partition, count(*)
FROM depwatch.sample GROUP BY 1 ORDER BY 1;
-- calling it again changes nothing
SELECT count(*) AS changes FROM depwatch.maintain_sample_partitions(2);
-- every partition's index covers what derive_outages reads (an index-only
-- scan: no heap page visited per sample)
SELECT regexp_replace(tablename, '[0-9]{8}', 'DAY') AS partition,
	   regexp_replace(indexdef, '(sample_)[0-9]{8}', '\1DAY', 'g') AS index
FROM pg_indexes WHERE schemaname IN ('depwatch', 'depwatch_internal') AND tablename LIKE 'sample\_%'
ORDER BY tablename;
-- the daily partitions live out of the API's schema
SELECT count(*) AS daily_partitions_in_api_schema FROM pg_tables
WHERE schemaname = 'depwatch' AND tablename ~ '^sample_[0-9]{8}$';

-- Partitions and default rows older than the retention are dropped.
CREATE TABLE depwatch_internal.sample_20200101 PARTITION OF depwatch.sample
	FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');
SELECT * FROM depwatch.maintain_sample_partitions(2, retention => '5 days');
SELECT now() - at > interval '5 days' AS expired, count(*) FROM depwatch.sample GROUP BY 1;

SELECT depwatch.maintain_sample_partitions(retention => '1 hour');

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
