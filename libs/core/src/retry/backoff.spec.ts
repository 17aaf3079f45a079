import { computeBackoffMs, isRetryEligible } from './backoff.js';

const policy = {
  backoff: 'exponential' as const,
  backoffBaseMs: 500,
  maxBackoffMs: 30000,
  jitter: 0,
};

describe('computeBackoffMs', () => {
  it('doubles from the base with each attempt', () => {
    expect([1, 2, 3, 4].map((a) => computeBackoffMs(policy, a))).toEqual([500, 1000, 2000, 4000]);
  });

  it('caps at maxBackoffMs', () => {
    expect(computeBackoffMs(policy, 20)).toBe(30000);
  });

  it('keeps a fixed policy fixed', () => {
    expect(computeBackoffMs({ ...policy, backoff: 'fixed' }, 5)).toBe(500);
  });

  it('grows linearly, by Fibonacci numbers, or not at all, as Tasker Core templates ask', () => {
    const at = (backoff: 'linear' | 'fibonacci' | 'none', attempts: number[]) =>
      attempts.map((a) => computeBackoffMs({ ...policy, backoff }, a));
    expect(at('linear', [1, 2, 3, 4])).toEqual([500, 1000, 1500, 2000]);
    expect(at('fibonacci', [1, 2, 3, 4, 5, 6])).toEqual([500, 500, 1000, 1500, 2500, 4000]);
    expect(at('fibonacci', [40, 5000])).toEqual([30000, 30000]);
    expect(at('none', [1, 7])).toEqual([0, 0]);
    expect(computeBackoffMs({ ...policy, backoff: 'none' }, 1, { hintMs: 900 })).toBe(900);
  });

  it('spreads by at most ±jitter and never past the cap', () => {
    const jittered = { ...policy, jitter: 0.2 };
    expect(computeBackoffMs(jittered, 3, { random: () => 0 })).toBe(1600);
    expect(computeBackoffMs(jittered, 3, { random: () => 1 })).toBe(2400);
    expect(computeBackoffMs(jittered, 20, { random: () => 1 })).toBe(30000);
  });

  it("honours a handler's hint, capped", () => {
    expect(computeBackoffMs(policy, 1, { hintMs: 7000 })).toBe(7000);
    expect(computeBackoffMs(policy, 1, { hintMs: 10 ** 9 })).toBe(30000);
    expect(computeBackoffMs(policy, 2, { hintMs: null })).toBe(1000);
  });
});

describe('isRetryEligible', () => {
  it('counts the first run in maxAttempts', () => {
    expect(isRetryEligible({ retryable: true, attempts: 2, maxAttempts: 3 })).toBe(true);
    expect(isRetryEligible({ retryable: true, attempts: 3, maxAttempts: 3 })).toBe(false);
  });

  it('never retries a permanent failure or a non-retryable step', () => {
    expect(
      isRetryEligible({ retryable: true, attempts: 1, maxAttempts: 5, permanentFailure: true }),
    ).toBe(false);
    expect(isRetryEligible({ retryable: false, attempts: 1, maxAttempts: 5 })).toBe(false);
  });
});
