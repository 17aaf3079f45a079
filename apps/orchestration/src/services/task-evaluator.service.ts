import { Injectable } from '@nestjs/common';
import {
  ConflictError,
  decideStepResult,
  decideTaskOutcome,
  EVALUABLE_TASK_STATES,
  planTaskChain,
} from '#core';
import type { EnqueuedStep, LockedTask, Queryable, StepRow, TaskMove } from '#persistence';
import {
  enqueueReadyStepsOfTasks,
  ProcessIdentity,
  readStepsAwaitingDecision,
  scheduleStepRetry,
  transitionSteps,
  transitionTasks,
} from '#persistence';

/** What an evaluation did: steps to announce once committed, and whether the task ended. */
export interface Evaluation {
  steps: EnqueuedStep[];
  ended: 'complete' | 'error' | null;
}

/**
 * Moves a task on after something changed (a step result, a retry coming due). The caller
 * holds the task's row lock and commits; it then announces the returned steps. The rules are
 * core's (decideStepResult, decideTaskOutcome, planTaskChain); this applies them.
 */
@Injectable()
export class TaskEvaluator {
  constructor(private readonly identity: ProcessIdentity) {}

  /**
   * Decides recorded runs from their steps' rows, never from messages (decideStepResult), and
   * writes the decisions: every completion in one statement. The caller holds the locks of the
   * steps' tasks. Answers, per step, whether it awaited a decision (false: a result seen before).
   */
  async settleSteps(tx: Queryable, steps: readonly StepRow[]): Promise<boolean[]> {
    const processor = this.identity.processorUuid;
    const decisions = steps.map((step) => decideStepResult(step));
    await transitionSteps(tx, {
      stepUuids: steps.filter((_, i) => decisions[i]!.kind === 'complete').map((s) => s.stepUuid),
      from: ['enqueued_for_orchestration'],
      to: 'complete',
      processorUuid: processor,
    });
    for (const [i, decision] of decisions.entries()) {
      const stepUuid = steps[i]!.stepUuid;
      if (decision.kind === 'retry') {
        await scheduleStepRetry(tx, stepUuid, decision.delayMs, processor);
      } else if (decision.kind === 'error') {
        await transitionSteps(tx, {
          stepUuids: [stepUuid],
          from: ['enqueued_as_error_for_orchestration'],
          to: 'error',
          metadata: { reason: decision.reason },
          processorUuid: processor,
        });
      }
    }
    return decisions.map((decision) => decision.kind !== 'none');
  }

  async evaluate(tx: Queryable, task: LockedTask): Promise<Evaluation> {
    const [evaluation] = await this.evaluateAll(tx, [task]);
    return evaluation!;
  }

  /**
   * evaluate for several locked tasks (each once): their ready steps enqueued in one statement
   * and their moves written in one, whatever their number. Answers in the order of `tasks`.
   */
  async evaluateAll(tx: Queryable, tasks: readonly LockedTask[]): Promise<Evaluation[]> {
    const processor = this.identity.processorUuid;
    // evaluating_results: an operator reopened the task in this transaction.
    const evaluable = tasks.filter(
      (task) => task.state === 'evaluating_results' || EVALUABLE_TASK_STATES.includes(task.state),
    );
    for (const task of evaluable) {
      if (task.state !== 'evaluating_results') continue;
      // Results that came while the task had ended were not decided (nothing may change a
      // task that ended): decide them now, or the task waits for them for good.
      await this.settleSteps(tx, await readStepsAwaitingDecision(tx, task.taskUuid));
    }
    const ready = await enqueueReadyStepsOfTasks(
      tx,
      evaluable.map((task) => task.taskUuid),
      processor,
    );
    const moves: TaskMove[] = [];
    const evaluations = new Map<LockedTask, Evaluation>();
    for (const task of evaluable) {
      const { steps, counts } = ready.get(task.taskUuid)!;
      const outcome = decideTaskOutcome(counts, steps.length);
      const chain = planTaskChain(task.state, outcome);
      const last = chain?.[chain.length - 1];
      evaluations.set(task, {
        steps,
        ended: last === 'complete' || last === 'error' ? last : null,
      });
      if (chain)
        moves.push({ taskUuid: task.taskUuid, from: [task.state], chain, metadata: { outcome } });
    }
    const moved = await transitionTasks(tx, moves, processor);
    moved.forEach((done, i) => {
      // The caller's lock guarantees the state it read is current; if not, roll back loudly
      // (the message is retried) rather than leave the task waiting for nothing.
      if (!done) {
        const task = tasks.find((t) => t.taskUuid === moves[i]!.taskUuid)!;
        throw new ConflictError(`task ${task.taskUuid} is no longer ${task.state}`);
      }
    });
    return tasks.map((task) => evaluations.get(task) ?? { steps: [], ended: null });
  }
}
