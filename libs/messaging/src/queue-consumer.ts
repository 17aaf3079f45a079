import { Logger } from '@nestjs/common';
import type { MessageBus, ReceivedMessage } from '#core';

export type MessageHandler = (message: ReceivedMessage) => Promise<void>;

export interface QueueConsumerOptions {
  queues: readonly string[];
  batchSize: number;
  pollIntervalMs: number;
  visibilityTimeoutMs: number;
  /** Messages handled at once. */
  concurrency: number;
}

/**
 * Polls queues through the MessageBus port and hands each message to `handle`, at most
 * `concurrency` at a time. The handler acks/nacks itself (only after its work is committed);
 * a handler that throws leaves the message to reappear after its visibility timeout.
 * `stop()` stops reading and waits for in-flight messages to finish.
 */
export class QueueConsumer {
  private readonly logger = new Logger(QueueConsumer.name);
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly bus: MessageBus,
    private readonly handle: MessageHandler,
    private readonly options: QueueConsumerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    while (this.running) {
      let received = 0;
      for (const queue of this.options.queues) {
        const capacity = this.options.concurrency - this.inFlight.size;
        if (!this.running || capacity <= 0) break;
        let messages: ReceivedMessage[] = [];
        try {
          messages = await this.bus.receive(queue, {
            maxMessages: Math.min(capacity, this.options.batchSize),
            visibilityTimeoutMs: this.options.visibilityTimeoutMs,
          });
        } catch (err) {
          this.logger.error(`receive from ${queue} failed: ${errorMessage(err)}`);
        }
        received += messages.length;
        for (const message of messages) this.dispatch(message);
      }
      // Busy: go straight back for more. Idle or full: wait for a slot or the poll interval.
      if (received === 0 || this.inFlight.size >= this.options.concurrency) {
        await this.pause(this.options.pollIntervalMs);
      }
    }
  }

  private dispatch(message: ReceivedMessage): void {
    const work = this.handle(message)
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

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
