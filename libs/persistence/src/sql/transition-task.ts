import type { TaskState } from '#core';
import { canTransitionTask, IllegalTransitionError, isTerminalTaskState } from '#core';
import type { Queryable } from '../database.js';

/**
 * Moves a task through a chain of states (e.g. evaluating_results → enqueuing_steps →
 * steps_in_process) in one statement, as a compare-and-swap on its current state: every
 * intermediate state is recorded, and nothing is written unless the task is in one of `from`.
 * Ending in a terminal state stamps the task's completed_at in the same statement.
 * Returns whether the task moved.
 */
export async function transitionTask(
  q: Queryable,
  taskUuid: string,
  from: readonly TaskState[],
  chain: readonly TaskState[],
  metadata: Record<string, unknown> = {},
  processorUuid: string | null = null,
): Promise<boolean> {
  assertLegalChain(from, chain);
  const { rowCount } = await q.query(
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
     )
     INSERT INTO tasker.task_transitions
       (task_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
     SELECT $1,
            coalesce(lag(c.state) OVER (ORDER BY c.ord), r.to_state),
            c.state, $4::jsonb, r.sort_key + c.ord, c.ord = $5, $6
       FROM retired r CROSS JOIN chain c`,
    [
      taskUuid,
      from,
      chain,
      JSON.stringify(metadata),
      chain.length,
      processorUuid,
      isTerminalTaskState(chain[chain.length - 1]!),
    ],
  );
  return (rowCount ?? 0) > 0;
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
