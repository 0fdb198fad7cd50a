
-- ---------------------------------------------------------------------------
-- The ledger reports run with the rights of the role that runs them
-- (doc/semantics.md, "Ledger contract").
--
-- In 0.2 impact, fee_waiver*, deposit_outflow*, classify_incident and
-- incident_report were SECURITY DEFINER: they read the bank's ledger with
-- the extension owner's (a superuser's) rights.  They checked a bound
-- relation by oid, then planned SQL that named it again: its owner could
-- put a view of their own under the name in between, and its functions ran
-- as a superuser.  Now:
--   * the reports are SECURITY INVOKER: whoever runs them reads the ledger
--     with their own rights (the bank grants SELECT on its ledger relations
--     to those who may run them), so a relation's owner can gain at most
--     the rights of that role, never depwatch's;
--   * each bound relation is pinned (AccessShareLock on its oid, to the end
--     of the transaction) before it is checked, and its name must still
--     lead to the pinned oid after that: what was checked is what is read;
--   * a superuser runs them only over relations in schemas superusers own
--     (the owner of a schema could rename it and put another relation
--     under the bound name, which no lock on the relation prevents).
-- ---------------------------------------------------------------------------
CREATE FUNCTION _pin_relation(rel regclass) RETURNS regclass
	AS 'MODULE_PATHNAME', 'dw_pin_relation'
	LANGUAGE C STABLE STRICT;

-- _check_ledger_relation: rel follows the contract, or one error naming
-- every missing and every mistyped column.  Views and foreign tables (as
-- the relation or one of its partitions or children) and the types of the
-- contract columns must be a superuser's: the reports would otherwise run
-- their owner's functions with the rights of whoever runs the report.
CREATE OR REPLACE FUNCTION _check_ledger_relation(contract text, rel regclass) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	missing text[];
	mistyped text[];
	untrusted text;
BEGIN
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) NOT IN ('r', 'p', 'v', 'm', 'f') THEN
		RAISE EXCEPTION '% cannot be bound as %: it is not a table or view', rel, contract
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Bind a table, a view, a materialized view or a foreign table.';
	END IF;
	WITH RECURSIVE tree(oid) AS (
		SELECT rel::oid
		UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
	SELECT string_agg(format('%s (owned by %s)', c.oid::regclass, c.relowner::regrole), ', ')
	  INTO untrusted
	FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_roles r ON r.oid = c.relowner
	WHERE c.relkind IN ('v', 'f') AND NOT r.rolsuper;
	IF untrusted IS NOT NULL THEN
		RAISE EXCEPTION '% cannot be bound as %: it is, or holds, a view or foreign table of a role who is not a superuser: %',
				rel, contract, untrusted
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The functions a view calls would run with the rights of whoever runs a report.',
				  HINT = 'Bind a table, or have a superuser own the view (ALTER VIEW ... OWNER TO).';
	END IF;
	-- ids of any type are cast to text, which runs the type's casts
	SELECT string_agg(format('%s is of type %s, which belongs to %s', a.attname,
							 format_type(a.atttypid, a.atttypmod), t.typowner::regrole), '; ' ORDER BY a.attname)
	  INTO untrusted
	FROM depwatch._ledger_contract() k
	JOIN pg_attribute a ON a.attrelid = rel AND a.attname = k.col AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	JOIN pg_roles r ON r.oid = t.typowner
	WHERE k.contract = contract AND NOT r.rolsuper;
	IF untrusted IS NOT NULL THEN
		RAISE EXCEPTION '% cannot be bound as %: its columns have types that belong to a role who is not a superuser',
				rel, contract
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = untrusted || '.  The reports cast ids to text, and that role''s casts would run with the rights of whoever runs a report.',
				  HINT = 'Bind a table whose id columns have built-in types, or types a superuser owns.';
	END IF;
	SELECT array_agg(k.col ORDER BY k.col) FILTER (WHERE a.attname IS NULL AND NOT k.optional),
		   array_agg(format('%s is %s, not %s', k.col, format_type(a.atttypid, a.atttypmod), k.type)
					 ORDER BY k.col)
			   FILTER (WHERE a.attname IS NOT NULL AND k.type IS NOT NULL
						 AND a.atttypid <> k.type
						 AND NOT (k.type = 'text'::regtype AND a.atttypid = 'varchar'::regtype))
	  INTO missing, mistyped
	FROM depwatch._ledger_contract() k
	LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = k.col AND a.attnum > 0
							AND NOT a.attisdropped
	WHERE k.contract = contract;
	IF missing IS NOT NULL OR mistyped IS NOT NULL THEN
		RAISE EXCEPTION '% does not follow the % contract', rel, contract
			USING ERRCODE = 'invalid_table_definition',
				  DETAIL = concat_ws(' ',
					  'Missing: ' || array_to_string(missing, ', ') || '.',
					  'Wrong types: ' || array_to_string(mistyped, '; ') || '.'),
				  HINT = 'Bind a view over your table that renames and casts the columns; README, "Binding a ledger", lists the contract.';
	END IF;
END
$$;

-- _ledger: the relation bound for a contract (NULL when it is optional and
-- unbound), readable by the current user, pinned for the rest of the
-- transaction and checked again: it may have changed since it was bound.
CREATE OR REPLACE FUNCTION _ledger(contract text, optional boolean DEFAULT false) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text;
	rel regclass;
	schema_owner regrole;
BEGIN
	SELECT l.relation INTO name FROM depwatch.ledger_binding l WHERE l.contract = contract;
	IF name IS NULL THEN
		IF optional THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'no % relation is bound', contract
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Bind the bank''s ledger first with bind_ledger().';
	END IF;
	rel := to_regclass(name);
	IF rel IS NULL THEN
		RAISE EXCEPTION 'the bound % relation % no longer exists', contract, name
			USING ERRCODE = 'undefined_table',
				  HINT = 'Bind the ledger again with bind_ledger().';
	END IF;
	IF NOT has_table_privilege(rel, 'SELECT') THEN
		RAISE EXCEPTION '% may not read %, the bound % relation', current_user, rel, contract
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The ledger reports read the bank''s ledger with the rights of the role that runs them.',
				  HINT = format('A superuser grants it, such as GRANT SELECT ON %s TO %I.', rel, current_user);
	END IF;
	PERFORM depwatch._pin_relation(rel);
	IF to_regclass(name) IS DISTINCT FROM rel THEN
		RAISE EXCEPTION 'the bound % relation % was replaced while a report started to read it', contract, name
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Run the report again: it checks the relation now under that name.';
	END IF;
	IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) THEN
		-- pg_database_owner (the owner of schema public) acts for the
		-- database's owner
		SELECT o.owner::regrole INTO schema_owner
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL (
			SELECT CASE WHEN n.nspowner = 'pg_database_owner'::regrole
						THEN (SELECT d.datdba FROM pg_database d WHERE d.datname = current_database())
						ELSE n.nspowner END AS owner) o
		JOIN pg_roles r ON r.oid = o.owner
		WHERE c.oid = rel AND NOT r.rolsuper;
		IF schema_owner IS NOT NULL THEN
			RAISE EXCEPTION 'a superuser does not run ledger reports over %: its schema belongs to %, who is not a superuser',
					rel, schema_owner
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = 'The owner of a schema can rename it and put a relation of their own under the bound name while a report reads it.',
					  HINT = 'Run the reports as a role that is not a superuser (a member of depwatch_reader with SELECT on the ledger), or have a superuser own the schema.';
		END IF;
	END IF;
	PERFORM depwatch._check_ledger_relation(contract, rel);
	RETURN rel;
