import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMigrations } from '#persistence';
import { pollUntil, queryOnce } from '#testing';
import { freePort } from '../scripts/support/app-process.js';
import { ensureBuilt } from './support/build.js';

const CLI = path.resolve('dist/apps/tasker-ctl/src/main.js');

interface Dev {
  readonly child: ChildProcess;
  readonly api: string;
  /** The embedded server's URL, with the password the cluster keeps beside it. */
  readonly databaseUrl: string;
  readonly output: () => string;
  stop(signal: 'SIGINT' | 'SIGTERM'): Promise<number | null>;
}

/**
 * `tasker-ctl dev` with DATABASE_URL unset, as a user runs it: the built CLI as a process in a
 * directory of its own, starting an embedded PostgreSQL server (.tasker/pgdata there), the
 * apps as its children on free ports, and stopping them all on a signal. The cluster outlives a
 * run and `--reset` wipes it.
 */
describe('tasker-ctl dev on an embedded PostgreSQL server', () => {
  let cwd: string;
  let taskUuid: string;

  beforeAll(async () => {
    await ensureBuilt();
    cwd = await mkdtemp(path.join(tmpdir(), 'tasker-dev-'));
    // As root the server runs as the OS user postgres, which must reach the cluster.
    await chmod(cwd, 0o755);
  }, 300000);

  afterAll(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  async function startDev(args: string[] = []): Promise<Dev> {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const child = spawn(
      process.execPath,
      [
        CLI,
        'dev',
        '--port',
        String(await freePort()),
        '--worker-port',
        String(await freePort()),
        ...args,
      ],
      { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    let stdout = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on(
      'data',
      (chunk: Buffer) => (stdout = (stdout + chunk.toString()).slice(-20000)),
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const output = () => `${stderr}\n--- stdout ---\n${stdout.slice(-4000)}`;
    await pollUntil(
      () => Promise.resolve(child.exitCode === null ? stderr : 'exited'),
      (text) => text === 'exited' || text.includes('Ctrl-C stops'),
      {
        timeoutMs: 90000,
        intervalMs: 100,
        description: () => `tasker-ctl dev to start:\n${output()}`,
      },
    );
    if (child.exitCode !== null) throw new Error(`tasker-ctl dev exited:\n${output()}`);
    const api = /orchestration: (http:\/\/\S+)/.exec(stderr)?.[1];
    const redacted = /embedded PostgreSQL at (postgres:\/\/\S+)/.exec(stderr)?.[1];
    if (!api || !redacted) throw new Error(`unexpected dev output:\n${output()}`);
    const password = (await readFile(path.join(cwd, '.tasker/pgdata.password'), 'utf8')).trim();
    expect(output()).not.toContain(password);
    const databaseUrl = new URL(redacted);
    databaseUrl.password = password;
    return {
      child,
      api,
      databaseUrl: databaseUrl.toString(),
      output,
      stop: (signal) => {
        child.kill(signal);
        return exited;
      },
    };
  }

  function serverAnswers(url: string): Promise<boolean> {
    return queryOnce(url, 'SELECT 1').then(
      () => true,
      () => false,
    );
  }

  it('starts the server in .tasker/pgdata, migrates it, and runs a task end to end', async () => {
    const dev = await startDev();
    try {
      expect(dev.output()).toMatch(
        /database: embedded PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/tasker \(cluster in \.tasker\/pgdata\)/,
      );
      expect((await readFile(path.join(cwd, '.tasker/pgdata/PG_VERSION'), 'utf8')).trim()).toBe(
        '15',
      );
      expect((await stat(path.join(cwd, '.tasker/pgdata.password'))).mode & 0o777).toBe(0o600);
      const versions = await queryOnce<{ version: number }>(
        dev.databaseUrl,
        'SELECT version FROM tasker.schema_migrations ORDER BY version',
      );
      expect(versions.map((v) => Number(v.version))).toEqual(
        (await loadMigrations()).map((m) => m.version),
      );
      // The binaries have no pgmq extension: our SQL implementation stands in.
      expect(
        await queryOnce(dev.databaseUrl, `SELECT 1 FROM pg_extension WHERE extname = 'pgmq'`),
      ).toEqual([]);
      expect(
        await queryOnce(
          dev.databaseUrl,
          `SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'pgmq' AND p.proname = 'create'`,
        ),
      ).not.toEqual([]);

      const submitted = await fetch(`${dev.api}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          namespace: 'examples',
          name: 'diamond',
          context: { n: 3 },
          initiator: 'embedded-dev test',
        }),
      });
      expect(submitted.status).toBe(201);
      taskUuid = ((await submitted.json()) as { taskUuid: string }).taskUuid;
      const task = await pollUntil(
        async () =>
          (await (await fetch(`${dev.api}/v1/tasks/${taskUuid}`)).json()) as {
            status: string;
            steps: { name: string; result: unknown }[];
          },
        (t) => t.status === 'complete',
        { timeoutMs: 30000, description: () => dev.output() },
      );
      expect(task.steps.find((s) => s.name === 'end')?.result).toEqual({ value: 162 });
      const ui = await fetch(`${dev.api}/ui/`);
      expect(ui.status).toBe(200);
      expect(ui.headers.get('content-type')).toMatch(/text\/html/);
    } finally {
      expect(await dev.stop('SIGINT')).toBe(0);
    }
    // The server stopped with the command.
    expect(await serverAnswers(dev.databaseUrl)).toBe(false);
  }, 120000);

  it('reuses the cluster on the next start', async () => {
    const dev = await startDev();
    try {
      const reply = await fetch(`${dev.api}/v1/tasks/${taskUuid}`);
      expect(reply.status).toBe(200);
      expect(((await reply.json()) as { status: string }).status).toBe('complete');
    } finally {
      expect(await dev.stop('SIGTERM')).toBe(0);
    }
    expect(await serverAnswers(dev.databaseUrl)).toBe(false);
  }, 120000);

  it('wipes the cluster with --reset', async () => {
    const previousPassword = await readFile(path.join(cwd, '.tasker/pgdata.password'), 'utf8');
    const dev = await startDev(['--reset']);
    try {
      expect(dev.output()).toContain('(cluster in .tasker/pgdata, reset first)');
      expect((await fetch(`${dev.api}/v1/tasks/${taskUuid}`)).status).toBe(404);
      expect(await readFile(path.join(cwd, '.tasker/pgdata.password'), 'utf8')).not.toBe(
        previousPassword,
      );
    } finally {
      expect(await dev.stop('SIGINT')).toBe(0);
    }
  }, 120000);
});
