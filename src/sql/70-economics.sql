-- Incident economics over the bank's ledger: binding, affected rows, fee
-- waivers, deposit outflow (doc/semantics.md, "Ledger contract").

-- _ledger_contract: the columns each bound relation must have.  A NULL
-- type takes any type (ids are compared as text); text also takes varchar.
-- It pins search_path like every other function (test/pgtap/security.sql
-- holds them all to it), although that stops it being inlined into the
-- checks every report makes: about 0.25 ms a report.
CREATE OR REPLACE FUNCTION depwatch_internal._ledger_contract()
	RETURNS TABLE(contract text, col text, type regtype, optional boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES ('transfers', 'txn_id', NULL::regtype, false),
		   ('transfers', 'account_id', NULL, false),
		   ('transfers', 'customer_id', NULL, false),
		   ('transfers', 'occurred_at', 'pg_catalog.timestamptz', false),
		   ('transfers', 'amount', 'pg_catalog.numeric', false),
		   ('transfers', 'fee', 'pg_catalog.numeric', false),
		   ('transfers', 'fee_type', 'pg_catalog.text', false),
		   ('transfers', 'capability', 'pg_catalog.text', false),
		   ('transfers', 'status', 'pg_catalog.text', false),
		   ('transfers', 'external', 'pg_catalog.bool', false),
		   ('transfers', 'partner_fee', 'pg_catalog.numeric', true),
		   ('applications', 'application_id', NULL, false),
		   ('applications', 'customer_id', NULL, false),
		   ('applications', 'occurred_at', 'pg_catalog.timestamptz', false),
		   ('applications', 'status', 'pg_catalog.text', false),
		   ('applications', 'reason', 'pg_catalog.text', false),
		   ('balances', 'account_id', NULL, false),
		   ('balances', 'customer_id', NULL, false),
		   ('balances', 'as_of', 'pg_catalog.timestamptz', false),
		   ('balances', 'balance', 'pg_catalog.numeric', false),
		   ('accounts', 'account_id', NULL, false),
		   ('accounts', 'customer_id', NULL, false),
		   ('accounts', 'opened_at', 'pg_catalog.timestamptz', false),
		   ('accounts', 'closed_at', 'pg_catalog.timestamptz', false)
$$;

-- _check_ledger_relation: rel follows the contract, or one error naming
-- every missing and every mistyped column.  Views and foreign tables (as
-- the relation or one of its partitions or children) and the types of the
-- contract columns must be a superuser's: the reports would otherwise run
-- their owner's functions with the rights of whoever runs the report.
CREATE OR REPLACE FUNCTION depwatch_internal._check_ledger_relation(contract text, rel regclass) RETURNS void
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
	-- a foreign table reads through its server with the user mapping of
	-- whoever runs the report: the server's owner decides where that
	-- login (and its password) goes
	WITH RECURSIVE tree(oid) AS (
		SELECT rel::oid
		UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
	SELECT string_agg(format('%s reads through server %I (owned by %s)', f.ftrelid::regclass, s.srvname,
							 s.srvowner::regrole), ', ')
	  INTO untrusted
	FROM tree t JOIN pg_foreign_table f ON f.ftrelid = t.oid
	JOIN pg_foreign_server s ON s.oid = f.ftserver
	JOIN pg_roles r ON r.oid = s.srvowner
	WHERE NOT r.rolsuper;
	IF untrusted IS NOT NULL THEN
		RAISE EXCEPTION '% cannot be bound as %: it is, or holds, a foreign table whose server belongs to a role who is not a superuser: %',
				rel, contract, untrusted
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The owner of a foreign server sets where it connects, and a report connects with the user mapping of whoever runs it.',
				  HINT = 'Have a superuser own the server (ALTER SERVER ... OWNER TO).';
	END IF;
	-- ids of any type are cast to text, which runs the type's casts
	SELECT string_agg(format('%s is of type %s, which belongs to %s', a.attname,
							 format_type(a.atttypid, a.atttypmod), t.typowner::regrole), '; ' ORDER BY a.attname)
	  INTO untrusted
	FROM depwatch_internal._ledger_contract() k
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
	FROM depwatch_internal._ledger_contract() k
	LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = k.col AND a.attnum > 0
							AND NOT a.attisdropped
	WHERE k.contract = contract;
	IF missing IS NOT NULL OR mistyped IS NOT NULL THEN
		RAISE EXCEPTION '% does not follow the % contract', rel, contract
			USING ERRCODE = 'invalid_table_definition',
				  DETAIL = concat_ws(' ',
					  'Missing: ' || array_to_string(missing, ', ') || '.',
					  'Wrong types: ' || array_to_string(mistyped, '; ') || '.'),
				  HINT = 'Bind a view over your table that renames and casts the columns; README, "Binding a real ledger", lists the contract.';
	END IF;
END
$$;

-- bind_ledger binds the bank's relations (tables, views or foreign
-- tables); relations not given are unbound.  The caller must be able to
-- read each one: depwatch reads them for its reports, and must not read
-- more for anyone.
CREATE OR REPLACE FUNCTION bind_ledger(transfers regclass, applications regclass DEFAULT NULL,
							balances regclass DEFAULT NULL, accounts regclass DEFAULT NULL)
	RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	b record;
BEGIN
	IF transfers IS NULL THEN
		RAISE EXCEPTION 'transfers must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Every report reads the transfers; bind them, such as bind_ledger(''bank.transfers'').';
	END IF;
	FOR b IN SELECT * FROM (VALUES ('transfers', transfers), ('applications', applications),
								   ('balances', balances), ('accounts', accounts)) v(contract, rel)
			 WHERE v.rel IS NOT NULL LOOP
		IF NOT has_table_privilege(depwatch_internal._audit_actor(), b.rel, 'SELECT') THEN
			RAISE EXCEPTION '% may not read %', depwatch_internal._audit_actor(), b.rel
				USING ERRCODE = 'insufficient_privilege',
					  HINT = 'Bind only relations you can read yourself.';
		END IF;
		PERFORM depwatch_internal._check_ledger_relation(b.contract, b.rel);
	END LOOP;

	DELETE FROM depwatch.ledger_binding l
	WHERE l.contract NOT IN (SELECT v.c FROM (VALUES ('transfers', transfers), ('applications', applications),
															('balances', balances), ('accounts', accounts)) v(c, r)
							 WHERE v.r IS NOT NULL);
	INSERT INTO depwatch.ledger_binding AS l (contract, relation)
	SELECT v.c, format('%I.%I', n.nspname, c.relname)
	FROM (VALUES ('transfers', transfers), ('applications', applications),
				 ('balances', balances), ('accounts', accounts)) v(c, r)
	JOIN pg_class c ON c.oid = v.r
	JOIN pg_namespace n ON n.oid = c.relnamespace
	ON CONFLICT (contract) DO UPDATE SET relation = excluded.relation, bound_at = now()
		WHERE l.relation IS DISTINCT FROM excluded.relation;
END
$$;
COMMENT ON FUNCTION bind_ledger(regclass, regclass, regclass, regclass) IS 'Bind the bank''s ledger relations (tables or views following the ledger contract); unnamed ones are unbound';

-- _ledger: the relation bound for a contract (NULL when it is optional and
-- unbound), readable by the current user, pinned for the rest of the
-- transaction and checked again: it may have changed since it was bound.
CREATE OR REPLACE FUNCTION depwatch_internal._ledger(contract text, optional boolean DEFAULT false) RETURNS regclass
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
	PERFORM depwatch_internal._pin_relation(rel);
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
	PERFORM depwatch_internal._check_ledger_relation(contract, rel);
	RETURN rel;
END
$$;

-- _incident: an incident for a report, which takes now as the end of one
-- still open (and says so).
CREATE OR REPLACE FUNCTION depwatch_internal._incident(incident bigint) RETURNS depwatch.incident
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident_row(incident);
BEGIN
	IF i.ended_at IS NULL THEN
		RAISE NOTICE 'incident % is still open: reports take now as its end', i.id;
	END IF;
	RETURN i;
END
$$;

-- _incident_dependencies: those named at open_incident, or, when none
-- were, every dependency with a down outage overlapping the incident.
CREATE OR REPLACE FUNCTION depwatch_internal._incident_dependencies(i depwatch.incident) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT coalesce(
		(SELECT array_agg(x.dependency_id ORDER BY x.dependency_id)
		 FROM depwatch.incident_dependency x WHERE x.incident_id = i.id),
		(SELECT array_agg(DISTINCT o.dependency_id)
		 FROM depwatch.outage o
		 WHERE o.kind = 'down'
		   AND o.during && tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)')),
		'{}')
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._capability_down_windows(lo timestamptz, hi timestamptz, dependencies bigint[])
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_capability_down_windows'
	LANGUAGE C STABLE STRICT ROWS 20;

-- _incident_windows: each capability's down windows within the incident,
-- made by the down outages of the incident's dependencies.
CREATE OR REPLACE FUNCTION depwatch_internal._incident_windows(i depwatch.incident)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
LANGUAGE sql STABLE ROWS 20
SET search_path = pg_catalog, depwatch, pg_temp
SECURITY DEFINER
AS $$
	SELECT w.* FROM depwatch_internal._capability_down_windows(i.started_at, coalesce(i.ended_at, now()),
													   depwatch_internal._incident_dependencies(i)) w
$$;

-- _in_windows: SQL for the rows of a ledger relation inside each capability
-- window of "windows" (anything with capability, started_at, ended_at),
-- read window by window through occurred_at, so the bank's index on it is
-- used: OFFSET 0 keeps the planner from flattening the per-window scans
-- into one join over the whole ledger (sql/impact.sql shows the plan).
-- Each window's bounds reach the scan as plain parameters, which
-- postgres_fdw sends to a foreign ledger (Remote SQL: occurred_at >= $1
-- AND occurred_at < $2; test/integration/ledger_fdw.sh): a windows source
-- must give them as columns, not as expressions over a range.
-- With own_capability, only the rows of the window's capability; with a
-- condition (over x), only the rows it holds for, tested in the scan: a
-- test on the rows it returns would stay above OFFSET 0, and postgres_fdw
-- would send every row of the window across to be tested here.
CREATE OR REPLACE FUNCTION depwatch_internal._in_windows(relation regclass, columns text, windows text, own_capability boolean,
														 condition text)
	RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$SELECT w.capability, %2$s FROM %3$s w CROSS JOIN LATERAL (
				SELECT %2$s FROM %1$s x
				WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at%4$s%5$s
				OFFSET 0) x$q$,
		relation, columns, windows,
		CASE WHEN own_capability THEN ' AND x.capability = w.capability' ELSE '' END,
		' AND (' || condition || ')')
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._in_windows(relation regclass, columns text, windows text, own_capability boolean)
	RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT depwatch_internal._in_windows(relation, columns, windows, own_capability, NULL)
