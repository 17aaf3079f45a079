import type { DlqReason, TaskState } from '#core';
import type { Queryable } from '../database.js';

export interface StaleTask {
  taskUuid: string;
  state: TaskState;
  reason: DlqReason;
  thresholdMinutes: number;
  stuckForSeconds: number;
  /**
   * The task's latest task or step transition as this read saw it (timestamptz text, exact to
   * the microsecond): a later one means the task moved on (taskMovedSince).
   */
  lastActivityAt: string;
}

export interface StalenessDefaults {
  waitingForDependenciesMinutes: number;
  waitingForRetryMinutes: number;
  stepsInProcessMinutes: number;
  maxLifetimeMinutes: number;
}

/**
 * Tasks stuck at `now`: in a waiting state with no task or step transition for longer than the
 * state's threshold, or alive longer than the lifetime. A template's `staleness` overrides the
 * defaults. Candidates come from the current-state index; the step-activity check only runs
 * for tasks whose state is already old enough.
 */
export async function findStaleTasks(
  q: Queryable,
  now: Date,
  defaults: StalenessDefaults,
  limit: number,
): Promise<StaleTask[]> {
  const { rows } = await q.query<StaleTask>(
    `WITH limits AS (
       SELECT t.task_uuid, tr.to_state, tr.created_at AS state_since, t.created_at AS born,
              coalesce((nt.configuration->'staleness'->>(CASE tr.to_state
                          WHEN 'waiting_for_dependencies' THEN 'waitingForDependenciesMinutes'
                          WHEN 'waiting_for_retry' THEN 'waitingForRetryMinutes'
                          ELSE 'stepsInProcessMinutes' END))::int,
                       CASE tr.to_state WHEN 'waiting_for_dependencies' THEN $2::int
                                        WHEN 'waiting_for_retry' THEN $3::int
                                        ELSE $4::int END) AS state_minutes,
              coalesce((nt.configuration->'staleness'->>'maxLifetimeMinutes')::int, $5::int)
                AS lifetime_minutes
         FROM tasker.task_transitions tr
         JOIN tasker.tasks t ON t.task_uuid = tr.task_uuid
         JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
        WHERE tr.most_recent
          AND tr.to_state IN ('waiting_for_dependencies', 'waiting_for_retry', 'steps_in_process')
     ),
     stale AS (
       SELECT l.*,
              (SELECT max(st.created_at) FROM tasker.workflow_step_transitions st
                 JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
                WHERE s.task_uuid = l.task_uuid) AS step_activity
         FROM limits l
        WHERE l.born < $1::timestamptz - make_interval(mins => l.lifetime_minutes)
           OR (l.state_since < $1::timestamptz - make_interval(mins => l.state_minutes)
               -- Waiting for a slot of a limit is not being stuck: the lifetime still applies.
               AND NOT EXISTS (SELECT 1 FROM tasker.concurrency_waiters cw
                                WHERE cw.task_uuid = l.task_uuid))
     )
     SELECT task_uuid AS "taskUuid", to_state AS state,
            CASE WHEN born < $1::timestamptz - make_interval(mins => lifetime_minutes) THEN 'lifetime_exceeded'
                 ELSE 'stale_' || to_state END AS reason,
            CASE WHEN born < $1::timestamptz - make_interval(mins => lifetime_minutes) THEN lifetime_minutes
                 ELSE state_minutes END AS "thresholdMinutes",
            extract(epoch FROM $1::timestamptz - CASE
              WHEN born < $1::timestamptz - make_interval(mins => lifetime_minutes) THEN born
              ELSE greatest(state_since, step_activity) END)::int AS "stuckForSeconds",
            greatest(state_since, step_activity)::text AS "lastActivityAt"
       FROM stale
      WHERE born < $1::timestamptz - make_interval(mins => lifetime_minutes)
         OR greatest(state_since, step_activity) < $1::timestamptz - make_interval(mins => state_minutes)
      ORDER BY state_since
      LIMIT $6`,
    [
      now,
      defaults.waitingForDependenciesMinutes,
      defaults.waitingForRetryMinutes,
      defaults.stepsInProcessMinutes,
      defaults.maxLifetimeMinutes,
      limit,
    ],
  );
  return rows;
}
