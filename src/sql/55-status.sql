-- Status now: per dependency and capability, the redundancy risks, and the
-- OpenMetrics exposition.

-- _unmonitored_now: the probed dependencies nobody is watching now, since
-- when, and why (doc/semantics.md, "Unmonitored time" and "Current
-- status"): the monitor gap still open at now.  Disabled: since its last
-- sample, else since it was added.  No worker for this database and no
-- sample within 3 x every: since 3 x every after the last sample, else
-- since it was added.  No sample for 3 x every: since 3 x every after the
-- last sample, else after it was added.  Down at both ends stays down: a
-- down outage that began at or before the gap's earlier end (the last
-- sample, else when it was added) and goes on past now covers it.  The one
-- home of this rule: _monitor_gaps takes its gap still open from here, so
-- that current_status, the capabilities and every report over time see the
-- same gap.
CREATE OR REPLACE FUNCTION depwatch_internal._unmonitored_now()
	RETURNS TABLE(dependency_id bigint, since timestamptz, reason text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT d.id,
		   CASE WHEN NOT d.enabled THEN coalesce(s.last_at, d.created_at)
				WHEN w.why IS NOT NULL
				THEN coalesce(depwatch_internal._silent_until(s.last_at, d.every), d.created_at)
				ELSE depwatch_internal._silent_until(coalesce(s.last_at, d.created_at), d.every) END,
		   CASE WHEN NOT d.enabled THEN 'disabled'
				WHEN w.why IS NOT NULL THEN 'no worker for this database'
				ELSE 'no sample for 3 x every' END
	FROM depwatch.dependency d
	LEFT JOIN depwatch.probe_state s ON s.dependency_id = d.id
	CROSS JOIN (SELECT depwatch_internal._no_worker_reason() AS why) w
	WHERE depwatch_internal._probed(d.probe)
	  AND (NOT d.enabled
		   OR (w.why IS NOT NULL AND s.last_at IS NULL)
		   OR depwatch_internal._silent_until(coalesce(s.last_at, d.created_at), d.every) < now())
	  AND NOT EXISTS (SELECT FROM depwatch.outage o
					  WHERE o.dependency_id = d.id AND o.kind = 'down'
						AND lower(o.during) <= coalesce(s.last_at, d.created_at)
						AND (upper_inf(o.during) OR upper(o.during) > now()))
$$;

-- _monitor_gaps: the unmonitored windows of every probed dependency that
-- touch [lo, hi) (doc/semantics.md, "Unmonitored time"): the recorded gaps
-- (monitor_gap, including the time before its first sample or before it
-- was added, whichever came first), the time before a never-sampled one
-- was added, and the gap still open at now (_unmonitored_now's, with no
-- end: it goes on).  A gap that one down outage spans from end to end is
-- not unmonitored: the dependency was down at both ends and stays down.
CREATE OR REPLACE FUNCTION depwatch_internal._monitor_gaps(lo timestamptz, hi timestamptz)
	RETURNS TABLE(dependency_id bigint, gap_from timestamptz, gap_to timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH gap AS (
		SELECT g.dependency_id, g.after, g.before, lower(g.unmonitored) AS gap_from,
			   upper(g.unmonitored) AS gap_to
		FROM depwatch.monitor_gap g
		JOIN depwatch.dependency d ON d.id = g.dependency_id AND depwatch_internal._probed(d.probe)
		WHERE g.unmonitored && tstzrange(lo, hi)
		UNION ALL
		-- never sampled: nobody watched it before it was added
		SELECT d.id, '-infinity', d.created_at, NULL, d.created_at
		FROM depwatch.dependency d
		LEFT JOIN depwatch.probe_state s ON s.dependency_id = d.id
		WHERE depwatch_internal._probed(d.probe) AND s.last_at IS NULL AND d.created_at > lo
	)
	SELECT g.dependency_id, g.gap_from, g.gap_to
	FROM gap g
	-- from end to end: from at or before "after" to past "before" (an
	-- index scan of the outage's exclusion constraint)
	WHERE NOT EXISTS (SELECT FROM depwatch.outage o
					  WHERE o.dependency_id = g.dependency_id AND o.kind = 'down'
						AND o.during @> tstzrange(g.after, g.before, '[]'))
	UNION ALL
	SELECT u.dependency_id, u.since, NULL FROM depwatch_internal._unmonitored_now() u WHERE u.since < hi
$$;

-- _status: every target's state now and since when, read from the same
-- state timelines as state_timeline() and availability() (C:
-- availability.c over subjects.c and timeline.c; doc/semantics.md,
-- "Current status"); by_consensus when a dependency's windows came from
-- its vantages' consensus (depwatch.consensus).
CREATE OR REPLACE FUNCTION depwatch_internal._status()
	RETURNS TABLE(target text, target_type text, target_id bigint, state text, since timestamptz,
				  by_consensus boolean)
	AS 'MODULE_PATHNAME', 'dw_status'
	LANGUAGE C STABLE;

-- _capability_status: _status() of the capabilities alone (what the
-- alerts compare): the same computation, without working out since when
-- each dependency is in its state.
CREATE OR REPLACE FUNCTION depwatch_internal._capability_status()
	RETURNS TABLE(target text, state text, since timestamptz)
	AS 'MODULE_PATHNAME', 'dw_capability_status'
	LANGUAGE C STABLE;

-- redundancy_risks: requirement groups whose alternatives share a site or a
-- vendor.  breaks_group says whether losing that site or vendor leaves
-- fewer than k members of the group.
CREATE OR REPLACE FUNCTION redundancy_risks()
	RETURNS TABLE(capability text, requirement text, shared text, members text[], breaks_group boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT r.capability, r."group", s.what || ' ' || s.value,
		   array_agg(d.name ORDER BY d.name),
		   cardinality(r.members) - count(*) < r.k
	FROM depwatch.requirements r
	CROSS JOIN LATERAL unnest(r.members) mm
	JOIN depwatch.dependency d ON d.name = mm
	CROSS JOIN LATERAL (VALUES ('site', d.site), ('vendor', d.vendor)) s(what, value)
	WHERE cardinality(r.members) > 1 AND s.value IS NOT NULL
	GROUP BY r.capability, r.requirement, r."group", r.members, r.k, s.what, s.value
	HAVING count(*) > 1
	ORDER BY r.capability, r.requirement, s.what, s.value
$$;
COMMENT ON FUNCTION redundancy_risks() IS 'Requirement groups whose alternatives share a site or vendor';

-- metrics: an exposition in the Prometheus text format 0.0.4
-- (doc/reference.md), the format Prometheus scrapes by default and
-- promtool check metrics parses, for an HTTP shim serving it as
-- text/plain; version=0.0.4, or a textfile collector.  Not OpenMetrics: no
-- "# UNIT" and no "# EOF" (psql -At adds a newline after the value, which
-- the text format takes as an empty line and OpenMetrics as content after
-- the end).
-- Per dependency and capability: the state now and since when
-- (current_status()), outages, availability over the trailing 24 hours and
-- 30 days (availability()), and for dependencies that are not probe
-- 'none', the latency of their samples; per alert route, the deliveries
-- pending and failed.  It only formats those reports: it reads no target,
-- option or sample detail (they may hold secrets).  Every family's HELP and
-- TYPE are always there, in a fixed order; samples go dependencies first,
-- then capabilities, each by name; a window with nothing monitored has no
-- availability sample.  A counter family is named with its _total, as its
-- samples are (the text format has no suffix rule; promtool's lint asks
-- for _total).
CREATE OR REPLACE FUNCTION metrics() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH target AS (
		SELECT row_number() OVER (ORDER BY s.target_type DESC, s.target) AS n,
			   s.target, s.target_type, s.state, s.since, d.id AS dependency_id, d.probe,
			   'target="' || e.target || '",type="' || s.target_type || '"'
			   || coalesce(',kind="' || e.kind || '"', '') AS labels
		FROM depwatch.current_status() s
		LEFT JOIN depwatch.dependency d ON s.target_type = 'dependency' AND d.name = s.target
		-- label values escaped as the text format says: \ " and newline
		CROSS JOIN LATERAL (SELECT
			replace(replace(replace(s.target, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n'),
			replace(replace(replace(d.kind, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n')) e(target, kind)
	), win AS (
		-- hours, not days: a trailing window is as long across a DST change;
		-- availability()'s figures without its tolerance columns (each scrape
		-- would follow every down run of a service to its ends)
		SELECT t.n, w.n AS k, t.labels || ',window="' || w.name || '"' AS labels,
			   a.outages, a.availability, a.slo,
			   extract(epoch FROM a.monitored) / extract(epoch FROM w.length) AS monitored
		FROM (VALUES (1, '24h', interval '24 hours'), (2, '30d', interval '720 hours')) w(n, name, length)
		CROSS JOIN LATERAL depwatch_internal._availability(tstzrange(now() - w.length, now())) a
		JOIN target t ON t.target = a.target AND t.target_type = a.target_type
	), route AS (
		-- route names are identifiers: nothing to escape
		SELECT row_number() OVER (ORDER BY r.name) AS n, 'route="' || r.name || '"' AS labels,
			   (SELECT count(*) FROM depwatch.alert_delivery x WHERE x.route_id = r.id AND x.state = 'pending') AS pending,
			   (SELECT count(*) FROM depwatch.alert_delivery x WHERE x.route_id = r.id AND x.state = 'failed') AS failed
		FROM depwatch.alert_route r
	), family(f, name, type, help) AS (VALUES
		(1, 'depwatch_up', 'gauge',
			'Whether the target works now: 1 when up or degraded, 0 when down, in maintenance or unmonitored'),
		(2, 'depwatch_state', 'gauge',
			'State of the target now, one sample per state: 1 for the current one, 0 for the others'),
		(3, 'depwatch_state_duration_seconds', 'gauge',
			'Seconds since the target entered its current state'),
		(4, 'depwatch_outages_total', 'counter',
			'Down outages ever recorded for the dependency, the ongoing one included'),
		(5, 'depwatch_outages_in_window', 'gauge',
			'Down outages within the trailing window, clipped to it; for a capability, its own down windows'),
		(6, 'depwatch_availability_ratio', 'gauge',
			'Availability over the trailing window: up share of the monitored time outside maintenance'),
		(7, 'depwatch_monitored_ratio', 'gauge',
			'Share of the trailing window that was monitored, over which availability is computed'),
		(8, 'depwatch_slo_ratio', 'gauge',
			'Availability objective of the target'),
		(9, 'depwatch_latest_sample_latency_seconds', 'gauge',
			'Latency of the latest sample of the dependency (a probe or a reported call), whatever its outcome'),
		(10, 'depwatch_sample_latency_seconds', 'summary',
			'Latency quantiles of the samples of the dependency in the last 5 minutes, whatever their outcome; NaN when there were none'),
		(11, 'depwatch_alerts_pending', 'gauge',
			'Alert deliveries of the route not yet made (being sent or waiting to be retried)'),
		(12, 'depwatch_alert_deliveries_failed_total', 'counter',
			'Alert deliveries of the route given up after depwatch.alert_retry_for')
	), point(f, n, k, labels, value) AS (
		SELECT 1, t.n, 0::bigint, t.labels, (t.state IN ('up', 'degraded'))::int::text
		FROM target t
		UNION ALL
		SELECT 2, t.n, s.k, t.labels || ',state="' || s.state || '"', (t.state = s.state)::int::text
		FROM target t,
			 unnest(ARRAY['up', 'degraded', 'down', 'maintenance', 'unmonitored']) WITH ORDINALITY s(state, k)
		UNION ALL
		SELECT 3, t.n, 0, t.labels, trim_scale(round(extract(epoch FROM now() - t.since), 3))::text
		FROM target t WHERE t.since IS NOT NULL
		UNION ALL
		SELECT 4, t.n, 0, t.labels,
			   (SELECT count(*) FROM depwatch.outage o
				WHERE o.dependency_id = t.dependency_id AND o.kind = 'down')::text
		FROM target t WHERE t.dependency_id IS NOT NULL
		UNION ALL
		SELECT 5, w.n, w.k, w.labels, w.outages::text FROM win w
		UNION ALL
		SELECT 6, w.n, w.k, w.labels, trim_scale(round(w.availability / 100, 12))::text
		FROM win w WHERE w.availability IS NOT NULL
		UNION ALL
		SELECT 7, w.n, w.k, w.labels, trim_scale(round(w.monitored, 12))::text FROM win w
		UNION ALL
		SELECT 8, t.n, 0, t.labels, trim_scale(w.slo / 100)::text
		FROM target t JOIN win w ON w.n = t.n AND w.k = 1
		UNION ALL
		SELECT 9, t.n, 0, t.labels, trim_scale(extract(epoch FROM l.latency))::text
		FROM target t
		CROSS JOIN LATERAL (
			SELECT s.latency FROM depwatch.sample s
			WHERE s.dependency_id = t.dependency_id AND s.latency IS NOT NULL AND s.at <= now()
			ORDER BY s.at DESC LIMIT 1) l
		WHERE t.probe <> 'none'
		UNION ALL
		SELECT 10, t.n, q.k, t.labels || ',quantile="' || q.quantile || '"',
			   coalesce(trim_scale(q.seconds)::text, 'NaN')
		FROM target t
		CROSS JOIN LATERAL (
			SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY extract(epoch FROM s.latency))
			FROM depwatch.sample s
			WHERE s.dependency_id = t.dependency_id AND s.latency IS NOT NULL
			  AND s.at > now() - interval '5 minutes' AND s.at <= now()) p(v)
		CROSS JOIN LATERAL unnest(ARRAY['0.5', '0.9', '0.99', '1'], p.v) WITH ORDINALITY q(quantile, seconds, k)
		WHERE t.probe <> 'none'
		UNION ALL
		SELECT 11, r.n, 0, r.labels, r.pending::text FROM route r
		UNION ALL
		SELECT 12, r.n, 0, r.labels, r.failed::text FROM route r
	)
	SELECT string_agg(x.line || E'\n', '' ORDER BY x.f, x.n, x.k)
	FROM (
		SELECT fm.f, 0::bigint AS n, 0::bigint AS k,
			   '# HELP ' || fm.name || ' ' || fm.help || E'\n# TYPE ' || fm.name || ' ' || fm.type AS line
		FROM family fm
		UNION ALL
		SELECT p.f, p.n, p.k, fm.name || '{' || p.labels || '} ' || p.value
		FROM point p JOIN family fm ON fm.f = p.f
	) x
$$;
COMMENT ON FUNCTION metrics() IS 'Prometheus text format (0.0.4) exposition: per dependency and capability its state and since when, outages, availability over the last 24 hours and 30 days, and sample latency; per alert route, deliveries pending and failed; never targets or options';

-- current_status: every target's state now and since when, from _status()
-- (one computation for dependencies and capabilities), and why a
-- dependency is unmonitored: the consensus's quorum, or _unmonitored_now's
-- reason.
CREATE OR REPLACE FUNCTION current_status()
	RETURNS TABLE(target text, target_type text, state text, since timestamptz, reason text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT s.target, s.target_type, s.state, s.since,
		   CASE WHEN s.state <> 'unmonitored' OR s.target_type <> 'dependency' THEN NULL
				WHEN s.by_consensus THEN 'too few vantages watching'
				ELSE u.reason END
	FROM depwatch_internal._status() s
	LEFT JOIN depwatch_internal._unmonitored_now() u
		   ON s.target_type = 'dependency' AND s.state = 'unmonitored' AND u.dependency_id = s.target_id
	ORDER BY 2 DESC, 1
$$;
COMMENT ON FUNCTION current_status() IS 'State of every dependency and capability now (up, degraded, down, maintenance, unmonitored), since when, and why it is unmonitored';

CREATE OR REPLACE VIEW status AS
	SELECT s.target, s.target_type, s.state, s.since, s.reason FROM depwatch.current_status() s;
COMMENT ON VIEW status IS 'What every dependency and capability is doing now, since when, and why it is unmonitored (current_status())';
COMMENT ON COLUMN status.target IS 'Dependency or capability name';
COMMENT ON COLUMN status.target_type IS 'dependency or capability';
COMMENT ON COLUMN status.state IS 'up, degraded, down, maintenance or unmonitored';
COMMENT ON COLUMN status.since IS 'When the current state began';
COMMENT ON COLUMN status.reason IS 'Why a dependency is unmonitored: disabled, no worker for this database, no sample for 3 x every, or (by consensus) too few vantages watching';
