import { ENQUEUEABLE_STEP_STATES, type ReadySteps } from '#core';
import type { Queryable } from '../database.js';

/**
 * Moves every ready step of the tasks to `enqueued` (via `pending`, reason `retry_due`, for steps
 * back from a retry wait), stamps `announced_at`, and counts each task's steps by state, in one
 * statement for the whole batch of tasks (answered by task uuid): this runs for every batch of
 * step results, so every round trip saved here is one per batch.
 * The move is the same compare-and-swap as transitionSteps (retire the current transition only
 * while it is still pending / waiting_for_retry, append the next), so a concurrent caller moves
 * nothing twice; the step rows are locked before their transitions (the lock order, see
 * transition-steps.ts). The counts are read with the statement's snapshot and corrected for the moves
 * it made (a statement does not see its own changes). The caller commits, then sends one
 * message per returned step: state before queue. With `limitedAt` (some tasks are under a limit:
 * queueReadySteps ran first and decided readiness at that moment), readiness is decided at the
 * same moment, and steps waiting for a slot of a limit are left as they are.
 */
export async function enqueueReadyStepsOfTasks(
  q: Queryable,
  taskUuids: readonly string[],
  processorUuid: string | null,
  limitedAt: string | null = null,
): Promise<Map<string, ReadySteps>> {
  if (taskUuids.length === 0) return new Map();
  const { rows } = await q.query<ReadySteps & { taskUuid: string }>(
    `WITH locked AS (
       SELECT s.workflow_step_uuid, s.task_uuid
         FROM tasker.workflow_steps s
        WHERE s.workflow_step_uuid IN
              (SELECT r.workflow_step_uuid FROM tasker.ready_steps($1::uuid[], $4::timestamptz) r)
          AND NOT ($4::timestamptz IS NOT NULL AND EXISTS (SELECT 1 FROM tasker.concurrency_waiters w
                                           WHERE w.workflow_step_uuid = s.workflow_step_uuid))
        ORDER BY s.workflow_step_uuid
          FOR UPDATE OF s
     ),
     retired AS (
       UPDATE tasker.workflow_step_transitions t
          SET most_recent = false
         FROM locked l
        WHERE t.workflow_step_uuid = l.workflow_step_uuid
          AND t.most_recent
          AND t.to_state = ANY ($3::text[])
       RETURNING t.workflow_step_uuid, l.task_uuid, t.to_state, t.sort_key
     ),
     chain AS (
       SELECT r.workflow_step_uuid, r.to_state AS origin, r.sort_key, c.ord, c.state, c.metadata
         FROM retired r
         JOIN (VALUES (1, 'pending', '{"reason":"retry_due"}'::jsonb),
                      (2, 'enqueued', '{}'::jsonb)) AS c(ord, state, metadata)
           ON c.state = 'enqueued' OR r.to_state = 'waiting_for_retry'
     ),
     recorded AS (
       INSERT INTO tasker.workflow_step_transitions
         (workflow_step_uuid, from_state, to_state, metadata, sort_key, most_recent,
          processor_uuid)
       SELECT workflow_step_uuid, coalesce(lag(state) OVER w, origin), state, metadata,
              sort_key + row_number() OVER w, state = 'enqueued', $2
         FROM chain
       WINDOW w AS (PARTITION BY workflow_step_uuid ORDER BY ord)
     ),
     stamped AS (
       UPDATE tasker.workflow_steps s
          SET announced_at = clock_timestamp(), next_retry_at = NULL, updated_at = now()
         FROM retired r
        WHERE s.workflow_step_uuid = r.workflow_step_uuid
       RETURNING s.workflow_step_uuid, s.task_uuid, s.name
     ),
     counts AS (
       SELECT c.task_uuid, c.state, sum(c.n)::int AS n
         FROM (SELECT s.task_uuid, st.to_state AS state, 1 AS n
                 FROM tasker.workflow_steps s
                 JOIN tasker.workflow_step_transitions st
                   ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
                WHERE s.task_uuid = ANY ($1::uuid[])
               UNION ALL SELECT task_uuid, to_state, -1 FROM retired
               UNION ALL SELECT task_uuid, 'enqueued', 1 FROM retired) c
        GROUP BY c.task_uuid, c.state
     )
     SELECT t.task_uuid AS "taskUuid",
            (SELECT coalesce(json_agg(json_build_object('stepUuid', st.workflow_step_uuid,
                                                        'stepName', st.name)), '[]')
               FROM stamped st WHERE st.task_uuid = t.task_uuid) AS steps,
            (SELECT coalesce(json_object_agg(c.state, c.n), '{}')
               FROM counts c WHERE c.task_uuid = t.task_uuid AND c.n > 0) AS counts
       FROM (SELECT DISTINCT unnest($1::uuid[]) AS task_uuid) t`,
    [taskUuids, processorUuid, ENQUEUEABLE_STEP_STATES, limitedAt],
  );
  return new Map(rows.map(({ taskUuid, steps, counts }) => [taskUuid, { steps, counts }]));
}
