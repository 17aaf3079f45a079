-- A step may carry next_retry_at only while it waits for a retry in a task that has not ended
-- (transition-steps.ts and transition-task.ts now keep it so). Before, staleness, cancellation
-- races and operator actions left retry times behind; each stayed "due" for good, and once a
-- batch of them filled the retry sweep, no retry ran anywhere. Drop the ones already left.
UPDATE tasker.workflow_steps s
   SET next_retry_at = NULL, updated_at = now()
 WHERE s.next_retry_at IS NOT NULL
   AND (NOT EXISTS (SELECT 1 FROM tasker.workflow_step_transitions st
                     WHERE st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
                       AND st.to_state = 'waiting_for_retry')
        OR EXISTS (SELECT 1 FROM tasker.task_transitions tt
                    WHERE tt.task_uuid = s.task_uuid AND tt.most_recent
                      AND tt.to_state IN ('complete', 'error', 'cancelled', 'resolved_manually')));
