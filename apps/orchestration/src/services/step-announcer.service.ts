import { setTimeout as sleep } from 'node:timers/promises';
import { type BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import type { MessageEnvelope } from '#contracts';
import { createEnvelope, workerQueueName } from '#contracts';
import { errorMessage, GroupCommit, MessageBus } from '#core';
import type { EnqueuedStep } from '#core';
import {
  announcementBacklog,
  confirmAnnouncements,
  Database,
  ProcessIdentity,
  renewAnnouncements,
} from '#persistence';
import { TaskerMetrics } from '#observability';

export interface Announcement {
  taskUuid: string;
  namespace: string;
  correlationId: string;
  traceparent: string | null;
  steps: EnqueuedStep[];
  causationId?: string | null;
}

/** One step message this replica owes: built once, sent as often as it takes. */
interface OwedMessage {
  stepUuid: string;
  queue: string;
  message: MessageEnvelope<'step.execute.v1'>;
}

/** Pause between attempts to send owed messages (each waits for the broker to be back). */
const RETRY_INTERVAL_MS = 250;

/**
 * Sends step.execute messages for steps already committed as `enqueued` (state before queue),
 * on brokers outside the database (RabbitMQ); on PGMQ the unit of work sends them in its
 * transaction instead and nothing here runs.
 *
 * The commit that enqueued the steps recorded them as owed by this replica (the announcements
 * outbox, migration 0016). A confirmed send deletes those rows (group-committed, off the
 * caller's path). A send that fails, or that would fail because the broker is unreachable, is
 * kept in memory and retried every RETRY_INTERVAL_MS, so it goes out as soon as the broker is
 * back; each retry first renews this replica's lease on the rows and sends only the steps it
 * still owns, so a step another replica took over is never sent from here too. What a replica
 * that died still owed, its rows say: the readiness sweep of another takes them over once
 * their lease (TASKER_ANNOUNCE_LEASE_MS) runs out. The 5-minute re-announce stays the last
 * safety net.
 */
@Injectable()
export class StepAnnouncer implements BeforeApplicationShutdown {
  private readonly logger = new Logger(StepAnnouncer.name);
  /** Messages whose send failed, by step uuid, until sent or taken over. */
  private readonly owed = new Map<string, OwedMessage>();
  /** Sent steps whose rows could not be deleted yet (the database was away). */
  private readonly unconfirmed = new Set<string>();
  private readonly confirmations: GroupCommit<string, undefined>;
  private retrying: Promise<void> | undefined;
  /** Sends started by announceBehind and not finished (at most one per caller at a time). */
  private readonly sending = new Set<Promise<void>>();
  private lastRenewal = 0;
  private stopping = false;

  constructor(
    private readonly bus: MessageBus,
    private readonly database: Database,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
  ) {
    this.confirmations = new GroupCommit(
      async (stepUuids) => {
        await confirmAnnouncements(this.database.pool, stepUuids);
        return stepUuids.map(() => undefined);
      },
      { maxBatch: 1000 },
    );
    metrics.trackAnnouncementBacklog(() => announcementBacklog(this.database.pool));
  }

  /** Step messages this replica owes and keeps retrying. */
  get owedHere(): number {
    return this.owed.size;
  }

  announce(announcement: Announcement): Promise<void> {
    return this.announceAll([announcement]);
  }

  /**
   * Every announcement's steps, with one batch send per namespace queue (sent concurrently).
   * Never throws: the steps are committed, and what cannot be sent now is owed and sent as
   * soon as the broker takes it. A step already owed here is left to that retry.
   */
  async announceAll(announcements: readonly Announcement[]): Promise<void> {
    const byQueue = new Map<string, OwedMessage[]>();
    for (const announcement of announcements) {
      if (announcement.steps.length === 0) continue;
      const { queue, messages } = stepMessages(announcement);
      const fresh = messages
        .map((message) => ({ stepUuid: message.payload.stepUuid, queue, message }))
        .filter((m) => !this.owed.has(m.stepUuid));
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), ...fresh]);
    }
    await Promise.all(
      [...byQueue.values()].map(async (messages) => {
        if (messages.length > 0 && !(await this.send(messages))) this.owe(messages);
      }),
    );
  }

  /**
   * announceAll without waiting for the broker: if there is anything to send, waits for the
   * sends announceBehind started before (so a caller that outruns the broker is held back, one
   * batch in flight), then starts this one and answers. For a serial path, such as the step
   * results' group commit, whose next unit of work then runs while the broker takes this one's
   * messages. The steps are committed and owed (the outbox) before this is called, so an answer
   * before the send loses nothing.
   */
  async announceBehind(announcements: readonly Announcement[]): Promise<void> {
    if (announcements.every((a) => a.steps.length === 0)) return;
    if (this.sending.size > 0) await Promise.all(this.sending);
    const send: Promise<void> = this.announceAll(announcements)
      .catch((err: unknown) => this.logger.error(`announcing steps failed: ${errorMessage(err)}`))
      .finally(() => this.sending.delete(send));
    this.sending.add(send);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all(this.sending);
    this.stopping = true;
    await this.retrying;
    await this.confirmations.drained();
    if (this.owed.size > 0) {
      this.logger.warn(
        `stopping with ${this.owed.size} step message(s) unsent; another replica sends them once their lease runs out`,
      );
    }
  }

  /** Sends one queue's messages; whether the broker confirmed them (then they are confirmed). */
  private async send(messages: readonly OwedMessage[]): Promise<boolean> {
    if (!this.reachable()) return false;
    try {
      await this.bus.sendBatch(
        messages[0]!.queue,
        messages.map((m) => m.message),
      );
    } catch (err) {
      this.logger.warn(
        `sending ${messages.length} step message(s) to ${messages[0]!.queue} failed; retrying as soon as the broker takes them: ${errorMessage(err)}`,
      );
      return false;
    }
    for (const { stepUuid } of messages) this.confirm(stepUuid);
    return true;
  }

  /** A broker known to be away (reconnecting) is not tried: the retry waits for it. */
  private reachable(): boolean {
    const { source } = this.bus.status();
    return source !== 'connecting' && source !== 'error';
  }

  private owe(messages: readonly OwedMessage[]): void {
    this.metrics.announceFailed(messages.length);
    for (const m of messages) this.owed.set(m.stepUuid, m);
    this.startRetrying();
  }

  private confirm(stepUuid: string): void {
    this.confirmations.submit(stepUuid).catch(() => {
      this.unconfirmed.add(stepUuid);
      this.startRetrying();
    });
  }

  private startRetrying(): void {
    if (this.retrying) return;
    this.retrying = this.retry().finally(() => {
      this.retrying = undefined;
      // Something owed after the loop saw nothing left, before this ran: loop again, or it
      // would wait for the 5-minute sweep.
      if (!this.stopping && (this.owed.size > 0 || this.unconfirmed.size > 0)) {
        this.startRetrying();
      }
    });
  }

  private async retry(): Promise<void> {
    while (!this.stopping && (this.owed.size > 0 || this.unconfirmed.size > 0)) {
      await sleep(RETRY_INTERVAL_MS);
      try {
        await this.retryOnce();
      } catch (err) {
        this.logger.debug(`retrying owed step messages failed: ${errorMessage(err)}`);
      }
    }
  }

  /**
   * Deletes the rows of steps sent earlier; renews the lease on the owed ones (always before a
   * send, and often enough while the broker is away that no other replica takes them over);
   * then, if the broker is reachable, sends those this replica still owns.
   */
  private async retryOnce(): Promise<void> {
    if (this.unconfirmed.size > 0) {
      const sent = [...this.unconfirmed];
      await confirmAnnouncements(this.database.pool, sent);
      for (const uuid of sent) this.unconfirmed.delete(uuid);
    }
    if (this.owed.size === 0) return;
    const reachable = this.reachable();
    if (!reachable && Date.now() - this.lastRenewal < this.config.announceLeaseMs / 4) return;
    // Only what was asked about can be found not ours: a step owed while the renewal ran is
    // renewed next round, not dropped.
    const asked = [...this.owed.keys()];
    const mine = await renewAnnouncements(this.database.pool, asked, this.processor);
    this.lastRenewal = Date.now();
    for (const uuid of asked) if (!mine.has(uuid)) this.owed.delete(uuid);
    if (!reachable) return;
    const byQueue = new Map<string, OwedMessage[]>();
    for (const m of this.owed.values()) byQueue.set(m.queue, [...(byQueue.get(m.queue) ?? []), m]);
    for (const messages of byQueue.values()) {
      if (!(await this.send(messages))) return;
      for (const { stepUuid } of messages) this.owed.delete(stepUuid);
      this.logger.log(`sent ${messages.length} owed step message(s) to ${messages[0]!.queue}`);
    }
  }

  private get processor(): string {
    return this.identity.processorUuid;
  }
}

/** The step.execute messages of an announcement, and the worker queue they go to. */
export function stepMessages(announcement: Announcement): {
  queue: string;
  messages: MessageEnvelope<'step.execute.v1'>[];
} {
  return {
    queue: workerQueueName(announcement.namespace),
    messages: announcement.steps.map((step) =>
      createEnvelope(
        'step.execute.v1',
        {
          taskUuid: announcement.taskUuid,
          stepUuid: step.stepUuid,
          stepName: step.stepName,
          namespace: announcement.namespace,
        },
        {
          correlationId: announcement.correlationId,
          causationId: announcement.causationId ?? null,
          traceparent: announcement.traceparent,
        },
      ),
    ),
  };
}
