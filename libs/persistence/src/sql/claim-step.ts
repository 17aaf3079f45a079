import { type StepCheckpoint, TERMINAL_TASK_STATES } from '#core';
import type { Queryable } from '../database.js';

export interface ClaimedStep {
  stepUuid: string;
  taskUuid: string;
  stepName: string;
  handler: string;
  /** This run's number: 1 for the first. */
  attempt: number;
  maxAttempts: number;
  timeoutSeconds: number;
  inputs: Record<string, unknown>;
  /** The handler's configuration from the template (named_steps.config). */
  config: Record<string, unknown>;
  /** The handler class's method to call instead of `call` (named_steps.handler_method). */
  handlerMethod: string | null;
  /** The template step it was made from (null for a step of an unregistered template). */
  namedStepUuid: string | null;
  retryable: boolean;
  context: Record<string, unknown>;
  /** Results of the direct dependencies, by step name. */
  dependencyResults: Record<string, unknown>;
  /** The progress an earlier run saved (workflow_steps.checkpoint), if any. */
  checkpoint: StepCheckpoint | null;
}

/** workflow_steps.checkpoint as stored (Tasker Core's shape; see releaseStep). */
interface StoredCheckpoint {
  cursor: unknown;
  items_processed: number;
  accumulated_results: Record<string, unknown> | null;
  timestamp: string;
}

function checkpointOf(stored: StoredCheckpoint): StepCheckpoint {
  return {
    cursor: stored.cursor,
    itemsProcessed: stored.items_processed,
    accumulatedResults: stored.accumulated_results,
    savedAt: stored.timestamp,
  };
}

/**
 * The worker's claim of a batch of steps: `enqueued → in_progress` for each as a
 * compare-and-swap, counting the attempt, in one statement (a worker group-commits the claims
 * of the messages it took together). A step gets null when it was not `enqueued` (another
 * worker has it, it ran already, or it was cancelled) or its task has ended: a task's end stops
 * its steps, and a step message still in a queue must not run a handler for it. A uuid given
 * twice is claimed once: its later places get null. The compare-and-swap of transitionSteps is
 * inlined so the claims, attempt counts and handler inputs are one round trip on the hottest
 * path. The step rows are locked before their transitions, in uuid order (the lock order, see
 * transition-steps.ts); a transition appended while a lock was awaited is not seen, so that
 * claim finds nothing, which is right: the step was not `enqueued` when the claim started.
 * Answers in the order of `stepUuids`.
 */
export async function claimSteps(
  q: Queryable,
  stepUuids: readonly string[],
  processorUuid: string,
): Promise<(ClaimedStep | null)[]> {
  if (stepUuids.length === 0) return [];
  const { rows } = await q.query<
    Omit<ClaimedStep, 'checkpoint'> & { checkpoint: StoredCheckpoint | null }
  >(
    `WITH locked AS (
       SELECT s.workflow_step_uuid FROM tasker.workflow_steps s
        WHERE s.workflow_step_uuid = ANY ($1::uuid[])
        ORDER BY s.workflow_step_uuid
          FOR UPDATE
     ),
     retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
         FROM locked l
        WHERE t.workflow_step_uuid = l.workflow_step_uuid AND t.most_recent
          AND t.to_state = 'enqueued'
          AND NOT EXISTS (
            SELECT 1
              FROM tasker.workflow_steps s
              JOIN tasker.task_transitions tt ON tt.task_uuid = s.task_uuid AND tt.most_recent
             WHERE s.workflow_step_uuid = l.workflow_step_uuid
               AND tt.to_state = ANY ($3::text[]))
       RETURNING t.workflow_step_uuid, t.sort_key
     ),
     moved AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, sort_key, most_recent, processor_uuid)
       SELECT workflow_step_uuid, 'enqueued', 'in_progress', sort_key + 1, true, $2
         FROM retired
       RETURNING workflow_step_uuid
     ),
     counted AS (
       UPDATE tasker.workflow_steps s
          SET attempts = s.attempts + 1, last_attempted_at = clock_timestamp(), updated_at = now()
         FROM moved m
        WHERE s.workflow_step_uuid = m.workflow_step_uuid
       RETURNING s.*
     )
     SELECT c.workflow_step_uuid AS "stepUuid", c.task_uuid AS "taskUuid", c.name AS "stepName",
            c.handler, c.attempts AS attempt, c.max_attempts AS "maxAttempts",
            c.timeout_seconds AS "timeoutSeconds", c.inputs,
            coalesce(ns.config, '{}'::jsonb) AS config, ns.handler_method AS "handlerMethod",
            c.named_step_uuid AS "namedStepUuid", c.retryable,
            t.context,
            c.checkpoint,
            coalesce((SELECT jsonb_object_agg(p.name, p.results)
                        FROM tasker.workflow_step_edges e
                        JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid
                       WHERE e.to_step_uuid = c.workflow_step_uuid), '{}'::jsonb)
              AS "dependencyResults"
       FROM counted c
       JOIN tasker.tasks t ON t.task_uuid = c.task_uuid
       LEFT JOIN tasker.named_steps ns ON ns.named_step_uuid = c.named_step_uuid`,
    [stepUuids, processorUuid, TERMINAL_TASK_STATES],
  );
  const claimed = new Map(
    rows.map(({ checkpoint, ...row }): [string, ClaimedStep] => [
      row.stepUuid,
      { ...row, checkpoint: checkpoint && checkpointOf(checkpoint) },
    ]),
  );
  return stepUuids.map((uuid) => {
    const step = claimed.get(uuid.toLowerCase()) ?? null;
    claimed.delete(uuid.toLowerCase());
    return step;
  });
}
