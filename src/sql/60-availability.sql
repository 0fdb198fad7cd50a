-- Availability and timelines over a period (C: src/timeline.c,
-- src/subjects.c, src/availability.c).

-- _availability: the figures availability() shows, computed in C.
CREATE OR REPLACE FUNCTION depwatch_internal._availability(period tstzrange, bucket text DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
				  monitored interval, downtime interval, degraded interval, maintenance interval,
				  unmonitored interval, availability numeric, slo numeric,
				  budget interval, budget_left interval, outages int,
				  mttr interval, mtbf interval, longest interval)
	AS 'MODULE_PATHNAME', 'dw_availability'
	LANGUAGE C STABLE CALLED ON NULL INPUT;

-- _availability_seconds: _availability's figures, each interval with its
-- number of seconds beside it for BI tools (SPEC section 10).  A standard
-- SQL body (names bound at creation) without SET clauses, so that it is
-- inlined into the queries that read it.
CREATE OR REPLACE FUNCTION depwatch_internal._availability_seconds(period tstzrange, bucket text)
	RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
				  monitored interval, downtime interval, degraded interval, maintenance interval,
				  unmonitored interval, availability numeric, slo numeric,
				  budget interval, budget_left interval, outages int,
				  mttr interval, mtbf interval, longest interval,
				  monitored_seconds numeric, downtime_seconds numeric, degraded_seconds numeric,
				  maintenance_seconds numeric, unmonitored_seconds numeric, budget_seconds numeric,
				  budget_left_seconds numeric, mttr_seconds numeric, mtbf_seconds numeric,
				  longest_seconds numeric)
LANGUAGE sql STABLE CALLED ON NULL INPUT
BEGIN ATOMIC
	SELECT a.target, a.target_type, a.bucket_start, a.monitored, a.downtime, a.degraded,
		   a.maintenance, a.unmonitored, a.availability, a.slo, a.budget, a.budget_left,
		   a.outages, a.mttr, a.mtbf, a.longest,
		   extract(epoch FROM a.monitored), extract(epoch FROM a.downtime),
		   extract(epoch FROM a.degraded), extract(epoch FROM a.maintenance),
		   extract(epoch FROM a.unmonitored), extract(epoch FROM a.budget),
		   extract(epoch FROM a.budget_left), extract(epoch FROM a.mttr),
		   extract(epoch FROM a.mtbf), extract(epoch FROM a.longest)
	FROM depwatch_internal._availability(period, bucket) a;
END;

-- availability: _availability_seconds' figures, then the impact tolerance
-- of the capabilities that have one (SPEC section 9): worst_disruption,
-- the longest continuous down run overlapping the bucket judged on its
-- whole length, as tolerance_breaches() judges it (the runs of _down_runs,
-- up to now while ongoing), and whether it breached the tolerance
-- (_breached).  Only those capabilities: finding where each run began and
-- ended costs a capability_outages() call or more per capability, which
-- would make availability() of 50 capabilities several times slower.  A
-- capability neither down nor under maintenance anywhere in the period
-- has no such run: its runs are not looked up.
CREATE OR REPLACE FUNCTION availability(period tstzrange, bucket text DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
				  monitored interval, downtime interval, degraded interval, maintenance interval,
				  unmonitored interval, availability numeric, slo numeric,
				  budget interval, budget_left interval, outages int,
				  mttr interval, mtbf interval, longest interval,
				  monitored_seconds numeric, downtime_seconds numeric, degraded_seconds numeric,
				  maintenance_seconds numeric, unmonitored_seconds numeric, budget_seconds numeric,
				  budget_left_seconds numeric, mttr_seconds numeric, mtbf_seconds numeric,
				  longest_seconds numeric,
				  worst_disruption interval, worst_disruption_seconds numeric, tolerance_breached boolean)