$$;

-- _impact_query: the query impact() runs ($1: the incident) over the bound
-- relations, each capability window reading only its own rows.
CREATE OR REPLACE FUNCTION depwatch_internal._impact_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH w AS MATERIALIZED (SELECT * FROM depwatch_internal._incident_windows($1)),
		t AS (
			SELECT r.capability, r.customer_id::text AS customer_id, r.status, r.amount FROM (%4$s) r),
		a AS (
			SELECT r.customer_id::text AS customer_id, r.status FROM (%5$s) r
			WHERE r.capability = 'account_opening' AND %3$L),
		per_capability AS (
			SELECT t.capability, count(*) AS attempted, count(*) FILTER (WHERE t.status = 'failed') AS failed,
				   coalesce(sum(abs(t.amount)) FILTER (WHERE t.status = 'failed'), 0) AS failed_amount
			FROM t GROUP BY t.capability),
		customers AS (
			-- not a UNION: hashing it would size its table for the planner's
			-- guess of the rows (100,000s), not for the few there are
			SELECT c.capability,
				   count(DISTINCT c.customer_id) + max((c.customer_id IS NULL)::int) AS customers
			FROM (SELECT t.capability, t.customer_id FROM t
				  UNION ALL SELECT 'account_opening', a.customer_id FROM a) c
			GROUP BY c.capability)
		SELECT ws.capability, ws.started_at, ws.ended_at,
			   coalesce(p.attempted, 0), coalesce(p.failed, 0), coalesce(c.customers, 0),
			   coalesce(p.failed_amount, 0),
			   CASE WHEN ws.capability = 'account_opening' AND %3$L THEN
					(SELECT count(*) FROM a WHERE a.status = 'failed') END
		FROM (SELECT w.capability, min(w.started_at) AS started_at, max(w.ended_at) AS ended_at
			  FROM w GROUP BY w.capability) ws
		LEFT JOIN per_capability p ON p.capability = ws.capability
		LEFT JOIN customers c ON c.capability = ws.capability
		ORDER BY ws.started_at, ws.capability
	$q$, transfers, coalesce(applications, transfers), applications IS NOT NULL,
		depwatch_internal._in_windows(transfers, 'x.customer_id, x.status, x.amount', 'w', true),
		depwatch_internal._in_windows(coalesce(applications, transfers), 'x.customer_id, x.status',
							 '(SELECT * FROM w WHERE w.capability = ''account_opening'')', false))
