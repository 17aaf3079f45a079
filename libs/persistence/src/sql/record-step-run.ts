import type { StepFailure } from '#core';
import type { Queryable } from '../database.js';
import { jsonbSafeText } from '../jsonb-text.js';

export type StepRunOutcome =
  { kind: 'success'; result: unknown } | { kind: 'failure'; failure: StepFailure };

/**
 * Stores a run's result or error together with its transition (`in_progress →
 * enqueued_for_orchestration | enqueued_as_error_for_orchestration`). Only the run that holds
 * the claim can record: the step must still be `in_progress` at the same attempt, so a late
 * run that lost its claim (timed out, cancelled) changes nothing. Returns whether it recorded.
 * The step row is locked before its transition (the lock order, see transition-steps.ts).
 * A success's result must be storable as jsonb (see findJsonbUnstorable).
 */
export async function recordStepRun(
  q: Queryable,
  stepUuid: string,
  attempt: number,
  outcome: StepRunOutcome,
  processorUuid: string,
): Promise<boolean> {
  const toState =
    outcome.kind === 'success'
      ? 'enqueued_for_orchestration'
      : 'enqueued_as_error_for_orchestration';
  const result = outcome.kind === 'success' ? JSON.stringify(outcome.result ?? null) : null;
  // An error message may quote anything (a NUL, half a surrogate pair): stored readable, never refused.
  const failure =
    outcome.kind === 'failure'
      ? JSON.stringify(outcome.failure, (_key, value: unknown) =>
          typeof value === 'string' ? jsonbSafeText(value) : value,
        )
      : null;
  const backoffSeconds =
    outcome.kind === 'failure' && outcome.failure.backoffHintMs !== null
      ? outcome.failure.backoffHintMs / 1000
      : null;
  const { rowCount } = await q.query(
    `WITH locked AS (
       SELECT s.workflow_step_uuid FROM tasker.workflow_steps s
        WHERE s.workflow_step_uuid = $1 AND s.attempts = $2
          FOR UPDATE
     ),
     retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
         FROM locked l
        WHERE t.workflow_step_uuid = l.workflow_step_uuid AND t.most_recent
          AND t.to_state = 'in_progress'
       RETURNING t.workflow_step_uuid, t.sort_key
     ),
     moved AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent, processor_uuid)
       SELECT workflow_step_uuid, 'in_progress', $3, jsonb_build_object('attempt', $2::int),
              sort_key + 1, true, $7
         FROM retired
       RETURNING workflow_step_uuid
     )
     UPDATE tasker.workflow_steps s
        SET results = CASE WHEN $4::jsonb IS NULL THEN s.results ELSE $4::jsonb END,
            last_error = $5::jsonb,
            backoff_request_seconds = $6,
            updated_at = now()
       FROM moved m
      WHERE s.workflow_step_uuid = m.workflow_step_uuid`,
    [stepUuid, attempt, toState, result, failure, backoffSeconds, processorUuid],
  );
  return (rowCount ?? 0) > 0;
}
