import type { INestApplication } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import {
  type CustomTransportStrategy,
  type MessageHandler,
  type MicroserviceOptions,
  type NestMicroservice,
  Server,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { MessageEnvelope } from '#contracts';
import { parseEnvelope, traceIdOf } from '#contracts';
import type { ReceivedMessage, Subscription } from '#core';
import { errorMessage, MessageBus, withLogContext } from '#core';
import { ConsumedQueues } from './consumed-queues.js';
import { TaskerExceptionFilter } from './tasker-exception.filter.js';
import { TaskerContext } from './tasker.context.js';

export const TASKER_TRANSPORT = Symbol('tasker');

export interface TaskerTransportOptions {
  /** Queues to consume; each is ensured (with its dead-letter queue) before consuming. */
  queues: readonly string[];
  /** Messages in handlers at once. */
  prefetch: number;
  /** Pulling brokers: how long a message in a handler stays hidden from other consumers. */
  visibilityTimeoutMs: number;
  /** At close: how long handlers in flight may run on before their shutdown signal aborts. */
  shutdownGraceMs: number;
  /**
   * Deliveries of one message (TASKER_MAX_DELIVERIES): one whose handler failed on the last of
   * them, or that comes back once more unsettled, is dead-lettered instead of retried forever.
   */
  maxDeliveries: number;
  /** Told about every message the transport dead-letters (for a metric). */
  onDeadLetter?: (queue: string) => void;
}

/** Redelivery delay after a handler failed on its `deliveryCount`-th delivery. */
export function failureRedeliveryMs(deliveryCount: number): number {
  return Math.min(60000, 1000 * 2 ** Math.max(0, deliveryCount - 1));
}

/**
 * The Nest microservices transport over the MessageBus port, whichever broker backs it.
 * Handlers are ordinary `@EventPattern('<message type>')` methods receiving the validated
 * envelope as payload and a TaskerContext. The transport never auto-acks: it acks after the
 * handler resolved (its database work committed) unless the handler's transaction consumed the
 * message itself (TaskerContext.consumedInTransaction), nacks with backoff when it failed, and
 * dead-letters what can never be processed (malformed envelope, a type nobody handles, a
 * message that failed or went unsettled on each of its `maxDeliveries` deliveries).
 */
export class TaskerTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = TASKER_TRANSPORT;
  override readonly propagatesEventHandlerErrors = true;
  private readonly log = new Logger(TaskerTransport.name);
  private subscription: Subscription | undefined;
  private readonly stopping = new AbortController();

  constructor(
    private readonly bus: MessageBus,
    private readonly options: TaskerTransportOptions,
  ) {
    super();
  }

  listen(callback: (err?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (err: unknown) => callback(err),
    );
  }

  /**
   * Stops taking messages and waits for the handlers in flight to settle theirs; once the
   * grace period has passed, aborts their shutdown signal so they release what is left.
   */
  async close(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = undefined;
    if (!subscription) return;
    const grace = setTimeout(() => {
      this.log.warn(
        `shutdown grace of ${this.options.shutdownGraceMs} ms is over: releasing unfinished messages`,
      );
      this.stopping.abort(new Error('the process is shutting down'));
    }, this.options.shutdownGraceMs);
    try {
      await subscription.close();
    } finally {
      clearTimeout(grace);
    }
  }

  on(): never {
    throw new Error('the Tasker transport emits no events');
  }

  unwrap<T>(): T {
    return this.bus as T;
  }

  private async start(): Promise<void> {
    for (const queue of this.options.queues) await this.bus.ensureQueue(queue);
    this.subscription = await this.bus.subscribe(this.options.queues, (m) => this.dispatch(m), {
      prefetch: this.options.prefetch,
      visibilityTimeoutMs: this.options.visibilityTimeoutMs,
    });
    this.log.log(`consuming ${this.options.queues.join(', ')} (prefetch ${this.options.prefetch})`);
  }

  private async dispatch(message: ReceivedMessage): Promise<void> {
    const { maxDeliveries } = this.options;
    // Its consumers were lost (or asked for it back) every time: it may be what kills them.
    if (message.deliveryCount > maxDeliveries) {
      return this.deadLetter(
        message,
        `delivered ${message.deliveryCount} times, more than TASKER_MAX_DELIVERIES (${maxDeliveries}), without being settled`,
      );
    }
    const parsed = parseEnvelope(message.body);
    if (!parsed.ok) return this.deadLetter(message, parsed.error);
    const envelope = parsed.message;
    const handler = this.getHandlerByPattern(envelope.type);
    if (!handler) {
      return this.deadLetter(message, `no handler for ${envelope.type} on ${message.queue}`);
    }
    const context = new TaskerContext([message, envelope, this.stopping.signal]);
    // Every line logged while handling it says which task, step and trace it is about.
    const { taskUuid, stepUuid } = envelope.payload;
    const fields = {
      taskUuid,
      stepUuid,
      correlationId: envelope.correlationId,
      traceId: traceIdOf(envelope.traceparent) ?? undefined,
      messageType: envelope.type,
      messageId: envelope.id,
    };
    await withLogContext(fields, () => this.settle(message, envelope, handler, context));
  }

  private async settle(
    message: ReceivedMessage,
    envelope: MessageEnvelope,
    handler: MessageHandler,
    context: TaskerContext,
  ): Promise<void> {
    try {
      const result: unknown = await handler(envelope, context);
      await lastValueFrom(this.transformToObservable(result), { defaultValue: undefined });
    } catch (err) {
      if (message.deliveryCount >= this.options.maxDeliveries) {
        await this.deadLetter(
          message,
          `failed on each of its ${message.deliveryCount} deliveries (TASKER_MAX_DELIVERIES); last error: ${describe(err)}`,
        );
        return;
      }
      const delayMs = failureRedeliveryMs(message.deliveryCount);
      this.log.error(
        `${envelope.type} ${envelope.id} failed on delivery ${message.deliveryCount}; redelivering in ${delayMs} ms: ${describe(err)}`,
      );
      await this.bus.nack(message, { delayMs });
      return;
    }
    const deadLetterReason = context.requestedDeadLetter;
    const redeliverMs = context.requestedRedeliveryMs;
    if (deadLetterReason !== undefined) await this.deadLetter(message, deadLetterReason);
    else if (redeliverMs !== undefined) await this.bus.nack(message, { delayMs: redeliverMs });
    else if (!context.wasConsumed) await this.bus.ack(message);
  }

  private async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    this.log.warn(`dead-lettering message ${message.id} from ${message.queue}: ${reason}`);
    await this.bus.deadLetter(message, reason);
    this.options.onDeadLetter?.(message.queue);
  }
}

/** An Error, or what Nest's RPC exception filter makes of one (`{ status, message }`). */
function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return errorMessage(err);
}

/**
 * Connects the Tasker transport to an initialised app and starts consuming. The app's
 * `close()` then stops it (draining in-flight handlers) before the bus and pool close.
 */
export async function startTaskerTransport(
  app: INestApplication,
  options: TaskerTransportOptions,
): Promise<void> {
  app.get(ConsumedQueues).add(options.queues);
  // Connected to an initialised app, a microservice is initialised at once and refuses global
  // filters (Nest only warns): deferred, the filter is in place when listen() registers the
  // handlers. Without it every handler error reached the transport as 'Internal server error'.
  // A deferred microservice would also run the shared modules' init hooks again at listen()
  // (templates registered twice, every sweeper started twice): the app has run them.
  const microservice = app.connectMicroservice<MicroserviceOptions>(
    { strategy: new TaskerTransport(app.get(MessageBus), options) },
    { deferInitialization: true },
  ) as NestMicroservice;
  microservice.useGlobalFilters(new TaskerExceptionFilter());
  microservice.setIsInitHookCalled(true);
  await app.startAllMicroservices();
}
