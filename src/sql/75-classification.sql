-- Regulatory classification of an incident (DORA, FSS), its timeline and
-- report, and the reporting deadlines.

-- _incident_fact_types: every fact key and the JSON type it takes.
CREATE OR REPLACE FUNCTION depwatch_internal._incident_fact_types() RETURNS TABLE(key text, type text, what text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES ('critical_services_affected', 'boolean', 'ICT services supporting critical or important functions were affected'),
		   ('clients_total', 'count', 'clients of the affected services'),
		   ('counterparts_total', 'count', 'financial counterparts of the affected services'),
		   ('counterparts_affected', 'count', 'financial counterparts affected'),
		   ('relevant_clients_affected', 'boolean', 'clients or counterparts identified as relevant were affected'),
		   ('member_states', 'count', 'EU member states where clients, branches or providers were affected'),
		   ('data_losses', 'boolean', 'availability, authenticity, integrity or confidentiality of data was lost'),
		   ('malicious_access', 'boolean', 'successful malicious unauthorised access that may cause data losses'),
		   ('reputational', 'reputational', 'media, complaints, regulatory, client_loss'),
		   ('costs_eur', 'amount', 'direct and indirect costs and losses in EUR, fee waivers aside'),
		   ('root_cause', 'text', 'root cause code, for recurring incidents'),
		   ('aware_at', 'timestamp', 'when the bank became aware of the incident'),
		   ('classified_at', 'timestamp', 'when the incident was classified'),
		   ('backlog_cleared_at', 'timestamp', 'when the backlog after restoration was cleared'),
		   ('subscribers', 'count', 'subscribers of the affected electronic financial service'),
		   ('fee_policy', 'text', 'the fee policy whose waiver counts as a cost'),
		   ('eur_per_unit', 'amount', 'EUR per unit of the ledger''s currency, to count fee waivers in EUR (default 1)')
$$;

-- set_incident_facts: text facts are bounded as free text, and the
-- reputational list as the four values it may hold.
CREATE OR REPLACE FUNCTION set_incident_facts(incident bigint, facts jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident_for_update(incident);
	f record;
	t text;
	valid boolean;
	merged jsonb;
BEGIN
	IF facts IS NULL OR jsonb_typeof(facts) <> 'object' THEN
		RAISE EXCEPTION 'facts must be a JSON object, not %', coalesce(jsonb_typeof(facts), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass facts such as ''{"critical_services_affected": true, "clients_total": 1200000}''.';
	END IF;
	FOR f IN SELECT e.key, e.value, k.type FROM jsonb_each(facts) e
			 LEFT JOIN depwatch_internal._incident_fact_types() k ON k.key = e.key ORDER BY e.key LOOP
		IF f.type IS NULL THEN
			RAISE EXCEPTION 'unknown incident fact "%"', f.key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'The facts are: ' || (SELECT string_agg(k.key, ', ') FROM depwatch_internal._incident_fact_types() k) || '.';
		END IF;
		CONTINUE WHEN jsonb_typeof(f.value) = 'null';
		t := jsonb_typeof(f.value);
		-- text facts are free text: bounded like every other
		IF t = 'string' THEN
			PERFORM depwatch_internal._check_text(format('incident fact "%s"', f.key), f.value #>> '{}');
		END IF;
		IF f.type = 'reputational' AND t = 'array' AND jsonb_array_length(f.value) > 4 THEN
			RAISE EXCEPTION 'incident fact "reputational" lists % values, more than the 4 there are',
					jsonb_array_length(f.value)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Name each of "media", "complaints", "regulatory" and "client_loss" at most once.';
		END IF;
		valid := CASE f.type
			WHEN 'boolean' THEN t = 'boolean'
			WHEN 'count' THEN t = 'number' AND f.value::text ~ '^[0-9]{1,10}$'
							  AND f.value::text::numeric <= 2147483647
			WHEN 'amount' THEN CASE WHEN t = 'number' THEN (f.value::text)::numeric >= 0 ELSE false END
			WHEN 'text' THEN t = 'string' AND btrim(f.value #>> '{}') <> ''
			WHEN 'timestamp' THEN
				CASE WHEN t = 'string'
						  AND (f.value #>> '{}') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$'
					 THEN depwatch_internal._is_timestamptz(f.value #>> '{}') ELSE false END
			WHEN 'reputational' THEN t = 'array' AND NOT EXISTS (
					SELECT FROM jsonb_array_elements(f.value) r
					WHERE jsonb_typeof(r) <> 'string'
					   OR r #>> '{}' NOT IN ('media', 'complaints', 'regulatory', 'client_loss'))
		END;
		IF NOT valid THEN
			RAISE EXCEPTION 'incident fact "%" must be %, not %', f.key,
					CASE f.type
						WHEN 'count' THEN 'a whole number from 0 to 2147483647'
						WHEN 'amount' THEN 'a number of at least 0'
						WHEN 'text' THEN 'a non-empty string'
						WHEN 'timestamp' THEN 'a timestamp with its time zone, such as "2022-10-15T15:30:00+09:00"'
						WHEN 'reputational' THEN 'an array of "media", "complaints", "regulatory" or "client_loss"'
						ELSE 'a ' || f.type END,
					depwatch_internal._clip(f.value::text)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass JSON null to remove a fact.';
		END IF;
	END LOOP;
	merged := jsonb_strip_nulls(i.facts || facts);
	UPDATE depwatch.incident x SET facts = merged WHERE x.id = i.id AND x.facts IS DISTINCT FROM merged;
	RETURN merged;
END
$$;
COMMENT ON FUNCTION set_incident_facts(bigint, jsonb) IS 'Record facts about an incident that depwatch cannot measure (for classification); merges, a JSON null removes a key';

-- _kr_fss_criteria: the Korean FSS rules (doc/semantics.md, "FSS"): reportable when
-- an electronic financial service stopped or was delayed 30 minutes or
-- more, or 10 minutes with 10,000 subscribers or more; major when two or
-- more of impact, data, reputation, time (2 hours) and amount apply.  The
-- FSS does not publish the impact and amount sizes; depwatch's are in the
-- threshold column.
CREATE OR REPLACE FUNCTION depwatch_internal._kr_fss_criteria(f jsonb, m jsonb)
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH c(n, criterion, value, threshold, met) AS (VALUES
		(1, 'impact',
		 'clients affected ' || coalesce(m->>'clients_affected', 'not measured')
			|| '; relevant clients affected ' || coalesce(f->>'relevant_clients_affected', 'not recorded'),
		 '10000 clients or more affected, or relevant clients affected (depwatch''s size)',
		 coalesce((m->>'clients_affected')::numeric >= 10000, false)
		 OR coalesce((f->>'relevant_clients_affected')::boolean, false)),
		(2, 'data',
		 'data losses ' || coalesce(f->>'data_losses', 'not recorded')
			|| '; malicious access ' || coalesce(f->>'malicious_access', 'not recorded'),
		 'data lost or accessed without authorisation',
		 coalesce((f->>'data_losses')::boolean, false) OR coalesce((f->>'malicious_access')::boolean, false)),
		(3, 'reputation', coalesce(f->>'reputational', 'not recorded'),
		 'media, complaints, regulatory or client loss',
		 jsonb_array_length(coalesce(f->'reputational', '[]')) > 0),
		(4, 'time', 'service stopped or delayed ' || (m->>'downtime'),
		 '2 hours or more',
		 (m->>'downtime')::interval >= interval '2 hours'),
		(5, 'amount', 'transactions affected worth ' || coalesce(m->>'transactions_value', 'not measured'),
		 '100000000 or more in the ledger''s currency (depwatch''s size)',
		 coalesce((m->>'transactions_value')::numeric >= 100000000, false)),
		(6, 'reportable',
		 'service stopped or delayed ' || (m->>'downtime') || coalesce('; subscribers ' || (f->>'subscribers'), ''),
		 '30 minutes or more, or 10 minutes or more with 10000 subscribers or more',
		 (m->>'downtime')::interval >= interval '30 minutes'
		 OR ((m->>'downtime')::interval >= interval '10 minutes'
			 AND coalesce((f->>'subscribers')::numeric >= 10000, false)))
	)
	SELECT c.criterion, c.value, c.threshold, c.met FROM c
	UNION ALL
	SELECT 'major', (SELECT count(*) FROM c WHERE c.met AND c.n <= 5) || ' of 5 apply',
		   'two or more of impact, data, reputation, time and amount',
		   (SELECT count(*) FROM c WHERE c.met AND c.n <= 5) >= 2
$$;

-- _incident_measures: what depwatch measures of an incident for its
-- classification (doc/semantics.md, "Classification"): duration; the
-- downtime of the capabilities it took down (the longest, from first down
-- to last up, or to backlog_cleared_at when that is later); and, with a
-- ledger bound, affected clients, affected transactions by number and
-- value, their daily averages over the 4 weeks before, and the waiver of
-- the fee policy named by the fact fee_policy.
CREATE OR REPLACE FUNCTION depwatch_internal._incident_measures(i depwatch.incident) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	f jsonb := i.facts;
	transfers regclass := depwatch_internal._ledger('transfers', optional => true);
	applications regclass := depwatch_internal._ledger('applications', optional => true);
	downtime interval;
	clients bigint;
	tx bigint;
	tx_value numeric;
	daily_tx numeric;
	daily_value numeric;
	waiver numeric;
BEGIN
	SELECT max(x.e - x.s) INTO downtime
	FROM (SELECT min(w.started_at) AS s,
				 greatest(max(w.ended_at), (f->>'backlog_cleared_at')::timestamptz) AS e
		  FROM depwatch_internal._incident_windows(i) w GROUP BY w.capability) x;
	IF transfers IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM (%s) c', depwatch_internal._incident_customers_query(transfers, applications))
			INTO clients USING i;
		EXECUTE format('SELECT count(*), coalesce(sum(abs(r.amount)), 0) FROM (%s) r',
					   depwatch_internal._in_windows(transfers, 'x.amount', 'depwatch_internal._incident_windows($1)', true))
			INTO tx, tx_value USING i;
		-- the start of the 4 weeks and the capabilities as values:
		-- timestamptz - interval is not immutable, and a foreign ledger
		-- would be read from its first row on; a join to the windows would
		-- bring every row of the 4 weeks across to be tested here.  As
		-- plain values, every condition and the count and sum run on the
		-- remote side, and one row comes back (doc/semantics.md, "Ledger
		-- contract")
		EXECUTE format($q$
			SELECT count(*) / 28.0, coalesce(sum(abs(x.amount)), 0) / 28
			FROM %s x
			WHERE x.occurred_at >= $1 AND x.occurred_at < $2
			  AND x.capability = ANY ($3)
		$q$, transfers) INTO daily_tx, daily_value
			USING i.started_at - interval '28 days', i.started_at,
				  coalesce((SELECT array_agg(DISTINCT w.capability) FROM depwatch_internal._incident_windows(i) w),
						   '{}'::text[]);
		IF f ? 'fee_policy' THEN
			SELECT s.waiver INTO waiver FROM depwatch.fee_waiver_summary(i.id, f->>'fee_policy') s;
		END IF;
	END IF;
	RETURN jsonb_build_object(
		'duration', coalesce(i.ended_at, now()) - i.started_at,
		'downtime', coalesce(downtime, interval '0'),
		'clients_affected', clients,
		'transactions_affected', tx,
		'transactions_value', tx_value,
		'daily_transactions', daily_tx,
		'daily_value', daily_value,
		'fee_waiver', waiver,
		'costs_eur', coalesce((f->>'costs_eur')::numeric, 0)
					 + coalesce(waiver, 0) * coalesce((f->>'eur_per_unit')::numeric, 1));
END
$$;

-- _dora_criteria: the thresholds of Commission Delegated Regulation (EU)
-- 2024/1772 Art 9 over an incident's facts (f) and measures (m), without
-- the recurring rule.  An unrecorded fact is not met.
CREATE OR REPLACE FUNCTION depwatch_internal._dora_criteria(f jsonb, m jsonb)
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.criterion, c.value, c.threshold, coalesce(c.met, false)
	FROM (VALUES
		(1, 'critical_services', coalesce(f->>'critical_services_affected', 'not recorded'),
		 'services supporting critical or important functions affected (Art 6)',
		 (f->>'critical_services_affected')::boolean),
		(2, 'malicious_access', coalesce(f->>'malicious_access', 'not recorded'),
		 'successful malicious unauthorised access that may cause data losses (Art 9(5)(b))',
		 (f->>'malicious_access')::boolean),
		(3, 'clients_transactions',
		 concat_ws('; ',
			'clients affected ' || coalesce(m->>'clients_affected', 'not measured')
				|| coalesce(' of ' || (f->>'clients_total'), ''),
			'counterparts affected ' || (f->>'counterparts_affected') || coalesce(' of ' || (f->>'counterparts_total'), ''),
			'transactions affected ' || coalesce(m->>'transactions_affected', 'not measured')
				|| coalesce(' (daily average ' || round((m->>'daily_transactions')::numeric, 2) || ')', ''),
			'value affected ' || (m->>'transactions_value')
				|| coalesce(' (daily average ' || round((m->>'daily_value')::numeric, 2) || ')', ''),
			'relevant clients affected ' || (f->>'relevant_clients_affected')),
		 '> 10 % of the service''s clients or > 100000 clients; > 30 % of counterparts; > 10 % of the daily average transactions by number or value; relevant clients affected (Art 9(1))',
		 (m->>'clients_affected')::numeric > 100000
		 OR (m->>'clients_affected')::numeric > 0.1 * (f->>'clients_total')::numeric
		 OR (f->>'counterparts_affected')::numeric > 0.3 * (f->>'counterparts_total')::numeric
		 OR (m->>'transactions_affected')::numeric > 0.1 * (m->>'daily_transactions')::numeric
		 OR (m->>'transactions_value')::numeric > 0.1 * (m->>'daily_value')::numeric
		 OR coalesce((f->>'relevant_clients_affected')::boolean, false)),
		(4, 'reputational', coalesce(f->>'reputational', 'not recorded'),
		 'media, repeated complaints, regulatory requirements or loss of clients (Art 9(2))',
		 jsonb_array_length(coalesce(f->'reputational', '[]')) > 0),
		(5, 'duration_downtime',
		 'duration ' || (m->>'duration') || '; downtime ' || (m->>'downtime'),
		 'duration > 24 hours, or downtime > 2 hours of a service supporting critical functions (Art 9(3))',
		 (m->>'duration')::interval > interval '24 hours'
		 OR ((m->>'downtime')::interval > interval '2 hours'
			 AND coalesce((f->>'critical_services_affected')::boolean, false))),
		(6, 'geographical_spread', coalesce(f->>'member_states', 'not recorded'),
		 'two or more member states (Art 9(4))',
		 (f->>'member_states')::int >= 2),
		(7, 'data_losses', coalesce(f->>'data_losses', 'not recorded'),
		 'losses of availability, authenticity, integrity or confidentiality of data (Art 9(5)(a))',
		 (f->>'data_losses')::boolean),
		(8, 'economic_impact',
		 'EUR ' || (m->>'costs_eur') || coalesce(' (fee waiver ' || (m->>'fee_waiver') || ' included)', ''),
		 'costs and losses > EUR 100000, fee waivers and compensation included (Art 9(6))',
		 (m->>'costs_eur')::numeric > 100000)
	) c(n, criterion, value, threshold, met)
	ORDER BY c.n
$$;

-- _dora_major: the rule of Art 8(1) over _dora_criteria's rows: critical
-- services affected and either malicious access or two other thresholds.
CREATE OR REPLACE FUNCTION depwatch_internal._dora_major(f jsonb, m jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT bool_or(c.met) FILTER (WHERE c.criterion = 'critical_services')
		   AND (bool_or(c.met) FILTER (WHERE c.criterion = 'malicious_access')
				OR count(*) FILTER (WHERE c.met AND c.criterion NOT IN ('critical_services', 'malicious_access')) >= 2)
	FROM depwatch_internal._dora_criteria(f, m) c
$$;

-- _combined_measures: the measures of several incidents taken together,
-- for the recurring rule: durations, downtimes, counts, values and costs
-- add up; daily averages are the largest.
CREATE OR REPLACE FUNCTION depwatch_internal._combined_measures(ms jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'duration', sum((m->>'duration')::interval),
		'downtime', sum((m->>'downtime')::interval),
		'clients_affected', sum((m->>'clients_affected')::numeric),
		'transactions_affected', sum((m->>'transactions_affected')::numeric),
		'transactions_value', sum((m->>'transactions_value')::numeric),
		'daily_transactions', max((m->>'daily_transactions')::numeric),
		'daily_value', max((m->>'daily_value')::numeric),
		'costs_eur', sum((m->>'costs_eur')::numeric))
	FROM unnest(ms) m
$$;

-- _combined_facts: facts of several incidents taken together: any true
-- boolean, all reputational kinds, the most member states and clients.
CREATE OR REPLACE FUNCTION depwatch_internal._combined_facts(fs jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'critical_services_affected', bool_or((f->>'critical_services_affected')::boolean),
		'malicious_access', bool_or((f->>'malicious_access')::boolean),
		'data_losses', bool_or((f->>'data_losses')::boolean),
		'relevant_clients_affected', bool_or((f->>'relevant_clients_affected')::boolean),
		'member_states', max((f->>'member_states')::int),
		'clients_total', max((f->>'clients_total')::numeric),
		'counterparts_total', max((f->>'counterparts_total')::numeric),
		'counterparts_affected', sum((f->>'counterparts_affected')::numeric),
		'reputational', (SELECT jsonb_agg(DISTINCT r) FROM unnest(fs) g, jsonb_array_elements(coalesce(g->'reputational', '[]')) r)))
	FROM unnest(fs) f
$$;

-- classify_incident: one row per criterion, then major (and, for kr_fss,
-- reportable): doc/semantics.md, "Classification".
CREATE OR REPLACE FUNCTION classify_incident(incident bigint, framework text DEFAULT 'dora')
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
	f jsonb;
	m jsonb;
	cause text;
	peers bigint[];
	peer_facts jsonb[];
	peer_measures jsonb[];
	recurring boolean := false;
	n int;
BEGIN
	IF framework IS NULL OR framework NOT IN ('dora', 'kr_fss') THEN
		RAISE EXCEPTION 'unknown framework "%"', coalesce(framework, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''dora'' (EU DORA, Commission Delegated Regulation 2024/1772) or ''kr_fss'' (Korean FSS).';
	END IF;
	i := depwatch_internal._incident(incident);
	f := i.facts || jsonb_strip_nulls(jsonb_build_object('root_cause', i.root_cause));
	m := depwatch_internal._incident_measures(i);
	cause := coalesce(i.facts->>'root_cause', i.root_cause);

	IF framework = 'kr_fss' THEN
		RETURN QUERY SELECT * FROM depwatch_internal._kr_fss_criteria(f, m);
		RETURN;
	END IF;

	RETURN QUERY SELECT * FROM depwatch_internal._dora_criteria(f, m);

	-- Art 8(2): non-major incidents with the same root cause, at least two
	-- within 6 months, that together meet Art 8(1)
	IF cause IS NOT NULL AND NOT depwatch_internal._dora_major(f, m) THEN
		SELECT array_agg(x.id ORDER BY x.started_at), array_agg(x.facts ORDER BY x.started_at),
			   array_agg(x.m ORDER BY x.started_at)
		  INTO peers, peer_facts, peer_measures
		FROM (SELECT o.id, o.started_at, o.facts, depwatch_internal._incident_measures(o) AS m
			  FROM depwatch.incident o
			  WHERE coalesce(o.facts->>'root_cause', o.root_cause) = cause
				AND o.started_at > i.started_at - interval '6 months' AND o.started_at <= i.started_at) x
		WHERE NOT depwatch_internal._dora_major(x.facts, x.m);
		n := coalesce(cardinality(peers), 0);
		recurring := n >= 2 AND depwatch_internal._dora_major(depwatch_internal._combined_facts(peer_facts),
													  depwatch_internal._combined_measures(peer_measures));
	END IF;
	criterion := 'recurring';
	value := CASE WHEN cause IS NULL THEN 'no root cause recorded'
				  WHEN depwatch_internal._dora_major(f, m) THEN 'not looked for: major on its own'
				  ELSE format('%s non-major incidents with root cause %s within 6 months: %s',
							  coalesce(n, 0), cause, coalesce(array_to_string(peers, ', '), 'none')) END;
	threshold := 'non-major incidents with the same root cause, twice or more within 6 months, that together are major (Art 8(2))';
	met := recurring;
	RETURN NEXT;
	criterion := 'major';
	value := NULL;
	threshold := 'critical services affected, and malicious access or two other thresholds met (Art 8(1)); or recurring';
	met := depwatch_internal._dora_major(f, m) OR recurring;
	RETURN NEXT;
END
$$;
COMMENT ON FUNCTION classify_incident(bigint, text) IS 'Classify an incident under dora (Commission Delegated Regulation (EU) 2024/1772) or kr_fss: one row per criterion with value, threshold and whether it is met, then major (and reportable for kr_fss)';

-- incident_timeline: what happened during an incident, in time order:
-- the incident opened and closed, its dependencies' outages, the
-- capabilities taken down and restored, maintenance, the facts as they
-- were recorded (from the audit log), awareness, classification and the
-- backlog cleared.
CREATE OR REPLACE FUNCTION incident_timeline(incident bigint)
	RETURNS TABLE(at timestamptz, event text, target text, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	deps bigint[] := depwatch_internal._incident_dependencies(i);
	span tstzrange := tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)');
BEGIN
	RETURN QUERY
	SELECT e.at, e.event, e.target, e.detail FROM (
		SELECT i.started_at AS at, 'incident opened' AS event, NULL::text AS target, i.title AS detail, 1 AS o
		UNION ALL
		SELECT i.ended_at, 'incident closed', NULL, i.root_cause, 9 WHERE i.ended_at IS NOT NULL
		UNION ALL
		SELECT lower(o.during), o.kind || ' outage started', d.name, o.note, 3
		FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
		WHERE o.dependency_id = ANY (deps) AND o.during && span
		UNION ALL
		SELECT upper(o.during), o.kind || ' outage ended', d.name, o.note, 5
		FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
		WHERE o.dependency_id = ANY (deps) AND o.during && span AND NOT upper_inf(o.during)
		UNION ALL
		SELECT w.started_at, 'capability down', w.capability, NULL, 4 FROM depwatch_internal._incident_windows(i) w
		UNION ALL
		SELECT w.ended_at, 'capability restored', w.capability, NULL, 6
		FROM depwatch_internal._incident_windows(i) w WHERE w.ended_at < coalesce(i.ended_at, now())
		UNION ALL
		SELECT x.at, x.event, coalesce(d.name, c.name), m.note, 2
		FROM depwatch.maintenance m
		LEFT JOIN depwatch.dependency d ON d.id = m.dependency_id
		LEFT JOIN depwatch.capability c ON c.id = m.capability_id
		CROSS JOIN LATERAL (VALUES (lower(m.during), 'maintenance started'),
								   (upper(m.during), 'maintenance ended')) x(at, event)
		WHERE m.during && span AND (m.dependency_id = ANY (deps) OR m.capability_id IS NOT NULL)
		UNION ALL
		SELECT a.at, 'facts recorded', NULL,
			   (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(a.new->'facts') k
				WHERE (a.new->'facts'->k) IS DISTINCT FROM (a.old->'facts'->k)), 7
		FROM depwatch.audit_log a
		WHERE a.table_name = 'incident' AND a.row_id = i.id AND a.action = 'UPDATE'
		  AND (a.new->'facts') IS DISTINCT FROM (a.old->'facts')
		UNION ALL
		SELECT (i.facts->>k.key)::timestamptz, k.event, NULL, NULL, 8
		FROM (VALUES ('aware_at', 'became aware'), ('classified_at', 'classified'),
					 ('backlog_cleared_at', 'backlog cleared')) k(key, event)
		WHERE i.facts ? k.key
	) e
	ORDER BY e.at, e.o, e.target;
END
$$;
COMMENT ON FUNCTION incident_timeline(bigint) IS 'What happened during an incident, in time order: outages, capabilities down and restored, maintenance, facts recorded, awareness, classification';

-- incident_report: everything about an incident in one JSON document
-- (doc/incident_report.schema.json): the incident, its timeline, the
-- capabilities it took down with their windows, the economics, both
-- classifications and the reporting deadlines.
CREATE OR REPLACE FUNCTION incident_report(incident bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident(incident);
	ledger boolean := depwatch_internal._ledger('transfers', optional => true) IS NOT NULL;
	dora jsonb;
	fss jsonb;
	economics jsonb;
BEGIN
	SELECT jsonb_agg(to_jsonb(c)) INTO dora FROM depwatch.classify_incident(i.id, 'dora') c;
	SELECT jsonb_agg(to_jsonb(c)) INTO fss FROM depwatch.classify_incident(i.id, 'kr_fss') c;
	economics := jsonb_build_object(
		'ledger_bound', ledger,
		'impact', CASE WHEN ledger THEN
			(SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') FROM depwatch.impact(i.id) x) END,
		'fee_waiver_summary', CASE WHEN ledger AND i.facts ? 'fee_policy' THEN
			(SELECT to_jsonb(x) || jsonb_build_object('policy', i.facts->>'fee_policy')
			 FROM depwatch.fee_waiver_summary(i.id, i.facts->>'fee_policy') x) END,
		'deposit_outflow_summary', CASE WHEN ledger THEN
			(SELECT to_jsonb(x) FROM depwatch.deposit_outflow_summary(i.id) x) END);
	RETURN jsonb_build_object(
		'incident', jsonb_build_object(
			'id', i.id, 'title', i.title, 'started_at', i.started_at, 'ended_at', i.ended_at,
			'open', i.ended_at IS NULL, 'root_cause', coalesce(i.facts->>'root_cause', i.root_cause),
			'facts', i.facts,
			'dependencies', (SELECT coalesce(jsonb_agg(d.name ORDER BY d.name), '[]')
							 FROM depwatch.dependency d WHERE d.id = ANY (depwatch_internal._incident_dependencies(i)))),
		'timeline', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM depwatch.incident_timeline(i.id) t),
		'capabilities', (SELECT coalesce(jsonb_agg(jsonb_build_object('capability', c.capability, 'windows', c.windows)
												   ORDER BY c.capability), '[]')
						 FROM (SELECT w.capability,
									  jsonb_agg(jsonb_build_object('started_at', w.started_at, 'ended_at', w.ended_at,
																   'lasted', w.ended_at - w.started_at)
												ORDER BY w.started_at) AS windows
							   FROM depwatch_internal._incident_windows(i) w GROUP BY w.capability) c),
		'economics', economics,
		'classification', jsonb_build_object(
			'dora', jsonb_build_object('criteria', dora,
				'major', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(dora) c WHERE c->>'criterion' = 'major')),
			'kr_fss', jsonb_build_object('criteria', fss,
				'major', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'major'),
				'reportable', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'reportable'))),
		'deadlines', depwatch_internal._reporting_deadlines(i.facts,
			(SELECT (c->>'met')::boolean FROM jsonb_array_elements(dora) c WHERE c->>'criterion' = 'major'),
			(SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'reportable'),
			depwatch_internal._assumed_aware(i)));
END
$$;
COMMENT ON FUNCTION incident_report(bigint) IS 'An incident in one JSON document (doc/incident_report.schema.json): timeline, capabilities, economics, DORA and FSS classification, reporting deadlines';

CREATE OR REPLACE FUNCTION depwatch_internal._reporting_deadlines(facts jsonb, dora_major boolean, fss_reportable boolean,
									 assumed_aware timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH t AS (
		SELECT coalesce((facts->>'aware_at')::timestamptz, assumed_aware) AS aware,
			   (facts->>'aware_at') IS NULL AND assumed_aware IS NOT NULL AS assumed,
			   (facts->>'classified_at')::timestamptz AS classified),
	d AS (
		SELECT CASE WHEN dora_major THEN
					CASE WHEN t.classified > t.aware + interval '24 hours' THEN t.classified + interval '4 hours'
						 ELSE least(t.classified + interval '4 hours', t.aware + interval '24 hours') END
			   END AS initial, t.aware, t.assumed
		FROM t)
	SELECT jsonb_build_object(
		'dora', jsonb_build_object(
			'due', dora_major,
			'initial', d.initial,
			'intermediate', d.initial + interval '72 hours',
			'final', d.initial + interval '72 hours' + interval '1 month',
			'assumed', d.assumed),
		'kr_fss', jsonb_build_object(
			'due', fss_reportable,
			'initial', CASE WHEN fss_reportable THEN d.aware + interval '1 day' END,
			'assumed', d.assumed))
	FROM d
$$;

-- _assumed_aware: when the bank is taken to have become aware of an
-- incident whose aware_at is not recorded: the earliest detected_at of
-- the outages of its dependencies within it, else its start.
CREATE OR REPLACE FUNCTION depwatch_internal._assumed_aware(i depwatch.incident) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT coalesce(min(o.detected_at), i.started_at)
	FROM depwatch.outage o
	WHERE o.dependency_id = ANY (depwatch_internal._incident_dependencies(i))
	  AND o.during && tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)')
$$;

-- incidents: every incident with its duration and its classification, as
-- classify_incident() gives it (the rows major of dora and of kr_fss, and
-- reportable of kr_fss), for BI tools (SPEC section 10).
CREATE OR REPLACE VIEW incidents AS
	SELECT i.id, i.title, i.started_at, i.ended_at, i.ended_at IS NULL AS open,
		   coalesce(i.facts->>'root_cause', i.root_cause) AS root_cause,
		   coalesce(i.ended_at, now()) - i.started_at AS duration,
		   extract(epoch FROM coalesce(i.ended_at, now()) - i.started_at) AS duration_seconds,
		   (SELECT k.met FROM depwatch.classify_incident(i.id, 'dora') k WHERE k.criterion = 'major') AS dora_major,
		   f.major AS fss_major, f.reportable AS fss_reportable
	FROM depwatch.incident i
	CROSS JOIN LATERAL (SELECT bool_or(k.met) FILTER (WHERE k.criterion = 'major') AS major,
							   bool_or(k.met) FILTER (WHERE k.criterion = 'reportable') AS reportable
						FROM depwatch.classify_incident(i.id, 'kr_fss') k) f;
COMMENT ON VIEW incidents IS 'Incidents with their duration and their DORA and FSS classification (classify_incident)';
COMMENT ON COLUMN incidents.id IS 'Incident id';
COMMENT ON COLUMN incidents.title IS 'Title';
COMMENT ON COLUMN incidents.started_at IS 'Start';
COMMENT ON COLUMN incidents.ended_at IS 'End; NULL while open';
COMMENT ON COLUMN incidents.open IS 'Not closed yet';
COMMENT ON COLUMN incidents.root_cause IS 'Root cause: the fact root_cause, else what close_incident recorded';
COMMENT ON COLUMN incidents.duration IS 'ended_at - started_at, or up to now while open';
COMMENT ON COLUMN incidents.duration_seconds IS 'duration in seconds';
COMMENT ON COLUMN incidents.dora_major IS 'Major under DORA (classify_incident(id, ''dora''), criterion major)';
COMMENT ON COLUMN incidents.fss_major IS 'Major under the Korean FSS rules (classify_incident(id, ''kr_fss''), criterion major)';
COMMENT ON COLUMN incidents.fss_reportable IS 'Reportable to the Korean FSS (classify_incident(id, ''kr_fss''), criterion reportable)';
