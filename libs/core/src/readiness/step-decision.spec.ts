import { DEFAULT_RETRY_POLICY } from '../templates/task-template.js';
import { decideStepResult, type StepAwaitingDecision } from './step-decision.js';

const failure = (overrides: { permanent?: boolean; backoffHintMs?: number | null } = {}) => ({
  message: 'boom',
  errorClass: 'Error',
  permanent: overrides.permanent ?? false,
  backoffHintMs: overrides.backoffHintMs ?? null,
  timedOut: false,
});

const step = (overrides: Partial<StepAwaitingDecision>): StepAwaitingDecision => ({
  state: 'enqueued_as_error_for_orchestration',
  attempts: 1,
  maxAttempts: 3,
  retryable: true,
  retryPolicy: { ...DEFAULT_RETRY_POLICY, backoffBaseMs: 100, maxBackoffMs: 10000 },
  lastError: failure(),
  ...overrides,
});

describe('decideStepResult', () => {
  it('completes a step whose run succeeded', () => {
    expect(
      decideStepResult(step({ state: 'enqueued_for_orchestration', lastError: null })),
    ).toEqual({
      kind: 'complete',
    });
  });

  it('retries a failure while attempts are left, after the backoff or the handler hint', () => {
    expect(decideStepResult(step({}))).toEqual({ kind: 'retry', delayMs: expect.any(Number) });
    expect(decideStepResult(step({ lastError: failure({ backoffHintMs: 4200 }) }))).toEqual({
      kind: 'retry',
      delayMs: 4200,
    });
  });

  it('errors a step whose attempts are used up, or whose failure is permanent', () => {
    expect(decideStepResult(step({ attempts: 3 }))).toEqual({
      kind: 'error',
      reason: 'attempts_exhausted',
    });
    expect(decideStepResult(step({ retryable: false }))).toEqual({
      kind: 'error',
      reason: 'attempts_exhausted',
    });
    expect(decideStepResult(step({ lastError: failure({ permanent: true }) }))).toEqual({
      kind: 'error',
      reason: 'permanent_failure',
    });
  });

  it('decides nothing for a step that awaits no decision (a result seen before)', () => {
    for (const state of ['complete', 'waiting_for_retry', 'in_progress', 'error'] as const) {
      expect(decideStepResult(step({ state }))).toEqual({ kind: 'none' });
    }
  });
});
