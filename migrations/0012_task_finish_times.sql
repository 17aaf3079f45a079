-- The dashboard's completions and failures per minute read the task transitions into `complete`
-- and `error` of the last hour. Every other task transition index is keyed by task or state,
-- so without this one that read would scan the whole log. Partial: one entry per finish, none
-- for the far more frequent intermediate transitions.
CREATE INDEX task_transitions_finished_idx ON tasker.task_transitions (created_at, to_state)
  WHERE to_state IN ('complete', 'error');
