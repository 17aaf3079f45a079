import { Logger } from '@nestjs/common';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import type { RabbitMqConfig } from '#config';
import type { DomainEvent, MessageEnvelope } from '#contracts';
import { deadLetterQueueName, DOMAIN_EVENTS_EXCHANGE } from '#contracts';
import type {
  MessageBusStatus,
  MessageHandler,
  ReceivedMessage,
  ReceiveOptions,
  SubscribeOptions,
  Subscription,
} from '#core';
import { BrokerUnavailableError, errorMessage, MessageBus } from '#core';
import { delayBucketMs, delayExchangeName, delayQueueArguments } from './delay-buckets.js';

/** Every queue's dead-letter queue is bound here under the queue's name. */
export const DEAD_LETTER_EXCHANGE = 'tasker.dead-letter';
/** Deliveries before this publish (a nack with delay republishes the message). */
const DELIVERIES_HEADER = 'x-tasker-deliveries';
const ENQUEUED_AT_HEADER = 'x-tasker-enqueued-at';
/** A handler that returned without settling its message gets it back after this long. */
const UNSETTLED_REDELIVERY_MS = 1000;

/** One connection and the channels made on it; replaced as a whole when anything on it dies. */
interface Link {
  readonly generation: number;
  readonly connection: ChannelModel;
  /** Confirm channel for every publish. */
  readonly publisher: ConfirmChannel;
  /** basic.get for `receive`. */
  readonly puller: Channel;
  /** Messages the broker returned as unroutable (mandatory publish), by messageId. */
  readonly returned: Set<string>;
  /** Delay buckets declared on this link, with when, so they are re-declared before expiring. */
  readonly buckets: Map<number, number>;
}

/** A delivered, not yet settled message and the channel that must settle it. */
interface Pending {
  readonly generation: number;
  readonly channel: Channel;
  readonly raw: Message;
  readonly body: unknown;
  readonly deliveryCount: number;
  timer?: NodeJS.Timeout;
}

/**
 * MessageBus over RabbitMQ (amqplib): durable queues named like the PGMQ ones, persistent
 * messages, publisher confirms (a send resolves once the broker has it, and a publish no queue
 * takes is an error, not a silent drop), manual acks, prefetch per subscription, a dead-letter
 * exchange with a `<queue>_dlq` per queue, and delays through TTL bucket queues that dead-letter
 * back to their target.
 *
 * Any connection or channel loss replaces the whole link: reconnect with capped exponential
 * backoff and jitter, re-declare the topology, resume every subscription. Messages delivered on
 * the lost link are redelivered by the broker; settling one of them fails with
 * BrokerUnavailableError instead of acking a delivery tag the new channel does not know.
 */
export class RabbitMqMessageBus extends MessageBus {
  private readonly logger = new Logger(RabbitMqMessageBus.name);
  private readonly queues = new Set<string>();
  private readonly subscriptions = new Set<RabbitSubscription>();
  private readonly pending = new Map<string, Pending>();
  /** Channels we are closing on purpose, whose close event is not a loss. */
  private readonly retiring = new WeakSet<Channel>();
  private current: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private generation = 0;
  private nextId = 0;
  private closed = false;
  private reconnects = 0;

  constructor(private readonly config: RabbitMqConfig) {
    super();
  }

  async ensureQueue(queue: string): Promise<void> {
    const link = await this.link();
    await declareQueue(link.publisher, queue);
    this.queues.add(queue);
  }

