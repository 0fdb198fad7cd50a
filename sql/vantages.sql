-- vantages.sql: the consensus of several vantages (doc/vantages.md) on rows
-- as a central node receives them, at fixed times: quorum by majority of
-- the vantages watching and by options->>'quorum'; a vantage that stops
-- reporting is unmonitored, never down; depwatch.consensus.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
\set VERBOSITY terse

SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:9', every => '10 s', tracked_since => '1990-01-01 00:00+00') IS NOT NULL AS added;

-- Three vantages sample bureau every 10 s from 10:00 to 11:00 (2024-01-01);
-- c stops at 10:30 (its node burns) and is back at 10:50.
INSERT INTO depwatch.vantage_sample (vantage, id, dependency, at, ok)
SELECT v, row_number() OVER (), 'bureau', t, true
FROM unnest(ARRAY['a', 'b', 'c']) v,
	 generate_series(timestamptz '2024-01-01 10:00', '2024-01-01 11:00', '10 s') t
WHERE NOT (v = 'c' AND t > '2024-01-01 10:30' AND t < '2024-01-01 10:50');
INSERT INTO depwatch.vantage_gap (vantage, dependency, before, unmonitored)
SELECT v, 'bureau', timestamptz '2024-01-01 10:00', tstzrange(NULL, '2024-01-01 10:00')
FROM unnest(ARRAY['a', 'b', 'c']) v
UNION ALL
SELECT 'c', 'bureau', '2024-01-01 10:50', tstzrange('2024-01-01 10:30:30', '2024-01-01 10:50');
-- a sees it down 10:10-10:20 and 10:40-10:45; b 10:12-10:25 and 10:42-10:44;
-- c 10:25-11:00 (open: its last outage began before it burned and goes on)
INSERT INTO depwatch.vantage_outage (vantage, outage_id, dependency, kind, during, detected_at)
VALUES ('a', 1, 'bureau', 'down', '[2024-01-01 10:10, 2024-01-01 10:20)', '2024-01-01 10:10:20'),
	   ('b', 1, 'bureau', 'down', '[2024-01-01 10:12, 2024-01-01 10:25)', '2024-01-01 10:12:20'),
	   ('a', 2, 'bureau', 'down', '[2024-01-01 10:40, 2024-01-01 10:45)', '2024-01-01 10:40:20'),
	   ('b', 2, 'bureau', 'down', '[2024-01-01 10:42, 2024-01-01 10:44)', '2024-01-01 10:42:20'),
	   ('c', 1, 'bureau', 'down', '[2024-01-01 10:25,)', '2024-01-01 10:25:20'),
	   ('a', 3, 'bureau', 'degraded', '[2024-01-01 10:00, 2024-01-01 10:50)', '2024-01-01 10:00:20');

-- the pieces: majority of 3 is 2; while c burns, majority of 2 is 2
SELECT started_at::time, ended_at::time, state, reporting, down, quorum, down_vantages
FROM depwatch.consensus_timeline('[2024-01-01 10:00, 2024-01-01 11:00)');

-- consensus outages start when the second vantage's starts; c alone
-- (10:25-10:30:30) is no outage, and its burning time counts for nobody
SELECT started_at::time, ended_at::time, vantages
FROM depwatch.consensus_outages('[2024-01-01 10:00, 2024-01-01 11:00)');

-- the consensus and each vantage side by side
SELECT coalesce(vantage, 'consensus') AS view, monitored, downtime, unmonitored, availability, outages
FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)');

-- options->>'quorum' = 1: any vantage suffices (c alone from 10:25 too)
SELECT depwatch.alter_dependency('bureau', options => '{"quorum": 1}');
SELECT started_at::time, ended_at::time, vantages
FROM depwatch.consensus_outages('[2024-01-01 10:00, 2024-01-01 11:00)');

-- quorum 3: only when all three agree; with two watching, unmonitored
SELECT depwatch.alter_dependency('bureau', options => '{"quorum": 3}');
SELECT count(*) AS outages FROM depwatch.consensus_outages('[2024-01-01 10:00, 2024-01-01 11:00)');
SELECT state, sum(ended_at - started_at) AS time
FROM depwatch.consensus_timeline('[2024-01-01 10:00, 2024-01-01 11:00)')
GROUP BY state ORDER BY state;
SELECT depwatch.alter_dependency('bureau', options => '{}');

-- depwatch.consensus on: availability() reads the consensus
SET depwatch.consensus = on;
SELECT target, monitored, downtime, unmonitored, outages
FROM depwatch.availability('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE target = 'bureau';
RESET depwatch.consensus;
-- off: this node's own outages (none)
SELECT target, downtime, outages
FROM depwatch.availability('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE target = 'bureau';

-- keys: a second copy of a vantage's row is refused
INSERT INTO depwatch.vantage_outage (vantage, outage_id, dependency, kind, during)
VALUES ('a', 1, 'bureau', 'down', '[2024-01-01 10:10, 2024-01-01 10:20)');
-- readers read, and cannot write
SET ROLE depwatch_reader;
SELECT vantage, last_sample_at, counts_toward_quorum FROM depwatch.vantage_status;
INSERT INTO depwatch.vantage_sample (vantage, id, dependency, at, ok) VALUES ('x', 1, 'bureau', now(), true);
RESET ROLE;

SELECT depwatch.drop_dependency('bureau');
DELETE FROM depwatch.vantage_sample;
DELETE FROM depwatch.vantage_outage;
DELETE FROM depwatch.vantage_gap;
