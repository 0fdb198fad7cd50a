-- Alerts: the tables (see doc/reference.md, "Alerts").  Events are appended
-- in the transaction of the change that causes them; a delivery row per
-- event and matching route is what the worker sends.
CREATE SEQUENCE alert_route_id_seq;
CREATE TABLE alert_route (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.alert_route_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
	channel			text NOT NULL CHECK (channel IN ('notify', 'webhook')),
	target			text NOT NULL,
	format			text NOT NULL DEFAULT 'json'
						CHECK (format IN ('json', 'alertmanager', 'slack', 'pagerduty')),
	events			text[],
	targets			text[],
	min_severity	text NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'critical')),
	options			jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
	set_by_superuser boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE alert_route_id_seq OWNED BY alert_route.id;

CREATE SEQUENCE alert_event_id_seq;
CREATE TABLE alert_event (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.alert_event_id_seq'),
	at				timestamptz NOT NULL,
	recorded_at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	event			text NOT NULL CHECK (event IN (
						'dependency_down', 'dependency_up', 'dependency_degraded', 'dependency_recovered',
						'capability_down', 'capability_degraded', 'capability_up',
						'tolerance_50', 'tolerance_80', 'tolerance_breached',
						'burn_rate_page', 'burn_rate_page_resolved',
						'burn_rate_ticket', 'burn_rate_ticket_resolved',
						'report_due', 'test')),
	target			text NOT NULL,
	target_type		text NOT NULL CHECK (target_type IN ('dependency', 'capability', 'incident', 'route')),
	severity		text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
	summary			text NOT NULL,
	details			jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
	suppressed		boolean NOT NULL DEFAULT false,
	dedup_key		text NOT NULL,
	-- a replay after a crash makes the same condition's event again: once
	UNIQUE (dedup_key, event)
);
ALTER SEQUENCE alert_event_id_seq OWNED BY alert_event.id;
CREATE INDEX alert_event_target ON alert_event (target_type, target, id);

CREATE TABLE alert_delivery (
	event_id		bigint NOT NULL REFERENCES alert_event ON DELETE CASCADE,
	route_id		bigint NOT NULL REFERENCES alert_route ON DELETE CASCADE,
	state			text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
	attempts		int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at	timestamptz NOT NULL DEFAULT clock_timestamp(),
	delivered_at	timestamptz CHECK ((delivered_at IS NOT NULL) = (state = 'delivered')),
	last_error		text,
	PRIMARY KEY (route_id, event_id)
);
CREATE INDEX alert_delivery_pending ON alert_delivery (route_id, event_id) WHERE state = 'pending';
CREATE INDEX alert_delivery_event ON alert_delivery (event_id);

-- Regulatory reports sent (mark_report_sent): a sent report makes no more
-- report_due reminders.  No foreign key to incident, here or in
-- alert_deadline: pg_dump restores a referenced table first, and incident
-- would then be restored (and audited) before audit_log, which a restore
-- must load first.
CREATE TABLE alert_report_sent (
	incident_id		bigint NOT NULL,
	report			text NOT NULL CHECK (report IN ('dora_initial', 'dora_intermediate', 'dora_final',
													'kr_fss_initial')),
	sent_at			timestamptz NOT NULL,
	reference		text,
	recorded_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (incident_id, report)
);

-- The reporting deadlines of the incidents that may still have one due,
-- as incident_report() computes them, refreshed by _alert_tick() once a
-- minute: the reminders are checked against it at every tick without
-- classifying incidents at every tick.
CREATE TABLE alert_deadline (
	incident_id		bigint NOT NULL,
	report			text NOT NULL,
	due_at			timestamptz NOT NULL,
	assumed			boolean NOT NULL DEFAULT false,
	PRIMARY KEY (incident_id, report)
);

-- When _alert_tick() last ran, and last evaluated what it does less often
-- than every call (burn rates, deadlines): one row.
CREATE TABLE alert_tick_state (
	one				boolean PRIMARY KEY DEFAULT true CHECK (one),
	ticked_at		timestamptz,
	burn_rates_at	timestamptz,
	deadlines_at	timestamptz
);

