import { Injectable, Logger } from '@nestjs/common';
import { TaskerMetrics } from '#observability';
import type { MessageEnvelope } from '#contracts';
import { computeBackoffMs, isRetryEligible, isTerminalTaskState } from '#core';
import {
  Database,
  lockTaskWithStep,
  reannounceEnqueuedSteps,
  scheduleStepRetry,
  transitionSteps,
  ProcessIdentity,
} from '#persistence';
import { StepAnnouncer } from './step-announcer.service.js';
import { TaskEvaluator } from './task-evaluator.service.js';

/** What to do with the result message: ack it, or dead-letter it (it can never be processed). */
export interface StepResultDisposition {
  deadLetterReason?: string;
}

/**
 * Handles step.result messages: decides complete / retry / error for the step from the state
 * in the database (never from the message), evaluates the task, commits and announces the
 * steps that became ready; the transport acks after that. Safe to run twice for one message.
 */
@Injectable()
export class StepResultProcessor {
  private readonly logger = new Logger(StepResultProcessor.name);
  constructor(
    private readonly database: Database,
    private readonly evaluator: TaskEvaluator,
    private readonly announcer: StepAnnouncer,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
  ) {}

  async handle(envelope: MessageEnvelope<'step.result.v1'>): Promise<StepResultDisposition> {
    const { taskUuid, stepUuid } = envelope.payload;
    const processor = this.identity.processorUuid;

    const outcome = await this.database.transaction(async (tx) => {
      const { task, step } = await lockTaskWithStep(tx, taskUuid, stepUuid);
      if (!task || !step) return { kind: 'unknown' as const };
      if (isTerminalTaskState(task.state)) return { kind: 'done' as const };

      let decided = true;
      if (step.state === 'enqueued_for_orchestration') {
        await transitionSteps(tx, {
          stepUuids: [stepUuid],
          from: ['enqueued_for_orchestration'],
          to: 'complete',
          processorUuid: processor,
        });
      } else if (step.state === 'enqueued_as_error_for_orchestration') {
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
          await scheduleStepRetry(tx, stepUuid, delayMs, processor);
        } else {
          await transitionSteps(tx, {
            stepUuids: [stepUuid],
            from: ['enqueued_as_error_for_orchestration'],
            to: 'error',
            metadata: { reason: failure?.permanent ? 'permanent_failure' : 'attempts_exhausted' },
            processorUuid: processor,
          });
        }
      } else {
        decided = false;
      }
      const { steps, ended } = await this.evaluator.evaluate(tx, task);
      // A result seen before (redelivery): its first processing may have died after commit
      // but before announcing, so announce whatever is still waiting in `enqueued`.
      if (!decided) steps.push(...(await reannounceEnqueuedSteps(tx, taskUuid)));
      return { kind: 'evaluated' as const, task, ended, steps: dedupe(steps) };
    });

    if (outcome.kind === 'unknown') {
      return { deadLetterReason: `no step ${stepUuid} in task ${taskUuid}` };
    }
    this.logger.debug(
      `result of attempt ${envelope.payload.attempt} (${envelope.payload.outcome}): ${outcome.kind}`,
    );
    if (outcome.kind === 'evaluated') {
      if (outcome.ended) {
        this.metrics.taskEnded(outcome.task.namespace, outcome.task.name, outcome.ended);
      }
      await this.announcer.announce({
        taskUuid,
        namespace: outcome.task.namespace,
        correlationId: outcome.task.correlationId,
        traceparent: outcome.task.traceparent,
        steps: outcome.steps,
        causationId: envelope.id,
      });
    }
    return {};
  }
}

function dedupe<T extends { stepUuid: string }>(steps: T[]): T[] {
  return [...new Map(steps.map((s) => [s.stepUuid, s])).values()];
}
