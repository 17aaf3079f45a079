import type { TaskState } from '#core';
import type { Queryable } from '../database.js';
import { STEP_ROW_COLUMNS, type StepRow } from './read-step.js';

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
    `SELECT ${LOCKED_TASK_COLUMNS} FROM tasker.lock_task($1, $2) t`,
    [taskUuid, options.skipLocked ?? false],
  );
  return rows[0] ?? null;
}

const LOCKED_TASK_COLUMNS = `t.task_uuid AS "taskUuid", t.state, t.namespace, t.name,
  t.correlation_id AS "correlationId", t.traceparent`;

/**
 * lockTask and readStep in one round trip: the step is read after the lock is held (with a
 * fresh snapshot, tasker.step_row, migration 0008), and only if it belongs to the task.
 * `task` is null when the task does not exist, `step` when the step is not one of its steps.
 */
export async function lockTaskWithStep(
  q: Queryable,
  taskUuid: string,
  stepUuid: string,
): Promise<{ task: LockedTask | null; step: StepRow | null }> {
  const { rows } = await q.query<{ task: LockedTask; step: StepRow | null }>(
    `SELECT (SELECT to_json(x) FROM (SELECT ${LOCKED_TASK_COLUMNS}) x) AS task,
            CASE WHEN s.workflow_step_uuid IS NOT NULL
                 THEN (SELECT to_json(y) FROM (SELECT ${STEP_ROW_COLUMNS}) y) END AS step
       FROM tasker.lock_task($1, false) t
       LEFT JOIN LATERAL tasker.step_row($2, t.task_uuid) s ON true`,
    [taskUuid, stepUuid],
  );
  const row = rows[0];
  return { task: row?.task ?? null, step: row?.step ?? null };
}
