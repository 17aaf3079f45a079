import type { QueuedMessage } from '#core';
import type { Queryable } from '../database.js';

/**
 * Sends messages to their PGMQ queues inside the caller's transaction (tasker.send_messages,
 * migration 0010), one statement for every queue: they become visible, and their queues'
 * listeners are told, when the caller commits, together with the state they announce.
 */
export async function sendMessagesInTransaction(
  q: Queryable,
  messages: readonly QueuedMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  await q.query(
    `SELECT sum(tasker.send_messages(x.queue, x.messages))
       FROM (SELECT m.queue, array_agg(m.body ORDER BY m.ord) AS messages
               FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS m(queue, body, ord)
              GROUP BY m.queue) x`,
    [messages.map((m) => m.queue), messages.map((m) => m.body)],
  );
}