$$;

-- impact: per capability the incident took down, what it did to the
-- ledger (doc/semantics.md, "Affected rows").
CREATE OR REPLACE FUNCTION impact(incident bigint)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz,
				  attempted bigint, failed bigint, customers bigint, failed_amount numeric,
				  applications_failed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
BEGIN
	RETURN QUERY EXECUTE depwatch_internal._impact_query(depwatch_internal._ledger('transfers'),
												depwatch_internal._ledger('applications', optional => true))
		USING i;
END
$$;
COMMENT ON FUNCTION impact(bigint) IS 'Per capability an incident took down: its windows, affected transfers, failed ones, distinct customers, failed amount and failed account-opening applications';

-- _incident_customers: the affected customers of an incident (as text):
-- those with at least one affected transfer or application, whatever its
-- status (doc/semantics.md, "Affected rows").
CREATE OR REPLACE FUNCTION depwatch_internal._incident_customers_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		SELECT r.customer_id::text AS customer_id FROM (%1$s) r
		UNION
		SELECT r.customer_id::text FROM (%2$s) r
		WHERE r.capability = 'account_opening' AND %3$L
	$q$,
	depwatch_internal._in_windows(transfers, 'x.customer_id', 'depwatch_internal._incident_windows($1)', true),
	depwatch_internal._in_windows(coalesce(applications, transfers), 'x.customer_id',
						 '(SELECT * FROM depwatch_internal._incident_windows($1) v WHERE v.capability = ''account_opening'')',
						 false),
	applications IS NOT NULL)
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._fee_policy(policy text) RETURNS depwatch.fee_policy
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	p depwatch.fee_policy;
BEGIN
	SELECT * INTO p FROM depwatch.fee_policy x WHERE x.name = policy;
	IF NOT FOUND THEN
		PERFORM depwatch_internal._lookup_failed('fee policy', 'fee policy "' || policy || '"',
			'Pass the name of a fee policy; depwatch.fee_policy lists them.',
			'Add it with add_fee_policy(); depwatch.fee_policy lists them.');
	END IF;
	RETURN p;
