import { decideTaskOutcome, planTaskChain } from './task-outcome.js';

describe('decideTaskOutcome', () => {
  it('enqueues when any step is ready, even with failures elsewhere', () => {
    expect(decideTaskOutcome({ pending: 1, error: 1 }, 1)).toBe('enqueue_ready');
  });

  it('completes only when every step is complete or resolved manually', () => {
    expect(decideTaskOutcome({ complete: 3, resolved_manually: 1 }, 0)).toBe('complete');
    expect(decideTaskOutcome({ complete: 3, pending: 1 }, 0)).not.toBe('complete');
  });

  it('waits while steps are in flight, before looking at failures', () => {
    expect(decideTaskOutcome({ in_progress: 1, error: 1, pending: 1 }, 0)).toBe(
      'wait_for_dependencies',
    );
    expect(decideTaskOutcome({ enqueued_as_error_for_orchestration: 1 }, 0)).toBe(
      'wait_for_dependencies',
    );
  });

  it('waits for a retry whose time has not come', () => {
    expect(decideTaskOutcome({ waiting_for_retry: 1, complete: 1 }, 0)).toBe('wait_for_retry');
  });

  it('waits while a ready step waits for a slot of its limit, whatever else failed', () => {
    expect(decideTaskOutcome({ pending: 1, error: 1 }, 0, 1)).toBe('wait_for_dependencies');
    expect(decideTaskOutcome({ pending: 1, error: 1 }, 0, 0)).toBe('blocked_by_failures');
  });

  it('is blocked when nothing can move and a step failed', () => {
    expect(decideTaskOutcome({ error: 1, pending: 2, complete: 1 }, 0)).toBe('blocked_by_failures');
  });

  it('treats a task without steps as blocked, never as complete', () => {
    expect(decideTaskOutcome({}, 0)).toBe('blocked_by_failures');
  });
});

describe('planTaskChain', () => {
  it('records the evaluation, then where the outcome leads', () => {
    expect(planTaskChain('steps_in_process', 'enqueue_ready')).toEqual([
      'evaluating_results',
      'enqueuing_steps',
      'steps_in_process',
    ]);
    expect(planTaskChain('steps_in_process', 'complete')).toEqual([
      'evaluating_results',
      'complete',
    ]);
    expect(planTaskChain('waiting_for_retry', 'blocked_by_failures')).toEqual([
      'evaluating_results',
      'blocked_by_failures',
      'error',
    ]);
  });

  it('records nothing for a waiting task that still waits for the same thing', () => {
    expect(planTaskChain('waiting_for_retry', 'wait_for_retry')).toBeNull();
    expect(planTaskChain('waiting_for_dependencies', 'wait_for_dependencies')).toBeNull();
    expect(planTaskChain('steps_in_process', 'wait_for_dependencies')).toEqual([
      'evaluating_results',
      'waiting_for_dependencies',
    ]);
  });

  it('starts after evaluating_results for a task an operator reopened there', () => {
    expect(planTaskChain('evaluating_results', 'wait_for_retry')).toEqual(['waiting_for_retry']);
    expect(planTaskChain('evaluating_results', 'complete')).toEqual(['complete']);
  });
});
