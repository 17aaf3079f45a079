import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { HolderMessage } from './embedded-postgres.holder.js';

export interface EmbeddedPostgres {
  /** The apps' DATABASE_URL (it holds the password: print it only through redactUrl). */
  readonly url: string;
  /** Resolves, with the reason, only if the server stops without being asked to. */
  readonly lost: Promise<string>;
  /** Stops the server; resolves once it and its holder process have exited. */
  stop(): Promise<void>;
}

const HOLDER = fileURLToPath(new URL('./embedded-postgres.holder.js', import.meta.url));

/**
 * Starts an embedded PostgreSQL server on a free port with its cluster in `dataDir` (made on the
 * first start, reused after; `reset` wipes it first), in a holder process of its own process
 * group: a terminal's Ctrl-C stops the apps first, and the caller stops the database after them.
 * The server also stops when this process exits or dies (the holder sees its IPC channel close).
 */
export function startEmbeddedPostgres(options: {
  dataDir: string;
  reset: boolean;
}): Promise<EmbeddedPostgres> {
  const holder = spawn(
    process.execPath,
    [HOLDER, options.dataDir, ...(options.reset ? ['--reset'] : [])],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  holder.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // What a holder that failed at once (a missing platform package) printed, read to its end.
  const stderrRead = new Promise((resolve) => holder.stderr?.once('end', resolve));
  // 'exit', not 'close': after disconnect() Node never emits 'close' for this child.
  const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
  let stopping = false;
  const stop = async () => {
    stopping = true;
    if (holder.connected) holder.disconnect();
    await exited;
  };
  return new Promise((resolve, reject) => {
    let failure: string | undefined;
    let started = false;
    holder.once('message', (message: HolderMessage) => {
      // On an error the holder stops what it started and exits by itself.
      if ('error' in message) return void (failure = message.error);
      const lost = new Promise<string>((lose) => {
        void exited.then((code) => {
          if (!stopping) lose(`the embedded PostgreSQL server stopped (holder exit code ${code})`);
        });
      });
      started = true;
      resolve({ url: message.url, lost, stop });
    });
    void exited.then(async (code) => {
      if (started) return;
      if (failure === undefined) await Promise.race([stderrRead, sleep(1000)]);
      reject(
        new Error(
          failure ??
            `the embedded PostgreSQL server could not start (exit ${code})${stderr ? `: ${stderr.trim()}` : ''}`,
        ),
      );
    });
  });
}
