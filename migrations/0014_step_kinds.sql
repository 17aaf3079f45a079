-- Tasker Core's step types (decision, deferred_convergence, batchable, batch_worker) shape a
-- task's graph while it runs. A step keeps its kind, so orchestration knows, from the row it
-- already reads to decide a result, that a completing step's outcome adds steps.
ALTER TABLE tasker.workflow_steps ADD COLUMN kind text NOT NULL DEFAULT 'standard'
  CHECK (kind IN ('standard', 'decision', 'deferred_convergence', 'batchable', 'batch_worker'));

-- step_row (migration 0008) answers the kind too: a function's result type cannot change in
-- place, so it is dropped and created again.
DROP FUNCTION tasker.step_row(uuid, uuid);
CREATE FUNCTION tasker.step_row(p_step_uuid uuid, p_task_uuid uuid DEFAULT NULL)
RETURNS TABLE (workflow_step_uuid uuid, task_uuid uuid, name text, kind text, state text,
               attempts integer, max_attempts integer, retryable boolean, retry_policy jsonb,
               last_error jsonb, ms_until_timeout float8)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RETURN QUERY
  SELECT s.workflow_step_uuid, s.task_uuid, s.name, s.kind, st.to_state, s.attempts,
         s.max_attempts, s.retryable, s.retry_policy, s.last_error,
         (extract(epoch FROM s.last_attempted_at + make_interval(secs => s.timeout_seconds)
                             - clock_timestamp()) * 1000)::float8
    FROM tasker.workflow_steps s
    JOIN tasker.workflow_step_transitions st
      ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
   WHERE s.workflow_step_uuid = p_step_uuid
     AND (p_task_uuid IS NULL OR s.task_uuid = p_task_uuid);
END
$$;

-- A batch worker's checkpoint (Tasker Core's checkpoint yield): where it got to, how many items
-- it processed and what it accumulated. Kept across retries, so a run after a crash resumes
-- from the last checkpoint instead of the start.
ALTER TABLE tasker.workflow_steps ADD COLUMN checkpoint jsonb;
