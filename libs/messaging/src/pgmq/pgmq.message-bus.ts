import pg from 'pg';
import type { PgmqEventsConfig } from '#config';
import type { MessageEnvelope } from '#contracts';
import { deadLetterQueueName } from '#contracts';
import type {
  MessageBusStatus,
  MessageHandler,
  ReceivedMessage,
  ReceiveOptions,
  SubscribeOptions,
  Subscription,
} from '#core';
import { MessageBus } from '#core';
import type { Database } from '#persistence';
import { ReadLoopSubscription, type ReadTrigger } from '../polling/read-loop.subscription.js';
import {
  messageReadyChannel,
  type MessageReadyNotice,
  PgNotifyListener,
} from './pg-notify.listener.js';

interface PgmqRow {
  msg_id: string;
  read_ct: number;
  enqueued_at: Date;
  message: unknown;
}

/** pgmq's visibility timeouts and set_vt delays are whole seconds; never round a wait to 0. */
const toSeconds = (ms: number) => Math.max(ms > 0 ? 1 : 0, Math.ceil(ms / 1000));

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
 * commit, so never before the message is visible). How consumers learn about messages is the
 * replica's TASKER_EVENT_MODE:
 * - EventDrivenOnly: read when notified (and after every LISTEN (re)connect); never poll.
 * - Hybrid: the same, plus a slow fallback poll that only takes messages older than a
 *   threshold, so it does not race the notified readers but recovers what they cannot see
 *   (messages whose consumer died and whose visibility timeout ran out).
 * - PollingOnly: poll on an interval; no LISTEN connection.
 */
export class PgmqMessageBus extends MessageBus {
  private readonly subscriptions = new Set<Subscription>();
  private listener: PgNotifyListener | undefined;

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
    const delayMs = options.delayMs ?? 0;
    const notice: MessageReadyNotice = {
      queue,
      count: messages.length,
      visibleAt: delayMs > 0 ? Date.now() + delayMs : null,
    };
    await this.database.query(
      `WITH sent AS (
         SELECT pgmq.send_batch($1, $2::jsonb[],
                  clock_timestamp() + make_interval(secs => $3::double precision / 1000)) AS msg_id)
       SELECT pg_notify($4, $5) FROM (SELECT count(*) FROM sent) AS batch`,
      [
        queue,
        messages.map((m) => JSON.stringify(m)),
        delayMs,
        messageReadyChannel(queue),
        JSON.stringify(notice),
      ],
    );
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const rows = await this.database.query<PgmqRow>(
      'SELECT msg_id, read_ct, enqueued_at, message FROM pgmq.read($1, $2::integer, $3::integer)',
      [queue, toSeconds(options.visibilityTimeoutMs), options.maxMessages],
    );
    return rows.map((row) => toReceived(queue, row));
  }

  async ack(message: ReceivedMessage): Promise<void> {
    await this.database.query('SELECT pgmq.delete($1, $2::bigint)', [message.queue, message.id]);
  }

  async nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    const seconds = toSeconds(options.delayMs ?? 0);
    const notice: MessageReadyNotice = {
      queue: message.queue,
      count: 1,
      visibleAt: seconds > 0 ? Date.now() + seconds * 1000 : null,
    };
    // Event-driven readers learn when it will be back; nothing else would wake them for it.
    await this.database.query(
      `SELECT pg_notify($4, $5)
         FROM (SELECT pgmq.set_vt($1, $2::bigint, $3::integer)) AS nacked`,
      [
        message.queue,
        message.id,
        seconds,
        messageReadyChannel(message.queue),
        JSON.stringify(notice),
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
      // As pgmq applies it (whole seconds), so the loop looks again for failed messages in time.
      visibilityTimeoutMs: toSeconds(options.visibilityTimeoutMs) * 1000,
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
          : this.receive(queue, { maxMessages, visibilityTimeoutMs: options.visibilityTimeoutMs }),
      openIn: this.subscriptions,
      onClose: () => this.listener?.unwatch(watcher),
    });
    const watcher = {
      onNotice: (notice: MessageReadyNotice) =>
        notice.visibleAt === null ? loop.wake() : loop.wakeAt(notice.visibleAt),
      onConnected: () => loop.wake(),
    };
    if (mode !== 'PollingOnly') {
      this.listener ??= new PgNotifyListener(this.options.databaseUrl);
      try {
        await this.listener.watch(queues, watcher);
      } catch (err) {
        await loop.close();
        throw err;
      }
    }
    return loop;
  }

  /** Like `receive`, but only messages enqueued at least `minAgeMs` ago (Hybrid's fallback). */
  private async receiveOlderThan(
    queue: string,
    maxMessages: number,
    visibilityTimeoutMs: number,
    minAgeMs: number,
  ): Promise<ReceivedMessage[]> {
    const table = pg.escapeIdentifier(`q_${queue}`);
    const rows = await this.database.query<PgmqRow>(
      `WITH due AS (
         SELECT msg_id FROM pgmq.${table}
          WHERE vt <= clock_timestamp()
            AND enqueued_at <= clock_timestamp() - make_interval(secs => $1::double precision / 1000)
          ORDER BY msg_id
          LIMIT $2
          FOR UPDATE SKIP LOCKED)
       UPDATE pgmq.${table} AS m
          SET vt = clock_timestamp() + make_interval(secs => $3::integer), read_ct = m.read_ct + 1
         FROM due
        WHERE m.msg_id = due.msg_id
       RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.message`,
      [minAgeMs, maxMessages, toSeconds(visibilityTimeoutMs)],
    );
    return rows.map((row) => toReceived(queue, row));
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
    };
  }

  /** The pool belongs to Database; closing the bus stops its subscriptions and LISTEN. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    await this.listener?.close();
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
