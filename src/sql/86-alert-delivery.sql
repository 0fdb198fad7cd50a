-- Alerts: delivery of webhook routes by the probe worker (src/alert_sender.c;
-- doc/reference.md, "Alert delivery").  The worker asks _alert_due() for the
-- first pending delivery of each webhook route, POSTs the body it returns,
-- and records the answers with _alert_record().  Uses only the tables of
-- src/sql/tables/70-alerts.sql.

-- _alert_resolves: does this event end a condition (the alert it opened)?
CREATE OR REPLACE FUNCTION depwatch_internal._alert_resolves(p_event text) RETURNS boolean
	LANGUAGE sql IMMUTABLE STRICT
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$ SELECT p_event ~ '(_up|_recovered|_resolved)$' $$;

-- _alert_opened_by: the event that opens the condition a resolving event
-- ends, when no earlier event of its dedup_key is left to say it.
CREATE OR REPLACE FUNCTION depwatch_internal._alert_opened_by(p_event text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
	SELECT CASE p_event
			WHEN 'dependency_up' THEN 'dependency_down'
			WHEN 'dependency_recovered' THEN 'dependency_degraded'
			WHEN 'capability_up' THEN 'capability_down'
			ELSE regexp_replace(p_event, '_resolved$', '')
		   END
$$;

-- _alertmanager_alert: one alert of Alertmanager's /api/v2/alerts for
-- event e: opened as alertname at severity, at starts; resolved at ends
-- (NULL: not resolved).  The labels are what Alertmanager matches on.
CREATE OR REPLACE FUNCTION depwatch_internal._alertmanager_alert(e depwatch.alert_event, alertname text, severity text,
																 starts timestamptz, ends timestamptz) RETURNS jsonb
	LANGUAGE sql IMMUTABLE
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
	SELECT jsonb_build_object(
			'labels', jsonb_build_object('alertname', alertname, 'target', e.target,
										 'target_type', e.target_type, 'severity', severity,
										 'dedup_key', e.dedup_key, 'source', 'depwatch'),
			'annotations', jsonb_build_object('summary', e.summary, 'event', e.event,
											  'details', e.details::text,
											  'suppressed', e.suppressed::text),
			'startsAt', starts)
		   || CASE WHEN ends IS NULL THEN '{}' ELSE jsonb_build_object('endsAt', ends) END
$$;

/*
 * _alert_body(event, route): what the worker POSTs for one delivery, in the
 * route's format.
 *   json          the event as one object
 *   alertmanager  an array for Alertmanager's /api/v2/alerts: a resolving
 *                 event resolves (endsAt) every alert its dedup_key opened,
 *                 with the labels they were opened with, so that
 *                 Alertmanager matches them
 *   slack         an incoming webhook's {"text": ...}, escaped for Slack
 *   pagerduty     Events API v2, trigger or resolve by dedup_key
 */
CREATE OR REPLACE FUNCTION depwatch_internal._alert_body(p_event bigint, p_route bigint) RETURNS text
	LANGUAGE plpgsql STABLE
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
DECLARE
	e depwatch.alert_event;
	r depwatch.alert_route;
	v_text text;
BEGIN
	SELECT * INTO e FROM depwatch.alert_event WHERE id = p_event;
	SELECT * INTO r FROM depwatch.alert_route WHERE id = p_route;
	IF e.id IS NULL OR r.id IS NULL THEN
		RETURN NULL;
	END IF;
	IF r.format = 'alertmanager' THEN
		IF NOT depwatch_internal._alert_resolves(e.event) THEN
			RETURN jsonb_build_array(depwatch_internal._alertmanager_alert(e, e.event, e.severity, e.at, NULL))::text;
		END IF;
		RETURN (
			SELECT jsonb_agg(depwatch_internal._alertmanager_alert(e, o.event, o.severity, o.at, greatest(e.at, o.at))
							 ORDER BY o.event)::text
			  FROM (SELECT DISTINCT ON (x.event) x.event, x.severity, x.at
					  FROM (SELECT o.event, o.severity, o.at, o.id
							  FROM depwatch.alert_event o
							 WHERE o.dedup_key = e.dedup_key AND o.id < e.id
							   AND NOT depwatch_internal._alert_resolves(o.event)
							UNION ALL
							-- nothing left of the opening: resolve what it would have opened
							SELECT depwatch_internal._alert_opened_by(e.event),
								   CASE WHEN e.event ~ '(degraded|recovered|ticket)' THEN 'warning'
										ELSE 'critical' END, e.at, 0
							 WHERE NOT EXISTS (SELECT FROM depwatch.alert_event o
											   WHERE o.dedup_key = e.dedup_key AND o.id < e.id
												 AND NOT depwatch_internal._alert_resolves(o.event))) x
					 ORDER BY x.event, x.id DESC) o);
	ELSIF r.format = 'slack' THEN
		v_text := format('[%s] %s %s: %s%s', upper(e.severity), e.event, e.target, e.summary,
						 CASE WHEN e.suppressed THEN ' (suppressed: its site is down)' ELSE '' END);
		-- Slack reads &, < and > as markup
		v_text := replace(replace(replace(v_text, '&', '&amp;'), '<', '&lt;'), '>', '&gt;');
		RETURN jsonb_build_object('text', v_text)::text;
	ELSIF r.format = 'pagerduty' THEN
		RETURN jsonb_build_object(
			'routing_key', coalesce(r.options->>'routing_key', ''),
			'event_action', CASE WHEN depwatch_internal._alert_resolves(e.event) THEN 'resolve' ELSE 'trigger' END,
			'dedup_key', left(e.dedup_key, 255),
			'payload', jsonb_build_object(
				'summary', left(e.summary, 1024),
				'source', e.target,
				'severity', e.severity,
				'timestamp', e.at,
				'component', e.target,
				'group', e.target_type,
				'class', e.event,
				'custom_details', e.details || jsonb_build_object('suppressed', e.suppressed, 'event_id', e.id)))::text;
	END IF;
	RETURN jsonb_build_object('id', e.id, 'at', e.at, 'recorded_at', e.recorded_at, 'event', e.event,
							  'target', e.target, 'target_type', e.target_type, 'severity', e.severity,
							  'summary', e.summary, 'details', e.details, 'suppressed', e.suppressed,
							  'dedup_key', e.dedup_key)::text;
END
$$;

/*
 * _alert_due(busy, max): the first pending delivery of each webhook route
 * not in busy (the routes with a request in flight), at most max of them,
 * oldest first.  Only the first: an event never overtakes an earlier one of
 * its route.  A delivery not yet due comes with its next_attempt_at alone
 * (the worker sleeps until then); a due one with everything the request
 * needs: the URL, the body, and the headers as "Name: value" lines (the
 * Idempotency-Key first, then the first 32 of the route's
 * options->'headers' by name; names that are not HTTP tokens, values with
 * control characters or longer than 4,096 characters, and names the worker
 * sets itself are left out).
 */
CREATE OR REPLACE FUNCTION depwatch_internal._alert_due(p_busy bigint[], p_max integer)
	RETURNS TABLE (route_id bigint, event_id bigint, next_attempt_at timestamptz, due boolean,
				   url text, body text, headers text, restricted boolean)
	LANGUAGE sql STABLE
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
	SELECT r.id, d.event_id, d.next_attempt_at, d.next_attempt_at <= clock_timestamp(),
		   CASE WHEN d.next_attempt_at <= clock_timestamp() THEN r.target END,
		   CASE WHEN d.next_attempt_at <= clock_timestamp() THEN depwatch_internal._alert_body(d.event_id, r.id) END,
		   CASE WHEN d.next_attempt_at <= clock_timestamp() THEN
				concat_ws(E'\n',
						  'Idempotency-Key: ' || regexp_replace(e.dedup_key || ':' || e.event || ':' || r.name,
																'[[:cntrl:]]', '', 'g'),
						  (SELECT string_agg(h.key || ': ' || h.value, E'\n' ORDER BY h.key)
							 FROM (SELECT h.key, h.value
									 FROM jsonb_each_text(CASE WHEN jsonb_typeof(r.options->'headers') = 'object'
															   THEN r.options->'headers' END) h
									WHERE h.key ~ '^[!#$%&''*+.^_`|~0-9A-Za-z-]{1,64}$'
									  AND h.value !~ '[[:cntrl:]]' AND length(h.value) <= 4096
									  AND lower(h.key) NOT IN ('idempotency-key', 'content-type',
															   'content-length', 'host', 'transfer-encoding')
									ORDER BY h.key LIMIT 32) h))
		   END,
		   NOT r.set_by_superuser
	  FROM depwatch.alert_route r
	 CROSS JOIN LATERAL (SELECT d.event_id, d.next_attempt_at
						   FROM depwatch.alert_delivery d
						  WHERE d.route_id = r.id AND d.state = 'pending'
						  ORDER BY d.event_id
						  LIMIT 1) d
	  JOIN depwatch.alert_event e ON e.id = d.event_id
	 WHERE r.channel = 'webhook' AND r.id <> ALL (p_busy)
	 ORDER BY d.next_attempt_at, r.id
	 LIMIT p_max
$$;

/*
 * _alert_record(routes, events, ok, errors, retry_for, backoff_max): the
 * answers of finished requests.  A success delivers; a failure counts the
 * attempt, keeps its error and waits 1 s doubling with each attempt, at most
 * backoff_max, and never past the event's recorded_at + retry_for: an
 * attempt that fails then makes the delivery failed.  A delivery no longer
 * pending (a route dropped, a row changed by hand) is left as it is.
 */
CREATE OR REPLACE FUNCTION depwatch_internal._alert_record(p_routes bigint[], p_events bigint[], p_ok boolean[],
										 p_errors text[], p_retry_for interval, p_backoff_max interval)
	RETURNS void
	LANGUAGE sql VOLATILE
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
	UPDATE depwatch.alert_delivery d
	   SET attempts = d.attempts + 1,
		   state = CASE WHEN a.ok THEN 'delivered'
						WHEN clock_timestamp() >= e.recorded_at + p_retry_for THEN 'failed'
						ELSE 'pending' END,
		   delivered_at = CASE WHEN a.ok THEN clock_timestamp() END,
		   next_attempt_at = CASE WHEN a.ok THEN d.next_attempt_at
							 ELSE least(clock_timestamp()
										+ least(p_backoff_max,
												interval '1 second' * power(2, least(d.attempts, 20))),
										greatest(e.recorded_at + p_retry_for, clock_timestamp())) END,
		   last_error = CASE WHEN a.ok THEN d.last_error ELSE left(a.error, 200) END
	  FROM unnest(p_routes, p_events, p_ok, p_errors) AS a(route_id, event_id, ok, error),
		   depwatch.alert_event e
	 WHERE d.route_id = a.route_id AND d.event_id = a.event_id
	   AND e.id = d.event_id AND d.state = 'pending'
$$;

-- A new or changed delivery or route wakes this database's worker at commit.
CREATE OR REPLACE FUNCTION depwatch_internal._alerts_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'dw_alerts_changed'
	LANGUAGE C;

CREATE OR REPLACE TRIGGER wake_alert_sender AFTER INSERT OR UPDATE ON alert_delivery
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._alerts_changed();

CREATE OR REPLACE TRIGGER wake_alert_sender AFTER INSERT OR UPDATE ON alert_route
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._alerts_changed();

/*
 * test_alert_route(name): a test event (event 'test', target_type 'route',
 * target the route's name, severity info) delivered to that route only;
 * returns its id.  A notify route is told at commit, like every event; a
 * webhook route's delivery is pending until the worker sends it.
 */
CREATE OR REPLACE FUNCTION test_alert_route(p_name text) RETURNS bigint
	LANGUAGE plpgsql SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp
	AS $$
DECLARE
	r depwatch.alert_route;
	v_id bigint;
BEGIN
	SELECT * INTO r FROM depwatch.alert_route WHERE name = p_name;
	IF r.id IS NULL THEN
		RAISE EXCEPTION 'alert route "%" does not exist', p_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'The routes are in depwatch.alert_route; add one with depwatch.add_alert_route().';
	END IF;
	v_id := nextval('depwatch.alert_event_id_seq');
	INSERT INTO depwatch.alert_event (id, at, event, target, target_type, severity, summary, details, dedup_key)
	VALUES (v_id, now(), 'test', r.name, 'route', 'info',
			format('depwatch test alert for route %s', r.name),
			jsonb_build_object('requested_by', session_user::text),
			format('test:%s:%s', r.name, v_id));
	IF r.channel = 'notify' THEN
		PERFORM pg_notify(r.target, v_id::text);
		INSERT INTO depwatch.alert_delivery (event_id, route_id, state, attempts, delivered_at)
		VALUES (v_id, r.id, 'delivered', 1, clock_timestamp());
	ELSE
		INSERT INTO depwatch.alert_delivery (event_id, route_id) VALUES (v_id, r.id);
	END IF;
	RETURN v_id;
END
$$;

COMMENT ON FUNCTION test_alert_route(text) IS
	'Appends a test event delivered to this route only; returns its id (see alert_delivery for how it went).';

COMMENT ON FUNCTION depwatch_internal._alert_body(bigint, bigint) IS
	'The body the worker POSTs for one event to one route, in the route''s format.';

COMMENT ON FUNCTION depwatch_internal._alert_due(bigint[], integer) IS
	'For the worker: the first pending delivery of each idle webhook route, with its request when due.';

COMMENT ON FUNCTION depwatch_internal._alert_record(bigint[], bigint[], boolean[], text[], interval, interval) IS
	'For the worker: records the answers of webhook requests (delivered, or backed off, or failed).';

COMMENT ON FUNCTION depwatch_internal._alerts_changed() IS
	'Trigger: wakes the probe worker when alert deliveries or routes change, at commit.';
