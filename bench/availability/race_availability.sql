-- bench/availability/race_availability.sql: availability() and
-- capability_outages() against their plain-SQL references, in the database
-- made by data.sql.  psql variables: period, tz, runs.
\set ON_ERROR_STOP 1
SET TimeZone = :'tz';
SET client_min_messages = notice;

-- availability(), what users call: since 0.3 SQL over the C figures of
-- depwatch_internal._availability, adding each interval's seconds and the
-- impact-tolerance columns (NULL here: no capability of this data has a
-- tolerance, so it takes its plain branch; bench/bi.sh measures the
-- tolerance branch).  The reference adds the same columns the same way
-- (ref.availability_with_seconds over ref.availability).
SELECT format($f$SELECT * FROM depwatch.availability(%L, 'day')$f$, :'period') AS c_q,
	   format($f$SELECT * FROM ref.availability_with_seconds(%L, 'day')$f$, :'period') AS ref_q \gset
CALL ref.race('availability(one year, ''day'')', :'c_q', :'ref_q', :runs);

-- the C figures alone (the 16 columns availability() had in 0.2), against
-- the reference's same 16
SELECT format($f$SELECT * FROM depwatch_internal._availability(%L, 'day')$f$, :'period') AS c_q,
	   format($f$SELECT * FROM ref.availability(%L, 'day')$f$, :'period') AS ref_q \gset
CALL ref.race('availability(one year, ''day''), C figures alone (_availability)', :'c_q', :'ref_q', :runs);

-- one call per capability, as a report of every capability's windows would
-- make them
SELECT format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL depwatch.capability_outages(c.name, %L) o$f$, :'period') AS c_q,
	   format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL ref.capability_outages(c.name, %L) o$f$, :'period') AS ref_q \gset
CALL ref.race('capability_outages, each of the 50 capabilities', :'c_q', :'ref_q', :runs);

-- the bottom tier: capabilities of dependencies only, small subtrees
SELECT format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL depwatch.capability_outages(c.name, %L) o
				 WHERE c.name LIKE 'cap0\_%%'$f$, :'period') AS c_q,
	   format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL ref.capability_outages(c.name, %L) o
				 WHERE c.name LIKE 'cap0\_%%'$f$, :'period') AS ref_q \gset
CALL ref.race('capability_outages, the 30 tier-0 capabilities', :'c_q', :'ref_q', :runs);

-- the top tier: capabilities nested two deep, with the largest subtrees
SELECT format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL depwatch.capability_outages(c.name, %L) o
				 WHERE c.name LIKE 'cap2\_%%'$f$, :'period') AS c_q,
	   format($f$SELECT c.name AS capability, o.* FROM depwatch.capability c
				 CROSS JOIN LATERAL ref.capability_outages(c.name, %L) o
				 WHERE c.name LIKE 'cap2\_%%'$f$, :'period') AS ref_q \gset
CALL ref.race('capability_outages, the 5 top-tier capabilities', :'c_q', :'ref_q', :runs);
