import { type AppProcess, startApp } from '../../support/app-process.js';
import { parseRunLine } from '../handler-run.js';
import type { RunFeed } from '../run-feed.js';

/** What a peer worker process prints once it takes jobs. */
export const READY_LINE = '@ready';

/**
 * Starts a peer's worker process (a script in dist/scripts/bench/peers) that reports its
 * handler runs into `feed`, and waits until it prints READY_LINE.
 */
export async function startPeerWorker(
  entry: string,
  name: string,
  env: Record<string, string>,
  feed: RunFeed,
): Promise<AppProcess> {
  let settle: (err?: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  const worker = startApp('worker', {
    name,
    entry,
    port: 0,
    env,
    onLine: (line) => {
      if (line === READY_LINE) settle();
      const run = parseRunLine(line);
      if (run) feed.push(run);
    },
  });
  const onExit = (code: number | null) =>
    settle(new Error(`${name} exited with code ${code}\n${worker.tail()}`));
  worker.child.once('exit', onExit);
  const timer = setTimeout(
    () => settle(new Error(`${name} was not ready within 60 s\n${worker.tail()}`)),
    60000,
  );
  try {
    await ready;
  } catch (err) {
    await worker.stop(2000);
    throw err;
  } finally {
    clearTimeout(timer);
    worker.child.off('exit', onExit);
  }
  return worker;
}

/** The settings a peer worker process reads from its environment. */
export interface PeerWorkerEnv {
  databaseUrl: string;
  concurrency: number;
  poolMax: number;
}

export function peerWorkerEnv(settings: PeerWorkerEnv): Record<string, string> {
  return {
    BENCH_DATABASE_URL: settings.databaseUrl,
    BENCH_CONCURRENCY: String(settings.concurrency),
    BENCH_POOL_MAX: String(settings.poolMax),
  };
}

export function readPeerWorkerEnv(): PeerWorkerEnv {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
  return {
    databaseUrl,
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 10),
    poolMax: Number(process.env.BENCH_POOL_MAX ?? 5),
  };
}

/** Runs `stop` on SIGTERM/SIGINT and exits 0 (1 if stopping failed). */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`stopping failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    });
  }
}
