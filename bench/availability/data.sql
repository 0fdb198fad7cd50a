-- bench/availability/data.sql: the availability benchmark's data, made
-- reproducibly (setseed) in the current database.
--
--   200 dependencies, probe 'none' (recorded by hand or imported, so
--     monitored all the time: no monitor gaps), in 20 sites, tracked since
--     a month before the year (SPEC section 7: before its tracked_since a
--     dependency is untracked and every report counts that time as
--     unmonitored; the default, when it is added, would leave the whole
--     generated year unmonitored)
--   50 capabilities: 30 on dependencies only (single members, any-of
--     groups 'a|b|c', k-of-n groups '2:a|b|c' and '3:a|b|c|d|e'), 15 that
--     also require those, 5 that require the second tier (nested two deep)
--   500,000 outage windows over the year: per dependency 1,500 'down' and
--     1,000 'degraded', never overlapping within a dependency and kind;
--     8 % of them shared by every dependency of a site (a building that
--     fails takes its "redundant" services down together)
--   maintenance: 12 windows on each dependency, 4 on each capability
--
-- psql variables: seed (for setseed), year_start, year_end.
-- The outages and maintenance windows go straight into depwatch.outage and
-- depwatch.maintenance in bulk, with session_replication_role = replica so
-- that the per-row audit trigger does not run (the audit chain is not what
-- is measured); the exclusion constraint is still checked.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SELECT setseed(:seed);

CREATE TEMP TABLE gen_dep AS
SELECT i,
	   format('dep_%s', lpad(i::text, 3, '0')) AS name,
	   1 + (i * 7) % 20 AS site,
	   0.3 + 2.7 * random() AS flaky		-- scales this dependency's outage lengths
FROM generate_series(1, 200) AS i;

SELECT count(depwatch.add_dependency(
		   g.name,
		   (ARRAY['credit_bureau', 'identity', 'messaging', 'datacenter', 'payment_network',
				  'core', 'other'])[1 + g.i % 7],
		   options => CASE g.i % 10 WHEN 0 THEN '{"slo": 99.95}' WHEN 5 THEN '{"slo": 99.5}'
						   ELSE '{}' END::jsonb,
		   site => format('dc_%s', lpad(g.site::text, 2, '0')),
		   vendor => format('vendor_%s', 1 + g.i % 37),
		   -- before the period in any session time zone
		   tracked_since => :'year_start'::timestamptz - interval '1 month')) AS dependencies
FROM gen_dep g;

-- pick: k distinct names among those given, at random
CREATE FUNCTION pg_temp.pick(names text[], k int) RETURNS text[]
LANGUAGE sql VOLATILE
AS $$
	SELECT array_agg(n ORDER BY r)
	FROM (SELECT n, random() AS r FROM unnest(names) AS n ORDER BY r LIMIT k) x
$$;

DO $$
DECLARE
	deps text[] := ARRAY(SELECT name FROM gen_dep ORDER BY i);
	tier0 text[] := '{}';
	tier1 text[] := '{}';
	groups text[];
	m text[];
	dd text[];
	name text;
BEGIN
	-- tier 0: dependencies only
	FOR c IN 1 .. 30 LOOP
		name := format('cap0_%s', lpad(c::text, 2, '0'));
		m := pg_temp.pick(deps, 13);
		groups := ARRAY[
			m[1],													-- one that is needed
			m[2] || '|' || m[3],									-- any one of two
			'2:' || m[4] || '|' || m[5] || '|' || m[6]];			-- two of three
		IF c % 2 = 0 THEN
			groups := groups || (m[7] || '|' || m[8] || '|' || m[9]);
		END IF;
		IF c % 3 = 0 THEN
			groups := groups || ('3:' || array_to_string(m[9:13], '|'));
		END IF;
		PERFORM depwatch.add_capability(name, groups, slo => (ARRAY[99.9, 99.95, 99.5])[1 + c % 3]);
		tier0 := tier0 || name;
	END LOOP;
	-- tier 1: tier-0 capabilities and dependencies
	FOR c IN 1 .. 15 LOOP
		name := format('cap1_%s', lpad(c::text, 2, '0'));
		m := pg_temp.pick(tier0, 6);
		dd := pg_temp.pick(deps, 4);
		groups := ARRAY[
			m[1],
			m[2] || '|' || m[3],
			'2:' || m[4] || '|' || dd[1] || '|' || dd[2]];
		IF c % 2 = 1 THEN
			groups := groups || dd[3];
		END IF;
		IF c % 4 = 0 THEN
			groups := groups || ('2:' || m[5] || '|' || m[6] || '|' || dd[4]);
		END IF;
		PERFORM depwatch.add_capability(name, groups, slo => (ARRAY[99.9, 99.5])[1 + c % 2]);
		tier1 := tier1 || name;
	END LOOP;
	-- tier 2: tier-1 capabilities (nested two deep), with some of the rest
	FOR c IN 1 .. 5 LOOP
		name := format('cap2_%s', lpad(c::text, 2, '0'));
		m := pg_temp.pick(tier1, 4);
		dd := pg_temp.pick(deps, 3);
		groups := ARRAY[
			m[1],
			m[2] || '|' || m[3],
			(pg_temp.pick(tier0, 1))[1] || '|' || dd[1]];
		IF c % 2 = 0 THEN
			groups := groups || ('2:' || m[4] || '|' || dd[2] || '|' || dd[3]);
		END IF;
		PERFORM depwatch.add_capability(name, groups, slo => 99.9);
	END LOOP;
