import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import pLimit, { type LimitFunction } from 'p-limit';
import { workerConfig } from '#config';
import type { MessageEnvelope } from '#contracts';
import { createEnvelope, ORCHESTRATION_STEP_RESULTS_QUEUE } from '#contracts';
import type { MessageRow, StepFailure } from '#core';
import {
  CheckpointYield,
  describeFailure,
  errorMessage,
  GroupCommit,
  MessageBus,
  PermanentStepError,
  ResultWithEventPayloads,
} from '#core';
import type { ClaimedStep, StepRunOutcome, StepRunRecord } from '#persistence';
import {
  claimSteps,
  Database,
  findJsonbUnstorable,
  mayHoldJsonbUnstorable,
  ProcessIdentity,
  readStep,
  recordStepRuns,
  releaseStep,
} from '#persistence';
import { TaskerMetrics } from '#observability';
import { FastEventDispatcher } from './fast-events.js';
import { HandlerRegistry } from './handler-registry.js';

/** What to do with the step message once `execute` returns: ack it, or have it back later. */
export interface StepMessageDisposition {
  redeliverAfterMs?: number;
  /** The message can never be processed (its step does not exist). */
  deadLetterReason?: string;
  /** Nothing: the statement that recorded its run deleted it (PGMQ). */
  consumed?: boolean;
}

/** How a step message reached this worker. */
export interface StepDelivery {
  /** Aborts when the process stops: an unfinished run is released, not recorded. */
  shutdown: AbortSignal;
  /** When the message was sent, for the pickup metric. */
  enqueuedAt: Date;
  /** Where the message is stored, when its queue is in the database (MessageBus.rowOf). */
  row: MessageRow | null;
}

/** Most claims, or recorded runs, one statement takes. */
const WORKER_BATCH = 100;

/**
 * Step messages a worker holds per handler slot (TASKER_WORKER_CONCURRENCY): the transport's
 * prefetch. Past its handler, a run still records its outcome, sends its result and is acked;
 * with one message per slot, every slot sat idle through that (a publisher confirm, two
 * commits) and throughput was bound by its latency, not by the handlers.
 */
export const MESSAGES_PER_HANDLER_SLOT = 2;

/** What claiming and running a step came to: an outcome to record, or already a disposition. */
type Ran =
  { claimed: ClaimedStep; outcome: StepRunOutcome } | { disposition: StepMessageDisposition };

/**
 * A finished run to record, with the message that asked for it (its result answers it) and,
 * on PGMQ, that message's row: the record statement deletes it.
 */
interface FinishedRun extends StepRunRecord {
  cause: MessageEnvelope<'step.execute.v1'>;
  row: MessageRow | null;
}

/**
 * One step message, start to end: claim (CAS enqueued → in_progress, attempt counted) and
 * commit; run the handler under the step's timeout; record the outcome with its transition and
 * send step.result (PGMQ: in the same statement, which also deletes the step message, so the
 * transport has nothing to ack; RabbitMQ: after the commit, then the transport acks). Any crash in between leaves the message to be redelivered, and the
 * redelivery finds the step's state and finishes the job.
 *
 * Claims and records are group-committed: the claims of messages read together go in one
 * statement, and runs that finish while a record is being written go in the next one. A
 * statement that fails for a batch is retried claim by claim (or run by run), so one bad
 * step fails only its own message.
 */
@Injectable()
export class StepExecutor {
  private readonly logger = new Logger(StepExecutor.name);
  private readonly claims: GroupCommit<string, ClaimedStep | null>;
  private readonly records: GroupCommit<FinishedRun, boolean>;
  /** RabbitMQ: result messages of the runs recorded meanwhile, published under one wait. */
  private readonly results: GroupCommit<MessageEnvelope<'step.result.v1'>, undefined>;
  /** Handlers running at once; a message waits for a slot before its step is claimed. */
  private readonly handlerSlots: LimitFunction;

