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
SELECT coalesce(vantage, 'consensus') AS view, monitored, downtime, unmonitored,
	   round(availability, 4) AS availability, outages
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

-- maintenance 10:40-10:50 is taken out of the consensus and of each
-- vantage, as availability() takes it out.  By hand: consensus down
-- 10:12-10:20 and 10:42-10:44 (under maintenance, so planned: no outage),
-- 100 x (60 - 10 - 8) / (60 - 10) = 84; a down 10:10-10:20 and 10:40-10:45
-- (planned), 100 x (60 - 10 - 10) / 50 = 80; b down 10:12-10:25 and
-- 10:42-10:44 (planned), 100 x (60 - 10 - 13) / 50 = 74; c did not watch
-- during the maintenance: down 10:25-10:30:30 and 10:50-11:00,
-- 100 x (40.5 - 15.5) / 40.5 = 61.7284.  (Before 0.3 the consensus row
-- said 100 x (1 - 10 / 60) = 83.3333, counting the planned work as down.)
SELECT depwatch.add_maintenance('bureau', '[2024-01-01 10:40, 2024-01-01 10:50)') IS NOT NULL AS planned;
SELECT coalesce(vantage, 'consensus') AS view, monitored, downtime, maintenance, unmonitored,
	   round(availability, 4) AS availability, outages
FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)');
-- the consensus row is what availability() says with depwatch.consensus on
SET depwatch.consensus = on;
SELECT a.monitored = v.monitored AND a.downtime = v.downtime AND a.maintenance = v.maintenance
	   AND a.unmonitored = v.unmonitored AND a.availability = v.availability AND a.outages = v.outages
	   AS consensus_row_is_availability
FROM depwatch.availability('[2024-01-01 10:00, 2024-01-01 11:00)') a,
	 depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') v
WHERE a.target = 'bureau' AND v.vantage IS NULL;
RESET depwatch.consensus;
DELETE FROM depwatch.maintenance;
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

-- One vantage decides alone: the consensus is this node's own view.  This
-- node ships its own outages and gaps (triggers); ledger is sampled every 10 s from 10:00 to 11:00 (2024-01-02), bad
-- from 10:10 to 10:19:50, with no sample between 10:40 and 10:45, and is
-- under maintenance 10:15-10:30.  By hand, over 10:00-11:00: unmonitored
-- 10:40:30-10:45 (3 x every after the last sample), so monitored 55 min
-- 30 s; maintenance 15 min; downtime 10:10-10:15, 5 min; availability
-- 100 x (55.5 - 15 - 5) / (55.5 - 15) = 87.6543; one outage.
SELECT depwatch.add_dependency('ledger', 'core', 'tcp', '127.0.0.1:9', every => '10 s',
							   fail_after => 1, recover_after => 1,
							   tracked_since => '1990-01-01 00:00+00') IS NOT NULL AS added;
SELECT count(depwatch.report_sample('ledger', NOT (t >= '2024-01-02 10:10' AND t < '2024-01-02 10:20'), at => t))
FROM generate_series(timestamptz '2024-01-02 10:00', '2024-01-02 11:00', '10 s') t
WHERE NOT (t > '2024-01-02 10:40' AND t < '2024-01-02 10:45');
SELECT depwatch.add_maintenance('ledger', '[2024-01-02 10:15, 2024-01-02 10:30)') IS NOT NULL AS planned;
-- its samples are shipped as a publication would ship them (the trigger
-- expires shipped samples older than depwatch.sample_retention at once)
INSERT INTO depwatch.vantage_sample (vantage, id, dependency, at, ok)
SELECT s.vantage, row_number() OVER (), 'ledger', s.at, s.ok
FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id AND d.name = 'ledger';
SELECT (SELECT count(DISTINCT vantage) FROM depwatch.vantage_outage WHERE dependency = 'ledger') AS vantages,
	   (SELECT count(*) FROM depwatch.vantage_outage WHERE dependency = 'ledger') AS outages,
	   (SELECT count(*) FROM depwatch.vantage_gap WHERE dependency = 'ledger') AS gaps;

-- the node's own figures, then by consensus: the same
SELECT target, monitored, downtime, maintenance, unmonitored, round(availability, 4) AS availability, outages
FROM depwatch.availability('[2024-01-02 10:00, 2024-01-02 11:00)') WHERE target = 'ledger';
SET depwatch.consensus = on;
SELECT target, monitored, downtime, maintenance, unmonitored, round(availability, 4) AS availability, outages
FROM depwatch.availability('[2024-01-02 10:00, 2024-01-02 11:00)') WHERE target = 'ledger';
RESET depwatch.consensus;
-- vantage_availability: the consensus and the one vantage, the same again
SELECT vantage IS NULL AS consensus, monitored, downtime, maintenance, unmonitored,
	   round(availability, 4) AS availability, outages
FROM depwatch.vantage_availability('[2024-01-02 10:00, 2024-01-02 11:00)') WHERE dependency = 'ledger';
-- state_timeline: the node's own runs, and no run differs by consensus
SELECT state, maintenance, started_at::time, ended_at::time
FROM depwatch.state_timeline('[2024-01-02 10:00, 2024-01-02 11:00)', ARRAY['ledger']);
CREATE TEMP TABLE own AS
SELECT * FROM depwatch.state_timeline('[2024-01-02 10:00, 2024-01-02 11:00)', ARRAY['ledger']);
SET depwatch.consensus = on;
SELECT count(*) AS runs_that_differ FROM (
	(SELECT * FROM own
	 EXCEPT SELECT * FROM depwatch.state_timeline('[2024-01-02 10:00, 2024-01-02 11:00)', ARRAY['ledger']))
	UNION ALL
	(SELECT * FROM depwatch.state_timeline('[2024-01-02 10:00, 2024-01-02 11:00)', ARRAY['ledger'])
	 EXCEPT SELECT * FROM own)) x;
RESET depwatch.consensus;
-- the consensus's own pieces: one vantage, quorum 1
SELECT started_at::time, ended_at::time, state, reporting, down, quorum
FROM depwatch.consensus_timeline('[2024-01-02 10:00, 2024-01-02 11:00)') WHERE dependency = 'ledger';

SELECT depwatch.drop_dependency('ledger');
DELETE FROM depwatch.vantage_sample;
DELETE FROM depwatch.vantage_outage;
DELETE FROM depwatch.vantage_gap;
