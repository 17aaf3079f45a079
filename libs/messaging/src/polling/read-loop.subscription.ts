import { Logger } from '@nestjs/common';
import type { MessageHandler, ReceivedMessage, SubscribeOptions, Subscription } from '#core';
import { errorMessage } from '#core';

/** Read this long after a message is due to become visible, so it is visible by then. */
const VISIBLE_AGAIN_SLACK_MS = 100;
/** Node's longest timer; a later wake-up is armed at this, and the read then re-arms it. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a read happens: woken by an event (or at start), or by the poll timer. */
export type ReadTrigger = 'wake' | 'poll';

/** What one read of a queue took, and what it learned about the queue's hidden messages. */
export interface QueueRead {
  messages: ReceivedMessage[];
  /**
   * In how many ms, by the broker's clock, the earliest message the read did not take becomes
   * visible (one a consumer holds, a delayed send or nack); null when none is known.
   */
  nextVisibleInMs: number | null;
}

export type QueueReader = (
  queue: string,
  maxMessages: number,
  trigger: ReadTrigger,
) => Promise<QueueRead>;

export interface ReadLoopOptions extends SubscribeOptions {
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
 * at `start()` (catch-up), whenever `wake()` is called (a notification), when the earliest
 * hidden message a read or a notice told of becomes visible (`wakeIn`) and, if a poll interval
 * is set, on the timer. A round where a queue filled the capacity offered is followed at once
 * by another of the same kind, so a backlog drains without waiting. A message whose handler
 * threw, or whose consumer elsewhere died, is hidden until its visibility timeout: every read
 * reports when the next hidden message comes due, so the loop reads again then even when
 * nothing else would wake it.
 */
export class ReadLoopSubscription implements Subscription {
  private readonly logger = new Logger(ReadLoopSubscription.name);
  private running = true;
  /** A wake is pending (or the last woken round filled a batch): read without filters. */
  private demand = true;
  private lastPoll = 0;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** The one pending wake-up for hidden messages: the earliest asked for wins. */
  private dueWake: { at: number; timer: NodeJS.Timeout } | undefined;
  private signal: (() => void) | undefined;

  constructor(
    private readonly queues: readonly string[],
    private readonly handler: MessageHandler,
    private readonly options: ReadLoopOptions,
  ) {
    options.openIn.add(this);
  }

  /** Begins reading (the first read is the catch-up): call once notices are being heard. */
  start(): this {
    this.loop ??= this.run();
    return this;
  }

  wake(): void {
    this.demand = true;
    this.signal?.();
  }

  /**
   * Read again when a message hidden for `ms` more has become visible. Only the earliest
   * wake-up is kept: the read it causes reports the next one due, and so on.
   */
  wakeIn(ms: number): void {
    if (!this.running) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, ms) + VISIBLE_AGAIN_SLACK_MS);
    const at = Date.now() + delay;
    if (this.dueWake && this.dueWake.at <= at) return;
    clearTimeout(this.dueWake?.timer);
    const timer = setTimeout(() => {
      this.dueWake = undefined;
      this.wake();
    }, delay);
    this.dueWake = { at, timer };
  }

  async close(): Promise<void> {
    this.options.openIn.delete(this);
    this.options.onClose?.();
    this.running = false;
    clearTimeout(this.dueWake?.timer);
    this.dueWake = undefined;
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
        const { messages, nextVisibleInMs } = await this.options.read(queue, capacity, trigger);
        if (messages.length >= capacity) full = true;
        for (const message of messages) this.dispatch(message);
        if (nextVisibleInMs !== null) this.wakeIn(nextVisibleInMs);
      } catch (err) {
        this.logger.error(`receive from ${queue} failed: ${errorMessage(err)}`);
      }
    }
    return full;
  }

  private dispatch(message: ReceivedMessage): void {
    const work = this.handler(message)
      .catch((err: unknown) => {
        // The read that took it reported its visibility timeout, so the loop looks again then.
        this.logger.error(
          `message ${message.id} on ${message.queue} failed; it will be redelivered: ${errorMessage(err)}`,
        );
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
