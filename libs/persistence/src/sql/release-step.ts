import type { CheckpointYield } from '#core';
import type { Database } from '../database.js';
import { transitionSteps } from './transition-steps.js';

/** Checkpoints kept in a step's history beside the current one. */
const CHECKPOINT_HISTORY = 50;

/**
 * A worker gives a run back: `in_progress → enqueued` for run `attempt` only (a run that
 * already recorded, was cancelled or was taken over is left alone), and the attempt is
 * uncounted. Either the worker stops before its handler finished (the step never got its
 * chance), or the handler yielded a `checkpoint`, saved here in the same transaction in Tasker
 * Core's shape (cursor, items_processed, accumulated_results, timestamp, and a bounded history
 * of earlier cursors) for the next claim to resume from. The caller then puts the step message
 * back on the queue at once. Answers whether the run was given back.
 */
export async function releaseStep(
  database: Database,
  stepUuid: string,
  attempt: number,
  reason: string,
  processorUuid: string,
  checkpoint?: CheckpointYield,
): Promise<boolean> {
  return database.transaction(async (tx) => {
    const { rows } = await tx.query(
      `SELECT 1 FROM tasker.workflow_steps
        WHERE workflow_step_uuid = $1 AND attempts = $2
        FOR UPDATE`,
      [stepUuid, attempt],
    );
    if (rows.length === 0) return false;
    const moved = await transitionSteps(tx, {
      stepUuids: [stepUuid],
      from: ['in_progress'],
      to: 'enqueued',
      metadata: checkpoint
        ? { reason, attempt, itemsProcessed: checkpoint.itemsProcessed }
        : { reason, attempt },
      processorUuid,
    });
    if (moved.length === 0) return false;
    await tx.query(
      `UPDATE tasker.workflow_steps
          SET attempts = attempts - 1, announced_at = clock_timestamp(), updated_at = now(),
              checkpoint = CASE WHEN $2::boolean THEN jsonb_build_object(
                'cursor', $3::jsonb, 'items_processed', $4::int,
                'accumulated_results', $5::jsonb, 'timestamp', now(),
                'history', (
                  SELECT jsonb_agg(h.entry ORDER BY h.n)
                    FROM (SELECT e.entry, e.n
                            FROM jsonb_array_elements(
                                   coalesce(checkpoint->'history', '[]'::jsonb) ||
                                   jsonb_build_array(jsonb_build_object(
                                     'cursor', $3::jsonb, 'timestamp', now())))
                                 WITH ORDINALITY AS e(entry, n)
                           ORDER BY e.n DESC LIMIT $6) h))
                ELSE checkpoint END
        WHERE workflow_step_uuid = $1`,
      [
        stepUuid,
        checkpoint !== undefined,
        JSON.stringify(checkpoint?.cursor ?? null),
        checkpoint?.itemsProcessed ?? 0,
        JSON.stringify(checkpoint?.accumulatedResults ?? null),
        CHECKPOINT_HISTORY,
      ],
    );
    return true;
  });
}
