import { Injectable, Logger } from '@nestjs/common';
import type { MessageEnvelope } from '#contracts';
import { createEnvelope, ORCHESTRATION_STEP_RESULTS_QUEUE } from '#contracts';
import type { StepFailure } from '#core';
import { describeFailure, errorMessage, MessageBus } from '#core';
import type { ClaimedStep, StepRunOutcome } from '#persistence';
import {
  claimStep,
  Database,
  findJsonbUnstorable,
  mayHoldJsonbUnstorable,
  ProcessIdentity,
  readStep,
  recordStepRun,
  releaseStep,
} from '#persistence';
import { TaskerMetrics } from '#observability';
import { HandlerRegistry } from './handler-registry.js';

/** What to do with the step message once `execute` returns: ack it, or have it back later. */
export interface StepMessageDisposition {
  redeliverAfterMs?: number;
  /** The message can never be processed (its step does not exist). */
  deadLetterReason?: string;
}

/**
 * One step message, start to end: claim (CAS enqueued → in_progress, attempt counted) and
 * commit; run the handler under the step's timeout; record the outcome with its transition
 * and commit; send step.result. Only then does the transport ack. Any crash in between leaves
 * the message to be redelivered, and the redelivery finds the step's state and finishes the job.
 */
@Injectable()
export class StepExecutor {
  private readonly logger = new Logger(StepExecutor.name);

  constructor(
    private readonly database: Database,
    private readonly bus: MessageBus,
    private readonly registry: HandlerRegistry,
    private readonly identity: ProcessIdentity,
    private readonly metrics: TaskerMetrics,
  ) {}

  /**
   * `delivery.shutdown` aborts when the process stops: an unfinished run is released, not
   * recorded. `delivery.enqueuedAt` is when the message was sent, for the pickup metric.
   */
  async execute(
    envelope: MessageEnvelope<'step.execute.v1'>,
    delivery: { shutdown: AbortSignal; enqueuedAt: Date },
  ): Promise<StepMessageDisposition> {
    const { stepUuid } = envelope.payload;
    const processor = this.identity.processorUuid;
    const claimed = await claimStep(this.database.pool, stepUuid, processor);
    if (!claimed) return this.handleUnclaimable(envelope);
    this.metrics.stepStarted(claimed.handler, delivery.enqueuedAt);
    const started = performance.now();
    const outcome = await this.run(claimed, delivery.shutdown, envelope.traceparent);
    this.metrics.stepFinished(claimed.handler, outcome.kind, (performance.now() - started) / 1000);
    if (outcome.kind === 'interrupted') {
      const released = await releaseStep(
        this.database,
        stepUuid,
        claimed.attempt,
        'worker_shutdown',
        processor,
      );
      this.logger.warn(
        `step ${stepUuid} attempt ${claimed.attempt}: ${released ? 'released' : 'could not be released'} at shutdown`,
      );
      // Back on the queue at once for another worker (released or not: a redelivery sorts it out).
      return { redeliverAfterMs: 0 };
    }
    const recorded = await recordStepRun(
      this.database.pool,
      stepUuid,
      claimed.attempt,
      outcome,
      processor,
    );
    if (recorded) {
      this.logger.debug(`ran ${claimed.stepName} attempt ${claimed.attempt}: ${outcome.kind}`);
      await this.sendResult(envelope, claimed.attempt, outcome.kind);
    } else {
      this.logger.warn(
        `step ${stepUuid} attempt ${claimed.attempt}: outcome not recorded, the step moved on (cancelled or timed out)`,
      );
    }
    return {};
  }

  private async run(
    step: ClaimedStep,
    shutdown: AbortSignal,
    traceparent: string | null,
  ): Promise<StepRunOutcome | { kind: 'interrupted' }> {
    const handler = this.registry.get(step.handler);
    if (!handler) {
      return {
        kind: 'failure',
        failure: describeFailure(new Error(`no handler '${step.handler}' on this worker`)),
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
          dependencyResults: step.dependencyResults,
          attempt: step.attempt,
          signal: controller.signal,
          traceparent,
        }),
      )
      .then((result: unknown): StepRunOutcome => {
        const stored = storableResult(result);
        return stored.ok
          ? { kind: 'success', result: stored.value }
          : { kind: 'failure', failure: stored.failure };
      });
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
      const outcome: StepRunOutcome = { kind: 'failure', failure };
      if (
        await recordStepRun(
          this.database.pool,
          stepUuid,
          run.attempts,
          outcome,
          this.identity.processorUuid,
        )
      ) {
        await this.sendResult(step, run.attempts, 'failure');
      }
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

  /** The result message answers the step message: same correlation, caused by it. */
  private async sendResult(
    cause: MessageEnvelope<'step.execute.v1'>,
    attempt: number,
    outcome: 'success' | 'failure',
  ): Promise<void> {
    const { taskUuid, stepUuid } = cause.payload;
    await this.bus.send(
      ORCHESTRATION_STEP_RESULTS_QUEUE,
      createEnvelope(
        'step.result.v1',
        { taskUuid, stepUuid, attempt, outcome },
        {
          correlationId: cause.correlationId,
          causationId: cause.id,
          attempt,
          traceparent: cause.traceparent,
        },
      ),
    );
  }
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
