-- one_state_path.sql: a dependency's state now and a capability's come from
-- one computation (doc/semantics.md, "Current status"): for each situation
-- a dependency and a capability that requires only it say the same state
-- and the same since, and both agree with their state timelines.  Before
-- 0.3's one path the dependency's was decided in SQL and differed: since of
-- a maintenance (the earliest window covering now, not the start of the
-- maintenance), up after a maintenance (the end of the last outage, not of
-- the maintenance), the consensus (this node's outages, not the
-- vantages'), and the timelines of a dependency no worker probes (up for
-- its first 3 x every).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- All in one transaction, so that now() stands still.  Every pair was
-- added three hours ago.  This server lists no database in
-- depwatch.databases: no worker probes here.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT count(*) FROM (VALUES
	(add_dependency('down_dep', 'core')),
	(add_dependency('slow_dep', 'core')),
	(add_dependency('maint_dep', 'core')),
	(add_dependency('after_dep', 'core')),
	(add_dependency('silent_dep', 'core', 'tcp', '127.0.0.1:9', every => '1 min')),
	(add_dependency('nobody_dep', 'core', 'tcp', '127.0.0.1:9')),
	(add_dependency('voted_dep', 'core', 'tcp', '127.0.0.1:9'))) v;
RESET client_min_messages;
SELECT count(add_capability(replace(name, '_dep', '_cap'), ARRAY[name]))
FROM dependency;
UPDATE dependency SET created_at = now() - interval '3 hours', tracked_since = now() - interval '3 hours';
UPDATE capability SET created_at = now() - interval '3 hours';

-- down: an outage since 10 minutes ago
SELECT record_outage('down_dep', now() - interval '10 minutes') > 0 AS down;
-- degraded: since 5 minutes ago
SELECT record_outage('slow_dep', now() - interval '5 minutes', kind => 'degraded') > 0 AS degraded;
-- maintenance: down since 90 minutes ago, under maintenance since 60
-- minutes ago in two windows that overlap (the one covering now began 30
-- minutes ago): in maintenance since 60 minutes ago
SELECT record_outage('maint_dep', now() - interval '90 minutes') > 0 AS down,
	   add_maintenance('maint_dep', tstzrange(now() - interval '60 minutes', now() - interval '20 minutes')) > 0 AS first,
	   add_maintenance('maint_dep', tstzrange(now() - interval '30 minutes', now() + interval '1 hour')) > 0 AS second;
-- up after a maintenance that ended: down 60-50 minutes ago, then the
-- dependency and the capability under maintenance 40-20 minutes ago: up
-- since 20 minutes ago
SELECT record_outage('after_dep', now() - interval '60 minutes', now() - interval '50 minutes') > 0 AS down,
	   add_maintenance('after_dep', tstzrange(now() - interval '40 minutes', now() - interval '20 minutes')) > 0 AS dependency,
	   add_maintenance('after_cap', tstzrange(now() - interval '40 minutes', now() - interval '20 minutes')) > 0 AS capability;
-- unmonitored: sampled every minute, the last sample 10 minutes ago: since
-- 3 x every after it, 7 minutes ago
SELECT report_sample('silent_dep', true, at => now() - interval '10 minutes');
-- no worker: nobody_dep, never sampled, is unmonitored since it was added.
-- by consensus (below): voted_dep is down by this node's own record, but no
-- vantage reported it
SELECT record_outage('voted_dep', now() - interval '3 hours') > 0 AS down;

-- each dependency and its capability: the same state and since
CREATE TEMP TABLE now_status AS SELECT * FROM current_status();
SELECT d.target AS dependency, d.state, now() - d.since AS for_how_long, d.reason,
	   c.state = d.state AND c.since = d.since AS capability_says_the_same
FROM now_status d JOIN now_status c ON c.target = replace(d.target, '_dep', '_cap')
WHERE d.target_type = 'dependency' AND d.target <> 'voted_dep'
ORDER BY d.target;
-- ... and what their timelines say at their end: the state (maintenance
-- over the state beneath) and when it began
SELECT t.target, t.state, t.maintenance, now() - t.started_at AS for_how_long,
	   (CASE WHEN t.maintenance THEN 'maintenance' ELSE t.state END) = s.state
	   AND t.started_at = s.since AS current_status_agrees
FROM state_timeline(tstzrange(now() - interval '3 hours', now())) t
JOIN now_status s ON s.target = t.target
WHERE t.ended_at = now() AND t.target NOT LIKE 'voted%'
ORDER BY t.target_type DESC, t.target;
-- no worker: unmonitored all along, from when it was added (not up for its
-- first 3 x every)
SELECT target, state, now() - started_at AS started, now() - ended_at AS ended
FROM state_timeline(tstzrange(now() - interval '3 hours', now()), ARRAY['nobody_dep', 'nobody_cap'])
ORDER BY target_type DESC, started_at;

-- by consensus: no vantage reported voted_dep, so the consensus leaves it
-- unmonitored, for the dependency as for the capability, whatever this
-- node recorded
SELECT target, state, now() - since AS for_how_long, reason
FROM now_status WHERE target LIKE 'voted%' ORDER BY target_type DESC;
SET LOCAL depwatch.consensus = on;
SELECT target, state, now() - since AS for_how_long, reason
FROM current_status() WHERE target LIKE 'voted%' ORDER BY target_type DESC;
SELECT target, state, now() - started_at AS started
FROM state_timeline(tstzrange(now() - interval '3 hours', now()), ARRAY['voted_dep', 'voted_cap'])
ORDER BY target_type DESC, started_at;
COMMIT;

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
