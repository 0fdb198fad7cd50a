-- Stored values outside 0.3's bounds are named, not changed.

-- Rows stored before 0.3 that break a bound above are left for the admin,
-- and listed here: one message per kind, with the count and the first ids.
-- They are WARNINGs: PostgreSQL raises client_min_messages to WARNING while
-- it runs an extension script, so a NOTICE would never be seen.
-- Samples are checked for their times only (a scan of every sample's text
-- would make the update take minutes on a large history; their texts come
-- from the worker and from report_sample, and expire with the retention).
DO $bounds$
DECLARE
	skew interval := coalesce(current_setting('depwatch.max_clock_skew', true), '5s')::interval;
	earliest CONSTANT timestamptz := '1990-01-01 00:00:00+00';
	latest CONSTANT timestamptz := now() + interval '10 years';
	r record;
	bound record;
	cycles text[] := '{}';
	deep text[] := '{}';
	state text;
	-- the ids shown: the first 20, then how many more
	shown CONSTANT text := $q$
		SELECT count(*) AS n,
			   array_to_string((array_agg(x ORDER BY x))[1:20], ', ')
			   || CASE WHEN count(*) > 20 THEN format(' and %%s more', count(*) - 20) ELSE '' END AS ids
		FROM (%s) q(x)$q$;
BEGIN
	-- each check: the query of what breaks a bound ($1 the clock skew, $2
	-- 1990-01-01, $3 now() + 10 years), the warning (the count, then the
	-- ids shown), its hint
	FOR bound IN SELECT * FROM (VALUES
		($q$
		SELECT format('%s (%s samples%s)', d.name, b.n,
					  CASE WHEN p.last_at > now() + $1 THEN ', the last one ahead of the clock' ELSE '' END)
		FROM depwatch.dependency d
		LEFT JOIN depwatch.probe_state p ON p.dependency_id = d.id
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM depwatch.sample s
							WHERE s.dependency_id = d.id AND (s.at > now() + $1 OR s.at < $2)) b
		WHERE b.n > 0 OR p.last_at > now() + $1$q$,
		 'depwatch 0.3: %s dependencies have samples from the future or before 1990, left as they are: %s',
		 'The worker ignores its samples older than a dependency''s last one: delete the future samples, and set probe_state.last_at back.'),
		($q$
		SELECT m.id FROM depwatch.maintenance m
		WHERE CASE WHEN isfinite(lower(m.during)) AND isfinite(upper(m.during))
				   THEN lower(m.during) < $2 OR upper(m.during) >= $3
						OR upper(m.during) - lower(m.during) > interval '31 days'
				   ELSE true END$q$,
		 'depwatch 0.3: %s maintenance windows are infinite, outside 1990-01-01 to now() + 10 years, or longer than 31 days, left as they are: ids %s',
		 'Delete them from depwatch.maintenance, and plan the work again with add_maintenance().'),
		($q$
		SELECT o.id FROM depwatch.outage o
		WHERE lower(o.during) < $2 OR lower(o.during) >= $3 OR NOT isfinite(lower(o.during))
		   OR (NOT upper_inf(o.during) AND (upper(o.during) >= $3 OR NOT isfinite(upper(o.during))))
		   OR o.detected_at < $2 OR o.detected_at >= $3 OR NOT isfinite(o.detected_at)$q$,
		 'depwatch 0.3: %s outages lie outside 1990-01-01 to now() + 10 years, left as they are: ids %s',
		 'Correct or delete them in depwatch.outage.'),
		($q$
		SELECT i.id FROM depwatch.incident i
		WHERE i.started_at < $2 OR i.started_at >= $3 OR NOT isfinite(i.started_at)
		   OR i.ended_at >= $3 OR NOT isfinite(i.ended_at)$q$,
		 'depwatch 0.3: %s incidents lie outside 1990-01-01 to now() + 10 years, left as they are: ids %s',
		 'Correct or delete them in depwatch.incident.'),
		($q$
		SELECT format('incident %s', i.id) FROM depwatch.incident i
		WHERE length(i.title) > 4000 OR length(i.root_cause) > 4000
		   OR EXISTS (SELECT FROM jsonb_each(i.facts) f
					  WHERE jsonb_typeof(f.value) = 'string' AND length(f.value #>> '{}') > 4000
						 OR jsonb_typeof(f.value) = 'array' AND jsonb_array_length(f.value) > 4)
		UNION ALL
		SELECT format('outage %s', o.id) FROM depwatch.outage o WHERE length(o.note) > 4000
		UNION ALL
		SELECT format('maintenance %s', m.id) FROM depwatch.maintenance m WHERE length(m.note) > 4000$q$,
		 'depwatch 0.3: %s rows hold a text longer than 4,000 characters, left as they are: %s',
		 'Shorten the text by hand if it should not stay (the audit log keeps it either way).')
	) x(query, said, hint) LOOP
		EXECUTE format(shown, bound.query) INTO r USING skew, earliest, latest;
		IF r.n > 0 THEN
			RAISE WARNING '%', format(bound.said, r.n, r.ids)
				USING HINT = bound.hint;
		END IF;
	END LOOP;

	-- every capability's groups, checked as alter_capability() now would
	FOR r IN SELECT c.name, c.requires FROM depwatch.capability c ORDER BY c.name LOOP
		BEGIN
			PERFORM depwatch_internal._check_capability_graph(r.name, r.requires);
		EXCEPTION WHEN invalid_object_definition OR program_limit_exceeded THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			IF state = '42P17' THEN
				cycles := cycles || r.name;
			ELSE
				deep := deep || r.name;
			END IF;
		END;
	END LOOP;
	IF cardinality(cycles) > 0 THEN
		RAISE WARNING 'depwatch 0.3: % capabilities require themselves or a cycle, left as they are: %',
				cardinality(cycles), depwatch_internal._clip(array_to_string(cycles, ', '))
			USING HINT = 'Break each cycle with alter_capability(); capability reports fail until then.';
	END IF;
	IF cardinality(deep) > 0 THEN
		RAISE WARNING 'depwatch 0.3: % capabilities are on requirement chains deeper than 32 capabilities, left as they are: %',
				cardinality(deep), depwatch_internal._clip(array_to_string(deep, ', '))
			USING HINT = 'Let them require the dependencies of deeper capabilities directly, with alter_capability().';
	END IF;
END
$bounds$;
