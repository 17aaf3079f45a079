import type { RetryPolicy } from '../templates/task-template.js';

/**
 * Delay before the next run of a step that failed its `attempt`-th run (1-based).
 * Exponential: base * 2^(attempt-1), capped, then spread by ±jitter so failing steps of many
 * tasks do not retry in lockstep. A handler's hint (e.g. Retry-After) wins over the policy but
 * is still capped, so a bad hint cannot park a step for days.
 */
export function computeBackoffMs(
  policy: Pick<RetryPolicy, 'backoff' | 'backoffBaseMs' | 'maxBackoffMs' | 'jitter'>,
  attempt: number,
  options: { hintMs?: number | null; random?: () => number } = {},
): number {
  const { hintMs, random = Math.random } = options;
  if (hintMs !== undefined && hintMs !== null && Number.isFinite(hintMs) && hintMs >= 0) {
    return Math.min(Math.round(hintMs), policy.maxBackoffMs);
  }
  const exponent = Math.max(0, attempt - 1);
  const raw =
    policy.backoff === 'fixed' ? policy.backoffBaseMs : policy.backoffBaseMs * 2 ** exponent;
  const capped = Math.min(raw, policy.maxBackoffMs);
  const spread = capped * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxBackoffMs, Math.round(capped + spread)));
}

/**
 * Retry eligibility after a failed run. `attempts` counts runs already started (a claim is an
 * attempt, so a crash consumes budget); `maxAttempts` counts the first run.
 */
export function isRetryEligible(step: {
  retryable: boolean;
  attempts: number;
  maxAttempts: number;
  permanentFailure?: boolean;
}): boolean {
  if (step.permanentFailure) return false;
  if (step.attempts === 0) return true;
  return step.retryable && step.attempts < step.maxAttempts;
}
