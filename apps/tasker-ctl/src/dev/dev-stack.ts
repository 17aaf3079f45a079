import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type ConfigValues, parseDevDatabase, redactUrl } from '#config';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '#persistence';
import { type AppProcess, startApp, waitReady } from '../../../../scripts/support/app-process.js';

export interface DevStackOptions {
  readonly values: ConfigValues;
  /** Where `.tasker/pgdata` goes when DATABASE_URL is unset. */
  readonly cwd: string;
  /** Wipe the embedded server's cluster first (refused with DATABASE_URL set). */
  readonly reset: boolean;
  readonly orchestrationPort: number;
  readonly workerPort: number;
  /** Progress lines. */
  readonly say: (line: string) => void;
  /** Every line the apps print on stdout, with the app's name. */
  readonly onAppLine?: (app: string, line: string) => void;
}

export interface DevStack {
  /** Where the apps' database is, password redacted. */
  readonly database: string;
  readonly orchestration: AppProcess;
  readonly worker: AppProcess;
  /** Resolves, with the reason, if a part stops without being asked to. */
  readonly lost: Promise<string>;
  /** Stops the apps, then the embedded server if there is one. */
  stop(): Promise<void>;
}

/** Thrown for options the stack cannot use, which the CLI maps to its usage exit code. */
export class DevStackUsageError extends Error {}

// The repository (or installed package) root, found from this file in src/ or in dist/.
const ROOT = (() => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('cannot find the package root');
  }
})();

/**
 * Orchestration and a worker with the example handlers, as child processes from the build, on
 * PGMQ, over DATABASE_URL or else an embedded PostgreSQL server (`.tasker/pgdata`): what
 * `tasker-ctl dev` keeps running and `npm run demo` runs one task on. The templates default to
 * the package's examples, wherever the command runs.
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const choice = parseDevDatabase(options.values, options.cwd);
  if (choice.kind === 'external' && options.reset) {
    throw new DevStackUsageError(
      '--reset wipes the embedded server, which is not used while DATABASE_URL is set',
    );
  }
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  if (choice.kind === 'embedded') {
    embedded = await startEmbeddedPostgres({ dataDir: choice.dataDir, reset: options.reset });
    url = embedded.url;
  } else {
    url = choice.url;
  }
  const apps: AppProcess[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await Promise.all(apps.map((app) => app.stop()));
    await embedded?.stop();
  };
  try {
    const database =
      choice.kind === 'embedded'
        ? `embedded PostgreSQL at ${redactUrl(url)} (cluster in ${path.relative(options.cwd, choice.dataDir)}${options.reset ? ', reset first' : ''})`
        : `${redactUrl(url)} (DATABASE_URL)`;
    options.say(`database: ${database}`);
    if (choice.kind === 'external') await createDatabaseIfMissing(url, options.say);
    const env = {
      DATABASE_URL: url,
      TASKER_MESSAGING_BACKEND: 'pgmq',
      TASKER_TEMPLATE_PATH:
        options.values.TASKER_TEMPLATE_PATH ?? path.join(ROOT, 'config', 'tasks'),
    };
    const start = (app: 'orchestration' | 'worker', port: number) => {
      const started = startApp(app, {
        port,
        env,
        entry: path.join(ROOT, 'dist', 'apps', app, 'src', 'main.js'),
        onLine: (line) => options.onAppLine?.(app, line),
      });
      apps.push(started);
      return started;
    };
    // Orchestration migrates the schema before it is ready; the worker needs that schema.
    const orchestration = start('orchestration', options.orchestrationPort);
    await waitReady(orchestration);
    const worker = start('worker', options.workerPort);
    await waitReady(worker);
    const lost = Promise.race([
      ...(embedded ? [embedded.lost] : []),
      ...apps.map(
        (app) =>
          new Promise<string>((resolve) =>
            app.child.once('exit', (code, signal) => {
              if (!stopping)
                resolve(`${app.name} exited (${signal ?? `code ${code}`})\n${app.tail()}`);
            }),
          ),
      ),
    ]);
    return { database, orchestration, worker, lost, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** As the demo always did on an external server: the database in the URL, made if missing. */
async function createDatabaseIfMissing(url: string, say: (line: string) => void): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      say(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}
