import type { MessageEnvelope } from '#contracts';
import { deadLetterQueueName } from '#contracts';
import type {
  MessageBusCapabilities,
  MessageHandler,
  ReceivedMessage,
  ReceiveOptions,
  SubscribeOptions,
  Subscription,
} from '#core';
import { MessageBus } from '#core';
import type { Database } from '#persistence';
import { PollingSubscription } from '../polling/polling-subscription.js';

interface PgmqRow {
  msg_id: string;
  read_ct: number;
  enqueued_at: Date;
  message: unknown;
}

/** pgmq's visibility timeouts and set_vt delays are whole seconds; never round a wait to 0. */
const toSeconds = (ms: number) => Math.max(ms > 0 ? 1 : 0, Math.ceil(ms / 1000));

/**
 * MessageBus over the pgmq function API (the extension, or our SQL implementation of it from
 * migrations/0002). Queues live in the tasker database, so sends share its durability.
 */
export class PgmqMessageBus extends MessageBus {
  readonly capabilities: MessageBusCapabilities = { needsFallbackPolling: true };
  private readonly subscriptions = new Set<Subscription>();

  constructor(
    private readonly database: Database,
    private readonly options: { pollIntervalMs: number },
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

  async send(queue: string, message: MessageEnvelope, options: { delayMs?: number } = {}) {
    await this.sendBatch(queue, [message], options);
  }

  async sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options: { delayMs?: number } = {},
  ): Promise<void> {
    if (messages.length === 0) return;
    await this.database.query(
      `SELECT pgmq.send_batch($1, $2::jsonb[],
                clock_timestamp() + make_interval(secs => $3::double precision / 1000))`,
      [queue, messages.map((m) => JSON.stringify(m)), options.delayMs ?? 0],
    );
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const rows = await this.database.query<PgmqRow>(
      'SELECT msg_id, read_ct, enqueued_at, message FROM pgmq.read($1, $2::integer, $3::integer)',
      [queue, toSeconds(options.visibilityTimeoutMs), options.maxMessages],
    );
    return rows.map((row) => ({
      id: String(row.msg_id),
      queue,
      body: row.message,
      deliveryCount: row.read_ct,
      enqueuedAt: row.enqueued_at,
    }));
  }

  async ack(message: ReceivedMessage): Promise<void> {
    await this.database.query('SELECT pgmq.delete($1, $2::bigint)', [message.queue, message.id]);
  }

  async nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    await this.database.query('SELECT pgmq.set_vt($1, $2::bigint, $3::integer)', [
      message.queue,
      message.id,
      toSeconds(options.delayMs ?? 0),
    ]);
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

  async depth(queue: string): Promise<number> {
    const rows = await this.database.query<{ queue_length: string }>(
      'SELECT queue_length FROM pgmq.metrics($1)',
      [queue],
    );
    return Number(rows[0]?.queue_length ?? 0);
  }

  subscribe(
    queues: readonly string[],
    handler: MessageHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const polling = new PollingSubscription(this, queues, handler, {
      ...options,
      pollIntervalMs: this.options.pollIntervalMs,
    });
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await polling.close();
      },
    };
    this.subscriptions.add(subscription);
    return Promise.resolve(subscription);
  }

  async ping(): Promise<void> {
    await this.database.query('SELECT count(*) FROM pgmq.list_queues()');
  }

  /** The pool belongs to Database; closing the bus only stops its subscriptions. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }
}
