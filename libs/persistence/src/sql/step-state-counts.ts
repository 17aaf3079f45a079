import type { StepStateCounts } from '#core';
import type { Queryable } from '../database.js';

/** How many of a task's steps are in each state. */
export async function stepStateCounts(q: Queryable, taskUuid: string): Promise<StepStateCounts> {
  const { rows } = await q.query<{ state: keyof StepStateCounts; n: number }>(
    `SELECT st.to_state AS state, count(*)::int AS n
       FROM tasker.workflow_steps s
       JOIN tasker.workflow_step_transitions st
         ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
      WHERE s.task_uuid = $1
      GROUP BY st.to_state`,
    [taskUuid],
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}
