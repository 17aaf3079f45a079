import { Injectable } from '@nestjs/common';
import {
  ConflictError,
  evaluateTasks,
  noOutcome,
  planOutcomes,
  planStepAction,
  type StepAction,
  type StepDetailView,
  StepNotFoundError,
  TaskNotFoundError,
  ValidationError,
} from '#core';
import { TaskQueryRepository } from '#persistence';
import { OrchestrationUnitOfWork } from './orchestration-unit-of-work.js';

export interface StepOperation {
  action: StepAction;
  /** Who acted, recorded in the transition. */
  operator: string;
  reason: string;
  /** complete_manually: the result downstream steps receive. */
  result?: unknown;
}

/**
 * PATCH /v1/tasks/:task/steps/:step: an operator resets, resolves or completes a step. The
 * change, who made it and why go into the step's transition; the task is then evaluated in the
 * same transaction (an errored task is reopened), so its next steps go out after the commit.
 * An action whose compare-and-swap loses to a worker answers 409 and writes nothing. Completing
 * or resolving a decision or batchable step applies an outcome, as its handler's would.
 */
@Injectable()
export class StepOperationsService {
  constructor(
    private readonly work: OrchestrationUnitOfWork,
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
    await this.work.run(async (uow) => {
      const { task, step } = await uow
        .lockTasksWithSteps([{ taskUuid, stepUuid }])
        .then(({ tasks, steps }) => ({ task: tasks.get(taskUuid.toLowerCase()), step: steps[0] }));
      if (!task) throw new TaskNotFoundError(taskUuid);
      if (!step) throw new StepNotFoundError(taskUuid, stepUuid);
      const target = planStepAction(taskUuid, task.state, step.state, op.action);

      // Workers move steps without the task lock: the state read above may be stale by now.
      // The compare-and-swap decides, before anything else is written.
      const metadata = { action: op.action, operator: op.operator, reason: op.reason };
      const moved = await uow.moveSteps({
        stepUuids: [stepUuid],
        from: [step.state],
        to: target,
        metadata,
      });
      if (moved.length === 0) {
        const current = (await uow.readStep(stepUuid))?.state;
        throw new ConflictError(
          `step ${stepUuid} moved from ${step.state} to ${current} meanwhile; ${op.action} was not applied`,
          { state: current },
        );
      }
      if (op.action === 'reset_for_retry') await uow.resetStepAttempts(stepUuid);
      if (op.action === 'complete_manually') await uow.setStepResult(stepUuid, op.result);
      if (
        (step.kind === 'decision' || step.kind === 'batchable') &&
        op.action !== 'reset_for_retry'
      ) {
        // The operator decides in the handler's place: a completion's result is the outcome
        // (checked like a handler's), a resolution takes no branch and makes no batch.
        const result = op.action === 'complete_manually' ? op.result : noOutcome(step.kind);
        const { plan, failed } = await planOutcomes(
          uow,
          task.taskUuid,
          [{ stepUuid, stepName: step.stepName, kind: step.kind, result }],
          this.work.limits,
        );
        const problem = failed.get(stepUuid);
        if (problem) throw new ValidationError(problem, { field: 'result' });
        if (plan.steps.length > 0) await uow.createSteps(task.taskUuid, plan);
      }

      let current = task;
      if (task.state === 'error') {
        await uow.moveTasks([
          { taskUuid: task.taskUuid, from: ['error'], chain: ['evaluating_results'], metadata },
        ]);
        await uow.clearTaskCompletion(task.taskUuid);
        current = { ...task, state: 'evaluating_results' };
      }
      const [evaluation] = await evaluateTasks(uow, [current], this.work.limits);
      return { progress: [{ task, ...evaluation! }], value: undefined };
    });
    return this.tasks.step(taskUuid, stepUuid);
  }
}
