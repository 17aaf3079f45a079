import type { Queryable } from '../database.js';
import { transitionSteps } from './transition-steps.js';

export interface EnqueuedStep {
  stepUuid: string;
  stepName: string;
}

/**
 * Moves every ready step of a task to `enqueued` (via `pending` for steps back from a retry
 * wait) and stamps `announced_at`. The caller commits, then sends one message per returned step:
 * state before queue.
 */
export async function enqueueReadySteps(
  q: Queryable,
  taskUuid: string,
  processorUuid: string | null,
): Promise<EnqueuedStep[]> {
  const { rows: ready } = await q.query<{ workflow_step_uuid: string; current_state: string }>(
    'SELECT workflow_step_uuid, current_state FROM tasker.ready_steps(ARRAY[$1]::uuid[])',
    [taskUuid],
  );
  if (ready.length === 0) return [];
  const retrying = ready
    .filter((r) => r.current_state === 'waiting_for_retry')
    .map((r) => r.workflow_step_uuid);
  await transitionSteps(q, {
    stepUuids: retrying,
    from: ['waiting_for_retry'],
    to: 'pending',
    metadata: { reason: 'retry_due' },
    processorUuid,
  });
  const moved = await transitionSteps(q, {
    stepUuids: ready.map((r) => r.workflow_step_uuid),
    from: ['pending'],
    to: 'enqueued',
    processorUuid,
  });
  if (moved.length === 0) return [];
  const { rows } = await q.query<EnqueuedStep>(
    `UPDATE tasker.workflow_steps
        SET announced_at = clock_timestamp(), next_retry_at = NULL, updated_at = now()
      WHERE workflow_step_uuid = ANY ($1::uuid[])
      RETURNING workflow_step_uuid AS "stepUuid", name AS "stepName"`,
    [moved],
  );
  return rows;
}
