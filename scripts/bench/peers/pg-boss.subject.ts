import PgBoss from 'pg-boss';
import pg from 'pg';
import type { AppProcess } from '../../support/app-process.js';
import { type BenchDatabase, createBenchDatabase } from '../infra.js';
import { RunFeed } from '../run-feed.js';
import type { BenchSettings } from '../settings.js';
import type { Subject, SubjectProcess } from '../subject.js';
import { peerWorkerEnv, startPeerWorker } from './peer-process.js';
import { PG_BOSS_QUEUE, type PgBossBenchJob } from './pg-boss.queue.js';

const WORKER_ENTRY = 'dist/scripts/bench/peers/pg-boss.worker.js';
const BATCH = 1000;

/**
 * pg-boss on a database of its own: jobs are sent from the bench process (a client without
 * maintenance or schedules), run by worker processes that poll (pg-boss has no LISTEN/NOTIFY).
 */
export class PgBossSubject implements Subject {
  readonly id = 'pg-boss';
  readonly label = 'pg-boss';
  readonly kind = 'peer';
  readonly feed = new RunFeed();
  private database: BenchDatabase | undefined;
  private boss: PgBoss | undefined;
  private pool: pg.Pool | undefined;
  private workers: AppProcess[] = [];

  constructor(private readonly settings: BenchSettings) {}

  get databaseName(): string {
    if (!this.database) throw new Error('not set up');
    return this.database.name;
  }

  async setup(): Promise<void> {
    this.database = await createBenchDatabase('pgboss');
    this.pool = new pg.Pool({ connectionString: this.database.url, max: 1 });
    this.pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    this.boss = new PgBoss({
      connectionString: this.database.url,
      max: 2,
      supervise: false,
      schedule: false,
    });
    this.boss.on('error', (err) => process.stderr.write(`pg-boss client: ${String(err)}\n`));
    await this.boss.start();
    await this.boss.createQueue(PG_BOSS_QUEUE);
  }

  async startWorkers(): Promise<void> {
    if (this.workers.length > 0 || !this.database) return;
    const env = peerWorkerEnv({
      databaseUrl: this.database.url,
      concurrency: this.settings.concurrency,
      poolMax: this.settings.poolMax,
    });
    this.workers = await Promise.all(
      Array.from({ length: this.settings.workers }, (_, i) =>
        startPeerWorker(WORKER_ENTRY, `pg-boss-${i + 1}`, env, this.feed),
      ),
    );
  }

  async stopWorkers(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.stop()));
  }

  async submitSingle(key: string): Promise<void> {
    await this.send({ key });
  }

  async submitChain(key: string, length: number): Promise<void> {
    await this.send({ key, i: 1, n: length });
  }

  async queueBacklog(
    shape: 'single' | 'diamond',
    count: number,
    onProgress: (done: number) => void,
  ): Promise<void> {
    if (shape !== 'single') throw new Error('pg-boss has no diamond shape');
    for (let start = 0; start < count; start += BATCH) {
      const size = Math.min(BATCH, count - start);
      await this.client().insert(
        Array.from({ length: size }, (_, i) => ({
          name: PG_BOSS_QUEUE,
          data: { key: `single${start + i}` } satisfies PgBossBenchJob,
        })),
      );
      onProgress(start + size);
    }
  }

  async finishedAt(): Promise<number> {
    const deadline = Date.now() + 120000;
    for (;;) {
      const { rows } = await this.pool!.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pgboss.job
          WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
        [PG_BOSS_QUEUE],
      );
      if (rows[0]?.n === 0) return this.feed.lastEnd;
      if (Date.now() > deadline) throw new Error(`${rows[0]?.n} jobs still queued`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  processes(): SubjectProcess[] {
    return this.workers.map((w) => ({ name: w.name, role: 'worker' as const, pid: w.child.pid }));
  }

  tails(): string {
    return this.workers.map((w) => w.tail(15)).join('\n');
  }

  async teardown(): Promise<void> {
    await this.stopWorkers();
    await this.boss?.stop({ graceful: false, wait: true });
    this.boss = undefined;
    await this.pool?.end();
    this.pool = undefined;
    await this.database?.drop();
  }

  private async send(job: PgBossBenchJob): Promise<void> {
    const id = await this.client().send(PG_BOSS_QUEUE, job);
    if (id === null) throw new Error('pg-boss did not create the job');
  }

  private client(): PgBoss {
    if (!this.boss) throw new Error('not set up');
    return this.boss;
  }
}
