import type { TaskState } from '#core';
import type { Queryable } from '../database.js';

export interface LockedTask {
  taskUuid: string;
  state: TaskState;
  namespace: string;
  /** The template's name. */
  name: string;
  correlationId: string;
  traceparent: string | null;
}

/**
 * Locks the task row for the rest of the transaction, so evaluations of one task never
 * interleave, and returns its state as of after the lock (tasker.lock_task, migration 0006).
 * With `skipLocked`, a task another replica holds is skipped (null) instead of waited for:
 * sweeps take disjoint sets.
 */
export async function lockTask(
  q: Queryable,
  taskUuid: string,
  options: { skipLocked?: boolean } = {},
): Promise<LockedTask | null> {
  const { rows } = await q.query<LockedTask>(
    `SELECT task_uuid AS "taskUuid", state, namespace, name, correlation_id AS "correlationId",
            traceparent
       FROM tasker.lock_task($1, $2)`,
    [taskUuid, options.skipLocked ?? false],
  );
  return rows[0] ?? null;
}
