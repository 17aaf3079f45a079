import type { RetryPolicy } from '../templates/task-template.js';

/**
 * Delay before the next run of a step that failed its `attempt`-th run (1-based), by the
 * policy's kind: exponential base × 2^(attempt-1), linear base × attempt, fibonacci
 * base × fib(attempt) (1, 1, 2, 3, 5, …), fixed the base, none no delay at all. Capped, then
 * spread by ±jitter so failing steps of many tasks do not retry in lockstep. A handler's hint (e.g. Retry-After) wins over the policy but
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
  if (policy.backoff === 'none') return 0;
  const n = Math.max(1, attempt);
  const raw = policy.backoffBaseMs * growth(policy.backoff, n);
  const capped = Math.min(raw, policy.maxBackoffMs);
  const spread = capped * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxBackoffMs, Math.round(capped + spread)));
}

/** How many bases the `n`-th delay is (n >= 1); past the cap the exact figure does not matter. */
function growth(kind: Exclude<RetryPolicy['backoff'], 'none'>, n: number): number {
  switch (kind) {
    case 'fixed':
      return 1;
    case 'linear':
      return n;
    case 'exponential':
      return 2 ** Math.min(n - 1, 1023);
    case 'fibonacci': {
      let [a, b] = [1, 1];
      for (let i = 2; i < Math.min(n, 1476); i++) [a, b] = [b, a + b];
      return n <= 2 ? 1 : b;
    }
  }
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
