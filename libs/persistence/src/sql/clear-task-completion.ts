import type { Queryable } from '../database.js';

/** A reopened task is not finished any more. */
export async function clearTaskCompletion(q: Queryable, taskUuid: string): Promise<void> {
  await q.query(
    'UPDATE tasker.tasks SET completed_at = NULL, updated_at = now() WHERE task_uuid = $1',
    [taskUuid],
  );
}
