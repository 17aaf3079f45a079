import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { v7 as uuidv7 } from 'uuid';
import { orchestrationConfig } from '#config';
import type { DomainEvent } from '#contracts';
import {
  DuplicateTaskError,
  errorMessage,
  type PublishedEventView,
  type TaskTemplate,
  templateKey,
  ValidationError,
} from '#core';
import { TaskerMetrics } from '#observability';
import {
  Database,
  findReceivedEvent,
  findReceivedEventByKey,
  insertReceivedEvent,
  listReceivedEvents,
  markDomainEventTriggered,
  pendingDomainEvents,
  publishedEventDepth,
  type Queryable,
  type ReceivedEventRow,
  TemplateRepository,
} from '#persistence';
import { type CreatedTask, TaskSubmissionService } from './task-submission.service.js';

/** An event to receive: from POST /v1/events, or a durable domain event a step published. */
export interface IncomingEvent {
  name: string;
  payload: Record<string, unknown>;
  idempotencyKey?: string | undefined;
  correlationId?: string | undefined;
  traceparent?: string | undefined;
}

/** Domain events left unhandled this long (their process died after the commit) are handled. */
const RETRIGGER_AFTER_MS = 5000;
const RETRIGGER_BATCH = 100;

/**
 * Events in: an event starts a task of every template that lists it under `triggers` (the
 * highest version of each), with its payload as the task's context, checked against each
 * template's `input_schema`. The event and its tasks are written in one transaction: a payload
 * one template refuses writes nothing. An event no template listens to is recorded as
 * `unmatched`. An idempotency key makes the same event create its tasks once. Durable domain
 * events published by steps are received the same way, each once (keyed by its event id),
 * with a depth one more than the event that started the publishing task: past
 * TASKER_EVENT_MAX_DEPTH an event starts nothing (`depth_exceeded`), which ends trigger cycles.
 */
@Injectable()
export class EventIntake {
  private readonly logger = new Logger(EventIntake.name);

  constructor(
    private readonly database: Database,
    private readonly templates: TemplateRepository,
    private readonly submission: TaskSubmissionService,
    private readonly metrics: TaskerMetrics,
    @Inject(orchestrationConfig.KEY)
    private readonly config: ConfigType<typeof orchestrationConfig>,
  ) {}

  /** POST /v1/events. Throws the submission's domain errors (400/404) having written nothing. */
  receive(event: IncomingEvent): Promise<PublishedEventView> {
    return this.receiveAt(event, { source: 'api', depth: 0, sourceTaskUuid: null });
  }

  /**
   * After the commit that recorded them: hands durable domain events to the templates that
   * trigger on them. Never throws: what fails is handed over again by the sweep.
   */
  async receiveDomainEvents(events: readonly DomainEvent[]): Promise<void> {
    for (const event of events) {
      // Those no template triggers on were marked handled when they were recorded.
      if ((await this.templates.triggeredBy(event.name)).length === 0) continue;
      await this.receiveDomainEvent(event).catch((err: unknown) =>
        this.logger.warn(
          `domain event ${event.name} (${event.eventId}) not handed to its triggers yet; the sweep retries: ${errorMessage(err)}`,
        ),
      );
    }
  }

  /** The sweep's part: domain events a crash left unhandled. Answers how many it handled. */
  async receiveLeftovers(): Promise<number> {
    const events = await pendingDomainEvents(
      this.database.pool,
      'triggered_at',
      RETRIGGER_AFTER_MS,
      RETRIGGER_BATCH,
    );
    await this.receiveDomainEvents(events);
    return events.length;
  }

  list(options: { limit: number; name?: string | undefined }): Promise<ReceivedEventRow[]> {
    return listReceivedEvents(this.database.pool, options);
  }

  find(eventId: string): Promise<ReceivedEventRow | null> {
    return findReceivedEvent(this.database.pool, eventId);
  }

