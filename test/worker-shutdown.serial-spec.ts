import pg from 'pg';
import { createTestDatabase, pollUntil, type TestDatabase } from '#testing';
import { type AppProcess, freePort, startApp, waitReady } from '../scripts/support/app-process.js';

/**
 * SIGTERM to a worker process in the middle of a run: it takes nothing new, lets short
 * handlers finish, releases the runs still going when its grace period ends (back on the
 * queue at once, attempt uncounted), exits 0; another worker then finishes everything.
 */
describe('a worker stopped with SIGTERM mid-run', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let orchestration: AppProcess;
  const workers: AppProcess[] = [];

  const env = () => ({
    DATABASE_URL: database.url,
    TASKER_ENV: 'test',
    TASKER_TEMPLATE_PATH: 'config/tasks',
    TASKER_SHUTDOWN_GRACE_MS: '1500',
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    orchestration = startApp('orchestration', { port: await freePort(), env: env() });
    await waitReady(orchestration);
  }, 120000);

  afterAll(async () => {
    await Promise.all([orchestration, ...workers].map((app) => app?.stop()));
    await pool?.end();
    await database?.drop();
  });

  async function startWorker(name: string): Promise<AppProcess> {
    const worker = startApp('worker', { name, port: await freePort(), env: env() });
    workers.push(worker);
    await waitReady(worker);
    return worker;
  }

  async function submit(body: Record<string, unknown>): Promise<string> {
    const reply = await fetch(`${orchestration.url}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(reply.status).toBe(201);
    return ((await reply.json()) as { taskUuid: string }).taskUuid;
  }

  const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]?.n ?? -1;

  it('releases the unfinished runs, exits 0, and every task completes on another worker', async () => {
    const first = await startWorker('worker-a');
    const naps = await Promise.all(
      Array.from({ length: 6 }, () =>
        submit({ namespace: 'examples', name: 'sleep', context: { sleepMs: 4000 } }),
      ),
    );
    await pollUntil(
      () =>
        count(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
                WHERE most_recent AND to_state = 'in_progress'`),
      (n) => n === naps.length,
      { description: 'every nap to be running on worker-a' },
    );

    expect(await first.stop(10000)).toBe(0);
    // The grace period (1.5 s), not the handlers, ended the runs: every nap was released
    // unfinished, none recorded a result.
    expect(
      await count(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
                    WHERE from_state = 'in_progress' AND to_state = 'enqueued'
                      AND metadata->>'reason' = 'worker_shutdown'`),
    ).toBe(naps.length);
    expect(
      await count(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
                    WHERE to_state IN ('enqueued_for_orchestration',
                                       'enqueued_as_error_for_orchestration')`),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM tasker.workflow_steps WHERE attempts <> 0`),
    ).toBe(0);

    await startWorker('worker-b');
    await pollUntil(
      () =>
        count(`SELECT count(*)::int AS n FROM tasker.task_transitions
                WHERE most_recent AND to_state = 'complete'`),
      (n) => n === naps.length,
      { description: 'every nap to complete on worker-b', timeoutMs: 30000 },
    );
    // One attempt each (max_attempts is 1: the released run did not use it up), one completion.
    expect(
      await count(`SELECT count(*)::int AS n FROM tasker.workflow_steps WHERE attempts <> 1`),
    ).toBe(0);
    expect(
      await count(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
                    WHERE to_state = 'complete'`),
    ).toBe(naps.length);
  });
});
