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
import { PollingSubscription } from '../polling/polling-subscription.js';

interface StoredMessage {
  id: string;
  body: unknown;
  enqueuedAt: Date;
  visibleAt: number;
  readCount: number;
  deadLetterReason?: string;
}

/**
 * The messaging port in process memory, with PGMQ's semantics (visibility timeouts, read
 * counts, dead-letter queues). For unit tests only: the backend switch never selects it, and
 * it passes the same contract suite as the real adapters.
 */
export class InMemoryMessageBus extends MessageBus {
  readonly capabilities: MessageBusCapabilities = { needsFallbackPolling: true };
  private readonly queues = new Map<string, StoredMessage[]>();
  private readonly subscriptions = new Set<Subscription>();
  private nextId = 0;

  constructor(private readonly options: { pollIntervalMs: number } = { pollIntervalMs: 10 }) {
    super();
  }

  ensureQueue(queue: string): Promise<void> {
    for (const name of [queue, deadLetterQueueName(queue)]) {
      if (!this.queues.has(name)) this.queues.set(name, []);
    }
    return Promise.resolve();
  }

  send(queue: string, message: MessageEnvelope, options: { delayMs?: number } = {}) {
    return this.sendBatch(queue, [message], options);
  }

  sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options: { delayMs?: number } = {},
  ): Promise<void> {
    const stored = this.queue(queue);
    const now = Date.now();
    for (const message of messages) {
      stored.push({
        id: String(++this.nextId),
        // A copy, as a broker would hold one: later changes by the sender do not leak in.
        body: structuredClone(message),
        enqueuedAt: new Date(now),
        visibleAt: now + (options.delayMs ?? 0),
        readCount: 0,
      });
    }
    return Promise.resolve();
  }

  receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const now = Date.now();
    const taken: ReceivedMessage[] = [];
    for (const stored of this.queue(queue)) {
      if (taken.length >= options.maxMessages) break;
      if (stored.visibleAt > now) continue;
      stored.visibleAt = now + options.visibilityTimeoutMs;
      stored.readCount += 1;
      taken.push({
        id: stored.id,
        queue,
        body: structuredClone(stored.body),
        deliveryCount: stored.readCount,
        enqueuedAt: stored.enqueuedAt,
      });
    }
    return Promise.resolve(taken);
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

  ack(message: ReceivedMessage): Promise<void> {
    this.remove(message);
    return Promise.resolve();
  }

  nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    const stored = this.queue(message.queue).find((m) => m.id === message.id);
    if (stored) stored.visibleAt = Date.now() + (options.delayMs ?? 0);
    return Promise.resolve();
  }

  deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    this.remove(message);
    this.queue(deadLetterQueueName(message.queue)).push({
      id: String(++this.nextId),
      body: message.body,
      deadLetterReason: reason,
      enqueuedAt: new Date(),
      visibleAt: Date.now(),
      readCount: 0,
    });
    return Promise.resolve();
  }

  depth(queue: string): Promise<number> {
    return Promise.resolve(this.queue(queue).length);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  private queue(name: string): StoredMessage[] {
    const queue = this.queues.get(name);
    if (!queue) throw new Error(`queue ${name} does not exist`);
    return queue;
  }

  private remove(message: ReceivedMessage): void {
    const queue = this.queue(message.queue);
    const index = queue.findIndex((m) => m.id === message.id);
    if (index >= 0) queue.splice(index, 1);
  }
}
