-- Alerts: events, routes and reports (doc/reference.md, "Alerts";
-- doc/semantics.md, "Alert events").
--
-- Events are appended in the transaction of the change that causes them:
--   * a row trigger on outage appends the dependency events of a live
--     change (not an import, not an outage that ended longer ago than
--     depwatch.alert_max_age), whoever writes it (the worker, report_sample,
--     record_outage, end_outage);
--   * a deferred trigger on outage then compares, once per transaction at
--     commit, each capability's state (_capability_status(), the one rule)
--     with the last capability event it had, and appends what changed;
--   * _alert_tick(), which the probe worker calls every half second,
--     appends the events that time alone brings: impact tolerance, burn
--     rates, reporting deadlines.
-- A deferred trigger on alert_event routes each event at commit: it
-- settles suppression (all of the transaction's outages are written by
-- then) and makes a delivery per matching route.  The constraint triggers
-- are dropped and made again (CREATE CONSTRAINT TRIGGER has no OR REPLACE)
-- so that this file, like every file here, may run again.

-- _alert_iso: an instant as it appears in dedup keys, the same whatever the
-- session's time zone.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- _alert_max_age: depwatch.alert_max_age (15 min when the library is not
-- loaded in this session).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_max_age() RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(nullif(current_setting('depwatch.alert_max_age', true), '')::interval,
					interval '15 minutes')
$$;

