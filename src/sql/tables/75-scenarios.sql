-- Saved scenarios (SPEC section 9): what resilience_report() runs again at
-- the end of its period.
-- Tables are created once, at install; an update changes them in src/update/.
CREATE SEQUENCE scenario_id_seq;
CREATE TABLE scenario (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.scenario_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
	lose			text[] NOT NULL CHECK (cardinality(lose) >= 1 AND array_position(lose, NULL) IS NULL),
	lasts			interval NOT NULL CHECK (lasts > interval '0' AND lasts <= interval '366 days'),
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE scenario_id_seq OWNED BY scenario.id;
SELECT pg_catalog.pg_extension_config_dump('scenario', '');
SELECT pg_catalog.pg_extension_config_dump('scenario_id_seq', '');
COMMENT ON TABLE scenario IS 'A severe but plausible scenario: dependencies, sites or vendors lost together for a time; resilience_report() runs it again';
COMMENT ON COLUMN scenario.lose IS 'Names of dependencies, sites or vendors, matched when the scenario runs';
COMMENT ON COLUMN scenario.lasts IS 'How long they are lost';
