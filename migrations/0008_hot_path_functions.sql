-- A step's current row, as orchestration needs it to decide complete / retry / error and a
-- worker needs it to tell a duplicate delivery from a lost run.
--
-- VOLATILE on purpose: a volatile function takes a new snapshot for each query in it, so
-- `tasker.lock_task(t) CROSS JOIN LATERAL tasker.step_row(s, t.task_uuid)` reads the step as of
-- after the task lock was granted, in the same round trip (a plain join would read it with the
-- statement's snapshot from before the lock wait; see 0006). Passing the locked task's uuid
-- makes the call depend on lock_task's row, so it cannot run before it, and it returns nothing
-- for a step of another task. plpgsql rather than sql: a non-inlined SQL function is planned
-- again on every call, a plpgsql one keeps its plan for the session (this runs once per result).
CREATE FUNCTION tasker.step_row(p_step_uuid uuid, p_task_uuid uuid DEFAULT NULL)
RETURNS TABLE (workflow_step_uuid uuid, task_uuid uuid, name text, state text,
               attempts integer, max_attempts integer, retryable boolean, retry_policy jsonb,
               last_error jsonb, ms_until_timeout float8)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  RETURN QUERY
  SELECT s.workflow_step_uuid, s.task_uuid, s.name, st.to_state, s.attempts, s.max_attempts,
         s.retryable, s.retry_policy, s.last_error,
         (extract(epoch FROM s.last_attempted_at + make_interval(secs => s.timeout_seconds)
                             - clock_timestamp()) * 1000)::float8
    FROM tasker.workflow_steps s
    JOIN tasker.workflow_step_transitions st
      ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
   WHERE s.workflow_step_uuid = p_step_uuid
     AND (p_task_uuid IS NULL OR s.task_uuid = p_task_uuid);
END
$$;

-- The readiness sweep looks for steps left `enqueued` longer than the re-announce interval.
-- Found through the current-state index, that meant visiting every enqueued step (the whole
-- backlog) once a second; this index holds only current `enqueued` transitions, ordered by when
-- the step got there, so the sweep reads just the ones old enough to be stale. A step is never
-- announced before its `enqueued` transition was written (but for microseconds inside the
-- statement that writes both), so filtering on the transition's age loses nothing.
CREATE INDEX workflow_step_transitions_enqueued_since_idx
  ON tasker.workflow_step_transitions (created_at)
  WHERE most_recent AND to_state = 'enqueued';
