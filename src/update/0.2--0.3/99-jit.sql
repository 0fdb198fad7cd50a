
-- No JIT inside the functions this update made or restated either (see the
-- end of depwatch--0.1.sql).
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace = 'depwatch'::regnamespace AND p.proconfig IS NOT NULL
			   AND NOT 'jit=off' = ANY (p.proconfig)
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;
