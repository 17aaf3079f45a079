import type { StepState } from '#core';
import { stepStatesLeadingTo } from '#core';
import type { Queryable } from '../database.js';

export interface StepTransitionRequest {
  stepUuids: readonly string[];
  to: StepState;
  /** Current states allowed to move; defaults to every state the state machine allows. */
  from?: readonly StepState[];
  metadata?: Record<string, unknown>;
  processorUuid?: string | null;
}

/**
 * Compare-and-swap for many steps in one statement: retire the current transition only where
 * its state is an expected one, and append the next one. Concurrent callers serialize on the
 * current row; the loser re-checks `most_recent`, matches nothing and writes nothing. A step
 * moved anywhere but waiting_for_retry loses its retry time in the same statement: only
 * waiting steps may carry one, or the retry sweep would find it due for good.
 * Returns the steps that moved.
 */
export async function transitionSteps(q: Queryable, req: StepTransitionRequest): Promise<string[]> {
  if (req.stepUuids.length === 0) return [];
  const from = req.from ?? stepStatesLeadingTo(req.to);
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
