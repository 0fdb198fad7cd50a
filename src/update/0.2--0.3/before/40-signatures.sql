-- Objects whose signature or columns change: dropped here, made again by
-- the source files (src/sql) that follow.  current_status() gains the
-- column reason (and the view status with it); _reporting_deadlines()
-- gains assumed_aware.
DROP VIEW status;
DROP FUNCTION current_status();
DROP FUNCTION _reporting_deadlines(jsonb, boolean, boolean);
