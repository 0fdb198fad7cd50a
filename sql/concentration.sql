-- concentration(): per site and vendor, the capabilities that stand on it
-- and those it breaks alone (k of n, nesting followed), and its share of
-- all dependency down time; on a map checked by hand.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- The map (probe none: monitored all the time):
--   dependency  vendor  site
--   a1          acme    dc1
--   a2          acme    dc2
--   b1          bolt    dc3
--   w1          acme    dc4
--   m1          cirrus  dc9
--   m2          dune    dc9
--   lone        echo    dc7   (no capability needs it)
--   w2          -       -     (no provider: no row of its own)
--   pay     = 2:a1|a2|b1      n = 3, k = 2: a provider holding n - k + 1 = 2
--                             members breaks it (acme: a1, a2), one does
--                             not (bolt: b1; dc1, dc2, dc3)
--   mail    = m1|m2           any of: both on site dc9, which breaks it;
--                             cirrus and dune hold one each
--   front   = 2:pay|mail|w1   nested: acme breaks pay, and with w1 that is
--                             2 down > n - k = 1, so acme breaks front; dc9
--                             breaks mail, 1 down, front stays up
--   portal  = front           broken by acme through front and pay
SELECT count(*) FROM (VALUES
	(add_dependency('a1', 'core', vendor => 'acme', site => 'dc1', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('a2', 'core', vendor => 'acme', site => 'dc2', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('b1', 'core', vendor => 'bolt', site => 'dc3', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('w1', 'other', vendor => 'acme', site => 'dc4', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('m1', 'messaging', vendor => 'cirrus', site => 'dc9', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('m2', 'messaging', vendor => 'dune', site => 'dc9', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('lone', 'other', vendor => 'echo', site => 'dc7', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('w2', 'other', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('pay', ARRAY['2:a1|a2|b1']) > 0;
SELECT add_capability('mail', ARRAY['m1|m2']) > 0;
SELECT add_capability('front', ARRAY['2:pay|mail|w1']) > 0;
SELECT add_capability('portal', ARRAY['front']) > 0;

-- Down time on 2026-01-01 (UTC), outside maintenance:
--   a1    10:00-11:30 down, maintenance 10:00-10:30: 60 min
--   m1    12:00-13:00: 60 min; m2 12:30-13:30: 60 min
--   lone  14:00-15:00: 60 min; w2 09:00-10:00: 60 min
--   b1    16:00-17:00 degraded only: no down time
-- All dependencies: 300 min.  Shares: dc1 = acme = 60/300 = 0.2 (90/330
-- if the maintenance were counted), dc9 = 120/300 = 0.4, dc7 = echo =
-- cirrus = dune = 0.2, the others 0; w2's fifth belongs to no provider.
SELECT count(*) FROM (VALUES
	(record_outage('a1', '2026-01-01 10:00', '2026-01-01 11:30')),
	(record_outage('m1', '2026-01-01 12:00', '2026-01-01 13:00')),
	(record_outage('m2', '2026-01-01 12:30', '2026-01-01 13:30')),
	(record_outage('lone', '2026-01-01 14:00', '2026-01-01 15:00')),
	(record_outage('w2', '2026-01-01 09:00', '2026-01-01 10:00')),
	(record_outage('b1', '2026-01-01 16:00', '2026-01-01 17:00', 'degraded'))) v;
SELECT add_maintenance('a1', '[2026-01-01 10:00, 2026-01-01 10:30)') > 0;

SELECT * FROM concentration('[2026-01-01, 2026-01-02)');

-- the shares of one provider type add up to at most 1 (w2 has no provider)
SELECT provider_type, sum(downtime_share) FROM concentration('[2026-01-01, 2026-01-02)')
GROUP BY provider_type ORDER BY 1;

-- a period where no dependency was down: no share to give (NULL)
SELECT provider_type, provider, downtime_share FROM concentration('[2025-06-01, 2025-06-02)')
WHERE provider IN ('acme', 'dc9');

-- the default period is the last 365 days: one row per provider
SELECT count(*) FROM concentration();

-- redundancy_risks() asks about one group at a time, with no nesting and
-- no single-member group: acme breaks pay's group, dc9 mail's; front is
-- not there
SELECT * FROM redundancy_risks();

-- a reader may run it
SET ROLE depwatch_reader;
SELECT count(*) FROM concentration('[2026-01-01, 2026-01-02)');
RESET ROLE;

-- b1 moves to acme: bolt holds nothing and has no row; acme holds 4
SELECT alter_dependency('b1', vendor => 'acme');
SELECT provider, dependencies, single_point_of_failure FROM concentration('[2026-01-01, 2026-01-02)')
WHERE provider IN ('acme', 'bolt');

-- Bad periods, as availability() says them
\set VERBOSITY terse
SELECT * FROM concentration('empty');
SELECT * FROM concentration('[2024-01-01,)');
SELECT * FROM concentration('[2024-01-01, infinity)');
SELECT * FROM concentration(NULL);
SELECT * FROM concentration('[2010-01-01, 2024-01-01)');
\set VERBOSITY default
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
