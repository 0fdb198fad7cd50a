-- Redress beyond fees (SPEC section 9): tiered compensation per customer
-- of an incident.  Created once, at install; the 0.2 -> 0.3 update creates
-- it too (Makefile, SQL_TABLES_NEW_IN_0.3).
CREATE SEQUENCE redress_policy_id_seq;
CREATE TABLE redress_policy (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.redress_policy_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
	capabilities	text[],
	basis			text NOT NULL CHECK (basis IN ('failed_value', 'lost_activity')),
	tiers			jsonb NOT NULL CHECK (jsonb_typeof(tiers) = 'array' AND jsonb_array_length(tiers) > 0),
	cap				numeric CHECK (cap >= 0),
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE redress_policy_id_seq OWNED BY redress_policy.id;
SELECT pg_catalog.pg_extension_config_dump('redress_policy', '');
SELECT pg_catalog.pg_extension_config_dump('redress_policy_id_seq', '');
COMMENT ON TABLE redress_policy IS 'How an incident''s customers are compensated: a tier table over failed value or lost activity (add_redress_policy())';
COMMENT ON COLUMN redress_policy.name IS 'Unique lower-case name';
COMMENT ON COLUMN redress_policy.capabilities IS 'Capabilities whose down windows and ledger rows count; NULL: all';
COMMENT ON COLUMN redress_policy.basis IS 'failed_value (|amount| of failed transfers in the down windows) or lost_activity (the customer''s usual posted |amount| in those windows minus what they posted)';
COMMENT ON COLUMN redress_policy.tiers IS 'Ascending [{"up_to": n, "pay": m}, ...]: an amount up to up_to (inclusive) is paid pay; above the last tier, the last tier''s pay';
COMMENT ON COLUMN redress_policy.cap IS 'Most one customer is paid; NULL: no cap';
COMMENT ON COLUMN redress_policy.created_at IS 'When it was added';