END
$$;

-- The outage windows.  Each kind's year is cut into equal slots (1,500 for
-- down, 1,000 for degraded); each dependency has one window per slot,
-- starting in the first 60 % of it and lasting at most 40 % of it, so that
-- windows of one dependency and kind never overlap.  Lengths are
-- exponential around the kind's mean times the dependency's flakiness.
-- In 8 % of the slots a dependency takes its site's window instead.
CREATE TEMP TABLE gen_kind(kind, n, mean_s) AS
VALUES ('down', 1500, 150.0), ('degraded', 1000, 480.0);

CREATE TEMP TABLE gen_slot AS
SELECT k.kind, s AS slot, k.mean_s,
	   :'year_start'::timestamptz + (:'year_end'::timestamptz - :'year_start'::timestamptz) * s / k.n AS slot_start,
	   (:'year_end'::timestamptz - :'year_start'::timestamptz) / k.n AS slot_len
FROM gen_kind k, generate_series(0, k.n - 1) AS s;

-- window offset and length within the slot, as fractions of it
CREATE FUNCTION pg_temp.gen_window(slot_start timestamptz, slot_len interval, mean_s float8)
RETURNS tstzrange
LANGUAGE sql VOLATILE
AS $$
	SELECT tstzrange(a, a + least(slot_len * 0.4,
								  interval '1 microsecond' * floor(1e6 * (1 + mean_s * -ln(1 - random())))))
	FROM (SELECT slot_start + interval '1 microsecond' * floor(random() * 0.6 * extract(epoch FROM slot_len) * 1e6) AS a) x
$$;

CREATE TEMP TABLE gen_site_window AS
SELECT site, s.kind, s.slot, pg_temp.gen_window(s.slot_start, s.slot_len, s.mean_s * 1.5) AS during
FROM generate_series(1, 20) AS site, gen_slot s
ORDER BY site, s.kind, s.slot;
CREATE INDEX ON gen_site_window (site, kind, slot);
ANALYZE gen_site_window;

SET session_replication_role = replica;		-- no audit trigger per row
INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source, note)
SELECT d.id, w.kind, w.during, lower(w.during), 'import', w.note
FROM (
	SELECT g.name, s.kind,
		   CASE WHEN random() < 0.08 THEN sw.during
				ELSE pg_temp.gen_window(s.slot_start, s.slot_len, s.mean_s * g.flaky) END AS during,
		   NULL::text AS note
	FROM gen_dep g
	CROSS JOIN gen_slot s
	JOIN gen_site_window sw ON sw.site = g.site AND sw.kind = s.kind AND sw.slot = s.slot
	ORDER BY g.i, s.kind, s.slot
) w
JOIN depwatch.dependency d ON d.name = w.name;

-- Maintenance: 12 windows of 1 to 4 hours on each dependency (one a
-- month), 4 of 1 to 3 hours on each capability; they overlap outages.
INSERT INTO depwatch.maintenance (dependency_id, during, note)
SELECT d.id, tstzrange(a, a + interval '1 hour' * (1 + floor(random() * 4))), 'planned'
FROM depwatch.dependency d
CROSS JOIN generate_series(0, 11) AS mo
CROSS JOIN LATERAL (
	SELECT :'year_start'::timestamptz + interval '1 month' * mo
		   + interval '1 minute' * floor(random() * 27 * 24 * 60) AS a) x
ORDER BY d.id, mo;
INSERT INTO depwatch.maintenance (capability_id, during, note)
SELECT c.id, tstzrange(a, a + interval '1 hour' * (1 + floor(random() * 3))), 'planned'
FROM depwatch.capability c
CROSS JOIN generate_series(0, 3) AS q
CROSS JOIN LATERAL (
	SELECT :'year_start'::timestamptz + interval '3 months' * q
		   + interval '1 minute' * floor(random() * 85 * 24 * 60) AS a) x
ORDER BY c.id, q;
RESET session_replication_role;

VACUUM ANALYZE depwatch.outage;
VACUUM ANALYZE depwatch.maintenance;
ANALYZE depwatch.dependency;
ANALYZE depwatch.capability;

SELECT (SELECT count(*) FROM depwatch.dependency) AS dependencies,
	   (SELECT count(*) FROM depwatch.capability) AS capabilities,
	   (SELECT count(*) FROM depwatch.outage) AS outages,
	   (SELECT count(*) FROM depwatch.outage WHERE kind = 'down') AS down,
	   (SELECT count(*) FROM depwatch.outage WHERE kind = 'degraded') AS degraded,
	   (SELECT count(*) FROM depwatch.maintenance) AS maintenance_windows;
