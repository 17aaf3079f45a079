import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, LoggerService } from '@nestjs/common';
import pg from 'pg';
import { resetConfigSourceForTests } from '#config';
import type { StepHandlerDefinition, TaskView } from '#core';
import { MessageBus } from '#core';
import type { EventMode, MessagingBackend } from '#config';
import {
  createTestDatabase,
  createTestVhost,
  pollUntil,
  rabbitmqctl,
  type TestDatabase,
  type TestVhost,
} from '#testing';
import { createOrchestrationApp } from '../../apps/orchestration/src/bootstrap/create-orchestration-app.js';
import { createWorkerApp } from '../../apps/worker/src/bootstrap/create-worker-app.js';
import { EXAMPLE_HANDLERS } from '../../apps/worker/src/handlers/example.handlers.js';
import type { StepHandlerClass } from '../../apps/worker/src/tasker-core/index.js';

export interface HttpReply<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface MessagingSetup {
  backend: MessagingBackend;
  /** PGMQ only: how consumers learn about messages. */
  eventMode?: EventMode;
}

/** Every backend, and PGMQ in every event mode: suites that must hold for each run per entry. */
export const MESSAGING_SETUPS: readonly MessagingSetup[] = [
  { backend: 'pgmq', eventMode: 'Hybrid' },
  { backend: 'pgmq', eventMode: 'EventDrivenOnly' },
  { backend: 'pgmq', eventMode: 'PollingOnly' },
  { backend: 'rabbitmq' },
];

export function describeSetup(setup: MessagingSetup): string {
  return setup.eventMode ? `${setup.backend} (${setup.eventMode})` : setup.backend;
}

/**
 * Orchestration and a worker booted in-process against a fresh database cloned from the
 * migrated template (and, for RabbitMQ, a fresh vhost), driven over real HTTP and real queues.
 */
export class TaskerHarness {
  private constructor(
    readonly backend: MessagingBackend,
    readonly vhost: TestVhost | undefined,
    readonly database: TestDatabase,
    readonly pool: pg.Pool,
    readonly orchestration: INestApplication,
    readonly worker: INestApplication,
    readonly baseUrl: string,
    readonly workerUrl: string,
    /** The directory of `templates` (TASKER_TEMPLATE_PATH), removed by stop; null without. */
    readonly dir: string | null,
  ) {}

  static async start(
    options: {
      backend?: MessagingBackend;
      eventMode?: EventMode;
      handlers?: readonly (StepHandlerDefinition | StepHandlerClass)[];
      env?: Record<string, string>;
      /**
       * Files (by name) of a template directory made for this harness and served as
       * TASKER_TEMPLATE_PATH: templates, and data files handlers read (under `dir`).
       */
      templates?: Record<string, string>;
      /** Both apps log here instead of printing errors only. */
      logger?: LoggerService;
    } = {},
  ): Promise<TaskerHarness> {
    const backend = options.backend ?? 'pgmq';
    const database = await createTestDatabase();
    const vhost = backend === 'rabbitmq' ? await createTestVhost() : undefined;
    const dir = options.templates ? await mkdtemp(join(tmpdir(), 'tasker-templates-')) : null;
    for (const [name, text] of Object.entries(options.templates ?? {})) {
      await writeFile(join(dir!, name), text);
    }
    delete process.env.RABBITMQ_URL;
    Object.assign(process.env, {
      TASKER_MESSAGING_BACKEND: backend,
      TASKER_EVENT_MODE: options.eventMode ?? 'Hybrid',
      ...(vhost ? { RABBITMQ_URL: vhost.url } : {}),
      DATABASE_URL: database.url,
      TASKER_ENV: 'test',
      TASKER_TEMPLATE_PATH: dir ?? 'config/tasks',
      TASKER_SWEEP_INTERVAL_MS: '100',
      TASKER_POLL_INTERVAL_MS: '20',
      ...options.env,
    });
    resetConfigSourceForTests();
    const logger = options.logger ?? (['error'] as 'error'[]);
    const orchestration = await createOrchestrationApp({ logger });
    await orchestration.listen(0, '127.0.0.1');
    const worker = await createWorkerApp(options.handlers ?? EXAMPLE_HANDLERS, { logger });
    await worker.listen(0, '127.0.0.1');
    const url = new URL(await orchestration.getUrl());
    url.hostname = '127.0.0.1';
    const workerUrl = new URL(await worker.getUrl());
    workerUrl.hostname = '127.0.0.1';
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    return new TaskerHarness(
      backend,
      vhost,
      database,
      pool,
      orchestration,
      worker,
      url.origin,
      workerUrl.origin,
      dir,
    );
  }

  async stop(): Promise<void> {
    await this.worker.close();
    await this.orchestration.close();
    await this.pool.end();
    await this.database.drop();
    await this.vhost?.drop();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  /** Submits a task and waits for it to end (complete or error). */
  async run(namespace: string, name: string, context: Record<string, unknown>): Promise<TaskView> {
    return this.waitForStatus(await this.submit({ namespace, name, context }), [
      'complete',
      'error',
    ]);
  }

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string,
  ): Promise<HttpReply<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers:
        body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {},
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  async submit(body: Record<string, unknown>): Promise<string> {
    const reply = await this.request<{ taskUuid: string }>('POST', '/v1/tasks', body);
    if (reply.status !== 201)
      throw new Error(`submit answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body.taskUuid;
  }

  async task(taskUuid: string): Promise<TaskView> {
    const reply = await this.request<TaskView>('GET', `/v1/tasks/${taskUuid}`);
    if (reply.status !== 200) throw new Error(`GET task answered ${reply.status}`);
    return reply.body;
  }

  /** Waits until the task reaches one of `statuses` and returns it. */
  waitForStatus(taskUuid: string, statuses: string[], timeoutMs = 20000): Promise<TaskView> {
    return pollUntil(
      () => this.task(taskUuid),
      (task) => statuses.includes(task.status),
      { timeoutMs, description: `task ${taskUuid} to reach ${statuses.join('|')}` },
    );
  }

  /**
   * Row counts of the tables a submission creates rows in, to prove a rejected request wrote
   * nothing (transitions cannot exist without their task and steps).
   */
  async rowCounts(): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ tasks: number; steps: number; edges: number }>(
      `SELECT (SELECT count(*) FROM tasker.tasks)::int AS tasks,
              (SELECT count(*) FROM tasker.workflow_steps)::int AS steps,
              (SELECT count(*) FROM tasker.workflow_step_edges)::int AS edges`,
    );
    return { ...rows[0]! };
  }

  /** The orchestration app's MessageBus, to inject messages as a broker would deliver them. */
  bus(): MessageBus {
    return this.orchestration.get(MessageBus);
  }

  /** Messages in a queue, visible or not (RabbitMQ: ready plus delivered but not yet acked). */
  async queueLength(queue: string): Promise<number> {
    if (this.vhost) {
      const out = await rabbitmqctl(
        'list_queues',
        '-p',
        this.vhost.name,
        '--quiet',
        '--no-table-headers',
        'name',
        'messages',
      );
      const line = out.split('\n').find((l) => l.split(/\s+/)[0] === queue);
      return line ? Number(line.split(/\s+/)[1]) : -1;
    }
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT queue_length AS n FROM pgmq.metrics($1)',
      [queue],
    );
    return Number(rows[0]?.n ?? -1);
  }
}
