import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { orchestrationConfig } from '#config';
import type { DomainEvent } from '#contracts';
import {
  type Admission,
  type DynamicStepLimits,
  errorMessage,
  isTerminalTaskState,
  type EnqueuedStep,
  type LockedTask,
  MessageBus,
  type MessageRow,
  TaskStore,
  type TaskUnitOfWork,
} from '#core';
import { TaskerMetrics } from '#observability';
import { DomainEventPublisher } from './domain-event-publisher.service.js';
import { AdmissionRequests } from './admission-requests.js';
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
 * ready steps announced (state before queue: the commit recorded them as owed, so a send lost
 * to a crash is made by another replica, see StepAnnouncer). The unit does not wait for the
 * broker to confirm them, only for the sends of the unit before (StepAnnouncer.announceBehind):
 * the step results' units run one at a time, and on RabbitMQ the wait for a batch's
 * confirmation was a fifth of each unit that started steps.
 */
@Injectable()
export class OrchestrationUnitOfWork implements OnApplicationShutdown {
  private readonly logger = new Logger(OrchestrationUnitOfWork.name);
  /** The next admission a rate limit asked for, and when. */
  private wake: { timer: NodeJS.Timeout; at: number } | null = null;
  private stopped = false;

  constructor(
    private readonly store: TaskStore,
    private readonly bus: MessageBus,
    private readonly announcer: StepAnnouncer,
    readonly events: DomainEventPublisher,
    private readonly intake: EventIntake,
    private readonly metrics: TaskerMetrics,
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
    admissions: AdmissionRequests,
  ) {
    admissions.serve((taskUuids) => this.admit(taskUuids));
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake.timer);
  }

  /**
   * Admits the waiting steps of these tasks' limit keys (`all`: the sweep's keys, see
   * TaskUnitOfWork.sweepWaitingSteps) in a unit of work of its own, short so that the keys'
   * locks are held briefly, and announces them; then cancels what a cancel strategy turned
   * away and keeps a timer for a rate limit's wait.
   */
  async admit(taskUuids: readonly string[] | 'all'): Promise<void> {
    let admission: Admission | null = null;
    await this.commit(async (uow) => {
      const admitted =
        taskUuids === 'all'
          ? await uow.sweepWaitingSteps(this.config.sweepIntervalMs)
          : await uow.admitWaitingSteps(taskUuids);
      admission = admitted;
      return {
        progress: admitted.admitted.map(({ task, steps }) => ({ task, steps, ended: null })),
        value: undefined,
      };
    });
    if (admission) await this.followUp(admission);
  }

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

  /**
   * Runs the work as one unit (commit). If it moved tasks under a limit, the unit also admits
   * waiting steps of their keys, after its moves (so the slots it freed count) and before its
   * messages are sent, so the steps it starts go out with its commit. Measured against admitting
   * in a unit of its own after the commit: that took a key's lock for less time but added a
   * commit to every slot's hand-over, and made a lone key's steps wait longer.
   */
  async run<T>(work: (uow: TaskUnitOfWork) => Promise<UnitOfWorkOutcome<T>>): Promise<T> {
    let admission: Admission | null = null;
    const { value } = await this.commit(async (uow) => {
      const outcome = await work(uow);
      const limited = [
        ...new Set(outcome.progress.filter((p) => p.task.limited).map((p) => p.task.taskUuid)),
      ];
      if (limited.length === 0) return outcome;
      const admitted = await uow.admitWaitingSteps(limited);
      admission = admitted;
      return {
        ...outcome,
        progress: [
          ...outcome.progress,
          ...admitted.admitted.map(({ task, steps }) => ({ task, steps, ended: null })),
        ],
      };
    });
    if (admission) await this.followUp(admission);
    return value;
  }

  private async commit<T>(
    work: (uow: TaskUnitOfWork) => Promise<UnitOfWorkOutcome<T>>,
  ): Promise<UnitOfWorkOutcome<T>> {
    const outcome = await this.store.unitOfWork(async (uow) => {
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
    const { progress, events = [] } = outcome;
    for (const { task, ended } of progress) {
      if (ended) this.metrics.taskEnded(task.namespace, task.name, ended);
    }
    if (this.sendsWithState) {
      this.events.sent(events);
    } else {
      await this.announcer.announceBehind(progress.map(announcementOf));
      await this.events.publish(events);
    }
    await this.intake.receiveDomainEvents(events);
    return outcome;
  }

  /**
   * After an admission's commit: cancels the tasks a cancel strategy turned away or evicted
   * (each in a unit of work of its own), admits for their keys again, and keeps a timer
   * for the earliest start a rate limit held back. Admission recorded each cancellation with
   * its decision (tasker.concurrency_cancellations): until it is carried out the task is turned
   * away again, and after a crash before this the sweep answers it (migration 0030), as it
   * starts a held-back step.
   */
  private async followUp(admission: Admission): Promise<void> {
    for (const [limit, steps] of admission.startedByLimit) {
      this.metrics.limitAdmittedSteps(limit, steps);
    }
    const cancelled: string[] = [];
    for (const { taskUuid, limit } of admission.cancel) {
      // commit, not run: this may run inside AdmissionRequests' flush, which must not wait for
      // a request of its own; the admission for the cancelled tasks' keys follows below.
      const { value: ended } = await this.commit(async (uow) => {
        const task = await uow.lockTask(taskUuid);
        if (!task || isTerminalTaskState(task.state)) return { progress: [], value: null };
        const [moved] = await uow.moveTasks([
          {
            taskUuid,
            from: [task.state],
            chain: ['cancelled'],
            metadata: { reason: `concurrency limit ${limit}` },
          },
        ]);
        return { progress: [], value: moved ? task : null };
      });
      if (ended) {
        cancelled.push(taskUuid);
        this.metrics.taskEnded(ended.namespace, ended.name, 'cancelled');
        this.metrics.limitCancelled(limit);
      }
    }
    if (cancelled.length > 0) await this.admit(cancelled);
    if (admission.wakeAt) this.wakeAt(admission.wakeAt.getTime());
  }

  private wakeAt(at: number): void {
    if (this.stopped || (this.wake && this.wake.at <= at)) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(
      () => {
        this.wake = null;
        this.admit('all').catch((err: unknown) =>
          this.logger.warn(`admitting rate-limited steps failed: ${errorMessage(err)}`),
        );
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.wake = { timer, at };
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
