import { Injectable, Logger } from '@nestjs/common';
import { TaskerMetrics } from '#observability';
import type { MessageEnvelope } from '#contracts';
import { isTerminalTaskState } from '#core';
import { Database, lockTaskWithStep, reannounceEnqueuedSteps } from '#persistence';
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
    private readonly metrics: TaskerMetrics,
  ) {}

  async handle(envelope: MessageEnvelope<'step.result.v1'>): Promise<StepResultDisposition> {
    const { taskUuid, stepUuid } = envelope.payload;

    const outcome = await this.database.transaction(async (tx) => {
      const { task, step } = await lockTaskWithStep(tx, taskUuid, stepUuid);
      if (!task || !step) return { kind: 'unknown' as const };
      // Left as recorded: an operator reopening the task has it decided then.
      if (isTerminalTaskState(task.state)) return { kind: 'done' as const };

      const decided = await this.evaluator.settleStep(tx, step);
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
