import type { StepRow } from '#core';
import { AWAITING_DECISION_STEP_STATES } from '#core';
import type { Queryable } from '../database.js';

/**
 * A step with its current state: what orchestration needs to decide complete / retry / error,
 * and what a worker whose claim failed needs to tell a duplicate from a lost run.
 */
export async function readStep(q: Queryable, stepUuid: string): Promise<StepRow | null> {
  const { rows } = await q.query<StepRow>(`SELECT ${STEP_ROW_COLUMNS} FROM tasker.step_row($1) s`, [
    stepUuid,
  ]);
  return rows[0] ?? null;
}

/** A task's steps whose run was recorded and awaits orchestration's decision. */
export async function readStepsAwaitingDecision(
  q: Queryable,
  taskUuid: string,
): Promise<StepRow[]> {
  const { rows } = await q.query<StepRow>(
    `SELECT ${STEP_ROW_COLUMNS}
       FROM tasker.workflow_steps w
       CROSS JOIN LATERAL tasker.step_row(w.workflow_step_uuid, w.task_uuid) s
      WHERE w.task_uuid = $1 AND s.state = ANY ($2::text[])`,
    [taskUuid, AWAITING_DECISION_STEP_STATES],
  );
  return rows;
}

/** The columns of `tasker.step_row()` (migrations 0008, 0014), aliased to a StepRow. */
export const STEP_ROW_COLUMNS = `s.workflow_step_uuid AS "stepUuid", s.task_uuid AS "taskUuid",
  s.name AS "stepName", s.kind, s.state, s.attempts, s.max_attempts AS "maxAttempts", s.retryable,
  s.retry_policy AS "retryPolicy", s.last_error AS "lastError",
  s.ms_until_timeout AS "msUntilTimeout"`;
