import type { Queryable } from '../database.js';

/**
 * Tasks with work the event path did not (or could not) announce: a step whose retry time has
 * passed, or a step left `enqueued` since before `staleBefore` (the process died between commit
 * and send). Both conditions use partial indexes (a step's `enqueued` transition is as old as
 * its announcement or older, so its age narrows the scan; migration 0008); the caller locks
 * each task with SKIP LOCKED.
 */
export async function findTasksDue(
  q: Queryable,
  limit: number,
  reannounceAfterMs: number,
): Promise<{ dueRetries: string[]; staleAnnouncements: string[] }> {
  const { rows } = await q.query<{ task_uuid: string; kind: 'retry' | 'stale' }>(
    `(SELECT DISTINCT s.task_uuid, 'retry' AS kind
        FROM tasker.workflow_steps s
       WHERE s.next_retry_at <= statement_timestamp()
       LIMIT $1)
     UNION ALL
     (SELECT DISTINCT s.task_uuid, 'stale' AS kind
        FROM tasker.workflow_step_transitions st
        JOIN tasker.workflow_steps s ON s.workflow_step_uuid = st.workflow_step_uuid
       WHERE st.most_recent AND st.to_state = 'enqueued'
         AND st.created_at < statement_timestamp() - make_interval(secs => $2::double precision / 1000)
         AND s.announced_at < statement_timestamp() - make_interval(secs => $2::double precision / 1000)
       LIMIT $1)`,
    [limit, reannounceAfterMs],
  );
  return {
    dueRetries: rows.filter((r) => r.kind === 'retry').map((r) => r.task_uuid),
    staleAnnouncements: rows.filter((r) => r.kind === 'stale').map((r) => r.task_uuid),
  };
}
