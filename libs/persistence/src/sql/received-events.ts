import type { ReceivedEventView } from '#core';
import type { Queryable } from '../database.js';

/** An event Tasker received (migration 0019), as the API shows it. */
export type ReceivedEventRow = ReceivedEventView;

const EVENT_COLUMNS = `e.event_uuid AS "eventId", e.name, e.payload,
  e.idempotency_key AS "idempotencyKey", e.correlation_id AS "correlationId", e.source, e.depth,
  e.outcome, e.source_task_uuid AS "sourceTaskUuid",
  to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "receivedAt",
  coalesce((SELECT json_agg(json_build_object('taskUuid', t.task_uuid, 'namespace', ns.name,
                                              'name', nt.name, 'version', nt.version)
                            ORDER BY t.task_uuid)
              FROM tasker.tasks t
              JOIN tasker.named_tasks nt ON nt.named_task_uuid = t.named_task_uuid
              JOIN tasker.task_namespaces ns ON ns.task_namespace_uuid = nt.task_namespace_uuid
             WHERE t.trigger_event_uuid = e.event_uuid), '[]') AS tasks`;

/**
 * Writes an event (its tasks are written after it, in the same transaction). Answers false,
 * writing nothing, when its idempotency key is taken.
 */
export async function insertReceivedEvent(
  q: Queryable,
  event: Omit<ReceivedEventRow, 'receivedAt' | 'tasks'>,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO tasker.received_events
       (event_uuid, name, payload, idempotency_key, correlation_id, source, depth, outcome,
        source_task_uuid)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      event.eventId,
      event.name,
      JSON.stringify(event.payload),
      event.idempotencyKey,
      event.correlationId,
      event.source,
      event.depth,
      event.outcome,
      event.sourceTaskUuid,
    ],
  );
  return rowCount === 1;
}

export async function findReceivedEventByKey(
  q: Queryable,
  idempotencyKey: string,
): Promise<ReceivedEventRow | null> {
  const { rows } = await q.query<ReceivedEventRow>(
    `SELECT ${EVENT_COLUMNS} FROM tasker.received_events e WHERE e.idempotency_key = $1`,
    [idempotencyKey],
  );
  return rows[0] ?? null;
}

export async function findReceivedEvent(
  q: Queryable,
  eventId: string,
): Promise<ReceivedEventRow | null> {
  const { rows } = await q.query<ReceivedEventRow>(
    `SELECT ${EVENT_COLUMNS} FROM tasker.received_events e WHERE e.event_uuid = $1`,
    [eventId],
  );
  return rows[0] ?? null;
}

/** The most recent events first, optionally of one name. */
export async function listReceivedEvents(
  q: Queryable,
  options: { limit: number; name?: string | undefined },
): Promise<ReceivedEventRow[]> {
  const { rows } = await q.query<ReceivedEventRow>(
    `SELECT ${EVENT_COLUMNS} FROM tasker.received_events e
      WHERE $2::text IS NULL OR e.name = $2
      ORDER BY e.received_at DESC, e.event_uuid DESC
      LIMIT $1`,
    [options.limit, options.name ?? null],
  );
  return rows;
}

/**
 * The depth of the events a task's steps publish: one more than the event that started the
 * task, 1 for a task started otherwise.
 */
export async function publishedEventDepth(q: Queryable, taskUuid: string): Promise<number> {
  const { rows } = await q.query<{ depth: number }>(
    `SELECT coalesce(e.depth, 0) + 1 AS depth
       FROM tasker.tasks t LEFT JOIN tasker.received_events e ON e.event_uuid = t.trigger_event_uuid
      WHERE t.task_uuid = $1`,
    [taskUuid],
  );
  return rows[0]?.depth ?? 1;
}

/** The domain event was handed over (its received event and tasks are in the same commit). */
export async function markDomainEventTriggered(q: Queryable, eventId: string): Promise<void> {
  await q.query(
    `UPDATE tasker.domain_events SET triggered_at = clock_timestamp() WHERE event_uuid = $1`,
    [eventId],
  );
}
