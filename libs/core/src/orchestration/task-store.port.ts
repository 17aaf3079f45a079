import type { DomainEvent } from '#contracts';
import type { MessageRow } from '../ports/message-bus.port.js';
import type { StepAwaitingDecision } from '../readiness/step-decision.js';
import type { StepStateCounts } from '../readiness/task-outcome.js';
import type { StepState } from '../states/step-state.js';
import type { TaskState } from '../states/task-state.js';
import type { StepKind, TaskTemplate } from '../templates/task-template.js';
import type { PlannedSteps } from '../templates/workflow-graph.js';

/** A task as a unit of work holds it: locked until the commit, its state read after the lock. */
export interface LockedTask {
  taskUuid: string;
  state: TaskState;
  namespace: string;
  /** The template's name. */
  name: string;
  correlationId: string;
  traceparent: string | null;
  /** The task is under a concurrency or rate limit (tasks.slots): its ready steps may wait. */
  limited: boolean;
}

/** A step as a unit of work reads it, after its task's lock: what decides its result. */
export interface StepRow extends StepAwaitingDecision {
  stepUuid: string;
  taskUuid: string;
  stepName: string;
  kind: StepKind;
  /** Milliseconds until the current run's timeout passes (negative once it has). */
  msUntilTimeout: number | null;
}

/** A step moved to `enqueued`: one message announces it. */
export interface EnqueuedStep {
  stepUuid: string;
  stepName: string;
}

/** What enqueuing a task's ready steps did. */
export interface ReadySteps {
  /** The steps moved to `enqueued`: one message each. */
  steps: EnqueuedStep[];
  /** How many of the task's steps are in each state after the move. */
  counts: StepStateCounts;
  /** Ready steps left `pending` to wait for a slot of their limit (tasks under a limit only). */
  waiting?: number;
}

/** What admitting waiting steps did (TaskUnitOfWork.admitWaitingSteps). */
export interface Admission {
  /** Steps that got a slot and moved to `enqueued`, with their tasks: one message each. */
  admitted: { task: LockedTask; steps: EnqueuedStep[] }[];
  /** Tasks a cancel strategy turned away or evicted: to cancel, with the limit that did. */
  cancel: { taskUuid: string; limit: string }[];
  /** The earliest time a rate limit lets a waiting step start, if one holds any back. */
  wakeAt: Date | null;
  /** How many steps each limit started. */
  startedByLimit: Map<string, number>;
}

/** One task's move: from one of `from`, through every state of `chain`. */
export interface TaskMove {
  taskUuid: string;
  from: readonly TaskState[];
  chain: readonly TaskState[];
  metadata?: Record<string, unknown>;
}

/** A step moved by a compare-and-swap: only from one of `from`. */
export interface StepMove {
  stepUuids: readonly string[];
  to: StepState;
  /** Current states allowed to move; defaults to every state the state machine allows. */
  from?: readonly StepState[];
  metadata?: Record<string, unknown>;
}

/** A message to put on a queue in the unit of work's transaction (brokers in the database). */
export interface QueuedMessage {
  queue: string;
  /** The message, serialized. */
  body: string;
}

/** A result to apply: a step, and the task it says it belongs to. */
export interface StepOfTask {
  taskUuid: string;
  stepUuid: string;
}

/**
 * The store as one orchestration unit of work sees it: every call runs in the same
 * transaction, which holds every lock taken until it commits. Writers lock in one order
 * (task → step → transition); a unit of work locks its tasks first (lockTask, or
 * lockTasksWithSteps for a batch, in uuid order). Moves are compare-and-swaps: a move whose
 * `from` no longer holds writes nothing and says so. Writes are recorded with the unit of
 * work's processor.
 */
