import pg from 'pg';
import { adminUrl, pollUntil } from '#testing';
import { TaskerHarness } from './support/tasker-harness.js';

/** Both apps EventDrivenOnly; their LISTEN connections are killed in the middle of a run. */
describe('LISTEN connections killed during a run (EventDrivenOnly)', () => {
  const TASKS = 100;
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({ backend: 'pgmq', eventMode: 'EventDrivenOnly' });
  });

  afterAll(async () => {
    await tasker?.stop();
  });

  const completed = async () =>
    (
      await tasker.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM tasker.task_transitions
          WHERE most_recent AND to_state = 'complete'`,
      )
    ).rows[0]?.n ?? 0;

  const listenPids = async () =>
    (
      await tasker.pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'tasker-listen'`,
      )
    ).rows.map((r) => r.pid);

  it('reconnects both apps and completes every task, each step once', async () => {
    await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        tasker.submit({ namespace: 'examples', name: 'diamond', context: { n: 2, seq: i } }),
      ),
    );
    await pollUntil(completed, (n) => n >= 5, { description: 'the run to be under way' });
    const killed = await listenPids();
    expect(killed).toHaveLength(2);
    await tasker.pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [
      killed,
    ]);
    await pollUntil(completed, (n) => n === TASKS, {
      description: `all ${TASKS} tasks to complete`,
      timeoutMs: 60000,
    });
    const now = await listenPids();
    expect(now).toHaveLength(2);
    expect(now.filter((pid) => killed.includes(pid))).toEqual([]);
    const { rows } = await tasker.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (
         SELECT workflow_step_uuid FROM tasker.workflow_step_transitions
          WHERE to_state = 'complete' GROUP BY workflow_step_uuid HAVING count(*) > 1) AS twice`,
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('answers 503 naming the event source while LISTEN cannot reconnect, 200 once it has', async () => {
    const database = new URL(tasker.database.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS false`);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = $1 AND application_name = 'tasker-listen'`,
        [database],
      );
      const down = await pollUntil(
        () =>
          tasker.request<{ error?: Record<string, { status: string }> }>('GET', '/health/ready'),
        (reply) => reply.status === 503,
        { description: 'readiness to report the event source down' },
      );
      expect(down.body.error?.events?.status).toBe('down');
      // The pool's open connections still work: only the event source is down.
      expect(down.body.error?.database).toBeUndefined();
    } finally {
      await admin.query(`ALTER DATABASE "${database}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await pollUntil(
      () => tasker.request('GET', '/health/ready'),
      (reply) => reply.status === 200,
      { description: 'readiness to recover', timeoutMs: 15000 },
    );
  });
});
