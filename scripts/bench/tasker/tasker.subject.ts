import pg from 'pg';
import type { EventMode, MessagingBackend } from '#config';
import { type AppProcess, freePort, startApp, waitReady } from '../../support/app-process.js';
import { monoMs, parseRunLine } from '../handler-run.js';
import {
  type BenchDatabase,
  type BenchVhost,
  createBenchDatabase,
  createBenchVhost,
} from '../infra.js';
import { RunFeed } from '../run-feed.js';
import type { BenchSettings, SystemId, Topology } from '../settings.js';
import type { BatchTemplate, SubjectProcess, TaskerBenchSubject } from '../subject.js';

const WORKER_ENTRY = 'dist/scripts/bench/tasker/bench-worker.js';
export const BENCH_TEMPLATE_PATH = 'scripts/bench/templates';

/** The namespace of the bench templates, and of the load that transition-load runs beside. */
const NAMESPACE = 'bench';
const LOAD_NAMESPACE = 'bench_load';

/** The namespace and name of each batch template. */
const BATCH_TEMPLATES: Record<BatchTemplate, [namespace: string, name: string]> = {
  single: [NAMESPACE, 'single'],
  load: [LOAD_NAMESPACE, 'single'],
  fair: [NAMESPACE, 'fair'],
  limited: [NAMESPACE, 'limited'],
  unlimited: [NAMESPACE, 'unlimited'],
};

/**
 * Tasker as deployed: orchestration (one process, more for the scaling scenario) and the bench's
 * worker processes, over HTTP.
 */
export class TaskerSubject implements TaskerBenchSubject {
  readonly kind = 'tasker';
  readonly feed = new RunFeed();
  private database: BenchDatabase | undefined;
  private vhost: BenchVhost | undefined;
  private pool: pg.Pool | undefined;
  /** Submissions go to the first; the others only consume results. */
  private orchestrations: AppProcess[] = [];
  private workers: AppProcess[] = [];
  /** What the next startWorkers starts (see reshape); set by setup. */
  private workerCount = 0;
  private workerNamespaces = NAMESPACE;
  private completedBefore = 0;

  constructor(
    readonly id: SystemId,
    readonly label: string,
    private readonly backend: MessagingBackend,
    private readonly mode: EventMode | null,
    private readonly settings: BenchSettings,
  ) {}

  get databaseName(): string {
    if (!this.database) throw new Error('not set up');
    return this.database.name;
  }

  /** The environment every process gets: production settings, quiet logs, the bench templates. */
  settingsEnv(): Record<string, string> {
    if (!this.database) throw new Error('not set up');
    return {
      DATABASE_URL: this.database.url,
      TASKER_ENV: 'production',
      TASKER_LOG_LEVEL: 'warn',
      TASKER_LOG_FORMAT: 'json',
      TASKER_MESSAGING_BACKEND: this.backend,
      ...(this.vhost ? { RABBITMQ_URL: this.vhost.url } : {}),
      ...(this.mode ? { TASKER_EVENT_MODE: this.mode } : {}),
      TASKER_TEMPLATE_PATH: BENCH_TEMPLATE_PATH,
      TASKER_DB_POOL_MAX: String(this.settings.poolMax),
      TASKER_WORKER_CONCURRENCY: String(this.settings.concurrency),
      // A 20,000-task backlog (100,000 in the long drain) waits longer than the default 5
      // minutes would allow before the sweep re-announces its steps (harmless duplicates, but
      // work that is not the drain's).
      TASKER_REANNOUNCE_AFTER_MS: '1800000',
      TASKER_SHUTDOWN_GRACE_MS: '5000',
    };
  }

  async setup(): Promise<void> {
    this.database = await createBenchDatabase(this.id.replaceAll('-', '_'));
    if (this.backend === 'rabbitmq') this.vhost = await createBenchVhost();
    this.pool = new pg.Pool({ connectionString: this.database.url, max: 1 });
    this.pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    this.workerCount = this.settings.workers;
    await this.startOrchestration();
  }

