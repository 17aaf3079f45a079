import type { Database } from '../database.js';
import { transitionSteps } from './transition-steps.js';

/**
 * A worker that stops before its handler finished gives the run back: `in_progress → enqueued`
 * for run `attempt` only (a run that already recorded, was cancelled or was taken over is left
 * alone), and the attempt is uncounted, since the step never got its chance. The caller then
 * puts the step message back on the queue at once.
 */
export async function releaseStep(
  database: Database,
  stepUuid: string,
  attempt: number,
  reason: string,
  processorUuid: string,
): Promise<boolean> {
  return database.transaction(async (tx) => {
    const { rows } = await tx.query(
      `SELECT 1 FROM tasker.workflow_steps
        WHERE workflow_step_uuid = $1 AND attempts = $2
        FOR UPDATE`,
      [stepUuid, attempt],
    );
    if (rows.length === 0) return false;
    const moved = await transitionSteps(tx, {
      stepUuids: [stepUuid],
      from: ['in_progress'],
      to: 'enqueued',
      metadata: { reason, attempt },
      processorUuid,
    });
    if (moved.length === 0) return false;
    await tx.query(
      `UPDATE tasker.workflow_steps
          SET attempts = attempts - 1, announced_at = clock_timestamp(), updated_at = now()
        WHERE workflow_step_uuid = $1`,
      [stepUuid],
    );
    return true;
  });
}
