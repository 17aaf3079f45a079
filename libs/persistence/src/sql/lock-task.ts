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

/** A result to apply: a step, and the task it says it belongs to. */
export interface StepOfTask {
  taskUuid: string;
  stepUuid: string;
}

/**
 * lockTaskWithStep for a batch, in one round trip: locks every distinct task (in uuid order,
 * so two batches sharing tasks never deadlock), then reads each step after the locks are held
 * (tasker.step_row: a fresh snapshot), only if it belongs to its task. `tasks` holds the tasks
 * that exist, by uuid; `steps` answers in the order of `pairs` (null: no such step in that task).
 */
export async function lockTasksWithSteps(
  q: Queryable,
  pairs: readonly StepOfTask[],
): Promise<{ tasks: Map<string, LockedTask>; steps: (StepRow | null)[] }> {
  if (pairs.length === 0) return { tasks: new Map(), steps: [] };
  const { rows } = await q.query<{ tasks: LockedTask[]; steps: (StepRow & { ord: number })[] }>(
    `WITH locked AS MATERIALIZED (
       SELECT t.*
         FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS id ORDER BY id) AS w
        CROSS JOIN LATERAL tasker.lock_task(w.id, false) t
     )
     SELECT (SELECT coalesce(json_agg(x), '[]') FROM (SELECT ${LOCKED_TASK_COLUMNS} FROM locked t) x)
              AS tasks,
            (SELECT coalesce(json_agg(y), '[]')
               FROM (SELECT r.ord, ${STEP_ROW_COLUMNS}
                       FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS r(task_uuid, step_uuid, ord)
                       JOIN locked t ON t.task_uuid = r.task_uuid
                      CROSS JOIN LATERAL tasker.step_row(r.step_uuid, t.task_uuid) s) y)
              AS steps`,
    [pairs.map((p) => p.taskUuid), pairs.map((p) => p.stepUuid)],
  );
  const row = rows[0]!;
  const steps: (StepRow | null)[] = pairs.map(() => null);
  for (const { ord, ...step } of row.steps) steps[ord - 1] = step;
  return { tasks: new Map(row.tasks.map((task) => [task.taskUuid, task])), steps };
}
