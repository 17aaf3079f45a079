/* eslint-disable @typescript-eslint/require-await -- an in-process implementation of an async
   port: methods are async so that failures reject, exactly as the real adapters' do. */
import type { DomainEvent, MessageEnvelope } from '#contracts';
import { deadLetterQueueName, domainEventsQueueName } from '#contracts';
import type {
  MessageBusStatus,
  MessageHandler,
  ReceivedMessage,
  ReceiveOptions,
  SubscribeOptions,
  Subscription,
} from '#core';
import { MessageBus } from '#core';
import { type QueueRead, ReadLoopSubscription } from '../polling/read-loop.subscription.js';

interface StoredMessage {
  id: string;
  body: unknown;
  enqueuedAt: Date;
  visibleAt: number;
  readCount: number;
  deadLetterReason?: string;
}

/** The queues themselves, shareable by several bus instances (consumers) like a broker. */
export class InMemoryBroker {
  readonly queues = new Map<string, StoredMessage[]>();
  private lastId = 0;

  nextId(): string {
    return String(++this.lastId);
  }
}

/**
 * The messaging port in process memory, with PGMQ's semantics (visibility timeouts, read
 * counts, dead-letter queues). For unit tests only: the backend switch never selects it, and
 * it passes the same contract suite as the real adapters.
 */
export class InMemoryMessageBus extends MessageBus {
  private readonly subscriptions = new Set<Subscription>();
  private readonly broker: InMemoryBroker;
  private readonly pollIntervalMs: number;

  constructor(options: { pollIntervalMs?: number; broker?: InMemoryBroker } = {}) {
    super();
    this.broker = options.broker ?? new InMemoryBroker();
    this.pollIntervalMs = options.pollIntervalMs ?? 10;
  }

  async ensureQueue(queue: string): Promise<void> {
    for (const name of [queue, deadLetterQueueName(queue)]) {
      if (!this.broker.queues.has(name)) this.broker.queues.set(name, []);
    }
  }

  async sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options: { delayMs?: number } = {},
  ): Promise<void> {
    const stored = this.queue(queue);
    const now = Date.now();
    for (const message of messages) {
      // A copy, as a broker would hold one: later changes by the sender do not leak in.
      stored.push(this.store(structuredClone(message), now + (options.delayMs ?? 0)));
    }
  }

  /** Like PGMQ: the namespace's event queue, read with `receive`. */
  async ensureDomainEvents(namespace: string): Promise<void> {
    const queue = domainEventsQueueName(namespace);
    if (!this.broker.queues.has(queue)) this.broker.queues.set(queue, []);
  }

  async publishDomainEvents(namespace: string, events: readonly DomainEvent[]): Promise<void> {
    const stored = this.queue(domainEventsQueueName(namespace));
    for (const event of events) stored.push(this.store(structuredClone(event), Date.now()));
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    return this.read(queue, options).messages;
  }

  /** Takes what is visible, and tells when the earliest message left hidden comes due. */
  private read(queue: string, options: ReceiveOptions): QueueRead {
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
    let nextVisibleInMs: number | null = null;
    for (const stored of this.queue(queue)) {
      if (stored.visibleAt > now) {
        nextVisibleInMs = Math.min(nextVisibleInMs ?? Infinity, stored.visibleAt - now);
      }
    }
    return { messages: taken, nextVisibleInMs };
  }

  async subscribe(
    queues: readonly string[],
    handler: MessageHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    return new ReadLoopSubscription(queues, handler, {
      ...options,
      pollIntervalMs: this.pollIntervalMs,
      read: async (queue, maxMessages) =>
        this.read(queue, { maxMessages, visibilityTimeoutMs: options.visibilityTimeoutMs }),
      openIn: this.subscriptions,
    }).start();
  }

  async ack(message: ReceivedMessage): Promise<void> {
    this.remove(message);
  }

  async nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    const stored = this.queue(message.queue).find((m) => m.id === message.id);
    if (stored) stored.visibleAt = Date.now() + (options.delayMs ?? 0);
  }

  async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    this.remove(message);
    const dead = this.store(message.body, Date.now());
    dead.deadLetterReason = reason;
    this.queue(deadLetterQueueName(message.queue)).push(dead);
  }

  /** Why a message taken from a dead-letter queue was put there. */
  deadLetterReasonOf(message: ReceivedMessage): string | undefined {
    return this.queue(message.queue).find((m) => m.id === message.id)?.deadLetterReason;
  }

  async depths(queues: readonly string[]): Promise<ReadonlyMap<string, number>> {
    return new Map(
      queues.flatMap((queue) => {
        const stored = this.broker.queues.get(queue);
        return stored ? [[queue, stored.length] as const] : [];
      }),
    );
  }

  async ping(): Promise<void> {}

  status(): MessageBusStatus {
    return {
      backend: 'memory',
      delivery: 'poll',
      source: null,
      reconnects: 0,
      malformedNotices: 0,
    };
  }

  /** Like a lost consumer: what it held unsettled comes back after its visibility timeout. */
  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close()));
  }

  private store(body: unknown, visibleAt: number): StoredMessage {
    return { id: this.broker.nextId(), body, enqueuedAt: new Date(), visibleAt, readCount: 0 };
  }

  private queue(name: string): StoredMessage[] {
    const queue = this.broker.queues.get(name);
    if (!queue) throw new Error(`queue ${name} does not exist`);
    return queue;
  }

  private remove(message: ReceivedMessage): void {
    const queue = this.queue(message.queue);
    const index = queue.findIndex((m) => m.id === message.id);
    if (index >= 0) queue.splice(index, 1);
  }
}
