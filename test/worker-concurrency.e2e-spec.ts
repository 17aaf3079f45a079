import { setTimeout as sleep } from 'node:timers/promises';
import { defineHandler } from '#core';
import { EXAMPLE_HANDLERS } from '../apps/worker/src/handlers/example.handlers.js';
import { describeSetup, MESSAGING_SETUPS, TaskerHarness } from './support/tasker-harness.js';

/**
 * TASKER_WORKER_CONCURRENCY bounds the handlers running at once, while the worker holds more
 * messages than that (MESSAGES_PER_HANDLER_SLOT), so a slot is free again as soon as its
 * handler returns, before the outcome is recorded and sent.
 */
describe.each(MESSAGING_SETUPS.filter((s) => s.eventMode !== 'PollingOnly'))(
  'worker concurrency on $backend',
  (setup) => {
    let tasker: TaskerHarness;
    let running = 0;
    let most = 0;
    const counting = defineHandler('examples.sleep', async () => {
      running++;
      most = Math.max(most, running);
      await sleep(150);
      running--;
      return { ok: true };
    });

    beforeAll(async () => {
      tasker = await TaskerHarness.start({
        ...setup,
        handlers: [...EXAMPLE_HANDLERS.filter((h) => h.name !== 'examples.sleep'), counting],
        env: { TASKER_WORKER_CONCURRENCY: '3' },
      });
    });

    afterAll(async () => {
      await tasker?.stop();
    });

    it(`${describeSetup(setup)}: never more handlers at once than the setting, and the setting reached`, async () => {
      const tasks = await Promise.all(
        Array.from({ length: 12 }, () =>
          tasker.submit({ namespace: 'examples', name: 'sleep', context: { sleepMs: 0 } }),
        ),
      );
      for (const taskUuid of tasks) {
        const task = await tasker.waitForStatus(taskUuid, ['complete', 'error'], 30000);
        expect(task.status).toBe('complete');
      }
      expect(most).toBe(3);
      expect(running).toBe(0);
    });
  },
);
