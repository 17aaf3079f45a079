import type { RetryPolicy, StepFailure, StepState } from '#core';
import type { Queryable } from '../database.js';

export interface StepOutcomeRow {
  stepUuid: string;
  taskUuid: string;
  stepName: string;
  state: StepState;
  attempts: number;
  maxAttempts: number;
  retryable: boolean;
  retryPolicy: RetryPolicy;
  lastError: StepFailure | null;
}

/** What orchestration needs to decide complete / retry / error for a step's latest run. */
export async function readStepOutcome(
  q: Queryable,
  stepUuid: string,
): Promise<StepOutcomeRow | null> {
  const { rows } = await q.query<StepOutcomeRow>(
    `SELECT s.workflow_step_uuid AS "stepUuid", s.task_uuid AS "taskUuid", s.name AS "stepName",
            st.to_state AS state, s.attempts, s.max_attempts AS "maxAttempts", s.retryable,
            s.retry_policy AS "retryPolicy", s.last_error AS "lastError"
       FROM tasker.workflow_steps s
       JOIN tasker.workflow_step_transitions st
         ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
      WHERE s.workflow_step_uuid = $1`,
    [stepUuid],
  );
  return rows[0] ?? null;
}
