// The process that holds an embedded PostgreSQL server for `tasker-ctl dev` and `npm run demo`
// (started by startEmbeddedPostgres): `node embedded-postgres.holder.js <dataDir> [--reset]`.
// It starts the server on a free port, sends `{ url }` (or `{ error }`) to its parent over IPC,
// and stops the server and exits when the parent disconnects: when the parent asks, or dies.
// Its parent starts it in a process group of its own, so a Ctrl-C in the terminal reaches the
// apps but not the database they still need while they drain.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { EmbeddedPostgresServer } from './embedded-postgres.server.js';

export type HolderMessage = { url: string } | { error: string };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function hold(): Promise<void> {
  const [dataDir, flag] = process.argv.slice(2);
  if (!dataDir || !process.send)
    throw new Error('usage: a child process with IPC, <dataDir> [--reset]');
  // Resolves once the message is out, so an exit right after cannot drop it.
  const send = (message: HolderMessage) =>
    new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  await mkdir(path.dirname(dataDir), { recursive: true });
  const log = createWriteStream(path.join(path.dirname(dataDir), 'postgres.log'), { flags: 'a' });
  const recent: string[] = [];
  const server = new EmbeddedPostgresServer({
    dataDir,
    port: await freePort(),
    reset: flag === '--reset',
    onLog: (text) => {
      log.write(text.endsWith('\n') ? text : `${text}\n`);
      recent.push(...text.split('\n').filter(Boolean));
      recent.splice(0, Math.max(0, recent.length - 20));
    },
  });
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= server
      .stop()
      .catch(() => undefined)
      .then(() => {
        log.end(() => process.exit(code));
      });
    return stopping;
  };
  process.once('disconnect', () => void stop(0));
  try {
    await send({ url: await server.start() });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    await send({ error: [reason, ...recent.map((line) => `  ${line}`)].join('\n') });
    await stop(1);
  }
}

hold().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
