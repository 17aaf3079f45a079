import type { StepFailure } from '../handlers/step-handler.js';
import { computeBackoffMs, isRetryEligible } from '../retry/backoff.js';
import type { StepState } from '../states/step-state.js';
import type { RetryPolicy } from '../templates/task-template.js';

/** What orchestration knows of a step when a result of it comes in (from the database). */
export interface StepAwaitingDecision {
  state: StepState;
  attempts: number;
  maxAttempts: number;
  retryable: boolean;
  retryPolicy: RetryPolicy;
  lastError: StepFailure | null;
}

/** What to do with a recorded run. */
export type StepResultDecision =
  | { kind: 'complete' }
  | { kind: 'retry'; delayMs: number }
  | { kind: 'error'; reason: 'permanent_failure' | 'attempts_exhausted' }
  /** The step awaited no decision: the result was seen before (a redelivery). */
  | { kind: 'none' };

/**
 * Decides a recorded run from the step's row, never from a message: a success completes the
 * step; a failure waits for a retry while one is left (and the failure was not permanent),
 * with the backoff of the step's policy or the handler's hint; else it errors the step.
 */
export function decideStepResult(step: StepAwaitingDecision): StepResultDecision {
  if (step.state === 'enqueued_for_orchestration') return { kind: 'complete' };
  if (step.state !== 'enqueued_as_error_for_orchestration') return { kind: 'none' };
  const failure = step.lastError;
  const retry = isRetryEligible({
    retryable: step.retryable,
    attempts: step.attempts,
    maxAttempts: step.maxAttempts,
    permanentFailure: failure?.permanent ?? false,
  });
  if (!retry) {
    return {
      kind: 'error',
      reason: failure?.permanent ? 'permanent_failure' : 'attempts_exhausted',
    };
  }
  return {
    kind: 'retry',
    delayMs: computeBackoffMs(step.retryPolicy, step.attempts, {
      hintMs: failure?.backoffHintMs ?? null,
    }),
  };
}
