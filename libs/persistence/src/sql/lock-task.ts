import type { LockedTask, StepOfTask, StepRow } from '#core';
import type { Queryable } from '../database.js';
import { STEP_ROW_COLUMNS } from './read-step.js';

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
  t.correlation_id AS "correlationId", t.traceparent, t.limited`;

/**
 * Locks every distinct task (in uuid order, so two batches sharing tasks never deadlock), then
 * the rows of the given steps that belong to them (uuid order, after every task lock: the lock
 * order of transition-steps.ts), then reads each step (tasker.step_row, migration 0008: a fresh
 * snapshot, after the locks), all in one round trip. A compare-and-swap on these steps later
 * in the transaction needs no lock statement (transitionSteps' stepsLocked). `tasks` holds the
 * tasks that exist, by uuid; `steps` answers in the order of `pairs` (null: no such step in
 * that task).
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
     ),
     steps_locked AS MATERIALIZED (
       SELECT s.workflow_step_uuid
         FROM tasker.workflow_steps s
        WHERE s.workflow_step_uuid = ANY ($2::uuid[])
          -- An InitPlan: every task is locked before the first step is.
          AND s.task_uuid = ANY ((SELECT array_agg(t.task_uuid) FROM locked t)::uuid[])
        ORDER BY s.workflow_step_uuid
          FOR UPDATE OF s
     )
     SELECT (SELECT coalesce(json_agg(x), '[]') FROM (SELECT ${LOCKED_TASK_COLUMNS} FROM locked t) x)
              AS tasks,
            (SELECT coalesce(json_agg(y), '[]')
               FROM (SELECT r.ord, ${STEP_ROW_COLUMNS}
                       FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS r(task_uuid, step_uuid, ord)
                       JOIN locked t ON t.task_uuid = r.task_uuid
                      CROSS JOIN LATERAL tasker.step_row(r.step_uuid, t.task_uuid) s
                      -- A one-time filter (always true): it runs steps_locked, so every step
                      -- is locked before the first is read (step_row takes its own snapshot).
                      WHERE (SELECT count(*) FROM steps_locked) >= 0) y)
              AS steps`,
    [pairs.map((p) => p.taskUuid), pairs.map((p) => p.stepUuid)],
  );
  const row = rows[0]!;
  const steps: (StepRow | null)[] = pairs.map(() => null);
  for (const { ord, ...step } of row.steps) steps[ord - 1] = step;
  return { tasks: new Map(row.tasks.map((task) => [task.taskUuid, task])), steps };
}
