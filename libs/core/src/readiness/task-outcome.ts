import type { StepState } from '../states/step-state.js';
import type { TaskState } from '../states/task-state.js';
import { IN_FLIGHT_STEP_STATES, SATISFIED_STEP_STATES } from '../states/step-state.js';

export type StepStateCounts = Partial<Record<StepState, number>>;

/** What evaluating a task decides, given its steps' states and how many are ready to run. */
export type TaskOutcome =
  'enqueue_ready' | 'wait_for_dependencies' | 'wait_for_retry' | 'complete' | 'blocked_by_failures';

const count = (counts: StepStateCounts, states: readonly StepState[]) =>
  states.reduce((sum, state) => sum + (counts[state] ?? 0), 0);

/**
 * The readiness rules of ARCHITECTURE §3, in priority order: run what can run; a task is
 * complete only when every step is satisfied; while anything is in flight or waiting for a
 * retry the task waits; only when nothing can move any more do failures block it. So an error
 * in one branch lets independent branches finish before the task ends in `error`.
 */
export function decideTaskOutcome(
  counts: StepStateCounts,
  readyCount: number,
  waitingForSlot = 0,
): TaskOutcome {
  const total = Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0);
  if (readyCount > 0) return 'enqueue_ready';
  if (total > 0 && count(counts, SATISFIED_STEP_STATES) === total) return 'complete';
  // A ready step waiting for a slot of its limit will run: the task waits, as for a parent.
  if (count(counts, IN_FLIGHT_STEP_STATES) > 0 || waitingForSlot > 0)
    return 'wait_for_dependencies';
  if ((counts.waiting_for_retry ?? 0) > 0) return 'wait_for_retry';
  return 'blocked_by_failures';
}

/**
 * The states a task evaluated in `current` goes through for `outcome`, starting with
 * evaluating_results (left out when the task is already there: an operator reopened it), or
 * null when there is nothing to record: a waiting task that still waits for the same thing
 * (re-recording it would only add noise to its history).
 */
export function planTaskChain(current: TaskState, outcome: TaskOutcome): TaskState[] | null {
  const chain: TaskState[] = ['evaluating_results', ...CHAIN_AFTER_EVALUATION[outcome]];
  if (current === 'evaluating_results') return chain.slice(1);
  if (chain.length === 2 && chain[1] === current) return null;
  return chain;
}

const CHAIN_AFTER_EVALUATION: Record<TaskOutcome, TaskState[]> = {
  enqueue_ready: ['enqueuing_steps', 'steps_in_process'],
  complete: ['complete'],
  blocked_by_failures: ['blocked_by_failures', 'error'],
  wait_for_dependencies: ['waiting_for_dependencies'],
  wait_for_retry: ['waiting_for_retry'],
};
