-- BI (SPEC section 10) and impact tolerance (section 9): availability()
-- gains columns at the end (the number of seconds beside each interval,
-- worst_disruption and tolerance_breached), so it is dropped here with the
-- view that reads it, and made again by the source files that follow (its
-- C figures move to depwatch_internal._availability); 90-privileges.sql
-- grants them again.  vantage_availability(), which gains its seconds too,
-- is dropped by 95-consensus.sql.
DROP VIEW availability_daily;
DROP FUNCTION availability(tstzrange, text);