END
$$;

-- add_fee_policy: which fees an incident's waiver covers.
CREATE OR REPLACE FUNCTION add_fee_policy(name text, fee_types text[] DEFAULT NULL, capabilities text[] DEFAULT NULL,
							   grace interval DEFAULT '0', per_customer_cap numeric DEFAULT NULL)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	PERFORM depwatch_internal._check_identifier(name, 'fee policy', 'fire_2022');
	IF EXISTS (SELECT FROM depwatch.fee_policy p WHERE p.name = name) THEN
		RAISE EXCEPTION 'a fee policy named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name.';
	END IF;
	PERFORM depwatch_internal._check_text_list(fee_types, 'fee_types');
	PERFORM depwatch_internal._check_text_list(capabilities, 'capabilities');
	IF grace IS NULL OR grace < interval '0' THEN
		RAISE EXCEPTION 'grace must be zero or more, not %', coalesce(grace::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Grace is how long after the incident fees still count, such as ''3 days''.';
	END IF;
	IF per_customer_cap < 0 OR per_customer_cap = 'NaN' THEN
		RAISE EXCEPTION 'per_customer_cap must not be negative, not %', per_customer_cap
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for no cap.';
	END IF;
	INSERT INTO depwatch.fee_policy (name, fee_types, capabilities, grace, per_customer_cap)
	VALUES (name, fee_types, capabilities, grace, per_customer_cap)
	RETURNING fee_policy.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION add_fee_policy(text, text[], text[], interval, numeric) IS 'Add a fee waiver policy: fee types, capabilities, grace after the incident, per-customer cap';

-- _fee_waiver_query: waivable fees per affected customer ($1 incident,
-- $2 policy): posted rows with fee > 0 in [start, end + grace).  The
-- bounds are computed first (OFFSET 0 keeps them a row of their own) and
-- reach the scan as plain values: timestamptz + interval is not immutable,
-- and postgres_fdw would otherwise read every row from the start on and
-- test the end here (doc/semantics.md, "Ledger contract").
CREATE OR REPLACE FUNCTION depwatch_internal._fee_waiver_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH affected AS MATERIALIZED (%2$s),
		fees AS (
			SELECT x.customer_id::text AS customer_id, count(*) AS fee_count, sum(x.fee) AS fees
			FROM (SELECT ($1).started_at AS lo, coalesce(($1).ended_at, now()) + ($2).grace AS hi OFFSET 0) b
			CROSS JOIN LATERAL (
				SELECT x.customer_id, x.fee FROM %1$s x
				WHERE x.occurred_at >= b.lo AND x.occurred_at < b.hi
				  AND x.status = 'posted' AND x.fee > 0
				  AND (($2).fee_types IS NULL OR x.fee_type = ANY (($2).fee_types))
				  AND (($2).capabilities IS NULL OR x.capability = ANY (($2).capabilities))
				OFFSET 0) x
			-- IS TRUE keeps the IN a hashed subplan: as a join it would be
			-- planned on the scan's row estimate, which for a foreign
			-- table never ANALYZEd is 1, and a nested loop over every
			-- affected customer for each row took 70 times longer
			WHERE (x.customer_id::text IN (SELECT a.customer_id FROM affected a)) IS TRUE
			GROUP BY 1)
		SELECT f.customer_id, f.fee_count, f.fees,
			   CASE WHEN ($2).per_customer_cap IS NULL THEN f.fees
					ELSE least(f.fees, ($2).per_customer_cap) END AS waiver
		FROM fees f ORDER BY f.customer_id
	$q$, transfers, depwatch_internal._incident_customers_query(transfers, applications))