  constructor(
    @Inject(workerConfig.KEY) config: ConfigType<typeof workerConfig>,
    private readonly database: Database,
    private readonly bus: MessageBus,
    private readonly registry: HandlerRegistry,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
    private readonly fastEvents: FastEventDispatcher,
  ) {
    const processor = this.identity.processorUuid;
    this.handlerSlots = pLimit(config.concurrency);
    this.claims = new GroupCommit((uuids) => claimSteps(this.database.pool, uuids, processor), {
      maxBatch: WORKER_BATCH,
      isolateFailures: true,
    });
    this.records = new GroupCommit((runs) => this.record(runs), {
      maxBatch: WORKER_BATCH,
      isolateFailures: true,
    });
    // A failed publish fails every run of its batch: each message is redelivered and resends
    // the result of its recorded run (never isolated: a rerun would find the run recorded).
    this.results = new GroupCommit(
      async (envelopes) => {
        await this.bus.sendBatch(ORCHESTRATION_STEP_RESULTS_QUEUE, envelopes);
        return envelopes.map(() => undefined);
      },
      { maxBatch: WORKER_BATCH },
    );
  }

  async execute(
    envelope: MessageEnvelope<'step.execute.v1'>,
    delivery: StepDelivery,
  ): Promise<StepMessageDisposition> {
    // The slot covers the claim (the step's timeout runs from it) and the handler; recording
    // and sending the outcome happen outside it, while the next message runs.
    const ran = await this.handlerSlots(() => this.claimAndRun(envelope, delivery));
    if ('disposition' in ran) return ran.disposition;
    const { claimed, outcome } = ran;
    const recorded = await this.recordAndAnnounce({
      stepUuid: claimed.stepUuid,
      attempt: claimed.attempt,
      outcome,
      cause: envelope,
      row: delivery.row,
    });
    if (recorded) {
      this.logger.debug(`ran ${claimed.stepName} attempt ${claimed.attempt}: ${outcome.kind}`);
      this.fastEvents.dispatch(claimed, envelope, outcome);
    } else {
      this.logger.warn(
        `step ${claimed.stepUuid} attempt ${claimed.attempt}: outcome not recorded, the step moved on (cancelled or timed out)`,
      );
    }
    return consumedIf(delivery.row);
  }

  private async claimAndRun(
    envelope: MessageEnvelope<'step.execute.v1'>,
    delivery: StepDelivery,
  ): Promise<Ran> {
    const { stepUuid } = envelope.payload;
    // Stopping while it waited for a slot: back on the queue, unclaimed, for another worker.
    if (delivery.shutdown.aborted) return { disposition: { redeliverAfterMs: 0 } };
    const claimed = await this.claims.submit(stepUuid);
    if (!claimed) return { disposition: await this.handleUnclaimable(envelope, delivery.row) };
    this.metrics.stepStarted(claimed.handler, delivery.enqueuedAt);
    const started = performance.now();
    const outcome = await this.run(claimed, delivery.shutdown, envelope);
    this.metrics.stepFinished(claimed.handler, outcome.kind, (performance.now() - started) / 1000);
    if (outcome.kind !== 'interrupted' && outcome.kind !== 'yielded') return { claimed, outcome };
    // A yield saves its checkpoint and gives the run back, as a shutdown does without one.
    const checkpoint = outcome.kind === 'yielded' ? outcome.checkpoint : undefined;
    const reason = checkpoint ? 'checkpoint_yield' : 'worker_shutdown';
    const released = await releaseStep(
      this.database,
      stepUuid,
      claimed.attempt,
      reason,
      this.identity.processorUuid,
      checkpoint,
    );
    const message = `step ${stepUuid} attempt ${claimed.attempt}: ${released ? 'released' : 'could not be released'} (${reason})`;
    if (checkpoint) this.logger.debug(message);
    else this.logger.warn(message);
    // Back on the queue at once, to resume from the checkpoint or for another worker (released
    // or not: a redelivery sorts it out).
    return { disposition: { redeliverAfterMs: 0 } };
  }

