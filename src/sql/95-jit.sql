-- No JIT inside depwatch's functions.  Their queries are short or read the
-- ledger by index ranges, and set-returning functions make the planner's
-- estimates large enough to reach jit_above_cost: compiling then costs more
-- than running (add_capability took 0.5 s, incident_report 2.3 times as
-- long with JIT on a 1M-row ledger).  Only functions that already carry a
-- SET clause get it, so no function loses SQL inlining.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
			   AND p.proconfig IS NOT NULL AND NOT 'jit=off' = ANY (p.proconfig)
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;
