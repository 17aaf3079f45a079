import type { Queryable } from '../database.js';

/**
 * The announcements outbox (migration 0016), for brokers outside the database: a row per step
 * committed `enqueued` whose message the broker has not confirmed yet, owned by the replica
 * that sends it. Its statements are all keyed by the step's uuid (the primary key).
 */

/** A step whose announcement is owed: what is needed to write its message again. */
export interface OwedAnnouncement {
  stepUuid: string;
  stepName: string;
  taskUuid: string;
  namespace: string;
  correlationId: string;
  traceparent: string | null;
}

/**
 * Records, in the caller's transaction (the one that makes the steps `enqueued`), that their
 * messages are owed by `owner`. A step already owed (announced again) changes hands to
 * `owner` with a fresh lease.
 */
export async function recordOwedAnnouncements(
  q: Queryable,
  steps: readonly { stepUuid: string; taskUuid: string }[],
  owner: string,
): Promise<void> {
  if (steps.length === 0) return;
  await q.query(
    `INSERT INTO tasker.step_announcements (workflow_step_uuid, task_uuid, owner_uuid)
     SELECT s.step_uuid, s.task_uuid, $3 FROM unnest($1::uuid[], $2::uuid[]) AS s(step_uuid, task_uuid)
     ON CONFLICT (workflow_step_uuid)
     DO UPDATE SET owner_uuid = EXCLUDED.owner_uuid, leased_at = EXCLUDED.leased_at`,
    [steps.map((s) => s.stepUuid), steps.map((s) => s.taskUuid), owner],
  );
}

/** The broker confirmed these steps' messages: nothing is owed for them any more. */
export async function confirmAnnouncements(
  q: Queryable,
  stepUuids: readonly string[],
): Promise<void> {
  if (stepUuids.length === 0) return;
  await q.query(
    `DELETE FROM tasker.step_announcements WHERE workflow_step_uuid = ANY ($1::uuid[])`,
    [stepUuids],
  );
}

/**
 * Renews `owner`'s lease on the steps it still owes and answers which those are: a step
 * missing from the answer was confirmed meanwhile, or taken over by another replica after
 * this one's lease ran out; either way this replica must not send it.
 */
export async function renewAnnouncements(
  q: Queryable,
  stepUuids: readonly string[],
  owner: string,
): Promise<Set<string>> {
  if (stepUuids.length === 0) return new Set();
  const { rows } = await q.query<{ step_uuid: string }>(
    `UPDATE tasker.step_announcements SET leased_at = clock_timestamp()
      WHERE workflow_step_uuid = ANY ($1::uuid[]) AND owner_uuid = $2
      RETURNING workflow_step_uuid AS step_uuid`,
    [stepUuids, owner],
  );
  return new Set(rows.map((r) => r.step_uuid));
}

/**
 * Takes over up to `limit` announcements whose lease ran out `leaseMs` ago (their owner died,
 * or lost the database for that long), oldest first: `owner` becomes theirs, atomically (SKIP
 * LOCKED: replicas sweeping at once take disjoint rows). A taken row whose step is no longer
 * `enqueued` needs no message (a worker has it, or the task moved on): it is deleted by the
 * same statement and not returned.
 */
export async function takeOverAnnouncements(
  q: Queryable,
  owner: string,
  leaseMs: number,
  limit: number,
): Promise<OwedAnnouncement[]> {
  const { rows } = await q.query<OwedAnnouncement & { enqueued: boolean }>(
    `WITH due AS (
       SELECT a.workflow_step_uuid
         FROM tasker.step_announcements a
        WHERE a.owner_uuid <> $1
          AND a.leased_at < clock_timestamp() - make_interval(secs => $2::float8 / 1000)
        ORDER BY a.leased_at
        LIMIT $3
          FOR UPDATE SKIP LOCKED
     ),
     owed AS (
       SELECT d.workflow_step_uuid, s.name AS step_name, s.task_uuid,
              coalesce(st.to_state = 'enqueued', false) AS enqueued
         FROM due d
         LEFT JOIN tasker.workflow_steps s ON s.workflow_step_uuid = d.workflow_step_uuid
         LEFT JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
     ),
     dropped AS (
       DELETE FROM tasker.step_announcements a
        USING owed o
        WHERE a.workflow_step_uuid = o.workflow_step_uuid AND NOT o.enqueued
     ),
     taken AS (
       UPDATE tasker.step_announcements a SET owner_uuid = $1, leased_at = clock_timestamp()
         FROM owed o
        WHERE a.workflow_step_uuid = o.workflow_step_uuid AND o.enqueued
       RETURNING a.workflow_step_uuid
     )
     SELECT o.workflow_step_uuid AS "stepUuid", o.step_name AS "stepName",
            o.task_uuid AS "taskUuid", ns.name AS namespace,
            t.correlation_id AS "correlationId", t.traceparent
       FROM taken k
       JOIN owed o ON o.workflow_step_uuid = k.workflow_step_uuid
       JOIN tasker.tasks t ON t.task_uuid = o.task_uuid
       JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
       JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid`,
    [owner, leaseMs, limit],
  );
  return rows;
}

/** Every replica's owed announcements: how many, and the oldest one's age (null: none). */
export async function announcementBacklog(
  q: Queryable,
): Promise<{ owed: number; oldestAgeSeconds: number | null }> {
  const { rows } = await q.query<{ owed: number; oldest_age_seconds: number | null }>(
    `SELECT count(*)::int AS owed,
            extract(epoch FROM clock_timestamp() - min(created_at))::float8 AS oldest_age_seconds
       FROM tasker.step_announcements`,
  );
  return { owed: rows[0]?.owed ?? 0, oldestAgeSeconds: rows[0]?.oldest_age_seconds ?? null };
}