END
$$;

ALTER FUNCTION impact(bigint) SECURITY INVOKER;
ALTER FUNCTION fee_waiver(bigint, text) SECURITY INVOKER;
ALTER FUNCTION fee_waiver_summary(bigint, text) SECURITY INVOKER;
ALTER FUNCTION fee_waiver_cost(tstzrange, text) SECURITY INVOKER;
ALTER FUNCTION deposit_outflow(bigint, interval, interval, text) SECURITY INVOKER;
ALTER FUNCTION deposit_outflow_summary(bigint, interval, interval, text) SECURITY INVOKER;
ALTER FUNCTION classify_incident(bigint, text) SECURITY INVOKER;
ALTER FUNCTION incident_report(bigint) SECURITY INVOKER;
-- The capability windows come from depwatch's own catalog (the timelines
-- read dependency options such as slo, which readers may not read):
-- that part keeps the extension's rights and touches no ledger.
ALTER FUNCTION _incident_windows(depwatch.incident) SECURITY DEFINER;

-- What the reports call, now with the rights of those who run them.  None
-- of these writes anything; each reads what depwatch_reader may read.
REVOKE ALL ON FUNCTION _pin_relation(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	_pin_relation(regclass),
	_ledger(text, boolean), _ledger_contract(), _check_ledger_relation(text, regclass),
	_incident(bigint), _incident_dependencies(depwatch.incident), _incident_windows(depwatch.incident),
	_in_windows(regclass, text, text, boolean), _impact_query(regclass, regclass),
	_check_period(tstzrange, text), _incident_customers_query(regclass, regclass),
	_fee_policy(text), _fee_waiver_query(regclass, regclass),
	_outflow_buckets(depwatch.incident, interval, interval, text),
	_outflow_query(regclass, regclass, regclass),
	_incident_measures(depwatch.incident), _dora_criteria(jsonb, jsonb), _kr_fss_criteria(jsonb, jsonb),
	_dora_major(jsonb, jsonb), _combined_measures(jsonb[]), _combined_facts(jsonb[]),
	_reporting_deadlines(jsonb, boolean, boolean)
	TO depwatch_reader;
