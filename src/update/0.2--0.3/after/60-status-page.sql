-- capability.display_name keeps the display-name rule (declared by
-- src/sql/tables/06-display-name-rule.sql, after the before/ steps): the
-- same CHECK a fresh install creates.  Every stored value is NULL.
ALTER TABLE capability ADD CONSTRAINT capability_display_name_rule
	CHECK (depwatch_internal._valid_display_name(display_name));
