import type { TaskState } from '#core';
import {
  canTransitionTask,
  IllegalTransitionError,
  isTerminalTaskState,
  stepsEndedWithTask,
} from '#core';
import type { Queryable } from '../database.js';

/**
 * Moves a task through a chain of states (e.g. evaluating_results → enqueuing_steps →
 * steps_in_process) in one statement, as a compare-and-swap on its current state: every
 * intermediate state is recorded, and nothing is written unless the task is in one of `from`.
 * Ending in a terminal state stamps the task's completed_at, moves its unfinished steps as
 * stepsEndedWithTask says (with the same metadata) and clears every retry time of its steps, in
 * the same statement: a task that ended leaves nothing to run, claim or sweep.
 * Returns null when the task did not move, else the steps its end moved.
 */
export async function transitionTask(
  q: Queryable,
  taskUuid: string,
  from: readonly TaskState[],
  chain: readonly TaskState[],
  metadata: Record<string, unknown> = {},
  processorUuid: string | null = null,
): Promise<{ endedSteps: string[] } | null> {
  assertLegalChain(from, chain);
  const last = chain[chain.length - 1]!;
  const ended = stepsEndedWithTask(last);
  // Ending touches the steps' rows and transitions: take the step rows first, as every writer
  // does (task → step → transition, see transition-steps.ts), in their own statement so the
  // one below reads what was committed while it waited.
  if (isTerminalTaskState(last)) {
    await q.query(
      `SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = $1
        ORDER BY workflow_step_uuid FOR UPDATE`,
      [taskUuid],
    );
  }
  const { rows } = await q.query<{ moved: boolean; endedSteps: string[] }>(
    `WITH retired AS (
       UPDATE tasker.task_transitions t
          SET most_recent = false
        WHERE t.task_uuid = $1 AND t.most_recent AND t.to_state = ANY ($2::text[])
       RETURNING t.to_state, t.sort_key
     ),
     chain AS (
       SELECT c.state, c.ord FROM unnest($3::text[]) WITH ORDINALITY AS c(state, ord)
     ),
     finished AS (
       UPDATE tasker.tasks SET completed_at = clock_timestamp(), updated_at = now()
        WHERE task_uuid = $1 AND $7 AND EXISTS (SELECT 1 FROM retired)
     ),
     steps_retired AS (
       UPDATE tasker.workflow_step_transitions st
          SET most_recent = false
         FROM tasker.workflow_steps s
        WHERE s.task_uuid = $1 AND EXISTS (SELECT 1 FROM retired)
          AND st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
          AND st.to_state = ANY ($8::text[])
       RETURNING st.workflow_step_uuid, st.to_state, st.sort_key
     ),
     steps_ended AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent,
          processor_uuid)
       SELECT workflow_step_uuid, to_state, $9, $4::jsonb, sort_key + 1, true, $6
         FROM steps_retired
       RETURNING workflow_step_uuid
     ),
     retries_dropped AS (
       UPDATE tasker.workflow_steps
          SET next_retry_at = NULL, updated_at = now()
        WHERE task_uuid = $1 AND $7 AND next_retry_at IS NOT NULL
          AND EXISTS (SELECT 1 FROM retired)
     ),
     moved AS (
       INSERT INTO tasker.task_transitions
         (task_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
       SELECT $1,
              coalesce(lag(c.state) OVER (ORDER BY c.ord), r.to_state),
              c.state, $4::jsonb, r.sort_key + c.ord, c.ord = $5, $6
         FROM retired r CROSS JOIN chain c
       RETURNING 1
     )
     SELECT EXISTS (SELECT 1 FROM moved) AS moved,
            coalesce((SELECT array_agg(workflow_step_uuid::text) FROM steps_ended), '{}')
              AS "endedSteps"`,
    [
      taskUuid,
      from,
      chain,
      JSON.stringify(metadata),
      chain.length,
      processorUuid,
      isTerminalTaskState(last),
      ended?.from ?? [],
      ended?.to ?? null,
    ],
  );
  const row = rows[0]!;
  return row.moved ? { endedSteps: row.endedSteps } : null;
}

function assertLegalChain(from: readonly TaskState[], chain: readonly TaskState[]): void {
  const [first, ...rest] = chain;
  if (first === undefined) throw new Error('a task transition chain needs at least one state');
  for (const state of from) {
    if (!canTransitionTask(state, first)) throw new IllegalTransitionError('task', state, first);
  }
  rest.reduce<TaskState>((prev, next) => {
    if (!canTransitionTask(prev, next)) throw new IllegalTransitionError('task', prev, next);
    return next;
  }, first);
}
