import { Injectable, Logger } from '@nestjs/common';
import type { MessageEnvelope } from '#contracts';
import {
  type EnqueuedStep,
  evaluateTasks,
  GroupCommit,
  isTerminalTaskState,
  type MessageRow,
  settleSteps,
  type StepRow,
} from '#core';
import { OrchestrationUnitOfWork, type TaskProgress } from './orchestration-unit-of-work.js';

/**
 * What to do with the result message: ack it, dead-letter it (it can never be processed), or
 * nothing (`consumed`: deleted in the transaction that applied it).
 */
export interface StepResultDisposition {
  deadLetterReason?: string;
  consumed?: boolean;
}

/** Most results one transaction applies; the transport's prefetch (TASKER_BATCH_SIZE) is lower. */
const RESULT_BATCH = 1000;

type Result = MessageEnvelope<'step.result.v1'>;

/** A result and, where its queue is in the database, the row its message is stored in. */
interface Delivered {
  envelope: Result;
  row: MessageRow | null;
}

/**
 * A result's fate inside the batch transaction: its step is not in its task; its task has
 * ended (left as recorded: an operator reopening the task decides it then); or evaluated.
 */
type Applied = 'unknown' | 'done' | 'evaluated';

/**
 * Handles step.result messages: decides complete / retry / error for each step from the state
 * in the database (never from the message), evaluates its task, commits, and announces the
 * steps that became ready; the transport acks after that. Safe to run twice for one message.
 *
 * Results are group-committed: those that arrive while a batch is being applied are applied
 * together in the next unit of work (OrchestrationUnitOfWork), which locks their tasks in one
 * statement (uuid order), writes every step decision (core's settleSteps), evaluates each task
 * once (evaluateTasks) and commits, on PGMQ with the ready steps' messages sent and the result
 * messages deleted by the same commit (no ack follows). A batch that
 * fails is applied again result by result, so one bad result fails (and is redelivered) alone.
 */
@Injectable()
export class StepResultProcessor {
  private readonly logger = new Logger(StepResultProcessor.name);
  private readonly batches: GroupCommit<Delivered, Applied>;

  constructor(private readonly work: OrchestrationUnitOfWork) {
    this.batches = new GroupCommit((results) => this.apply(results), {
      maxBatch: RESULT_BATCH,
      isolateFailures: true,
    });
  }

  /**
   * `row`: where the message is stored when its queue is in the database (PGMQ); the batch
   * that applies the result then deletes it in the same transaction.
   */
  async handle(envelope: Result, row: MessageRow | null = null): Promise<StepResultDisposition> {
    const { taskUuid, stepUuid, attempt, outcome } = envelope.payload;
    const applied = await this.batches.submit({ envelope, row });
    // Logged here, not in the batch: this line carries this message's log context.
    this.logger.debug(`result of attempt ${attempt} (${outcome}): ${applied}`);
    if (applied === 'unknown')
      return { deadLetterReason: `no step ${stepUuid} in task ${taskUuid}` };
    return row ? { consumed: true } : {};
  }

  private apply(delivered: readonly Delivered[]): Promise<Applied[]> {
    const results = delivered.map((d) => d.envelope);
    return this.work.run(async (uow) => {
      const { tasks, steps } = await uow.lockTasksWithSteps(
        results.map((r) => ({ taskUuid: r.payload.taskUuid, stepUuid: r.payload.stepUuid })),
      );
      const taskOf = (r: Result) => tasks.get(r.payload.taskUuid.toLowerCase());
      const live = results.flatMap((r, i) => {
        const task = taskOf(r);
        const step = steps[i];
        return task && step && !isTerminalTaskState(task.state) ? [step] : [];
      });
      const settlements = await settleSteps(uow, live, this.work.limits);
      const decided = new Map<StepRow, boolean>(live.map((s, i) => [s, settlements[i] !== 'none']));
      const events = await this.work.events.record(
        uow,
        live.map((step, i) => ({
          task: tasks.get(step.taskUuid.toLowerCase())!,
          step,
          settlement: settlements[i]!,
        })),
      );

      // Each task with a result once, in lock order, after all of its results are decided.
      const evaluated = [...tasks.values()].filter((task) =>
        live.some((step) => step.taskUuid === task.taskUuid),
      );
      const evaluations = await evaluateTasks(uow, evaluated, this.work.limits);
      const progress: TaskProgress[] = [];
      for (const [i, task] of evaluated.entries()) {
        const { steps: ready, ended } = evaluations[i]!;
        const toAnnounce: EnqueuedStep[] = [...ready];
        // A result seen before (redelivery): its first processing may have died after commit
        // but before announcing (only where messages are sent after the commit), so announce
        // whatever is still waiting in `enqueued`.
        const seenBefore = live.some((s) => s.taskUuid === task.taskUuid && !decided.get(s));
        if (seenBefore && !this.work.sendsWithState) {
          toAnnounce.push(...(await uow.reannounceEnqueuedSteps(task.taskUuid)));
        }
        progress.push({
          task,
          steps: dedupe(toAnnounce),
          ended,
          causationId: results.find((r) => r.payload.taskUuid.toLowerCase() === task.taskUuid)!.id,
        });
      }
      const applied = results.map((r, i): Applied => {
        const task = taskOf(r);
        if (!task || !steps[i]) return 'unknown';
        return isTerminalTaskState(task.state) ? 'done' : 'evaluated';
      });
      // An unknown step's message is dead-lettered by the transport, so it stays.
      const consumed = delivered.flatMap((d, i) =>
        d.row && applied[i] !== 'unknown' ? [d.row] : [],
      );
      return { progress, value: applied, consumed, events };
    });
  }
}

function dedupe<T extends { stepUuid: string }>(steps: T[]): T[] {
  return [...new Map(steps.map((s) => [s.stepUuid, s])).values()];
}
