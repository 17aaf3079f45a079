import type { Queryable } from '../database.js';

/** An operator's reset: the step gets its full retry budget back and loses its last result. */
export async function resetStepAttempts(q: Queryable, stepUuid: string): Promise<void> {
  await q.query(
    `UPDATE tasker.workflow_steps
        SET attempts = 0, backoff_request_seconds = NULL, results = NULL,
            updated_at = now()
      WHERE workflow_step_uuid = $1`,
    [stepUuid],
  );
}