export interface TaskUnitOfWork {
  /** Locks the task (null: none, or held elsewhere with skipLocked) and reads it after the lock. */
  lockTask(taskUuid: string, options?: { skipLocked?: boolean }): Promise<LockedTask | null>;
  /**
   * Locks every distinct task of `pairs` (uuid order), then reads each step after the locks,
   * only if it belongs to its task. `steps` answers in the order of `pairs` (null: no such step
   * in that task).
   */
  lockTasksWithSteps(
    pairs: readonly StepOfTask[],
  ): Promise<{ tasks: Map<string, LockedTask>; steps: (StepRow | null)[] }>;
  /** A step's current row (after the locks this unit of work holds), or null. */
  readStep(stepUuid: string): Promise<StepRow | null>;
  /** The task's steps whose run was recorded and awaits a decision. */
  stepsAwaitingDecision(taskUuid: string): Promise<StepRow[]>;
  /** The template the task was created from, as registered now. */
  taskTemplate(taskUuid: string): Promise<TaskTemplate>;
  /**
   * The task's steps by name: current state, and the template step each was made from (its
   * own name, but for batch workers).
   */
  taskSteps(
    taskUuid: string,
  ): Promise<Map<string, { stepUuid: string; state: StepState; template: string }>>;
  /** The results the steps' handlers returned (answered by step uuid; absent: none). */
  stepResults(stepUuids: readonly string[]): Promise<Map<string, unknown>>;
  /** The event payloads handlers chose for these steps' success (withEventPayloads), by step. */
  stepEventPayloads(stepUuids: readonly string[]): Promise<Map<string, Record<string, unknown>>>;
  /**
   * Adds steps to the task (`pending`, with the template's settings) and their edges; an
   * edge's parent may be one of the new steps or one the task has.
   */
  createSteps(taskUuid: string, planned: PlannedSteps): Promise<void>;
  /** Records why orchestration failed the step, as its last error. */
  recordStepError(stepUuid: string, message: string, errorClass: string): Promise<void>;
  /** Answers the steps that moved. */
  moveSteps(move: StepMove): Promise<string[]>;
  /** enqueued_as_error_for_orchestration → waiting_for_retry, due in `delayMs`. */
  scheduleRetry(stepUuid: string, delayMs: number): Promise<boolean>;
  /** An operator reset: the step's attempts start again from zero. */
  resetStepAttempts(stepUuid: string): Promise<void>;
  /** An operator completion: the result the step's dependents receive. */
  setStepResult(stepUuid: string, result: unknown): Promise<void>;
  /**
   * Moves every ready step of the tasks to `enqueued` and counts each task's steps by state
   * after the move (answered by task uuid). Ready steps of tasks under a limit (`limited`) are
   * left `pending` to wait for a slot instead (back from a retry wait: through `pending`), and
   * counted in `waiting`; admitWaitingSteps starts them.
   */
  enqueueReadySteps(
    tasks: readonly Pick<LockedTask, 'taskUuid' | 'limited'>[],
  ): Promise<Map<string, ReadySteps>>;
  /**
   * Gives free slots to waiting steps, for every limit key of these tasks: atomic per key
   * across replicas (its row lock). Runs after the unit's moves, so slots its steps and tasks
   * gave up are free.
   */
  admitWaitingSteps(taskUuids: readonly string[]): Promise<Admission>;
  /**
   * The sweep's admission: at the keys where room may have opened unseen, and those whose rate
   * wait ends within `dueWithinMs` (the sweep's period; the answer says when to wake).
   */
  sweepWaitingSteps(dueWithinMs: number): Promise<Admission>;
  /** The task's steps still `enqueued`, stamped as announced again. */
  reannounceEnqueuedSteps(taskUuid: string): Promise<EnqueuedStep[]>;
  /**
   * Moves the tasks (answers in the order of `moves`; null: did not move). A move into a
   * terminal state also ends the task's unfinished steps (`endedSteps`).
   */
  moveTasks(moves: readonly TaskMove[]): Promise<({ endedSteps: string[] } | null)[]>;
  /** A reopened task is no longer complete: its completion time goes. */
  clearTaskCompletion(taskUuid: string): Promise<void>;
  /**
   * Puts messages on their queues, and deletes the `consumed` messages that caused this work
   * from theirs, in this transaction and one statement (only for brokers in the database).
   */
  sendMessages(messages: readonly QueuedMessage[], consumed?: readonly MessageRow[]): Promise<void>;
  /**
   * Records that these steps' messages are owed by this process, to be sent after the commit
   * (brokers outside the database): the announcements outbox, cleared as the broker confirms.
   */
  recordOwedAnnouncements(steps: readonly StepOfTask[]): Promise<void>;
  /**
   * Records durable domain events, once per step outcome (an event already recorded for its
   * step, attempt and name is skipped); `published` when this transaction also sends them.
   * Answers the ids recorded now: the events to send.
   */
  recordDomainEvents(
    events: readonly DomainEventRecord[],
    published: boolean,
  ): Promise<Set<string>>;
}

/** A domain event to record: the envelope, and the run and delivery it belongs to. */
export interface DomainEventRecord {
  event: DomainEvent;
  attempt: number;
  delivery: 'durable' | 'broadcast';
  /** Some template triggers on it: handed to them after the commit (else recorded as handled). */
  triggers: boolean;
}

/** Opens units of work: `work` runs in one transaction, committed when it resolves. */
export abstract class TaskStore {
  abstract unitOfWork<T>(work: (uow: TaskUnitOfWork) => Promise<T>): Promise<T>;
}
