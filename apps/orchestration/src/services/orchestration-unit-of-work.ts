import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import type { DomainEvent } from '#contracts';
import {
  type DynamicStepLimits,
  type EnqueuedStep,
  type LockedTask,
  MessageBus,
  type MessageRow,
  TaskStore,
  type TaskUnitOfWork,
} from '#core';
import { TaskerMetrics } from '#observability';
import { DomainEventPublisher } from './domain-event-publisher.service.js';
import { EventIntake } from './event-intake.service.js';
import { type Announcement, StepAnnouncer, stepMessages } from './step-announcer.service.js';

/** What a unit of work did to one locked task: the steps it made ready, and whether it ended. */
export interface TaskProgress {
  task: LockedTask;
  steps: EnqueuedStep[];
  ended: 'complete' | 'error' | null;
  /** The message that caused it, if any (the announcements' causation id). */
  causationId?: string | null;
}

/** What the work of a unit did: the tasks it moved on, and what its caller gets back. */
export interface UnitOfWorkOutcome<T> {
  progress: readonly TaskProgress[];
  value: T;
  /**
   * Messages this work consumed (PGMQ: rows from MessageBus.rowOf), deleted in its
   * transaction: their handlers tell the transport not to ack them.
   */
  consumed?: readonly MessageRow[];
  /** Durable domain events this work recorded (DomainEventPublisher.record): to publish. */
  events?: readonly DomainEvent[];
}

/**
 * The one way orchestration changes tasks (step results, operator step actions, the readiness
 * sweep): lock → decide (core) → persist, in one unit of work of the TaskStore; then, still in
 * it, on PGMQ, the ready steps' messages are sent so they commit with the state that made them
 * ready, and the messages that caused the work are deleted so they are consumed by the same
 * commit; commit; after the commit, the tasks that ended are counted and, on other brokers, the
 * ready steps announced (state before queue: a send lost to a crash leaves the steps
 * `enqueued`, and the sweep announces them again).
 */
@Injectable()
export class OrchestrationUnitOfWork {
  constructor(
    private readonly store: TaskStore,
    private readonly bus: MessageBus,
    private readonly announcer: StepAnnouncer,
    readonly events: DomainEventPublisher,
    private readonly intake: EventIntake,
    private readonly metrics: TaskerMetrics,
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
  ) {}

  /** What a decision's or batch's outcome may add (TASKER_DECISION_*, TASKER_BATCH_MAX_WORKERS). */
  get limits(): DynamicStepLimits {
    return this.config.dynamicSteps;
  }

  /**
   * Whether a step's messages commit with its `enqueued` state (PGMQ): then no step can be
   * left enqueued without its message, and nothing needs announcing again.
   */
  get sendsWithState(): boolean {
    return this.bus.queuesInDatabase;
  }

  async run<T>(work: (uow: TaskUnitOfWork) => Promise<UnitOfWorkOutcome<T>>): Promise<T> {
    const {
      progress,
      value,
      events = [],
    } = await this.store.unitOfWork(async (uow) => {
      const outcome = await work(uow);
      if (this.sendsWithState) {
        await uow.sendMessages(
          [
            ...outcome.progress.flatMap((p) => {
              const { queue, messages } = stepMessages(announcementOf(p));
              return messages.map((m) => ({ queue, body: JSON.stringify(m) }));
            }),
            ...this.events.messages(outcome.events ?? []),
          ],
          outcome.consumed,
        );
      } else {
        await uow.recordOwedAnnouncements(
          outcome.progress.flatMap(({ task, steps }) =>
            steps.map((s) => ({ taskUuid: task.taskUuid, stepUuid: s.stepUuid })),
          ),
        );
      }
      return outcome;
    });
    for (const { task, ended } of progress) {
      if (ended) this.metrics.taskEnded(task.namespace, task.name, ended);
    }
    if (this.sendsWithState) {
      this.events.sent(events);
    } else {
      await this.announcer.announceAll(progress.map(announcementOf));
      await this.events.publish(events);
    }
    await this.intake.receiveDomainEvents(events);
    return value;
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
