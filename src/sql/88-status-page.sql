-- The status page for customers (doc/reference.md, "Status page";
-- SPEC section 10): status_page() writes one self-contained HTML5 page from
-- what the reports already say (the states from _capability_status(), the
-- numbers from availability()); add_incident_update() records what
-- customers are told while an incident unfolds.

-- _html_escape: text as HTML character data or a quoted attribute value
-- (C: the escaping timeline_svg() uses, src/timeline_svg.c).  Every text
-- that reaches the page goes through it.
CREATE OR REPLACE FUNCTION depwatch_internal._html_escape(t text) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_html_escape'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION depwatch_internal._html_escape(text)
	IS 'Text safe as HTML or XML character data and attribute value: & < > " '' as entities, control characters as spaces';

-- add_incident_update: one update on an incident, as customers read it
-- (public) or as an internal note (public => false).  at lies between the
-- incident's start and 30 days after its end, and not ahead of the
-- server's clock by more than depwatch.max_clock_skew.
CREATE OR REPLACE FUNCTION add_incident_update(incident bigint, status text, message text,
											   at timestamptz DEFAULT now(), public boolean DEFAULT true)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident_row(incident);
	result bigint;
BEGIN
	IF status IS NULL OR status NOT IN ('investigating', 'identified', 'monitoring', 'resolved') THEN
		RAISE EXCEPTION 'unknown incident update status "%"', depwatch_internal._clip(coalesce(status, 'NULL'))
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''investigating'', ''identified'', ''monitoring'' or ''resolved''.';
	END IF;
	IF message IS NULL OR btrim(message) = '' THEN
		RAISE EXCEPTION 'incident update message must not be empty'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Tell customers what is happening, such as ''Transfers are delayed; we are investigating.''.';
	END IF;
	PERFORM depwatch_internal._check_text('message', message);
	IF at IS NULL OR public IS NULL THEN
		RAISE EXCEPTION 'incident update % must not be NULL', CASE WHEN at IS NULL THEN 'at' ELSE 'public' END
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Leave it out for its default (now, public).';
	END IF;
	PERFORM depwatch_internal._check_time('at', at);
	IF at < i.started_at
	   OR at > now() + current_setting('depwatch.max_clock_skew')::interval
	   OR at > i.ended_at + interval '30 days' THEN
		RAISE EXCEPTION 'incident % ran from % to %, so it cannot have an update at %', i.id, i.started_at,
				coalesce(i.ended_at::text, 'now'), at
			USING ERRCODE = 'datetime_field_overflow',
				  HINT = 'An update lies between the incident''s start and 30 days after its end, and not in the future.';
	END IF;
	INSERT INTO depwatch.incident_update (incident_id, status, message, at, public)
	VALUES (i.id, status, message, at, public)
	RETURNING id INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION add_incident_update(bigint, text, text, timestamptz, boolean)
	IS 'Record an update on an incident (investigating, identified, monitoring, resolved); public ones appear on the status page; returns its id';

CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON incident_update
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_append();

CREATE OR REPLACE VIEW incident_updates AS
	SELECT u.id, u.incident_id AS incident, i.title AS incident_title, u.status, u.message, u.at,
		   u.public, u.created_at
	FROM incident_update u JOIN incident i ON i.id = u.incident_id;
COMMENT ON VIEW incident_updates IS 'Updates on incidents, public and internal, for people and BI tools';
COMMENT ON COLUMN incident_updates.id IS 'Update id';
COMMENT ON COLUMN incident_updates.incident IS 'Incident id';
COMMENT ON COLUMN incident_updates.incident_title IS 'The incident''s title';
COMMENT ON COLUMN incident_updates.status IS 'investigating, identified, monitoring or resolved';
COMMENT ON COLUMN incident_updates.message IS 'What customers are told';
COMMENT ON COLUMN incident_updates.at IS 'When it was posted';
COMMENT ON COLUMN incident_updates.public IS 'Shown on the status page';
COMMENT ON COLUMN incident_updates.created_at IS 'When it was recorded';

