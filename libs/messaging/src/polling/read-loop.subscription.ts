import { Logger } from '@nestjs/common';
import type { MessageHandler, ReceivedMessage, SubscribeOptions, Subscription } from '#core';
import { errorMessage } from '#core';

/** After a handler failed, read again this long after its message's visibility timeout. */
const VISIBLE_AGAIN_SLACK_MS = 100;

/** Why a read happens: woken by an event (or at start), or by the poll timer. */
export type ReadTrigger = 'wake' | 'poll';

export type QueueReader = (
  queue: string,
  maxMessages: number,
  trigger: ReadTrigger,
) => Promise<ReceivedMessage[]>;

export interface ReadLoopOptions extends SubscribeOptions {
  /**
   * How long a message stays hidden after `read`, as the broker applies it (rounded up where
   * it counts coarser): the loop reads again this long after a handler failed.
   */
  visibilityTimeoutMs: number;
  /** Timer reads every this many ms while idle; null: only events (`wake`) cause reads. */
  pollIntervalMs: number | null;
  read: QueueReader;
  /** The owning bus's open subscriptions: the loop is in it from creation until closed. */
  openIn: Set<Subscription>;
  /** Runs when the loop is closed, before it drains (e.g. stop listening for its queues). */
  onClose?: () => void;
}

/**
 * `subscribe` for adapters whose broker does not push (PGMQ, in-memory). Reads every queue in
 * turn and hands each message to the handler with at most `prefetch` in flight. A read happens
 * at start (catch-up), whenever `wake()` is called (a notification), at `wakeAt()` times (a
 * delayed message becoming visible) and, if a poll interval is set, on the timer. A round where
 * a queue filled the capacity offered is followed at once by another of the same kind, so a
 * backlog drains without waiting. A handler that throws leaves its message to the visibility
 * timeout, and the loop reads again when that has run out.
 */
export class ReadLoopSubscription implements Subscription {
  private readonly logger = new Logger(ReadLoopSubscription.name);
  private running = true;
  /** A wake is pending (or the last woken round filled a batch): read without filters. */
  private demand = true;
  private lastPoll = 0;
  private readonly loop: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private signal: (() => void) | undefined;

  constructor(
    private readonly queues: readonly string[],
    private readonly handler: MessageHandler,
    private readonly options: ReadLoopOptions,
  ) {
    this.loop = this.run();
    options.openIn.add(this);
  }

  wake(): void {
    this.demand = true;
    this.signal?.();
  }

  wakeAt(epochMs: number): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.wake();
      },
      Math.max(0, epochMs - Date.now()),
    );
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    this.options.openIn.delete(this);
    this.options.onClose?.();
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.signal?.();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(): Promise<void> {
    const { pollIntervalMs, prefetch } = this.options;
    while (this.running) {
      if (this.inFlight.size >= prefetch) {
        await this.pause(null);
        continue;
      }
      const sincePoll = Date.now() - this.lastPoll;
      const pollDue = pollIntervalMs !== null && sincePoll >= pollIntervalMs;
      if (!this.demand && !pollDue) {
        await this.pause(pollIntervalMs === null ? null : pollIntervalMs - sincePoll);
        continue;
      }
      const trigger: ReadTrigger = this.demand ? 'wake' : 'poll';
      this.demand = false;
      this.lastPoll = Date.now();
      if (await this.readRound(trigger)) {
        // A queue gave all that was asked, so there may be more: go again with the same kind
        // of read. A shorter answer means it is empty for now, and every later send notifies
        // (or comes up in the next poll): reading again at once would only cost a round trip.
        if (trigger === 'wake') this.demand = true;
        else this.lastPoll = 0;
      }
    }
  }

  /** Reads every queue once; returns whether some queue filled the capacity it was offered. */
  private async readRound(trigger: ReadTrigger): Promise<boolean> {
    let full = false;
    for (const queue of this.queues) {
      const capacity = this.options.prefetch - this.inFlight.size;
      if (!this.running || capacity <= 0) break;
      try {
        const messages = await this.options.read(queue, capacity, trigger);
        if (messages.length >= capacity) full = true;
        for (const message of messages) this.dispatch(message);
      } catch (err) {
        this.logger.error(`receive from ${queue} failed: ${errorMessage(err)}`);
      }
    }
    return full;
  }

  private dispatch(message: ReceivedMessage): void {
    const work = this.handler(message)
      .catch((err: unknown) => {
        this.logger.error(
          `message ${message.id} on ${message.queue} failed; it will be redelivered: ${errorMessage(err)}`,
        );
        // Look again when its visibility timeout has run out: a loop that reads only when
        // woken (no poll interval) would otherwise leave it until the next notification.
        if (this.running) {
          this.wakeAt(Date.now() + this.options.visibilityTimeoutMs + VISIBLE_AGAIN_SLACK_MS);
        }
      })
      .finally(() => {
        this.inFlight.delete(work);
        this.signal?.();
      });
    this.inFlight.add(work);
  }

  /** Waits for a wake, a finished handler, close, or `ms` (null: no timeout). */
  private pause(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.signal = undefined;
        resolve();
      };
      if (ms !== null) timer = setTimeout(done, Math.max(1, ms));
      this.signal = done;
    });
  }
}
