import type { StepMove } from '#core';
import { stepStatesLeadingTo } from '#core';
import type { Queryable } from '../database.js';

/** A step move (compare-and-swap), recorded with the processor that made it. */
export interface StepTransitionRequest extends StepMove {
  processorUuid?: string | null;
  /**
   * The transaction already holds every one of the steps' row locks, taken by an earlier
   * statement (lockTasksWithSteps): the compare-and-swap needs no lock statement of its own.
   */
  stepsLocked?: boolean;
}

/**
 * The lock order of every writer, so that no two can deadlock: **task → step → transition**.
 * A transaction takes the task row (lockTask) before any of its steps' rows, and a step's row
 * (`workflow_steps … FOR UPDATE`, or an UPDATE of it) before that step's transition rows; among
 * several steps, in step uuid order. Workers hold no task lock and start at the step.
 *
 * Here: lock the steps, then compare-and-swap in a second statement, so the swap reads the
 * transitions as committed after the wait (a single statement would keep its snapshot from
 * before it, miss a transition appended meanwhile and move nothing).
 */
async function lockSteps(q: Queryable, stepUuids: readonly string[]): Promise<void> {
  await q.query(
    `SELECT 1 FROM tasker.workflow_steps
      WHERE workflow_step_uuid = ANY ($1::uuid[])
      ORDER BY workflow_step_uuid
      FOR UPDATE`,
    [stepUuids],
  );
}

/**
 * Compare-and-swap for many steps: retire the current transition only where its state is an
 * expected one, and append the next one. Callers serialize on the step rows (see lockSteps);
 * the loser re-checks `most_recent`, matches nothing and writes nothing. Returns the steps that
 * moved. A step moved anywhere but waiting_for_retry loses its retry time in the same
 * statement: only waiting steps may carry one, or the retry sweep would find it due for good.
 * Run it in a transaction: the step locks must last until the commit.
 */
export async function transitionSteps(q: Queryable, req: StepTransitionRequest): Promise<string[]> {
  if (req.stepUuids.length === 0) return [];
  const from = req.from ?? stepStatesLeadingTo(req.to);
  if (!req.stepsLocked) await lockSteps(q, req.stepUuids);
  const { rows } = await q.query<{ workflow_step_uuid: string }>(
    `WITH retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
        WHERE t.workflow_step_uuid = ANY ($1::uuid[])
          AND t.most_recent
          AND t.to_state = ANY ($2::text[])
       RETURNING t.workflow_step_uuid, t.to_state, t.sort_key
     ),
     retry_dropped AS (
       UPDATE tasker.workflow_steps s
          SET next_retry_at = NULL, updated_at = now()
         FROM retired r
        WHERE s.workflow_step_uuid = r.workflow_step_uuid
          AND $3::text <> 'waiting_for_retry' AND s.next_retry_at IS NOT NULL
     )
     INSERT INTO tasker.workflow_step_transitions
       (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
     SELECT r.workflow_step_uuid, r.to_state, $3, $4::jsonb, r.sort_key + 1, true, $5
       FROM retired r
     RETURNING workflow_step_uuid`,
    [req.stepUuids, from, req.to, JSON.stringify(req.metadata ?? {}), req.processorUuid ?? null],
  );
  return rows.map((r) => r.workflow_step_uuid);
}
