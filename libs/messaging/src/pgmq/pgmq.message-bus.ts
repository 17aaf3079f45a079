import pg from 'pg';
import type { PgmqEventsConfig } from '#config';
import type { DomainEvent, MessageEnvelope } from '#contracts';
import { deadLetterQueueName, domainEventsQueueName } from '#contracts';
import type {
  MessageBusStatus,
  MessageHandler,
  MessageRow,
  ReceivedMessage,
  ReceiveOptions,
  SubscribeOptions,
  Subscription,
} from '#core';
import { GroupCommit, MessageBus } from '#core';
import type { Database } from '#persistence';
import {
  type QueueRead,
  ReadLoopSubscription,
  type ReadTrigger,
} from '../polling/read-loop.subscription.js';
import {
  type ChannelWatcher,
  messageReadyChannel,
  PgNotifyListener,
} from './pg-notify.listener.js';

interface PgmqRow {
  msg_id: string;
  read_ct: number;
  enqueued_at: Date;
  message: unknown;
}

/** A read's rows: its messages, or one row of nulls when it took none. */
interface PgmqReadRow extends Omit<PgmqRow, 'msg_id'> {
  msg_id: string | null;
  next_visible_in_ms: number | null;
}

/** pgmq's visibility timeouts and set_vt delays are whole seconds; never round a wait to 0. */
const toSeconds = (ms: number) => Math.max(ms > 0 ? 1 : 0, Math.ceil(ms / 1000));

/** Most acks of one queue deleted by one statement. */
const ACK_BATCH = 100;

/** Pause between attempts to write the nacks the database was not there for. */
const NACK_RETRY_MS = 250;

/** A nack not written yet: the message as it was read, and when it was to be visible again. */
interface UnwrittenNack {
  message: ReceivedMessage;
  visibleAt: number;
}

/**
 * pgmq.read's claim, written out for the queue's table so the statement is prepared once per
 * connection (the pgmq functions build theirs with EXECUTE, planned on every call): the due
 * messages in msg_id order ($2 of them, SKIP LOCKED) hidden for $1 seconds, as CTE `taken`.
 * With `olderThan`, only messages enqueued at least $3 ms ago.
 */
const claimDue = (table: string, olderThan = false) => `due AS (
         SELECT msg_id FROM ${table}
          WHERE vt <= clock_timestamp()${
            olderThan
              ? `
            AND enqueued_at <= clock_timestamp() - make_interval(secs => $3::double precision / 1000)`
              : ''
          }
          ORDER BY msg_id
          LIMIT $2
          FOR UPDATE SKIP LOCKED
       ),
       taken AS MATERIALIZED (
         UPDATE ${table} AS m
            SET vt = clock_timestamp() + make_interval(secs => $1::integer),
                read_ct = m.read_ct + 1
           FROM due
          WHERE m.msg_id = due.msg_id
         RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.message
       )`;

/** A queue's pgmq table, as pgmq.format_table_name names it. */
const queueTable = (queue: string) => `pgmq.${pg.escapeIdentifier(`q_${queue.toLowerCase()}`)}`;

export interface PgmqBusOptions {
  /** For the dedicated LISTEN connection (the pool's connections are never held for it). */
  databaseUrl: string;
  events: PgmqEventsConfig;
}

/**
 * MessageBus over the pgmq function API (the extension, or our SQL implementation of it from
 * migrations/0002). Queues live in the tasker database, so sends share its durability.
 *
 * Every send also notifies `tasker_message_ready.<queue>` in the same statement (delivered at
 * commit, so never before the message is visible). Every read also learns, from the database's
 * clock, when the earliest message it left hidden becomes visible (one another consumer holds,
 * a delayed send or nack), and the subscription reads again then: a consumer that dies with a
 * message leaves no notice behind. How consumers learn about messages is the replica's
 * TASKER_EVENT_MODE:
 * - EventDrivenOnly: read when notified (and after every LISTEN (re)connect, LISTENing before
 *   the first read) and when a hidden message comes due; never poll.
 * - Hybrid: the same, plus a slow fallback poll that only takes messages older than a
 *   threshold, so it does not race the notified readers but recovers what they cannot see
 *   (messages whose consumer died and whose visibility timeout ran out).
 * - PollingOnly: poll on an interval; no LISTEN connection.
 */
