import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createTestDatabase, type TestDatabase } from '#testing';
import { type AppProcess, freePort, startApp, waitReady } from '../scripts/support/app-process.js';

const EXAMPLE = 'examples/worker-service';

/** Runs a command to its end, its output in the error when it fails. Never blocks the loop, which
 * reads the apps' output meanwhile. */
async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    return (await promisify(execFile)(command, args, { maxBuffer: 16 * 1024 * 1024, ...options }))
      .stdout;
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`, { cause: err });
  }
}

/**
 * examples/worker-service as a user has it: a project depending on this package by path, built
 * against the package's dist/ through its `exports` (tasker/worker, tasker/client). Its own
 * tests run with npm test; its flow test submits orders through the client to orchestration
 * and its worker, both processes, on a database of their own.
 */
describe('the worker-service example', () => {
  let database: TestDatabase;
  let orchestration: AppProcess | undefined;
  let worker: AppProcess | undefined;

  beforeAll(async () => {
    // What `npm run build` makes of the package (the dashboard aside), then the example's install
    // (a link to this package; its own dev tools from the lockfile) and build.
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
    await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: EXAMPLE });
    await run('npm', ['run', 'build'], { cwd: EXAMPLE });

    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url,
      TASKER_ENV: 'test',
      TASKER_LOG_LEVEL: 'warn',
      TASKER_TEMPLATE_PATH: `${EXAMPLE}/templates`,
      TASKER_POLL_INTERVAL_MS: '20',
      TASKER_SWEEP_INTERVAL_MS: '100',
    };
    orchestration = startApp('orchestration', { port: await freePort(), env });
    await waitReady(orchestration);
    worker = startApp('worker', {
      name: 'example-worker',
      port: await freePort(),
      env,
      entry: `${EXAMPLE}/dist/src/main.js`,
    });
    await waitReady(worker);
  }, 300_000);

  afterAll(async () => {
    await worker?.stop();
    await orchestration?.stop();
    await database?.drop();
  });

  it('passes its own handler tests (npm test)', async () => {
    expect(await run('npm', ['test'], { cwd: EXAMPLE })).toMatch(/# pass 5\s+# fail 0/);
  });

  it('runs its orders end to end through tasker/client (npm run test:flow)', async () => {
    const output = await run('npm', ['run', 'test:flow'], {
      cwd: EXAMPLE,
      env: { ...process.env, TASKER_URL: orchestration!.url },
    });
    expect(output).toMatch(/# pass 3\s+# fail 0/);
  }, 60_000);
});
