import type { Queryable } from '../database.js';
import type { EnqueuedStep } from '#core';

/**
 * A task's steps still `enqueued`, re-stamping `announced_at`: the caller sends their messages
 * again. Used when an announcement may have been lost; a duplicate step message is harmless
 * because the worker's claim is a compare-and-swap.
 */
export async function reannounceEnqueuedSteps(
  q: Queryable,
  taskUuid: string,
): Promise<EnqueuedStep[]> {
  const { rows } = await q.query<EnqueuedStep>(
    `UPDATE tasker.workflow_steps s
        SET announced_at = clock_timestamp()
       FROM tasker.workflow_step_transitions st
      WHERE s.task_uuid = $1
        AND st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
        AND st.to_state = 'enqueued'
      RETURNING s.workflow_step_uuid AS "stepUuid", s.name AS "stepName"`,
    [taskUuid],
  );
  return rows;
}