LANGUAGE plpgsql STABLE CALLED ON NULL INPUT SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_column
BEGIN
	IF NOT EXISTS (SELECT FROM depwatch.capability c WHERE c.impact_tolerance IS NOT NULL) THEN
		RETURN QUERY
			SELECT a.*, NULL::interval, NULL::numeric, NULL::boolean
			FROM depwatch_internal._availability_seconds(period, bucket) a;
		RETURN;
	END IF;
	RETURN QUERY
		WITH a AS MATERIALIZED (
			-- fig: the row as _availability_seconds gives it; ord: its place
			SELECT x AS fig, x.target, x.target_type, x.downtime, x.maintenance,
				   greatest(x.bucket_start, lower(period)) AS b, row_number() OVER () AS ord
			FROM depwatch_internal._availability_seconds(period, bucket) x),
		hit AS (SELECT a.target FROM a JOIN depwatch.capability c ON c.name = a.target
				WHERE a.target_type = 'capability' AND c.impact_tolerance IS NOT NULL
				GROUP BY a.target HAVING sum(a.downtime) > interval '0' OR sum(a.maintenance) > interval '0'),
		runs AS MATERIALIZED (
			SELECT h.target, r.started_at, r.ended_at, coalesce(r.ended_at, now()) - r.started_at AS lasted
			FROM hit h CROSS JOIN LATERAL depwatch_internal._down_runs(h.target, lower(period), upper(period)) r),
		-- where each bucket begins, clipped to the period, ascending (every
		-- target has the same buckets)
		bounds AS (SELECT array_agg(a.b ORDER BY a.b) AS b FROM a
				   WHERE a.target = (SELECT r.target FROM runs r LIMIT 1) AND a.target_type = 'capability'),
		-- each run in every bucket it overlaps: from the one holding its
		-- first instant in the period to the one holding its last
		worst AS (SELECT r.target, bounds.b[k] AS b, max(r.lasted) AS lasted
				  FROM runs r, bounds,
					   generate_series(width_bucket(greatest(r.started_at, lower(period)), bounds.b),
									   width_bucket(least(coalesce(r.ended_at, upper(period)), upper(period))
													- interval '1 microsecond', bounds.b)) k
				  GROUP BY 1, 2)
		SELECT (a.fig).*, d.worst, extract(epoch FROM d.worst),
			   depwatch_internal._breached(d.worst, c.impact_tolerance)
		FROM a
		LEFT JOIN depwatch.capability c ON a.target_type = 'capability' AND c.name = a.target
		LEFT JOIN worst w ON a.target_type = 'capability' AND w.target = a.target AND w.b = a.b
		CROSS JOIN LATERAL (SELECT CASE WHEN c.impact_tolerance IS NOT NULL
										THEN coalesce(w.lasted, interval '0') END AS worst) d
		ORDER BY a.ord;
END
$$;
COMMENT ON FUNCTION availability(tstzrange, text) IS 'Per dependency and capability (and per hour, day, week or month bucket): monitored, down, degraded, maintenance and unmonitored time, availability against SLO, error budget, outages, MTTR, MTBF, each duration also in seconds; for capabilities the worst disruption and whether it breached the impact tolerance';

CREATE OR REPLACE FUNCTION capability_outages(capability text, period tstzrange)
	RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, causes text[])
	AS 'MODULE_PATHNAME', 'dw_capability_outages'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION capability_outages(text, tstzrange) IS 'Down and degraded windows of a capability over a period, with the requirement groups that caused them';

