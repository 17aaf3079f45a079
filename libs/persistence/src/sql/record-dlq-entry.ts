import type { StaleTask } from './find-stale-tasks.js';
import type { Queryable } from '../database.js';

/**
 * Records a task staleness detection gave up on, with a snapshot of the task and its steps.
 * A task has at most one pending entry: a later detection while one is open adds nothing.
 * Returns the new entry's id, or null when one was already open.
 */
export async function recordDlqEntry(q: Queryable, stale: StaleTask): Promise<string | null> {
  const { rows } = await q.query<{ dlq_entry_uuid: string }>(
    `INSERT INTO tasker.dlq_entries
       (task_uuid, reason, original_state, stuck_for_seconds, threshold_minutes, snapshot)
     SELECT t.task_uuid, $2::text, $3::text, $4::int, $5::int,
            jsonb_build_object(
              'task', jsonb_build_object(
                'taskUuid', t.task_uuid, 'context', t.context, 'correlationId', t.correlation_id,
                'requestedAt', t.requested_at, 'state', $3::text),
              'steps', coalesce((
                SELECT jsonb_agg(jsonb_build_object(
                         'stepUuid', s.workflow_step_uuid, 'name', s.name, 'handler', s.handler,
                         'state', st.to_state, 'since', st.created_at, 'attempts', s.attempts,
                         'maxAttempts', s.max_attempts, 'lastAttemptedAt', s.last_attempted_at,
                         'nextRetryAt', s.next_retry_at, 'lastError', s.last_error)
                         ORDER BY s.workflow_step_uuid)
                  FROM tasker.workflow_steps s
                  JOIN tasker.workflow_step_transitions st
                    ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
                 WHERE s.task_uuid = t.task_uuid), '[]'::jsonb))
       FROM tasker.tasks t WHERE t.task_uuid = $1
     ON CONFLICT (task_uuid) WHERE resolution_status = 'pending' DO NOTHING
     RETURNING dlq_entry_uuid`,
    [stale.taskUuid, stale.reason, stale.state, stale.stuckForSeconds, stale.thresholdMinutes],
  );
  return rows[0]?.dlq_entry_uuid ?? null;
}
