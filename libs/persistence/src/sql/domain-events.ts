import type { DomainEvent } from '#contracts';
import type { DomainEventRecord } from '#core';
import type { Queryable } from '../database.js';

/**
 * Records durable domain events (migration 0018), once per step outcome: an event whose step,
 * attempt and name are recorded already is skipped. `published`: the caller sends them in this
 * transaction (PGMQ). Answers the ids of the events recorded now, the ones to send.
 */
export async function recordDomainEvents(
  q: Queryable,
  events: readonly DomainEventRecord[],
  published: boolean,
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const { rows } = await q.query<{ event_uuid: string }>(
    `INSERT INTO tasker.domain_events
       (event_uuid, name, namespace, task_uuid, workflow_step_uuid, attempt, outcome, delivery,
        envelope, published_at, triggered_at)
     SELECT e.event_uuid, e.name, e.namespace, e.task_uuid, e.step_uuid, e.attempt, e.outcome,
            e.delivery, e.envelope, CASE WHEN $10 THEN clock_timestamp() END,
            CASE WHEN NOT e.triggers THEN clock_timestamp() END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::int[],
                   $7::text[], $8::text[], $9::jsonb[], $11::boolean[])
            AS e(event_uuid, name, namespace, task_uuid, step_uuid, attempt, outcome, delivery,
                 envelope, triggers)
     ON CONFLICT (workflow_step_uuid, attempt, name) DO NOTHING
     RETURNING event_uuid`,
    [
      events.map((e) => e.event.eventId),
      events.map((e) => e.event.name),
      events.map((e) => e.event.namespace),
      events.map((e) => e.event.taskUuid),
      events.map((e) => e.event.stepUuid),
      events.map((e) => e.attempt),
      events.map((e) => e.event.outcome),
      events.map((e) => e.delivery),
      events.map((e) => JSON.stringify(e.event)),
      published,
      events.map((e) => e.triggers),
    ],
  );
  return new Set(rows.map((r) => r.event_uuid));
}

/** The broker confirmed these events. */
export async function markDomainEventsPublished(
  q: Queryable,
  eventIds: readonly string[],
): Promise<void> {
  if (eventIds.length === 0) return;
  await q.query(
    `UPDATE tasker.domain_events SET published_at = clock_timestamp()
      WHERE event_uuid = ANY ($1::uuid[]) AND published_at IS NULL`,
    [eventIds],
  );
}

/**
 * Domain events recorded at least `olderThanMs` ago and still waiting for one of their two
 * after-commit steps: no broker confirmed them (`published_at`), or they were not handed to
 * the templates that trigger on them (`triggered_at`). Oldest first; with `lock`, taken with
 * SKIP LOCKED in the caller's transaction.
 */
export async function pendingDomainEvents(
  q: Queryable,
  waitingFor: 'published_at' | 'triggered_at',
  olderThanMs: number,
  limit: number,
  options: { lock?: boolean } = {},
): Promise<DomainEvent[]> {
  const { rows } = await q.query<{ envelope: DomainEvent }>(
    `SELECT envelope FROM tasker.domain_events
      WHERE ${waitingFor} IS NULL
        AND created_at < clock_timestamp() - make_interval(secs => $1::float8 / 1000)
      ORDER BY created_at
      LIMIT $2${options.lock ? '\n        FOR UPDATE SKIP LOCKED' : ''}`,
    [olderThanMs, limit],
  );
  return rows.map((r) => r.envelope);
}