-- _alert_severity: critical (down, breached, page), warning (degraded,
-- 80 %, ticket, report_due), info (the rest).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_severity(event text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN event IN ('dependency_down', 'capability_down', 'tolerance_breached', 'burn_rate_page')
			THEN 'critical'
		WHEN event IN ('dependency_degraded', 'capability_degraded', 'tolerance_80',
					   'burn_rate_ticket', 'report_due')
			THEN 'warning'
		ELSE 'info' END
$$;

-- _alert_append appends one event, once per (dedup_key, event): a retry or
-- a replay of the same condition appends nothing and returns NULL.
--
-- Event writers are serialized: each takes a transaction-level advisory
-- lock before it draws an id, and holds it to its commit.  The delivery
-- side sends each route's events in id order and remembers how far it got;
-- were ids drawn concurrently, a transaction holding a lower id could
-- commit after one holding a higher id had been read and delivered, and
-- its event would be skipped or sent out of order.  With the lock, ids
-- become visible in the order they were drawn.  Writers are short (the
-- worker's batches, one API call), and the worker waits for the lock under
-- lock_timeout, so a session that holds it only delays the next write.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_append(event text, target text, target_type text, at timestamptz,
										 summary text, details jsonb, dedup_key text) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	IF EXISTS (SELECT FROM depwatch.alert_event e WHERE e.dedup_key = dedup_key AND e.event = event) THEN
		RETURN NULL;
	END IF;
	PERFORM pg_advisory_xact_lock('depwatch.alert_event'::regclass::oid::int, 0);
	result := nextval('depwatch.alert_event_id_seq');
	-- routing (at commit, or at once under SET CONSTRAINTS ALL IMMEDIATE)
	-- starts at the first id this transaction drew; the lock above keeps
	-- every later id this transaction's.  Set before the insert, whose
	-- routing may run as it ends.
	IF coalesce(current_setting('depwatch.alert_route_from', true), '') = '' THEN
		PERFORM set_config('depwatch.alert_route_from', result::text, true);
	END IF;
	INSERT INTO depwatch.alert_event AS e (id, at, event, target, target_type, severity, summary, details, dedup_key)
	VALUES (result, at, event, target, target_type, depwatch_internal._alert_severity(event),
			depwatch_internal._clip(summary), coalesce(details, '{}'), dedup_key)
	ON CONFLICT ON CONSTRAINT alert_event_dedup_key_event_key DO NOTHING
	RETURNING e.id INTO result;
	RETURN result;
END
$$;

-- _alert_route (at commit): the events this transaction appended, from id
-- from_id on, all at once.  An event of a dependency is suppressed when the
-- dependency named by its site is down at the event's recorded_at (judged
-- at commit, when all the transaction's outages are written, so the order
-- in which one transaction wrote a building's outage and its services'
-- does not matter).  Then one delivery per matching route: events (NULL:
-- all), targets (NULL: all), at least min_severity, and not suppressed
-- unless the route's options say {"suppressed": true}; whatever those
-- say, an event that resolves a condition (same dedup_key) goes to every
-- route that had its opening event, so that a receiver paged on
-- min_severity 'critical' hears the 'info' event that ends the page.  A
-- notify route gets pg_notify(target, id), which PostgreSQL delivers at
-- commit: its delivery is done at once.  Set-based: a building's 500
-- services failing in one transaction are routed by three statements, not
-- 500 trigger calls (bench/alerts.sh).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_route(from_id bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	n record;
BEGIN
	UPDATE depwatch.alert_event e SET suppressed = true
	FROM depwatch.dependency d
	JOIN depwatch.dependency s ON s.name = d.site AND s.id <> d.id
	WHERE e.id >= from_id AND e.target_type = 'dependency' AND NOT e.suppressed
	  AND d.name = e.target
	  AND EXISTS (SELECT FROM depwatch.outage o
				  WHERE o.dependency_id = s.id AND o.kind = 'down' AND o.during @> e.recorded_at);
	-- the routes' own filters
	INSERT INTO depwatch.alert_delivery (event_id, route_id)
	SELECT e.id, r.id
	FROM depwatch.alert_event e
	JOIN depwatch.alert_route r
	  ON (r.events IS NULL OR e.event = ANY (r.events))
	 AND (r.targets IS NULL OR e.target = ANY (r.targets))
	 AND array_position(ARRAY['info', 'warning', 'critical'], e.severity)
		 >= array_position(ARRAY['info', 'warning', 'critical'], r.min_severity)
	 AND (NOT e.suppressed OR coalesce(r.options->>'suppressed', 'false') = 'true')
	WHERE e.id >= from_id AND e.event <> 'test'
	ON CONFLICT DO NOTHING;
	-- what ends a condition goes wherever its opening went (this statement
	-- sees the deliveries the one above made)
	INSERT INTO depwatch.alert_delivery (event_id, route_id)
	SELECT DISTINCT e.id, y.route_id
	FROM depwatch.alert_event e
	JOIN depwatch.alert_event o ON o.dedup_key = e.dedup_key AND o.id < e.id
	JOIN depwatch.alert_delivery y ON y.event_id = o.id
	WHERE e.id >= from_id AND e.event <> 'test'
	ON CONFLICT DO NOTHING;
	-- notify routes: PostgreSQL sends at commit, in this order
	FOR n IN
		SELECT y.event_id, y.route_id, r.target
		FROM depwatch.alert_delivery y JOIN depwatch.alert_route r ON r.id = y.route_id
		WHERE y.event_id >= from_id AND r.channel = 'notify' AND y.state = 'pending'
		ORDER BY y.event_id, y.route_id
	LOOP
		PERFORM pg_notify(n.target, n.event_id::text);
		UPDATE depwatch.alert_delivery SET state = 'delivered', attempts = 1, delivered_at = clock_timestamp()
		WHERE event_id = n.event_id AND route_id = n.route_id;
	END LOOP;
END
$$;

-- _alert_route_event (deferred, at commit): routes the transaction's events
-- once, at the first of its row calls (the rest find nothing to do).
-- Events not appended through _alert_append (a restore re-inserting old
-- events with their deliveries, test_alert_route's) are not routed.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_route_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	from_id bigint := nullif(current_setting('depwatch.alert_route_from', true), '')::bigint;
BEGIN
	IF from_id IS NOT NULL THEN
		PERFORM set_config('depwatch.alert_route_from', '', true);
		PERFORM depwatch_internal._alert_route(from_id);
	END IF;
	RETURN NULL;
END
$$;

-- A constraint trigger cannot be created OR REPLACE: this one is created
-- once, here.
DROP TRIGGER IF EXISTS route_event ON alert_event;

CREATE CONSTRAINT TRIGGER route_event AFTER INSERT ON alert_event
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._alert_route_event();

-- ---------------------------------------------------------------------------
-- Dependency and capability events, from outages
-- ---------------------------------------------------------------------------

-- _alert_outage_changed: the dependency events of a change to an outage,
-- in its transaction.  dependency_down (degraded) when a down (degraded)
-- outage is recorded, dependency_up (recovered) when it ends, at the
-- outage's start and end (an ongoing outage deleted ends now); both share
-- the dedup key of the outage run (dependency, kind, start), which a
-- re-derived outage keeps.  Degraded
-- events only for a dependency with a degraded level.  Imports, and
-- outages that ended longer ago than depwatch.alert_max_age, make none.
-- A live change also marks the transaction for the capabilities' check at
-- commit (_alert_outage_settle).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_outage_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	d depwatch.dependency;
	o depwatch.outage := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	opened boolean := TG_OP = 'INSERT';
	ended boolean := TG_OP <> 'DELETE' AND NOT upper_inf(NEW.during)
					 AND (TG_OP = 'INSERT' OR upper_inf(OLD.during));
	key text;
	facts jsonb;
BEGIN
	IF o.source = 'import'
	   OR (NOT upper_inf(o.during) AND upper(o.during) < now() - depwatch_internal._alert_max_age()) THEN
		RETURN NULL;
	END IF;
	PERFORM set_config('depwatch.alert_capabilities_due', 'on', true);
	SELECT * INTO d FROM depwatch.dependency x WHERE x.id = o.dependency_id;
	-- an ongoing outage deleted (discard_samples re-derives, an operator
	-- repairs): whoever heard it open hears it end, now
	IF TG_OP = 'DELETE' AND upper_inf(o.during) AND d.id IS NOT NULL THEN
		o.during := tstzrange(lower(o.during), greatest(now(), lower(o.during) + interval '1 microsecond'));
		ended := true;
	END IF;
	IF NOT (opened OR ended) THEN
		RETURN NULL;
	END IF;
	IF o.kind = 'degraded' AND d.degraded_after IS NULL AND NOT d.options ? 'degraded_error_rate' THEN
		RETURN NULL;
	END IF;
	key := format('dependency:%s:%s:%s', d.name, o.kind, depwatch_internal._alert_iso(lower(o.during)));
	facts := jsonb_build_object('outage', o.id, 'kind', o.kind, 'source', o.source, 'site', d.site,
								'started_at', lower(o.during), 'detected_at', o.detected_at,
								'ended_at', CASE WHEN NOT upper_inf(o.during) THEN upper(o.during) END,
								'deleted', TG_OP = 'DELETE');
	IF opened THEN
		PERFORM depwatch_internal._alert_append(
			CASE o.kind WHEN 'down' THEN 'dependency_down' ELSE 'dependency_degraded' END,
			d.name, 'dependency', lower(o.during),
			format('%s is %s', d.name, o.kind), facts, key);
	END IF;
	-- only what was announced is resolved: an outage deleted before it was
	-- (or whose dependency is being dropped) makes nothing
	IF ended AND (TG_OP <> 'DELETE' OR EXISTS (SELECT FROM depwatch.alert_event e WHERE e.dedup_key = key)) THEN
		PERFORM depwatch_internal._alert_append(
			CASE o.kind WHEN 'down' THEN 'dependency_up' ELSE 'dependency_recovered' END,
			d.name, 'dependency', upper(o.during),
			format('%s is %s again after %s', d.name, CASE o.kind WHEN 'down' THEN 'up' ELSE 'fast' END,
				   upper(o.during) - lower(o.during)),
			facts, key);
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER alert_events AFTER INSERT OR UPDATE OR DELETE ON outage
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._alert_outage_changed();

-- _alert_dependencies_down: the dependencies a capability needs, at any
-- depth, that are down now.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_dependencies_down(capability text) RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH RECURSIVE member(name) AS (
		SELECT m FROM depwatch.requirements r, unnest(r.members) m WHERE r.capability = $1
		UNION
		SELECT m FROM member JOIN depwatch.requirements r ON r.capability = member.name,
					  unnest(r.members) m)
	SELECT coalesce(array_agg(d.name ORDER BY d.name), '{}')
	FROM depwatch.dependency d
	WHERE d.name IN (SELECT name FROM member)
	  AND EXISTS (SELECT FROM depwatch.outage o
				  WHERE o.dependency_id = d.id AND o.kind = 'down' AND o.during @> now())
$$;

-- _alert_capabilities: compare each capability's state now
-- (_capability_status(), the rule current_status() shows) with its last
-- capability event, and append capability_down, _degraded or _up where
-- they differ.  A capability in maintenance or unmonitored keeps its last
-- event (no page for planned work; no all-clear for what nobody watches).
-- down and degraded are at the start of the capability's down (degraded)
-- run, maintenance included, with a dedup key of that run; capability_up
-- is when the capability came up and shares the key of the event it ends.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_capabilities() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	c record;
	last record;
	level text;
	run record;
	up_at timestamptz;
BEGIN
	FOR c IN SELECT s.target, s.state, s.since FROM depwatch_internal._capability_status() s ORDER BY s.target LOOP
		level := CASE WHEN c.state IN ('up', 'degraded', 'down') THEN c.state END;
		CONTINUE WHEN level IS NULL;
		SELECT e.event, e.dedup_key, e.at INTO last FROM depwatch.alert_event e
		WHERE e.target_type = 'capability' AND e.target = c.target
		  AND e.event IN ('capability_down', 'capability_degraded', 'capability_up')
		ORDER BY e.id DESC LIMIT 1;
		CONTINUE WHEN coalesce(substr(last.event, 12), 'up') = level;
		IF level = 'up' THEN
			-- up since the end of its last down or degraded run
			SELECT max(o.ended_at) INTO up_at
			FROM depwatch.capability_outages(c.target, tstzrange(least(last.at, now()), now() + interval '1 microsecond')) o;
			up_at := coalesce(up_at, c.since);
			PERFORM depwatch_internal._alert_append('capability_up', c.target, 'capability', up_at,
				format('%s is up again after %s', c.target, up_at - last.at),
				jsonb_build_object('was', substr(last.event, 12), 'since', last.at), last.dedup_key);
			CONTINUE;
		END IF;
		-- the run's start, maintenance included (since is the start of the
		-- part outside maintenance)
		SELECT o.started_at, o.causes INTO run
		FROM depwatch.capability_outages(c.target, tstzrange(c.since - interval '1 day',
															 now() + interval '1 microsecond')) o
		WHERE o.kind = level AND o.ended_at IS NULL;
		PERFORM depwatch_internal._alert_append('capability_' || level, c.target, 'capability',
			coalesce(run.started_at, c.since),
			format('%s is %s', c.target, level),
			jsonb_build_object('failed_groups', coalesce(to_jsonb(run.causes), '[]'),
							   'dependencies_down', to_jsonb(depwatch_internal._alert_dependencies_down(c.target))),
			format('capability:%s:%s:%s', c.target, level,
				   depwatch_internal._alert_iso(coalesce(run.started_at, c.since))));
	END LOOP;
END
$$;

-- _alert_outage_settle (deferred, at commit): the capabilities' check,
-- once per transaction that made a live change to outages however many
-- rows it wrote (a building's 500 services failing at once cost one
-- check).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_outage_settle() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF current_setting('depwatch.alert_capabilities_due', true) = 'on' THEN
		PERFORM set_config('depwatch.alert_capabilities_due', 'off', true);
		PERFORM depwatch_internal._alert_capabilities();
	END IF;
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS alert_capabilities ON outage;

CREATE CONSTRAINT TRIGGER alert_capabilities AFTER INSERT OR UPDATE OR DELETE ON outage
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._alert_outage_settle();

-- ---------------------------------------------------------------------------
-- Reports: impact tolerance and burn rates
-- ---------------------------------------------------------------------------

-- _down_runs: the continuous down runs of a capability (maintenance
-- included: capability_outages' down windows) that overlap [lo, hi), with
-- their real start and end (NULL while ongoing).  It reads the period and a
-- day either side, and only when a run reaches the edge of what it read
-- looks further that way (a month, a year, ten years back; up to now
-- forward), so an old period does not read all the history since.
CREATE OR REPLACE FUNCTION depwatch_internal._down_runs(capability text, lo timestamptz, hi timestamptz)
	RETURNS TABLE(started_at timestamptz, ended_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	steps interval[] := ARRAY[interval '1 day', '31 days', '366 days', '3653 days'];
	now_hi timestamptz := now() + interval '1 microsecond';
	back int := 1;
	ahead int := 1;
	q_lo timestamptz;
	q_hi timestamptz;
	s timestamptz[];
	e timestamptz[];
	reached_lo boolean;
	reached_hi boolean;
BEGIN
	LOOP
		q_hi := CASE WHEN ahead > 4 THEN now_hi ELSE least(hi + steps[ahead], now_hi) END;
		-- capability_outages reads at most 10 years
		q_lo := greatest(least(lo, q_hi - interval '1 microsecond') - steps[back], q_hi - interval '3650 days');
		SELECT array_agg(o.started_at ORDER BY o.started_at), array_agg(o.ended_at ORDER BY o.started_at)
		INTO s, e
		FROM depwatch.capability_outages(capability, tstzrange(q_lo, q_hi)) o
		WHERE o.kind = 'down';
		-- a run cut by what was read: its start at q_lo, or its end at q_hi
		-- (a run going on now ends in NULL, not at q_hi)
		reached_lo := s[1] = q_lo AND back < 4 AND q_lo > q_hi - interval '3650 days';
		reached_hi := e[cardinality(e)] = q_hi AND q_hi < now_hi;
		EXIT WHEN NOT coalesce(reached_lo, false) AND NOT coalesce(reached_hi, false);
		IF reached_lo THEN back := back + 1; END IF;
		IF reached_hi THEN ahead := ahead + 1; END IF;
	END LOOP;
	RETURN QUERY
		SELECT s[k], e[k]
		FROM generate_subscripts(s, 1) k
		WHERE tstzrange(s[k], e[k]) && tstzrange(lo, hi)
		ORDER BY k;
END
$$;

-- tolerance_breaches: every continuous down run (maintenance included) of
-- a capability with an impact tolerance that overlaps the period, with its
-- real start and end; breached when it lasted longer than the tolerance.
CREATE OR REPLACE FUNCTION tolerance_breaches(period tstzrange)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz, lasted interval,
				  tolerance interval, breached boolean, breached_at timestamptz, headroom interval,
				  lasted_seconds numeric, tolerance_seconds numeric, headroom_seconds numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	PERFORM depwatch_internal._check_period(period);
	RETURN QUERY
		SELECT c.name, r.started_at, r.ended_at, x.lasted, c.impact_tolerance,
			   depwatch_internal._breached(x.lasted, c.impact_tolerance),
			   depwatch_internal._breached_at(r.started_at, x.lasted, c.impact_tolerance),
			   c.impact_tolerance - x.lasted,
			   extract(epoch FROM x.lasted), extract(epoch FROM c.impact_tolerance),
			   extract(epoch FROM c.impact_tolerance - x.lasted)
		FROM depwatch.capability c
		CROSS JOIN LATERAL depwatch_internal._down_runs(c.name, lower(period), upper(period)) r
		CROSS JOIN LATERAL (SELECT coalesce(r.ended_at, now()) - r.started_at AS lasted) x
		WHERE c.impact_tolerance IS NOT NULL
		ORDER BY c.name, r.started_at;
END
$$;

-- _burn_alerts: the multi-window, multi-burn-rate alerts (SPEC section 8).
CREATE OR REPLACE FUNCTION depwatch_internal._burn_alerts()
	RETURNS TABLE(alert text, long_window interval, short_window interval, threshold numeric)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES ('page', interval '1 hour', interval '5 minutes', 14.4),
		   ('ticket', interval '6 hours', interval '30 minutes', 6.0)
$$;

-- _burn_runs: what a target did over [lo, hi), as state_timeline's runs:
-- down counts where it is down outside maintenance, counted where it is
-- monitored outside maintenance (the two terms of availability()).
CREATE OR REPLACE FUNCTION depwatch_internal._burn_runs(target text, lo timestamptz, hi timestamptz)
	RETURNS TABLE(s timestamptz, e timestamptz, down boolean, counted boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT t.started_at, t.ended_at, t.state = 'down' AND NOT t.maintenance,
		   t.state <> 'unmonitored' AND NOT t.maintenance
	FROM depwatch.state_timeline(tstzrange(lo, hi), ARRAY[target]) t
$$;

-- _burn_excess: seconds of downtime above what the threshold allows in the
-- window [p - w, p): D - threshold x budget x M, and M.  The burn rate
-- D / M / budget is at or above the threshold where the excess is >= 0 and
-- M > 0.  Between two run boundaries (shifted by w or not) it is linear in
-- p, which is what makes the instants exact.
CREATE OR REPLACE FUNCTION depwatch_internal._burn_excess(s timestamptz[], e timestamptz[], down boolean[], counted boolean[],
										p timestamptz, w interval, factor numeric,
										OUT excess numeric, OUT monitored numeric, OUT downtime numeric)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(sum(o.sec) FILTER (WHERE r.down), 0) - factor * coalesce(sum(o.sec) FILTER (WHERE r.counted), 0),
		   coalesce(sum(o.sec) FILTER (WHERE r.counted), 0),
		   coalesce(sum(o.sec) FILTER (WHERE r.down), 0)
	FROM unnest(s, e, down, counted) r(s, e, down, counted)
	CROSS JOIN LATERAL (SELECT extract(epoch FROM least(r.e, p) - greatest(r.s, p - w)) AS sec) o
	WHERE r.e > p - w AND r.s < p
$$;

-- _burn_state: for one target and alert at instant t: the two rates, firing
-- (both at or above the threshold), and since when that has been so
-- without a break (at most the long window back): the exact instant at
-- which the rates crossed the threshold.
CREATE OR REPLACE FUNCTION depwatch_internal._burn_state(target text, t timestamptz, slo numeric, long_w interval,
									   short_w interval, threshold numeric,
									   OUT long_rate numeric, OUT short_rate numeric,
									   OUT firing boolean, OUT since timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	budget numeric := 1 - slo / 100;
	factor numeric := threshold * (1 - slo / 100);
	rs timestamptz[];
	re timestamptz[];
	rd boolean[];
	rc boolean[];
	points timestamptz[];
	later timestamptz := t;
	p timestamptz;
	cond boolean;
	fl_a numeric; fs_a numeric; fl_b numeric; fs_b numeric;
	ml numeric; ms numeric; dl numeric; ds numeric;
	root_l numeric; root_s numeric;
	span numeric;
BEGIN
	SELECT array_agg(r.s ORDER BY r.s), array_agg(r.e ORDER BY r.s), array_agg(r.down ORDER BY r.s),
		   array_agg(r.counted ORDER BY r.s)
	INTO rs, re, rd, rc
	FROM depwatch_internal._burn_runs(target, t - 2 * long_w, t) r;
	SELECT x.excess, x.monitored, x.downtime INTO fl_b, ml, dl
	FROM depwatch_internal._burn_excess(rs, re, rd, rc, t, long_w, factor) x;
	SELECT x.excess, x.monitored, x.downtime INTO fs_b, ms, ds
	FROM depwatch_internal._burn_excess(rs, re, rd, rc, t, short_w, factor) x;
	long_rate := CASE WHEN ml > 0 THEN round(dl / ml / budget, 6) END;
	short_rate := CASE WHEN ms > 0 THEN round(ds / ms / budget, 6) END;
	firing := ml > 0 AND ms > 0 AND fl_b >= 0 AND fs_b >= 0;
	-- every instant where either excess may bend, newest first
	SELECT array_agg(DISTINCT x ORDER BY x DESC) INTO points
	FROM (SELECT b + w AS x
		  FROM unnest(rs || re) b, unnest(ARRAY[interval '0', long_w, short_w]) w
		  UNION SELECT t - long_w) y
	WHERE x >= t - long_w AND x < t;
	FOREACH p IN ARRAY coalesce(points, '{}') LOOP
		SELECT x.excess, x.monitored INTO fl_a, ml FROM depwatch_internal._burn_excess(rs, re, rd, rc, p, long_w, factor) x;
		SELECT x.excess, x.monitored INTO fs_a, ms FROM depwatch_internal._burn_excess(rs, re, rd, rc, p, short_w, factor) x;
		cond := ml > 0 AND ms > 0 AND fl_a >= 0 AND fs_a >= 0;
		IF cond <> firing THEN
			-- both excesses are linear on [p, later]: where they cross zero
			span := extract(epoch FROM later - p);
			IF firing THEN
				-- it began to fire when the later of the two reached zero
				root_l := CASE WHEN fl_a >= 0 THEN 0 ELSE span * (-fl_a) / (fl_b - fl_a) END;
				root_s := CASE WHEN fs_a >= 0 THEN 0 ELSE span * (-fs_a) / (fs_b - fs_a) END;
				since := p + greatest(root_l, root_s) * interval '1 second';
			ELSE
				-- it stopped when the first of the two fell below zero
				root_l := CASE WHEN fl_b < 0 THEN span * fl_a / (fl_a - fl_b) END;
				root_s := CASE WHEN fs_b < 0 THEN span * fs_a / (fs_a - fs_b) END;
				since := p + least(root_l, root_s) * interval '1 second';
			END IF;
			RETURN;
		END IF;
		later := p;
		fl_b := fl_a;
		fs_b := fs_a;
	END LOOP;
	since := t - long_w;
END
$$;

-- burn_rate: the burn rates of a capability (or a dependency, with the
-- slo of its options) at an instant, one row per alert; firing when both
-- are at or above the threshold.
CREATE OR REPLACE FUNCTION burn_rate(target text, at timestamptz DEFAULT now())
	RETURNS TABLE(alert text, long_window interval, short_window interval, long_rate numeric,
				  short_rate numeric, threshold numeric, firing boolean,
				  long_window_seconds numeric, short_window_seconds numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	objective numeric;
BEGIN
	IF target IS NULL OR at IS NULL OR NOT isfinite(at) THEN
		RAISE EXCEPTION 'target and at must not be NULL or infinite'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Call it as burn_rate(''transfer'') or burn_rate(''transfer'', ''2024-05-01 12:00+00'').';
	END IF;
	SELECT c.slo INTO objective FROM depwatch.capability c WHERE c.name = target;
	IF NOT FOUND THEN
		SELECT coalesce((d.options->>'slo')::numeric, 99.9) INTO objective
		FROM depwatch.dependency d WHERE d.name = target;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'no capability or dependency is named "%"', depwatch_internal._clip(target)
				USING ERRCODE = 'undefined_object',
					  HINT = 'See depwatch.status for the names.';
		END IF;
	END IF;
	IF objective >= 100 THEN
		RAISE EXCEPTION 'the objective of "%" is 100 %%: it has no error budget to burn', target
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give it an slo below 100.';
	END IF;
	RETURN QUERY
		SELECT a.alert, a.long_window, a.short_window, b.long_rate, b.short_rate, a.threshold, b.firing,
			   extract(epoch FROM a.long_window), extract(epoch FROM a.short_window)
		FROM depwatch_internal._burn_alerts() a
		CROSS JOIN LATERAL depwatch_internal._burn_state(target, at, objective, a.long_window, a.short_window,
												a.threshold) b;
END
$$;

-- ---------------------------------------------------------------------------
-- Events that time brings: _alert_tick()
-- ---------------------------------------------------------------------------

-- _alert_tolerance: tolerance_50, _80 and _breached at the exact instants
-- (start + 50 %, 80 %, 100 % of the tolerance) of each ongoing down run of
-- a capability with an impact tolerance; one dedup key per run.  Only
-- while some dependency is down (no capability can be down otherwise).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_tolerance() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	c record;
	r record;
	step record;
BEGIN
	IF NOT EXISTS (SELECT FROM depwatch.outage o WHERE o.kind = 'down' AND o.during @> now()) THEN
		RETURN;
	END IF;
	FOR c IN SELECT x.name, x.impact_tolerance FROM depwatch.capability x
			 WHERE x.impact_tolerance IS NOT NULL ORDER BY x.name LOOP
		SELECT * INTO r FROM depwatch_internal._down_runs(c.name, now(), now() + interval '1 microsecond') x
		WHERE x.ended_at IS NULL;
		CONTINUE WHEN NOT FOUND;
		FOR step IN SELECT * FROM (VALUES ('tolerance_50', 0.5, '50 %'), ('tolerance_80', 0.8, '80 %'),
										  ('tolerance_breached', 1.0, '100 %')) v(event, share, said)
					WHERE r.started_at + v.share * c.impact_tolerance <= clock_timestamp() LOOP
			PERFORM depwatch_internal._alert_append(step.event, c.name, 'capability',
				r.started_at + step.share * c.impact_tolerance,
				format('%s has been down for %s of its impact tolerance (%s)', c.name, step.said,
					   c.impact_tolerance),
				jsonb_build_object('started_at', r.started_at, 'tolerance', c.impact_tolerance,
								   'breached_at', r.started_at + c.impact_tolerance,
								   'dependencies_down', to_jsonb(depwatch_internal._alert_dependencies_down(c.name))),
				format('tolerance:%s:%s', c.name, depwatch_internal._alert_iso(r.started_at)));
		END LOOP;
	END LOOP;
END
$$;

-- _alert_burn_rates: per capability and alert, burn_rate_page (ticket) at
-- the instant both rates reached the threshold, and _resolved at the
-- instant one fell below it; one dedup key per episode (its start).  An
-- episode is open while its opening event has no _resolved one.  Only
-- while some down outage is in the last 6 hours or an episode is open.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_burn_rates() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	c record;
	a record;
	b record;
	open_key text;
BEGIN
	IF NOT EXISTS (SELECT FROM depwatch.outage o
				   WHERE o.kind = 'down' AND o.during && tstzrange(now() - interval '6 hours', now()))
	   AND NOT EXISTS (SELECT FROM depwatch.alert_event e
					   WHERE e.event IN ('burn_rate_page', 'burn_rate_ticket')
						 AND NOT EXISTS (SELECT FROM depwatch.alert_event x
										 WHERE x.dedup_key = e.dedup_key AND x.event = e.event || '_resolved')) THEN
		RETURN;
	END IF;
	FOR c IN SELECT x.name, x.slo FROM depwatch.capability x WHERE x.slo < 100 ORDER BY x.name LOOP
		FOR a IN SELECT * FROM depwatch_internal._burn_alerts() LOOP
			SELECT e.dedup_key INTO open_key FROM depwatch.alert_event e
			WHERE e.target_type = 'capability' AND e.target = c.name AND e.event = 'burn_rate_' || a.alert
			  AND NOT EXISTS (SELECT FROM depwatch.alert_event x
							  WHERE x.dedup_key = e.dedup_key AND x.event = e.event || '_resolved')
			ORDER BY e.id DESC LIMIT 1;
			b := depwatch_internal._burn_state(c.name, now(), c.slo, a.long_window, a.short_window, a.threshold);
			IF b.firing AND open_key IS NULL THEN
				PERFORM depwatch_internal._alert_append('burn_rate_' || a.alert, c.name, 'capability', b.since,
					format('%s burns its error budget %s times too fast (%s window), %s (%s window)',
						   c.name, round(b.long_rate, 1), a.long_window, round(b.short_rate, 1), a.short_window),
					jsonb_build_object('long_window', a.long_window, 'short_window', a.short_window,
									   'long_rate', b.long_rate, 'short_rate', b.short_rate,
									   'threshold', a.threshold, 'slo', c.slo),
					format('burn_rate_%s:%s:%s', a.alert, c.name, depwatch_internal._alert_iso(b.since)));
			ELSIF NOT b.firing AND open_key IS NOT NULL THEN
				PERFORM depwatch_internal._alert_append('burn_rate_' || a.alert || '_resolved', c.name, 'capability',
					b.since,
					format('%s burns its error budget slower than %s times again', c.name, a.threshold),
					jsonb_build_object('long_window', a.long_window, 'short_window', a.short_window,
									   'long_rate', b.long_rate, 'short_rate', b.short_rate,
									   'threshold', a.threshold, 'slo', c.slo),
					open_key);
			END IF;
		END LOOP;
	END LOOP;
END
$$;

-- _alert_refresh_deadlines: the reporting deadlines (incident_report()'s
-- "deadlines", computed as it computes them) of the incidents that may still have one ahead: open, or
-- ended within the last 40 days (a final report is due at most a month
-- and 76 hours after classification).  An incident whose report cannot be
-- computed (a ledger this role may not read) keeps the deadlines it had.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_refresh_deadlines() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	inc record;
	d jsonb;
BEGIN
	DELETE FROM depwatch.alert_deadline x
	WHERE NOT EXISTS (SELECT FROM depwatch.incident i
					  WHERE i.id = x.incident_id
						AND (i.ended_at IS NULL OR i.ended_at > now() - interval '40 days'));
	FOR inc IN SELECT x.id FROM depwatch.incident x
			 WHERE x.ended_at IS NULL OR x.ended_at > now() - interval '40 days' ORDER BY x.id LOOP
		-- incident_report()'s deadlines, without its economics
		BEGIN
			SELECT depwatch_internal._reporting_deadlines(i.facts,
					(SELECT c.met FROM depwatch.classify_incident(i.id, 'dora') c WHERE c.criterion = 'major'),
					(SELECT c.met FROM depwatch.classify_incident(i.id, 'kr_fss') c WHERE c.criterion = 'reportable'),
					depwatch_internal._assumed_aware(i))
			INTO d
			FROM depwatch.incident i WHERE i.id = inc.id;
		EXCEPTION WHEN OTHERS THEN
			-- its old deadlines stay; say so every refresh, a reminder
			-- that cannot be computed must not go silent
			RAISE WARNING 'depwatch: the reporting deadlines of incident % could not be computed: %', inc.id, SQLERRM
				USING HINT = 'incident_report() of that incident shows the same error.';
			CONTINUE;
		END;
		DELETE FROM depwatch.alert_deadline x WHERE x.incident_id = inc.id;
		INSERT INTO depwatch.alert_deadline (incident_id, report, due_at, assumed)
		SELECT inc.id, r.report, r.due_at, coalesce(r.assumed, false)
		FROM (VALUES ('dora_initial', (d->'dora'->>'initial')::timestamptz, (d->'dora'->>'assumed')::boolean),
					 ('dora_intermediate', (d->'dora'->>'intermediate')::timestamptz, (d->'dora'->>'assumed')::boolean),
					 ('dora_final', (d->'dora'->>'final')::timestamptz, (d->'dora'->>'assumed')::boolean),
					 ('kr_fss_initial', (d->'kr_fss'->>'initial')::timestamptz, (d->'kr_fss'->>'assumed')::boolean))
			 r(report, due_at, assumed)
		WHERE r.due_at IS NOT NULL;
	END LOOP;
END
$$;

-- _alert_deadlines_stale: an incident opened, closed or given facts may
-- have new deadlines: the next tick (half a second) refreshes them, not
-- the next minute's.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_deadlines_stale() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	UPDATE depwatch.alert_tick_state SET deadlines_at = NULL;
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER alert_deadlines_stale AFTER INSERT OR UPDATE ON incident
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._alert_deadlines_stale();

-- _alert_deadlines_due: report_due one hour before each deadline and when
-- it passes, unless the report was marked sent; none for an instant older
-- than depwatch.alert_max_age (an incident recorded afterwards).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_deadlines_due() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	x record;
BEGIN
	FOR x IN
		SELECT d.incident_id, d.report, d.due_at, d.assumed, s.stage, s.at, i.title
		FROM depwatch.alert_deadline d
		JOIN depwatch.incident i ON i.id = d.incident_id
		CROSS JOIN LATERAL (VALUES ('due in 1 hour', d.due_at - interval '1 hour'), ('passed', d.due_at)) s(stage, at)
		WHERE s.at <= clock_timestamp() AND s.at >= now() - depwatch_internal._alert_max_age()
		  AND NOT EXISTS (SELECT FROM depwatch.alert_report_sent r
						  WHERE r.incident_id = d.incident_id AND r.report = d.report)
		ORDER BY s.at, d.incident_id, d.report
	LOOP
		PERFORM depwatch_internal._alert_append('report_due', x.incident_id::text, 'incident', x.at,
			format('%s report of incident %s (%s) %s: due at %s', x.report, x.incident_id,
				   depwatch_internal._clip(x.title), CASE x.stage WHEN 'passed' THEN 'is overdue' ELSE 'is due in 1 hour' END,
				   depwatch_internal._alert_iso(x.due_at)),
			jsonb_build_object('incident', x.incident_id, 'report', x.report, 'due_at', x.due_at,
							   'assumed', x.assumed, 'stage', x.stage),
			format('report_due:%s:%s:%s:%s', x.incident_id, x.report, depwatch_internal._alert_iso(x.due_at),
				   CASE x.stage WHEN 'passed' THEN 'passed' ELSE 'soon' END));
	END LOOP;
END
$$;

-- _alert_tick: what time alone brings, called by the probe worker every
-- half second (src/worker.c), so that a tolerance event is recorded within
-- 1 s of its instant: tolerance every call, burn rates every 5
-- seconds, the deadlines' refresh every minute and their reminders every
-- call; the capabilities' check when a maintenance window began or ended
-- since the last call (no outage changes then).
CREATE OR REPLACE FUNCTION depwatch_internal._alert_tick() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	st depwatch.alert_tick_state;
BEGIN
	INSERT INTO depwatch.alert_tick_state (one) VALUES (true) ON CONFLICT DO NOTHING;
	SELECT * INTO st FROM depwatch.alert_tick_state FOR UPDATE;
	IF st.ticked_at IS NOT NULL AND EXISTS (
			SELECT FROM depwatch.maintenance m
			WHERE (lower(m.during) > st.ticked_at AND lower(m.during) <= now())
			   OR (upper(m.during) > st.ticked_at AND upper(m.during) <= now())) THEN
		PERFORM depwatch_internal._alert_capabilities();
	END IF;
	PERFORM depwatch_internal._alert_tolerance();
	IF st.burn_rates_at IS NULL OR now() >= st.burn_rates_at + interval '5 seconds' THEN
		PERFORM depwatch_internal._alert_burn_rates();
		st.burn_rates_at := now();
	END IF;
	IF st.deadlines_at IS NULL OR now() >= st.deadlines_at + interval '1 minute' THEN
		PERFORM depwatch_internal._alert_refresh_deadlines();
		st.deadlines_at := now();
	END IF;
	PERFORM depwatch_internal._alert_deadlines_due();
	UPDATE depwatch.alert_tick_state
	   SET ticked_at = now(), burn_rates_at = st.burn_rates_at, deadlines_at = st.deadlines_at;
END
$$;

-- mark_report_sent: a regulatory report of an incident was sent; its
-- reminders stop.
CREATE OR REPLACE FUNCTION mark_report_sent(incident bigint, report text, sent_at timestamptz DEFAULT now(),
											reference text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
BEGIN
	IF report IS NULL OR report NOT IN ('dora_initial', 'dora_intermediate', 'dora_final', 'kr_fss_initial') THEN
		RAISE EXCEPTION 'unknown report "%"', coalesce(depwatch_internal._clip(report), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use dora_initial, dora_intermediate, dora_final or kr_fss_initial.';
	END IF;
	PERFORM depwatch_internal._check_time('sent_at', sent_at);
	IF sent_at IS NULL OR sent_at > now() THEN
		RAISE EXCEPTION 'sent_at must be a time up to now'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the report was sent; leave it out for now.';
	END IF;
	PERFORM depwatch_internal._check_text('reference', reference);
	INSERT INTO depwatch.alert_report_sent AS r (incident_id, report, sent_at, reference)
	VALUES (i.id, report, sent_at, reference)
	ON CONFLICT ON CONSTRAINT alert_report_sent_pkey DO UPDATE
		SET sent_at = EXCLUDED.sent_at, reference = EXCLUDED.reference, recorded_at = now();
END
$$;

-- ---------------------------------------------------------------------------
-- Routes
-- ---------------------------------------------------------------------------

-- _mask_route_options: a route's options as readers and the audit log see
-- them: _mask_options (header values, secret-named keys), and the
-- PagerDuty routing_key, which is a credential too.
CREATE OR REPLACE FUNCTION depwatch_internal._mask_route_options(options jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN jsonb_typeof(m) = 'object' AND m ? 'routing_key'
				THEN m || '{"routing_key": "********"}' ELSE m END
	FROM (SELECT depwatch_internal._mask_options(options) AS m) x
$$;

-- _mask_route_target: a route's target as readers and the audit log see
-- it.  A webhook URL is masked as a probe's (user info, query values,
-- fragment), and its path too: Slack, Teams and many other receivers put
-- their token in the path.
CREATE OR REPLACE FUNCTION depwatch_internal._mask_route_target(channel text, target text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN channel = 'webhook'
		THEN regexp_replace(depwatch_internal._mask_probe_target('http', target), '^([a-z]+://[^/?#]*)/[^?#]+', '\1/********', 'i')
		ELSE target END
$$;

-- _mask_route_row: a route row turned into jsonb, masked for the audit log.
CREATE OR REPLACE FUNCTION depwatch_internal._mask_route_row(r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN r IS NULL THEN NULL
		ELSE r || jsonb_build_object(
			'target', depwatch_internal._mask_route_target(r->>'channel', r->>'target'),
			'options', depwatch_internal._mask_route_options(r->'options'))
	END
$$;

-- _audit_alerts: routes and reports sent are audited like the other
-- tables, through the same chain (_audit_write); routes with their secrets
-- masked by _mask_route_row (_mask_row, which _audit_append uses, knows
-- neither the routing key nor tokens in a webhook's path).  A row inserted
-- with a creation time before this transaction is a restore's (the API
-- stamps now()): pg_dump restores these tables before audit_log (by name),
-- which brings the row's history with it, so it logs nothing.
CREATE OR REPLACE FUNCTION depwatch_internal._audit_alerts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $$
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
BEGIN
	IF TG_OP = 'INSERT' AND coalesce(n->>'created_at', n->>'recorded_at')::timestamptz < now() THEN
		RETURN NULL;
	END IF;
	IF TG_TABLE_NAME = 'alert_route' THEN
		o := depwatch_internal._mask_route_row(o);
		n := depwatch_internal._mask_route_row(n);
	END IF;
	PERFORM depwatch_internal._audit_write(TG_OP, TG_TABLE_NAME,
								  coalesce(n->>'id', o->>'id', n->>'incident_id', o->>'incident_id')::bigint, o, n);
	RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON alert_route
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_alerts();

CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON alert_report_sent
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_alerts();

-- _alert_event_names: the events a route may ask for.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_event_names() RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT ARRAY['dependency_down', 'dependency_up', 'dependency_degraded', 'dependency_recovered',
				 'capability_down', 'capability_degraded', 'capability_up',
				 'tolerance_50', 'tolerance_80', 'tolerance_breached',
				 'burn_rate_page', 'burn_rate_page_resolved', 'burn_rate_ticket', 'burn_rate_ticket_resolved',
				 'report_due']
$$;

-- _check_alert_route: a route's settings, one clear error each.  Targets
-- are never echoed (a webhook URL may hold a token).
CREATE OR REPLACE FUNCTION depwatch_internal._check_alert_route(r depwatch.alert_route) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	bad text;
BEGIN
	IF r.channel IS NULL OR r.channel NOT IN ('notify', 'webhook') THEN
		RAISE EXCEPTION 'unknown alert channel "%"', coalesce(depwatch_internal._clip(r.channel), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use notify (LISTEN/NOTIFY on a channel named by target) or webhook (an http(s) URL).';
	END IF;
	IF r.target IS NULL OR r.target = '' THEN
		RAISE EXCEPTION 'alert route "%" needs a target', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A notify route names a LISTEN channel; a webhook route an http(s) URL.';
	END IF;
	PERFORM depwatch_internal._check_text('target', r.target);
	IF r.channel = 'notify' AND (octet_length(r.target) > 63 OR r.target ~ '[[:cntrl:]]') THEN
		RAISE EXCEPTION 'notify channel of alert route "%" is not a channel name', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A LISTEN channel name is at most 63 bytes, without control characters.',
				  HINT = 'Use a name such as ''depwatch_alerts''.';
	END IF;
	IF r.channel = 'webhook' THEN
		IF r.target !~* '^https?://' THEN
			RAISE EXCEPTION 'webhook target of alert route "%" is not an http(s) URL', r.name
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Write it as a full URL, such as ''https://alerts.example/hook''.';
		END IF;
		PERFORM depwatch_internal._check_probe_target('http', r.target);
	END IF;
	IF r.format IS NULL OR r.format NOT IN ('json', 'alertmanager', 'slack', 'pagerduty') THEN
		RAISE EXCEPTION 'unknown alert format "%"', coalesce(depwatch_internal._clip(r.format), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use json, alertmanager, slack or pagerduty.';
	END IF;
	PERFORM depwatch_internal._check_text_list(r.events, 'events');
	SELECT string_agg(v, ', ') INTO bad FROM unnest(r.events) v WHERE v <> ALL (depwatch_internal._alert_event_names());
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'unknown alert events: %', depwatch_internal._clip(bad)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Use NULL for all, or some of %s.', array_to_string(depwatch_internal._alert_event_names(), ', '));
	END IF;
	PERFORM depwatch_internal._check_text_list(r.targets, 'targets');
	SELECT string_agg(v, ', ') INTO bad FROM unnest(r.targets) v
	WHERE NOT EXISTS (SELECT FROM depwatch.dependency d WHERE d.name = v)
	  AND NOT EXISTS (SELECT FROM depwatch.capability c WHERE c.name = v)
	  AND v !~ '^[0-9]{1,18}$';
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'alert route "%" names targets that do not exist: %', r.name, depwatch_internal._clip(bad)
			USING ERRCODE = 'undefined_object',
				  HINT = 'Name dependencies, capabilities or incident ids; NULL takes every target.';
	END IF;
	IF r.min_severity IS NULL OR r.min_severity NOT IN ('info', 'warning', 'critical') THEN
		RAISE EXCEPTION 'unknown severity "%"', coalesce(depwatch_internal._clip(r.min_severity), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use info, warning or critical.';
	END IF;
	IF r.options IS NULL OR jsonb_typeof(r.options) <> 'object' THEN
		RAISE EXCEPTION 'options of alert route "%" must be a JSON object', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass options such as ''{"suppressed": true}''.';
	END IF;
	IF r.options ? 'suppressed' AND jsonb_typeof(r.options->'suppressed') <> 'boolean' THEN
		RAISE EXCEPTION 'option "suppressed" of alert route "%" must be true or false', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass ''{"suppressed": true}'' to receive the events of dependencies whose site is down.';
	END IF;
	IF r.options ? 'headers' AND (jsonb_typeof(r.options->'headers') <> 'object'
								 OR EXISTS (SELECT FROM jsonb_each(r.options->'headers') h
											WHERE jsonb_typeof(h.value) <> 'string')) THEN
		RAISE EXCEPTION 'option "headers" of alert route "%" must be an object of strings', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass headers such as ''{"headers": {"Authorization": "Bearer ..."}}''.';
	END IF;
	IF r.options ? 'routing_key' AND jsonb_typeof(r.options->'routing_key') <> 'string' THEN
		RAISE EXCEPTION 'option "routing_key" of alert route "%" must be a string', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the PagerDuty integration key as a string.';
	END IF;
	IF r.format = 'pagerduty' AND coalesce(r.options->>'routing_key', '') = '' THEN
		RAISE EXCEPTION 'pagerduty alert route "%" needs a routing_key', r.name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the integration key of the PagerDuty service as options => ''{"routing_key": "..."}''.';
	END IF;
	IF r.channel = 'notify' AND r.format <> 'json' THEN
		RAISE EXCEPTION 'notify alert route "%" sends event ids, not % bodies', r.name, r.format
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Leave format out (json) for a notify route; the listener reads the event from depwatch.alerts.';
	END IF;
END
$$;

-- _alert_route_id: a route by name, or an error.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_route_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	SELECT r.id INTO result FROM depwatch.alert_route r WHERE r.name = name;
	IF result IS NULL THEN
		RAISE EXCEPTION 'alert route "%" does not exist', coalesce(depwatch_internal._clip(name), 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'The routes are listed in depwatch.alert_routes.';
	END IF;
	RETURN result;
END
$$;

-- add_alert_route: where and how events are sent.  set_by_superuser
-- records whether a superuser set its channel, target and options (the
-- delivery side restricts the addresses of the others' webhooks).
CREATE OR REPLACE FUNCTION add_alert_route(name text, channel text, target text, format text DEFAULT 'json',
										   events text[] DEFAULT NULL, targets text[] DEFAULT NULL,
										   min_severity text DEFAULT 'info', options jsonb DEFAULT '{}')
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r depwatch.alert_route;
BEGIN
	PERFORM depwatch_internal._check_identifier(name, 'alert route', 'oncall_pager');
	IF EXISTS (SELECT FROM depwatch.alert_route x WHERE x.name = name) THEN
		RAISE EXCEPTION 'an alert route named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name, or change it with alter_alert_route().';
	END IF;
	r.name := name;
	r.channel := channel;
	r.target := target;
	r.format := format;
	r.events := events;
	r.targets := targets;
	r.min_severity := min_severity;
	r.options := options;
	PERFORM depwatch_internal._check_alert_route(r);
	INSERT INTO depwatch.alert_route (name, channel, target, format, events, targets, min_severity, options,
									  set_by_superuser)
	VALUES (name, channel, target, format, events, targets, min_severity, options,
			depwatch_internal._caller_is_superuser())
	RETURNING id INTO r.id;
	RETURN r.id;
END
$$;

-- alter_alert_route: NULL leaves a setting as it is; events or targets
-- '{}' make them NULL again (all).
CREATE OR REPLACE FUNCTION alter_alert_route(name text, channel text DEFAULT NULL, target text DEFAULT NULL,
											 format text DEFAULT NULL, events text[] DEFAULT NULL,
											 targets text[] DEFAULT NULL, min_severity text DEFAULT NULL,
											 options jsonb DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	r depwatch.alert_route;
	old depwatch.alert_route;
BEGIN
	SELECT * INTO old FROM depwatch.alert_route x WHERE x.id = depwatch_internal._alert_route_id(name) FOR UPDATE;
	r := old;
	r.channel := coalesce(channel, old.channel);
	r.target := coalesce(target, old.target);
	r.format := coalesce(format, old.format);
	r.events := CASE WHEN events IS NULL THEN old.events WHEN cardinality(events) = 0 THEN NULL ELSE events END;
	r.targets := CASE WHEN targets IS NULL THEN old.targets WHEN cardinality(targets) = 0 THEN NULL ELSE targets END;
	r.min_severity := coalesce(min_severity, old.min_severity);
	r.options := coalesce(options, old.options);
	PERFORM depwatch_internal._check_alert_route(r);
	IF (r.channel, r.target, r.options) IS DISTINCT FROM (old.channel, old.target, old.options) THEN
		r.set_by_superuser := depwatch_internal._caller_is_superuser();
	END IF;
	UPDATE depwatch.alert_route x
	   SET channel = r.channel, target = r.target, format = r.format, events = r.events,
		   targets = r.targets, min_severity = r.min_severity, options = r.options,
		   set_by_superuser = r.set_by_superuser
	 WHERE x.id = r.id;
END
$$;

-- drop_alert_route: the route and its deliveries (sent or not) go.
CREATE OR REPLACE FUNCTION drop_alert_route(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	DELETE FROM depwatch.alert_route r WHERE r.id = depwatch_internal._alert_route_id(name);
END
$$;

-- alert_routes: the routes as readers see them, secrets masked.
CREATE OR REPLACE VIEW alert_routes AS
	SELECT r.id, r.name, r.channel,
		   depwatch_internal._mask_route_target(r.channel, r.target) AS target,
		   r.format, r.events, r.targets, r.min_severity,
		   depwatch_internal._mask_route_options(r.options) AS options,
		   r.set_by_superuser, r.created_at
	FROM alert_route r;

-- alerts: every event with its deliveries (one row per route it went to;
-- route NULL when it matched none).
CREATE OR REPLACE VIEW alerts AS
	SELECT e.id, e.at, e.recorded_at, e.event, e.target, e.target_type, e.severity, e.summary,
		   e.details, e.suppressed, e.dedup_key,
		   r.name AS route, r.channel, d.state, d.attempts, d.next_attempt_at, d.delivered_at, d.last_error
	FROM alert_event e
	LEFT JOIN alert_delivery d ON d.event_id = e.id
	LEFT JOIN alert_route r ON r.id = d.route_id;

-- what BI tools and \d+ show
COMMENT ON VIEW alert_routes IS 'Alert routes with webhook URL secrets, header values and routing keys masked';
COMMENT ON VIEW alerts IS 'Every alert event with its deliveries: route, state, attempts, when delivered, last error';
COMMENT ON FUNCTION add_alert_route(text, text, text, text, text[], text[], text, jsonb) IS 'Add an alert route: channel notify (pg_notify(target, event id)) or webhook (an http(s) URL), format, events, targets, minimum severity, options';
COMMENT ON FUNCTION alter_alert_route(text, text, text, text, text[], text[], text, jsonb) IS 'Change an alert route; NULL leaves a setting, ''{}'' makes events or targets all again';
COMMENT ON FUNCTION drop_alert_route(text) IS 'Remove an alert route and its deliveries';
COMMENT ON FUNCTION mark_report_sent(bigint, text, timestamptz, text) IS 'Record that a regulatory report of an incident was sent: its report_due reminders stop';
COMMENT ON FUNCTION tolerance_breaches(tstzrange) IS 'Every continuous down run (maintenance included) of a capability with an impact tolerance that overlaps the period: how long, whether and when it breached, headroom';
COMMENT ON FUNCTION burn_rate(text, timestamptz) IS 'Error-budget burn rates of a target at an instant, per alert (page: 1 h and 5 min at 14.4; ticket: 6 h and 30 min at 6), and whether it fires';
COMMENT ON COLUMN alerts.id IS 'Event id: events are delivered per route in id order';
COMMENT ON COLUMN alerts.at IS 'When the condition began (an outage''s start or end, the exact threshold instant, the deadline or an hour before it)';
COMMENT ON COLUMN alerts.recorded_at IS 'When depwatch recorded the event';
COMMENT ON COLUMN alerts.event IS 'dependency_down/_up/_degraded/_recovered, capability_down/_degraded/_up, tolerance_50/_80/_breached, burn_rate_page/_ticket and their _resolved, report_due, test';
COMMENT ON COLUMN alerts.target IS 'Dependency or capability name, incident id, or route name (test)';
COMMENT ON COLUMN alerts.target_type IS 'dependency, capability, incident or route';
COMMENT ON COLUMN alerts.severity IS 'critical, warning or info';
COMMENT ON COLUMN alerts.summary IS 'One line for people';
COMMENT ON COLUMN alerts.details IS 'What the event is about: outage, failed groups, dependencies down, rates, deadline';
COMMENT ON COLUMN alerts.suppressed IS 'A dependency event while the dependency named by its site was down';
COMMENT ON COLUMN alerts.dedup_key IS 'Names the condition; the opening and the resolving event share it';
COMMENT ON COLUMN alerts.route IS 'Route it went to; NULL when it matched none';
COMMENT ON COLUMN alerts.channel IS 'notify or webhook';
COMMENT ON COLUMN alerts.state IS 'pending, delivered or failed';
COMMENT ON COLUMN alerts.attempts IS 'Sends tried';
COMMENT ON COLUMN alerts.next_attempt_at IS 'When the next try is due while pending';
COMMENT ON COLUMN alerts.delivered_at IS 'When the receiver accepted it (a notify route: at commit)';
COMMENT ON COLUMN alerts.last_error IS 'Why the last try failed';
COMMENT ON COLUMN alert_routes.id IS 'Route id';
COMMENT ON COLUMN alert_routes.name IS 'Unique lower-case name';
COMMENT ON COLUMN alert_routes.channel IS 'notify (pg_notify(target, event id)) or webhook';
COMMENT ON COLUMN alert_routes.target IS 'LISTEN channel, or webhook URL with user info, path, query values and fragment masked';
COMMENT ON COLUMN alert_routes.format IS 'json, alertmanager, slack or pagerduty';
COMMENT ON COLUMN alert_routes.events IS 'Events it takes; NULL: all';
COMMENT ON COLUMN alert_routes.targets IS 'Targets it takes; NULL: all';
COMMENT ON COLUMN alert_routes.min_severity IS 'Lowest severity it takes (events that end what it had always go)';
COMMENT ON COLUMN alert_routes.options IS 'Options, with header values, secret-named keys and the routing key masked';
COMMENT ON COLUMN alert_routes.set_by_superuser IS 'Whether a superuser set its channel, target and options last';
COMMENT ON COLUMN alert_routes.created_at IS 'When it was added';
