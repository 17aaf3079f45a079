-- Fewer writes per step (issue 19): every transition inserted into workflow_step_transitions
-- also went into an index of current states that no query reads (each one looks transitions up
-- by step, or the enqueued ones by age, workflow_step_transitions_enqueued_since_idx), and every
-- step into an index by task that UNIQUE (task_uuid, name) already serves.
DROP INDEX tasker.workflow_step_transitions_current_state_idx;
DROP INDEX tasker.workflow_steps_task_idx;

-- A step's row is updated three or four times in its life (claim, record, announce, retry) and
-- a task's once or twice (completion, reopening), never in an indexed column: with free room on
-- the page those are HOT updates (no index entries). Packed full as inserted, the pages had
-- none, so every update wrote an entry into each index. New pages keep the room.
ALTER TABLE tasker.workflow_steps SET (fillfactor = 70);
ALTER TABLE tasker.tasks SET (fillfactor = 80);

-- The append-only rule of transition rows (0003) ran a plpgsql function converting the old and
-- the new row to jsonb on every retire, three or four times per step. The trigger's WHEN clause
-- now lets a plain retire (most_recent true → false, every other column unchanged) through
-- without calling it; the function only raises. A column added to these tables must be added
-- here too (transition-append-only.int-spec.ts tries every column).
CREATE OR REPLACE FUNCTION tasker.forbid_transition_rewrite() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'transition rows are append-only (%.%)', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;

DROP TRIGGER task_transitions_append_only ON tasker.task_transitions;
CREATE TRIGGER task_transitions_append_only BEFORE UPDATE ON tasker.task_transitions
  FOR EACH ROW
  WHEN (NOT (OLD.most_recent AND NOT NEW.most_recent
             AND (NEW.task_transition_uuid, NEW.task_uuid, NEW.from_state, NEW.to_state,
                  NEW.metadata, NEW.sort_key, NEW.processor_uuid, NEW.created_at)
                 IS NOT DISTINCT FROM
                 (OLD.task_transition_uuid, OLD.task_uuid, OLD.from_state, OLD.to_state,
                  OLD.metadata, OLD.sort_key, OLD.processor_uuid, OLD.created_at)))
  EXECUTE FUNCTION tasker.forbid_transition_rewrite();

DROP TRIGGER workflow_step_transitions_append_only ON tasker.workflow_step_transitions;
CREATE TRIGGER workflow_step_transitions_append_only
  BEFORE UPDATE ON tasker.workflow_step_transitions
  FOR EACH ROW
  WHEN (NOT (OLD.most_recent AND NOT NEW.most_recent
             AND (NEW.workflow_step_transition_uuid, NEW.workflow_step_uuid, NEW.from_state,
                  NEW.to_state, NEW.metadata, NEW.sort_key, NEW.processor_uuid, NEW.created_at)
                 IS NOT DISTINCT FROM
                 (OLD.workflow_step_transition_uuid, OLD.workflow_step_uuid, OLD.from_state,
                  OLD.to_state, OLD.metadata, OLD.sort_key, OLD.processor_uuid, OLD.created_at)))
  EXECUTE FUNCTION tasker.forbid_transition_rewrite();