  private async run(
    step: ClaimedStep,
    shutdown: AbortSignal,
    { traceparent, correlationId }: MessageEnvelope<'step.execute.v1'>,
  ): Promise<
    StepRunOutcome | { kind: 'interrupted' } | { kind: 'yielded'; checkpoint: CheckpointYield }
  > {
    const handler = this.registry.get(step.handler);
    if (!handler) {
      return {
        kind: 'failure',
        failure: describeFailure(new Error(`no handler '${step.handler}' on this worker`)),
      };
    }
    if (step.handlerMethod && !handler.hasMethod?.(step.handlerMethod)) {
      return {
        kind: 'failure',
        failure: describeFailure(
          new PermanentStepError(
            `handler '${step.handler}' has no method '${step.handlerMethod}' to call`,
          ),
        ),
      };
    }
    const timeoutMs = step.timeoutSeconds * 1000;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let onShutdown: (() => void) | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`step ${step.stepName} timed out after ${step.timeoutSeconds}s`);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    const interrupted = new Promise<{ kind: 'interrupted' }>((resolve) => {
      onShutdown = () => {
        controller.abort(shutdown.reason);
        resolve({ kind: 'interrupted' });
      };
      if (shutdown.aborted) onShutdown();
      else shutdown.addEventListener('abort', onShutdown, { once: true });
    });
    const ran = Promise.resolve()
      .then(() =>
        handler.run({
          taskUuid: step.taskUuid,
          stepUuid: step.stepUuid,
          stepName: step.stepName,
          context: step.context,
          inputs: step.inputs,
          config: step.config,
          handlerMethod: step.handlerMethod,
          dependencyResults: step.dependencyResults,
          attempt: step.attempt,
          maxAttempts: step.maxAttempts,
          correlationId,
          signal: controller.signal,
          traceparent,
          checkpoint: step.checkpoint,
        }),
      )
      .then(
        (result: unknown): StepRunOutcome | { kind: 'yielded'; checkpoint: CheckpointYield } => {
          if (result instanceof CheckpointYield) return { kind: 'yielded', checkpoint: result };
          const [value, chosen] =
            result instanceof ResultWithEventPayloads
              ? [result.result, result.eventPayloads]
              : [result, undefined];
          const stored = storableResult(value);
          if (!stored.ok) return { kind: 'failure', failure: stored.failure };
          if (!chosen) return { kind: 'success', result: stored.value };
          const payloads = storableResult(chosen);
          if (!payloads.ok) return { kind: 'failure', failure: payloads.failure };
          return {
            kind: 'success',
            result: stored.value,
            eventPayloads: payloads.value as Record<string, unknown>,
          };
        },
      );
    try {
      return await Promise.race([ran, timedOut, interrupted]);
    } catch (err) {
      return { kind: 'failure', failure: describeFailure(err, controller.signal.aborted) };
    } finally {
      clearTimeout(timer);
      if (onShutdown) shutdown.removeEventListener('abort', onShutdown);
    }
  }

  /** The claim failed: decide from the step's state what this (re)delivered message means. */
  private async handleUnclaimable(
    step: MessageEnvelope<'step.execute.v1'>,
    row: MessageRow | null,
  ): Promise<StepMessageDisposition> {
    const { stepUuid } = step.payload;
    const run = await readStep(this.database.pool, stepUuid);
    if (!run || run.taskUuid !== step.payload.taskUuid) {
      return { deadLetterReason: `no step ${stepUuid} in task ${step.payload.taskUuid}` };
    }
    if (run.state === 'in_progress') {
      const remaining = run.msUntilTimeout ?? 0;
      if (remaining > 0) {
        // Another worker may still be running it: look again once its timeout has passed.
        return { redeliverAfterMs: remaining + 1000 };
      }
      // The run's worker died without recording anything: that attempt failed.
      const failure: StepFailure = {
        message: 'no result within the step timeout: the worker running it was lost',
        errorClass: 'StepRunLost',
        permanent: false,
        backoffHintMs: null,
        timedOut: true,
      };
      await this.recordAndAnnounce({
        stepUuid,
        attempt: run.attempts,
        outcome: { kind: 'failure', failure },
        cause: step,
        row,
      });
      return consumedIf(row);
    } else if (
      run.state === 'enqueued_for_orchestration' ||
      run.state === 'enqueued_as_error_for_orchestration'
    ) {
      // Recorded, but we may have died before sending the result: send it (again).
      const outcome = run.state === 'enqueued_for_orchestration' ? 'success' : 'failure';
      await this.sendResult(step, run.attempts, outcome);
    }
    // Anything else (done, cancelled): this message has nothing left to do.
    return {};
  }

  /**
   * Records a finished run and announces its result; whether it was recorded (a run that lost
   * its claim is not). PGMQ: both in one group-committed statement. Elsewhere: the record is
   * group-committed, then the result joins the next batch publish.
   */
  private async recordAndAnnounce(run: FinishedRun): Promise<boolean> {
    const recorded = await this.records.submit(run);
    if (recorded && !this.bus.queuesInDatabase) {
      await this.results.submit(resultEnvelope(run.cause, run.attempt, run.outcome.kind));
    }
    return recorded;
  }

  private record(runs: readonly FinishedRun[]): Promise<boolean[]> {
    const processor = this.identity.processorUuid;
    if (!this.bus.queuesInDatabase) return recordStepRuns(this.database.pool, runs, processor);
    return recordStepRuns(
      this.database.pool,
      runs,
      processor,
      {
        queue: ORCHESTRATION_STEP_RESULTS_QUEUE,
        messages: runs.map((run) =>
          JSON.stringify(resultEnvelope(run.cause, run.attempt, run.outcome.kind)),
        ),
      },
      runs.flatMap((run) => (run.row ? [run.row] : [])),
    );
  }

  /** Resends the result of a run recorded before (its first sender may have died). */
  private async sendResult(
    cause: MessageEnvelope<'step.execute.v1'>,
    attempt: number,
    outcome: 'success' | 'failure',
  ): Promise<void> {
    await this.bus.send(ORCHESTRATION_STEP_RESULTS_QUEUE, resultEnvelope(cause, attempt, outcome));
  }
}

