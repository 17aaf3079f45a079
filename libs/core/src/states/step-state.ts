/** Workflow step lifecycle (ARCHITECTURE §3). Only orchestration decides complete/retry/error. */
export const STEP_STATES = [
  'pending',
  'enqueued',
  'in_progress',
  'enqueued_for_orchestration',
  'enqueued_as_error_for_orchestration',
  'waiting_for_retry',
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
] as const;
export type StepState = (typeof STEP_STATES)[number];

export const TERMINAL_STEP_STATES: readonly StepState[] = [
  'complete',
  'error',
  'cancelled',
  'resolved_manually',
];

/** A step in one of these states is being worked on somewhere: the task is not finished. */
export const IN_FLIGHT_STEP_STATES: readonly StepState[] = [
  'enqueued',
  'in_progress',
  'enqueued_for_orchestration',
  'enqueued_as_error_for_orchestration',
];

/** A run was recorded here; orchestration decides complete, retry or error. */
export const AWAITING_DECISION_STEP_STATES: readonly StepState[] = [
  'enqueued_for_orchestration',
  'enqueued_as_error_for_orchestration',
];

/**
 * A ready step is enqueued from these: never run yet (or reset), or back from a retry wait
 * (through `pending`). Readiness also needs a retry left (isRetryEligible), its retry time come,
 * and every parent in SATISFIED_STEP_STATES (tasker.ready_steps, pinned to these in a test).
 */
export const ENQUEUEABLE_STEP_STATES: readonly StepState[] = ['pending', 'waiting_for_retry'];

/** Parents in these states let their children run. */
export const SATISFIED_STEP_STATES: readonly StepState[] = ['complete', 'resolved_manually'];

const STEP_TRANSITIONS: Record<StepState, readonly StepState[]> = {
  pending: ['enqueued'],
  // error from enqueued, in_progress and waiting_for_retry: the task ended in error (see
  // stepsEndedWithTask), so the run is stopped.
  enqueued: ['in_progress', 'error'],
  // Back to enqueued: a stopping worker releases a run it could not finish.
  in_progress: [
    'enqueued_for_orchestration',
    'enqueued_as_error_for_orchestration',
    'enqueued',
    'error',
  ],
  // error: a decision's outcome that cannot be applied fails the step.
  enqueued_for_orchestration: ['complete', 'error'],
  enqueued_as_error_for_orchestration: ['waiting_for_retry', 'error'],
  waiting_for_retry: ['pending', 'error'],
  complete: [],
  // Operator reset for another run.
  error: ['pending'],
  cancelled: [],
  resolved_manually: [],
};

export function isTerminalStepState(state: StepState): boolean {
  return TERMINAL_STEP_STATES.includes(state);
}

export function canTransitionStep(from: StepState, to: StepState): boolean {
  if (to === 'cancelled') return !isTerminalStepState(from);
  // Operator actions: manual resolution/completion of anything not already finished well.
  if (to === 'resolved_manually' || (to === 'complete' && from !== 'enqueued_for_orchestration')) {
    return from === 'error' || !isTerminalStepState(from);
  }
  return STEP_TRANSITIONS[from].includes(to);
}

/** Every state that may legally move to `to`, for compare-and-swap updates in SQL. */
export function stepStatesLeadingTo(to: StepState): StepState[] {
  return STEP_STATES.filter((from) => canTransitionStep(from, to));
}

/** Steps that run, or will run without anything else happening: queued, running, retrying. */
export const RUNNING_STEP_STATES: readonly StepState[] = [
  'enqueued',
  'in_progress',
  'waiting_for_retry',
];
