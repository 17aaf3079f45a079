import pg from 'pg';
import type { MessagingBackend } from '#config';
import {
  createTestDatabase,
  createTestVhost,
  pollUntil,
  type TestDatabase,
  type TestVhost,
} from '#testing';
import { type AppProcess, freePort, startApp, waitReady } from '../scripts/support/app-process.js';

/**
 * Orchestration replicas in different event modes share one database with no leader, as
 * separate OS processes from the build: 2 EventDrivenOnly + 1 PollingOnly + 1 Hybrid
 * orchestration and 2 workers. 1,000 diamond tasks go in through all four HTTP ports. From the append-only
 * transition tables: every task completed, no step or task transition happened twice, no
 * result was applied twice, and every replica applied some. With RabbitMQ the broker pushes and the modes only change the
 * readiness sweep's company; the run must hold all the same. Serial: six processes need the
 * machine to themselves.
 */
describe.each<MessagingBackend>(['pgmq', 'rabbitmq'])(
  'mixed-mode replicas on one database over %s',
  (backend) => {
    const TASKS = 1000;
    let database: TestDatabase;
    let vhost: TestVhost | undefined;
    let pool: pg.Pool;
    const apps: AppProcess[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      vhost = backend === 'rabbitmq' ? await createTestVhost() : undefined;
      pool = new pg.Pool({ connectionString: database.url, max: 2 });
      const env = (mode: string) => ({
        DATABASE_URL: database.url,
        TASKER_ENV: 'test',
        TASKER_MESSAGING_BACKEND: backend,
        ...(vhost ? { RABBITMQ_URL: vhost.url } : {}),
        TASKER_EVENT_MODE: mode,
        TASKER_TEMPLATE_PATH: 'config/tasks',
      });
      const replicas: [string, 'orchestration' | 'worker', string][] = [
        ['orchestration-1', 'orchestration', 'EventDrivenOnly'],
        ['orchestration-2', 'orchestration', 'EventDrivenOnly'],
        ['orchestration-3', 'orchestration', 'PollingOnly'],
        ['orchestration-4', 'orchestration', 'Hybrid'],
        ['worker-1', 'worker', 'EventDrivenOnly'],
        ['worker-2', 'worker', 'PollingOnly'],
      ];
      for (const [name, app, mode] of replicas) {
        apps.push(startApp(app, { name, port: await freePort(), env: env(mode) }));
      }
      await Promise.all(apps.map((app) => waitReady(app)));
    }, 180000);

    afterAll(async () => {
      const codes = await Promise.all(apps.map((app) => app.stop()));
      // Say why a process did not stop cleanly: its last lines.
      apps.forEach((app, i) => {
        if (codes[i] !== 0)
          process.stderr.write(`${app.name} exited with ${codes[i]}:\n${app.tail(80)}\n`);
      });
      await pool?.end();
      await database?.drop();
      await vhost?.drop();
      expect(codes).toEqual(apps.map(() => 0));
    });

    const orchestrators = () => apps.filter((a) => a.name.startsWith('orchestration'));

    async function submit(i: number): Promise<void> {
      const via = orchestrators()[i % orchestrators().length]!;
      const reply = await fetch(`${via.url}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: 'examples', name: 'diamond', context: { n: 2, seq: i } }),
      });
      if (reply.status !== 201) throw new Error(`${via.name} answered ${reply.status}`);
    }

    it('completes 1,000 diamond tasks with every transition and result exactly once', async () => {
      for (let i = 0; i < TASKS; i += 25) {
        await Promise.all(Array.from({ length: 25 }, (_, j) => submit(i + j)));
      }
      await pollUntil(
        async () =>
          (
            await pool.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM tasker.task_transitions
                WHERE most_recent AND to_state = 'complete'`,
            )
          ).rows[0]?.n ?? 0,
        (n) => n === TASKS,
        {
          timeoutMs: 240000,
          intervalMs: 500,
          description: `all ${TASKS} tasks to complete\n${apps.map((a) => a.tail(5)).join('\n')}`,
        },
      );

      const count = async (sql: string) => (await pool.query<{ n: number }>(sql)).rows[0]?.n ?? -1;
      expect(await count('SELECT count(*)::int AS n FROM tasker.tasks')).toBe(TASKS);
      expect(await count('SELECT count(*)::int AS n FROM tasker.workflow_steps')).toBe(TASKS * 4);
      // No step entered any state twice (diamond steps never fail, so no legitimate repeats).
      expect(
        await count(`SELECT count(*)::int AS n FROM (
           SELECT 1 FROM tasker.workflow_step_transitions
            GROUP BY workflow_step_uuid, to_state HAVING count(*) > 1) AS twice`),
      ).toBe(0);
      // Each result applied once: exactly one enqueued_for_orchestration → complete per step.
      expect(
        await count(`SELECT count(*)::int AS n FROM tasker.workflow_step_transitions
                      WHERE from_state = 'enqueued_for_orchestration' AND to_state = 'complete'`),
      ).toBe(TASKS * 4);
      // Task states repeat legitimately (each evaluation passes through them); ending does not.
      expect(
        await count(`SELECT count(*)::int AS n FROM tasker.task_transitions
                    WHERE to_state = 'complete'`),
      ).toBe(TASKS);
      // Work really was shared: every orchestration replica, whatever its mode, applied
      // results (only orchestration records a step's move to complete, as its processor).
      expect(
        await count(`SELECT count(DISTINCT processor_uuid)::int AS n
                       FROM tasker.workflow_step_transitions WHERE to_state = 'complete'`),
      ).toBe(orchestrators().length);
    }, 300000);
  },
);
