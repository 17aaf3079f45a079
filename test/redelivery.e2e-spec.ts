import {
  createEnvelope,
  deadLetterQueueName,
  ORCHESTRATION_STEP_RESULTS_QUEUE,
  workerQueueName,
} from '#contracts';
import { pollUntil } from '#testing';
import { describeSetup, MESSAGING_SETUPS, TaskerHarness } from './support/tasker-harness.js';

/** Messages are at-least-once: a second copy of any of them must change nothing. */
describe.each(MESSAGING_SETUPS.map((setup) => [describeSetup(setup), setup] as const))(
  'redelivered and duplicated messages over %s',
  (_label, setup) => {
    let tasker: TaskerHarness;

    beforeAll(async () => {
      tasker = await TaskerHarness.start(setup);
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    async function history(taskUuid: string) {
      const { rows } = await tasker.pool.query<{
        entity: string;
        to_state: string;
        sort_key: number;
      }>(
        `SELECT 'task' AS entity, to_state, sort_key FROM tasker.task_transitions WHERE task_uuid = $1
       UNION ALL
       SELECT s.name, t.to_state, t.sort_key FROM tasker.workflow_step_transitions t
         JOIN tasker.workflow_steps s ON s.workflow_step_uuid = t.workflow_step_uuid
        WHERE s.task_uuid = $1
       ORDER BY 1, 3`,
        [taskUuid],
      );
      const { rows: steps } = await tasker.pool.query<{
        name: string;
        attempts: number;
        results: unknown;
      }>(
        'SELECT name, attempts, results FROM tasker.workflow_steps WHERE task_uuid = $1 ORDER BY name',
        [taskUuid],
      );
      return { transitions: rows, steps };
    }

    async function drained() {
      await pollUntil(
        async () =>
          (await tasker.queueLength(workerQueueName('examples'))) +
          (await tasker.queueLength(ORCHESTRATION_STEP_RESULTS_QUEUE)),
        (n) => n === 0,
        { description: 'queues to drain' },
      );
    }

    it('a step message and a result message delivered again after completion change nothing', async () => {
      const taskUuid = await tasker.submit({
        namespace: 'examples',
        name: 'diamond',
        context: { n: 5 },
      });
      const done = await tasker.waitForStatus(taskUuid, ['complete', 'error']);
      expect(done.status).toBe('complete');
      await drained();
      const before = await history(taskUuid);

      const bus = tasker.bus();
      for (const step of done.steps) {
        const meta = { correlationId: taskUuid };
        await bus.send(
          workerQueueName('examples'),
          createEnvelope(
            'step.execute.v1',
            { taskUuid, stepUuid: step.stepUuid, stepName: step.name, namespace: 'examples' },
            meta,
          ),
        );
        await bus.send(
          ORCHESTRATION_STEP_RESULTS_QUEUE,
          createEnvelope(
            'step.result.v1',
            { taskUuid, stepUuid: step.stepUuid, attempt: 1, outcome: 'success' },
            meta,
          ),
        );
      }
      // The copies are consumed (acked), not left behind and not dead-lettered.
      await drained();
      expect(await tasker.queueLength(deadLetterQueueName(workerQueueName('examples')))).toBe(0);
      expect(await history(taskUuid)).toEqual(before);
    });

    it('dead-letters a malformed message instead of crashing or retrying it forever', async () => {
      await tasker.bus().send(workerQueueName('examples'), { nonsense: true } as never);
      await pollUntil(
        () => tasker.queueLength(deadLetterQueueName(workerQueueName('examples'))),
        (n) => n === 1,
        { description: 'the malformed message to be dead-lettered' },
      );
      expect(await tasker.queueLength(workerQueueName('examples'))).toBe(0);
    });

    /** A step message and a result message about ids no task has, sent as a peer would. */
    async function sendAboutMissingStep(
      ids: { taskUuid: string; stepUuid: string; resultStepUuid: string },
      stepName: string,
      outcome: 'success' | 'failure',
    ): Promise<void> {
      const meta = { correlationId: ids.taskUuid };
      await tasker
        .bus()
        .send(
          workerQueueName('examples'),
          createEnvelope(
            'step.execute.v1',
            { taskUuid: ids.taskUuid, stepUuid: ids.stepUuid, stepName, namespace: 'examples' },
            meta,
          ),
        );
      await tasker
        .bus()
        .send(
          ORCHESTRATION_STEP_RESULTS_QUEUE,
          createEnvelope(
            'step.result.v1',
            { taskUuid: ids.taskUuid, stepUuid: ids.resultStepUuid, attempt: 1, outcome },
            meta,
          ),
        );
    }

    it('dead-letters step and result messages about a step that does not exist, and counts them', async () => {
      const ghost = '01900000-0000-7000-8000-00000000dead';
      const workerDlq = deadLetterQueueName(workerQueueName('examples'));
      const resultsDlq = deadLetterQueueName(ORCHESTRATION_STEP_RESULTS_QUEUE);
      const before = await tasker.queueLength(workerDlq);
      await sendAboutMissingStep(
        { taskUuid: ghost, stepUuid: ghost, resultStepUuid: ghost },
        'ghost',
        'success',
      );
      await pollUntil(
        async () => [await tasker.queueLength(workerDlq), await tasker.queueLength(resultsDlq)],
        ([worker, results]) => worker === before + 1 && results === 1,
        { description: 'both messages to be dead-lettered' },
      );
      const metrics = async (base: string) => (await fetch(`${base}/metrics`)).text();
      expect(await metrics(tasker.workerUrl)).toMatch(
        new RegExp(
          `^tasker_messages_dead_lettered_total\\{queue="worker_examples_queue"\\} ${before + 1}$`,
          'm',
        ),
      );
      expect(await metrics(tasker.baseUrl)).toMatch(
        /^tasker_messages_dead_lettered_total\{queue="orchestration_step_results"\} 1$/m,
      );
    });

    it('dead-letters at once messages whose UUIDs are no UUIDs, never retrying them', async () => {
      // 36 characters of [0-9a-f-]: what the message schema took for a UUID and PostgreSQL refused.
      const notUuid = '0123456789abcdef0123456789abcdef0123';
      const workerDlq = deadLetterQueueName(workerQueueName('examples'));
      const resultsDlq = deadLetterQueueName(ORCHESTRATION_STEP_RESULTS_QUEUE);
      const [workerBefore, resultsBefore] = [
        await tasker.queueLength(workerDlq),
        await tasker.queueLength(resultsDlq),
      ];
      await sendAboutMissingStep(
        { taskUuid: notUuid, stepUuid: notUuid, resultStepUuid: '-'.repeat(36) },
        'bogus',
        'failure',
      );
      await pollUntil(
        async () => [await tasker.queueLength(workerDlq), await tasker.queueLength(resultsDlq)],
        ([worker, results]) => worker === workerBefore + 1 && results === resultsBefore + 1,
        { description: 'both messages to be dead-lettered' },
      );
      await drained();
    });
  },
);
