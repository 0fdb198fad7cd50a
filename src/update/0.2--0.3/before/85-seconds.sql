-- BI (SPEC section 10) and impact tolerance (section 9): availability()
-- and vantage_availability() gain columns at the end (numbers of seconds
-- beside each interval; availability also worst_disruption and
-- tolerance_breached), so they are dropped here, with the view that reads
-- availability(), and made again by the source files that follow (their
-- C figures move to depwatch_internal._availability and
-- _vantage_availability).  90-privileges.sql grants them again.
DROP VIEW availability_daily;
DROP FUNCTION availability(tstzrange, text);
DROP FUNCTION vantage_availability(tstzrange);
