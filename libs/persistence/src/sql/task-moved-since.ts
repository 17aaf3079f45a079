import type { Queryable } from '../database.js';

/**
 * Whether the task or one of its steps has a transition later than `since` (timestamptz text).
 * Staleness asks this under the task's lock with a fresh snapshot: a step that finished after
 * the candidates were read (its result still on its way to orchestration) leaves the task's
 * state as it was, yet the task is not stuck.
 */
export async function taskMovedSince(
  q: Queryable,
  taskUuid: string,
  since: string,
): Promise<boolean> {
  const { rows } = await q.query<{ moved: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM tasker.task_transitions
                     WHERE task_uuid = $1 AND created_at > $2::timestamptz)
         OR EXISTS (SELECT 1 FROM tasker.workflow_step_transitions st
                      JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
                     WHERE s.task_uuid = $1 AND st.created_at > $2::timestamptz) AS moved`,
    [taskUuid, since],
  );
  return rows[0]!.moved;
}
