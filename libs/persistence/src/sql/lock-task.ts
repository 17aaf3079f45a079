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
 * interleave. With `skipLocked`, a task another replica holds is skipped (null) instead of
 * waited for: sweeps take disjoint sets.
 */
export async function lockTask(
  q: Queryable,
  taskUuid: string,
  options: { skipLocked?: boolean } = {},
): Promise<LockedTask | null> {
  const { rows } = await q.query<LockedTask>(
    `SELECT t.task_uuid AS "taskUuid", tr.to_state AS state, ns.name AS namespace,
            nt.name AS name, t.correlation_id AS "correlationId",
            t.traceparent
       FROM tasker.tasks t
       JOIN tasker.task_transitions tr ON tr.task_uuid = t.task_uuid AND tr.most_recent
       JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
       JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
      WHERE t.task_uuid = $1
      FOR UPDATE OF t ${options.skipLocked ? 'SKIP LOCKED' : ''}`,
    [taskUuid],
  );
  return rows[0] ?? null;
}