  async reshape(topology: Topology, withLoad: boolean): Promise<void> {
    await this.stopWorkers();
    while (this.orchestrations.length > topology.orchestrations) {
      await this.orchestrations.pop()?.stop();
    }
    while (this.orchestrations.length < topology.orchestrations) await this.startOrchestration();
    this.workerCount = topology.workers;
    this.workerNamespaces = withLoad ? `${NAMESPACE},${LOAD_NAMESPACE}` : NAMESPACE;
  }

  async startWorkers(): Promise<void> {
    if (this.workers.length > 0) return;
    for (let i = 1; i <= this.workerCount; i++) {
      this.workers.push(
        startApp('worker', {
          name: `worker-${i}`,
          entry: WORKER_ENTRY,
          port: await freePort(),
          env: { ...this.settingsEnv(), TASKER_WORKER_NAMESPACES: this.workerNamespaces },
          onLine: (line) => {
            const run = parseRunLine(line);
            if (run) this.feed.push(run);
          },
        }),
      );
    }
    await Promise.all(this.workers.map((w) => waitReady(w)));
  }

  async stopWorkers(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.stop()));
  }

  async submitSingle(key: string): Promise<void> {
    await this.submit(NAMESPACE, 'single', key);
  }

  async submitChain(key: string, length: number): Promise<void> {
    if (length !== 10) throw new Error('the bench template bench/linear10 has 10 steps');
    await this.submit(NAMESPACE, 'linear10', key);
  }

  async queueBacklog(
    shape: 'single' | 'diamond',
    count: number,
    onProgress: (done: number) => void,
  ): Promise<void> {
    this.completedBefore = await this.completedTasks();
    await this.submitMany(count, (i) => this.submit(NAMESPACE, shape, `${shape}${i}`), onProgress);
  }

  async queueBatch(
    batch: string,
    count: number,
    template: BatchTemplate,
    onProgress: (done: number) => void,
    tenantOf?: (i: number) => string,
  ): Promise<void> {
    const [namespace, name] = BATCH_TEMPLATES[template];
    await this.submitMany(
      count,
      (i) =>
        this.submit(
          namespace,
          name,
          `${batch}-${i}`,
          batch,
          tenantOf ? { tenant: tenantOf(i) } : {},
        ),
      onProgress,
    );
  }

  async submitAtOnce(
    batch: string,
    count: number,
    template: BatchTemplate,
    tenant: string,
  ): Promise<Map<string, number>> {
    const [namespace, name] = BATCH_TEMPLATES[template];
    const submitted = new Map<string, number>();
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const key = `${batch}-${i}`;
        submitted.set(key, Date.now());
        return this.submit(namespace, name, key, batch, { tenant });
      }),
    );
    return submitted;
  }

  async completedAtByKey(
    batch: string,
    count: number,
    timeoutMs: number,
  ): Promise<Map<string, number>> {
    await this.waitCompleted(batch, count, timeoutMs);
    const { rows } = await this.query<{ key: string; t: number }>(
      `SELECT context->>'key' AS key, (extract(epoch FROM completed_at) * 1000)::float8 AS t
         FROM tasker.tasks WHERE correlation_id = $1`,
      [batch],
    );
    return new Map(rows.map((r) => [r.key, r.t]));
  }

  async completionTimes(batch: string, count: number): Promise<number[]> {
    await this.waitCompleted(batch, count, 120000);
    const { rows } = await this.query<{ t: number }>(
      `SELECT (extract(epoch FROM completed_at) * 1000)::float8 AS t FROM tasker.tasks
        WHERE correlation_id = $1 ORDER BY completed_at`,
      [batch],
    );
    // completed_at is wall-clock time; the runs are monotonic: shift by the clocks' offset.
    const offset = Date.now() - monoMs();
    return rows.map((r) => r.t - offset);
  }

  /** Waits, at most `timeoutMs`, until `count` tasks of `batch` have completed_at. */
  private async waitCompleted(batch: string, count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasker.tasks
          WHERE correlation_id = $1 AND completed_at IS NOT NULL`,
        [batch],
      );
      const done = rows[0]?.n ?? 0;
      if (done >= count) return;
      if (Date.now() > deadline) {
        throw new Error(
          `only ${done} tasks of ${batch} completed; expected ${count}; the others' steps: ${await this.openSteps(batch)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** The current states of the steps of `batch`'s tasks not completed, counted: a diagnosis. */
  private async openSteps(batch: string): Promise<string> {
    const { rows } = await this.query<{ state: string; n: number }>(
      `SELECT coalesce(st.to_state, 'none') AS state, count(*)::int AS n
         FROM tasker.tasks t
         JOIN tasker.workflow_steps s ON s.task_uuid = t.task_uuid
         LEFT JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
        WHERE t.correlation_id = $1 AND t.completed_at IS NULL
        GROUP BY 1 ORDER BY 1`,
      [batch],
    );
    return rows.map((r) => `${r.n} ${r.state}`).join(', ') || 'none';
  }

  async finishedAt(tasks: number): Promise<number> {
    const deadline = Date.now() + 120000;
    for (;;) {
      const { rows } = await this.query<{ n: number; last: number | null }>(
        `SELECT count(*)::int AS n, (extract(epoch FROM max(completed_at)) * 1000)::float8 AS last
           FROM tasker.tasks WHERE completed_at IS NOT NULL`,
      );
      const row = rows[0];
      if (row && row.n >= this.completedBefore + tasks && row.last !== null) {
        // completed_at is wall-clock time; the runs are monotonic: shift by the clocks' offset.
        return row.last - (Date.now() - monoMs());
      }
      if (Date.now() > deadline) {
        throw new Error(
          `only ${row?.n ?? 0} tasks completed; expected ${this.completedBefore + tasks}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  processes(): SubjectProcess[] {
    return [
      ...this.orchestrations.map((o) => ({
        name: o.name,
        role: 'orchestration' as const,
        pid: o.child.pid,
      })),
      ...this.workers.map((w) => ({ name: w.name, role: 'worker' as const, pid: w.child.pid })),
    ];
  }

  /** Output of the processes, for a failure report. */
  tails(): string {
    return [...this.orchestrations, ...this.workers].map((a) => a.tail(15)).join('\n');
  }

  async teardown(): Promise<void> {
    await this.stopWorkers();
    const orchestrations = this.orchestrations;
    this.orchestrations = [];
    await Promise.all(orchestrations.map((o) => o.stop()));
    await this.pool?.end();
    this.pool = undefined;
    await this.database?.drop();
    await this.vhost?.drop();
    this.vhost = undefined;
  }

  /** The first orchestration process is `orchestration`, the others `orchestration-<n>`. */
  private async startOrchestration(): Promise<void> {
    const n = this.orchestrations.length + 1;
    const app = startApp('orchestration', {
      name: n === 1 ? 'orchestration' : `orchestration-${n}`,
      port: await freePort(),
      env: this.settingsEnv(),
    });
    this.orchestrations.push(app);
    await waitReady(app);
  }

  /** Submits `count` tasks, `submitParallelism` at a time; reports every hundredth. */
  private async submitMany(
    count: number,
    submitOne: (i: number) => Promise<void>,
    onProgress: (done: number) => void,
  ): Promise<void> {
    let next = 0;
    let done = 0;
    const submitter = async () => {
      while (next < count) {
        await submitOne(next++);
        if (++done % 100 === 0) onProgress(done);
      }
    };
    await Promise.all(Array.from({ length: this.settings.submitParallelism }, submitter));
  }

  private async submit(
    namespace: string,
    name: string,
    key: string,
    correlationId?: string,
    context: Record<string, unknown> = {},
  ): Promise<void> {
    const submitTo = this.orchestrations[0];
    if (!submitTo) throw new Error('not set up');
    const reply = await fetch(`${submitTo.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ namespace, name, context: { ...context, key }, correlationId }),
    });
    if (reply.status !== 201) {
      throw new Error(
        `POST /v1/tasks (${namespace}/${name}) answered ${reply.status}: ${await reply.text()}`,
      );
    }
    await reply.arrayBuffer();
  }

  private async completedTasks(): Promise<number> {
    const { rows } = await this.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tasker.tasks WHERE completed_at IS NOT NULL',
    );
    return rows[0]?.n ?? 0;
  }

  private query<R extends pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    if (!this.pool) throw new Error('not set up');
    return this.pool.query<R>(sql, params);
  }
}
