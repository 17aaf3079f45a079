import { Injectable, Logger } from '@nestjs/common';
import { TaskerMetrics } from '#observability';
import type { MessageEnvelope } from '#contracts';
import { GroupCommit, isTerminalTaskState } from '#core';
import type { EnqueuedStep, LockedTask, StepRow } from '#persistence';
import { Database, lockTasksWithSteps, reannounceEnqueuedSteps } from '#persistence';
import { type Announcement, StepAnnouncer } from './step-announcer.service.js';
import { TaskEvaluator } from './task-evaluator.service.js';

/** What to do with the result message: ack it, or dead-letter it (it can never be processed). */
export interface StepResultDisposition {
  deadLetterReason?: string;
}

/** Most results one transaction applies. */
const RESULT_BATCH = 100;

type Result = MessageEnvelope<'step.result.v1'>;

/** A result's fate inside the batch transaction. */
type Applied =
  | { kind: 'unknown' }
  /** Its task has ended: left as recorded (an operator reopening the task decides it then). */
  | { kind: 'done' }
  | { kind: 'evaluated'; task: LockedTask; decided: boolean };

/**
 * Handles step.result messages: decides complete / retry / error for each step from the state
 * in the database (never from the message), evaluates its task, commits, and announces the
 * steps that became ready; the transport acks after that. Safe to run twice for one message.
 *
 * Results are group-committed: those that arrive while a batch is being applied are applied
 * together in the next transaction, which locks their tasks in one statement (uuid order),
 * writes every step decision, evaluates each task once, commits, and announces every ready
 * step with one send per queue. A batch that fails is applied again result by result, so one
 * bad result fails (and is redelivered) alone.
 */
@Injectable()
export class StepResultProcessor {
  private readonly logger = new Logger(StepResultProcessor.name);
  private readonly batches: GroupCommit<Result, StepResultDisposition>;

  constructor(
    private readonly database: Database,
    private readonly evaluator: TaskEvaluator,
    private readonly announcer: StepAnnouncer,
    private readonly metrics: TaskerMetrics,
  ) {
    this.batches = new GroupCommit((results) => this.apply(results), {
      maxBatch: RESULT_BATCH,
      isolateFailures: true,
    });
  }

  handle(envelope: Result): Promise<StepResultDisposition> {
    return this.batches.submit(envelope);
  }

  private async apply(results: readonly Result[]): Promise<StepResultDisposition[]> {
    const { applied, announcements, ended } = await this.database.transaction(async (tx) => {
      const { tasks, steps } = await lockTasksWithSteps(
        tx,
        results.map((r) => ({ taskUuid: r.payload.taskUuid, stepUuid: r.payload.stepUuid })),
      );
      const taskOf = (r: Result) => tasks.get(r.payload.taskUuid.toLowerCase());
      const live = results.flatMap((r, i) => {
        const task = taskOf(r);
        const step = steps[i];
        return task && step && !isTerminalTaskState(task.state) ? [step] : [];
      });
      const decided = new Map<StepRow, boolean>();
      (await this.evaluator.settleSteps(tx, live)).forEach((d, i) => decided.set(live[i]!, d));

      const announcements: Announcement[] = [];
      const ended: { task: LockedTask; state: 'complete' | 'error' }[] = [];
      // Each task with a result once, in lock order, after all of its results are decided.
      for (const task of tasks.values()) {
        const ownSteps = live.filter((s) => s.taskUuid === task.taskUuid);
        if (ownSteps.length === 0) continue;
        const evaluation = await this.evaluator.evaluate(tx, task);
        const ready: EnqueuedStep[] = [...evaluation.steps];
        // A result seen before (redelivery): its first processing may have died after commit
        // but before announcing, so announce whatever is still waiting in `enqueued`.
        if (ownSteps.some((s) => !decided.get(s))) {
          ready.push(...(await reannounceEnqueuedSteps(tx, task.taskUuid)));
        }
        if (evaluation.ended) ended.push({ task, state: evaluation.ended });
        announcements.push({
          taskUuid: task.taskUuid,
          namespace: task.namespace,
          correlationId: task.correlationId,
          traceparent: task.traceparent,
          steps: dedupe(ready),
          causationId: results.find((r) => r.payload.taskUuid.toLowerCase() === task.taskUuid)!.id,
        });
      }
      const applied = results.map((r, i): Applied => {
        const task = taskOf(r);
        const step = steps[i];
        if (!task || !step) return { kind: 'unknown' };
        if (isTerminalTaskState(task.state)) return { kind: 'done' };
        return { kind: 'evaluated', task, decided: decided.get(step) ?? false };
      });
      return { applied, announcements, ended };
    });

    for (const { task, state } of ended) this.metrics.taskEnded(task.namespace, task.name, state);
    await this.announcer.announceAll(announcements);
    return results.map((r, i) => {
      const fate = applied[i]!;
      this.logger.debug(
        `result of attempt ${r.payload.attempt} (${r.payload.outcome}) for step ${r.payload.stepUuid}: ${fate.kind}`,
      );
      return fate.kind === 'unknown'
        ? { deadLetterReason: `no step ${r.payload.stepUuid} in task ${r.payload.taskUuid}` }
        : {};
    });
  }
}

function dedupe<T extends { stepUuid: string }>(steps: T[]): T[] {
  return [...new Map(steps.map((s) => [s.stepUuid, s])).values()];
}
