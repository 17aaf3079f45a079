import { Injectable } from '@nestjs/common';
import { MessageBus } from '#core';
import { TaskerMetrics } from '#observability';
import type { EnqueuedStep, LockedTask, Queryable } from '#persistence';
import { sendMessagesInTransaction } from '#persistence';
import { type Announcement, StepAnnouncer, stepMessages } from './step-announcer.service.js';

/** What a unit of work did to one locked task: the steps it made ready, and whether it ended. */
export interface TaskProgress {
  task: LockedTask;
  steps: EnqueuedStep[];
  ended: 'complete' | 'error' | null;
  /** The message that caused it, if any (the announcements' causation id). */
  causationId?: string | null;
}

/**
 * The end of every orchestration unit of work (step results, operator step actions, the
 * readiness sweep): in the transaction, on PGMQ, the ready steps' messages are sent so they
 * commit with the state that made them ready; after the commit, the tasks that ended are
 * counted and, on other brokers, the ready steps announced (state before queue: a send lost to
 * a crash leaves the steps `enqueued`, and the sweep announces them again).
 */
@Injectable()
export class TaskProgressPublisher {
  constructor(
    private readonly bus: MessageBus,
    private readonly announcer: StepAnnouncer,
    private readonly metrics: TaskerMetrics,
  ) {}

  /**
   * Whether a step's messages commit with its `enqueued` state (PGMQ): then no step can be
   * left enqueued without its message, and nothing needs announcing again.
   */
  get sendsWithState(): boolean {
    return this.bus.queuesInDatabase;
  }

  async inTransaction(tx: Queryable, progress: readonly TaskProgress[]): Promise<void> {
    if (!this.sendsWithState) return;
    await sendMessagesInTransaction(
      tx,
      progress.flatMap((p) => {
        const { queue, messages } = stepMessages(announcementOf(p));
        return messages.map((m) => ({ queue, body: JSON.stringify(m) }));
      }),
    );
  }

  async afterCommit(progress: readonly TaskProgress[]): Promise<void> {
    for (const { task, ended } of progress) {
      if (ended) this.metrics.taskEnded(task.namespace, task.name, ended);
    }
    if (!this.sendsWithState) await this.announcer.announceAll(progress.map(announcementOf));
  }
}

function announcementOf({ task, steps, causationId }: TaskProgress): Announcement {
  return {
    taskUuid: task.taskUuid,
    namespace: task.namespace,
    correlationId: task.correlationId,
    traceparent: task.traceparent,
    steps,
    causationId: causationId ?? null,
  };
}
