import { Injectable } from '@nestjs/common';
import {
  canTransitionStep,
  ConflictError,
  type StepDetailView,
  StepNotFoundError,
  type StepState,
  TaskNotFoundError,
  ValidationError,
} from '#core';
import {
  clearTaskCompletion,
  Database,
  lockTaskWithStep,
  ProcessIdentity,
  readStep,
  resetStepAttempts,
  setStepResult,
  TaskQueryRepository,
  transitionSteps,
  transitionTask,
} from '#persistence';
import { TaskEvaluator } from './task-evaluator.service.js';
import { TaskProgressPublisher } from './task-progress.publisher.js';

export const STEP_ACTIONS = ['reset_for_retry', 'resolve_manually', 'complete_manually'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

export interface StepOperation {
  action: StepAction;
  /** Who acted, recorded in the transition. */
  operator: string;
  reason: string;
  /** complete_manually: the result downstream steps receive. */
  result?: unknown;
}

const TARGET: Record<StepAction, StepState> = {
  reset_for_retry: 'pending',
  resolve_manually: 'resolved_manually',
  complete_manually: 'complete',
};

/**
 * PATCH /v1/tasks/:task/steps/:step: an operator resets, resolves or completes a step. The
 * change, who made it and why go into the step's transition; the task is then evaluated in the
 * same transaction (an errored task is reopened), so its next steps go out after the commit.
 * An action whose compare-and-swap loses to a worker answers 409 and writes nothing.
 */
@Injectable()
export class StepOperationsService {
  constructor(
    private readonly database: Database,
    private readonly identity: ProcessIdentity,
    private readonly evaluator: TaskEvaluator,
    private readonly publisher: TaskProgressPublisher,
    private readonly tasks: TaskQueryRepository,
  ) {}

  async apply(taskUuid: string, stepUuid: string, op: StepOperation): Promise<StepDetailView> {
    if (op.action === 'complete_manually' && op.result === undefined) {
      throw new ValidationError('result is required for complete_manually', { field: 'result' });
    }
    if (op.action !== 'complete_manually' && op.result !== undefined) {
      throw new ValidationError(
        `result is only accepted with complete_manually, not ${op.action}`,
        {
          field: 'result',
        },
      );
    }
    const processor = this.identity.processorUuid;
    const done = await this.database.transaction(async (tx) => {
      const { task, step } = await lockTaskWithStep(tx, taskUuid, stepUuid);
      if (!task) throw new TaskNotFoundError(taskUuid);
      if (!step) throw new StepNotFoundError(taskUuid, stepUuid);
      if (
        task.state !== 'error' &&
        ['complete', 'cancelled', 'resolved_manually'].includes(task.state)
      ) {
        throw new ConflictError(
          `task ${taskUuid} ended as ${task.state}; its steps can no longer change`,
          {
            status: task.state,
          },
        );
      }
      const allowed =
        op.action === 'reset_for_retry'
          ? step.state === 'error'
          : step.state !== TARGET[op.action] && canTransitionStep(step.state, TARGET[op.action]);
      if (!allowed) {
        throw new ConflictError(`${op.action} does not apply to a step in ${step.state}`, {
          state: step.state,
        });
      }

      // Workers move steps without the task lock: the state read above may be stale by now.
      // The compare-and-swap decides, before anything else is written.
      const metadata = { action: op.action, operator: op.operator, reason: op.reason };
      const moved = await transitionSteps(tx, {
        stepUuids: [stepUuid],
        from: [step.state],
        to: TARGET[op.action],
        metadata,
        processorUuid: processor,
      });
      if (moved.length === 0) {
        const current = (await readStep(tx, stepUuid))?.state;
        throw new ConflictError(
          `step ${stepUuid} moved from ${step.state} to ${current} meanwhile; ${op.action} was not applied`,
          { state: current },
        );
      }
      if (op.action === 'reset_for_retry') await resetStepAttempts(tx, stepUuid);
      if (op.action === 'complete_manually') await setStepResult(tx, stepUuid, op.result);

      let current = task;
      if (task.state === 'error') {
        await transitionTask(tx, taskUuid, ['error'], ['evaluating_results'], metadata, processor);
        await clearTaskCompletion(tx, taskUuid);
        current = { ...task, state: 'evaluating_results' };
      }
      const progress = { task, ...(await this.evaluator.evaluate(tx, current)) };
      await this.publisher.inTransaction(tx, [progress]);
      return progress;
    });
    await this.publisher.afterCommit([done]);
    return this.tasks.step(taskUuid, stepUuid);
  }
}
