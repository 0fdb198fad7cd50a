-- Options a peer or an admin stored before 0.3 that its parser now refuses
-- are named, not changed.

-- Rows stored before these rules that break them: listed for the admin and
-- left as they are (the worker skips them, report_sample refuses them, until
-- alter_dependency() fixes their options).  A WARNING, not a NOTICE: an
-- extension script runs with client_min_messages at least warning, so a
-- NOTICE would never reach the admin.
DO $$
DECLARE
	r record;
BEGIN
	SELECT count(*) AS n,
		   string_agg(format('%s (%s)', x.name, x.problem), '; ' ORDER BY x.name) FILTER (WHERE x.rank <= 20) AS list
	  INTO r
	FROM (SELECT d.name, p.problem, row_number() OVER (ORDER BY d.name) AS rank
		  FROM depwatch.dependency d, LATERAL (SELECT depwatch_internal._options_problem(d.options) AS problem) p
		  WHERE p.problem IS NOT NULL) x;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % dependencies break the option rules, left as they are: %', r.n, r.list
			USING HINT = 'Fix their options with alter_dependency(); the probe worker skips them until then.';
	END IF;
END
$$;
