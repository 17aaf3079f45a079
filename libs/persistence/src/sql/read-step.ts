import type { RetryPolicy, StepFailure, StepState } from '#core';
import type { Queryable } from '../database.js';

export interface StepRow {
  stepUuid: string;
  taskUuid: string;
  stepName: string;
  state: StepState;
  attempts: number;
  maxAttempts: number;
  retryable: boolean;
  retryPolicy: RetryPolicy;
  lastError: StepFailure | null;
  /** Milliseconds until the current run's timeout passes (negative once it has). */
  msUntilTimeout: number | null;
}

/**
 * A step with its current state: what orchestration needs to decide complete / retry / error,
 * and what a worker whose claim failed needs to tell a duplicate from a lost run.
 */
export async function readStep(q: Queryable, stepUuid: string): Promise<StepRow | null> {
  const { rows } = await q.query<StepRow>(
    `SELECT s.workflow_step_uuid AS "stepUuid", s.task_uuid AS "taskUuid", s.name AS "stepName",
            st.to_state AS state, s.attempts, s.max_attempts AS "maxAttempts", s.retryable,
            s.retry_policy AS "retryPolicy", s.last_error AS "lastError",
            (extract(epoch FROM s.last_attempted_at + make_interval(secs => s.timeout_seconds)
                                - clock_timestamp()) * 1000)::float8 AS "msUntilTimeout"
       FROM tasker.workflow_steps s
       JOIN tasker.workflow_step_transitions st
         ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
      WHERE s.workflow_step_uuid = $1`,
    [stepUuid],
  );
  return rows[0] ?? null;
}