-- _page_duration: a duration as customers read it, "1 h 5 min", to the
-- second, leaving out the parts that are zero.
CREATE OR REPLACE FUNCTION depwatch_internal._page_duration(d interval) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN s = 0 THEN '0 s' ELSE
		   concat_ws(' ', CASE WHEN s >= 86400 THEN (s / 86400) || ' d' END,
					 CASE WHEN s % 86400 >= 3600 THEN (s % 86400 / 3600) || ' h' END,
					 CASE WHEN s % 3600 >= 60 THEN (s % 3600 / 60) || ' min' END,
					 CASE WHEN s % 60 > 0 THEN (s % 60) || ' s' END) END
	FROM (SELECT round(extract(epoch FROM d))::bigint AS s) x
$$;

-- _page_time: an instant as an HTML <time> element, read in the session
-- time zone.
CREATE OR REPLACE FUNCTION depwatch_internal._page_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('<time datetime="%s">%s</time>',
				  depwatch_internal._html_escape(to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
				  depwatch_internal._html_escape(to_char(t, 'YYYY-MM-DD HH24:MI TZ')))
$$;

-- _page_state: a state of _capability_status() in the words of a status
-- page (operational, degraded, outage, maintenance; unknown for what
-- nobody watches), as CSS class and label.
CREATE OR REPLACE FUNCTION depwatch_internal._page_state(state text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE state WHEN 'up' THEN 'operational' WHEN 'degraded' THEN 'degraded' WHEN 'down' THEN 'outage'
					  WHEN 'maintenance' THEN 'maintenance' ELSE 'unknown' END
$$;

-- _page_capabilities: the capabilities a page shows (all, or those asked
-- for, in that order; else by display name), with what customers read.
CREATE OR REPLACE FUNCTION depwatch_internal._page_capabilities(capabilities text[])
	RETURNS TABLE(name text, shown text, ord bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT c.name, coalesce(c.display_name, c.name),
		   coalesce(u.ord, row_number() OVER (ORDER BY coalesce(c.display_name, c.name), c.name))
	FROM depwatch.capability c
	LEFT JOIN unnest(capabilities) WITH ORDINALITY u(name, ord) ON u.name = c.name
	WHERE capabilities IS NULL OR u.name IS NOT NULL
$$;

-- The page's style: states are told by words, and the bars by pattern as
-- well as colour (hatched outage, dotted degraded, striped maintenance,
-- hollow no data).
CREATE OR REPLACE FUNCTION depwatch_internal._page_style() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT $css$
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d1f23;line-height:1.45}
main{max-width:960px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:1.8em;margin:0 0 4px}
h2{font-size:1.25em;margin:32px 0 12px}
.muted{color:#555b66;font-size:.9em}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.banner{border-radius:8px;padding:16px 20px;margin:20px 0;border:2px solid #2e9e44;background:#eaf6ec}
.banner.degraded{border-color:#b7791f;background:#fdf3e1}
.banner.outage{border-color:#c53030;background:#fdeaea}
.banner.maintenance{border-color:#2b6cb0;background:#e8f0fb}
.banner.unknown{border-color:#718096;background:#eef0f3}
.banner h2{margin:0 0 8px}
.banner ul{list-style:none;margin:0;padding:0}
.banner li{padding:2px 0}
.state{font-weight:600;text-transform:capitalize}
.capability{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 16px;margin:0 0 12px}
.capability header{display:flex;justify-content:space-between;align-items:baseline;gap:12px}
.capability h3{font-size:1.05em;margin:0}
.bars{display:block;width:100%;height:34px;margin:8px 0 2px}
.range{display:flex;justify-content:space-between;font-size:.8em;color:#555b66}
.operational{fill:#2e9e44}
.degraded{fill:url(#pattern-degraded)}
.outage{fill:url(#pattern-outage)}
.maintenance{fill:url(#pattern-maintenance)}
.nodata{fill:#ffffff;stroke:#9aa0a6;stroke-width:.6}
.legend{display:flex;flex-wrap:wrap;gap:16px;font-size:.85em;margin:8px 0 0}
.legend svg{vertical-align:middle;margin-right:4px}
.maintenance-list,.incidents{list-style:none;padding:0;margin:0}
.maintenance-list li,.incident{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 16px;margin:0 0 12px}
.incident h3{font-size:1.05em;margin:0 0 4px}
.updates{list-style:none;padding:0;margin:8px 0 0;border-left:3px solid #dde1e6}
.updates li{padding:4px 0 4px 12px}
.update-status{font-weight:600;text-transform:capitalize}
footer{margin-top:32px;font-size:.8em;color:#555b66}
$css$
$$;

-- _page_patterns: the patterns the bars' classes fill with, once per page
-- (an SVG of no size; the bars' own SVGs refer to them by fragment).
CREATE OR REPLACE FUNCTION depwatch_internal._page_patterns() RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0" style="position:absolute" aria-hidden="true" focusable="false"><defs>'
		|| '<pattern id="pattern-outage" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
		|| '<rect width="4" height="4" fill="#d62728"/><rect width="1.5" height="4" fill="#7f1416"/></pattern>'
		|| '<pattern id="pattern-degraded" width="4" height="4" patternUnits="userSpaceOnUse">'
		|| '<rect width="4" height="4" fill="#f0a30a"/><circle cx="2" cy="2" r="0.9" fill="#7a5200"/></pattern>'
		|| '<pattern id="pattern-maintenance" width="4" height="4" patternUnits="userSpaceOnUse">'
		|| '<rect width="4" height="4" fill="#3b7dd8"/><rect width="4" height="1.3" fill="#173f73"/></pattern>'
		|| '</defs></svg>'
$$;

-- status_page: the page.  Per capability shown: its state now
-- (_capability_status(), the rule current_status() shows), a bar per day of
-- the period (the worst of that day in availability(period, 'day'): outage
-- where it had downtime, else degraded, else maintenance, else no data
-- where nothing was monitored, else operational) and its uptime
-- (availability(period)); the maintenance windows on those capabilities or
-- on what they require, in the period or to come; the incidents of the
-- period that touched them, with their public updates.  Dependency names
-- appear only with show_dependencies.
CREATE OR REPLACE FUNCTION status_page(period tstzrange DEFAULT tstzrange(date_trunc('day', now()) - interval '89 days', now()),
									   capabilities text[] DEFAULT NULL,
									   title text DEFAULT 'Service status',
									   show_dependencies boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	lo timestamptz;
	hi timestamptz;
	banner text;
	rows_html text;
	maint_html text;
	incidents_html text;
	n_days int;
BEGIN
	period := coalesce(period, tstzrange(date_trunc('day', now()) - interval '89 days', now()));
	PERFORM depwatch_internal._check_period(period, 'day');
	lo := lower(period);
	hi := upper(period);
	IF hi - lo > interval '366 days' THEN
		RAISE EXCEPTION 'status page period % is longer than 366 days', period
			USING ERRCODE = 'datetime_field_overflow',
				  HINT = 'A status page shows daily bars of up to a year, usually the last 90 days.';
	END IF;
	title := coalesce(title, 'Service status');
	PERFORM depwatch_internal._check_text('title', title);
	PERFORM depwatch_internal._check_text_list(capabilities, 'capabilities');
	PERFORM depwatch_internal._capability_id(c) FROM unnest(capabilities) c;
	show_dependencies := coalesce(show_dependencies, false);

	-- the banner: every capability's state now, the worst of them on top
	WITH cap AS (SELECT * FROM depwatch_internal._page_capabilities(capabilities)),
	st AS (
		SELECT cap.*, depwatch_internal._page_state(s.state) AS state, s.since,
			   CASE WHEN show_dependencies AND s.state IN ('down', 'degraded')
					THEN depwatch_internal._alert_dependencies_down(cap.name) END AS deps
		FROM cap LEFT JOIN depwatch_internal._capability_status() s ON s.target = cap.name),
	top AS (
		SELECT CASE WHEN bool_or(state = 'outage') THEN 'outage'
					WHEN bool_or(state = 'degraded') THEN 'degraded'
					WHEN bool_or(state = 'maintenance') THEN 'maintenance'
					WHEN bool_or(state = 'unknown') THEN 'unknown'
					ELSE 'operational' END AS state
		FROM st)
	SELECT format('<section class="banner %s" role="status" aria-labelledby="banner-heading">'
				  '<h2 id="banner-heading">%s</h2><ul>%s</ul></section>',
				  top.state,
				  CASE top.state WHEN 'outage' THEN 'Some services are down'
								 WHEN 'degraded' THEN 'Some services are degraded'
								 WHEN 'maintenance' THEN 'Maintenance in progress'
								 WHEN 'unknown' THEN 'The state of some services is unknown'
								 ELSE 'All services are operational' END,
				  coalesce((SELECT string_agg(format('<li class="capability-state %s" data-capability-state="%s">'
													 '<span class="name">%s</span>: <span class="state">%s</span>%s%s</li>',
													 st.state, st.state, depwatch_internal._html_escape(st.shown), st.state,
													 CASE WHEN st.state <> 'operational' AND st.since IS NOT NULL
														  THEN ' since ' || depwatch_internal._page_time(st.since) ELSE '' END,
													 CASE WHEN cardinality(st.deps) > 0
														  THEN ' <span class="dependencies">(dependencies down: '
															   || depwatch_internal._html_escape(array_to_string(st.deps, ', '))
															   || ')</span>' ELSE '' END),
											  '' ORDER BY st.ord) FROM st), ''))
	INTO banner
	FROM top;

	-- a row of daily bars per capability, and its uptime over the period
	-- (availability()'s figures; the page shows no tolerance columns)
	WITH cap AS (SELECT * FROM depwatch_internal._page_capabilities(capabilities)),
	total AS (
		SELECT a.target, a.availability
		FROM depwatch_internal._availability(period) a WHERE a.target_type = 'capability'),
	day AS (
		SELECT a.target, a.bucket_start, a.downtime, a.degraded, a.maintenance, a.unmonitored,
			   CASE WHEN a.downtime > interval '0' THEN 'outage'
					WHEN a.degraded > interval '0' THEN 'degraded'
					WHEN a.maintenance > interval '0' THEN 'maintenance'
					WHEN a.monitored = interval '0' THEN 'nodata'
					ELSE 'operational' END AS worst,
			   row_number() OVER (PARTITION BY a.target ORDER BY a.bucket_start) - 1 AS i
		FROM depwatch_internal._availability(period, 'day') a
		WHERE a.target_type = 'capability' AND a.target IN (SELECT name FROM cap)),
	said AS (
		SELECT day.*,
			   to_char(greatest(day.bucket_start, lo), 'YYYY-MM-DD') || ': '
			   || CASE worst WHEN 'nodata' THEN 'no data' ELSE worst END
			   || coalesce(' (' || nullif(concat_ws('; ',
						CASE WHEN day.downtime > interval '0'
							 THEN 'down ' || depwatch_internal._page_duration(day.downtime) END,
						CASE WHEN day.degraded > interval '0'
							 THEN 'degraded ' || depwatch_internal._page_duration(day.degraded) END,
						CASE WHEN day.maintenance > interval '0'
							 THEN 'maintenance ' || depwatch_internal._page_duration(day.maintenance) END,
						CASE WHEN day.unmonitored > interval '0' AND worst <> 'nodata'
							 THEN 'not watched ' || depwatch_internal._page_duration(day.unmonitored) END), '')
						   || ')', '') AS words
		FROM day),
	per_cap AS (
		SELECT said.target, count(*) AS days,
			   string_agg(format('<rect class="bar %s" data-state="%s" x="%s" y="0" width="4" height="34"><title>%s</title></rect>',
								 worst, worst, said.i * 6, depwatch_internal._html_escape(words)), '' ORDER BY said.i) AS bars,
			   string_agg(format('<li>%s</li>', depwatch_internal._html_escape(words)), '' ORDER BY said.i)
				   FILTER (WHERE worst NOT IN ('operational', 'nodata')) AS bad_days,
			   count(*) FILTER (WHERE worst = 'operational') AS good_days
		FROM said GROUP BY said.target)
	SELECT string_agg(format('<section class="capability" data-capability="%s" aria-labelledby="cap-%s">'
							 '<header><h3 id="cap-%s">%s</h3><span class="uptime">%s</span></header>'
							 '<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 %s 34" preserveAspectRatio="none" aria-hidden="true" focusable="false">%s</svg>'
							 '<div class="range" aria-hidden="true"><span>%s</span><span>%s</span></div>'
							 '<div class="sr-only"><p>%s days, %s of them fully operational.</p>%s</div></section>',
							 depwatch_internal._html_escape(cap.name), cap.ord, cap.ord,
							 depwatch_internal._html_escape(cap.shown),
							 CASE WHEN total.availability IS NULL THEN 'no data'
								  ELSE to_char(total.availability, 'FM990.00') || ' % uptime' END,
							 greatest(per_cap.days * 6 - 2, 1), coalesce(per_cap.bars, ''),
							 depwatch_internal._html_escape(to_char(lo, 'YYYY-MM-DD')),
							 CASE WHEN hi >= now() THEN 'Today'
								  ELSE depwatch_internal._html_escape(to_char(hi - interval '1 microsecond', 'YYYY-MM-DD')) END,
							 coalesce(per_cap.days, 0), coalesce(per_cap.good_days, 0),
							 CASE WHEN per_cap.bad_days IS NULL THEN ''
								  ELSE '<ul>' || per_cap.bad_days || '</ul>' END),
					  '' ORDER BY cap.ord),
		   max(per_cap.days)
	INTO rows_html, n_days
	FROM cap LEFT JOIN total ON total.target = cap.name LEFT JOIN per_cap ON per_cap.target = cap.name;

	-- maintenance on a capability shown, or on what it requires at any
	-- depth, in the period or to come
	WITH RECURSIVE cap AS (SELECT * FROM depwatch_internal._page_capabilities(capabilities)),
	needs(capability, member) AS (
		SELECT r.capability, m FROM depwatch.requirements r, unnest(r.members) m
		UNION
		SELECT n.capability, m FROM needs n JOIN depwatch.requirements r ON r.capability = n.member,
									unnest(r.members) m),
	w AS (
		SELECT m.id, m.during, d.name AS dependency,
			   array_agg(DISTINCT cap.shown ORDER BY cap.shown) AS shown
		FROM depwatch.maintenance m
		LEFT JOIN depwatch.capability c ON c.id = m.capability_id
		LEFT JOIN depwatch.dependency d ON d.id = m.dependency_id
		JOIN cap ON cap.name = c.name
				 OR EXISTS (SELECT FROM needs n WHERE n.capability = cap.name AND n.member IN (c.name, d.name))
		WHERE upper(m.during) > lo AND (lower(m.during) < hi OR lower(m.during) > now())
		GROUP BY m.id, m.during, d.name)
	SELECT string_agg(format('<li class="maintenance-window %s"><strong>%s</strong> from %s to %s (%s); affects %s%s</li>',
							 CASE WHEN lower(w.during) > now() THEN 'upcoming'
								  WHEN upper(w.during) > now() THEN 'in-progress' ELSE 'completed' END,
							 CASE WHEN lower(w.during) > now() THEN 'Scheduled'
								  WHEN upper(w.during) > now() THEN 'In progress' ELSE 'Completed' END,
							 depwatch_internal._page_time(lower(w.during)),
							 depwatch_internal._page_time(upper(w.during)),
							 depwatch_internal._html_escape(depwatch_internal._page_duration(upper(w.during) - lower(w.during))),
							 depwatch_internal._html_escape(array_to_string(w.shown, ', ')),
							 CASE WHEN show_dependencies AND w.dependency IS NOT NULL
								  THEN ' <span class="dependencies">(dependency: '
									   || depwatch_internal._html_escape(w.dependency) || ')</span>' ELSE '' END),
					  '' ORDER BY lower(w.during) > now() DESC, lower(w.during) DESC, w.id)
	INTO maint_html
	FROM w;

	-- the incidents of the period that touched a capability shown (all
	-- the incidents when none were asked for), newest first, with their
	-- public updates, newest first
	WITH cap AS (SELECT * FROM depwatch_internal._page_capabilities(capabilities)),
	inc AS (
		SELECT i.*,
			   (SELECT array_agg(DISTINCT cap.shown ORDER BY cap.shown)
				FROM depwatch_internal._incident_windows(i) w JOIN cap ON cap.name = w.capability) AS shown,
			   CASE WHEN show_dependencies
					THEN (SELECT array_agg(d.name ORDER BY d.name) FROM depwatch.dependency d
						  WHERE d.id = ANY (depwatch_internal._incident_dependencies(i))) END AS deps
		FROM depwatch.incident i
		WHERE tstzrange(i.started_at, i.ended_at, '[)') && period)
	SELECT string_agg(format('<li class="incident %s" id="incident-%s"><h3>%s</h3>'
							 '<p class="muted"><span class="incident-state">%s</span>, %s to %s (%s)</p>'
							 '<p>Affected: %s%s</p><ol class="updates">%s</ol></li>',
							 CASE WHEN inc.ended_at IS NULL THEN 'ongoing' ELSE 'resolved' END, inc.id,
							 depwatch_internal._html_escape(inc.title),
							 CASE WHEN inc.ended_at IS NULL THEN 'Ongoing' ELSE 'Resolved' END,
							 depwatch_internal._page_time(inc.started_at),
							 CASE WHEN inc.ended_at IS NULL THEN 'now' ELSE depwatch_internal._page_time(inc.ended_at) END,
							 depwatch_internal._html_escape(depwatch_internal._page_duration(
								 coalesce(inc.ended_at, now()) - inc.started_at)),
							 CASE WHEN inc.shown IS NULL THEN 'no service shown here'
								  ELSE depwatch_internal._html_escape(array_to_string(inc.shown, ', ')) END,
							 CASE WHEN cardinality(inc.deps) > 0
								  THEN ' <span class="dependencies">(dependencies: '
									   || depwatch_internal._html_escape(array_to_string(inc.deps, ', ')) || ')</span>'
								  ELSE '' END,
							 coalesce((SELECT string_agg(format('<li class="update %s"><span class="update-status">%s</span> '
																 '<span class="muted">%s</span><p>%s</p></li>',
																 u.status, u.status, depwatch_internal._page_time(u.at),
																 depwatch_internal._html_escape(u.message)),
														  '' ORDER BY u.at DESC, u.id DESC)
									   FROM depwatch.incident_update u
									   WHERE u.incident_id = inc.id AND u.public), '')),
					  '' ORDER BY inc.started_at DESC, inc.id DESC)
	INTO incidents_html
	FROM inc
	WHERE capabilities IS NULL OR inc.shown IS NOT NULL;

	RETURN '<!DOCTYPE html>' || E'\n'
		|| '<html xmlns="http://www.w3.org/1999/xhtml" lang="en"><head><meta charset="utf-8"/>'
		|| '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
		|| '<meta name="generator" content="depwatch status_page()"/>'
		|| '<title>' || depwatch_internal._html_escape(title) || '</title>'
		|| '<style>' || depwatch_internal._page_style() || '</style></head>' || E'\n'
		|| '<body>' || depwatch_internal._page_patterns() || '<main>'
		|| '<h1>' || depwatch_internal._html_escape(title) || '</h1>'
		|| '<p class="muted">Updated ' || depwatch_internal._page_time(now()) || '. Times in '
		|| depwatch_internal._html_escape(current_setting('TimeZone')) || '.</p>' || E'\n'
		|| banner || E'\n'
		|| '<h2>Uptime, day by day</h2>'
		|| '<p class="muted">' || coalesce(n_days, 0) || ' days from '
		|| depwatch_internal._page_time(lo) || ' to ' || depwatch_internal._page_time(hi)
		|| '; each bar is one day, at its worst.</p>'
		|| '<div class="legend" aria-hidden="true">'
		|| (SELECT string_agg(format('<span><svg xmlns="http://www.w3.org/2000/svg" width="12" height="12"><rect class="%s" width="12" height="12"/></svg>%s</span>',
									 k, CASE k WHEN 'nodata' THEN 'no data' ELSE k END), '' ORDER BY o)
			FROM unnest(ARRAY['operational', 'degraded', 'outage', 'maintenance', 'nodata']) WITH ORDINALITY x(k, o))
		|| '</div>' || E'\n'
		|| coalesce(rows_html, '<p>No services to show.</p>') || E'\n'
		|| '<h2>Scheduled maintenance</h2>'
		|| coalesce('<ul class="maintenance-list">' || maint_html || '</ul>', '<p>No maintenance scheduled.</p>') || E'\n'
		|| '<h2>Incidents</h2>'
		|| coalesce('<ol class="incidents">' || incidents_html || '</ol>', '<p>No incidents in this period.</p>') || E'\n'
		|| '<footer>Made by depwatch from its own measurements; no script, nothing fetched.</footer>'
		|| '</main></body></html>' || E'\n';
END
$$;
COMMENT ON FUNCTION status_page(tstzrange, text[], text, boolean)
	IS 'Self-contained HTML5 status page for customers: the state of each capability now, daily bars and uptime over the period, maintenance, incidents with their public updates; dependency names only with show_dependencies';
