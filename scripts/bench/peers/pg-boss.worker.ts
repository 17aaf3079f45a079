// A pg-boss process for the bench: the peer's equivalents of the bench handler, with its
// default settings but for the polling interval, set to its minimum (it has no LISTEN/NOTIFY).
import PgBoss from 'pg-boss';
import { monoMs, reportRun } from '../handler-run.js';
import { READY_LINE, readPeerWorkerEnv, stopOnSignals } from './peer-process.js';
import { PG_BOSS_QUEUE, type PgBossBenchJob } from './pg-boss.queue.js';

/** pg-boss's minimum. */
const POLLING_SECONDS = 0.5;

async function main(): Promise<void> {
  const env = readPeerWorkerEnv();
  const boss = new PgBoss({ connectionString: env.databaseUrl, max: env.poolMax });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${String(err)}\n`));
  await boss.start();
  const handle = async ([job]: PgBoss.Job<PgBossBenchJob>[]) => {
    const t0 = monoMs();
    if (!job) return;
    const { key, i, n } = job.data;
    if (i === undefined || n === undefined) return reportRun(key, 'only', t0);
    reportRun(key, String(i).padStart(2, '0'), t0);
    if (i < n) await boss.send(PG_BOSS_QUEUE, { key, i: i + 1, n });
  };
  // Each work() call is one polling worker taking one job at a time: `concurrency` of them.
  for (let w = 0; w < env.concurrency; w++) {
    await boss.work<PgBossBenchJob>(
      PG_BOSS_QUEUE,
      { batchSize: 1, pollingIntervalSeconds: POLLING_SECONDS },
      handle,
    );
  }
  stopOnSignals(() => boss.stop({ graceful: true, wait: true, timeout: 10000 }));
  process.stdout.write(`${READY_LINE}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`pg-boss bench worker failed: ${String(err)}\n`);
  process.exit(1);
});