export class PgmqMessageBus extends MessageBus {
  private readonly subscriptions = new Set<Subscription>();
  private listener: PgNotifyListener | undefined;
  override readonly queuesInDatabase = true;
  /** Acks are group-committed per queue: one delete for every ack that arrived meanwhile. */
  private readonly ackers = new Map<string, GroupCommit<string, undefined>>();
  /** Nacks that failed (the database was away), by queue and message id, until written. */
  private readonly unwrittenNacks = new Map<string, UnwrittenNack>();
  private retryingNacks: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly database: Database,
    private readonly options: PgmqBusOptions,
  ) {
    super();
  }

  async ensureQueue(queue: string): Promise<void> {
    // pgmq.create is idempotent; the dead-letter queue sits next to its queue.
    await this.database.query('SELECT pgmq.create($1), pgmq.create($2)', [
      queue,
      deadLetterQueueName(queue),
    ]);
  }

  async sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options: { delayMs?: number } = {},
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.database.query('SELECT tasker.send_messages($1, $2::jsonb[], $3)', [
      queue,
      messages.map((m) => JSON.stringify(m)),
      options.delayMs ?? 0,
    ]);
  }

  /** The namespace's event queue, without a dead-letter queue: Tasker never consumes it. */
  async ensureDomainEvents(namespace: string): Promise<void> {
    await this.database.query('SELECT pgmq.create($1)', [domainEventsQueueName(namespace)]);
  }

  async publishDomainEvents(namespace: string, events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.database.query('SELECT tasker.send_messages($1, $2::jsonb[])', [
      domainEventsQueueName(namespace),
      events.map((e) => JSON.stringify(e)),
    ]);
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    return (await this.read(queue, options)).messages;
  }

  /**
   * pgmq.read (claimDue) and, in the same statement, by the database's clock, in how many ms
   * the earliest message it did not take becomes visible. The statement's snapshot shows rows
   * this read or a concurrent one is claiming with their old vt (due now): they count as
   * hidden for this read's visibility timeout, and the read at that time learns their real vt
   * if it differs.
   */
  private async read(queue: string, options: ReceiveOptions): Promise<QueueRead> {
    const table = queueTable(queue);
    const rows = await this.database.query<PgmqReadRow>(
      `WITH ${claimDue(table)},
       now AS MATERIALIZED (SELECT clock_timestamp() AS at),
       next AS MATERIALIZED (
         SELECT least(
                  extract(epoch FROM
                    (SELECT min(q.vt) FROM ${table} AS q WHERE q.vt > now.at) - now.at) * 1000,
                  -- max, not EXISTS: one step of a backward index scan from now.
                  CASE WHEN (SELECT max(q.vt) FROM ${table} AS q WHERE q.vt <= now.at) IS NOT NULL
                       THEN $1::integer * 1000 END)::float8 AS in_ms
           FROM now)
       SELECT t.msg_id, t.read_ct, t.enqueued_at, t.message, next.in_ms AS next_visible_in_ms
         FROM next LEFT JOIN taken AS t ON true
        ORDER BY t.msg_id`,
      [toSeconds(options.visibilityTimeoutMs), options.maxMessages],
    );
    return {
      messages: rows.flatMap((row) =>
        row.msg_id === null ? [] : [toReceived(queue, { ...row, msg_id: row.msg_id })],
      ),
      nextVisibleInMs: rows[0]?.next_visible_in_ms ?? null,
    };
  }

  override rowOf(message: ReceivedMessage): MessageRow {
    return { queue: message.queue, msgId: message.id };
  }

  async ack(message: ReceivedMessage): Promise<void> {
    let acker = this.ackers.get(message.queue);
    if (!acker) {
      const queue = message.queue;
      acker = new GroupCommit<string, undefined>(
        async (ids) => {
          // pgmq.delete(queue, ids), written out for the table: prepared once (see read).
          await this.database.query(
            `DELETE FROM ${queueTable(queue)} WHERE msg_id = ANY ($1::bigint[])`,
            [ids],
          );
          return ids.map(() => undefined);
        },
        { maxBatch: ACK_BATCH },
      );
      this.ackers.set(queue, acker);
    }
    await acker.submit(message.id);
  }

  /**
   * A nack that cannot be written (the database is away) would leave the message hidden for
   * the rest of its visibility timeout, long after the database is back: it is remembered and
   * written as soon as the database answers again (the error is still thrown to the caller).
   */
  async nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    const delayMs = options.delayMs ?? 0;
    try {
      await this.database.query(
        `SELECT pg_notify($4, json_build_object(
                  'queue', $1::text,
                  'count', 1,
                  'visibleInMs', CASE WHEN $3::integer > 0 THEN greatest(0,
                    extract(epoch FROM nacked.vt - clock_timestamp()) * 1000)::float8 END)::text)
           FROM pgmq.set_vt($1, $2::bigint, $3::integer) AS nacked`,
        [message.queue, message.id, toSeconds(delayMs), messageReadyChannel(message.queue)],
      );
    } catch (err) {
      this.unwrittenNacks.set(`${message.queue}\0${message.id}`, {
        message,
        visibleAt: Date.now() + delayMs,
      });
      this.startRetryingNacks();
      throw err;
    }
  }

  private startRetryingNacks(): void {
    if (this.retryingNacks) return;
    this.retryingNacks = this.retryNacks().finally(() => {
      this.retryingNacks = undefined;
      // A nack that failed after the loop saw none left, before this ran: loop again.
      if (!this.closed && this.unwrittenNacks.size > 0) this.startRetryingNacks();
    });
  }

  private async retryNacks(): Promise<void> {
    while (!this.closed && this.unwrittenNacks.size > 0) {
      await new Promise((resolve) => setTimeout(resolve, NACK_RETRY_MS));
      const byQueue = new Map<string, [string, UnwrittenNack][]>();
      for (const entry of this.unwrittenNacks) {
        const queue = entry[1].message.queue;
        byQueue.set(queue, [...(byQueue.get(queue) ?? []), entry]);
      }
      for (const [queue, entries] of byQueue) {
        try {
          await this.writeNacks(
            queue,
            entries.map(([, nack]) => nack),
          );
        } catch {
          break; // Still away: the next round tries again.
        }
        for (const [key] of entries) this.unwrittenNacks.delete(key);
      }
    }
  }

  /**
   * The nacks of one queue, late: each message becomes visible when its nack meant it to (now,
   * if that has passed), only if it was not read again since (same read_ct), so a message
   * another consumer holds by now is left to it. Readers are told, as by nack.
   */
  private async writeNacks(queue: string, nacks: readonly UnwrittenNack[]): Promise<void> {
    await this.database.query(
      `WITH nacked AS (
         UPDATE ${queueTable(queue)} AS q
            SET vt = greatest(clock_timestamp(), to_timestamp(n.visible_at / 1000.0))
           FROM unnest($1::bigint[], $2::int[], $3::float8[]) AS n(msg_id, read_ct, visible_at)
          WHERE q.msg_id = n.msg_id AND q.read_ct = n.read_ct
         RETURNING q.vt
       )
       SELECT pg_notify($4, json_build_object(
                'queue', $5::text,
                'count', count(*),
                'visibleInMs', greatest(0, extract(epoch FROM min(vt) - clock_timestamp()) * 1000)::float8
              )::text)
         FROM nacked HAVING count(*) > 0`,
      [
        nacks.map((n) => n.message.id),
        nacks.map((n) => n.message.deliveryCount),
        nacks.map((n) => n.visibleAt),
        messageReadyChannel(queue),
        queue,
      ],
    );
  }

  async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    // One transaction: the message is never in both queues, nor in neither.
    await this.database.transaction(async (tx) => {
      await tx.query('SELECT pgmq.send($1, $2::jsonb, $3::jsonb, 0)', [
        deadLetterQueueName(message.queue),
        JSON.stringify(message.body),
        JSON.stringify({
          reason,
          sourceQueue: message.queue,
          deliveryCount: message.deliveryCount,
        }),
      ]);
      await tx.query('SELECT pgmq.delete($1, $2::bigint)', [message.queue, message.id]);
    });
  }

  /** One statement for every queue, on the monitoring connection (never a hot-path one). */
  async depths(queues: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const { rows } = await this.database.monitoring.query<{
      queue_name: string;
      queue_length: string;
    }>(
      `SELECT m.queue_name, r.queue_length
         FROM pgmq.meta m, LATERAL pgmq.metrics(m.queue_name) r
        WHERE m.queue_name = ANY ($1::text[])`,
      [queues],
    );
    return new Map(rows.map((row) => [row.queue_name, Number(row.queue_length)]));
  }

  async subscribe(
    queues: readonly string[],
    handler: MessageHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const { mode, pollIntervalMs, fallbackPollIntervalMs, fallbackPollMinAgeMs } =
      this.options.events;
    const loop = new ReadLoopSubscription(queues, handler, {
      ...options,
      pollIntervalMs:
        mode === 'EventDrivenOnly'
          ? null
          : mode === 'Hybrid'
            ? fallbackPollIntervalMs
            : pollIntervalMs,
      read: (queue: string, maxMessages: number, trigger: ReadTrigger) =>
        mode === 'Hybrid' && trigger === 'poll'
          ? this.receiveOlderThan(
              queue,
              maxMessages,
              options.visibilityTimeoutMs,
              fallbackPollMinAgeMs,
            )
          : this.read(queue, { maxMessages, visibilityTimeoutMs: options.visibilityTimeoutMs }),
      openIn: this.subscriptions,
      onClose: () => this.listener?.unwatch(watcher),
    });
    const watcher: ChannelWatcher = {
      onReady: (inMs) => (inMs === null ? loop.wake() : loop.wakeIn(inMs)),
      onConnected: () => loop.wake(),
    };
    if (mode !== 'PollingOnly') {
      this.listener ??= new PgNotifyListener(this.options.databaseUrl);
      try {
        // LISTEN first: a message sent between the first read and LISTEN would go unnoticed.
        await this.listener.watch(queues, watcher);
      } catch (err) {
        await loop.close();
        throw err;
      }
    }
    return loop.start();
  }

  /** Like `receive`, but only messages enqueued at least `minAgeMs` ago (Hybrid's fallback). */
  private async receiveOlderThan(
    queue: string,
    maxMessages: number,
    visibilityTimeoutMs: number,
    minAgeMs: number,
  ): Promise<QueueRead> {
    const rows = await this.database.query<PgmqRow>(
      `WITH ${claimDue(queueTable(queue), true)} SELECT * FROM taken ORDER BY msg_id`,
      [toSeconds(visibilityTimeoutMs), maxMessages, minAgeMs],
    );
    // The poll itself comes back for what it leaves: it reports no due times.
    return { messages: rows.map((row) => toReceived(queue, row)), nextVisibleInMs: null };
  }

  async ping(): Promise<void> {
    await this.database.query('SELECT count(*) FROM pgmq.list_queues()');
  }

  status(): MessageBusStatus {
    const { mode } = this.options.events;
    const state = this.listener?.state ?? 'idle';
    return {
      backend: 'pgmq',
      delivery: mode === 'EventDrivenOnly' ? 'notify' : mode === 'Hybrid' ? 'notify+poll' : 'poll',
      source: mode === 'PollingOnly' ? null : state === 'listening' ? 'connected' : state,
      reconnects: this.listener?.reconnectCount ?? 0,
      malformedNotices: this.listener?.malformedCount ?? 0,
    };
  }

  /** The pool belongs to Database; closing the bus stops its subscriptions and LISTEN. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.listener?.close();
    await this.retryingNacks;
  }
}

function toReceived(queue: string, row: PgmqRow): ReceivedMessage {
  return {
    id: String(row.msg_id),
    queue,
    body: row.message,
    deliveryCount: row.read_ct,
    enqueuedAt: row.enqueued_at,
  };
}
