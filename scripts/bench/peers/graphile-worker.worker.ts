// A graphile-worker process for the bench: the peer's equivalents of the bench handler.
import { Logger, run, type Task } from 'graphile-worker';
import { monoMs, reportRun } from '../handler-run.js';
import { READY_LINE, readPeerWorkerEnv, stopOnSignals } from './peer-process.js';

interface ChainPayload {
  key: string;
  i: number;
  n: number;
}

const step = (i: number) => String(i).padStart(2, '0');

/** Reports a single job's run, like bench.stamp. */
const stamp: Task = (payload) => {
  const t0 = monoMs();
  reportRun((payload as { key: string }).key, 'only', t0);
};

/** A chain link: reports its run as it hands over, then enqueues the next link. */
const chain: Task = async (payload, helpers) => {
  const t0 = monoMs();
  const { key, i, n } = payload as ChainPayload;
  reportRun(key, step(i), t0);
  if (i < n) await helpers.addJob('chain', { key, i: i + 1, n });
};

// Warnings and errors only, like the Tasker processes (TASKER_LOG_LEVEL=warn).
const logger = new Logger(() => (level, message) => {
  const name = String(level);
  if (name === 'error' || name === 'warning') process.stderr.write(`${name}: ${message}\n`);
});

async function main(): Promise<void> {
  const env = readPeerWorkerEnv();
  const runner = await run({
    connectionString: env.databaseUrl,
    concurrency: env.concurrency,
    maxPoolSize: env.poolMax,
    noHandleSignals: true,
    logger,
    taskList: { stamp, chain },
  });
  stopOnSignals(() => runner.stop());
  process.stdout.write(`${READY_LINE}\n`);
  await runner.promise;
}

main().catch((err: unknown) => {
  process.stderr.write(`graphile-worker bench worker failed: ${String(err)}\n`);
  process.exit(1);
});