$$;

-- fee_waiver: per affected customer, the fees a policy waives
-- (doc/semantics.md, "Fee waivers").
CREATE OR REPLACE FUNCTION fee_waiver(incident bigint, policy text)
	RETURNS TABLE(customer_id text, fee_count bigint, fees numeric, waiver numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	p depwatch.fee_policy := depwatch_internal._fee_policy(policy);
BEGIN
	RETURN QUERY EXECUTE depwatch_internal._fee_waiver_query(depwatch_internal._ledger('transfers'),
													depwatch_internal._ledger('applications', optional => true))
		USING i, p;
END
$$;
COMMENT ON FUNCTION fee_waiver(bigint, text) IS 'Per affected customer of an incident, the fees a policy waives: count, sum and capped waiver';

-- fee_waiver_summary: the waiver beside the fees of normal weeks: the mean
-- over 1, 2, 3 and 4 weeks back of the same window's fees (posted,
-- fee > 0, the policy's fee types and capabilities, every customer).  With
-- the rights of its caller, like every ledger report (10-ledger.sql).
CREATE OR REPLACE FUNCTION fee_waiver_summary(incident bigint, policy text)
	RETURNS TABLE(customers bigint, fee_count bigint, waiver numeric,
				  baseline_fees numeric, waiver_pct_of_baseline numeric)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	p depwatch.fee_policy := depwatch_internal._fee_policy(policy);
	transfers regclass := depwatch_internal._ledger('transfers');
	applications regclass := depwatch_internal._ledger('applications', optional => true);
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH w AS (%2$s),
		baseline AS (
			-- each week's bounds first, as plain values for the scan
			-- (_fee_waiver_query says why)
			SELECT coalesce(sum(f.fees), 0) / 4 AS fees
			FROM (SELECT ($1).started_at - k * interval '1 week' AS lo,
						 coalesce(($1).ended_at, now()) + ($2).grace - k * interval '1 week' AS hi
				  FROM generate_series(1, 4) k OFFSET 0) k
			CROSS JOIN LATERAL (
				SELECT sum(x.fee) AS fees FROM %1$s x
				WHERE x.occurred_at >= k.lo AND x.occurred_at < k.hi
				  AND x.status = 'posted' AND x.fee > 0
				  AND (($2).fee_types IS NULL OR x.fee_type = ANY (($2).fee_types))
				  AND (($2).capabilities IS NULL OR x.capability = ANY (($2).capabilities))
				OFFSET 0) f)
		SELECT count(w.*), coalesce(sum(w.fee_count), 0)::bigint, coalesce(sum(w.waiver), 0),
			   b.fees, 100 * coalesce(sum(w.waiver), 0) / nullif(b.fees, 0)
		FROM baseline b LEFT JOIN w ON true
		GROUP BY b.fees
	$q$, transfers, depwatch_internal._fee_waiver_query(transfers, applications)) USING i, p;
END
$$;
COMMENT ON FUNCTION fee_waiver_summary(bigint, text) IS 'An incident''s fee waiver in one row, beside the mean fees of the same window 1 to 4 weeks earlier';

