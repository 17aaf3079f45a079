import { setTimeout as sleep } from 'node:timers/promises';
import {
  killRabbitMqNode,
  pollUntil,
  rabbitMqNodePid,
  rabbitmqctl,
  startRabbitMqNode,
} from '#testing';
import { expectCleanLedger } from './support/ledger.js';
import { TaskerHarness } from './support/tasker-harness.js';

/**
 * How the broker goes away: its app stopped cleanly, or its whole process killed. Each is
 * prepared before the run (the slow lookups done), so the outage itself starts at once.
 */
const OUTAGES: [string, () => Promise<() => Promise<unknown>>][] = [
  [
    'the broker app stopped (rabbitmqctl stop_app)',
    () => Promise.resolve(() => rabbitmqctl('stop_app')),
  ],
  [
    'the broker process killed with SIGKILL',
    async () => {
      const pid = await rabbitMqNodePid();
      return () => killRabbitMqNode(pid);
    },
  ],
];

/**
 * The broker goes away in the middle of a run and comes back: every task still completes and
 * no result is applied twice. This stops the whole local RabbitMQ, so it runs in the serial
 * phase of `npm test`, alone.
 */
describe.each(OUTAGES)('a RabbitMQ outage during a run of 400 tasks: %s', (_label, prepare) => {
  const TASKS = 400;
  let tasker: TaskerHarness;

  beforeAll(async () => {
    tasker = await TaskerHarness.start({
      backend: 'rabbitmq',
      // Announcements that failed while the broker was down are found again quickly.
      env: { TASKER_REANNOUNCE_AFTER_MS: '3000', TASKER_RABBITMQ_RECONNECT_MAX_MS: '1000' },
    });
  });

  afterAll(async () => {
    // Never leave the machine's broker stopped, whatever happened above.
    await startRabbitMqNode();
    await tasker?.stop();
  });

  async function completedTasks(): Promise<number> {
    const { rows } = await tasker.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tasker.tasks t
         JOIN tasker.task_transitions tt ON tt.task_uuid = t.task_uuid AND tt.most_recent
        WHERE tt.to_state = 'complete'`,
    );
    return rows[0]?.n ?? 0;
  }

  async function readiness(): Promise<number> {
    return (await tasker.request('GET', '/health/ready')).status;
  }

  it('completes every task, applying each step result once', async () => {
    expect(await readiness()).toBe(200);
    const stop = await prepare();
    const submitted = await Promise.all(
      Array.from({ length: TASKS }, (_, i) =>
        tasker.submit({ namespace: 'examples', name: 'linear', context: { n: 2, seq: i } }),
      ),
    );
    expect(new Set(submitted).size).toBe(TASKS);

    await pollUntil(completedTasks, (n) => n >= 10, {
      timeoutMs: 60000,
      description: 'the run to be under way',
    });
    await stop();
    // Readiness tells the truth while the broker is away.
    await pollUntil(readiness, (status) => status === 503, {
      timeoutMs: 10000,
      description: 'readiness to report the broker down',
    });
    const midway = await completedTasks();
    await sleep(2000);
    await startRabbitMqNode();
    await pollUntil(readiness, (status) => status === 200, {
      timeoutMs: 30000,
      description: 'readiness to recover after the broker returned',
    });

    await pollUntil(completedTasks, (n) => n === TASKS, {
      timeoutMs: 120000,
      intervalMs: 500,
      description: `all ${TASKS} tasks to complete`,
    });
    expect(midway).toBeLessThan(TASKS);

    await expectCleanLedger(tasker.pool, { tasks: TASKS, stepsPerTask: 4 });
  });
});
