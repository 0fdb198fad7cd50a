-- The name rule has one home, depwatch_internal._valid_name (declared by
-- src/sql/tables/05-name-rule.sql, before the new tables): the CHECK
-- constraints of 0.2's tables call it instead of spelling out the pattern.
-- An after/ step, since a step before the source files runs before the
-- function exists.  Every stored name already keeps the rule.
ALTER TABLE dependency DROP CONSTRAINT dependency_name_check,
	ADD CONSTRAINT dependency_name_check CHECK (depwatch_internal._valid_name(name));
ALTER TABLE capability DROP CONSTRAINT capability_name_check,
	ADD CONSTRAINT capability_name_check CHECK (depwatch_internal._valid_name(name));
ALTER TABLE fee_policy DROP CONSTRAINT fee_policy_name_check,
	ADD CONSTRAINT fee_policy_name_check CHECK (depwatch_internal._valid_name(name));
