import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MessageBus } from '#core';
import { ConsumedQueues, QueueDepths } from '#messaging';

/** Seconds buckets from 1 ms to 5 min: pickups are milliseconds, handlers can take minutes. */
const SECONDS_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

export type TaskEnd = 'complete' | 'error' | 'cancelled';

/**
 * Every Tasker metric, in one registry per app, served at /metrics. Counters count what this
 * replica did (Prometheus sums replicas); reconnects and malformed notices are read at scrape
 * time, queue depths from QueueDepths (at most a few seconds old).
 */
@Injectable()
export class TaskerMetrics {
  readonly registry = new Registry();

  private readonly tasksSubmitted = new Counter({
    name: 'tasker_tasks_submitted_total',
    help: 'Tasks accepted by this orchestration replica',
    labelNames: ['namespace', 'name'] as const,
    registers: [this.registry],
  });

  private readonly tasksEnded = new Counter({
    name: 'tasker_tasks_finished_total',
    help: 'Tasks this orchestration replica moved to a final state, by that state',
    labelNames: ['namespace', 'name', 'status'] as const,
    registers: [this.registry],
  });

  private readonly stepDuration = new Histogram({
    name: 'tasker_step_duration_seconds',
    help: 'Handler run time on this worker, by handler and outcome',
    labelNames: ['handler', 'outcome'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly stepAttempts = new Counter({
    name: 'tasker_step_attempts_total',
    help: 'Step runs started on this worker (claims), by handler',
    labelNames: ['handler'] as const,
    registers: [this.registry],
  });

  private readonly pickup = new Histogram({
    name: 'tasker_step_pickup_seconds',
    help: 'Time from a step message being enqueued to a worker claiming the step',
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly deadLettered = new Counter({
    name: 'tasker_messages_dead_lettered_total',
    help: 'Messages that could never be processed and went to the dead-letter queue, by source queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  private readonly staleTasks = new Counter({
    name: 'tasker_tasks_stale_total',
    help: 'Tasks staleness detection moved to error (and the DLQ), by reason',
    labelNames: ['namespace', 'name', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly scheduleFires = new Counter({
    name: 'tasker_schedule_fires_total',
    help: 'Schedule fires this replica handled, by outcome (created, misfired, coalesced, skipped_overlap, failed)',
    labelNames: ['namespace', 'name', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly scheduleLag = new Histogram({
    name: 'tasker_schedule_lag_seconds',
    help: 'Time from a schedule fire time to its task being committed',
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  private readonly announceFailures = new Counter({
    name: 'tasker_announce_failures_total',
    help: 'Step messages this orchestration replica could not send after the commit that enqueued their steps (broker refused or away); each is retried as soon as the broker is back',
    registers: [this.registry],
  });

  private readonly eventsPublished = new Counter({
    name: 'tasker_events_published_total',
    help: 'Domain events this orchestration replica published (published), could not publish yet (failed: retried by the sweep) or refused because the payload did not match the declared schema (invalid), by event and delivery',
    labelNames: ['event', 'delivery', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly eventsReceived = new Counter({
    name: 'tasker_events_received_total',
    help: 'Events this orchestration replica received (POST /v1/events, or domain events that templates trigger on), by event and whether they started a task',
    labelNames: ['event', 'matched'] as const,
    registers: [this.registry],
  });

  private readonly limitAdmitted = new Counter({
    name: 'tasker_limit_admitted_total',
    help: 'Steps this orchestration replica started from the wait for a slot of a concurrency or rate limit, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  private readonly limitCancels = new Counter({
    name: 'tasker_limit_cancelled_tasks_total',
    help: 'Tasks this orchestration replica cancelled for a limit with strategy cancel_newest or cancel_in_progress, by limit',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'tasker_http_request_duration_seconds',
    help: 'HTTP request durations, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: SECONDS_BUCKETS,
    registers: [this.registry],
  });

  constructor(bus: MessageBus, consumed: ConsumedQueues, depths: QueueDepths) {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'tasker_queue_depth',
      help: 'Messages waiting in the queues this process consumes (RabbitMQ: ready ones), read at most every few seconds',
      labelNames: ['queue'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const read = await depths.read().catch(() => new Map<string, number>());
        for (const queue of consumed.list()) this.set({ queue }, read.get(queue) ?? Number.NaN);
      },
    });
    this.mirrorTotal(
      'tasker_event_source_reconnects_total',
      'Times the notify (PGMQ) or broker (RabbitMQ) connection was lost and re-established',
      () => bus.status().reconnects,
    );
    this.mirrorTotal(
      'tasker_notifications_malformed_total',
      'Notifications on a queue channel (PGMQ) whose payload was not a well-formed notice; each was logged and read as "messages arrived"',
      () => bus.status().malformedNotices,
    );
  }

  /** A counter that follows a total the bus keeps, read at scrape time. */
  private mirrorTotal(name: string, help: string, total: () => number): void {
    let counted = 0;
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = total();
        if (now > counted) this.inc(now - counted);
        counted = now;
      },
    });
  }

  /**
   * Gauges of the announcements outbox (every replica's owed step messages), read with `read`
   * at scrape time: how many, and the age of the oldest.
   */
  trackAnnouncementBacklog(
    read: () => Promise<{ owed: number; oldestAgeSeconds: number | null }>,
  ): void {
    const backlog = () => read().catch(() => ({ owed: Number.NaN, oldestAgeSeconds: Number.NaN }));
    new Gauge({
      name: 'tasker_unannounced_steps',
      help: 'Steps committed enqueued whose message no broker has confirmed yet (brokers outside the database)',
      registers: [this.registry],
      async collect() {
        this.set((await backlog()).owed);
      },
    });
    new Gauge({
      name: 'tasker_oldest_unannounced_step_age_seconds',
      help: 'Age of the oldest step committed enqueued whose message no broker has confirmed yet (0: none)',
      registers: [this.registry],
      async collect() {
        this.set((await backlog()).oldestAgeSeconds ?? 0);
      },
    });
  }

  /**
   * Gauges of the concurrency limits (every replica's), read with `read` at scrape time: steps or
   * tasks holding a slot, and steps waiting for one, by limit (keys are not labels: there may be
   * any number of them; GET /v1/concurrency lists them).
   */
  trackLimits(read: () => Promise<Map<string, { running: number; waiting: number }>>): void {
    const byLimit = () =>
      read().catch(() => new Map<string, { running: number; waiting: number }>());
    new Gauge({
      name: 'tasker_limit_running',
      help: 'Slots of a concurrency limit held now (tasks for a task-level limit, step runs for a step-level one), by limit',
      labelNames: ['limit'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [limit, { running }] of await byLimit()) this.set({ limit }, running);
      },
    });
    new Gauge({
      name: 'tasker_limit_waiting',
      help: 'Ready steps waiting for a slot of a concurrency limit or for its rate limit, by limit',
      labelNames: ['limit'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [limit, { waiting }] of await byLimit()) this.set({ limit }, waiting);
      },
    });
  }

  limitAdmittedSteps(limit: string, steps: number): void {
    this.limitAdmitted.inc({ limit }, steps);
  }

  limitCancelled(limit: string): void {
    this.limitCancels.inc({ limit });
  }

  eventPublished(
    event: string,
    delivery: string,
    outcome: 'published' | 'failed' | 'invalid',
  ): void {
    this.eventsPublished.inc({ event, delivery, outcome });
  }

  eventReceived(event: string, matched: boolean): void {
    this.eventsReceived.inc({ event, matched: String(matched) });
  }

  announceFailed(steps: number): void {
    this.announceFailures.inc(steps);
  }

  taskSubmitted(namespace: string, name: string): void {
    this.tasksSubmitted.inc({ namespace, name });
  }

  taskEnded(namespace: string, name: string, status: TaskEnd): void {
    this.tasksEnded.inc({ namespace, name, status });
  }

  stepStarted(handler: string, enqueuedAt: Date): void {
    this.stepAttempts.inc({ handler });
    this.pickup.observe(Math.max(0, (Date.now() - enqueuedAt.getTime()) / 1000));
  }

  taskStale(namespace: string, name: string, reason: string): void {
    this.staleTasks.inc({ namespace, name, reason });
  }

  scheduleFired(namespace: string, name: string, outcome: string, lagSeconds?: number): void {
    this.scheduleFires.inc({ namespace, name, outcome });
    if (lagSeconds !== undefined) this.scheduleLag.observe(Math.max(0, lagSeconds));
  }

  messageDeadLettered(queue: string): void {
    this.deadLettered.inc({ queue });
  }

  stepFinished(handler: string, outcome: string, seconds: number): void {
    this.stepDuration.observe({ handler, outcome }, seconds);
  }
}
