import { ConflictError } from '../errors/tasker.error.js';
import { planStepAction } from './step-action.js';

describe('planStepAction', () => {
  const task = '0190a0a0-0000-7000-8000-000000000001';

  it('moves a step to the action’s state', () => {
    expect(planStepAction(task, 'error', 'error', 'reset_for_retry')).toBe('pending');
    expect(planStepAction(task, 'blocked_by_failures', 'error', 'resolve_manually')).toBe(
      'resolved_manually',
    );
    expect(planStepAction(task, 'steps_in_process', 'in_progress', 'complete_manually')).toBe(
      'complete',
    );
    expect(planStepAction(task, 'steps_in_process', 'pending', 'resolve_manually')).toBe(
      'resolved_manually',
    );
  });

  it('refuses every action on a task that ended other than in error', () => {
    for (const ended of ['complete', 'cancelled', 'resolved_manually'] as const) {
      expect(() => planStepAction(task, ended, 'error', 'reset_for_retry')).toThrow(
        new ConflictError(`task ${task} ended as ${ended}; its steps can no longer change`),
      );
    }
  });

  it('resets only a step in error, and never re-applies the state a step is in', () => {
    expect(() =>
      planStepAction(task, 'steps_in_process', 'in_progress', 'reset_for_retry'),
    ).toThrow(/reset_for_retry does not apply to a step in in_progress/);
    expect(() => planStepAction(task, 'steps_in_process', 'complete', 'complete_manually')).toThrow(
      /complete_manually does not apply to a step in complete/,
    );
    expect(() =>
      planStepAction(task, 'steps_in_process', 'resolved_manually', 'resolve_manually'),
    ).toThrow(ConflictError);
    expect(() =>
      planStepAction(task, 'steps_in_process', 'cancelled', 'complete_manually'),
    ).toThrow(ConflictError);
  });

  it('leaves a recorded run to orchestration while its task runs, not once the task erred', () => {
    for (const recorded of [
      'enqueued_for_orchestration',
      'enqueued_as_error_for_orchestration',
    ] as const) {
      expect(() => planStepAction(task, 'steps_in_process', recorded, 'complete_manually')).toThrow(
        new ConflictError(
          `complete_manually does not apply to a step in ${recorded}: its recorded run is being decided`,
        ),
      );
      expect(planStepAction(task, 'error', recorded, 'resolve_manually')).toBe('resolved_manually');
    }
  });
});
