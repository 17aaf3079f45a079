import type { Queryable } from '../database.js';
import { transitionSteps } from './transition-steps.js';

/**
 * `enqueued_as_error_for_orchestration → waiting_for_retry`, due after `delayMs`. The retry
 * sweep (or the next evaluation of the task) enqueues it once `next_retry_at` has passed.
 */
export async function scheduleStepRetry(
  q: Queryable,
  stepUuid: string,
  delayMs: number,
  processorUuid: string | null,
  options: { stepLocked?: boolean } = {},
): Promise<boolean> {
  const moved = await transitionSteps(q, {
    stepUuids: [stepUuid],
    from: ['enqueued_as_error_for_orchestration'],
    to: 'waiting_for_retry',
    metadata: { delayMs },
    processorUuid,
    stepsLocked: options.stepLocked,
  });
  if (moved.length === 0) return false;
  await q.query(
    `UPDATE tasker.workflow_steps
        SET next_retry_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000),
            updated_at = now()
      WHERE workflow_step_uuid = $1`,
    [stepUuid, delayMs],
  );
  return true;
}
