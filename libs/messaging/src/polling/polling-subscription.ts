import { Logger } from '@nestjs/common';
import type {
  MessageBus,
  MessageHandler,
  ReceivedMessage,
  SubscribeOptions,
  Subscription,
} from '#core';

export interface PollingOptions extends SubscribeOptions {
  /** Pause after a round that found nothing (or while every slot is busy). */
  pollIntervalMs: number;
}

/**
 * `subscribe` for adapters whose broker does not push (PGMQ, in-memory): reads every queue in
 * turn through `receive`, hands each message to the handler with at most `prefetch` in flight,
 * goes straight back when a round found work and waits `pollIntervalMs` when it did not.
 * A handler that throws leaves its message to the visibility timeout.
 */
export class PollingSubscription implements Subscription {
  private readonly logger = new Logger(PollingSubscription.name);
  private running = true;
  private readonly loop: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly queues: readonly string[],
    private readonly handler: MessageHandler,
    private readonly options: PollingOptions,
  ) {
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let received = 0;
      for (const queue of this.queues) {
        const capacity = this.options.prefetch - this.inFlight.size;
        if (!this.running || capacity <= 0) break;
        let messages: ReceivedMessage[] = [];
        try {
          messages = await this.bus.receive(queue, {
            maxMessages: capacity,
            visibilityTimeoutMs: this.options.visibilityTimeoutMs,
          });
        } catch (err) {
          this.logger.error(`receive from ${queue} failed: ${errorMessage(err)}`);
        }
        received += messages.length;
        for (const message of messages) this.dispatch(message);
      }
      if (received === 0 || this.inFlight.size >= this.options.prefetch) {
        await this.pause(this.options.pollIntervalMs);
      }
    }
  }

  private dispatch(message: ReceivedMessage): void {
    const work = this.handler(message)
      .catch((err: unknown) => {
        this.logger.error(
          `message ${message.id} on ${message.queue} failed; it will be redelivered: ${errorMessage(err)}`,
        );
      })
      .finally(() => {
        this.inFlight.delete(work);
        this.wake?.();
      });
    this.inFlight.add(work);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
