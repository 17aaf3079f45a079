import type { TaskMove, TaskState } from '#core';
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
  const [moved] = await transitionTasks(q, [{ taskUuid, from, chain, metadata }], processorUuid);
  return moved!;
}

/**
 * transitionTask for many tasks (each once), in one statement, plus one that first locks the
 * steps of the tasks that end. Answers in the order of `moves`. The caller holds the tasks'
 * locks.
 */
export async function transitionTasks(
  q: Queryable,
  moves: readonly TaskMove[],
  processorUuid: string | null = null,
): Promise<({ endedSteps: string[] } | null)[]> {
  if (moves.length === 0) return [];
  const input = moves.map((move) => {
    assertLegalChain(move.from, move.chain);
    const last = move.chain[move.chain.length - 1]!;
    const ended = stepsEndedWithTask(last);
    return {
      task_uuid: move.taskUuid,
      from_states: move.from,
      chain: move.chain,
      metadata: move.metadata ?? {},
      terminal: isTerminalTaskState(last),
      end_from: ended?.from ?? [],
      end_to: ended?.to ?? null,
    };
  });
  const ending = input.filter((move) => move.terminal).map((move) => move.task_uuid);
  // Ending touches the steps' rows and transitions: take the step rows first, as every writer
  // does (task → step → transition, see transition-steps.ts), in their own statement so the
  // one below reads what was committed while it waited.
  let endingSteps: string[] = [];
  if (ending.length > 0) {
    const { rows } = await q.query<{ workflow_step_uuid: string }>(
      `SELECT workflow_step_uuid FROM tasker.workflow_steps WHERE task_uuid = ANY ($1::uuid[])
        ORDER BY workflow_step_uuid FOR UPDATE`,
      [ending],
    );
    endingSteps = rows.map((row) => row.workflow_step_uuid);
  }
  const { rows } = await q.query<{ taskUuid: string; endedSteps: string[] }>(
    // The tasks' and the ending steps' uuids are also passed as arrays: matched with = ANY on
    // each table's key, every plan (generic ones included) takes the indexes; joined to the
    // recordset alone, plans scanned whole tables, slower with every task ever run.
    `WITH m AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
         AS m(task_uuid uuid, from_states text[], chain text[], metadata jsonb, terminal boolean,
              end_from text[], end_to text)
     ),
     retired AS (
       UPDATE tasker.task_transitions t
          SET most_recent = false
         FROM m
        WHERE t.task_uuid = ANY ($3::uuid[]) AND t.task_uuid = m.task_uuid AND t.most_recent
          AND t.to_state = ANY (m.from_states)
       RETURNING t.task_uuid, t.to_state, t.sort_key
     ),
     moving AS (
       SELECT m.*, r.to_state AS origin, r.sort_key FROM m JOIN retired r USING (task_uuid)
     ),
     finished AS (
       UPDATE tasker.tasks t SET completed_at = clock_timestamp(), updated_at = now()
        WHERE t.task_uuid = ANY ($4::uuid[]) AND t.task_uuid IN (SELECT task_uuid FROM moving)
     ),
     steps_retired AS (
       UPDATE tasker.workflow_step_transitions st
          SET most_recent = false
         FROM tasker.workflow_steps s JOIN moving mv ON mv.task_uuid = s.task_uuid
        WHERE st.workflow_step_uuid = ANY ($5::uuid[]) AND st.most_recent
          AND s.workflow_step_uuid = ANY ($5::uuid[])
          AND st.workflow_step_uuid = s.workflow_step_uuid
          AND st.to_state = ANY (mv.end_from)
       RETURNING st.workflow_step_uuid, st.to_state, st.sort_key, mv.task_uuid, mv.end_to,
                 mv.metadata
     ),
     steps_ended AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent,
          processor_uuid)
       SELECT workflow_step_uuid, to_state, end_to, metadata, sort_key + 1, true, $2
         FROM steps_retired
     ),
     retries_dropped AS (
       UPDATE tasker.workflow_steps s
          SET next_retry_at = NULL, updated_at = now()
        WHERE s.workflow_step_uuid = ANY ($5::uuid[]) AND s.next_retry_at IS NOT NULL
          AND s.task_uuid IN (SELECT task_uuid FROM moving)
     ),
     moved AS (
       INSERT INTO tasker.task_transitions
         (task_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
       SELECT mv.task_uuid,
              coalesce(lag(c.state) OVER (PARTITION BY mv.task_uuid ORDER BY c.ord), mv.origin),
              c.state, mv.metadata, mv.sort_key + c.ord, c.ord = cardinality(mv.chain), $2
         FROM moving mv CROSS JOIN LATERAL unnest(mv.chain) WITH ORDINALITY AS c(state, ord)
     )
     SELECT mv.task_uuid AS "taskUuid",
            coalesce((SELECT array_agg(sr.workflow_step_uuid::text) FROM steps_retired sr
                       WHERE sr.task_uuid = mv.task_uuid), '{}') AS "endedSteps"
       FROM moving mv`,
    [
      JSON.stringify(input),
      processorUuid,
      input.map((move) => move.task_uuid),
      ending,
      endingSteps,
    ],
  );
  const moved = new Map(rows.map((row) => [row.taskUuid, row.endedSteps]));
  return moves.map((move) => {
    const endedSteps = moved.get(move.taskUuid.toLowerCase());
    return endedSteps ? { endedSteps } : null;
  });
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