CREATE OR REPLACE FUNCTION state_timeline(period tstzrange, targets text[] DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, state text, maintenance boolean,
				  started_at timestamptz, ended_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_state_timeline'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION state_timeline(tstzrange, text[]) IS 'What each target was doing over a period: runs of up, degraded, down or unmonitored, with maintenance';

CREATE OR REPLACE FUNCTION timeline_svg(period tstzrange, targets text[] DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'dw_timeline_svg'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION timeline_svg(tstzrange, text[]) IS 'Status-page picture (SVG) of what each target was doing over a period: a row per target coloured by state, tooltips on every run, axis in the session time zone';

CREATE OR REPLACE VIEW availability_daily AS
	SELECT a.target, a.target_type, a.bucket_start::date AS day, a.bucket_start,
		   a.monitored, a.downtime, a.degraded, a.maintenance, a.unmonitored,
		   a.availability, a.slo, a.budget_left, a.outages, a.longest,
		   a.monitored_seconds, a.downtime_seconds, a.degraded_seconds, a.maintenance_seconds,
		   a.unmonitored_seconds, a.budget_left_seconds, a.longest_seconds,
		   a.worst_disruption, a.worst_disruption_seconds, a.tolerance_breached
	FROM depwatch.availability(tstzrange(date_trunc('day', now()) - interval '89 days',
										 date_trunc('day', now()) + interval '1 day'), 'day') a;
COMMENT ON VIEW availability_daily IS 'Availability per target per day over the last 90 days (session time zone), for heat maps';
COMMENT ON COLUMN availability_daily.target IS 'Dependency or capability name';
COMMENT ON COLUMN availability_daily.target_type IS 'dependency or capability';
COMMENT ON COLUMN availability_daily.day IS 'The day, in the session time zone';
COMMENT ON COLUMN availability_daily.bucket_start IS 'Start of the day, in the session time zone';
COMMENT ON COLUMN availability_daily.monitored IS 'Time that was watched (the day minus unmonitored time)';
COMMENT ON COLUMN availability_daily.downtime IS 'Down time within monitored time, outside maintenance';
COMMENT ON COLUMN availability_daily.degraded IS 'Degraded time that was neither down nor maintenance';
COMMENT ON COLUMN availability_daily.maintenance IS 'Planned maintenance within monitored time';
COMMENT ON COLUMN availability_daily.unmonitored IS 'Time nobody watched (monitor gaps, and the rest of today)';
COMMENT ON COLUMN availability_daily.availability IS 'Percent: 100 x (monitored - maintenance - downtime) / (monitored - maintenance); NULL with nothing monitored';
COMMENT ON COLUMN availability_daily.slo IS 'Objective in percent';
COMMENT ON COLUMN availability_daily.budget_left IS 'Error budget left that day: (1 - slo/100) x (monitored - maintenance) - downtime; negative when overspent';
COMMENT ON COLUMN availability_daily.outages IS 'Outages that day (maximal down runs, clipped to the day)';
COMMENT ON COLUMN availability_daily.longest IS 'Longest outage that day, clipped to the day';
COMMENT ON COLUMN availability_daily.monitored_seconds IS 'monitored in seconds';
COMMENT ON COLUMN availability_daily.downtime_seconds IS 'downtime in seconds';
COMMENT ON COLUMN availability_daily.degraded_seconds IS 'degraded in seconds';
COMMENT ON COLUMN availability_daily.maintenance_seconds IS 'maintenance in seconds';
COMMENT ON COLUMN availability_daily.unmonitored_seconds IS 'unmonitored in seconds';
COMMENT ON COLUMN availability_daily.budget_left_seconds IS 'budget_left in seconds';
COMMENT ON COLUMN availability_daily.longest_seconds IS 'longest in seconds';
COMMENT ON COLUMN availability_daily.worst_disruption IS 'Capabilities with an impact tolerance: the longest continuous down run overlapping the day, whole (maintenance included, up to now while ongoing); NULL for others';
COMMENT ON COLUMN availability_daily.worst_disruption_seconds IS 'worst_disruption in seconds';
COMMENT ON COLUMN availability_daily.tolerance_breached IS 'Capabilities with an impact tolerance: worst_disruption > impact_tolerance; NULL for others';

-- capability_outages_recent: capability_outages() of every capability over
-- the last 90 days, for BI tools (SPEC section 10).  The period ends a
-- microsecond after now, so that an outage going on now has ended_at NULL
-- (as _down_runs reads it).
CREATE OR REPLACE VIEW capability_outages_recent AS
	SELECT c.name AS capability, o.kind, o.started_at, o.ended_at, o.causes,
		   coalesce(o.ended_at, now()) - o.started_at AS duration,
		   extract(epoch FROM coalesce(o.ended_at, now()) - o.started_at) AS duration_seconds
	FROM depwatch.capability c
	CROSS JOIN LATERAL depwatch.capability_outages(c.name, tstzrange(now() - interval '90 days',
																	 now() + interval '1 microsecond')) o;
COMMENT ON VIEW capability_outages_recent IS 'The down and degraded windows of every capability over the last 90 days (capability_outages), with their durations';
COMMENT ON COLUMN capability_outages_recent.capability IS 'Capability name';
COMMENT ON COLUMN capability_outages_recent.kind IS 'down or degraded';
COMMENT ON COLUMN capability_outages_recent.started_at IS 'Start of the window, clipped to 90 days ago';
COMMENT ON COLUMN capability_outages_recent.ended_at IS 'End of the window; NULL while ongoing';
COMMENT ON COLUMN capability_outages_recent.causes IS 'The requirement groups that failed (or lost members, for degraded)';
COMMENT ON COLUMN capability_outages_recent.duration IS 'ended_at - started_at, or up to now while ongoing';
COMMENT ON COLUMN capability_outages_recent.duration_seconds IS 'duration in seconds';