-- pg_dump keeps every table, as for the rest of the catalog: the routes,
-- the events and their deliveries, the reports marked sent, and the
-- deadline cache and the tick's state (both rebuilt by the next tick).
SELECT pg_catalog.pg_extension_config_dump('alert_route', '');
SELECT pg_catalog.pg_extension_config_dump('alert_route_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alert_event', '');
SELECT pg_catalog.pg_extension_config_dump('alert_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alert_delivery', '');
SELECT pg_catalog.pg_extension_config_dump('alert_report_sent', '');
SELECT pg_catalog.pg_extension_config_dump('alert_deadline', '');
SELECT pg_catalog.pg_extension_config_dump('alert_tick_state', '');

COMMENT ON TABLE alert_route IS 'Where alert events are sent: a notify channel or a webhook, which events, targets and severities (add_alert_route())';
COMMENT ON TABLE alert_event IS 'Alert events, appended in the transaction of the change that causes them';
COMMENT ON TABLE alert_delivery IS 'One row per event and route it goes to: pending, delivered or failed';
COMMENT ON TABLE alert_report_sent IS 'Regulatory reports marked sent (mark_report_sent()): no more report_due reminders for them';
COMMENT ON TABLE alert_deadline IS 'Reporting deadlines of recent incidents as incident_report() computes them, refreshed by the worker once a minute';
COMMENT ON TABLE alert_tick_state IS 'When the worker''s alert tick last ran, and last evaluated burn rates and deadlines';
COMMENT ON COLUMN alert_event.at IS 'When the condition began: the outage''s start or end, the exact threshold instant of a tolerance or burn-rate event, the deadline (or one hour before it)';
COMMENT ON COLUMN alert_event.recorded_at IS 'When depwatch recorded the event';
COMMENT ON COLUMN alert_event.suppressed IS 'A dependency event while the dependency named by its site was down: sent only to routes with options {"suppressed": true}';
COMMENT ON COLUMN alert_event.dedup_key IS 'Names the condition (outage run, capability state run, tolerance run, burn-rate episode, deadline): the opening and the resolving event share it';
COMMENT ON COLUMN alert_event.id IS 'Event id: ids become visible in commit order, and each route''s events are delivered in id order';
COMMENT ON COLUMN alert_event.event IS 'What happened (doc/reference.md, "Alerts")';
COMMENT ON COLUMN alert_event.target IS 'Dependency or capability name, incident id, or route name (test)';
COMMENT ON COLUMN alert_event.target_type IS 'dependency, capability, incident or route';
COMMENT ON COLUMN alert_event.severity IS 'critical (down, breached, page), warning (degraded, 80 %, ticket, report_due) or info';
COMMENT ON COLUMN alert_event.summary IS 'One line for people';
COMMENT ON COLUMN alert_event.details IS 'What the event is about: outage, failed groups, dependencies down, rates, deadline';
COMMENT ON COLUMN alert_delivery.event_id IS 'The event';
COMMENT ON COLUMN alert_delivery.route_id IS 'The route it goes to';
COMMENT ON COLUMN alert_delivery.state IS 'pending, delivered or failed';
COMMENT ON COLUMN alert_delivery.attempts IS 'Sends tried';
COMMENT ON COLUMN alert_delivery.next_attempt_at IS 'When the next try is due while pending';
COMMENT ON COLUMN alert_delivery.delivered_at IS 'When the receiver accepted it (a notify route: at commit)';
COMMENT ON COLUMN alert_delivery.last_error IS 'Why the last try failed';
COMMENT ON COLUMN alert_route.name IS 'Unique lower-case name';
COMMENT ON COLUMN alert_route.channel IS 'notify (pg_notify(target, event id)) or webhook';
COMMENT ON COLUMN alert_route.target IS 'LISTEN channel or webhook URL (unmasked: readers use alert_routes)';
COMMENT ON COLUMN alert_route.format IS 'json, alertmanager, slack or pagerduty';
COMMENT ON COLUMN alert_route.events IS 'Events it takes; NULL: all';
COMMENT ON COLUMN alert_route.targets IS 'Targets it takes; NULL: all';
COMMENT ON COLUMN alert_route.min_severity IS 'Lowest severity it takes (events that end what it had always go)';
COMMENT ON COLUMN alert_route.options IS 'suppressed (boolean), headers, routing_key, and the sender''s options';
COMMENT ON COLUMN alert_route.set_by_superuser IS 'Whether a superuser set its channel, target and options last';
COMMENT ON COLUMN alert_report_sent.report IS 'dora_initial, dora_intermediate, dora_final or kr_fss_initial';
COMMENT ON COLUMN alert_report_sent.sent_at IS 'When it was sent';
COMMENT ON COLUMN alert_report_sent.reference IS 'The regulator''s or the bank''s reference for it';


