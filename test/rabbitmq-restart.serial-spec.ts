import {
  killRabbitMqNode,
  pollUntil,
  rabbitMqNodePid,
  rabbitmqctl,
  startRabbitMqNode,
  waitForRabbitMqExit,
} from '#testing';
import { expectCleanLedger } from './support/ledger.js';
import { TaskerHarness } from './support/tasker-harness.js';

/**
 * How the broker goes away: its app stopped cleanly, its node shut down (`rabbitmqctl stop`: the
 * process exits), or its whole process killed. Each is prepared before the run (the slow
 * lookups done), so the outage itself starts at once.
 */
const OUTAGES: [string, () => Promise<() => Promise<unknown>>][] = [
  [
    'the broker app stopped (rabbitmqctl stop_app)',
    () => Promise.resolve(() => rabbitmqctl('stop_app')),
  ],
  [
    'the broker node shut down (rabbitmqctl stop)',
    async () => {
      const pid = await rabbitMqNodePid();
      return async () => {
        await rabbitmqctl('stop');
        await waitForRabbitMqExit(pid);
      };
    },
  ],
  [
    'the broker process killed with SIGKILL',
    async () => {
      const pid = await rabbitMqNodePid();
      return () => killRabbitMqNode(pid);
    },
  ],
];

/** Every task must be complete this soon after the broker is back (issue 25). */
const RECOVERY_MS = 15000;

/** How long the broker stays away, while tasks keep being submitted. */
const OUTAGE_MS = 3000;

/**
 * The broker goes away in the middle of a run and comes back: every task completes within
 * RECOVERY_MS of the broker's return, with the re-announce age at its default (5 min), so the
 * announcements that failed during the outage must be sent again on reconnect, not by the
 * sweep; no result is applied twice. This stops the whole local RabbitMQ, so it runs in the
 * serial phase of `npm test`, alone.
 */
describe.each(OUTAGES)(
  'a RabbitMQ outage during a run of 400 tasks and more submitted while the broker is away: %s',
  (_label, prepare) => {
    const TASKS = 400;
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        backend: 'rabbitmq',
        env: { TASKER_RABBITMQ_RECONNECT_MAX_MS: '1000' },
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

    /** The unfinished steps of tasks not complete: state, attempts, whether a message is owed. */
    async function unfinished(): Promise<Record<string, unknown>[]> {
      const { rows } = await tasker.pool.query<Record<string, unknown>>(
        `SELECT s.task_uuid, s.name, st.to_state, s.attempts, s.announced_at,
              a.workflow_step_uuid IS NOT NULL AS owed
         FROM tasker.workflow_steps s
         JOIN tasker.workflow_step_transitions st
           ON st.workflow_step_uuid = s.workflow_step_uuid AND st.most_recent
         JOIN tasker.task_transitions tt ON tt.task_uuid = s.task_uuid AND tt.most_recent
         LEFT JOIN tasker.step_announcements a ON a.workflow_step_uuid = s.workflow_step_uuid
        WHERE tt.to_state <> 'complete' AND st.to_state <> 'complete'`,
      );
      return rows;
    }

    async function readiness(): Promise<number> {
      return (await tasker.request('GET', '/health/ready')).status;
    }

    it('completes every task within 15 s of the broker returning, applying each step result once', async () => {
      expect(await readiness()).toBe(200);
      const stop = await prepare();
      const submitted: string[] = [];
      const submitOne = async (seq: number) => {
        submitted.push(
          await tasker.submit({ namespace: 'examples', name: 'linear', context: { n: 2, seq } }),
        );
      };
      await Promise.all(Array.from({ length: TASKS }, (_, i) => submitOne(i)));

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
      // Tasks keep coming while it is away, one after another: the API takes them (the database
      // is up), but their first steps cannot be announced.
      const outageEnds = Date.now() + OUTAGE_MS;
      do await submitOne(submitted.length);
      while (Date.now() < outageEnds);
      const total = submitted.length;
      expect(new Set(submitted).size).toBe(total);
      const midway = await completedTasks();
      await startRabbitMqNode();
      const back = Date.now();
      await pollUntil(readiness, (status) => status === 200, {
        timeoutMs: RECOVERY_MS,
        description: 'readiness to recover after the broker returned',
      });

      await pollUntil(completedTasks, (n) => n === total, {
        timeoutMs: RECOVERY_MS - (Date.now() - back),
        intervalMs: 250,
        description: `all ${total} tasks to complete within ${RECOVERY_MS} ms of the broker's return`,
      }).catch(async (err: unknown) => {
        // Where the stragglers are, for whoever reads the failure.
        throw new Error(`${String(err)}\nunfinished steps: ${JSON.stringify(await unfinished())}`);
      });
      const recoveredInMs = Date.now() - back;
      process.stdout.write(
        `all ${total} tasks complete ${recoveredInMs} ms after the broker returned\n`,
      );
      expect(recoveredInMs).toBeLessThanOrEqual(RECOVERY_MS);
      expect(midway).toBeLessThan(total);

      await expectCleanLedger(tasker.pool, { tasks: total, stepsPerTask: 4 });
    });
  },
);
