import type { DomainEvent, MessageEnvelope } from '#contracts';

/** A message taken from a queue; hand it back with ack/nack/deadLetter. */
export interface ReceivedMessage {
  /** Adapter-specific id, opaque to callers. */
  readonly id: string;
  readonly queue: string;
  /** The raw body: validate it before trusting it (it may be malformed). */
  readonly body: unknown;
  /**
   * 1 on first delivery, exact along nacks with a delay (what the transport's delivery cap
   * counts). After a lost consumer or a nack without delay, PGMQ still counts exactly; RabbitMQ
   * classic queues only flag a redelivery, so there it is a lower bound (see the adapter).
   */
  readonly deliveryCount: number;
  readonly enqueuedAt: Date;
}

/**
 * Where a received message is stored when its queue is a table of the tasker database (PGMQ):
 * a statement in the handler's transaction deletes it there (pgmq.delete), so the message is
 * consumed in the same commit as the state change it caused, and needs no ack afterwards.
 */
export interface MessageRow {
  queue: string;
  msgId: string;
}

export interface ReceiveOptions {
  maxMessages: number;
  /** How long a received message stays invisible to others before it is redelivered. */
  visibilityTimeoutMs: number;
}

export interface SubscribeOptions {
  /** Messages handed to the handler at once (RabbitMQ prefetch, the poller's batch cap). */
  prefetch: number;
  /** For pulling adapters: how long a message in the handler stays hidden from others. */
  visibilityTimeoutMs: number;
}

/**
 * Receives one message. It must settle it (ack, nack or deadLetter) before resolving; a
 * message left unsettled by a throwing handler is recovered by the broker (visibility timeout
 * or consumer loss), never lost.
 */
export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface Subscription {
  /** Stops taking messages and resolves once every message already handed out has settled. */
  close(): Promise<void>;
}

/** What health checks report about a bus, without naming adapter types. */
export interface MessageBusStatus {
  backend: string;
  /** How this process learns about new messages. */
  delivery: 'push' | 'notify' | 'notify+poll' | 'poll';
  /** The connection that brings notices or pushes, where there is one. */
  source: 'connected' | 'connecting' | 'error' | 'idle' | null;
  /** Times that connection was lost since the process started. */
  reconnects: number;
  /** Notices received that were not what a sender writes (each read as "messages arrived"). */
  malformedNotices: number;
}

/** Thrown when the broker cannot take or settle a message right now (connection lost). */
export class BrokerUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BrokerUnavailableError';
  }
}

/**
 * The messaging port (ARCHITECTURE §5). Nothing outside the adapters knows which broker runs.
 * Messages carry identifiers only; consumers re-read state from the database.
 */
export abstract class MessageBus {
  /**
   * The queues are tables of the tasker database (PGMQ): a statement there can send with
   * `tasker.send_messages` (migration 0010), so a state change and the messages announcing it
   * commit together. Otherwise (RabbitMQ, in-memory) callers commit state, then send.
   */
  readonly queuesInDatabase: boolean = false;
  /** Creates the queue and its dead-letter destination if missing. Idempotent. */
  abstract ensureQueue(queue: string): Promise<void>;
  /** Resolves once the broker has the message durably (PGMQ: committed; RabbitMQ: confirmed). */
  send(queue: string, message: MessageEnvelope, options?: { delayMs?: number }): Promise<void> {
    return this.sendBatch(queue, [message], options);
  }
  /** All or nothing where the broker allows it (PGMQ: one statement). */
  abstract sendBatch(
    queue: string,
    messages: readonly MessageEnvelope[],
    options?: { delayMs?: number },
  ): Promise<void>;
  /** Pulls up to `maxMessages`; each stays hidden for the visibility timeout unless settled. */
  abstract receive(queue: string, options: ReceiveOptions): Promise<ReceivedMessage[]>;
  /** Hands messages of `queues` to `handler` as they arrive, at most `prefetch` at a time. */
  abstract subscribe(
    queues: readonly string[],
    handler: MessageHandler,
    options: SubscribeOptions,
  ): Promise<Subscription>;
  /**
   * The message's row when its queue is in the database (see MessageRow), for a handler that
   * consumes it in its own transaction; null for brokers elsewhere, which need the ack.
   */
  rowOf(_message: ReceivedMessage): MessageRow | null {
    return null;
  }
  /** Done with the message: it will not be delivered again. */
  abstract ack(message: ReceivedMessage): Promise<void>;
  /** Give the message back for redelivery after `delayMs` (0 = now). */
  abstract nack(message: ReceivedMessage, options?: { delayMs?: number }): Promise<void>;
  /** Move a message that can never be processed out of the way, keeping it for inspection. */
  abstract deadLetter(message: ReceivedMessage, reason: string): Promise<void>;
  /**
   * Messages waiting in each of `queues` (PGMQ: visible or not; RabbitMQ: ready, not yet
   * delivered), read together; a queue that does not exist is left out. Callers that may run
   * often (probes, metrics) read through the messaging library's QueueDepths cache.
   */
  abstract depths(queues: readonly string[]): Promise<ReadonlyMap<string, number>>;
  /** One queue's depth, as `depths` reads it; rejects when the queue does not exist. */
  async depth(queue: string): Promise<number> {
    const depth = (await this.depths([queue])).get(queue);
    if (depth === undefined) throw new Error(`queue ${queue} does not exist`);
    return depth;
  }
  /** Resolves when the broker answers a round trip now; rejects with the reason otherwise. */
  /**
   * Makes sure `namespace`'s durable domain events have somewhere to go (PGMQ: its queue
   * `<namespace>_domain_events`; RabbitMQ: the topic exchange). Idempotent.
   */
  abstract ensureDomainEvents(namespace: string): Promise<void>;
  /**
   * Publishes durable domain events of one namespace for consumers outside Tasker, resolving
   * once the broker has them (PGMQ: committed to the namespace's queue; RabbitMQ: confirmed by
   * the topic exchange, routed by event name; an event no queue is bound for is dropped by
   * the broker, as topic exchanges do).
   */
  abstract publishDomainEvents(namespace: string, events: readonly DomainEvent[]): Promise<void>;
  abstract ping(): Promise<void>;
  abstract status(): MessageBusStatus;
  /** Closes subscriptions (draining them) and connections the adapter owns. */
  abstract close(): Promise<void>;
}
