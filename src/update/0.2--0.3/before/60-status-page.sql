-- The status page: capabilities gain display_name (what customers read;
-- its CHECK comes in after/60-status-page.sql, once the rule it calls
-- exists), so add_capability() and alter_capability() gain the argument.
ALTER TABLE capability ADD COLUMN display_name text;
DROP FUNCTION add_capability(text, text[], numeric, interval);
DROP FUNCTION alter_capability(text, text[], numeric, interval);
