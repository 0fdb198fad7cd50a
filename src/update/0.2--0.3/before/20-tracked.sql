-- Tracked since (doc/semantics.md, "Tracked since"): each dependency's
-- history starts at its first audit row, sample or outage.

-- Rows written under 0.2: tracked since they were added (their first audit
-- row, else created_at), or since their earliest stored sample or outage
-- when that is earlier, so that nothing stored becomes invalid.
ALTER TABLE dependency ADD COLUMN tracked_since timestamptz;

UPDATE dependency d
   SET tracked_since = least(coalesce((SELECT a.at FROM audit_log a
									   WHERE a.table_name = 'dependency' AND a.row_id = d.id
										 AND a.action = 'INSERT'
									   ORDER BY a.id LIMIT 1), d.created_at),
							 (SELECT min(s.at) FROM sample s WHERE s.dependency_id = d.id),
							 (SELECT min(lower(o.during)) FROM outage o WHERE o.dependency_id = d.id));

ALTER TABLE dependency ALTER COLUMN tracked_since SET DEFAULT now(),
	ALTER COLUMN tracked_since SET NOT NULL;

COMMENT ON COLUMN dependency.tracked_since IS
	'Start of its history: before it the dependency is untracked and every report counts that time as unmonitored';

-- add_dependency and alter_dependency take tracked_since: a new signature.
DROP FUNCTION add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text);

DROP FUNCTION alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean);
