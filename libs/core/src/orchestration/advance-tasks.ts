import { ConflictError } from '../errors/tasker.error.js';
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
 * steps' tasks. Answers, per step, whether it awaited a decision (false: a result seen before).
 */
export async function settleSteps(
  uow: TaskUnitOfWork,
  steps: readonly StepRow[],
): Promise<boolean[]> {
  const decisions = steps.map((step) => decideStepResult(step));
  await uow.moveSteps({
    stepUuids: steps.filter((_, i) => decisions[i]!.kind === 'complete').map((s) => s.stepUuid),
    from: ['enqueued_for_orchestration'],
    to: 'complete',
  });
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
  return decisions.map((decision) => decision.kind !== 'none');
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
): Promise<Evaluation[]> {
  // evaluating_results: an operator reopened the task in this unit of work.
  const evaluable = tasks.filter(
    (task) => task.state === 'evaluating_results' || EVALUABLE_TASK_STATES.includes(task.state),
  );
  for (const task of evaluable) {
    if (task.state !== 'evaluating_results') continue;
    // Results that came while the task had ended were not decided (nothing may change a task
    // that ended): decide them now, or the task waits for them for good.
    await settleSteps(uow, await uow.stepsAwaitingDecision(task.taskUuid));
  }
  const ready = await uow.enqueueReadySteps(evaluable.map((task) => task.taskUuid));
  const moves: TaskMove[] = [];
  const evaluations = new Map<LockedTask, Evaluation>();
  for (const task of evaluable) {
    const { steps, counts } = ready.get(task.taskUuid)!;
    const outcome = decideTaskOutcome(counts, steps.length);
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
