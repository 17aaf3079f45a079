-- Readiness at a given moment. A unit of work for limited tasks decides readiness twice, in
-- two statements: queueReadySteps leaves the steps under a limit waiting, then
-- enqueueReadyStepsOfTasks enqueues the rest. Each read the clock as it went, so a retry whose
-- time came between the two was ready only to the second, which started it without a slot.
-- Both now pass the first statement's moment; without one it is the clock, as before.
DROP FUNCTION tasker.ready_steps(uuid[]);

CREATE FUNCTION tasker.ready_steps(p_task_uuids uuid[], p_at timestamptz DEFAULT NULL)
RETURNS TABLE (task_uuid uuid, workflow_step_uuid uuid, current_state text)
LANGUAGE sql STABLE AS $$
  SELECT s.task_uuid, s.workflow_step_uuid, st.to_state
  FROM tasker.workflow_steps s
  JOIN tasker.workflow_step_transitions st
    ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
  WHERE s.task_uuid = ANY (p_task_uuids)
    AND st.to_state IN ('pending', 'waiting_for_retry')
    AND (s.attempts = 0 OR (s.retryable AND s.attempts < s.max_attempts))
    AND (s.next_retry_at IS NULL OR s.next_retry_at <= coalesce(p_at, clock_timestamp()))
    AND NOT EXISTS (
      SELECT 1
      FROM tasker.workflow_step_edges e
      JOIN tasker.workflow_step_transitions pt
        ON pt.workflow_step_uuid = e.from_step_uuid AND pt.most_recent
      WHERE e.to_step_uuid = s.workflow_step_uuid
        AND pt.to_state NOT IN ('complete', 'resolved_manually'))
$$;
