import { EVALUABLE_TASK_STATES, TERMINAL_TASK_STATES } from '#core';
import type { Queryable } from '../database.js';

/**
 * Tasks with work the event path did not (or could not) announce: a step waiting for a retry
 * whose time has passed, in a task that can be evaluated, or a step left `enqueued` since
 * before `staleBefore` (the process died between commit and send) in a task that has not
 * ended. Both conditions use partial indexes (a step's `enqueued` transition is as old as its
 * announcement or older, so its age narrows the scan; migration 0008); the caller locks each
 * task with SKIP LOCKED. The oldest come first, and each half reads its partial index in order
 * (the inner ORDER BY … LIMIT keeps a generic plan of a prepared statement on it). The state
 * checks keep a row that should not be there (a retry time or an announcement of work that
 * will not run) from taking a place in the batch: a batch of those would stop the sweep.
 * Also says whether any step waits for a slot of a limit (the sweep then admits), and whether
 * any limit key has a row (the sweep then prunes those nothing uses).
 */
export async function findTasksDue(
  q: Queryable,
  limit: number,
  reannounceAfterMs: number,
): Promise<{
  dueRetries: string[];
  staleAnnouncements: string[];
  stepsWaitForSlots: boolean;
  limitKeysKept: boolean;
}> {
  const { rows } = await q.query<{
    task_uuid: string | null;
    kind: 'retry' | 'stale' | 'waiting' | 'keys';
  }>(
    `SELECT DISTINCT task_uuid, 'retry' AS kind
       FROM (SELECT s.task_uuid
               FROM tasker.workflow_steps s
               JOIN tasker.workflow_step_transitions st
                 ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
               JOIN tasker.task_transitions tt ON tt.task_uuid = s.task_uuid AND tt.most_recent
              WHERE s.next_retry_at <= statement_timestamp()
                AND st.to_state = 'waiting_for_retry'
                AND tt.to_state = ANY ($3::text[])
              ORDER BY s.next_retry_at
              LIMIT $1) due
     UNION ALL
     SELECT DISTINCT task_uuid, 'stale' AS kind
       FROM (SELECT s.task_uuid
               FROM tasker.workflow_step_transitions st
               JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
               JOIN tasker.task_transitions tt ON tt.task_uuid = s.task_uuid AND tt.most_recent
              WHERE st.most_recent AND st.to_state = 'enqueued'
                AND tt.to_state <> ALL ($4::text[])
                AND st.created_at < statement_timestamp() - make_interval(secs => $2::float8 / 1000)
                AND s.announced_at < statement_timestamp() - make_interval(secs => $2::float8 / 1000)
              ORDER BY st.created_at
              LIMIT $1) stale
     UNION ALL
     SELECT NULL, 'waiting' WHERE EXISTS (SELECT 1 FROM tasker.concurrency_waiters)
     UNION ALL
     SELECT NULL, 'keys' WHERE EXISTS (SELECT 1 FROM tasker.concurrency_keys)`,
    [limit, reannounceAfterMs, EVALUABLE_TASK_STATES, TERMINAL_TASK_STATES],
  );
  return {
    dueRetries: rows.filter((r) => r.kind === 'retry').map((r) => r.task_uuid!),
    staleAnnouncements: rows.filter((r) => r.kind === 'stale').map((r) => r.task_uuid!),
    stepsWaitForSlots: rows.some((r) => r.kind === 'waiting'),
    limitKeysKept: rows.some((r) => r.kind === 'keys'),
  };
}