-- set_fee_schedule: what a fee type costs, per capability (NULL: any
-- capability without its own price), over a time range.
CREATE OR REPLACE FUNCTION set_fee_schedule(fee_type text, capability text, amount numeric, effective tstzrange)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	IF fee_type IS NULL OR btrim(fee_type) = '' THEN
		RAISE EXCEPTION 'fee_type must be named'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the fee type as the ledger''s fee_type column spells it.';
	END IF;
	IF length(fee_type) > 200 OR length(capability) > 200 THEN
		RAISE EXCEPTION '% is longer than 200 characters', CASE WHEN length(fee_type) > 200 THEN 'fee_type' ELSE 'capability' END
			USING ERRCODE = 'string_data_right_truncation',
				  HINT = 'Name the fee type and capability as the ledger''s columns spell them.';
	END IF;
	IF amount IS NULL OR amount < 0 OR amount = 'NaN' THEN
		RAISE EXCEPTION 'amount must be zero or more, not %', coalesce(amount::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The amount is the fee charged per transaction.';
	END IF;
	IF effective IS NULL OR isempty(effective) OR lower_inf(effective) THEN
		RAISE EXCEPTION 'effective must be a non-empty range with a start, not %', coalesce(effective::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a range such as tstzrange(''2024-01-01'', NULL) for "from 2024 on".';
	END IF;
	IF EXISTS (SELECT FROM depwatch.fee_schedule s
			   WHERE s.fee_type = fee_type AND s.capability IS NOT DISTINCT FROM capability
				 AND s.effective && effective) THEN
		RAISE EXCEPTION 'fee % for % already has a price during %', fee_type,
				coalesce(capability, 'any capability'), effective
			USING ERRCODE = 'exclusion_violation',
				  HINT = 'Prices of one fee type and capability must not overlap in time.';
	END IF;
	INSERT INTO depwatch.fee_schedule (fee_type, capability, amount, effective)
	VALUES (fee_type, capability, amount, effective)
	RETURNING fee_schedule.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION set_fee_schedule(text, text, numeric, tstzrange) IS 'Price a fee type (for one capability, or NULL for any) over a time range';

-- fee_waiver_cost: what a waiver programme gives up: every posted row with
-- fee 0 priced at the schedule in force at occurred_at (a capability's own
-- price, else the fee type's price for any capability).  partner_cost is
-- what the bank still paid others for those rows (the optional
-- partner_fee column), NULL when the ledger has none.
CREATE OR REPLACE FUNCTION fee_waiver_cost(period tstzrange, bucket text DEFAULT 'month')
	RETURNS TABLE(bucket_start timestamptz, fee_type text, waived_count bigint, forgone numeric,
				  partner_cost numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	transfers regclass := depwatch_internal._ledger('transfers');
	has_partner boolean;
BEGIN
	PERFORM depwatch_internal._check_period(period, coalesce(bucket, 'NULL'));
	SELECT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = transfers AND a.attname = 'partner_fee'
				   AND NOT a.attisdropped)
	  INTO has_partner;
	RETURN QUERY EXECUTE format($q$
		SELECT date_trunc($2, x.occurred_at), x.fee_type, count(*), sum(coalesce(sc.amount, sa.amount)), %2$s
		FROM %1$s x
		-- the capability's own price, else the price for any capability
		-- (the exclusion constraint allows one of each at any instant)
		LEFT JOIN depwatch.fee_schedule sc
			   ON sc.fee_type = x.fee_type AND sc.capability = x.capability AND sc.effective @> x.occurred_at
		LEFT JOIN depwatch.fee_schedule sa
			   ON sa.fee_type = x.fee_type AND sa.capability IS NULL AND sa.effective @> x.occurred_at
		WHERE x.occurred_at >= lower($1) AND x.occurred_at < upper($1)
		  AND x.status = 'posted' AND x.fee = 0 AND x.fee_type IS NOT NULL
		  AND (sc.id IS NOT NULL OR sa.id IS NOT NULL)
		GROUP BY 1, 2 ORDER BY 1, 2
	$q$, transfers, CASE WHEN has_partner THEN 'coalesce(sum(x.partner_fee), 0)' ELSE 'NULL::numeric' END)
		USING period, bucket;
END
$$;
COMMENT ON FUNCTION fee_waiver_cost(tstzrange, text) IS 'What a waiver programme gives up per bucket and fee type: posted rows with fee 0 priced at the schedule, and what partners were still paid';

-- _outflow_buckets: the buckets of deposit_outflow (doc/semantics.md,
-- "Deposit outflow"): s = date_trunc(bucket, incident start); horizon
-- buckets from s while they start before start + horizon; the baseline
-- buckets right before s.  Both lengths must be whole numbers of buckets.
CREATE OR REPLACE FUNCTION depwatch_internal._outflow_buckets(i depwatch.incident, baseline interval, horizon interval, bucket text)
	RETURNS TABLE(bucket_start timestamptz, bucket_end timestamptz, in_horizon boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	step interval;
	s timestamptz;
BEGIN
	PERFORM depwatch_internal._check_period(tstzrange(i.started_at, i.started_at + interval '1 microsecond'),
								   coalesce(bucket, 'NULL'));
	step := ('1 ' || bucket)::interval;
	s := date_trunc(bucket, i.started_at);
	IF baseline > interval '10 years' OR horizon > interval '10 years' THEN
		RAISE EXCEPTION '% % is longer than 10 years', CASE WHEN baseline > interval '10 years' THEN 'baseline' ELSE 'horizon' END,
				CASE WHEN baseline > interval '10 years' THEN baseline ELSE horizon END
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Compare at most 10 years before and after an incident.';
	END IF;
	IF baseline IS NULL OR baseline <= interval '0' OR date_trunc(bucket, s - baseline) <> s - baseline THEN
		RAISE EXCEPTION 'baseline % is not a whole number of % buckets', coalesce(baseline::text, 'NULL'), bucket
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass a multiple of one %s, such as ''28 days'' for daily buckets.', bucket);
	END IF;
	IF horizon IS NULL OR horizon <= interval '0' OR date_trunc(bucket, s + horizon) <> s + horizon THEN
		RAISE EXCEPTION 'horizon % is not a whole number of % buckets', coalesce(horizon::text, 'NULL'), bucket
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass a multiple of one %s, such as ''14 days'' for daily buckets.', bucket);
	END IF;
	RETURN QUERY
		SELECT b, b + step, b >= s
		FROM generate_series(s - baseline, i.started_at + horizon, step) b
		WHERE b < i.started_at + horizon;
END
$$;

-- _outflow_query: flows per bucket ($1 incident, $2 baseline, $3 horizon,
-- $4 bucket) over the bound relations; balances and accounts are
-- optional (their columns are then NULL).
CREATE OR REPLACE FUNCTION depwatch_internal._outflow_query(transfers regclass, balances regclass, accounts regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH b AS MATERIALIZED (SELECT * FROM depwatch_internal._outflow_buckets($1, $2, $3, $4)),
		flows AS (
			-- summed per bucket in the scan: over a foreign ledger the sums
			-- run on the remote side and one row per bucket comes back
			SELECT b.bucket_start, b.in_horizon,
				   coalesce(x.inflow, 0) AS inflow, coalesce(-x.outflow, 0) AS outflow
			FROM b CROSS JOIN LATERAL (
				SELECT sum(x.amount) FILTER (WHERE x.amount > 0) AS inflow,
					   sum(x.amount) FILTER (WHERE x.amount < 0) AS outflow
				FROM %1$s x
				WHERE x.occurred_at >= b.bucket_start AND x.occurred_at < b.bucket_end
				  AND x.status = 'posted' AND x.external) x),
		base AS (
			SELECT avg(f.inflow - f.outflow) AS expected, stddev_samp(f.inflow - f.outflow) AS sd
			FROM flows f WHERE NOT f.in_horizon),
		horizon AS (
			SELECT min(b.bucket_start) AS lo, max(b.bucket_end) AS hi FROM b WHERE b.in_horizon),
		start_balances AS (
			SELECT y.customer_id::text AS customer_id, y.balance
			FROM (SELECT DISTINCT ON (y.account_id) y.account_id, y.customer_id, y.balance
				  FROM %2$s y WHERE y.as_of <= ($1).started_at
				  ORDER BY y.account_id DESC, y.as_of DESC) y),
		deposits AS (SELECT CASE WHEN %4$L THEN coalesce(sum(y.balance), 0) END AS total FROM start_balances y),
		customer_balance AS (
			SELECT y.customer_id, sum(y.balance) AS balance FROM start_balances y
			GROUP BY y.customer_id HAVING sum(y.balance) > 0),
		customer_out AS (
			-- each customer's running net outflow, in force from its bucket
			-- until the customer's next bucket with flows
			SELECT c.customer_id, c.bucket_start,
				   lead(c.bucket_start) OVER w AS next_start,
				   sum(c.net_out) OVER w AS running_out
			FROM (
				-- the horizon reaches the scan as plain values (a join
				-- clause would not be shipped to a foreign ledger)
				SELECT date_trunc($4, x.occurred_at) AS bucket_start, x.customer_id::text AS customer_id,
					   -sum(x.amount) AS net_out
				FROM horizon h CROSS JOIN LATERAL (
					SELECT x.occurred_at, x.customer_id, x.amount FROM %1$s x
					WHERE x.occurred_at >= h.lo AND x.occurred_at < h.hi
					  AND x.status = 'posted' AND x.external
					OFFSET 0) x
				GROUP BY 1, 2) c
			WINDOW w AS (PARTITION BY c.customer_id ORDER BY c.bucket_start)),
		drained AS (
			SELECT b.bucket_start, count(*) AS customers
			FROM customer_out co
			JOIN customer_balance cb ON cb.customer_id = co.customer_id AND co.running_out >= cb.balance / 2
			JOIN b ON b.in_horizon AND b.bucket_start >= co.bucket_start
				  AND (co.next_start IS NULL OR b.bucket_start < co.next_start)
			GROUP BY b.bucket_start),
		closed AS (
			SELECT b.bucket_start, count(z.*) AS accounts
			FROM b LEFT JOIN LATERAL (
				SELECT 1 FROM %3$s z
				WHERE z.closed_at >= b.bucket_start AND z.closed_at < b.bucket_end
				OFFSET 0) z ON true
			WHERE b.in_horizon GROUP BY b.bucket_start)
		SELECT f.bucket_start, f.inflow, f.outflow, f.inflow - f.outflow,
			   base.expected,
			   f.inflow - f.outflow - base.expected,
			   (f.inflow - f.outflow - base.expected) / nullif(base.sd, 0),
			   sum(f.inflow - f.outflow - base.expected) OVER (ORDER BY f.bucket_start),
			   100 * sum(f.inflow - f.outflow) OVER (ORDER BY f.bucket_start) / nullif(d.total, 0),
			   CASE WHEN %4$L THEN coalesce(dr.customers, 0) END,
			   CASE WHEN %5$L THEN coalesce(cl.accounts, 0) END
		FROM flows f CROSS JOIN base CROSS JOIN deposits d
		LEFT JOIN drained dr ON dr.bucket_start = f.bucket_start
		LEFT JOIN closed cl ON cl.bucket_start = f.bucket_start
		WHERE f.in_horizon
		ORDER BY f.bucket_start
	$q$, transfers,
		 coalesce(balances::text, '(SELECT NULL::text AS account_id, NULL::text AS customer_id,'
								  ' NULL::timestamptz AS as_of, NULL::numeric AS balance WHERE false)'),
		 coalesce(accounts::text, '(SELECT NULL::timestamptz AS closed_at WHERE false)'),
		 balances IS NOT NULL, accounts IS NOT NULL)
$$;

-- deposit_outflow: external flows per bucket around an incident, against
-- the baseline buckets before it (doc/semantics.md, "Deposit outflow").
CREATE OR REPLACE FUNCTION deposit_outflow(incident bigint, baseline interval DEFAULT '28 days',
								horizon interval DEFAULT '14 days', bucket text DEFAULT 'day')
	RETURNS TABLE(bucket_start timestamptz, inflow numeric, outflow numeric, net numeric,
				  expected_net numeric, abnormal_net numeric, zscore numeric,
				  cumulative_abnormal numeric, pct_of_deposits numeric,
				  customers_drained bigint, accounts_closed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
BEGIN
	RETURN QUERY EXECUTE depwatch_internal._outflow_query(depwatch_internal._ledger('transfers'),
												 depwatch_internal._ledger('balances', optional => true),
												 depwatch_internal._ledger('accounts', optional => true))
		USING i, baseline, horizon, bucket;
END
$$;
COMMENT ON FUNCTION deposit_outflow(bigint, interval, interval, text) IS 'External flows per bucket after an incident against the baseline before it: net, abnormal net, z-score, share of deposits, customers drained, accounts closed';

-- deposit_outflow_summary: the whole horizon in one row, with the run-off
-- over the first 30 days (at most the horizon) beside the Basel III LCR
-- retail run-off rates (stable 5 %, less stable 10 %).
CREATE OR REPLACE FUNCTION deposit_outflow_summary(incident bigint, baseline interval DEFAULT '28 days',
										horizon interval DEFAULT '14 days', bucket text DEFAULT 'day')
	RETURNS TABLE(deposits_at_start numeric, net_flow numeric, abnormal_outflow numeric,
				  runoff_pct numeric, lcr_stable_pct numeric, lcr_less_stable_pct numeric,
				  customers_drained bigint, worst_zscore numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	balances regclass := depwatch_internal._ledger('balances', optional => true);
	deposits numeric;
BEGIN
	IF balances IS NOT NULL THEN
		EXECUTE format($q$
			SELECT coalesce(sum(y.balance), 0)
			FROM (SELECT DISTINCT ON (y.account_id) y.balance FROM %s y
				  WHERE y.as_of <= $1 ORDER BY y.account_id DESC, y.as_of DESC) y
		$q$, balances) INTO deposits USING i.started_at;
	END IF;
	RETURN QUERY
		SELECT deposits, sum(o.net), -sum(o.abnormal_net),
			   -100 * sum(o.net) FILTER (WHERE o.bucket_start < i.started_at + least(horizon, interval '30 days'))
				   / nullif(deposits, 0),
			   5::numeric, 10::numeric,
			   (array_agg(o.customers_drained ORDER BY o.bucket_start DESC))[1],
			   min(o.zscore)
		FROM depwatch.deposit_outflow(incident, baseline, horizon, bucket) o;
END
$$;
COMMENT ON FUNCTION deposit_outflow_summary(bigint, interval, interval, text) IS 'Deposit outflow after an incident in one row, with the 30-day run-off beside the LCR retail run-off rates';

CREATE OR REPLACE FUNCTION depwatch_internal._pin_relation(rel regclass) RETURNS regclass
	AS 'MODULE_PATHNAME', 'dw_pin_relation'
	LANGUAGE C STABLE STRICT;
