import {
  RUNNING_STEP_STATES,
  type StepState,
  STEP_STATES,
  isTerminalStepState,
} from './step-state.js';

/** Task lifecycle (ARCHITECTURE §3). Strings are stored as-is in task_transitions.to_state. */
export const TASK_STATES = [
  'pending',
  'initializing',
  'enqueuing_steps',
  'steps_in_process',
  'evaluating_results',
  'waiting_for_dependencies',
  'waiting_for_retry',
  'blocked_by_failures',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TERMINAL_TASK_STATES: readonly TaskState[] = [
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
];

const TASK_TRANSITIONS: Record<TaskState, readonly TaskState[]> = {
  pending: ['initializing'],
  initializing: ['enqueuing_steps', 'error'],
  enqueuing_steps: ['steps_in_process', 'error'],
  // error from the waiting states: staleness detection gives up on a stuck task.
  steps_in_process: ['evaluating_results', 'error'],
  evaluating_results: [
    'enqueuing_steps',
    'waiting_for_dependencies',
    'waiting_for_retry',
    'complete',
    'blocked_by_failures',
    'resolved_manually',
  ],
  waiting_for_dependencies: ['evaluating_results', 'error'],
  waiting_for_retry: ['evaluating_results', 'error'],
  blocked_by_failures: ['error', 'resolved_manually', 'evaluating_results'],
  complete: [],
  // An operator reset, resolved or completed a failed step: the task is evaluated again.
  error: ['evaluating_results'],
  cancelled: [],
  resolved_manually: [],
};

export function isTerminalTaskState(state: TaskState): boolean {
  return TERMINAL_TASK_STATES.includes(state);
}

export function canTransitionTask(from: TaskState, to: TaskState): boolean {
  // Cancellation is allowed from any state that has not ended.
  if (to === 'cancelled') return !isTerminalTaskState(from);
  return TASK_TRANSITIONS[from].includes(to);
}

/** States a task may be in when results or a sweep ask for a new evaluation. */
export const EVALUABLE_TASK_STATES: readonly TaskState[] = [
  'steps_in_process',
  'waiting_for_dependencies',
  'waiting_for_retry',
];

/**
 * What a task's end does to its unfinished steps, so nothing runs on for a task that ended.
 * Cancellation cancels every one. Any other end (error: staleness, or failures) stops the steps
 * that would still run, as `error`, which an operator can reset, resolve or complete; steps that
 * never started stay `pending` and results awaiting orchestration stay as they are, for a
 * reopening to run and settle. Null when the state does not end the task.
 */
export function stepsEndedWithTask(
  state: TaskState,
): { from: readonly StepState[]; to: StepState } | null {
  if (!isTerminalTaskState(state)) return null;
  if (state === 'cancelled') {
    return { from: STEP_STATES.filter((s) => !isTerminalStepState(s)), to: 'cancelled' };
  }
  return { from: RUNNING_STEP_STATES, to: 'error' };
}
