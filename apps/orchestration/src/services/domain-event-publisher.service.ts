import { Injectable, Logger } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import { type DomainEvent, domainEventsQueueName } from '#contracts';
import {
  type DomainEventRecord,
  durableEventsFor,
  errorMessage,
  eventOutcomeOf,
  payloadOf,
  type LockedTask,
  MessageBus,
  type QueuedMessage,
  SchemaValidator,
  type StepRow,
  type StepSettlement,
  type TaskUnitOfWork,
  templateStepOf,
} from '#core';
import { TaskerMetrics } from '#observability';
import {
  Database,
  markDomainEventsPublished,
  pendingDomainEvents,
  TemplateRepository,
} from '#persistence';

/** A step whose result a unit of work settled, with its task. */
export interface SettledStep {
  task: LockedTask;
  step: StepRow;
  settlement: StepSettlement;
}

/** Events left unpublished this long (their publish failed, or its process died) are retried. */
const REPUBLISH_AFTER_MS = 5000;
const REPUBLISH_BATCH = 100;

/**
 * Durable domain events (a step's `publishes_events` with delivery `durable` or `broadcast`):
 * recorded by the unit of work that settles the step's outcome, once per outcome (a result
 * applied twice records nothing new), then published for consumers outside Tasker: on PGMQ
 * sent to `<namespace>_domain_events` in the same transaction, on RabbitMQ to the topic
 * exchange after the commit, and again by the readiness sweep if that publish fails (at least
 * once; the event id is stable). A payload that does not match its declared schema, or a
 * publish that fails, is logged and counted and never fails the step.
 */
@Injectable()
export class DomainEventPublisher {
  private readonly logger = new Logger(DomainEventPublisher.name);
  private readonly validator = new SchemaValidator();

  constructor(
    private readonly templates: TemplateRepository,
    private readonly bus: MessageBus,
    private readonly database: Database,
    private readonly metrics: TaskerMetrics,
  ) {}

  /**
   * In the unit of work: the durable events of the settled steps, recorded; answers those
   * recorded now (the ones to send). Reads nothing for templates that publish none.
   */
  async record(uow: TaskUnitOfWork, settled: readonly SettledStep[]): Promise<DomainEvent[]> {
    const records: DomainEventRecord[] = [];
    const byTask = new Map<string, SettledStep[]>();
    for (const s of settled) {
      if (s.settlement === 'none') continue;
      byTask.set(s.task.taskUuid, [...(byTask.get(s.task.taskUuid) ?? []), s]);
    }
    for (const steps of byTask.values()) {
      const { task } = steps[0]!;
      if (!(await this.templates.publishesDurableEvents(task.namespace, task.name))) continue;
      const template = await uow.taskTemplate(task.taskUuid);
      const completed = steps
        .filter((s) => s.settlement === 'complete')
        .map((s) => s.step.stepUuid);
      const results = await uow.stepResults(completed);
      const chosen = await uow.stepEventPayloads(completed);
      for (const { step, settlement } of steps) {
        const outcome = eventOutcomeOf(settlement)!;
        for (const declaration of durableEventsFor(
          templateStepOf(template, step.stepName),
          outcome,
        )) {
          const payload =
            outcome === 'success'
              ? payloadOf(declaration.name, results.get(step.stepUuid), chosen.get(step.stepUuid))
              : { error: step.lastError };
          const problems = this.validator.problems(declaration.schema, payload);
          if (problems.length > 0) {
            this.metrics.eventPublished(declaration.name, declaration.delivery, 'invalid');
            this.logger.warn(
              `event ${declaration.name} of step ${step.stepName} (task ${task.taskUuid}) not published: its payload does not match the declared schema: ${problems.join('; ')}`,
            );
            continue;
          }
          records.push({
            attempt: step.attempts,
            triggers: (await this.templates.triggeredBy(declaration.name)).length > 0,
            delivery: declaration.delivery === 'broadcast' ? 'broadcast' : 'durable',
            event: {
              eventId: uuidv7(),
              name: declaration.name,
              outcome,
              payload,
              namespace: task.namespace,
              taskUuid: task.taskUuid,
              stepUuid: step.stepUuid,
              stepName: step.stepName,
              correlationId: task.correlationId,
              traceparent: task.traceparent,
              occurredAt: new Date().toISOString(),
            },
          });
        }
      }
    }
    const recorded = await uow.recordDomainEvents(records, this.bus.queuesInDatabase);
    return records.filter((r) => recorded.has(r.event.eventId)).map((r) => r.event);
  }

  /** PGMQ: the events as messages on their namespaces' queues, sent in the transaction. */
  messages(events: readonly DomainEvent[]): QueuedMessage[] {
    return events.map((event) => ({
      queue: domainEventsQueueName(event.namespace),
      body: JSON.stringify(event),
    }));
  }

  /** Counts events sent in the transaction that recorded them (PGMQ), after its commit. */
  sent(events: readonly DomainEvent[]): void {
    for (const event of events) this.metrics.eventPublished(event.name, 'durable', 'published');
  }

  /**
   * After the commit (brokers outside the database): publishes, then marks the events
   * published. Never throws: a failed publish is counted and left to the sweep.
   */
  async publish(events: readonly DomainEvent[]): Promise<void> {
    await Promise.all(
      [...byNamespace(events)].map(async ([namespace, batch]) => {
        try {
          await this.bus.publishDomainEvents(namespace, batch);
        } catch (err) {
          for (const e of batch) this.metrics.eventPublished(e.name, 'durable', 'failed');
          this.logger.warn(
            `publishing ${batch.length} domain event(s) of ${namespace} failed; the sweep publishes them again: ${errorMessage(err)}`,
          );
          return;
        }
        this.sent(batch);
        await markDomainEventsPublished(
          this.database.pool,
          batch.map((e) => e.eventId),
        ).catch((err: unknown) =>
          this.logger.warn(`recording published domain events failed: ${errorMessage(err)}`),
        );
      }),
    );
  }

  /**
   * The sweep's part (brokers outside the database): events left unpublished, published again
   * (each replica takes disjoint rows). Answers how many it published.
   */
  republishLeftovers(): Promise<number> {
    if (this.bus.queuesInDatabase) return Promise.resolve(0);
    return this.database.transaction(async (tx) => {
      const events = await pendingDomainEvents(
        tx,
        'published_at',
        REPUBLISH_AFTER_MS,
        REPUBLISH_BATCH,
        { lock: true },
      );
      for (const [namespace, batch] of byNamespace(events)) {
        await this.bus.publishDomainEvents(namespace, batch);
        this.sent(batch);
      }
      await markDomainEventsPublished(
        tx,
        events.map((e) => e.eventId),
      );
      return events.length;
    });
  }
}

function byNamespace(events: readonly DomainEvent[]): Map<string, DomainEvent[]> {
  const grouped = new Map<string, DomainEvent[]>();
  for (const e of events) grouped.set(e.namespace, [...(grouped.get(e.namespace) ?? []), e]);
  return grouped;
}
