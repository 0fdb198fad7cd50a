-- Redress beyond fees (SPEC section 9): what an incident's customers are
-- paid, by a tier table over the value the incident made fail or the
-- activity it cost them against their own usual weeks.  The rules of
-- which rows an incident touched stay in 70-economics.sql: its capability
-- down windows (_incident_windows) and the ledger rows in them
-- (_in_windows), exactly as impact() counts them.  Reports read the ledger
-- with their caller's rights, like fee_waiver().

-- _check_redress_tiers: a tier table is a non-empty JSON array of at most
-- 100 objects {"up_to": number > 0, "pay": number >= 0}, up_to strictly
-- ascending.
CREATE OR REPLACE FUNCTION depwatch_internal._check_redress_tiers(tiers jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	example constant text := 'Pass tiers such as ''[{"up_to": 300000, "pay": 30000}, {"up_to": 500000, "pay": 50000}]''.';
	t jsonb;
	n int := 0;
	previous numeric;
	up_to numeric;
BEGIN
	IF tiers IS NULL THEN
		RAISE EXCEPTION 'tiers must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = example;
	END IF;
	IF jsonb_typeof(tiers) <> 'array' OR jsonb_array_length(tiers) = 0 THEN
		RAISE EXCEPTION 'tiers must be a non-empty JSON array, not %', depwatch_internal._clip(tiers::text)
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'Each tier says up to which amount (inclusive) it pays how much.',
				  HINT = example;
	END IF;
	IF jsonb_array_length(tiers) > 100 THEN
		RAISE EXCEPTION 'tiers has % tiers, more than 100', jsonb_array_length(tiers)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Merge tiers: a compensation table has a handful of them.';
	END IF;
	FOR t IN SELECT e FROM jsonb_array_elements(tiers) e LOOP
		n := n + 1;
		IF jsonb_typeof(t) <> 'object'
		   OR EXISTS (SELECT FROM jsonb_object_keys(t) k WHERE k NOT IN ('up_to', 'pay'))
		   OR jsonb_typeof(t->'up_to') IS DISTINCT FROM 'number'
		   OR jsonb_typeof(t->'pay') IS DISTINCT FROM 'number' THEN
			RAISE EXCEPTION 'tier % is not an object with a number up_to and a number pay: %', n,
					depwatch_internal._clip(t::text)
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'A tier has exactly the keys up_to and pay, both JSON numbers.',
					  HINT = example;
		END IF;
		up_to := (t->>'up_to')::numeric;
		IF up_to <= 0 THEN
			RAISE EXCEPTION 'tier % has up_to %: it must be more than 0', n, up_to
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'Only customers whose amount is more than 0 are paid.',
					  HINT = example;
		END IF;
		IF up_to <= previous THEN
			RAISE EXCEPTION 'tier % has up_to %, not more than the % of the tier before it', n, up_to, previous
				USING ERRCODE = 'invalid_parameter_value',
					  DETAIL = 'Tiers are listed in strictly ascending order of up_to.',
					  HINT = example;
		END IF;
		IF (t->>'pay')::numeric < 0 THEN
			RAISE EXCEPTION 'tier % pays %: pay must not be negative', n, t->>'pay'
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = example;
		END IF;
		previous := up_to;
	END LOOP;
END
$$;

-- add_redress_policy: how an incident's customers are compensated
-- (doc/semantics.md, "Redress").  Audited, like every configuration table.
CREATE OR REPLACE FUNCTION add_redress_policy(name text, capabilities text[] DEFAULT NULL,
											  basis text DEFAULT 'failed_value', tiers jsonb DEFAULT NULL,
											  cap numeric DEFAULT NULL)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
	missing text;
BEGIN
	PERFORM depwatch_internal._check_identifier(name, 'redress policy', 'small_merchants');
	IF EXISTS (SELECT FROM depwatch.redress_policy p WHERE p.name = name) THEN
		RAISE EXCEPTION 'a redress policy named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name.';
	END IF;
	PERFORM depwatch_internal._check_text_list(capabilities, 'capabilities');
	SELECT c INTO missing FROM unnest(capabilities) c
	WHERE NOT EXISTS (SELECT FROM depwatch.capability x WHERE x.name = c) LIMIT 1;
	IF missing IS NOT NULL THEN
		PERFORM depwatch_internal._lookup_failed('capability', 'capability "' || depwatch_internal._clip(missing) || '"',
			NULL, 'Name capabilities added with add_capability(), or pass NULL for all of them.');
	END IF;
	IF basis IS NULL OR basis NOT IN ('failed_value', 'lost_activity') THEN
		RAISE EXCEPTION 'basis must be failed_value or lost_activity, not %',
				coalesce('"' || depwatch_internal._clip(basis) || '"', 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'failed_value pays on the value of a customer''s failed transfers; lost_activity on what they usually post in those windows and did not.',
				  HINT = 'Pass basis => ''failed_value'' or basis => ''lost_activity''.';
	END IF;
	PERFORM depwatch_internal._check_redress_tiers(tiers);
	IF cap < 0 OR cap = 'NaN' THEN
		RAISE EXCEPTION 'cap must not be negative, not %', cap
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for no cap.';
	END IF;
	INSERT INTO depwatch.redress_policy (name, capabilities, basis, tiers, cap)
	VALUES (name, capabilities, basis, tiers, cap)
	RETURNING redress_policy.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION add_redress_policy(text, text[], text, jsonb, numeric) IS 'Add a redress policy: capabilities, basis (failed_value or lost_activity), ascending tier table, per-customer cap';

CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON redress_policy
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_append();

CREATE OR REPLACE FUNCTION depwatch_internal._redress_policy(policy text) RETURNS depwatch.redress_policy
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	p depwatch.redress_policy;
BEGIN
	SELECT * INTO p FROM depwatch.redress_policy x WHERE x.name = policy;
	IF NOT FOUND THEN
		PERFORM depwatch_internal._lookup_failed('redress policy', 'redress policy "' || policy || '"',
			'Pass the name of a redress policy; depwatch.redress_policy lists them.',
			'Add it with add_redress_policy(); depwatch.redress_policy lists them.');
	END IF;
	RETURN p;
END
$$;

-- _redress_pay: what a tier table pays for an amount: the pay of the first
-- tier whose up_to is at or above it, or the last tier's above them all.
CREATE OR REPLACE FUNCTION depwatch_internal._redress_pay(tiers jsonb, amount numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(
		(SELECT (t.e->>'pay')::numeric FROM jsonb_array_elements(tiers) WITH ORDINALITY t(e, n)
		 WHERE amount <= (t.e->>'up_to')::numeric ORDER BY t.n LIMIT 1),
		(tiers->-1->>'pay')::numeric)
$$;

-- _redress_query: the query redress() runs ($1: the incident, $2: the
-- policy) over the bound transfers: the policy's capabilities' down
-- windows within the incident, and per customer the basis amount in them.
-- (plpgsql: this file comes before 70-economics.sql, whose _in_windows a
-- SQL function's body would need at creation)
CREATE OR REPLACE FUNCTION depwatch_internal._redress_query(transfers regclass, basis text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	RETURN format($q$
		WITH w AS MATERIALIZED (
			SELECT v.* FROM depwatch_internal._incident_windows($1) v
			WHERE ($2).capabilities IS NULL OR v.capability = ANY (($2).capabilities)),
		amounts AS (%1$s)
		SELECT a.customer_id, ($2).basis, a.amount,
			   CASE WHEN ($2).cap IS NULL THEN depwatch_internal._redress_pay(($2).tiers, a.amount)
					ELSE least(depwatch_internal._redress_pay(($2).tiers, a.amount), ($2).cap) END
		FROM amounts a
		WHERE a.amount > 0 AND a.customer_id IS NOT NULL
		ORDER BY a.customer_id
	$q$,
	CASE basis
	-- the status is tested in each window's scan (_in_windows' condition),
	-- which postgres_fdw sends to a foreign ledger with the window
	WHEN 'failed_value' THEN format($q$
		SELECT r.customer_id::text AS customer_id, sum(abs(r.amount)) AS amount
		FROM (%s) r GROUP BY 1$q$,
		depwatch_internal._in_windows(transfers, 'x.customer_id, x.amount', 'w', true, $c$x.status = 'failed'$c$))
	-- the customers with posted rows in the usual weeks, their mean
	-- against what they posted during the incident: one aggregate over
	-- both, not a join of two, which the planner would make a nested loop
	-- on a foreign ledger's estimate of one row each (about 10 times slower)
	WHEN 'lost_activity' THEN format($q$
		SELECT r.customer_id,
			   greatest(trim_scale(sum(abs(r.amount)) FILTER (WHERE r.usual) / 4)
						- coalesce(sum(abs(r.amount)) FILTER (WHERE NOT r.usual), 0), 0) AS amount
		FROM (SELECT true AS usual, r.customer_id::text AS customer_id, r.amount FROM (%1$s) r
			  UNION ALL
			  SELECT false, r.customer_id::text, r.amount FROM (%2$s) r) r
		GROUP BY r.customer_id
		HAVING bool_or(r.usual)$q$,
		-- the usual weeks' windows as values first (OFFSET 0 keeps them a
		-- relation of their own): timestamptz - interval is not
		-- immutable, and a foreign ledger would otherwise be read whole
		-- for each capability and the weeks tested here
		depwatch_internal._in_windows(transfers, 'x.customer_id, x.amount',
			$w$(SELECT w.capability, w.started_at - k * interval '1 week' AS started_at,
					   w.ended_at - k * interval '1 week' AS ended_at
				FROM w CROSS JOIN generate_series(1, 4) k OFFSET 0)$w$, true, $c$x.status = 'posted'$c$),
		depwatch_internal._in_windows(transfers, 'x.customer_id, x.amount', 'w', true, $c$x.status = 'posted'$c$))
	END);
END
$$;

-- redress: per customer of an incident whose basis amount is more than 0,
-- what a redress policy pays (doc/semantics.md, "Redress").  Writes
-- nothing; with the rights of its caller, like every ledger report.
CREATE OR REPLACE FUNCTION redress(incident bigint, policy text)
	RETURNS TABLE(customer_id text, basis text, amount numeric, payout numeric)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	p depwatch.redress_policy := depwatch_internal._redress_policy(policy);
BEGIN
	RETURN QUERY EXECUTE depwatch_internal._redress_query(depwatch_internal._ledger('transfers'), p.basis)
		USING i, p;
END
$$;
COMMENT ON FUNCTION redress(bigint, text) IS 'Per customer of an incident, the amount a redress policy measures (failed value or lost activity) and the tier it pays, capped';

-- redress_summary: the redress of an incident in one row.
CREATE OR REPLACE FUNCTION redress_summary(incident bigint, policy text)
	RETURNS TABLE(customers bigint, amount numeric, payout numeric)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	p depwatch.redress_policy := depwatch_internal._redress_policy(policy);
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT count(*), coalesce(sum(r.amount), 0), coalesce(sum(r.payout), 0)
		FROM (%s) r(customer_id, basis, amount, payout)
	$q$, depwatch_internal._redress_query(depwatch_internal._ledger('transfers'), p.basis)) USING i, p;
END
$$;
COMMENT ON FUNCTION redress_summary(bigint, text) IS 'An incident''s redress under a policy in one row: customers paid, their summed amount and payout';
