-- Economics: the ledger binding, fee policies and the fee schedule.
-- Tables are created once, at install; an update changes them in src/update/.

-- Append-only, SHA-256 hash-chained log of every change to the tables
-- above.  audit_head holds the hash of the last row: writers take its row
-- lock, so the chain never forks, and verify_audit() can tell when rows at
-- the end were removed.
-- Fee waiver policies, and the fee schedule that prices waived fees.
CREATE SEQUENCE fee_policy_id_seq;
CREATE TABLE fee_policy (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.fee_policy_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
	fee_types		text[],
	capabilities	text[],
	grace			interval NOT NULL DEFAULT '0' CHECK (grace >= interval '0'),
	per_customer_cap numeric CHECK (per_customer_cap >= 0),
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE fee_policy_id_seq OWNED BY fee_policy.id;
CREATE SEQUENCE fee_schedule_id_seq;
CREATE TABLE fee_schedule (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.fee_schedule_id_seq'),
	fee_type		text NOT NULL,
	capability		text,
	amount			numeric NOT NULL CHECK (amount >= 0),
	effective		tstzrange NOT NULL CHECK (NOT isempty(effective) AND NOT lower_inf(effective)),
	EXCLUDE USING gist (fee_type WITH =, (coalesce(capability, '')) WITH =, effective WITH &&)
);
ALTER SEQUENCE fee_schedule_id_seq OWNED BY fee_schedule.id;
-- The bank's ledger relations, by name (pg_dump keeps names, not oids).
CREATE SEQUENCE ledger_binding_id_seq;
CREATE TABLE ledger_binding (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.ledger_binding_id_seq'),
	contract		text NOT NULL UNIQUE
						CHECK (contract IN ('transfers', 'applications', 'balances', 'accounts')),
	relation		text NOT NULL,
	bound_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE ledger_binding_id_seq OWNED BY ledger_binding.id;
SELECT pg_catalog.pg_extension_config_dump('ledger_binding', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_binding_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fee_policy', '');
SELECT pg_catalog.pg_extension_config_dump('fee_policy_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fee_schedule', '');
SELECT pg_catalog.pg_extension_config_dump('fee_schedule_id_seq', '');
COMMENT ON TABLE ledger_binding IS 'The bank''s ledger relations the economics reports read (bind_ledger())';
COMMENT ON COLUMN ledger_binding.contract IS 'transfers, applications, balances or accounts';
COMMENT ON COLUMN ledger_binding.relation IS 'Schema-qualified name of the bound table or view';
COMMENT ON COLUMN ledger_binding.bound_at IS 'When it was bound';
COMMENT ON TABLE fee_policy IS 'Which fees an incident''s waiver covers (add_fee_policy())';
COMMENT ON COLUMN fee_policy.fee_types IS 'Fee types covered; NULL: all';
COMMENT ON COLUMN fee_policy.capabilities IS 'Capabilities (ledger capability column) covered; NULL: all';
COMMENT ON COLUMN fee_policy.grace IS 'How long after the incident''s end fees still count';
COMMENT ON COLUMN fee_policy.per_customer_cap IS 'Most waived per customer; NULL: no cap';
COMMENT ON TABLE fee_schedule IS 'Price of each fee type (per capability, or NULL for any) over time (set_fee_schedule())';
