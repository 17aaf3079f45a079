import { ConflictError } from '../errors/tasker.error.js';
import type { StepSettlement } from '../events/domain-events.js';
import { type DynamicStepLimits, type OutcomePlan, planOutcomes } from './step-outcomes.js';
import { decideStepResult } from '../readiness/step-decision.js';
import { decideTaskOutcome, planTaskChain } from '../readiness/task-outcome.js';
import { EVALUABLE_TASK_STATES } from '../states/task-state.js';
import type {
  EnqueuedStep,
  LockedTask,
  StepRow,
  TaskMove,
  TaskUnitOfWork,
} from './task-store.port.js';

/** What moving a task on did: steps to announce once committed, and whether the task ended. */
export interface Evaluation {
  steps: EnqueuedStep[];
  ended: 'complete' | 'error' | null;
}

/**
 * Decides recorded runs from their steps' rows, never from messages (decideStepResult), and
 * writes the decisions: every completion in one move. The unit of work holds the locks of the
 * steps' tasks. A decision or batchable step that completes applies its outcome in the same
 * unit of work: the branches it names or the batch workers it asks for, and what follows them,
 * are added to its task (planOutcomes); an outcome that cannot be applied fails the step, with
 * the reason as its error. Answers, per step, what it settled: `complete`, `retry` or
 * `error`, or `none` when the step awaited no decision (a result seen before).
 */
export async function settleSteps(
  uow: TaskUnitOfWork,
  steps: readonly StepRow[],
  limits: DynamicStepLimits,
): Promise<StepSettlement[]> {
  const decisions = steps.map((step) => decideStepResult(step));
  const made = steps.filter(
    (s, i) =>
      (s.kind === 'decision' || s.kind === 'batchable') && decisions[i]!.kind === 'complete',
  );
  const plans = await planMadeOutcomes(uow, made, limits);
  const failed = new Map([...plans.values()].flatMap(({ failed }) => [...failed]));
  await uow.moveSteps({
    stepUuids: steps
      .filter((s, i) => decisions[i]!.kind === 'complete' && !failed.has(s.stepUuid))
      .map((s) => s.stepUuid),
    from: ['enqueued_for_orchestration'],
    to: 'complete',
  });
  for (const [stepUuid, problem] of failed) {
    await uow.moveSteps({
      stepUuids: [stepUuid],
      from: ['enqueued_for_orchestration'],
      to: 'error',
      metadata: { reason: 'invalid_outcome', message: problem },
    });
    await uow.recordStepError(stepUuid, problem, 'InvalidOutcome');
  }
  for (const [taskUuid, { plan }] of plans) {
    if (plan.steps.length > 0) await uow.createSteps(taskUuid, plan);
  }
  for (const [i, decision] of decisions.entries()) {
    const stepUuid = steps[i]!.stepUuid;
    if (decision.kind === 'retry') {
      await uow.scheduleRetry(stepUuid, decision.delayMs);
    } else if (decision.kind === 'error') {
      await uow.moveSteps({
        stepUuids: [stepUuid],
        from: ['enqueued_as_error_for_orchestration'],
        to: 'error',
        metadata: { reason: decision.reason },
      });
    }
  }
  return decisions.map((decision, i): StepSettlement => {
    if (failed.has(steps[i]!.stepUuid)) return 'error';
    return decision.kind;
  });
}

/** Plans the outcomes of completed decision and batchable steps, task by task. */
async function planMadeOutcomes(
  uow: TaskUnitOfWork,
  made: readonly StepRow[],
  limits: DynamicStepLimits,
): Promise<Map<string, OutcomePlan>> {
  const plans = new Map<string, OutcomePlan>();
  if (made.length === 0) return plans;
  const results = await uow.stepResults(made.map((s) => s.stepUuid));
  for (const taskUuid of new Set(made.map((s) => s.taskUuid))) {
    const outcomes = made
      .filter((s) => s.taskUuid === taskUuid)
      .map((s) => ({
        stepUuid: s.stepUuid,
        stepName: s.stepName,
        kind: s.kind as 'decision' | 'batchable',
        result: results.get(s.stepUuid),
      }));
    plans.set(taskUuid, await planOutcomes(uow, taskUuid, outcomes, limits));
  }
  return plans;
}

/**
 * Moves locked tasks on after something changed (step results, a retry coming due, an operator
 * action), each once: their ready steps enqueued in one call and their moves (decideTaskOutcome,
 * planTaskChain) written in one, whatever their number. Answers in the order of `tasks`; a task
 * that cannot be evaluated (it ended) answers no steps and no end.
 */
export async function evaluateTasks(
  uow: TaskUnitOfWork,
  tasks: readonly LockedTask[],
  limits: DynamicStepLimits,
): Promise<Evaluation[]> {
  // evaluating_results: an operator reopened the task in this unit of work.
  const evaluable = tasks.filter(
    (task) => task.state === 'evaluating_results' || EVALUABLE_TASK_STATES.includes(task.state),
  );
  for (const task of evaluable) {
    if (task.state !== 'evaluating_results') continue;
    // Results that came while the task had ended were not decided (nothing may change a task
    // that ended): decide them now, or the task waits for them for good.
    await settleSteps(uow, await uow.stepsAwaitingDecision(task.taskUuid), limits);
  }
  const ready = await uow.enqueueReadySteps(evaluable);
  const moves: TaskMove[] = [];
  const evaluations = new Map<LockedTask, Evaluation>();
  for (const task of evaluable) {
    const { steps, counts, waiting = 0 } = ready.get(task.taskUuid)!;
    const outcome = decideTaskOutcome(counts, steps.length, waiting);
    const chain = planTaskChain(task.state, outcome);
    const last = chain?.[chain.length - 1];
    evaluations.set(task, { steps, ended: last === 'complete' || last === 'error' ? last : null });
    if (chain)
      moves.push({ taskUuid: task.taskUuid, from: [task.state], chain, metadata: { outcome } });
  }
  const moved = await uow.moveTasks(moves);
  moved.forEach((done, i) => {
    // The lock guarantees the state read is current; if not, roll back loudly (the cause is
    // retried) rather than leave the task waiting for nothing.
    if (!done) {
      const task = tasks.find((t) => t.taskUuid === moves[i]!.taskUuid)!;
      throw new ConflictError(`task ${task.taskUuid} is no longer ${task.state}`);
    }
  });
  return tasks.map((task) => evaluations.get(task) ?? { steps: [], ended: null });
}
