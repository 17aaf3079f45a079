import { Injectable } from '@nestjs/common';
import type { TaskState } from '#core';
import {
  computeBackoffMs,
  ConflictError,
  decideTaskOutcome,
  EVALUABLE_TASK_STATES,
  isRetryEligible,
} from '#core';
import type { EnqueuedStep, LockedTask, Queryable, StepRow } from '#persistence';
import {
  enqueueReadySteps,
  ProcessIdentity,
  readStepsAwaitingDecision,
  scheduleStepRetry,
  transitionSteps,
  transitionTask,
} from '#persistence';

/** What an evaluation did: steps to announce once committed, and whether the task ended. */
export interface Evaluation {
  steps: EnqueuedStep[];
  ended: 'complete' | 'error' | null;
}

/**
 * Moves a task on after something changed (a step result, a retry coming due). The caller
 * holds the task's row lock and commits; it then announces the returned steps.
 */
@Injectable()
export class TaskEvaluator {
  constructor(private readonly identity: ProcessIdentity) {}

  /**
   * Decides a recorded run from the step's row, never from a message: a success completes the
   * step; a failure waits for a retry, or errors the step when no retry is left. Returns false
   * when the step awaited no decision (a result seen before).
   */
  async settleStep(tx: Queryable, step: StepRow): Promise<boolean> {
    const processor = this.identity.processorUuid;
    if (step.state === 'enqueued_for_orchestration') {
      await transitionSteps(tx, {
        stepUuids: [step.stepUuid],
        from: ['enqueued_for_orchestration'],
        to: 'complete',
        processorUuid: processor,
      });
      return true;
    }
    if (step.state !== 'enqueued_as_error_for_orchestration') return false;
    const failure = step.lastError;
    const retry = isRetryEligible({
      retryable: step.retryable,
      attempts: step.attempts,
      maxAttempts: step.maxAttempts,
      permanentFailure: failure?.permanent ?? false,
    });
    if (retry) {
      const delayMs = computeBackoffMs(step.retryPolicy, step.attempts, {
        hintMs: failure?.backoffHintMs ?? null,
      });
      await scheduleStepRetry(tx, step.stepUuid, delayMs, processor);
    } else {
      await transitionSteps(tx, {
        stepUuids: [step.stepUuid],
        from: ['enqueued_as_error_for_orchestration'],
        to: 'error',
        metadata: { reason: failure?.permanent ? 'permanent_failure' : 'attempts_exhausted' },
        processorUuid: processor,
      });
    }
    return true;
  }

  async evaluate(tx: Queryable, task: LockedTask): Promise<Evaluation> {
    // evaluating_results: an operator reopened the task in this transaction.
    const reopened = task.state === 'evaluating_results';
    if (!reopened && !EVALUABLE_TASK_STATES.includes(task.state)) return { steps: [], ended: null };
    if (reopened) {
      // Results that came while the task had ended were not decided (nothing may change a
      // task that ended): decide them now, or the task waits for them for good.
      for (const step of await readStepsAwaitingDecision(tx, task.taskUuid)) {
        await this.settleStep(tx, step);
      }
    }
    const processor = this.identity.processorUuid;
    const { steps: enqueued, counts } = await enqueueReadySteps(tx, task.taskUuid, processor);
    const outcome = decideTaskOutcome(counts, enqueued.length);
    let chain: TaskState[];
    switch (outcome) {
      case 'enqueue_ready':
        chain = ['evaluating_results', 'enqueuing_steps', 'steps_in_process'];
        break;
      case 'complete':
        chain = ['evaluating_results', 'complete'];
        break;
      case 'blocked_by_failures':
        chain = ['evaluating_results', 'blocked_by_failures', 'error'];
        break;
      case 'wait_for_dependencies':
        chain = ['evaluating_results', 'waiting_for_dependencies'];
        break;
      case 'wait_for_retry':
        chain = ['evaluating_results', 'waiting_for_retry'];
        break;
    }
    if (reopened) chain = chain.slice(1);
    // Re-recording the state a waiting task is already in would only add noise to its history.
    else if (chain.length === 2 && chain[1] === task.state) return { steps: enqueued, ended: null };
    const moved = await transitionTask(
      tx,
      task.taskUuid,
      [task.state],
      chain,
      { outcome },
      processor,
    );
    if (!moved) {
      // The caller's lock guarantees the state it read is current; if not, roll back loudly
      // (the message is retried) rather than leave the task waiting for nothing.
      throw new ConflictError(`task ${task.taskUuid} is no longer ${task.state}`);
    }
    const last = chain[chain.length - 1];
    return {
      steps: enqueued,
      ended: last === 'complete' || last === 'error' ? last : null,
    };
  }
}
