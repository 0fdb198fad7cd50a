-- bench/availability/race_derive.sql: derive_outages() against its
-- plain-SQL reference, in the database made by samples.sql.  psql
-- variables: tz, runs, fail_after, recover_after.
\set ON_ERROR_STOP 1
SET TimeZone = :'tz';
SET client_min_messages = notice;

SELECT format($f$SELECT * FROM depwatch.derive_outages('api_gateway', NULL, %s, %s)$f$,
			  :fail_after, :recover_after) AS c_q,
	   format($f$SELECT * FROM ref.derive_outages('api_gateway', NULL, %s, %s)$f$,
			  :fail_after, :recover_after) AS ref_q \gset
CALL ref.race(format('derive_outages, %s samples', to_char(:samples, 'FM99,999,999,999')), :'c_q', :'ref_q', :runs);
