-- ---------------------------------------------------------------------------
-- Alerts: the tables (see doc/reference.md, "Alerts").  Events are appended
-- in the transaction of the change that causes them; a delivery row per
-- event and matching route is what the worker sends.
-- ---------------------------------------------------------------------------
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

-- routes, events and their deliveries are the bank's data: pg_dump keeps them
SELECT pg_catalog.pg_extension_config_dump('alert_route', '');
SELECT pg_catalog.pg_extension_config_dump('alert_route_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alert_event', '');
SELECT pg_catalog.pg_extension_config_dump('alert_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('alert_delivery', '');
