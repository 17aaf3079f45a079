// Databases, vhosts and process facts for the bench. Everything it creates is named
// tasker_bench_<random> and removed again when its system has been measured.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export interface BenchVhost {
  readonly url: string;
  drop(): Promise<void>;
}

function serverUrl(database: string): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = `/${database}`;
  return url.toString();
}

/** A connection of its own to `database` (the server's maintenance database by default). */
async function withAdmin<T>(
  work: (client: pg.Client) => Promise<T>,
  database = 'postgres',
): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl(database) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const uniqueName = (label: string) =>
  `tasker_bench_${label}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;

/** An empty database on the server of DATABASE_URL (the local one by default). */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = uniqueName(label);
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: serverUrl(name),
    drop: async () => {
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}

/**
 * Transactions committed or rolled back in `database` so far: each statement outside an
 * explicit transaction is one. Read from another database, so reading adds nothing to it.
 */
export function transactionCount(database: string): Promise<number> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

/**
 * VACUUM (ANALYZE) of every table of `database`, as pgbench does before each run: this machine
 * runs PostgreSQL with autovacuum off (CI's setting), so without it each phase would inherit
 * the dead rows of all before it, which autovacuum clears in production.
 */
export async function vacuumDatabase(database: string): Promise<void> {
  await withAdmin((client) => client.query('VACUUM (ANALYZE)'), database);
}

export function postgresVersion(): Promise<string> {
  return withAdmin(async (admin) => {
    const { rows } = await admin.query<{ v: string }>(
      "SELECT current_setting('server_version') AS v",
    );
    return rows[0]?.v ?? 'unknown';
  });
}

async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60000 });
  return stdout;
}

/** A RabbitMQ vhost of its own on the local broker (made with rabbitmqctl, like the tests'). */
export async function createBenchVhost(): Promise<BenchVhost> {
  const name = uniqueName('vhost');
  const url = new URL(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl(
    'set_permissions',
    '-p',
    name,
    decodeURIComponent(url.username),
    '.*',
    '.*',
    '.*',
  );
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: url.toString(),
    drop: () => rabbitmqctl('delete_vhost', name).then(() => undefined),
  };
}

export async function rabbitmqVersion(): Promise<string> {
  try {
    return (await rabbitmqctl('version')).trim();
  } catch {
    return 'unavailable';
  }
}

/** Resident set size of a process in MiB (Linux /proc), or null when it is gone. */
export async function rssMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}
