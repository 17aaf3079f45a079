import { spawn } from 'node:child_process';
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
  const exited = new Promise<number | null>((resolve) => holder.once('exit', resolve));
  let stopping = false;
  const stop = async () => {
    stopping = true;
    if (holder.connected) holder.disconnect();
    await exited;
  };
  return new Promise((resolve, reject) => {
    holder.once('message', (message: HolderMessage) => {
      if ('error' in message) return void stop().then(() => reject(new Error(message.error)));
      const lost = new Promise<string>((lose) => {
        void exited.then((code) => {
          if (!stopping) lose(`the embedded PostgreSQL server stopped (holder exit code ${code})`);
        });
      });
      resolve({ url: message.url, lost, stop });
    });
    void exited.then((code) =>
      reject(
        new Error(
          `the embedded PostgreSQL server could not start (exit ${code})${stderr ? `: ${stderr.trim()}` : ''}`,
        ),
      ),
    );
  });
}
