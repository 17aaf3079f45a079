import { canTransitionStep, stepStatesLeadingTo, STEP_STATES } from './step-state.js';
import { canTransitionTask, TASK_STATES, TERMINAL_TASK_STATES } from './task-state.js';

describe('task state machine', () => {
  it('allows the happy path in order', () => {
    const path = [
      'pending',
      'initializing',
      'enqueuing_steps',
      'steps_in_process',
      'evaluating_results',
      'complete',
    ] as const;
    for (let i = 1; i < path.length; i++)
      expect(canTransitionTask(path[i - 1]!, path[i]!)).toBe(true);
  });

  it('reaches error through blocked_by_failures, or from a waiting state when it went stale', () => {
    expect(canTransitionTask('evaluating_results', 'error')).toBe(false);
    expect(canTransitionTask('evaluating_results', 'blocked_by_failures')).toBe(true);
    expect(canTransitionTask('blocked_by_failures', 'error')).toBe(true);
    for (const stuck of [
      'steps_in_process',
      'waiting_for_dependencies',
      'waiting_for_retry',
    ] as const) {
      expect(canTransitionTask(stuck, 'error')).toBe(true);
    }
  });

  it('cancels anything not finished and nothing finished', () => {
    for (const state of TASK_STATES) {
      expect(canTransitionTask(state, 'cancelled')).toBe(!TERMINAL_TASK_STATES.includes(state));
    }
  });

  it('never leaves a terminal state, except an errored task an operator reopens', () => {
    for (const from of TERMINAL_TASK_STATES) {
      for (const to of TASK_STATES) {
        expect(canTransitionTask(from, to)).toBe(from === 'error' && to === 'evaluating_results');
      }
    }
  });

  it('rejects skipping initialization', () => {
    expect(canTransitionTask('pending', 'steps_in_process')).toBe(false);
  });
});

describe('step state machine', () => {
  it('claims only from enqueued', () => {
    expect(stepStatesLeadingTo('in_progress')).toEqual(['enqueued']);
  });

  it('lets only orchestration-bound states become complete normally, plus manual completion', () => {
    expect(canTransitionStep('enqueued_for_orchestration', 'complete')).toBe(true);
    expect(canTransitionStep('error', 'complete')).toBe(true);
    expect(canTransitionStep('complete', 'complete')).toBe(false);
    expect(canTransitionStep('cancelled', 'complete')).toBe(false);
  });

  it('retries through waiting_for_retry back to pending', () => {
    expect(canTransitionStep('enqueued_as_error_for_orchestration', 'waiting_for_retry')).toBe(
      true,
    );
    expect(canTransitionStep('waiting_for_retry', 'pending')).toBe(true);
    expect(canTransitionStep('waiting_for_retry', 'enqueued')).toBe(false);
    expect(canTransitionStep('in_progress', 'waiting_for_retry')).toBe(false);
  });

  it('resets an errored step for another run, but nothing else terminal', () => {
    expect(canTransitionStep('error', 'pending')).toBe(true);
    expect(canTransitionStep('complete', 'pending')).toBe(false);
    expect(canTransitionStep('cancelled', 'pending')).toBe(false);
  });

  it('cancels every unfinished state', () => {
    const cancellable = STEP_STATES.filter((s) => canTransitionStep(s, 'cancelled'));
    expect(cancellable.sort()).toEqual(
      [
        'enqueued',
        'enqueued_as_error_for_orchestration',
        'enqueued_for_orchestration',
        'in_progress',
        'pending',
        'waiting_for_retry',
      ].sort(),
    );
  });
});
