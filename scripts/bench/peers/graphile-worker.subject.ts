import { Logger, makeWorkerUtils, type WorkerUtils } from 'graphile-worker';
import pg from 'pg';
import type { AppProcess } from '../../support/app-process.js';
import { type BenchDatabase, createBenchDatabase } from '../infra.js';
import { RunFeed } from '../run-feed.js';
import type { BenchSettings } from '../settings.js';
import type { Subject, SubjectProcess } from '../subject.js';
import { peerWorkerEnv, startPeerWorker } from './peer-process.js';

const WORKER_ENTRY = 'dist/scripts/bench/peers/graphile-worker.worker.js';
const BATCH = 1000;

const quiet = new Logger(() => () => undefined);

/**
 * graphile-worker on a database of its own: jobs are added from the bench process (as a
 * client application would), run by worker processes with LISTEN/NOTIFY (its default).
 */
export class GraphileWorkerSubject implements Subject {
  readonly id = 'graphile-worker';
  readonly label = 'graphile-worker';
  readonly kind = 'peer';
  readonly feed = new RunFeed();
  private database: BenchDatabase | undefined;
  private utils: WorkerUtils | undefined;
  private pool: pg.Pool | undefined;
  private workers: AppProcess[] = [];

  constructor(private readonly settings: BenchSettings) {}

  get databaseName(): string {
    if (!this.database) throw new Error('not set up');
    return this.database.name;
  }

  async setup(): Promise<void> {
    this.database = await createBenchDatabase('graphile');
    this.pool = new pg.Pool({ connectionString: this.database.url, max: 2 });
    this.pool.on('error', () => undefined); // an idle client lost: the pool replaces it
    this.utils = await makeWorkerUtils({ pgPool: this.pool, logger: quiet });
    await this.utils.migrate();
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
        startPeerWorker(WORKER_ENTRY, `graphile-worker-${i + 1}`, env, this.feed),
      ),
    );
  }

  async stopWorkers(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((w) => w.stop()));
  }

  async submitSingle(key: string): Promise<void> {
    await this.workerUtils().addJob('stamp', { key });
  }

  async submitChain(key: string, length: number): Promise<void> {
    await this.workerUtils().addJob('chain', { key, i: 1, n: length });
  }

  async queueBacklog(
    shape: 'single' | 'diamond',
    count: number,
    onProgress: (done: number) => void,
  ): Promise<void> {
    if (shape !== 'single') throw new Error('graphile-worker has no diamond shape');
    for (let start = 0; start < count; start += BATCH) {
      const size = Math.min(BATCH, count - start);
      await this.workerUtils().addJobs(
        Array.from({ length: size }, (_, i) => ({
          identifier: 'stamp',
          payload: { key: `single${start + i}` },
        })),
      );
      onProgress(start + size);
    }
  }

  async finishedAt(): Promise<number> {
    const deadline = Date.now() + 120000;
    for (;;) {
      const { rows } = await this.pool!.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM graphile_worker._private_jobs',
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
    await this.utils?.release();
    this.utils = undefined;
    await this.pool?.end();
    this.pool = undefined;
    await this.database?.drop();
  }

  private workerUtils(): WorkerUtils {
    if (!this.utils) throw new Error('not set up');
    return this.utils;
  }
}
