-- Availability and timelines over a period (C: src/timeline.c,
-- src/subjects.c, src/availability.c).

CREATE OR REPLACE FUNCTION availability(period tstzrange, bucket text DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
				  monitored interval, downtime interval, degraded interval, maintenance interval,
				  unmonitored interval, availability numeric, slo numeric,
				  budget interval, budget_left interval, outages int,
				  mttr interval, mtbf interval, longest interval)
	AS 'MODULE_PATHNAME', 'dw_availability'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION availability(tstzrange, text) IS 'Per dependency and capability (and per hour, day, week or month bucket): monitored, down, degraded, maintenance and unmonitored time, availability against SLO, error budget, outages, MTTR, MTBF';

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
		   a.availability, a.slo, a.budget_left, a.outages, a.longest
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