  private async receiveDomainEvent(event: DomainEvent): Promise<void> {
    const depth = await publishedEventDepth(this.database.pool, event.taskUuid);
    await this.receiveAt(
      {
        name: event.name,
        payload: isObject(event.payload) ? event.payload : { value: event.payload },
        idempotencyKey: `domain_event:${event.eventId}`,
        correlationId: event.correlationId,
        traceparent: event.traceparent ?? undefined,
      },
      { source: 'domain_event', depth, sourceTaskUuid: event.taskUuid },
      (tx) => markDomainEventTriggered(tx, event.eventId),
    );
  }

  private async receiveAt(
    event: IncomingEvent,
    origin: Pick<ReceivedEventRow, 'source' | 'depth' | 'sourceTaskUuid'>,
    alsoInTransaction?: (tx: Queryable) => Promise<void>,
  ): Promise<PublishedEventView> {
    if (event.idempotencyKey) {
      const seen = await findReceivedEventByKey(this.database.pool, event.idempotencyKey);
      if (seen) {
        await alsoInTransaction?.(this.database.pool);
        return { ...seen, duplicate: true };
      }
    }
    const tooDeep = origin.depth > this.config.eventMaxDepth;
    const templates = tooDeep ? [] : await this.templates.triggeredBy(event.name);
    const eventId = uuidv7();
    const outcome = tooDeep ? 'depth_exceeded' : templates.length > 0 ? 'matched' : 'unmatched';
    let written: CreatedTask[] | null;
    try {
      written = await this.write(event, eventId, origin, outcome, templates, alsoInTransaction);
    } catch (err) {
      // A domain event a template refuses would be refused on every retry: recorded as such.
      if (!(err instanceof ValidationError) || origin.source !== 'domain_event') throw err;
      this.logger.warn(`domain event ${event.name} (${eventId}) starts nothing: ${err.message}`);
      written = await this.write(event, eventId, origin, 'refused', [], alsoInTransaction);
    }
    if (written === null) {
      // Another request with the same key committed first.
      const seen = await findReceivedEventByKey(this.database.pool, event.idempotencyKey!);
      return { ...seen!, duplicate: true };
    }
    for (const created of written) await this.submission.announceCreated(created);
    this.metrics.eventReceived(event.name, written.length > 0);
    if (tooDeep) {
      this.logger.warn(
        `event ${event.name} (${eventId}) is ${origin.depth} events deep, past TASKER_EVENT_MAX_DEPTH (${this.config.eventMaxDepth}): it starts nothing`,
      );
    } else if (templates.length > 0) {
      this.logger.debug(
        `event ${event.name} started ${templates.map((t) => templateKey(t)).join(', ')}`,
      );
    }
    const row = await findReceivedEvent(this.database.pool, eventId);
    return { ...row!, duplicate: false };
  }

  /**
   * The event and its tasks, in one transaction; null (nothing written) when its idempotency
   * key was taken meanwhile.
   */
  private write(
    event: IncomingEvent,
    eventId: string,
    origin: Pick<ReceivedEventRow, 'source' | 'depth' | 'sourceTaskUuid'>,
    outcome: ReceivedEventRow['outcome'],
    templates: readonly TaskTemplate[],
    alsoInTransaction?: (tx: Queryable) => Promise<void>,
  ): Promise<CreatedTask[] | null> {
    return this.database.transaction(async (tx) => {
      const inserted = await insertReceivedEvent(tx, {
        eventId,
        name: event.name,
        payload: event.payload,
        idempotencyKey: event.idempotencyKey ?? null,
        correlationId: event.correlationId ?? null,
        ...origin,
        outcome,
      });
      if (!inserted) return null;
      const created: CreatedTask[] = [];
      for (const template of templates) {
        try {
          created.push(
            await this.submission.create(
              tx,
              {
                namespace: template.namespace,
                name: template.name,
                version: template.version,
                context: event.payload,
                // Each event starts its own task, whatever the template's identity strategy.
                idempotencyKey: `event:${eventId}`,
                correlationId: event.correlationId,
                traceparent: event.traceparent,
                initiator: 'event',
                sourceSystem: 'tasker-events',
                reason: `event ${event.name} ${eventId}`,
                tags: ['event'],
              },
              { triggerEventUuid: eventId },
            ),
          );
        } catch (err) {
          if (err instanceof DuplicateTaskError) continue;
          throw err;
        }
      }
      await alsoInTransaction?.(tx);
      return created;
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