  async sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options: { delayMs?: number } = {},
  ): Promise<void> {
    if (messages.length === 0) return;
    const link = await this.link();
    const delayMs = options.delayMs ?? 0;
    // A delay bucket takes any publish, and dead-lettering into a missing queue drops the
    // message silently (mandatory does not apply there): fail now, as an undelayed send would.
    if (delayMs > 0) await this.checkQueue(link, queue);
    const exchange = await this.exchangeFor(link, delayMs);
    const enqueuedAt = Date.now();
    await Promise.all(
      messages.map((envelope) =>
        this.publish(link, exchange, queue, envelope, {
          messageId: envelope.id,
          type: envelope.type,
          correlationId: envelope.correlationId,
          headers: { [DELIVERIES_HEADER]: 0, [ENQUEUED_AT_HEADER]: enqueuedAt },
        }),
      ),
    );
  }

  /** The topic exchange is declared with every connection. */
  async ensureDomainEvents(): Promise<void> {
    await this.link();
  }

  /** Routed by event name; not mandatory: an event nobody has bound a queue for is dropped. */
  async publishDomainEvents(namespace: string, events: readonly DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const link = await this.link();
    await Promise.all(
      events.map((event) =>
        this.publish(link, DOMAIN_EVENTS_EXCHANGE, event.name, event, {
          messageId: event.eventId,
          type: 'domain_event',
          correlationId: event.correlationId,
          mandatory: false,
          headers: { namespace, ...(event.traceparent ? { traceparent: event.traceparent } : {}) },
        }),
      ),
    );
  }

  async receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]> {
    const link = await this.link();
    const received: ReceivedMessage[] = [];
    while (received.length < options.maxMessages) {
      const raw = await link.puller.get(queue, { noAck: false });
      if (raw === false) break;
      const message = this.track(link.generation, link.puller, queue, raw);
      // The broker has no visibility timeout: give the message back ourselves when it runs out.
      const entry = this.pending.get(message.id);
      if (entry) {
        entry.timer = setTimeout(() => {
          if (this.pending.delete(message.id) && this.isLive(entry)) {
            entry.channel.nack(entry.raw, false, true);
          }
        }, options.visibilityTimeoutMs);
      }
      received.push(message);
    }
    return received;
  }

  async subscribe(
    queues: readonly string[],
    handler: MessageHandler,
    options: SubscribeOptions,
  ): Promise<Subscription> {
    const subscription = new RabbitSubscription(this, queues, handler, options.prefetch);
    this.subscriptions.add(subscription);
    try {
      await subscription.attach(await this.link());
    } catch (err) {
      this.subscriptions.delete(subscription);
      throw err;
    }
    return subscription;
  }

  // AMQP acks have no reply; async so that a settle that cannot happen rejects.
  // eslint-disable-next-line @typescript-eslint/require-await
  async ack(message: ReceivedMessage): Promise<void> {
    const entry = this.settle(message);
    entry.channel.ack(entry.raw);
  }

  async nack(message: ReceivedMessage, options: { delayMs?: number } = {}): Promise<void> {
    const delayMs = options.delayMs ?? 0;
    if (delayMs <= 0) {
      const entry = this.settle(message);
      entry.channel.nack(entry.raw, false, true);
      return;
    }
    // Republish through a delay bucket (confirmed), then ack: at worst a duplicate, never a loss.
    const entry = this.peek(message);
    const link = await this.link();
    await this.publish(link, await this.exchangeFor(link, delayMs), message.queue, entry.body, {
      ...entry.raw.properties,
      headers: { ...entry.raw.properties.headers, [DELIVERIES_HEADER]: message.deliveryCount },
    });
    await this.ack(message);
  }

  async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    const entry = this.peek(message);
    const link = await this.link();
    await this.publish(link, DEAD_LETTER_EXCHANGE, message.queue, entry.body, {
      ...entry.raw.properties,
      headers: {
        ...entry.raw.properties.headers,
        'x-tasker-dead-letter-reason': reason,
        'x-tasker-source-queue': message.queue,
        [DELIVERIES_HEADER]: message.deliveryCount,
      },
    });
    await this.ack(message);
  }

  /** A passive declare per queue (AMQP has no batch form); a missing queue answers 404. */
  async depths(queues: readonly string[]): Promise<ReadonlyMap<string, number>> {
    const link = await this.link();
    const counts = await Promise.all(
      queues.map((queue) =>
        this.checkQueue(link, queue).then(
          (reply) => [queue, reply.messageCount] as const,
          (err: { code?: number }) => {
            if (err.code === 404) return null;
            throw err;
          },
        ),
      ),
    );
    return new Map(counts.filter((entry) => entry !== null));
  }

  /** Down at once while a reconnect is under way; connects first if nothing was used yet. */
  async ping(): Promise<void> {
    if (!this.current && this.connecting) {
      throw new BrokerUnavailableError('not connected to RabbitMQ (reconnecting)');
    }
    const link = await this.link();
    await link.publisher.checkExchange(DEAD_LETTER_EXCHANGE);
  }

  status(): MessageBusStatus {
    return {
      backend: 'rabbitmq',
      delivery: 'push',
      source: this.current ? 'connected' : this.connecting ? 'connecting' : 'idle',
      reconnects: this.reconnects,
      // The broker pushes: there are no notices.
      malformedNotices: 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    this.closed = true;
    for (const entry of this.pending.values()) clearTimeout(entry.timer);
    this.pending.clear();
    const link = this.current ?? (await this.connecting?.catch(() => undefined));
    this.current = undefined;
    await link?.connection.close().catch(() => undefined);
  }

  // ---- used by RabbitSubscription ----

  /** Registers a delivery as pending and wraps it for callers. */
  track(generation: number, channel: Channel, queue: string, raw: Message): ReceivedMessage {
    const id = `${generation}.${++this.nextId}`;
    const headers = (raw.properties.headers ?? {}) as Record<string, unknown>;
    const before = Number(headers[DELIVERIES_HEADER] ?? 0);
    const deliveryCount = before + 1 + (raw.fields.redelivered ? 1 : 0);
    let body: unknown;
    try {
      body = JSON.parse(raw.content.toString('utf8'));
    } catch {
      body = raw.content.toString('utf8');
    }
    this.pending.set(id, { generation, channel, raw, body, deliveryCount });
    const enqueuedMs = Number(headers[ENQUEUED_AT_HEADER] ?? Date.now());
    return { id, queue, body, deliveryCount, enqueuedAt: new Date(enqueuedMs) };
  }

  forget(subscription: RabbitSubscription): void {
    this.subscriptions.delete(subscription);
  }

  isPending(message: ReceivedMessage): boolean {
    return this.pending.has(message.id);
  }

  retire(channel: Channel): void {
    this.retiring.add(channel);
  }

  /** A channel or the connection of `generation` died: drop the link and reconnect. */
  lost(generation: number, what: string, channel?: Channel): void {
    if (channel && this.retiring.has(channel)) return;
    const link = this.current;
    if (this.closed || link?.generation !== generation) return;
    this.current = undefined;
    this.reconnects += 1;
    this.logger.warn(`RabbitMQ ${what}; reconnecting`);
    void link.connection.close().catch(() => undefined);
    this.link().catch(() => undefined);
  }

  // ---- connection management ----

  /** The live link, or the one being (re)connected, waiting at most the operation timeout. */
  private async link(): Promise<Link> {
    if (this.current) return this.current;
    if (this.closed) throw new BrokerUnavailableError('the RabbitMQ message bus is closed');
    this.connecting ??= this.connectWithBackoff().finally(() => {
      this.connecting = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BrokerUnavailableError(
              `no RabbitMQ connection within ${this.config.operationTimeoutMs} ms`,
            ),
          ),
        this.config.operationTimeoutMs,
      );
    });
    try {
      return await Promise.race([this.connecting, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async connectWithBackoff(): Promise<Link> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new BrokerUnavailableError('the RabbitMQ message bus is closed');
      try {
        return await this.connectOnce();
      } catch (err) {
        const cap = Math.min(
          this.config.reconnectMaxMs,
          this.config.reconnectInitialMs * 2 ** attempt,
        );
        const delay = Math.round(cap * (0.8 + Math.random() * 0.2));
        this.logger.warn(
          `RabbitMQ connection attempt ${attempt + 1} failed (${errorMessage(err)}); retrying in ${delay} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async connectOnce(): Promise<Link> {
    const connection = await amqp.connect(this.config.url, {
      clientProperties: { connection_name: `tasker:${process.pid}` },
      // TCP_NODELAY: a lone publish (or its ack) must not wait for Nagle's algorithm to meet
      // the broker's delayed ACK, a 40 ms stall on every hand-over that no other traffic
      // happens to push out (amqplib leaves Nagle on by default).
      noDelay: true,
    });
    const generation = ++this.generation;
    let dead = false;
    const onLost = (what: string, channel?: Channel) => () => {
      dead = true;
      this.lost(generation, what, channel);
    };
    connection.on('error', (err: Error) =>
      this.logger.warn(`RabbitMQ connection error: ${err.message}`),
    );
    connection.on('close', onLost('connection closed'));
    try {
      const publisher = await connection.createConfirmChannel();
      const puller = await connection.createChannel();
      const returned = new Set<string>();
      for (const [name, channel] of [
        ['publisher', publisher],
        ['puller', puller],
      ] as const) {
        channel.on('error', (err: Error) =>
          this.logger.warn(`RabbitMQ ${name} channel error: ${err.message}`),
        );
        channel.on('close', onLost(`${name} channel closed`, channel));
      }
      publisher.on('return', (message: Message) => {
        const id = message.properties.messageId as string | undefined;
        if (id) returned.add(id);
      });
      await publisher.assertExchange(DEAD_LETTER_EXCHANGE, 'direct', { durable: true });
      await publisher.assertExchange(DOMAIN_EVENTS_EXCHANGE, 'topic', { durable: true });
      for (const queue of this.queues) await declareQueue(publisher, queue);
      const link: Link = {
        generation,
        connection,
        publisher,
        puller,
        returned,
        buckets: new Map(),
      };
      for (const subscription of this.subscriptions) await subscription.attach(link);
      if (dead) throw new Error('the connection closed while it was being set up');
      if (this.closed) throw new BrokerUnavailableError('the RabbitMQ message bus is closed');
      this.current = link;
      if (generation > 1) this.logger.log(`RabbitMQ reconnected (link ${generation})`);
      return link;
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
  }

  // ---- publishing and settling ----

  private publish(
    link: Link,
    exchange: string,
    routingKey: string,
    body: unknown,
    properties: amqp.Options.Publish,
  ): Promise<void> {
    const messageId = properties.messageId ?? `tasker-${++this.nextId}`;
    const content = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      link.publisher.publish(
        exchange,
        routingKey,
        content,
        {
          ...properties,
          messageId,
          persistent: true,
          mandatory: properties.mandatory ?? true,
          contentType: 'application/json',
        },
        (err: unknown) => {
          if (err) {
            reject(
              new BrokerUnavailableError('RabbitMQ did not confirm a publish', { cause: err }),
            );
          } else if (link.returned.delete(messageId)) {
            reject(
              new Error(
                `RabbitMQ has no queue for '${routingKey}' on '${exchange || '(default)'}'`,
              ),
            );
          } else {
            resolve();
          }
        },
      );
    });
  }

  /** The queue's counts; rejects when it does not exist (which closes the throwaway channel). */
  private async checkQueue(link: Link, queue: string): Promise<amqp.Replies.AssertQueue> {
    const channel = await link.connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return await channel.checkQueue(queue);
    } finally {
      this.retiring.add(channel);
      await channel.close().catch(() => undefined);
    }
  }

  /** The exchange a publish with this delay goes to: the default one, or a delay bucket. */
  private async exchangeFor(link: Link, delayMs: number): Promise<string> {
    if (delayMs <= 0) return '';
    const bucket = delayBucketMs(delayMs);
    const exchange = delayExchangeName(bucket);
    const declaredAt = link.buckets.get(bucket);
    const { args, expiresMs } = delayQueueArguments(bucket);
    if (declaredAt === undefined || Date.now() - declaredAt > expiresMs / 2) {
      await link.publisher.assertExchange(exchange, 'fanout', { durable: true, autoDelete: true });
      await link.publisher.assertQueue(exchange, { durable: true, arguments: args });
      await link.publisher.bindQueue(exchange, exchange, '');
      link.buckets.set(bucket, Date.now());
    }
    return exchange;
  }

  private isLive(entry: Pending): boolean {
    return this.current?.generation === entry.generation && !this.closed;
  }

  /** The pending entry of a message still settleable on a live channel. */
  private peek(message: ReceivedMessage): Pending {
    const entry = this.pending.get(message.id);
    if (!entry) {
      throw new Error(
        `message ${message.id} was already settled or its visibility timeout ran out`,
      );
    }
    if (!this.isLive(entry)) {
      this.pending.delete(message.id);
      throw new BrokerUnavailableError(
        `message ${message.id} was delivered on a lost RabbitMQ channel; the broker redelivers it`,
      );
    }
    return entry;
  }

  private settle(message: ReceivedMessage): Pending {
    const entry = this.peek(message);
    this.pending.delete(message.id);
    clearTimeout(entry.timer);
    return entry;
  }
}

async function declareQueue(channel: Channel, queue: string): Promise<void> {
  const dlq = deadLetterQueueName(queue);
  await channel.assertQueue(dlq, { durable: true });
  await channel.bindQueue(dlq, DEAD_LETTER_EXCHANGE, queue);
  // Messages the broker itself rejects (nack without requeue) land in the same place.
  await channel.assertQueue(queue, {
    durable: true,
    arguments: { 'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE },
  });
}

/** A push consumer on its own channel with its own prefetch, re-attached after a reconnect. */
class RabbitSubscription implements Subscription {
  private readonly logger = new Logger('RabbitSubscription');
  private channel: Channel | undefined;
  private consumerTags: string[] = [];
  private closing = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly bus: RabbitMqMessageBus,
    private readonly queues: readonly string[],
    private readonly handler: MessageHandler,
    private readonly prefetch: number,
  ) {}

  async attach(link: Link): Promise<void> {
    if (this.closing) return;
    const channel = await link.connection.createChannel();
    channel.on('error', (err: Error) =>
      this.logger.warn(`RabbitMQ consumer channel error: ${err.message}`),
    );
    try {
      // global: one limit for the channel, shared by the consumers of all its queues.
      await channel.prefetch(this.prefetch, true);
      const tags: string[] = [];
      for (const queue of this.queues) {
        const { consumerTag } = await channel.consume(
          queue,
          (raw) => this.deliver(link.generation, channel, queue, raw),
          { noAck: false },
        );
        tags.push(consumerTag);
      }
      this.channel = channel;
      this.consumerTags = tags;
      channel.on('close', () => this.bus.lost(link.generation, 'consumer channel closed', channel));
    } catch (err) {
      this.bus.retire(channel);
      await channel.close().catch(() => undefined);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.bus.forget(this);
    const channel = this.channel;
    if (channel) {
      this.bus.retire(channel);
      for (const tag of this.consumerTags) await channel.cancel(tag).catch(() => undefined);
    }
    await Promise.allSettled([...this.inFlight]);
    await channel?.close().catch(() => undefined);
  }

  private deliver(generation: number, channel: Channel, queue: string, raw: ConsumeMessage | null) {
    if (raw === null) {
      this.bus.lost(generation, `consumer of ${queue} was cancelled by the broker`);
      return;
    }
    const message = this.bus.track(generation, channel, queue, raw);
    const work = this.handler(message)
      .catch((err: unknown) => {
        // A settle on a lost channel is expected during a reconnect: the broker redelivers.
        const log = err instanceof BrokerUnavailableError ? 'warn' : 'error';
        this.logger[log](`message ${message.id} on ${queue}: ${errorMessage(err)}`);
      })
      .then(async () => {
        // Unsettled, it would hold a prefetch slot until the channel dies: hand it back.
        if (this.bus.isPending(message)) {
          await this.bus
            .nack(message, { delayMs: UNSETTLED_REDELIVERY_MS })
            .catch((err: unknown) => this.logger.warn(errorMessage(err)));
        }
      })
      .finally(() => this.inFlight.delete(work));
    this.inFlight.add(work);
  }
}
