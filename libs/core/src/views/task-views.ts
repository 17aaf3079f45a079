import type { StepState } from '../states/step-state.js';
import type { StepKind } from '../templates/task-template.js';
import type { TaskState } from '../states/task-state.js';

/** Read models returned by repositories and served by the HTTP API (ARCHITECTURE §7). */
export interface StepView {
  stepUuid: string;
  name: string;
  handler: string;
  kind: StepKind;
  /** The template step it was made from: its own name, but for a batch worker. */
  template: string;
  /**
   * A decision's branches or a batchable step's workers, as its outcome created them (empty
   * until then); null for other kinds.
   */
  createdSteps: string[] | null;
  state: StepState;
  attempts: number;
  maxAttempts: number;
  retryable: boolean;
  lastAttemptedAt: string | null;
  nextRetryAt: string | null;
  dependsOn: string[];
  result: unknown;
  error: Record<string, unknown> | null;
}

/** One entry of a transition log. */
export interface TransitionView {
  fromState: string | null;
  toState: string;
  /** Why: an outcome, an error, or an operator's action, name and reason. */
  metadata: Record<string, unknown>;
  processorUuid: string | null;
  createdAt: string;
}

export interface StepDetailView extends StepView {
  taskUuid: string;
  /** Oldest first. */
  transitions: TransitionView[];
}

export interface TaskSummaryView {
  taskUuid: string;
  namespace: string;
  name: string;
  version: string;
  status: TaskState;
  priority: number;
  correlationId: string;
  tags: string[];
  requestedAt: string;
  completedAt: string | null;
}

export interface TaskView extends TaskSummaryView {
  context: Record<string, unknown>;
  initiator: string | null;
  sourceSystem: string | null;
  reason: string | null;
  /** The schedule and fire time that created the task, if a schedule did. */
  schedule: { scheduleUuid: string; fireAt: string } | null;
  stepCounts: Partial<Record<StepState, number>>;
  totalSteps: number;
  /** Share of steps complete or resolved manually, 0..100. */
  completionPercentage: number;
  steps: StepView[];
}

export interface TaskPage {
  items: TaskSummaryView[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** The reply to a submission: the task is created and its root steps are enqueued. */
export interface SubmittedTask {
  taskUuid: string;
  namespace: string;
  name: string;
  version: string;
  status: 'steps_in_process';
  correlationId: string;
  /** The trace every message of this task carries. */
  traceparent: string;
  stepCount: number;
  enqueuedSteps: string[];
}

/** The reply to a cancellation. */
export interface CancelledTask {
  taskUuid: string;
  status: 'cancelled';
  cancelledSteps: number;
}

/** One step transition of a task, without its metadata: a point on the task's timeline. */
export interface StepTransitionView {
  stepUuid: string;
  fromState: string | null;
  toState: string;
  createdAt: string;
}

/** A registered template as the templates list shows it. */
export interface TemplateSummaryView {
  namespace: string;
  name: string;
  version: string;
  description: string | null;
  identityStrategy: 'strict' | 'caller_provided' | 'always_unique';
  steps: { name: string; handler: string; dependsOn: string[] }[];
}

/** Lists that are not paged: every item in one reply. */
export interface ItemList<T> {
  items: T[];
}
