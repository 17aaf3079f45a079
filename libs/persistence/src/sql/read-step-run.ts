import type { StepState } from '#core';
import type { Queryable } from '../database.js';

export interface StepRunState {
  state: StepState;
  attempts: number;
  /** Milliseconds until the current run's timeout passes (negative once it has). */
  msUntilTimeout: number | null;
}

/** Where a step stands, for a worker whose claim failed: duplicate, lost run, or still running. */
export async function readStepRun(q: Queryable, stepUuid: string): Promise<StepRunState | null> {
  const { rows } = await q.query<StepRunState>(
    `SELECT st.to_state AS state, s.attempts,
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
