import { ConflictError } from '../errors/tasker.error.js';
import {
  AWAITING_DECISION_STEP_STATES,
  canTransitionStep,
  type StepState,
} from '../states/step-state.js';
import { isTerminalTaskState, type TaskState } from '../states/task-state.js';

/** What an operator can do to a step (PATCH /v1/tasks/:task/steps/:step). */
export const STEP_ACTIONS = ['reset_for_retry', 'resolve_manually', 'complete_manually'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

const TARGET: Record<StepAction, StepState> = {
  reset_for_retry: 'pending',
  resolve_manually: 'resolved_manually',
  complete_manually: 'complete',
};

/**
 * The state an operator action moves a step to, given its task's and its own state as read
 * under the task's and the step's locks; a ConflictError when the action does not apply. A
 * task that ended in error can still be acted on (the action reopens it); any other end cannot.
 * Only a step in error can be reset; resolving or completing takes anything not already
 * finished well, except a run recorded while its task runs: orchestration is deciding it.
 */
export function planStepAction(
  taskUuid: string,
  taskState: TaskState,
  stepState: StepState,
  action: StepAction,
): StepState {
  if (taskState !== 'error' && isTerminalTaskState(taskState)) {
    throw new ConflictError(
      `task ${taskUuid} ended as ${taskState}; its steps can no longer change`,
      {
        status: taskState,
      },
    );
  }
  if (taskState !== 'error' && AWAITING_DECISION_STEP_STATES.includes(stepState)) {
    throw new ConflictError(
      `${action} does not apply to a step in ${stepState}: its recorded run is being decided`,
      { state: stepState },
    );
  }
  const target = TARGET[action];
  const allowed =
    action === 'reset_for_retry'
      ? stepState === 'error'
      : stepState !== target && canTransitionStep(stepState, target);
  if (!allowed) {
    throw new ConflictError(`${action} does not apply to a step in ${stepState}`, {
      state: stepState,
    });
  }
  return target;
}
