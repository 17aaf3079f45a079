import type { MessageRow, QueuedMessage } from '#core';
import type { Queryable } from '../database.js';

/**
 * Sends messages to their PGMQ queues inside the caller's transaction (tasker.send_messages,
 * migration 0010), one statement for every queue: they become visible, and their queues'
 * listeners are told, when the caller commits, together with the state they announce. The
 * same statement deletes the `consumed` messages (pgmq.delete): those whose handling made
 * that state, gone in the same commit, so their consumer sends no ack afterwards.
 */
export async function sendMessagesInTransaction(
  q: Queryable,
  messages: readonly QueuedMessage[],
  consumed: readonly MessageRow[] = [],
): Promise<void> {
  if (messages.length === 0 && consumed.length === 0) return;
  await q.query(
    `SELECT (SELECT sum(tasker.send_messages(x.queue, x.messages))
               FROM (SELECT m.queue, array_agg(m.body ORDER BY m.ord) AS messages
                       FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS m(queue, body, ord)
                      GROUP BY m.queue) x) AS sent,
            (SELECT count(*)
               FROM (SELECT c.queue, array_agg(c.msg_id) AS ids
                       FROM unnest($3::text[], $4::bigint[]) AS c(queue, msg_id)
                      GROUP BY c.queue) d
              CROSS JOIN LATERAL pgmq.delete(d.queue, d.ids)) AS consumed`,
    [
      messages.map((m) => m.queue),
      messages.map((m) => m.body),
      consumed.map((c) => c.queue),
      consumed.map((c) => c.msgId),
    ],
  );
}
