import { Injectable } from '@nestjs/common';
import {
  type DomainEventRecord,
  type LockedTask,
  PRIORITY_POINT_MS,
  type MessageRow,
  type PlannedSteps,
  type QueuedMessage,
  type StepMove,
  type StepOfTask,
  TaskStore,
  type TaskMove,
  type TaskUnitOfWork,
} from '#core';
import { Database, type Queryable } from './database.js';
import { ProcessIdentity } from './process-identity.js';
import { clearTaskCompletion } from './sql/clear-task-completion.js';
import { recordDomainEvents } from './sql/domain-events.js';
import { admitWaitingSteps, queueReadySteps } from './sql/concurrency.js';
import { enqueueReadyStepsOfTasks } from './sql/enqueue-ready-steps.js';
import { reannounceEnqueuedSteps } from './sql/enqueued-steps.js';
import { lockTask, lockTasksWithSteps } from './sql/lock-task.js';
import { readStep, readStepsAwaitingDecision } from './sql/read-step.js';
import { resetStepAttempts } from './sql/reset-step-attempts.js';
import { scheduleStepRetry } from './sql/schedule-step-retry.js';
import { sendMessagesInTransaction } from './sql/send-messages.js';
import { setStepResult } from './sql/set-step-result.js';
import { recordOwedAnnouncements } from './sql/step-announcements.js';
import {
  insertSteps,
  readStepEventPayloads,
  readStepResults,
  readTaskSteps,
  readTaskTemplate,
  recordStepError,
} from './sql/task-steps.js';
import { transitionSteps } from './sql/transition-steps.js';
import { transitionTasks } from './sql/transition-task.js';

/** The task store on PostgreSQL: a unit of work is a transaction on the hot-path pool. */
@Injectable()
export class PgTaskStore extends TaskStore {
  constructor(
    private readonly database: Database,
    private readonly identity: ProcessIdentity,
  ) {
    super();
  }

  unitOfWork<T>(work: (uow: TaskUnitOfWork) => Promise<T>): Promise<T> {
    return this.database.transaction((tx) =>
      work(new PgTaskUnitOfWork(tx, this.identity.processorUuid)),
    );
  }
}

/** One transaction's view of the store; each call is a statement or two of raw SQL. */
export class PgTaskUnitOfWork implements TaskUnitOfWork {
  /** Steps whose rows this transaction has locked (lockTasksWithSteps). */
  private readonly lockedSteps = new Set<string>();

  constructor(
    private readonly tx: Queryable,
    private readonly processorUuid: string,
  ) {}

  lockTask(taskUuid: string, options?: { skipLocked?: boolean }) {
    return lockTask(this.tx, taskUuid, options);
  }

  async lockTasksWithSteps(pairs: readonly StepOfTask[]) {
    const locked = await lockTasksWithSteps(this.tx, pairs);
    for (const step of locked.steps) if (step) this.lockedSteps.add(step.stepUuid);
    return locked;
  }

  readStep(stepUuid: string) {
    return readStep(this.tx, stepUuid);
  }

  stepsAwaitingDecision(taskUuid: string) {
    return readStepsAwaitingDecision(this.tx, taskUuid);
  }

  taskTemplate(taskUuid: string) {
    return readTaskTemplate(this.tx, taskUuid);
  }

  taskSteps(taskUuid: string) {
    return readTaskSteps(this.tx, taskUuid);
  }

  stepResults(stepUuids: readonly string[]) {
    return readStepResults(this.tx, stepUuids);
  }

  stepEventPayloads(stepUuids: readonly string[]) {
    return readStepEventPayloads(this.tx, stepUuids);
  }

  createSteps(taskUuid: string, planned: PlannedSteps) {
    return insertSteps(this.tx, taskUuid, planned, this.processorUuid);
  }

  recordStepError(stepUuid: string, message: string, errorClass: string) {
    return recordStepError(this.tx, stepUuid, message, errorClass);
  }

  /** Every step of a move whose row this transaction holds needs no lock statement. */
  moveSteps(move: StepMove) {
    return transitionSteps(this.tx, {
      ...move,
      processorUuid: this.processorUuid,
      stepsLocked: move.stepUuids.every((uuid) => this.lockedSteps.has(uuid.toLowerCase())),
    });
  }

  scheduleRetry(stepUuid: string, delayMs: number) {
    return scheduleStepRetry(this.tx, stepUuid, delayMs, this.processorUuid, {
      stepLocked: this.lockedSteps.has(stepUuid.toLowerCase()),
    });
  }

  resetStepAttempts(stepUuid: string) {
    return resetStepAttempts(this.tx, stepUuid);
  }

  setStepResult(stepUuid: string, result: unknown) {
    return setStepResult(this.tx, stepUuid, result);
  }

  /** Tasks under a limit cost one more statement; the others, none. */
  async enqueueReadySteps(tasks: readonly Pick<LockedTask, 'taskUuid' | 'limited'>[]) {
    const limited = tasks.filter((t) => t.limited).map((t) => t.taskUuid);
    const queued =
      limited.length > 0
        ? await queueReadySteps(this.tx, limited, this.processorUuid, PRIORITY_POINT_MS)
        : undefined;
    const ready = await enqueueReadyStepsOfTasks(
      this.tx,
      tasks.map((t) => t.taskUuid),
      this.processorUuid,
      queued?.readyAt ?? null,
    );
    for (const [taskUuid, waiting] of queued?.waiting ?? []) ready.get(taskUuid)!.waiting = waiting;
    return ready;
  }

  admitWaitingSteps(taskUuids: readonly string[]) {
    return admitWaitingSteps(this.tx, taskUuids, this.processorUuid);
  }

  sweepWaitingSteps(dueWithinMs: number) {
    return admitWaitingSteps(this.tx, null, this.processorUuid, dueWithinMs);
  }

  reannounceEnqueuedSteps(taskUuid: string) {
    return reannounceEnqueuedSteps(this.tx, taskUuid);
  }

  moveTasks(moves: readonly TaskMove[]) {
    return transitionTasks(this.tx, moves, this.processorUuid);
  }

  clearTaskCompletion(taskUuid: string) {
    return clearTaskCompletion(this.tx, taskUuid);
  }

  sendMessages(messages: readonly QueuedMessage[], consumed?: readonly MessageRow[]) {
    return sendMessagesInTransaction(this.tx, messages, consumed);
  }

  recordDomainEvents(events: readonly DomainEventRecord[], published: boolean) {
    return recordDomainEvents(this.tx, events, published);
  }

  recordOwedAnnouncements(steps: readonly StepOfTask[]) {
    return recordOwedAnnouncements(this.tx, steps, this.processorUuid);
  }
}