/** A run recorded with its message's row had the message deleted by the same statement. */
function consumedIf(row: MessageRow | null): StepMessageDisposition {
  return row ? { consumed: true } : {};
}

/** The result message answers the step message: same correlation, caused by it. */
function resultEnvelope(
  cause: MessageEnvelope<'step.execute.v1'>,
  attempt: number,
  outcome: 'success' | 'failure',
): MessageEnvelope<'step.result.v1'> {
  const { taskUuid, stepUuid } = cause.payload;
  return createEnvelope(
    'step.result.v1',
    { taskUuid, stepUuid, attempt, outcome },
    {
      correlationId: cause.correlationId,
      causationId: cause.id,
      attempt,
      traceparent: cause.traceparent,
    },
  );
}

/**
 * A handler's return value as it will be stored (jsonb). One that cannot be (a BigInt, a
 * cycle, a NUL character or an unpaired surrogate in a string) is a permanent step failure
 * saying so, not a worker error retried until timeout.
 */
function storableResult(
  result: unknown,
): { ok: true; value: unknown } | { ok: false; failure: StepFailure } {
  let json: string;
  let value: unknown;
  try {
    json = JSON.stringify(result ?? null);
    value = JSON.parse(json) as unknown;
  } catch (err) {
    return notStorable(
      'ResultNotSerializable',
      `the handler returned a value that is not JSON-serialisable: ${errorMessage(err)}`,
    );
  }
  // Walk the value only when its JSON text shows a suspect escape (rare): a native scan else.
  const problem = mayHoldJsonbUnstorable(json) ? findJsonbUnstorable(value) : null;
  if (problem !== null) {
    return notStorable(
      'ResultNotStorable',
      `the handler returned a value PostgreSQL cannot store as JSON: ${problem}`,
    );
  }
  return { ok: true, value };
}

function notStorable(errorClass: string, message: string): { ok: false; failure: StepFailure } {
  return {
    ok: false,
    failure: { message, errorClass, permanent: true, backoffHintMs: null, timedOut: false },
  };
}
