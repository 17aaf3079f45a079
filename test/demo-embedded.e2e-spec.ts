import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../scripts/support/app-process.js';
import { ensureBuilt } from './support/build.js';

/** The server a demo with DATABASE_URL unset used before it had an embedded one. */
const MACHINE_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Databases on the machine's own server, less those that parallel test files and benchmarks
 * make and drop meanwhile; null when no server runs there.
 */
async function machineDatabases(): Promise<string[] | null> {
  const client = new pg.Client({ connectionString: MACHINE_SERVER });
  try {
    await client.connect();
  } catch (err) {
    if ((err as { code?: string }).code === 'ECONNREFUSED') return null;
    throw err;
  }
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database
        WHERE datname NOT LIKE 'tasker\\_test\\_%' AND datname NOT LIKE 'tasker\\_template\\_%'
          AND datname NOT LIKE 'tasker\\_bench\\_%'
        ORDER BY datname`,
    );
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

/** Whether the machine's `tasker` database (if any) holds the task. */
async function machineHoldsTask(taskUuid: string): Promise<boolean> {
  const url = new URL(MACHINE_SERVER);
  url.pathname = '/tasker';
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
  } catch (err) {
    // No server, or no tasker database on it (3D000).
    if (['ECONNREFUSED', '3D000'].includes((err as { code?: string }).code ?? '')) return false;
    throw err;
  }
  try {
    const { rows } = await client.query<{ found: boolean }>(
      `SELECT to_regclass('tasker.tasks') IS NOT NULL
              AND EXISTS (SELECT 1 FROM tasker.tasks WHERE task_uuid::text = $1) AS found`,
      [taskUuid],
    );
    return rows[0]?.found ?? false;
  } finally {
    await client.end();
  }
}

/**
 * `npm run demo` on a machine as a new user has it: DATABASE_URL unset. The built demo runs on
 * an embedded server in .tasker/pgdata of its working directory and leaves the machine's own
 * PostgreSQL as it was.
 */
describe('the demo with DATABASE_URL unset', () => {
  let cwd: string;

  beforeAll(async () => {
    await ensureBuilt();
    cwd = await mkdtemp(path.join(tmpdir(), 'tasker-demo-'));
    await chmod(cwd, 0o755); // as root, the server's OS user postgres must reach the cluster
  }, 300000);

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it('completes the diamond on an embedded server, creating nothing on the machine’s own', async () => {
    const before = await machineDatabases();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DEMO_ORCHESTRATION_PORT: String(await freePort()),
      DEMO_WORKER_PORT: String(await freePort()),
    };
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = execFile(
          process.execPath,
          [path.resolve('dist/scripts/demo.js')],
          { cwd, env, timeout: 120000 },
          (_error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
        );
      },
    );
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(
      /database: embedded PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tasker/,
    );
    expect(run.stdout).toContain('result of end: {"value":162}');
    const password = (await readFile(path.join(cwd, '.tasker/pgdata.password'), 'utf8')).trim();
    expect(run.stdout).not.toContain(password);
    const taskUuid = /task ([0-9a-f-]{36}) accepted/.exec(run.stdout)?.[1];
    expect(taskUuid).toBeDefined();

    expect(await machineDatabases()).toEqual(before);
    expect(await machineHoldsTask(taskUuid!)).toBe(false);
  }, 150000);
});
