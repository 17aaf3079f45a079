import { Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { DomainEvent, MessageEnvelope } from '#contracts';
import {
  conditionMet,
  type EventDeclaration,
  type EventOutcome,
  errorMessage,
  isRetryEligible,
  payloadOf,
  type TaskTemplate,
  templateStepOf,
} from '#core';
import type { ClaimedStep, StepRunOutcome } from '#persistence';
import { Database } from '#persistence';
import { TaskerMetrics } from '#observability';

/** What a subscriber gets: the event, as consumers of the durable ones get it. */
export type DomainEventSubscriber = (event: DomainEvent) => unknown;

interface Subscription {
  matches: RegExp;
  fn: DomainEventSubscriber;
}

/** This process's subscribers, whatever worker app runs in it. */
const subscriptions = new Set<Subscription>();

/**
 * An event name pattern as RabbitMQ's topic exchanges read it: segments split by `.`, `*`
 * stands for exactly one segment and `#` for any number (none included).
 */
export function eventPattern(pattern: string): RegExp {
  const segments = pattern.split('.');
  let source = '';
  segments.forEach((segment, i) => {
    if (segment === '#') {
      if (i > 0) source += '(?:\\.[^.]+)*';
      else source += segments.length === 1 ? '.*' : '(?:[^.]+\\.)*';
      return;
    }
    const separator = i === 0 || (i === 1 && segments[0] === '#') ? '' : '\\.';
    source +=
      separator + (segment === '*' ? '[^.]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  });
  return new RegExp(`^${source}$`);
}

/**
 * Subscribes `fn`, in this process, to the domain events with delivery `fast` or `broadcast`
 * that steps run by this process's workers publish, whose name matches `pattern` (see
 * eventPattern). Called after the step's run is recorded, at most once, not awaited by the
 * step; what it throws is logged. Answers a function that unsubscribes.
 */
export function subscribe(pattern: string, fn: DomainEventSubscriber): () => void {
  const subscription = { matches: eventPattern(pattern), fn };
  subscriptions.add(subscription);
  return () => subscriptions.delete(subscription);
}

/**
 * Delivers fast domain events in the worker that ran the step (Tasker Core's in-process
 * delivery): once its run is recorded, each of the step's `fast` and `broadcast` declarations
 * whose condition the outcome meets goes to the matching subscribers. With no subscriber in
 * the process nothing is read; otherwise the template step's declarations are read once per
 * template step and kept.
 */
@Injectable()
export class FastEventDispatcher {
  private readonly logger = new Logger(FastEventDispatcher.name);
  private readonly declarations = new Map<string, Promise<EventDeclaration[]>>();

  constructor(
    private readonly database: Database,
    private readonly metrics: TaskerMetrics,
  ) {}

  /** Fire and forget: the step's message does not wait for its subscribers. */
  dispatch(
    step: ClaimedStep,
    cause: MessageEnvelope<'step.execute.v1'>,
    outcome: StepRunOutcome,
  ): void {
    if (subscriptions.size === 0 || !step.namedStepUuid) return;
    void this.deliver(step, step.namedStepUuid, cause, outcome).catch((err: unknown) =>
      this.logger.warn(`fast events of step ${step.stepName}: ${errorMessage(err)}`),
    );
  }

  private async deliver(
    step: ClaimedStep,
    namedStepUuid: string,
    cause: MessageEnvelope<'step.execute.v1'>,
    run: StepRunOutcome,
  ): Promise<void> {
    const outcome = outcomeOf(step, run);
    const declared = await this.declarationsOf(namedStepUuid);
    for (const declaration of declared) {
      if (!conditionMet(declaration.condition, outcome)) continue;
      const event: DomainEvent = {
        eventId: uuidv7(),
        name: declaration.name,
        outcome,
        payload:
          run.kind === 'success'
            ? payloadOf(declaration.name, run.result, run.eventPayloads)
            : { error: run.failure },
        namespace: cause.payload.namespace,
        taskUuid: step.taskUuid,
        stepUuid: step.stepUuid,
        stepName: step.stepName,
        correlationId: cause.correlationId,
        traceparent: cause.traceparent,
        occurredAt: new Date().toISOString(),
      };
      for (const { matches, fn } of subscriptions) {
        if (!matches.test(event.name)) continue;
        try {
          await fn(event);
          this.metrics.eventPublished(event.name, 'fast', 'published');
        } catch (err) {
          this.metrics.eventPublished(event.name, 'fast', 'failed');
          this.logger.warn(`a subscriber of ${event.name} failed: ${errorMessage(err)}`);
        }
      }
    }
  }

  private declarationsOf(namedStepUuid: string): Promise<EventDeclaration[]> {
    let found = this.declarations.get(namedStepUuid);
    if (!found) {
      found = this.database
        .query<{ template: TaskTemplate; step: string }>(
          `SELECT nt.configuration AS template, ns.name AS step
             FROM tasker.named_steps ns
             JOIN tasker.named_tasks nt ON nt.named_task_uuid = ns.named_task_uuid
            WHERE ns.named_step_uuid = $1`,
          [namedStepUuid],
        )
        .then(([row]) =>
          row
            ? (templateStepOf(row.template, row.step)?.publishesEvents ?? []).filter(
                (e) => e.delivery !== 'durable',
              )
            : [],
        );
      found.catch(() => this.declarations.delete(namedStepUuid));
      this.declarations.set(namedStepUuid, found);
    }
    return found;
  }
}

/** As orchestration will decide it (decideStepResult): retried while a retry is left. */
function outcomeOf(step: ClaimedStep, run: StepRunOutcome): EventOutcome {
  if (run.kind === 'success') return 'success';
  const retry = isRetryEligible({
    retryable: step.retryable,
    attempts: step.attempt,
    maxAttempts: step.maxAttempts,
    permanentFailure: run.failure.permanent,
  });
  return retry ? 'retryable_failure' : 'permanent_failure';
}
